/* decision_line.h - the decision log's JSON lines: what a decision is logged with */
#ifndef PDP_DECISION_LINE_H
#define PDP_DECISION_LINE_H

#include <stdint.h>

#include "core/types.h"
#include "policy/eval.h"
#include "policy/policy.h"
#include "service/decision_log.h"
#include "transport/request.h"
#include "transport/response.h"

/*
 * Each builds one line for request r answered with rs and queues it on dl
 * (decision_log_write); t0 is clock_ns() when the request arrived, for
 * latency_us. Every member has a bound, so that a line always fits
 * DECISION_LOG_LINE_MAX whatever a request sends: a longer value is cut
 * visibly, never the line.
 */

/* A decision with no verified caller: nothing from the token is logged. */
void decision_line_unverified(struct decision_log *dl, const struct request *r,
                              const struct response *rs, const char *reason, int64_t t0);

/*
 * A verified caller answered before the policies (revoked, or the store
 * failing). device and store (the store's state; NULL: ok) may be NULL.
 */
void decision_line_caller(struct decision_log *dl, const struct request *r, const struct subject *s,
                          const char *device, const struct response *rs, const char *reason,
                          const char *store, int64_t t0);

/*
 * A verified caller's decision res by set, with every applied and
 * report-only policy and why. set must be held (policy_swap) meanwhile.
 */
void decision_line_decision(struct decision_log *dl, const struct request *r,
                            const struct subject *s, const char *device, const char *store,
                            const struct policy_set *set, const struct eval_result *res,
                            const struct response *rs, int64_t t0);

#endif
