// SPDX-License-Identifier: GPL-2.0
/*
 * Revoking many buffers at once (issue 13 item 3, R17: "revoking many
 * buffers pays the fixed costs once").
 *
 * One sample: a fresh device with a BAR of N pages, N managed one-page
 * buffers exported over it (each its own fd; not timed), then one of two
 * timed calls, from user space:
 *   - reset: VRE_IOC_RESET on the device, which revokes every buffer it
 *     exported in-kernel, in two phases: dmabuf_revoke_start() of each
 *     under the device lock and its reservation lock, then
 *     dmabuf_revoke_finish() of each with no lock held
 *     (vre_revoke_start_all()/vre_revoke_finish_all());
 *   - batch: DMABUF_REVOKE_IOC_REVOKE_BATCH over the N fds: the same two
 *     phases in the shim, under one timeout;
 * then a check that the call revoked N buffers and left none incomplete,
 * and the fds are closed (not timed). The two ways alternate which goes
 * first, and the points rotate across repeats, as in revoke.c. Next to
 * them, each repeat times one DMABUF_REVOKE_IOC_REVOKE of a lone one-page
 * buffer: the price of revoking buffers one call at a time.
 *
 * The fit: latency = fixed + per_buffer x N, least squares over the
 * points' medians. The targets: a buffer of a batch costs well below one
 * REVOKE (at most PER_BUFFER_TARGET of it), and the per-buffer cost does
 * not grow with N (from 1000 to 10000 at most LINEAR_TOLERANCE times what
 * it is from 100 to 1000).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bench.h"

#define TIMEOUT_MS		60000
#define LINEAR_TOLERANCE	1.25
#define PER_BUFFER_TARGET	0.25	/* of one single REVOKE */

enum way { RESET, BATCH, NWAYS };

static const char *const way_id[NWAYS] = { "reset", "batch" };
static const char *const way_title[NWAYS] = {
	"device reset (VRE_IOC_RESET)", "DMABUF_REVOKE_IOC_REVOKE_BATCH",
};

static const unsigned int pts[] = { 1, 10, 100, 1000, 10000 };
_Static_assert(BATCH_MAX_BUFFERS >= 10000, "main.c raises RLIMIT_NOFILE for it");
static const unsigned int pts_quick[] = { 1, 10, 100, 1000 };

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_PTS N(pts)

/* Export @n one-page buffers of a fresh device into @fds; the device fd. */
static int setup(unsigned int n, int *fds)
{
	uint64_t sz = (uint64_t)n * PAGE;
	int dev = vre_device(1, &sz);
	unsigned int i;

	if (dev < 0)
		return dev;
	for (i = 0; i < n; i++) {
		fds[i] = vre_export(dev, 0, (uint64_t)i * PAGE, PAGE, 0);
		if (fds[i] < 0) {
			int err = fds[i];

			while (i--)
				close(fds[i]);
			close(dev);
			return err;
		}
	}
	return dev;
}

static void teardown(int dev, int *fds, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		close(fds[i]);
	close(dev);
}

/* One timed revoke of @n fresh buffers, the @way way. */
static int many_once(enum way way, unsigned int n, int *fds, double *us)
{
	struct dmabuf_revoke_batch bt = {
		.size = sizeof(bt), .count = n, .timeout_ms = TIMEOUT_MS,
		.fds = (uintptr_t)fds,
	};
	struct vre_reset r = { .size = sizeof(r) };
	int dev = setup(n, fds), ret;
	double t0;

	if (dev < 0) {
		progress("many: exporting %u buffers: %s", n, strerror(-dev));
		return dev;
	}
	t0 = now_ns();
	if (way == RESET)
		ret = ioctl(dev, VRE_IOC_RESET, &r) ? -errno : 0;
	else
		ret = ioctl(drs_fd(), DMABUF_REVOKE_IOC_REVOKE_BATCH, &bt) ?
		      -errno : 0;
	*us = (now_ns() - t0) / 1e3;
	if (ret) {
		progress("many: %s of %u buffers: %s", way_id[way], n,
			 strerror(-ret));
	} else if (way == RESET && r.revoked != n) {
		progress("many: the reset says %u revoked; expected %u",
			 r.revoked, n);
		ret = -EPROTO;
	} else if (way == BATCH && (bt.revoked != n || bt.already ||
				    bt.incomplete || bt.not_started)) {
		progress("many: the batch says %u revoked, %u already, %u "
			 "incomplete, %u not started; expected %u, 0, 0, 0",
			 bt.revoked, bt.already, bt.incomplete,
			 bt.not_started, n);
		ret = -EPROTO;
	}
	teardown(dev, fds, n);
	return ret;
}

