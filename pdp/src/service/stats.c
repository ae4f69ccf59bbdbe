/* stats.c - adding the readers' counters up for a snapshot */
#include "service/stats.h"

#include <string.h>

const int64_t metrics_bucket_ns[METRICS_BUCKETS] = {
    10000,   25000,   50000,    100000,   250000,    500000,
    1000000, 2500000, 10000000, 50000000, 250000000, 1000000000,
};

void
stats_counters_sum(struct pdp_counters *readers, size_t n, struct pdp_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i < n; i++) {
		struct pdp_counters *c = &readers[i];

		for (int d = 0; d <= DECISION_ERROR; d++)
			sum->decisions[d] +=
			    atomic_load_explicit(&c->decisions[d], memory_order_relaxed);
		for (int e = 0; e < TOKEN_ERRORS; e++)
			sum->token_errors[e] +=
			    atomic_load_explicit(&c->token_errors[e], memory_order_relaxed);
		sum->revoked += atomic_load_explicit(&c->revoked, memory_order_relaxed);
		sum->store_refusals +=
		    atomic_load_explicit(&c->store_refusals, memory_order_relaxed);
		sum->store_reused += atomic_load_explicit(&c->store_reused, memory_order_relaxed);
		for (int f = 0; f < FRONTS; f++)
			sum->accepted[f] +=
			    atomic_load_explicit(&c->accepted[f], memory_order_relaxed);
		for (int b = 0; b <= METRICS_BUCKETS; b++)
			sum->latency.bucket[b] +=
			    atomic_load_explicit(&c->latency.bucket[b], memory_order_relaxed);
		sum->latency.sum_ns +=
		    atomic_load_explicit(&c->latency.sum_ns, memory_order_relaxed);
	}
}
