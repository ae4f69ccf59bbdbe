/* decide.h - the decision point: one request in, one answer out, independent of transport */
#ifndef PDP_DECIDE_H
#define PDP_DECIDE_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "cache.h"
#include "config.h"
#include "request.h"
#include "response.h"
#include "token.h"

struct pdp_counters {
	atomic_uint_fast64_t decisions[DECISION_ERROR + 1];
	atomic_uint_fast64_t token_errors[TOKEN_NO_MEMORY + 1];
};

struct pdp {
	const struct config *cfg;
	struct token_verifier *verifier;
	struct cache *token_cache;
	struct pdp_counters counters;
};

/*
 * Loads what deciding needs from cfg (keys, caches). cfg must outlive p.
 * Returns 0, or -1 with the reason in err; pdp_fini releases what was made.
 */
int pdp_init(struct pdp *p, const struct config *cfg, char *err, size_t errsz);
void pdp_fini(struct pdp *p);

/*
 * Decides request r at time now and writes the answer into rs. Never fails
 * open: an internal error is a 500 answer. Safe to call from many threads.
 */
void pdp_decide(struct pdp *p, const struct request *r, time_t now, struct response *rs);

#endif
