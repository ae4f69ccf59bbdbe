/* bench.h - timing and statistics shared by the benchmarks */
#ifndef PDP_BENCH_H
#define PDP_BENCH_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rounds a benchmark may run: medians are taken over at most this many. */
#define BENCH_MAX_ROUNDS 32

static inline double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of v[0..n), n <= BENCH_MAX_ROUNDS; v is left as it was. */
static inline double
bench_median(const double *v, int n)
{
	double tmp[BENCH_MAX_ROUNDS];

	memcpy(tmp, v, sizeof(double) * (size_t)n);
	qsort(tmp, (size_t)n, sizeof(double), bench_cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

#endif
