/* keytool.h - test and demo keys, JWKS export and token minting (libjwt) */
#ifndef PDP_KEYTOOL_H
#define PDP_KEYTOOL_H

#include <stddef.h>

#include <openssl/evp.h>

/* kind: "rsa" (2048), "rsa3072", "rsa4096", "p256", "p384" or "p521". NULL on failure. */
EVP_PKEY *keytool_generate(const char *kind);

/* The private key as PEM (PKCS#8); the caller frees. NULL on failure. */
char *keytool_private_pem(EVP_PKEY *key, size_t *len);

/*
 * The public half as one JWK object text, e.g. {"kty":"RSA","kid":..,"n":..,"e":..};
 * alg may be NULL to leave the member out. The caller frees.
 */
char *keytool_public_jwk(EVP_PKEY *key, const char *kid, const char *alg);

/*
 * Mints a compact JWS with libjwt (PS256/384/512 and EdDSA, which libjwt 1.10
 * lacks, with OpenSSL through keytool_sign). alg is "RS256" etc.; key is a PEM private
 * key or an HMAC secret of key_len bytes; header_json and claims_json are JSON
 * objects (header_json may be NULL; "alg" is set by libjwt). The caller frees
 * the result with free(). NULL on failure.
 */
char *keytool_mint(const char *alg, const unsigned char *key, size_t key_len,
                   const char *header_json, const char *claims_json);

/*
 * Signs a compact JWS with OpenSSL and a key parsed once (fast: for load
 * runs minting many tokens). alg is RS256/384/512 or PS256/384/512 (an RSA
 * key), ES256 (a P-256 key) or EdDSA (an Ed25519 key); header_json holds every header member but
 * "alg", which is added first (e.g. {"kid":"k1","typ":"JWT"}, or NULL). The caller frees. NULL on
 * failure.
 */
char *keytool_sign(const char *alg, EVP_PKEY *key, const char *header_json,
                   const char *claims_json);

#endif
