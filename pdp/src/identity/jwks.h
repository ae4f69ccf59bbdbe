/* jwks.h - verification keys: JWKS files and HMAC secrets, parsed once at load */
#ifndef PDP_JWKS_H
#define PDP_JWKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "identity/issuer.h"

enum jwk_type { JWK_RSA, JWK_EC, JWK_OKP, JWK_OCT };

struct jwk_pool;

struct jwk {
	char *kid; /* NULL when the key has none */
	enum jwk_type type;
	unsigned algorithms;   /* JWA_BIT mask this key may verify: pinned by the key */
	EVP_PKEY *pkey;        /* RSA, EC and OKP (Ed25519) */
	unsigned char *secret; /* oct */
	size_t secret_len;
	struct jwk_pool *pool; /* verify or MAC contexts ready for reuse */
	uint64_t serial;       /* set by the keyring: the same key keeps it across rotations */
};

struct keyset {
	struct jwk *keys;
	size_t n;
};

/*
 * Reads a JWKS file (RFC 7517) of RSA (>= 2048 bits), EC (P-256, P-384,
 * P-521) and OKP (Ed25519, RFC 8037) public keys, given by their members or
 * by the first certificate of "x5c" (when both, they must be the same key).
 * A key's algorithms are pinned by its type and curve (RSA: RS* and PS*; EC:
 * the ES* of its curve; Ed25519: EdDSA) and by its "alg" member when present,
 * intersected with allowed (a JWA_BIT mask). Keys that cannot verify anything
 * allowed, whose "use" is not "sig", or of a type or curve not known are
 * skipped with a warning; other members are ignored. A file with no usable
 * key is an error that says why each key was skipped. Returns 0 and a keyset
 * the caller frees with keyset_free, or -1 with the reason in err.
 */
int keyset_load_jwks(const char *path, unsigned allowed, struct keyset **out, char *err,
                     size_t errsz);

/*
 * The same for a JWKS already in memory (text, len bytes), fetched from
 * source (a URL, for messages).
 */
int keyset_parse_jwks(const char *text, size_t len, const char *source, unsigned allowed,
                      struct keyset **out, char *err, size_t errsz);

/* Whether a and b are the same key: type, kid and key material. */
bool jwk_same(const struct jwk *a, const struct jwk *b);

/*
 * Reads an HMAC secret (the file's bytes, less one trailing newline). Each
 * allowed HS algorithm needs a secret at least as long as its hash (RFC 7518
 * §3.2). Returns 0 or -1 with the reason in err.
 */
int keyset_load_hmac(const char *path, unsigned allowed, struct keyset **out, char *err,
                     size_t errsz);

/*
 * The key that may verify alg: by kid when the token names one, else the only
 * key able to verify alg. NULL when none fits.
 */
const struct jwk *keyset_find(const struct keyset *ks, const char *kid, size_t kid_len,
                              enum jwa alg);

void keyset_free(struct keyset *ks);

/*
 * A verify context for RSA or EC key k set up for alg (its digest and
 * padding: PKCS#1 v1.5 for RS*, PSS for PS*), ready for EVP_PKEY_verify of a
 * digest. (Ed25519 signs the message, not a digest: see token.c.) Setting one up costs about as
 * much as a fifth of an RSA verify, so contexts are kept and reused. Returns NULL when out of
 * memory; give it back with jwk_ctx_put.
 */
EVP_PKEY_CTX *jwk_ctx_get(const struct jwk *k, enum jwa alg, const EVP_MD *md);

/* Returns ctx to k's pool; reusable false (after an error) frees it instead. */
void jwk_ctx_put(const struct jwk *k, enum jwa alg, EVP_PKEY_CTX *ctx, bool reusable);

/*
 * The same for an HMAC key: a MAC context keyed with k's secret for md,
 * started and ready for EVP_MAC_update. (HMAC() fetches its algorithm by
 * name on every call, which costs more than the MAC itself.)
 */
EVP_MAC_CTX *jwk_mac_get(const struct jwk *k, enum jwa alg, const EVP_MD *md);
void jwk_mac_put(const struct jwk *k, enum jwa alg, EVP_MAC_CTX *ctx, bool reusable);

#endif
