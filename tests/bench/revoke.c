// SPDX-License-Identifier: GPL-2.0
/*
 * Revoke latency vs the number of attachments and of user mappings.
 *
 * One sample: export a fresh managed one-page buffer; attach it N times
 * through the importer (IIT_IOC_MAP of the same fd at distinct IOVAs, at
 * most ATT_PER_IOAS per IOAS fd), or mmap it M times (MAP_SHARED, each
 * touched); then time DMABUF_REVOKE_IOC_REVOKE from user space (the call
 * takes milliseconds: the syscall is noise here) and check that its report
 * says what was attached, notified and zapped. Points are interleaved
 * across repeats (the order rotates), so a slow moment of the host hits
 * every N alike. Three series:
 *   - dynamic attachments: each is pinned and mapped and unmaps in its
 *     move_notify, as iommufd's does - the case the target is about;
 *   - static attachments (a control for the "why"): the same number of
 *     attachments, but nobody can be told, so nothing is unmapped during the
 *     revoke; the shim only counts and reports them. The difference between
 *     the two series is the cost of the importers' unmap/unpin calls back
 *     into the shim during the revoke;
 *   - user mappings: the zap of M VMAs, M from 0 to 1000.
 *
 * The fit: latency = fixed + per_item x N, least squares over the points'
 * medians (robust against the host stealing a vCPU now and then; the raw
 * samples are in samples.csv). The fixed part is a revoke with nothing attached: the resv round trip,
 * one SRCU grace period (synchronize_srcu), the zap, the exporter's
 * revoked() callback (which scrubs the page). "Linear" is checked by
 * comparing the cost per attachment between 100 and 1000 attachments with
 * the one between 10 and 100 (1.00: exactly linear; LINEAR_TOLERANCE is
 * the target for dynamic attachments; the other series print theirs), and
 * a quadratic fit says how much of the largest point an N^2 term explains.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define ATT_PER_IOAS	256
#define IOVA_BASE	0x100000ULL
#define REVOKE_TIMEOUT_MS 60000
/* Per-attachment cost may grow this much from 10..100 to 100..1000. */
#define LINEAR_TOLERANCE 1.25

enum kind { DYNAMIC, STATIC, MAPPINGS };

struct series_def {
	enum kind kind;
	const char *id;			/* samples.csv case, summary metric */
	const char *title;
	const char *item;		/* what N counts */
	const unsigned int *pts, *pts_quick;
	unsigned int npts, npts_quick;
};

static const unsigned int att_points[] = { 0, 1, 3, 10, 30, 100, 300, 1000 };
static const unsigned int att_points_quick[] = { 0, 1, 10, 100, 1000 };
static const unsigned int static_points[] = { 0, 10, 100, 1000 };
static const unsigned int static_points_quick[] = { 0, 100, 1000 };
/* Issue 14: the curve from 0 to 1000 user mappings. */
static const unsigned int vma_points[] = { 0, 1, 10, 100, 1000 };
static const unsigned int vma_points_quick[] = { 0, 100 };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct series_def defs[] = {
	{ DYNAMIC, "attachments",
	  "Revoke latency vs dynamic attachments (managed 4 KiB buffer; user "
	  "clock around\n   DMABUF_REVOKE_IOC_REVOKE; each importer unmaps "
	  "and unpins in move_notify, like iommufd)",
	  "attachment", att_points, att_points_quick, N(att_points),
	  N(att_points_quick) },
	{ STATIC, "static_attachments",
	  "Control: revoke latency vs static attachments (cannot be told: "
	  "counted and\n   reported, nothing is unmapped during the revoke)",
	  "attachment", static_points, static_points_quick, N(static_points),
	  N(static_points_quick) },
	{ MAPPINGS, "mappings",
	  "Revoke latency vs user mappings (MAP_SHARED, touched; no "
	  "attachments)", "mapping", vma_points, vma_points_quick,
	  N(vma_points), N(vma_points_quick) },
};

