// SPDX-License-Identifier: GPL-2.0
/*
 * Hot paths: managed vs plain, per operation.
 *
 * In-kernel cases go through IIT_IOC_BENCH (iommufd_importer_test/bench.c):
 * the importer module repeats the operation N times between two ktime
 * reads. The user mmap round trip (mmap, read one byte of every page,
 * munmap) is timed here, around the whole loop.
 *
 * Which importer each side uses matters on 6.x kernels, because the core
 * caches a mapping at attach time whenever importer and exporter differ in
 * dynamic-ness. A managed buffer is always dynamic (pitfall P1: a cached
 * mapping could never be revoked); the plain export of the same exporter is
 * not. So:
 *   - "dynamic importer" rows are the definition - the same importer
 *     code on both buffers. On the plain buffer the core then maps once at
 *     attach and map/unmap only hand back that cached table; the ratio is
 *     what an importer sees, and includes the caching the shim must forbid;
 *   - "like for like" rows give the plain buffer a static importer, so that
 *     the core caches nothing there either: both sides call the exporter's
 *     map/unmap once per cycle, and the ratio is the trampolines' own cost
 *     (plus the per-map pin/unpin the core adds for dynamic exporters when
 *     CONFIG_DMABUF_MOVE_NOTIFY is off, as in Debian's kernels).
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

/* A sample is the fastest of this many runs of SAMPLE_MS / SUBRUNS each. */
#define SUBRUNS		20

struct hot_case {
	const char *id;
	const char *label;
	unsigned int op;		/* IIT_BENCH_*; 0: user mmap round trip */
	unsigned int plain_flags;	/* IIT_BENCH_STATIC: static importer */
	unsigned int managed_flags;
	unsigned int export_flags;	/* VRE_EXPORT_* for both buffers */
	double target;			/* managed/plain at most; 0: none */
	const char *target_name;
	unsigned int others;		/* other live attachments per buffer */
	unsigned int spread;		/* MAP: cycle over this many (iit_bench) */
	/* Judge the ratio against map_l4l's, or map_rr_2's (issue 14: flat in n). */
	bool flat;
};

/*
 * Issue 14: with n other attachments, within 5% of the cost with none. The
 * rows are measured minutes apart, and under TCG a whole row drifts by
 * more than that (plain as much as managed: the same code paths land in
 * other translation blocks), so the verdict is on the shim's share: the
 * managed/plain ratio with n others against the ratio with none. A walk
 * over the shim's records would raise managed alone; the raw managed
 * growth and plain's drift are printed next to it.
 */
#define FLAT_TARGET	1.05
static double map_l4l_managed, map_l4l_plain, map_l4l_ratio;

/*
 * The "in turn" rows: the loop maps N attachments of its own one after the
 * other, so every lookup of the shim's record misses the last hit and goes
 * to the index. Flat means the cost of that miss does not grow with N: the
 * rows are judged against the same loop over 2, as above by their ratio.
 * What one miss costs is map_rr_2 against map_l4l, printed, not judged.
 */
static double map_rr_managed, map_rr_plain, map_rr_ratio;

static const struct hot_case cases[] = {
	{ .id = "lock", .label = "resv lock+unlock (control, =1.00)",
	  .op = IIT_BENCH_LOCK },
	{ .id = "map_dyn", .label = "map+unmap, dynamic importer",
	  .op = IIT_BENCH_MAP, .target = 1.03,
	  .target_name = "map+unmap, dynamic importer" },
	{ .id = "map_l4l", .label = "map+unmap, like for like",
	  .op = IIT_BENCH_MAP, .plain_flags = IIT_BENCH_STATIC,
	  .target = 1.03, .target_name = "map+unmap, like for like" },
	{ .id = "map_l4l_100", .label = "map+unmap, like for like, +100 att.",
	  .op = IIT_BENCH_MAP, .plain_flags = IIT_BENCH_STATIC,
	  .others = 100, .flat = true },
	{ .id = "map_l4l_1000", .label = "map+unmap, like for like, +1000 att.",
	  .op = IIT_BENCH_MAP, .plain_flags = IIT_BENCH_STATIC,
	  .others = 1000, .flat = true },
	{ .id = "map_rr_2", .label = "map+unmap, like for like, 2 in turn",
	  .op = IIT_BENCH_MAP, .plain_flags = IIT_BENCH_STATIC,
	  .spread = 2 },
	{ .id = "map_rr_100", .label = "map+unmap, like for like, 100 in turn",
	  .op = IIT_BENCH_MAP, .plain_flags = IIT_BENCH_STATIC,
	  .spread = 100, .flat = true },
	{ .id = "map_rr_1000", .label = "map+unmap, like for like, 1000 in turn",
	  .op = IIT_BENCH_MAP, .plain_flags = IIT_BENCH_STATIC,
	  .spread = 1000, .flat = true },
	{ .id = "attach_dyn", .label = "attach+detach, dynamic importer",
	  .op = IIT_BENCH_ATTACH, .target = 1.05,
	  .target_name = "attach+detach, dynamic importer" },
	{ .id = "attach_l4l", .label = "attach+detach, like for like",
	  .op = IIT_BENCH_ATTACH, .plain_flags = IIT_BENCH_STATIC,
	  .target = 1.10, .target_name = "attach+detach, like for like" },
	{ .id = "pin", .label = "pin+unpin (dynamic, under resv)",
	  .op = IIT_BENCH_PIN, .target = 1.10, .target_name = "pin+unpin" },
	{ .id = "vmap", .label = "vmap+vunmap", .op = IIT_BENCH_VMAP },
	{ .id = "cpu", .label = "begin+end_cpu_access", .op = IIT_BENCH_CPU,
	  .target = 1.05, .target_name = "begin+end CPU access" },
	{ .id = "mmap_fault", .label = "mmap+touch+munmap, fault handler",
	  .export_flags = VRE_EXPORT_MMAP_FAULT, .target = 1.05,
	  .target_name = "user mmap round trip, fault handler" },
	{ .id = "mmap_prepop", .label = "mmap+touch+munmap, pre-populated",
	  .target = 1.05, .target_name = "user mmap round trip, pre-populated" },
};

