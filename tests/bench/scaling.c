// SPDX-License-Identifier: GPL-2.0
/*
 * Two-thread scaling: map/unmap on two buffers from two threads vs the same
 * loop on one buffer from one thread. The hot path must not share a lock or
 * a contended cache line across buffers, so two threads on two vCPUs should
 * do nearly twice the work per unit of wall time.
 *
 * Each thread is pinned to its own CPU and runs one IIT_IOC_BENCH loop of
 * ITERS iterations (calibrated to SAMPLE_MS / SUBRUNS on one thread); both
 * start at a barrier. scaling = (2 x ITERS / wall of two threads) / (ITERS / wall of
 * one thread), each wall the best of SUBRUNS runs, one- and two-thread runs
 * alternating: under TCG the vCPUs are host threads, and a host busy with
 * other work takes one away now and then; the best run is the one where
 * both vCPUs ran. Three loops, interleaved per repeat:
 *   - control: resv lock/unlock only - what this VM and host allow at all
 *     (under TCG the vCPUs are host threads; a busy host caps this);
 *   - plain: map/unmap of plain buffers by a static importer, so the
 *     exporter's map runs every cycle, as on the managed side;
 *   - managed: map/unmap of managed buffers by a dynamic importer.
 * The target (issue 14) applies to managed: it must scale like plain,
 * within 5% - not to an absolute figure, which under TCG is the host's
 * (plain itself reached 1.62x on one run and 1.87x on another);
 * managed/control says how much of the scaling the machine offered each
 * kept. Then the same two map/unmap loops with both threads on ONE buffer
 * (each its own importer): they share the buffer's reservation lock, so
 * neither scales; the managed buffer must lose no more than the plain one,
 * within the same 5%.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define SUBRUNS		8

struct loop {
	const char *id;
	const char *label;
	unsigned int op;
	unsigned int flags;		/* IIT_BENCH_* */
	unsigned int export_flags;	/* VRE_EXPORT_* */
	bool same;			/* both threads on buffer 0 */
};

enum { L_CONTROL, L_PLAIN, L_MANAGED, L_PLAIN_SAME, L_MANAGED_SAME };
#define PLAIN_TARGET	0.95	/* managed's scaling vs plain's, same loop */

static const struct loop loops[] = {
	{ .id = "control", .label = "resv lock+unlock (control)",
	  .op = IIT_BENCH_LOCK, .export_flags = VRE_EXPORT_PLAIN },
	{ .id = "plain", .label = "plain: map+unmap, exporter maps",
	  .op = IIT_BENCH_MAP, .flags = IIT_BENCH_STATIC,
	  .export_flags = VRE_EXPORT_PLAIN },
	{ .id = "managed", .label = "managed: map+unmap", .op = IIT_BENCH_MAP },
	{ .id = "plain_same", .label = "plain: map+unmap, one buffer",
	  .op = IIT_BENCH_MAP, .flags = IIT_BENCH_STATIC,
	  .export_flags = VRE_EXPORT_PLAIN, .same = true },
	{ .id = "managed_same", .label = "managed: map+unmap, one buffer",
	  .op = IIT_BENCH_MAP, .same = true },
};

struct worker {
	pthread_t thread;
	pthread_barrier_t *start;
	const struct loop *l;
	int ioas, fd, cpu, ret;
	unsigned int iters;
	double t0, t1;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;
	double per;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(w->start);
	w->t0 = now_ns();
	w->ret = kbench(w->ioas, w->fd, w->l->op, w->l->flags, w->iters, &per);
	w->t1 = now_ns();
	return NULL;
}

/* Run @nthreads workers at once; wall time in ns. */
static int run_threads(struct worker *w, unsigned int nthreads, double *wall)
{
	pthread_barrier_t start;
	double t0 = 0, t1 = 0;
	unsigned int i;
	int ret = 0;

	pthread_barrier_init(&start, NULL, nthreads);
	for (i = 0; i < nthreads; i++) {
		w[i].start = &start;
		if (pthread_create(&w[i].thread, NULL, worker_fn, &w[i])) {
			/* The others would wait at the barrier for ever. */
			return -EAGAIN;
		}
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(w[i].thread, NULL);
		if (w[i].ret && !ret)
			ret = w[i].ret;
		if (!i || w[i].t0 < t0)
			t0 = w[i].t0;
		if (!i || w[i].t1 > t1)
			t1 = w[i].t1;
	}
	pthread_barrier_destroy(&start);
	*wall = t1 - t0;
	return ret;
}