/* One revoke of a fresh buffer with @n attachments or mappings. */
static int revoke_once(int dev, enum kind kind, unsigned int n, double *us)
{
	unsigned int natt = kind == MAPPINGS ? 0 : n;
	unsigned int nvma = kind == MAPPINGS ? n : 0;
	unsigned int nio = (natt + ATT_PER_IOAS - 1) / ATT_PER_IOAS, i;
	unsigned int told = kind == DYNAMIC ? natt : 0;
	unsigned int flags = kind == STATIC ? IIT_MAP_STATIC : 0;
	unsigned int want_flags = kind == STATIC && natt ?
				  DMABUF_REVOKE_REPORT_INCOMPLETE : 0;
	int *ioas = calloc(nio + 1, sizeof(*ioas));
	void **vma = calloc(nvma + 1, sizeof(*vma));
	struct dmabuf_revoke_report rep;
	int fd, ret = 0;
	double t0;

	fd = vre_export(dev, 0, 0, PAGE, 0);
	if (!ioas || !vma || fd < 0) {
		ret = fd < 0 ? fd : -ENOMEM;
		goto out;
	}
	for (i = 0; i < nio; i++)
		ioas[i] = -1;
	for (i = 0; i < nio; i++) {
		ioas[i] = iit_open();
		if (ioas[i] < 0) {
			ret = ioas[i];
			goto out;
		}
	}
	for (i = 0; i < natt && !ret; i++)
		ret = iit_map(ioas[i / ATT_PER_IOAS], fd,
			      IOVA_BASE + (uint64_t)(i % ATT_PER_IOAS) * PAGE,
			      flags, NULL);
	for (i = 0; i < nvma && !ret; i++) {
		vma[i] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			      fd, 0);
		if (vma[i] == MAP_FAILED) {
			vma[i] = NULL;
			ret = -errno;
		} else {
			(void)*(volatile uint8_t *)vma[i];
		}
	}
	if (ret) {
		progress("revoke: setting up %u attachments, %u mappings: %s",
			 natt, nvma, strerror(-ret));
		goto out;
	}

	t0 = now_ns();
	ret = drs_revoke(fd, REVOKE_TIMEOUT_MS, &rep, NULL, 0);
	*us = (now_ns() - t0) / 1e3;
	if (ret) {
		progress("revoke: DMABUF_REVOKE_IOC_REVOKE: %s", strerror(-ret));
	} else if (rep.attachments != natt || rep.notified != told ||
		   rep.user_mappings != nvma || rep.flags != want_flags) {
		progress("revoke: report says %u attachments, %u notified, "
			 "%u user mappings, flags %#x; expected %u, %u, %u, %#x",
			 rep.attachments, rep.notified, rep.user_mappings,
			 rep.flags, natt, told, nvma, want_flags);
		ret = -EPROTO;
	}
out:
	for (i = 0; vma && i < nvma; i++)
		if (vma[i])
			munmap(vma[i], PAGE);
	for (i = 0; ioas && i < nio; i++)
		if (ioas[i] >= 0)
			close(ioas[i]);
	if (fd >= 0)
		close(fd);
	free(ioas);
	free(vma);
	return ret;
}

/* Median of the point with x == @x (NAN if absent). */
static double median_at(const unsigned int *pts, const struct series *s,
			unsigned int n, unsigned int x)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (pts[i] == x)
			return series_median(&s[i]);
	return 0.0 / 0.0;
}

