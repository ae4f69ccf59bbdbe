/* keyring.h - each issuer's live key set: lock-free reads, atomic replacement on rotation */
#ifndef PDP_KEYRING_H
#define PDP_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity/issuer.h"
#include "identity/jwks.h"

/*
 * One key set per configured issuer (in config order). Key files and HMAC
 * secrets are loaded when the ring is made; keys fetched from an issuer
 * arrive later, from the thread that owns all fetches (identity/key_fetch.h),
 * through keyring_replace. Readers (the request threads) mark themselves with
 * keyring_enter/keyring_exit, as policy sets are read: a replacement waits
 * for readers of the old set before freeing it, and a reader costs two
 * atomic stores and no lock.
 */
struct keyring;

/* What the last attempt to load an issuer's keys found. */
enum keys_result {
	KEYS_OK,
	KEYS_NETWORK,     /* resolve, connect, timeout, a reply cut short */
	KEYS_TLS,         /* handshake or certificate verification */
	KEYS_HTTP_STATUS, /* an answer other than 200 (redirects are not followed) */
	KEYS_INVALID,     /* not JSON, not a JWKS or discovery document, no usable key */
	KEYS_FILE,        /* a key file that cannot be read */
	KEYS_RESULTS
};

/* "ok", "network", "tls", "http_status", "invalid", "file": metrics labels, health. */
const char *keys_result_name(enum keys_result r);

/*
 * A ring for the issuers, loading every jwks_file and hmac_secret_file now
 * (an error there fails the ring: err says which file and why). Issuers with
 * jwks_uri or discovery start with no keys. n_readers: one slot per thread
 * that reads (0: the calling thread alone, as reader 0).
 */
struct keyring *keyring_new(const struct config_issuer *issuers, size_t n, unsigned n_readers,
                            char *err, size_t errsz);
void keyring_free(struct keyring *kr);
size_t keyring_size(const struct keyring *kr);
const struct config_issuer *keyring_issuer(const struct keyring *kr, size_t issuer);

/* Reading: the sets seen between enter and exit stay valid until exit. */
void keyring_enter(struct keyring *kr, unsigned reader);
void keyring_exit(struct keyring *kr, unsigned reader);

/* The issuer's current set; NULL while it has none. Only between enter and exit. */
const struct keyset *keyring_keys(struct keyring *kr, size_t issuer);

/*
 * How many times a replacement removed a key of the issuer's; a token
 * verified when the count was gen is still good if the count is the same, or
 * if the set still holds the key with serial (jwk.serial). No lock; enters
 * and exits as reader only when the count moved.
 */
uint64_t keyring_removals(struct keyring *kr, size_t issuer);
bool keyring_key_live(struct keyring *kr, unsigned reader, size_t issuer, uint64_t serial,
                      uint64_t gen);

/*
 * A token named a kid the issuer's set lacks: asks for one refetch, unless
 * one was asked within jwks_min_refetch (single flight, rate bound, so
 * forged kids cannot make the PDP hammer the issuer). Issuers whose keys are
 * files or secrets are never refetched. Returns whether it asked.
 */
bool keyring_want_refetch(struct keyring *kr, size_t issuer, int64_t now_ns);

/*
 * How a refetch is asked for: fn(arg, issuer) from a request thread, which
 * must not block. Set once, before readers start.
 */
void keyring_on_refetch(struct keyring *kr, void (*fn)(void *arg, size_t issuer), void *arg);

/*
 * Publishes ks (taken) as the issuer's set: keys also in the old set keep
 * their serials, and when a key of the old set is gone the removal count
 * moves, so tokens it signed stop verifying from the token cache too. Waits
 * for readers of the old set, then frees it. One writer at a time.
 */
void keyring_replace(struct keyring *kr, size_t issuer, struct keyset *ks);

/*
 * Records an attempt: counts it by result, and logs why when the issuer's
 * state changes (ok to failing, one failure to another, failing to ok).
 * why may be NULL for KEYS_OK.
 */
void keyring_report(struct keyring *kr, size_t issuer, enum keys_result r, const char *why);

#define KEYRING_ERROR_MAX 200

/* What health and metrics show of an issuer's keys. */
struct keyring_status {
	bool has_keys;
	size_t n_keys;
	int64_t loaded_at_ms; /* wall clock of the current set; 0: none */
	bool attempted;       /* a fetch or reread was reported */
	enum keys_result last_result;
	int64_t last_at_ms; /* wall clock of the last report */
	char last_error[KEYRING_ERROR_MAX];
	uint64_t attempts[KEYS_RESULTS];
};

void keyring_status(struct keyring *kr, size_t issuer, struct keyring_status *out);

#endif