struct loop_state {
	int dev[2], fd[2], ioas[2];
	unsigned int iters;
	struct series one, two, scaling;
};

static int setup(const struct loop *l, struct loop_state *st)
{
	double per, n = 4, goal = opt.sample_ms * 1e6;
	int i, ret;

	for (i = 0; i < 2; i++) {
		st->dev[i] = st->fd[i] = st->ioas[i] = -1;
	}
	for (i = 0; i < 2; i++) {
		st->fd[i] = vre_buffer(&st->dev[i], opt.size, l->export_flags);
		if (st->fd[i] < 0)
			return st->fd[i];
		st->ioas[i] = iit_open();
		if (st->ioas[i] < 0)
			return st->ioas[i];
	}
	/* Calibrate on one thread; the growing runs are the warm-up. */
	for (;;) {
		ret = kbench(st->ioas[0], st->fd[0], l->op, l->flags, n, &per);
		if (ret)
			return ret;
		if (per * n >= goal / 10 || n * 4 > IIT_BENCH_MAX_ITERS)
			break;
		n *= 4;
	}
	n = goal / SUBRUNS / per;
	st->iters = n < 1 ? 1 : n > IIT_BENCH_MAX_ITERS ? IIT_BENCH_MAX_ITERS : n;
	return 0;
}

static void teardown(struct loop_state *st)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (st->fd[i] >= 0)
			close(st->fd[i]);
		if (st->dev[i] >= 0)
			close(st->dev[i]);
		if (st->ioas[i] >= 0)
			close(st->ioas[i]);
	}
}

static int sample(const struct loop *l, struct loop_state *st,
		  unsigned int nthreads, double *wall)
{
	struct worker w[2];
	unsigned int i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < nthreads; i++) {
		w[i].l = l;
		w[i].ioas = st->ioas[i];
		w[i].fd = st->fd[l->same ? 0 : i];
		w[i].cpu = i;
		w[i].iters = st->iters;
	}
	return run_threads(w, nthreads, wall);
}

