/* key_fetch.h - the thread that owns every key fetch: issuers' JWKS over HTTPS, key files */
#ifndef PDP_KEY_FETCH_H
#define PDP_KEY_FETCH_H

#include <stddef.h>

#include "identity/keyring.h"

struct key_fetch;

/*
 * Starts the thread that loads keys into kr for its issuers, never on a
 * request or event-loop thread: each jwks_uri and discovery issuer is fetched
 * at once, then every jwks_refresh (sooner when its answer's Cache-Control
 * max-age says so, never more often than jwks_min_refetch), retried with
 * backoff after a failure, and refetched when keyring_want_refetch asks;
 * each jwks_file is reread when it changes (inotify, symlink swaps
 * included). A failure keeps the last good set. Returns NULL with the reason
 * in err.
 */
struct key_fetch *key_fetch_start(struct keyring *kr, char *err, size_t errsz);

/* Rereads every jwks_file and refetches every remote set now (SIGHUP). Does not block. */
void key_fetch_reread(struct key_fetch *f);

/* Stops the thread; kr must outlive the fetcher. */
void key_fetch_stop(struct key_fetch *f);

/*
 * For the tools: fetches each jwks_uri and discovery issuer's keys once, on
 * the calling thread, into kr. Returns 0, or -1 with the first failure in err.
 */
int key_fetch_once(struct keyring *kr, char *err, size_t errsz);

#endif
