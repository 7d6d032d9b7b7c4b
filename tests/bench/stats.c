// SPDX-License-Identifier: GPL-2.0
/* Medians, spreads and least-squares fits for revoke_bench. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void series_add(struct series *s, double v)
{
	if (s->n < MAX_REPEATS)
		s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double series_median(const struct series *s)
{
	double v[MAX_REPEATS];

	if (!s->n)
		return NAN;
	memcpy(v, s->v, s->n * sizeof(v[0]));
	qsort(v, s->n, sizeof(v[0]), cmp_double);
	return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

double series_min(const struct series *s)
{
	double m = s->n ? s->v[0] : NAN;
	unsigned int i;

	for (i = 1; i < s->n; i++)
		if (s->v[i] < m)
			m = s->v[i];
	return m;
}

double series_max(const struct series *s)
{
	double m = s->n ? s->v[0] : NAN;
	unsigned int i;

	for (i = 1; i < s->n; i++)
		if (s->v[i] > m)
			m = s->v[i];
	return m;
}

double series_spread_pct(const struct series *s)
{
	double med = series_median(s);

	if (!s->n || med == 0)
		return NAN;
	return 100 * (series_max(s) - series_min(s)) / 2 / fabs(med);
}

void fit_linear(const double *x, const double *y, unsigned int n,
		double *a, double *b, double *r2)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, ss_tot = 0, ss_res = 0;
	double mean, d;
	unsigned int i;

	for (i = 0; i < n; i++) {
		sx += x[i];
		sy += y[i];
		sxx += x[i] * x[i];
		sxy += x[i] * y[i];
	}
	d = n * sxx - sx * sx;
	*b = d ? (n * sxy - sx * sy) / d : NAN;
	*a = (sy - *b * sx) / n;
	mean = sy / n;
	for (i = 0; i < n; i++) {
		double e = y[i] - (*a + *b * x[i]);

		ss_res += e * e;
		ss_tot += (y[i] - mean) * (y[i] - mean);
	}
	*r2 = ss_tot ? 1 - ss_res / ss_tot : NAN;
}

/* Normal equations, 3x3, solved by Cramer's rule (x up to ~1e3: fine). */
void fit_quadratic(const double *x, const double *y, unsigned int n,
		   double *a, double *b, double *c)
{
	double s[5] = { 0 }, t[3] = { 0 }, m[3][3], det;
	unsigned int i, k;

	for (i = 0; i < n; i++) {
		double p = 1;

		for (k = 0; k < 5; k++) {
			s[k] += p;
			if (k < 3)
				t[k] += p * y[i];
			p *= x[i];
		}
	}
	for (i = 0; i < 3; i++)
		for (k = 0; k < 3; k++)
			m[i][k] = s[i + k];
#define DET3(A) ((A)[0][0] * ((A)[1][1] * (A)[2][2] - (A)[1][2] * (A)[2][1]) - \
		 (A)[0][1] * ((A)[1][0] * (A)[2][2] - (A)[1][2] * (A)[2][0]) + \
		 (A)[0][2] * ((A)[1][0] * (A)[2][1] - (A)[1][1] * (A)[2][0]))
	det = DET3(m);
	if (!det) {
		*a = *b = *c = NAN;
		return;
	}
	for (k = 0; k < 3; k++) {
		double mk[3][3];
		double r;

		memcpy(mk, m, sizeof(mk));
		for (i = 0; i < 3; i++)
			mk[i][k] = t[i];
		r = DET3(mk) / det;
		if (k == 0)
			*a = r;
		else if (k == 1)
			*b = r;
		else
			*c = r;
	}
#undef DET3
}