int bench_scaling(void)
{
	const unsigned int nl = sizeof(loops) / sizeof(loops[0]);
	struct loop_state st[sizeof(loops) / sizeof(loops[0])];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double med, keep, vs_plain[L_MANAGED_SAME + 1] = { 0 };
	char metric[64], t[32], m[48], miss[48];
	unsigned int i, r;
	int ret = 0;

	tprintf("\n== Two threads on two buffers vs one thread on one "
		"(threads pinned to CPUs 0 and 1) ==\n");
	if (cpus < 2) {
		tprintf("  skipped: %ld CPU online (VM_SMP=2 is needed)\n", cpus);
		snprintf(t, sizeof(t), ">= %.2fx", PLAIN_TARGET);
		target_out("2 threads, 2 buffers vs plain", t, "n/a", false,
			   "not measured (1 CPU)");
		return 0;
	}
	memset(st, 0, sizeof(st));
	for (i = 0; i < nl && !ret; i++)
		ret = setup(&loops[i], &st[i]);
	for (r = 0; r < opt.repeats && !ret; r++) {
		progress("scaling: repeat %u of %u", r + 1, opt.repeats);
		for (i = 0; i < nl && !ret; i++) {
			double w1 = 0, w2 = 0, t = 0;
			unsigned int j;

			for (j = 0; j < 2 * SUBRUNS && !ret; j++) {
				/* 1, 2, 1, 2... or 2, 1, 2, 1... */
				unsigned int nt = 1 + (j + r) % 2;

				ret = sample(&loops[i], &st[i], nt, &t);
				if (nt == 1)
					w1 = w1 && w1 < t ? w1 : t;
				else
					w2 = w2 && w2 < t ? w2 : t;
			}
			if (ret)
				break;
			series_add(&st[i].one, st[i].iters / w1 * 1e9);
			series_add(&st[i].two, 2.0 * st[i].iters / w2 * 1e9);
			series_add(&st[i].scaling, 2 * w1 / w2);
			sample_out("scaling", loops[i].id, "1thread", 1, r,
				   st[i].iters / w1 * 1e9, "ops/s");
			sample_out("scaling", loops[i].id, "2threads", 2, r,
				   2.0 * st[i].iters / w2 * 1e9, "ops/s");
		}
	}
	for (i = 0; i < nl; i++)
		teardown(&st[i]);
	if (ret) {
		progress("scaling: %s", strerror(-ret));
		return -1;
	}

	/* The managed loops, each against the plain loop of its kind. */
	vs_plain[L_MANAGED] = series_median(&st[L_MANAGED].scaling) /
			      series_median(&st[L_PLAIN].scaling);
	vs_plain[L_MANAGED_SAME] = series_median(&st[L_MANAGED_SAME].scaling) /
				   series_median(&st[L_PLAIN_SAME].scaling);

	tprintf("  %-36s %14s %14s  %-18s vs plain, target >= %.2fx\n",
		"loop", "1 thread op/s", "2 threads op/s", "scaling",
		PLAIN_TARGET);
	for (i = 0; i < nl; i++) {
		const char *verdict = NULL;
		char range[48], vp[32] = "";

		if (vs_plain[i]) {
			bool met = vs_plain[i] >= PLAIN_TARGET;

			verdict = met ? "met" : "missed";
			snprintf(vp, sizeof(vp), "%.2fx %s", vs_plain[i],
				 met ? "met" : "MISSED");
		}

		med = series_median(&st[i].scaling);
		snprintf(range, sizeof(range), "%.2f [%.2f-%.2f]", med,
			 series_min(&st[i].scaling), series_max(&st[i].scaling));
		tprintf("  %-36s %14.0f %14.0f  %-18s %s\n", loops[i].label,
			series_median(&st[i].one), series_median(&st[i].two),
			range, vp);
		snprintf(metric, sizeof(metric), "scaling.%s.1thread",
			 loops[i].id);
		summary_out(metric, 1, &st[i].one, 0, "ops/s", 0, NULL);
		snprintf(metric, sizeof(metric), "scaling.%s.2threads",
			 loops[i].id);
		summary_out(metric, 2, &st[i].two, 0, "ops/s", 0, NULL);
		snprintf(metric, sizeof(metric), "scaling.%s", loops[i].id);
		summary_out(metric, 2, &st[i].scaling, 0, "x", 0, NULL);
		if (verdict) {
			snprintf(metric, sizeof(metric),
				 "scaling.%s_vs_plain", loops[i].id);
			summary_out(metric, 2, NULL, vs_plain[i], "x",
				    PLAIN_TARGET, verdict);
		}
	}
	med = series_median(&st[L_MANAGED].scaling);
	keep = med / series_median(&st[L_CONTROL].scaling);
	tprintf("  managed kept %.0f%% of the control's scaling, plain %.0f%%\n",
		100 * keep, 100 * series_median(&st[L_PLAIN].scaling) /
		series_median(&st[L_CONTROL].scaling));
	summary_out("scaling.managed_vs_control", 2, NULL, keep, "x", 0, NULL);
	snprintf(t, sizeof(t), ">= %.2fx", PLAIN_TARGET);
	snprintf(m, sizeof(m), "%.3fx", vs_plain[L_MANAGED]);
	snprintf(miss, sizeof(miss), "%.3fx", PLAIN_TARGET - vs_plain[L_MANAGED]);
	target_out("2 threads, 2 buffers vs plain", t, m,
		   vs_plain[L_MANAGED] >= PLAIN_TARGET, miss);

	/* One buffer, two threads: lose no more than plain does. */
	tprintf("  one buffer: managed kept %.0f%% of plain's scaling (target >= %.0f%%)\n",
		100 * vs_plain[L_MANAGED_SAME], 100 * PLAIN_TARGET);
	snprintf(m, sizeof(m), "%.3fx", vs_plain[L_MANAGED_SAME]);
	snprintf(miss, sizeof(miss), "%.3fx",
		 PLAIN_TARGET - vs_plain[L_MANAGED_SAME]);
	target_out("2 threads on one buffer vs plain", t, m,
		   vs_plain[L_MANAGED_SAME] >= PLAIN_TARGET, miss);
	return 0;
}
