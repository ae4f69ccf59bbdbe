/* store.h - the context store: device, user and revoked-token records behind bounded caches */
#ifndef PDP_STORE_H
#define PDP_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context/store_config.h"
#include "context/store_types.h"
#include "core/cache.h"
#include "core/reload_guard.h"
#include "core/types.h"

struct store;
struct store_value; /* a record as a backend answered it (context/store_backend.h) */

struct store_stats {
	uint64_t fetches;        /* round trips to the backend */
	uint64_t fetch_errors;   /* of which failed */
	uint64_t fetch_timeouts; /* of those, failed after the timeout */
	uint64_t stale_served;   /* records served past their freshness, the backend failing */
	uint64_t unavailable;    /* lookups answered with an error */
	uint64_t events;         /* invalidation events applied */
	uint64_t flushes;
	uint64_t not_ready; /* times the store was declared not ready (lost, syncing, stalled) */
	bool ready;
	struct cache_stats cache[STORE_KINDS];
};

/*
 * Opens the store over the backend cfg names (NULL without one, with err
 * empty) for n_workers calling threads, with its caches. Callers see this
 * header only; backends implement context/store_backend.h. Returns NULL with the reason in
 * err. cfg must outlive the store; free with store_close.
 */
struct store *store_open(const struct config_store *cfg, unsigned n_workers, char *err,
                         size_t errsz);

void store_close(struct store *s);

/*
 * What `pdp check` can know of cfg's store without serving: the file
 * store's file loads, a Redis password file reads. 0, or -1 with err.
 */
int store_check(const struct config_store *cfg, char *err, size_t errsz);

/*
 * Re-reads the backend's source, if it has one (the file store), once two
 * reads agree; a change that would drop revocations or disabled users past
 * what g allows is refused. Returns an enum reload_result (RELOAD_OK,
 * RELOAD_FAILED or RELOAD_REFUSED with the reason in err).
 */
int store_reload(struct store *s, const struct reload_guard *g, char *err, size_t errsz);

/* What one request learned. Read-only for the caller; end with store_lookup_done. */
struct store_lookup {
	enum store_err err;                 /* STORE_OK: every record asked for is known */
	char why[160];                      /* with err: what failed */
	const struct device_record *device; /* NULL: no record (or none asked) */
	const struct user_record *user;     /* NULL: no record */
	bool jti_revoked;
	bool stale;  /* served from cache past its freshness: the backend is failing */
	bool reused; /* from the memo: no cache was looked up */
	struct device_record device_view;
	struct store_value *held[STORE_KINDS];
};

/*
 * The records one caller's last lookup found, kept with the caller (the
 * token cache's entry) so that its next request looks up no cache: reused
 * only while each is still the one its cache holds (no event, flush, refetch
 * or eviction has dropped it) and fresh, with events flowing.
 */
struct store_memo {
	pthread_mutex_t lock;
	struct store_value *held[STORE_KINDS]; /* NULL: not asked, or nothing kept yet */
	bool set;
};

void store_memo_init(struct store_memo *m);
void store_memo_fini(struct store_memo *m);

/*
 * Looks up the records of one request (any key may be NULL: not asked) as
 * worker at now_ms (monotonic) and now_s (unix): from the caches when fresh,
 * else from the backend in one round trip; when the backend fails, a cached
 * record serves up to stale_max, and past that out->err says why. A device
 * record older than device_max_age reads as not compliant. memo (may be
 * NULL) must always be given the same keys: it answers in place of the
 * caches while it can, and keeps what a lookup found fresh.
 */
void store_lookup(struct store *s, unsigned worker, const char *device_id, const char *user,
                  const char *jti, int64_t now_ms, int64_t now_s, struct store_memo *memo,
                  struct store_lookup *out);

void store_lookup_done(struct store_lookup *l);

/*
 * Health: false when the store is not ready, events are not flowing or the
 * last fetch failed; why says which.
 */
bool store_healthy(struct store *s, char *why, size_t whysz);

void store_get_stats(struct store *s, struct store_stats *out);

#endif
