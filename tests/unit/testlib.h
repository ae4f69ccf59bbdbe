/* testlib.h - helpers for the unit tests: temp files, keys, hand-made tokens */
#ifndef PDP_TESTLIB_H
#define PDP_TESTLIB_H

/* cmocka.h needs these before it; the blank line keeps the formatter from reordering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>

/* A fresh directory under $TMPDIR, removed at exit. */
const char *test_tmpdir(void);

/* The path of name inside test_tmpdir() (static storage, reused after 64 calls). */
char *test_path(const char *name);

/* Writes data to name inside test_tmpdir(); returns the full path (static storage per call). */
char *test_write_file(const char *name, const char *data);

/* base64url of s (NUL-terminated); the caller frees. */
char *test_b64(const char *s);

/* "B64(header).B64(payload)" plus "." and sig (may be ""), all as given; the caller frees. */
char *test_craft(const char *header_json, const char *payload_json, const char *sig_b64);

/*
 * Signs header.payload (both raw JSON, base64url-encoded here) with key using
 * RS256/ES256-style signatures (md "SHA256"...), giving a JWS even for JSON
 * that libjwt would not produce (duplicate members, crit headers).
 */
char *test_sign(EVP_PKEY *key, const char *md, const char *header_json, const char *payload_json);

/* Like test_sign for HMAC with a raw secret. */
char *test_sign_hmac(const unsigned char *secret, size_t len, const char *md,
                     const char *header_json, const char *payload_json);

#endif