/* User mmap round trips, @iters of them; ns per round trip. */
static int mmap_rounds(int fd, unsigned int iters, double *per)
{
	volatile uint8_t sink = 0;
	double t0 = now_ns();
	unsigned int i;
	size_t off;

	for (i = 0; i < iters; i++) {
		volatile uint8_t *p = mmap(NULL, opt.size, PROT_READ | PROT_WRITE,
					   MAP_SHARED, fd, 0);

		if (p == MAP_FAILED)
			return -errno;
		for (off = 0; off < opt.size; off += PAGE)
			sink += p[off];
		munmap((void *)p, opt.size);
	}
	*per = (now_ns() - t0) / iters;
	(void)sink;
	return 0;
}

static int measure(const struct hot_case *hc, int ioas, int fd,
		   unsigned int flags, unsigned int iters, double *per)
{
	if (hc->op)
		return kbench_spread(ioas, fd, hc->op, flags, hc->spread,
				     iters, per);
	return mmap_rounds(fd, iters, per);
}

/*
 * Grow the iteration count until a sample takes a tenth of SAMPLE_MS, then
 * scale it to SAMPLE_MS. The growing runs double as the warm-up.
 */
static int calibrate(const struct hot_case *hc, int ioas, int fd,
		     unsigned int flags, unsigned int *iters)
{
	double per = 0, goal = opt.sample_ms * 1e6, n = 4;
	int ret;

	for (;;) {
		ret = measure(hc, ioas, fd, flags, n, &per);
		if (ret)
			return ret;
		if (per * n >= goal / 10 || n * 4 > IIT_BENCH_MAX_ITERS)
			break;
		n *= 4;
	}
	n = per > 0 ? goal / per : IIT_BENCH_MAX_ITERS;
	if (n < 1)
		n = 1;
	if (n > IIT_BENCH_MAX_ITERS)
		n = IIT_BENCH_MAX_ITERS;
	*iters = n;
	return 0;
}

static void fmt_val(char *buf, size_t len, const struct series *s,
		    double scale)
{
	snprintf(buf, len, "%.0f +-%.0f%%", series_median(s) / scale,
		 series_spread_pct(s));
}

/*
 * The pair of buffers one repeat measures: a plain and a managed export of
 * the same BAR pages of one device (so the exporter's scatterlist is the
 * same on both sides), plus the other importers a case asks for.
 */
struct pair {
	int fd_p, fd_m;		/* plain, managed */
	int others_p, others_m;	/* IOAS fds of the other importers */
};

