/* decide.h - the decision point: one request in, one answer out, independent of transport */
#ifndef PDP_DECIDE_H
#define PDP_DECIDE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "context/store.h"
#include "core/cache.h"
#include "identity/token.h"
#include "policy/policy_swap.h"
#include "service/config.h"
#include "service/metrics.h"
#include "transport/request.h"
#include "transport/response.h"

/*
 * What one reader (thread) counts, on cache lines of its own: a decision
 * writes no line another core writes. The metrics endpoint adds the readers
 * up (pdp_counters_sum).
 */
struct pdp_counters {
	alignas(64) atomic_uint_fast64_t decisions[DECISION_ERROR + 1];
	atomic_uint_fast64_t token_errors[TOKEN_NO_MEMORY + 1];
	atomic_uint_fast64_t revoked;        /* tokens refused by jti or revoked_before */
	atomic_uint_fast64_t store_refusals; /* answers given by on_store_error */
	atomic_uint_fast64_t store_reused;   /* lookups answered by the caller's memo */
	struct latency_histogram latency;    /* of every decision (not admin answers) */
};

struct decision_log;

/* What a reload refused to apply, for pdp_reload_refused_total{what}. */
enum reload_what { RELOAD_WHAT_POLICIES, RELOAD_WHAT_STORE, RELOAD_WHATS };

struct pdp {
	const struct config *cfg;
	struct decision_log *dlog; /* NULL: no decision log */
	struct token_verifier *verifier;
	struct cache *token_cache;
	struct store *store; /* NULL: no context store */
	struct policy_swap policies;
	unsigned n_readers;
	struct pdp_counters *counters; /* one per reader */
	atomic_uint_fast64_t reloads;
	atomic_uint_fast64_t reload_failures;
	atomic_uint_fast64_t reload_refused[RELOAD_WHATS]; /* by the drop guard */
};

/*
 * Loads what deciding needs from cfg: keys, the token cache, and the policy
 * set from cfg->policies (an invalid set refuses to start: it would fail
 * open or closed by accident). n_readers: how many threads will call
 * pdp_decide, each with its own reader index. cfg must outlive p. Returns 0,
 * or -1 with the reason in err; pdp_fini releases what was made.
 */
int pdp_init(struct pdp *p, const struct config *cfg, unsigned n_readers, char *err, size_t errsz);
void pdp_fini(struct pdp *p);

/* Every reader's counters added up into sum (zeroed first). */
void pdp_counters_sum(struct pdp *p, struct pdp_counters *sum);

/*
 * Loads cfg->policies again, once two reads agree (cfg->reload), and swaps
 * it in if valid; requests in flight finish on the set they began with.
 * Unless confirmed (SIGHUP, `pdp reload`), a set that would drop every
 * enforced policy, or more than reload.max_drop of them, is refused. Returns
 * an enum reload_result; on failure or refusal the last good set keeps
 * serving and err says why. One caller at a time.
 */
int pdp_reload_policies(struct pdp *p, bool confirmed, char *err, size_t errsz);

/* Re-reads the context store's file (the file store) under the same rules. */
int pdp_reload_store(struct pdp *p, bool confirmed, char *err, size_t errsz);

/*
 * Decides request r at time now and writes the answer into rs. reader is the
 * calling thread's index (0..n_readers-1). Never fails open: an internal
 * error is a 500 answer.
 */
void pdp_decide(struct pdp *p, unsigned reader, const struct request *r, time_t now,
                struct response *rs);

#endif
