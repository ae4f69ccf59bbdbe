/* decide.h - the decision point: one request in, one answer out, independent of transport */
#ifndef PDP_DECIDE_H
#define PDP_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "context/store.h"
#include "core/reload_guard.h"
#include "service/config.h"
#include "service/stats.h"
#include "transport/request.h"
#include "transport/response.h"

/* The decision point: its keys, caches, policy set, store and counters (opaque). */
struct pdp;

/*
 * Loads what deciding needs from cfg: keys, the token cache, and the policy
 * set from cfg->policies (an invalid set refuses to start: it would fail
 * open or closed by accident). n_readers: how many threads will call
 * pdp_decide, each with its own reader index. cfg must outlive the PDP.
 * Returns the PDP, which pdp_free frees, or NULL with the reason in err
 * (what was made is freed).
 */
struct pdp *pdp_new(const struct config *cfg, unsigned n_readers, char *err, size_t errsz);

/* Frees p and all it holds (decision-log lines queued are written first); NULL is a no-op. */
void pdp_free(struct pdp *p);

/*
 * Loads cfg->policies again, once two reads agree (cfg->reload), and swaps
 * it in if valid; requests in flight finish on the set they began with.
 * Unless confirmed (SIGHUP, `pdp reload`), a set that would drop every
 * enforced policy, or more than reload.max_drop of them, is refused. Returns
 * an enum reload_result; on failure or refusal the last good set keeps
 * serving and err says why. The result, its time and err are kept for
 * health. One caller at a time.
 */
int pdp_reload_policies(struct pdp *p, bool confirmed, char *err, size_t errsz);

/*
 * Re-reads the context store's file (the file store) under the same rules,
 * and keeps how it went for health. Without a store: RELOAD_OK, nothing done.
 */
int pdp_reload_store(struct pdp *p, bool confirmed, char *err, size_t errsz);

/*
 * Starts the thread that loads the issuers' keys from then on (fetches from
 * jwks_uri and discovery, rereads of changed key files; identity/key_fetch.h).
 * The daemon calls it once its readers can decide; tools never do. Returns 0,
 * or -1 with the reason in err.
 */
int pdp_keys_start(struct pdp *p, char *err, size_t errsz);

/* Rereads every key file and refetches every issuer's keys now (SIGHUP); does not block. */
void pdp_keys_reread(struct pdp *p);

/*
 * Decides request r at time now and writes the answer into rs. reader is the
 * calling thread's index (0..n_readers-1). Never fails open: an internal
 * error is a 500 answer. Admin requests (r->admin) get the health or metrics
 * answer.
 */
void pdp_decide(struct pdp *p, unsigned reader, const struct request *r, time_t now,
                struct response *rs);

/*
 * A snapshot of p's state for the admin endpoints, read as reader: the
 * policy set serving, the last reloads, the store's health; with counters,
 * also everything metrics count. The caches' statistics lock each shard of
 * each cache in turn (a decision on that shard waits for one copy), so
 * health, which polls, leaves counters out. Not for the decision path.
 */
/* Counts a connection accepted on front by reader (a worker), for the metrics. */
void pdp_count_accepted(struct pdp *p, unsigned reader, enum listen_front front);

void pdp_stats_get(struct pdp *p, unsigned reader, bool counters, struct pdp_stats *st);

/* The policy set serving now (revision, counts), read as reader. */
void pdp_policy_info(struct pdp *p, unsigned reader, struct policy_info *out);

/* The config p was made from. */
const struct config *pdp_config(const struct pdp *p);

/* Has the decision log reopen its file (after rotation); without one, nothing. */
void pdp_reopen_log(struct pdp *p);

/* The context store p decides with (NULL: none). */
struct store *pdp_store(struct pdp *p);

/*
 * Replaces p's context store with s, which p then owns (the old one is
 * closed): for tests that bring a backend of their own. Not while deciding.
 */
void pdp_use_store(struct pdp *p, struct store *s);

#endif