static void pair_close(struct pair *pr)
{
	int *fds[] = { &pr->others_p, &pr->others_m, &pr->fd_p, &pr->fd_m };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int pair_open(const struct hot_case *hc, int dev, struct pair *pr)
{
	unsigned int i;
	int ret = 0;

	pr->others_p = pr->others_m = -1;
	pr->fd_p = vre_export(dev, 0, 0, opt.size,
			      VRE_EXPORT_PLAIN | hc->export_flags);
	pr->fd_m = vre_export(dev, 0, 0, opt.size, hc->export_flags);
	if (pr->fd_p < 0 || pr->fd_m < 0) {
		ret = pr->fd_p < 0 ? pr->fd_p : pr->fd_m;
		progress("%s: cannot export the buffers: %s", hc->id,
			 strerror(-ret));
		goto err;
	}
	/*
	 * Other importers of the same buffers (dynamic, pinned, mapped, in
	 * their own IOAS), attached before the benchmark's own attachment.
	 */
	if (!hc->others)
		return 0;
	pr->others_p = iit_open();
	pr->others_m = iit_open();
	ret = pr->others_p < 0 ? pr->others_p :
	      pr->others_m < 0 ? pr->others_m : 0;
	for (i = 0; i < hc->others && !ret; i++) {
		ret = iit_map(pr->others_p, pr->fd_p, (uint64_t)i * opt.size, 0,
			      NULL);
		if (!ret)
			ret = iit_map(pr->others_m, pr->fd_m,
				      (uint64_t)i * opt.size, 0, NULL);
	}
	if (!ret)
		return 0;
	progress("%s: cannot attach the other importers: %s", hc->id,
		 strerror(-ret));
err:
	pair_close(pr);
	return ret;
}

/*
 * One sample per side: the best of SUBRUNS short runs, the sides
 * alternating run by run (which goes first alternates too). Interference
 * from the host only ever adds time, so the fastest run is the least
 * disturbed one.
 */
static int sample_pair(const struct hot_case *hc, int ioas,
		       const struct pair *pr, unsigned int it_p,
		       unsigned int it_m, unsigned int r, double *vp,
		       double *vm)
{
	unsigned int j, k;
	int ret = 0;

	for (j = 0; j < SUBRUNS && !ret; j++) {
		for (k = 0; k < 2 && !ret; k++) {
			bool managed = (r + j + k) % 2;
			double t;

			ret = measure(hc, ioas, managed ? pr->fd_m : pr->fd_p,
				      managed ? hc->managed_flags :
						hc->plain_flags,
				      managed ? it_m : it_p, &t);
			if (managed)
				*vm = j && *vm < t ? *vm : t;
			else
				*vp = j && *vp < t ? *vp : t;
		}
	}
	return ret;
}

static int run_case(const struct hot_case *hc, int ioas)
{
	const char *section = hc->op ? "hot" : "user";
	const char *unit = hc->op ? "ns/op" : "ns/roundtrip";
	/* user rows are printed in microseconds */
	double scale = hc->op ? 1 : 1000;
	struct series plain = { 0 }, managed = { 0 }, ratio = { 0 };
	struct pair pr = { -1, -1, -1, -1 };
	uint64_t bar = opt.size;
	int dev, ret;
	unsigned int it_p, it_m, r;
	char metric[96], a[32], b[32], rt[48], miss[64];
	const char *verdict = NULL;
	double med, base;

	dev = vre_device(1, &bar);
	if (dev < 0) {
		progress("%s: cannot create a device: %s", hc->id,
			 strerror(-dev));
		return dev;
	}
	/* Calibrate (and warm up) on a first pair. */
	ret = pair_open(hc, dev, &pr);
	if (!ret)
		ret = calibrate(hc, ioas, pr.fd_p, hc->plain_flags, &it_p);
	if (!ret)
		ret = calibrate(hc, ioas, pr.fd_m, hc->managed_flags, &it_m);
	pair_close(&pr);
	if (ret) {
		progress("%s: calibration failed: %s", hc->id, strerror(-ret));
		goto out;
	}
	it_p = it_p / SUBRUNS ? it_p / SUBRUNS : 1;
	it_m = it_m / SUBRUNS ? it_m / SUBRUNS : 1;

	for (r = 0; r < opt.repeats; r++) {
		double vp = 0, vm = 0;

		/*
		 * Fresh buffers every repeat: under TCG where a buffer's
		 * structures land in memory shifts its costs for good (the
		 * soft TLB is direct-mapped); new ones each time turn that
		 * into noise the median absorbs instead of a bias.
		 */
		ret = pair_open(hc, dev, &pr);
		if (!ret)
			ret = sample_pair(hc, ioas, &pr, it_p, it_m, r, &vp, &vm);
		pair_close(&pr);
		if (ret) {
			progress("%s: repeat %u failed: %s", hc->id, r,
				 strerror(-ret));
			goto out;
		}
		series_add(&plain, vp);
		series_add(&managed, vm);
		series_add(&ratio, vm / vp);
		sample_out(section, hc->id, "plain", opt.size, r, vp, unit);
		sample_out(section, hc->id, "managed", opt.size, r, vm, unit);
	}

	med = series_median(&ratio);
	if (hc->target) {
		verdict = med <= hc->target ? "met" : "missed";
		snprintf(a, sizeof(a), "<= %.2fx", hc->target);
		/* Three decimals: 1.034 rounds to the 1.03 it misses. */
		snprintf(b, sizeof(b), "%.3fx", med);
		snprintf(miss, sizeof(miss), "%.3fx (%+.1f%%)", med - hc->target,
			 100 * (med / hc->target - 1));
		target_out(hc->target_name, a, b, med <= hc->target, miss);
	}
	snprintf(metric, sizeof(metric), "%s.%s.plain", section, hc->id);
	summary_out(metric, opt.size, &plain, 0, unit, 0, NULL);
	snprintf(metric, sizeof(metric), "%s.%s.managed", section, hc->id);
	summary_out(metric, opt.size, &managed, 0, unit, 0, NULL);
	snprintf(metric, sizeof(metric), "%s.%s.ratio", section, hc->id);
	summary_out(metric, opt.size, &ratio, 0, "x", hc->target, verdict);

	fmt_val(a, sizeof(a), &plain, scale);
	fmt_val(b, sizeof(b), &managed, scale);
	snprintf(rt, sizeof(rt), "%.2f [%.2f-%.2f]", med, series_min(&ratio),
		 series_max(&ratio));
	tprintf("  %-36s %12s %12s %9.0f  %-18s %s\n", hc->label, a, b,
		(series_median(&managed) - series_median(&plain)) / scale, rt,
		hc->target ? (med <= hc->target ? "met" : "MISSED") : "");
	if (!strcmp(hc->id, "map_l4l")) {
		map_l4l_managed = series_median(&managed);
		map_l4l_plain = series_median(&plain);
		map_l4l_ratio = med;
	}
	if (!strcmp(hc->id, "map_rr_2")) {
		map_rr_managed = series_median(&managed);
		map_rr_plain = series_median(&plain);
		map_rr_ratio = med;
		if (map_l4l_ratio > 0)
			tprintf("  %-36s managed/plain %.2fx its value with one: a lookup that misses the last hit\n",
				"", med / map_l4l_ratio);
	}
	base = hc->spread ? map_rr_ratio : map_l4l_ratio;
	if (hc->flat && base > 0) {
		double flat = med / base;

		tprintf("  %-36s managed/plain %.2fx its value with %s (target <= %.2fx;\n"
			"  %-36s managed alone %.2fx, plain alone %.2fx: the run's drift between rows)\n",
			"", flat, hc->spread ? "2 in turn" : "no other attachment",
			FLAT_TARGET, "",
			series_median(&managed) /
				(hc->spread ? map_rr_managed : map_l4l_managed),
			series_median(&plain) /
				(hc->spread ? map_rr_plain : map_l4l_plain));
		snprintf(a, sizeof(a), "<= %.2fx", FLAT_TARGET);
		snprintf(b, sizeof(b), "%.3fx", flat);
		snprintf(miss, sizeof(miss), "%.3fx (%+.1f%%)",
			 flat - FLAT_TARGET, 100 * (flat / FLAT_TARGET - 1));
		if (hc->spread)
			snprintf(metric, sizeof(metric),
				 "map+unmap, %u in turn vs 2", hc->spread);
		else
			snprintf(metric, sizeof(metric),
				 "map+unmap, +%u att. vs none", hc->others);
		target_out(metric, a, b, flat <= FLAT_TARGET, miss);
	}
	progress("%s: plain %.0f, managed %.0f %s, ratio %.2f", hc->id,
		 series_median(&plain), series_median(&managed), unit, med);
out:
	close(dev);
	return ret;
}

int bench_hot(void)
{
	int ioas = iit_open(), fails = 0;
	bool user_hdr = false;
	size_t i;

	if (ioas < 0) {
		progress("hot: cannot open %s: %s", DEV_IIT, strerror(-ioas));
		return -1;
	}
	tprintf("\n== Hot paths, in the kernel (IIT_IOC_BENCH, ktime), "
		"%zu KiB buffer: ns per operation ==\n", opt.size >> 10);
	tprintf("  %-36s %12s %12s %9s  %-18s %s\n", "operation", "plain",
		"managed", "added", "managed/plain", "target");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!cases[i].op && !user_hdr) {
			tprintf("  (like for like: the plain buffer gets a static "
				"importer, so neither side's\n   mapping is "
				"cached and both call the exporter's map/unmap "
				"every cycle;\n   +N att.: N other importers "
				"hold mapped attachments of each buffer;\n"
				"   N in turn: the loop maps N attachments of "
				"its own one after the other,\n   oldest "
				"first)\n");
			tprintf("\n== User mmap round trip (mmap, read every page, "
				"munmap; %zu pages): us per round trip ==\n",
				opt.size / PAGE);
			tprintf("  %-36s %12s %12s %9s  %-18s %s\n", "mapping",
				"plain", "managed", "added", "managed/plain",
				"");
			user_hdr = true;
		}
		fails += run_case(&cases[i], ioas) != 0;
	}
	close(ioas);
	return fails ? -1 : 0;
}
