/* token.h - JWT verification against configured issuers and their live key sets */
#ifndef PDP_TOKEN_H
#define PDP_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/types.h"
#include "identity/issuer.h"

struct keyring;

enum token_err {
	TOKEN_OK = 0,
	TOKEN_TOO_LARGE,
	TOKEN_MALFORMED,
	TOKEN_BAD_ALG,
	TOKEN_UNKNOWN_ISSUER,
	TOKEN_UNKNOWN_KEY,
	TOKEN_BAD_SIGNATURE,
	TOKEN_EXPIRED,
	TOKEN_NOT_YET_VALID,
	TOKEN_BAD_AUDIENCE,
	TOKEN_BAD_CLAIM,
	TOKEN_NO_MEMORY,
	TOKEN_KEYS_UNAVAILABLE, /* the issuer's keys have not arrived yet: 500, not the caller's
	                           fault */
	TOKEN_ERRORS
};

/* A short reason fit for RFC 6750 error_description (no token data in it). */
const char *token_strerror(enum token_err err);

struct token_verifier;

/* Distinct header segments of verified tokens the verifier remembers, each at most so long. */
#define TOKEN_KNOWN_HEADERS      16
#define TOKEN_KNOWN_HEADER_BYTES 512

/*
 * Builds a verifier for the issuers, with a keyring (identity/keyring.h)
 * holding their keys: key files and HMAC secrets are loaded now, keys from
 * an issuer's jwks_uri or discovery arrive through the keyring later.
 * n_readers: threads that call token_verify, each with its own reader index
 * (0: the calling thread alone, as reader 0). Returns NULL with the reason
 * in err. The verifier keeps no pointer into issuers; free with
 * token_verifier_free.
 */
struct token_verifier *token_verifier_new(const struct config_issuer *issuers, size_t n_issuers,
                                          size_t max_token_bytes, unsigned n_readers, char *err,
                                          size_t errsz);
void token_verifier_free(struct token_verifier *v);

/*
 * Verifies token (len bytes, not necessarily NUL-terminated) at time now, as
 * reader: structure, the issuer named by "iss", the algorithm pinned by the
 * issuer's key (never chosen by the token alone), the signature, then
 * exp/nbf/iat with the issuer's leeway, aud and claim types. On success *out
 * is a new subject the caller frees with free(), which records the key that
 * verified it. A kid the issuer's set lacks asks for the set again (at most
 * once per jwks_min_refetch). On failure why (may be NULL) gets a detail for
 * the log; it never holds the token.
 */
enum token_err token_verify(const struct token_verifier *v, unsigned reader, const char *token,
                            size_t len, time_t now, struct subject **out, char *why, size_t whysz);

/*
 * Whether the key that verified s is still in its issuer's set: false once a
 * rotation removed it, so a cached token it signed stops verifying too. One
 * atomic load while no key of the issuer has been removed since s was made.
 */
bool token_subject_current(const struct token_verifier *v, unsigned reader,
                           const struct subject *s);

/* The verifier's keys, for the thread that fetches them and for health. */
struct keyring *token_verifier_keyring(struct token_verifier *v);

/*
 * The public-key signature checks made for alg so far (first-seen tokens:
 * cached ones are not checked again), and the nanoseconds spent in them.
 */
void token_verifier_sig_stats(const struct token_verifier *v, enum jwa alg, uint64_t *count,
                              uint64_t *ns);

/* How many header segments the verifier remembers (for tests). */
size_t token_verifier_known_headers(const struct token_verifier *v);

#endif