/* One DMABUF_REVOKE_IOC_REVOKE of a lone one-page buffer. */
static int single_once(double *us)
{
	struct dmabuf_revoke_report rep;
	int fd, dev = setup(1, &fd), ret;
	double t0;

	if (dev < 0)
		return dev;
	t0 = now_ns();
	ret = drs_revoke(fd, TIMEOUT_MS, &rep, NULL, 0);
	*us = (now_ns() - t0) / 1e3;
	if (!ret && rep.flags) {
		progress("many: the single revoke reports flags %#x", rep.flags);
		ret = -EPROTO;
	}
	teardown(dev, &fd, 1);
	return ret;
}

static double median_at(const unsigned int *p, unsigned int np,
			const struct series *s, unsigned int x)
{
	unsigned int i;

	for (i = 0; i < np; i++)
		if (p[i] == x)
			return series_median(&s[i]);
	return NAN;
}

/* The fit, the linearity and the targets of one way. */
static void report_way(enum way way, const unsigned int *p, unsigned int np,
		       const struct series *s, double single)
{
	double x[MAX_PTS], y[MAX_PTS], a, b, r2, ma, mb, mr2, lin, rel;
	double t100, t1000, t10000, s1, s2;
	char metric[96], t[32], m[64], miss[96], what[64];
	unsigned int i;
	bool met;

	for (i = 0; i < np; i++) {
		x[i] = p[i];
		y[i] = series_median(&s[i]);
	}
	fit_linear(x, y, np, &a, &b, &r2);
	for (i = 0; i < np; i++)
		y[i] = series_min(&s[i]);
	fit_linear(x, y, np, &ma, &mb, &mr2);
	rel = b / single;
	tprintf("  %s: latency = %.0f us + %.2f us x buffers (R^2 %.4f, over "
		"the medians;\n    over the minima: %.0f us + %.2f us x buffers)"
		"; a buffer costs %.3fx one REVOKE\n", way_id[way], a, b, r2,
		ma, mb, rel);
	snprintf(metric, sizeof(metric), "many.%s.fit_fixed", way_id[way]);
	summary_out(metric, 0, NULL, a, "us", 0, NULL);
	snprintf(metric, sizeof(metric), "many.%s.fit_per_buffer", way_id[way]);
	summary_out(metric, 0, NULL, b, "us", 0, NULL);
	snprintf(metric, sizeof(metric), "many.%s.fit_r2", way_id[way]);
	summary_out(metric, 0, NULL, r2, "", 0, NULL);
	snprintf(metric, sizeof(metric), "many.%s.minfit_per_buffer",
		 way_id[way]);
	summary_out(metric, 0, NULL, mb, "us", 0, NULL);

	met = rel <= PER_BUFFER_TARGET;
	snprintf(metric, sizeof(metric), "many.%s.per_buffer_vs_single",
		 way_id[way]);
	summary_out(metric, 0, NULL, rel, "x", PER_BUFFER_TARGET,
		    met ? "met" : "missed");
	snprintf(what, sizeof(what), "%s: a buffer vs one REVOKE",
		 way_id[way]);
	snprintf(t, sizeof(t), "<= %.2fx", PER_BUFFER_TARGET);
	snprintf(m, sizeof(m), "%.3fx (%.1f us)", rel, b);
	snprintf(miss, sizeof(miss), "%.2fx", rel - PER_BUFFER_TARGET);
	target_out(what, t, m, met, miss);

	/* Linearity over the two largest decades measured. */
	t100 = median_at(p, np, s, 100);
	t1000 = median_at(p, np, s, 1000);
	t10000 = median_at(p, np, s, 10000);
	if (isnan(t10000)) {
		/* Quick runs stop at 1000. */
		t10000 = t1000;
		t1000 = t100;
		t100 = median_at(p, np, s, 10);
		s1 = (t1000 - t100) / 90;
		s2 = (t10000 - t1000) / 900;
	} else {
		s1 = (t1000 - t100) / 900;
		s2 = (t10000 - t1000) / 9000;
	}
	lin = s2 / s1;
	met = lin <= LINEAR_TOLERANCE;
	tprintf("    per buffer: %.2f us over the second largest decade, "
		"%.2f us over the largest: x%.2f (1.00 = linear)\n", s1, s2,
		lin);
	snprintf(metric, sizeof(metric), "many.%s.linearity", way_id[way]);
	summary_out(metric, 0, NULL, lin, "x", LINEAR_TOLERANCE,
		    met ? "met" : "missed");
	snprintf(what, sizeof(what), "%s: linear in buffers", way_id[way]);
	snprintf(t, sizeof(t), "<= %.2fx", LINEAR_TOLERANCE);
	snprintf(m, sizeof(m), "%.2fx", lin);
	snprintf(miss, sizeof(miss), "%.2fx: per-buffer cost grows with n",
		 lin - 1);
	target_out(what, t, m, met, miss);
}