/* Run one series, print its table and fits. Returns 0 or the first error. */
static int run_series(int dev, const struct series_def *d)
{
	const unsigned int *pts = opt.quick ? d->pts_quick : d->pts;
	unsigned int npts = opt.quick ? d->npts_quick : d->npts;
	struct series *s = calloc(npts, sizeof(*s));
	double *x = calloc(npts, sizeof(*x)), *y = calloc(npts, sizeof(*y));
	unsigned int r, k, i;
	double a, b, r2, qa, qb, qc, top, prev = 0, ma, mb, mr2;
	char metric[96];
	int ret = 0;

	if (!s || !x || !y)
		return -ENOMEM;
	for (r = 0; r < opt.repeats && !ret; r++) {
		progress("revoke vs %s: repeat %u of %u", d->id, r + 1,
			 opt.repeats);
		for (k = 0; k < npts && !ret; k++) {
			unsigned int p = (k + r) % npts, n = pts[p];
			double us = 0;

			ret = revoke_once(dev, d->kind, n, &us);
			if (ret)
				break;
			series_add(&s[p], us);
			sample_out("revoke", d->id, "managed", n, r, us, "us");
		}
	}
	if (ret)
		goto out;

	for (i = 0; i < npts; i++) {
		x[i] = pts[i];
		y[i] = series_median(&s[i]);
	}
	fit_linear(x, y, npts, &a, &b, &r2);
	fit_quadratic(x, y, npts, &qa, &qb, &qc);
	/* The same over the minima: the least disturbed sample of each point. */
	for (i = 0; i < npts; i++)
		y[i] = series_min(&s[i]);
	fit_linear(x, y, npts, &ma, &mb, &mr2);
	tprintf("\n== %s ==\n", d->title);
	tprintf("  %12ss %12s  %-20s us per %s since the previous point\n",
		d->item, "median us", "[min-max]", d->item);
	for (i = 0; i < npts; i++) {
		double med = series_median(&s[i]);
		char range[48];

		snprintf(range, sizeof(range), "[%.0f-%.0f]",
			 series_min(&s[i]), series_max(&s[i]));
		tprintf("  %13u %12.0f  %-20s", pts[i], med, range);
		if (i)
			tprintf(" %.2f", (med - prev) / (pts[i] - pts[i - 1]));
		tprintf("\n");
		prev = med;
		snprintf(metric, sizeof(metric), "revoke.%s", d->id);
		summary_out(metric, pts[i], &s[i], 0, "us", 0, NULL);
	}
	top = pts[npts - 1];
	tprintf("  least squares: latency = %.0f us + %.2f us x %ss  "
		"(R^2 %.4f, over the medians)\n", a, b, d->item, r2);
	tprintf("  over the minima: latency = %.0f us + %.2f us x %ss  "
		"(R^2 %.4f)\n", ma, mb, d->item, mr2);
	if (npts >= 3)
		tprintf("  quadratic fit: %.0f us + %.2f us x n + %.6f us x n^2; "
			"the n^2 term is %.0f%% of n=%.0f\n", qa, qb, qc,
			100 * qc * top * top / (qa + qb * top + qc * top * top),
			top);
	snprintf(metric, sizeof(metric), "revoke.%s.fit_fixed", d->id);
	summary_out(metric, 0, NULL, a, "us", 0, NULL);
	snprintf(metric, sizeof(metric), "revoke.%s.fit_per_item", d->id);
	summary_out(metric, 0, NULL, b, "us", 0, NULL);
	snprintf(metric, sizeof(metric), "revoke.%s.fit_r2", d->id);
	summary_out(metric, 0, NULL, r2, "", 0, NULL);
	snprintf(metric, sizeof(metric), "revoke.%s.minfit_fixed", d->id);
	summary_out(metric, 0, NULL, ma, "us", 0, NULL);
	snprintf(metric, sizeof(metric), "revoke.%s.minfit_per_item", d->id);
	summary_out(metric, 0, NULL, mb, "us", 0, NULL);
	if (npts >= 3) {
		snprintf(metric, sizeof(metric), "revoke.%s.quad_a", d->id);
		summary_out(metric, 0, NULL, qa, "us", 0, NULL);
		snprintf(metric, sizeof(metric), "revoke.%s.quad_b", d->id);
		summary_out(metric, 0, NULL, qb, "us", 0, NULL);
		snprintf(metric, sizeof(metric), "revoke.%s.quad_c", d->id);
		summary_out(metric, 0, NULL, qc, "us", 0, NULL);
	}

	if (!isnan(median_at(pts, s, npts, 10)) &&
	    !isnan(median_at(pts, s, npts, 1000))) {
		double t10 = median_at(pts, s, npts, 10);
		double t100 = median_at(pts, s, npts, 100);
		double t1000 = median_at(pts, s, npts, 1000);
		double s1 = (t100 - t10) / 90, s2 = (t1000 - t100) / 900;
		double lin = s2 / s1, m10 = 0, m100 = 0, m1000 = 0;
		bool met = lin <= LINEAR_TOLERANCE;
		char t[32], m[48], miss[96];

		for (i = 0; i < npts; i++) {
			if (pts[i] == 10)
				m10 = series_min(&s[i]);
			if (pts[i] == 100)
				m100 = series_min(&s[i]);
			if (pts[i] == 1000)
				m1000 = series_min(&s[i]);
		}
		tprintf("  per %s: %.2f us from 10 to 100, %.2f us from "
			"100 to 1000: x%.2f (1.00 = linear;\n  from the minima "
			"instead of the medians: x%.2f)\n", d->item, s1, s2, lin,
			((m1000 - m100) / 900) / ((m100 - m10) / 90));
		snprintf(metric, sizeof(metric), "revoke.%s.linearity", d->id);
		summary_out(metric, 0, NULL, lin, "x",
			    d->kind == DYNAMIC ? LINEAR_TOLERANCE : 0,
			    d->kind == DYNAMIC ? (met ? "met" : "missed") : NULL);
		if (d->kind == DYNAMIC) {
			snprintf(t, sizeof(t), "<= %.2fx", LINEAR_TOLERANCE);
			snprintf(m, sizeof(m), "%.2fx", lin);
			snprintf(miss, sizeof(miss),
				 "%.2fx: per-attachment cost grows with n",
				 lin - 1);
			target_out("revoke linear in attachments", t, m, met,
				   miss);
		}
	}
out:
	free(s);
	free(x);
	free(y);
	return ret;
}

int bench_revoke(void)
{
	uint64_t sz = PAGE;
	int dev = vre_device(1, &sz), ret = 0;
	size_t i;

	if (dev < 0) {
		progress("revoke: cannot create a device: %s", strerror(-dev));
		return -1;
	}
	for (i = 0; i < N(defs) && !ret; i++)
		ret = run_series(dev, &defs[i]);
	close(dev);
	return ret ? -1 : 0;
}
