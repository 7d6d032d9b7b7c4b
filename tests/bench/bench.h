/* SPDX-License-Identifier: GPL-2.0 */
/*
 * revoke_bench: what the shim costs, measured side by side in one VM run.
 * See main.c for the method and README.md ("Performance") for the results.
 */
#ifndef TESTS_BENCH_H
#define TESTS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/helpers.h"

#define MAX_REPEATS	64

/* Run-wide settings (main.c). */
struct bench_opts {
	unsigned int repeats;	/* samples per measured point, >= 5 wanted */
	double sample_ms;	/* wall time one timed sample should take */
	size_t size;		/* buffer size of the hot-path cases */
	unsigned int mem_buffers; /* buffers per memory sample */
	bool quick;		/* fewer points: a smoke run */
	const char *sections;	/* comma-separated names to run; NULL: all */
};
extern struct bench_opts opt;

/* The samples of one measured quantity. */
struct series {
	unsigned int n;
	double v[MAX_REPEATS];
};

void series_add(struct series *s, double v);
double series_median(const struct series *s);
double series_min(const struct series *s);
double series_max(const struct series *s);
/* Half the min..max range relative to the median, in percent. */
double series_spread_pct(const struct series *s);

/*
 * Least squares over points (x[i], y[i]): y = a + b x (and its R^2), or
 * y = a + b x + c x^2.
 */
void fit_linear(const double *x, const double *y, unsigned int n,
		double *a, double *b, double *r2);
void fit_quadratic(const double *x, const double *y, unsigned int n,
		   double *a, double *b, double *c);

/* Monotonic clock in nanoseconds. */
double now_ns(void);
/* Progress on stderr, one "# " line. */
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print to the table (stdout at the end, and table.txt). */
void tprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * One raw sample: samples.csv "section,case,variant,param,repeat,value,unit".
 */
void sample_out(const char *section, const char *c, const char *variant,
		double param, unsigned int repeat, double value,
		const char *unit);
/*
 * One summary row: summary.csv "metric,param,median,min,max,unit,target,
 * verdict" and results.json. @s may be NULL for a single derived value
 * (@value; min = max = median). @target 0: no target; @verdict may be NULL.
 */
void summary_out(const char *metric, double param, const struct series *s,
		 double value, const char *unit, double target,
		 const char *verdict);
/* A target checked at the end, in the "Targets" table. */
void target_out(const char *what, const char *target, const char *measured,
		bool met, const char *miss);

/*
 * IIT_IOC_BENCH: @iters of @op on dma-buf @fd, nanoseconds per op; with
 * @spread > 1 a MAP loop cycles over that many attachments (iit_bench).
 */
int kbench_spread(int ioas, int fd, unsigned int op, unsigned int flags,
		 unsigned int spread, unsigned int iters, double *ns_per_op);
int kbench(int ioas, int fd, unsigned int op, unsigned int flags,
	   unsigned int iters, double *ns_per_op);

/* The sections, in the order they run. */
int bench_hot(void);		/* hot.c: in-kernel paths, user mmap */
int bench_revoke(void);		/* revoke.c: latency vs attachments, VMAs */
int bench_memory(void);		/* memory.c: slab bytes per buffer */
int bench_scaling(void);	/* scaling.c: two threads vs one */
int bench_batch(void);		/* batch.c: many buffers revoked at once */

/* The most buffers one batch case holds open at once. */
#define BATCH_MAX_BUFFERS	10000

#endif