int bench_batch(void)
{
	const unsigned int *p = opt.quick ? pts_quick : pts;
	unsigned int np = opt.quick ? N(pts_quick) : N(pts);
	unsigned int maxn = p[np - 1], r, k, w, i;
	struct series s[NWAYS][MAX_PTS], single = { 0 };
	int *fds = calloc(maxn, sizeof(*fds)), ret = 0;
	double us, med;
	char range[48];

	if (!fds)
		return -1;
	memset(s, 0, sizeof(s));
	for (r = 0; r < opt.repeats && !ret; r++) {
		progress("many buffers at once: repeat %u of %u", r + 1,
			 opt.repeats);
		ret = single_once(&us);
		if (ret)
			break;
		series_add(&single, us);
		sample_out("many", "single", "managed", 1, r, us, "us");
		for (k = 0; k < np && !ret; k++) {
			unsigned int pi = (k + r) % np;

			for (w = 0; w < NWAYS && !ret; w++) {
				enum way way = (w + r) % NWAYS;

				ret = many_once(way, p[pi], fds, &us);
				if (ret)
					break;
				series_add(&s[way][pi], us);
				sample_out("many", way_id[way], "managed",
					   p[pi], r, us, "us");
			}
		}
	}
	free(fds);
	if (ret)
		return -1;

	tprintf("\n== Revoking many buffers at once: N one-page buffers of one "
		"device, each its own fd;\n   one call revokes them all (user "
		"clock around it) ==\n");
	tprintf("  %9s  %-36s  %-36s\n", "buffers", way_title[RESET],
		way_title[BATCH]);
	tprintf("  %9s  %9s %-14s %11s  %9s %-14s %11s\n", "", "median us",
		"[min-max]", "us/buffer", "median us", "[min-max]",
		"us/buffer");
	for (i = 0; i < np; i++) {
		tprintf("  %9u", p[i]);
		for (w = 0; w < NWAYS; w++) {
			med = series_median(&s[w][i]);
			snprintf(range, sizeof(range), "[%.0f-%.0f]",
				 series_min(&s[w][i]), series_max(&s[w][i]));
			tprintf("  %9.0f %-14s %11.2f", med, range, med / p[i]);
			snprintf(range, sizeof(range), "many.%s", way_id[w]);
			summary_out(range, p[i], &s[w][i], 0, "us", 0, NULL);
		}
		tprintf("\n");
	}
	med = series_median(&single);
	tprintf("  one DMABUF_REVOKE_IOC_REVOKE of a lone buffer, for "
		"comparison: %.0f us [%.0f-%.0f]\n", med, series_min(&single),
		series_max(&single));
	summary_out("many.single", 1, &single, 0, "us", 0, NULL);
	for (w = 0; w < NWAYS; w++)
		report_way(w, p, np, s[w], med);
	return 0;
}
