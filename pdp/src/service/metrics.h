/* metrics.h - the PDP's counters in Prometheus text format, for the metrics endpoint */
#ifndef PDP_METRICS_H
#define PDP_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bounds of the decision latency buckets, in nanoseconds (then +Inf). */
#define METRICS_BUCKETS 12
extern const int64_t metrics_bucket_ns[METRICS_BUCKETS];

/* A lock-free latency histogram: bucket[i] counts observations <= bound i (not cumulative). */
struct latency_histogram {
	atomic_uint_fast64_t bucket[METRICS_BUCKETS + 1];
	atomic_uint_fast64_t sum_ns;
};

static inline void
latency_observe(struct latency_histogram *h, int64_t ns)
{
	int i = 0;

	if (ns < 0)
		ns = 0;
	while (i < METRICS_BUCKETS && ns > metrics_bucket_ns[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (uint_fast64_t)ns, memory_order_relaxed);
}

struct pdp;

/*
 * Writes every metric of p (decisions, latency, caches, store, reloads,
 * policy revision, decision-log drops) into buf as Prometheus text format
 * 0.0.4. reader is the calling thread's policy reader index. Returns the
 * length, or 0 when cap is too small.
 */
size_t metrics_format(struct pdp *p, unsigned reader, char *buf, size_t cap);

#endif
