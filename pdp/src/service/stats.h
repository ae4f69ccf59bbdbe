/* stats.h - what the PDP counts, and the snapshot of it that metrics and health read */
#ifndef PDP_STATS_H
#define PDP_STATS_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "context/store.h"
#include "core/cache.h"
#include "core/netaddr.h"
#include "core/types.h"
#include "identity/keyring.h"
#include "identity/token.h"

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

/*
 * What one reader (thread) counts, on cache lines of its own: a decision
 * writes no line another core writes. A snapshot adds the readers up
 * (stats_counters_sum).
 */
struct pdp_counters {
	alignas(64) atomic_uint_fast64_t decisions[DECISION_ERROR + 1];
	atomic_uint_fast64_t token_errors[TOKEN_ERRORS];
	atomic_uint_fast64_t revoked;          /* tokens refused by jti or revoked_before */
	atomic_uint_fast64_t store_refusals;   /* answers given by on_store_error */
	atomic_uint_fast64_t store_reused;     /* lookups answered by the caller's memo */
	atomic_uint_fast64_t accepted[FRONTS]; /* connections accepted, by front */
	struct latency_histogram latency;      /* of every decision (not admin answers) */
};

/* Adds n readers' counters up into sum (zeroed first). */
void stats_counters_sum(struct pdp_counters *readers, size_t n, struct pdp_counters *sum);

/* What a reload refused to apply, for pdp_reload_refused_total{what}. */
enum reload_what { RELOAD_WHAT_POLICIES, RELOAD_WHAT_STORE, RELOAD_WHATS };

/* The longest reload error kept for health (the file:line:col message). */
#define RELOAD_ERROR_MAX 1024

/* How the last reload of one input went, for health. */
struct reload_record {
	bool ran;                     /* false: none since start-up (the rest is unset) */
	int result;                   /* enum reload_result */
	struct timespec at;           /* when it finished (CLOCK_REALTIME) */
	char error[RELOAD_ERROR_MAX]; /* why it failed or was refused; "" when it applied */
};

/* The policy set serving now. */
struct policy_info {
	char revision[17]; /* content hash, hex */
	size_t n_policies, n_files;
};

/* Issuers health and metrics show, in config order; keys_ready covers them all. */
#define STATS_ISSUERS_MAX 16

/* One issuer's keys: where they come from, and how loading them goes. */
struct issuer_stats {
	const char *issuer;
	const char *source; /* "jwks_file", "jwks_uri", "discovery" or "hmac_secret_file" */
	struct keyring_status keys;
};

/*
 * A consistent-enough copy of everything the PDP counts and of its state,
 * for the admin endpoints: counters are summed over readers (each read
 * relaxed: a sum may be a few decisions behind), the rest is copied.
 */
struct pdp_stats {
	struct pdp_counters sum;
	uint64_t reloads, reload_failures;
	uint64_t reload_refused[RELOAD_WHATS];
	struct reload_record last_reload[RELOAD_WHATS];
	struct policy_info policies;
	struct cache_stats token_cache;
	struct {
		uint64_t count, ns;
	} signatures[JWA_COUNT];
	bool has_store;         /* false: no context store; the rest is zero */
	const char *store_name; /* its backend's name, or "none" */
	bool store_reloads;     /* its backend reads a file that reloads */
	bool store_up;
	char store_status[256]; /* "ok", or why the store is not up */
	struct store_stats store;
	uint64_t decision_log_dropped; /* 0 without a decision log */
	bool keys_ready;               /* every issuer has keys */
	char keys_status[256];         /* "ok", or which issuer has none */
	struct issuer_stats issuers[STATS_ISSUERS_MAX];
	size_t n_issuers;
};

#endif
