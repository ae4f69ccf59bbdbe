/* test_jwks.c - keys as issuers publish them: x5c, PSS, Ed25519, skipped keys, pinned algorithms */
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/b64.h"
#include "identity/jwks.h"
#include "identity/token.h"
#include "keytool.h"
#include "service/config.h"
#include "testlib.h"

#define ISS "https://login.example.com/tenant/v2.0"
#define AUD "api://apps"

static struct {
	EVP_PKEY *rsa, *rsa2, *p256, *ed;
	char *cert_rsa, *cert_rsa2, *cert_p256, *cert_ed; /* base64 DER, as x5c holds them */
	time_t now;
} t;

/* A self-signed certificate of key, in standard base64 of its DER. */
static char *
cert_b64(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	char *out;
	int n;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1,
	                           0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	out = malloc((size_t)n * 2 + 4);
	EVP_EncodeBlock((unsigned char *)out, der, n);
	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_free(x);
	return out;
}

static int
setup(void **state)
{
	(void)state;
	t.now = time(NULL);
	t.rsa = keytool_generate("rsa");
	t.rsa2 = keytool_generate("rsa");
	t.p256 = keytool_generate("p256");
	t.ed = keytool_generate("ed25519");
	assert_non_null(t.ed);
	t.cert_rsa = cert_b64(t.rsa);
	t.cert_rsa2 = cert_b64(t.rsa2);
	t.cert_p256 = cert_b64(t.p256);
	t.cert_ed = cert_b64(t.ed);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(t.rsa);
	EVP_PKEY_free(t.rsa2);
	EVP_PKEY_free(t.p256);
	EVP_PKEY_free(t.ed);
	free(t.cert_rsa);
	free(t.cert_rsa2);
	free(t.cert_p256);
	free(t.cert_ed);
	return 0;
}

/*
 * One JWK of key as a jansson object: its members, then "alg" when not NULL,
 * "x5c" holding cert when not NULL, and without its own key members when
 * members is false (an x5c-only key).
 */
static json_t *
jwk(EVP_PKEY *key, const char *kid, const char *alg, const char *cert, bool members)
{
	char *text = keytool_public_jwk(key, kid, alg);
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	free(text);
	if (cert != NULL)
		json_object_set_new(j, "x5c", json_pack("[s]", cert));
	if (!members) {
		json_object_del(j, "n");
		json_object_del(j, "e");
		json_object_del(j, "x");
		json_object_del(j, "y");
	}
	return j;
}

/* Writes {"keys":[...]} of the JWKs given (stolen), NULL-terminated, and returns its path. */
static char *
jwks_file(json_t *first, ...)
{
	json_t *keys = json_array();
	json_t *doc = json_pack("{s:o}", "keys", keys);
	char *text, *path;
	va_list ap;

	va_start(ap, first);
	for (json_t *k = first; k != NULL; k = va_arg(ap, json_t *))
		json_array_append_new(keys, k);
	va_end(ap);
	text = json_dumps(doc, JSON_COMPACT);
	path = test_write_file("keys.json", text);
	free(text);
	json_decref(doc);
	return path;
}

struct ver {
	struct config *cfg;
	struct token_verifier *v;
	char err[1024];
};

/* A verifier for one issuer with the JWKS at path and algorithms (a YAML list's items). */
static bool
ver_open(struct ver *w, const char *path, const char *algs)
{
	char cfg[1024];

	memset(w, 0, sizeof(*w));
	snprintf(cfg, sizeof(cfg),
	         "issuers:\n  - issuer: " ISS "\n    audiences: [" AUD "]\n"
	         "    jwks_file: %s\n    algorithms: [%s]\n",
	         path, algs);
	w->cfg = config_load(test_write_file("jwks.yaml", cfg), w->err, sizeof(w->err));
	if (w->cfg == NULL)
		fail_msg("%s", w->err);
	w->v = config_token_verifier(w->cfg, 0, w->err, sizeof(w->err));
	return w->v != NULL;
}

static void
ver_close(struct ver *w)
{
	token_verifier_free(w->v);
	config_free(w->cfg);
}

static char *
body(void)
{
	static char b[256];

	snprintf(b, sizeof(b),
	         "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"iat\":%lld,"
	         "\"exp\":%lld}",
	         (long long)t.now - 10, (long long)t.now + 600);
	return b;
}

/* A token of alg signed by key with the header's kid (NULL: none). */
static char *
tok(const char *alg, EVP_PKEY *key, const char *kid)
{
	char hdr[128];
	char *s;

	snprintf(hdr, sizeof(hdr), "{\"kid\":\"%s\"}", kid != NULL ? kid : "");
	s = keytool_sign(alg, key, kid != NULL ? hdr : NULL, body());
	assert_non_null(s);
	return s;
}

/*
 * A token whose header says alg but whose signature is RSA with the padding
 * given (RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING, salt salt bytes) and
 * SHA-256: for signatures of the other RSA scheme than the header's.
 */
static char *
tok_rsa(const char *alg, EVP_PKEY *key, int padding, int salt)
{
	char hdr[64], *input, *out;
	unsigned char sig[1024];
	size_t sl = sizeof(sig), il;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"k1\"}", alg);
	input = test_craft(hdr, body(), "");
	il = strlen(input) - 1;
	assert_true(EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) == 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, padding) == 1);
	if (padding == RSA_PKCS1_PSS_PADDING)
		assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) == 1);
	assert_true(EVP_DigestSign(md, sig, &sl, (unsigned char *)input, il) == 1);
	EVP_MD_CTX_free(md);
	out = malloc(il + 1 + B64URL_ENCODED_LEN(sl) + 1);
	memcpy(out, input, il + 1);
	b64url_encode(out + il + 1, sig, sl);
	free(input);
	return out;
}

/* Verifies tok (freed) with w; returns the result. */
static enum token_err
check(struct ver *w, char *token)
{
	struct subject *s = NULL;
	char why[256];
	enum token_err e = token_verify(w->v, 0, token, strlen(token), t.now, &s, why, sizeof(why));

	free(s);
	free(token);
	return e;
}

static void
expect_load_error(const char *path, const char *algs, const char *want)
{
	struct ver w;

	if (ver_open(&w, path, algs) || strstr(w.err, want) == NULL)
		fail_msg("got \"%s\", wanted \"%s\"", w.v ? "(loaded)" : w.err, want);
	ver_close(&w);
}

/* Entra: no "alg", n/e and x5c of one key, x5t and a per-key "issuer"; also x5c alone. */
static void
entra_shaped_keys_verify(void **state)
{
	json_t *a = jwk(t.rsa, "k1", NULL, t.cert_rsa, true);
	json_t *b = jwk(t.rsa2, "k2", NULL, t.cert_rsa2, false);
	struct ver w;

	(void)state;
	json_object_set_new(a, "x5t", json_string("aGVsbG8"));
	json_object_set_new(a, "issuer", json_string(ISS));
	json_object_set_new(b, "x5t", json_string("d29ybGQ"));
	json_object_set_new(b, "issuer", json_string(ISS));
	json_object_del(a, "use");
	assert_true(ver_open(&w, jwks_file(a, b, NULL), "RS256"));
	assert_int_equal(check(&w, tok("RS256", t.rsa, "k1")), TOKEN_OK);
	assert_int_equal(check(&w, tok("RS256", t.rsa2, "k2")), TOKEN_OK);
	assert_int_equal(check(&w, tok("RS256", t.rsa, "k2")), TOKEN_BAD_SIGNATURE);
	assert_int_equal(check(&w, tok("PS256", t.rsa, "k1")), TOKEN_BAD_ALG);
	ver_close(&w);
}

/* Keycloak: an RSA-OAEP encryption key first, then the signing key with x5c and x5t#S256. */
static void
keycloak_shaped_keys_verify(void **state)
{
	json_t *enc = jwk(t.rsa2, "enc1", "RSA-OAEP", t.cert_rsa2, true);
	json_t *sig = jwk(t.rsa, "sig1", "RS256", t.cert_rsa, true);
	struct ver w;

	(void)state;
	json_object_set_new(enc, "use", json_string("enc"));
	json_object_set_new(sig, "x5t", json_string("aGVsbG8"));
	json_object_set_new(sig, "x5t#S256", json_string("d29ybGQ"));
	assert_true(ver_open(&w, jwks_file(enc, sig, NULL), "RS256"));
	assert_int_equal(check(&w, tok("RS256", t.rsa, "sig1")), TOKEN_OK);
	assert_int_equal(check(&w, tok("RS256", t.rsa2, "enc1")), TOKEN_UNKNOWN_KEY);
	ver_close(&w);
}

/* Auth0: alg, n/e and x5c; Okta: alg and n/e, no x5c, plus key_ops. */
static void
auth0_and_okta_shaped_keys_verify(void **state)
{
	json_t *auth0 = jwk(t.rsa, "a0", "RS256", t.cert_rsa, true);
	json_t *okta = jwk(t.rsa2, "ok", "RS256", NULL, true);
	struct ver w;

	(void)state;
	json_object_set_new(auth0, "x5t", json_string("aGVsbG8"));
	json_object_set_new(okta, "key_ops", json_pack("[s]", "verify"));
	assert_true(ver_open(&w, jwks_file(auth0, okta, NULL), "RS256"));
	assert_int_equal(check(&w, tok("RS256", t.rsa, "a0")), TOKEN_OK);
	assert_int_equal(check(&w, tok("RS256", t.rsa2, "ok")), TOKEN_OK);
	ver_close(&w);
}

/* x5c-only keys of every type, and x5c that disagrees with the JWK or is not a certificate. */
static void
x5c_keys_and_bad_x5c(void **state)
{
	struct ver w;
	json_t *bad;

	(void)state;
	assert_true(ver_open(&w,
	                     jwks_file(jwk(t.rsa, "k1", NULL, t.cert_rsa, false),
	                               jwk(t.p256, "e1", NULL, t.cert_p256, false),
	                               jwk(t.ed, "d1", NULL, t.cert_ed, false), NULL),
	                     "RS256, ES256, EdDSA"));
	assert_int_equal(check(&w, tok("RS256", t.rsa, "k1")), TOKEN_OK);
	assert_int_equal(check(&w, tok("ES256", t.p256, "e1")), TOKEN_OK);
	assert_int_equal(check(&w, tok("EdDSA", t.ed, "d1")), TOKEN_OK);
	ver_close(&w);
	/* n/e of one key, x5c of another: neither is trusted. */
	expect_load_error(jwks_file(jwk(t.rsa, "k1", NULL, t.cert_rsa2, true), NULL), "RS256",
	                  "holds another key than the JWK's members");
	expect_load_error(jwks_file(jwk(t.ed, "d1", NULL, t.cert_p256, true), NULL), "EdDSA",
	                  "holds another key");
	expect_load_error(jwks_file(jwk(t.p256, "e1", NULL, t.cert_rsa, false), NULL), "ES256",
	                  "\"x5c\" certificate 1 holds no P-256 key");
	expect_load_error(jwks_file(jwk(t.rsa, "k1", NULL, t.cert_ed, false), NULL), "RS256",
	                  "holds no RSA key");
	/* base64url where base64 belongs is not base64; base64 of no certificate is no cert. */
	bad = jwk(t.rsa, "k1", NULL, NULL, false);
	json_object_set_new(bad, "x5c", json_pack("[s]", "MII_-A"));
	expect_load_error(jwks_file(bad, NULL), "RS256", "certificate 1 is not base64");
	bad = jwk(t.rsa, "k1", NULL, NULL, false);
	json_object_set_new(bad, "x5c", json_pack("[s]", "AAAAAAAA"));
	expect_load_error(jwks_file(bad, NULL), "RS256", "not a DER X.509 certificate");
	bad = jwk(t.rsa, "k1", NULL, NULL, false);
	json_object_set_new(bad, "x5c", json_string("MIIB"));
	expect_load_error(jwks_file(bad, NULL), "RS256", "must be an array");
}

/* RSA-PSS: the padding follows the key's pinned algorithms, never the token's signature. */
static void
pss_is_pinned_by_the_key(void **state)
{
	struct ver w;

	(void)state;
	/* No "alg": the key serves the configured RS256 and PS256 (and no PS384). */
	assert_true(ver_open(&w, jwks_file(jwk(t.rsa, "k1", NULL, NULL, true), NULL),
	                     "RS256, PS256, PS512"));
	assert_int_equal(check(&w, tok("PS256", t.rsa, "k1")), TOKEN_OK);
	assert_int_equal(check(&w, tok("PS512", t.rsa, "k1")), TOKEN_OK);
	assert_int_equal(check(&w, tok("RS256", t.rsa, "k1")), TOKEN_OK);
	assert_int_equal(check(&w, tok("PS384", t.rsa, "k1")), TOKEN_BAD_ALG);
	/* A header's scheme with the other scheme's signature. */
	assert_int_equal(check(&w, tok_rsa("PS256", t.rsa, RSA_PKCS1_PADDING, 0)),
	                 TOKEN_BAD_SIGNATURE);
	assert_int_equal(check(&w, tok_rsa("RS256", t.rsa, RSA_PKCS1_PSS_PADDING, 32)),
	                 TOKEN_BAD_SIGNATURE);
	/* RFC 7518 §3.5: the salt is as long as the hash. */
	assert_int_equal(check(&w, tok_rsa("PS256", t.rsa, RSA_PKCS1_PSS_PADDING, 32)), TOKEN_OK);
	assert_int_equal(check(&w, tok_rsa("PS256", t.rsa, RSA_PKCS1_PSS_PADDING, 0)),
	                 TOKEN_BAD_SIGNATURE);
	assert_int_equal(check(&w, tok("EdDSA", t.ed, "k1")), TOKEN_BAD_ALG);
	ver_close(&w);
	/* "alg" pins one algorithm: a PSS token for an RS256 key and the reverse are refused. */
	assert_true(ver_open(&w,
	                     jwks_file(jwk(t.rsa, "k1", "RS256", NULL, true),
	                               jwk(t.rsa2, "k2", "PS256", NULL, true), NULL),
	                     "RS256, PS256"));
	assert_int_equal(check(&w, tok("RS256", t.rsa, "k1")), TOKEN_OK);
	assert_int_equal(check(&w, tok("PS256", t.rsa2, "k2")), TOKEN_OK);
	assert_int_equal(check(&w, tok("PS256", t.rsa, "k1")), TOKEN_UNKNOWN_KEY);
	assert_int_equal(check(&w, tok("RS256", t.rsa2, "k2")), TOKEN_UNKNOWN_KEY);
	ver_close(&w);
}

/* EdDSA: only an Ed25519 key verifies it, and an Ed25519 key verifies nothing else. */
static void
eddsa_is_pinned_by_the_key(void **state)
{
	struct ver w;
	char *bad;

	(void)state;
	assert_true(ver_open(
	    &w,
	    jwks_file(jwk(t.ed, "d1", NULL, NULL, true), jwk(t.rsa, "k1", NULL, NULL, true), NULL),
	    "RS256, EdDSA"));
	assert_int_equal(check(&w, tok("EdDSA", t.ed, "d1")), TOKEN_OK);
	assert_int_equal(check(&w, tok("EdDSA", t.ed, "k1")), TOKEN_UNKNOWN_KEY);
	assert_int_equal(check(&w, tok("RS256", t.rsa, "d1")), TOKEN_UNKNOWN_KEY);
	assert_int_equal(check(&w, tok("EdDSA", t.ed, NULL)), TOKEN_OK);
	bad = tok("EdDSA", t.ed, "d1");
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(check(&w, bad), TOKEN_BAD_SIGNATURE);
	bad = tok("EdDSA", t.ed, "d1");
	bad[strlen(bad) - 10] = '\0'; /* a short signature */
	assert_int_equal(check(&w, bad), TOKEN_BAD_SIGNATURE);
	ver_close(&w);
	/* Not configured: the key is skipped, and so the file has no usable key. */
	expect_load_error(
	    jwks_file(jwk(t.ed, "d1", NULL, NULL, true), NULL), "RS256",
	    "a key of type OKP verifies EdDSA, none of them in the issuer's algorithms");
}

/* Skipped keys, each with its reason; a file of only such keys says why for each. */
static void
unusable_keys_are_skipped_with_reasons(void **state)
{
	json_t *enc = jwk(t.rsa2, "enc1", "RSA-OAEP", NULL, true);
	json_t *oaep = jwk(t.rsa2, "oaep", "RSA-OAEP-256", NULL, true);
	json_t *ps = jwk(t.rsa2, "ps", "PS256", NULL, true);
	json_t *x25519 =
	    json_pack("{s:s,s:s,s:s,s:s}", "kty", "OKP", "crv", "X25519", "kid", "x1", "x", "AAAA");
	json_t *k1 = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "secp256k1", "kid",
	                       "s1", "x", "AAAA", "y", "AAAA");
	json_t *oct = json_pack("{s:s,s:s}", "kty", "oct", "k", "AAAA");
	struct ver w;

	(void)state;
	json_object_set_new(enc, "use", json_string("enc"));
	json_object_del(oaep, "use");
	assert_false(ver_open(&w, jwks_file(enc, oaep, ps, x25519, k1, oct, NULL), "RS256"));
	if (strstr(w.err, "no usable signing key") == NULL ||
	    strstr(w.err, "key 1 (kid \"enc1\"): \"use\" is \"enc\", not \"sig\"") == NULL ||
	    strstr(w.err, "key 2 (kid \"oaep\"): \"alg\" RSA-OAEP-256 is not a JWS algorithm") ==
	        NULL ||
	    strstr(w.err, "key 3 (kid \"ps\"): \"alg\" PS256 is not in the issuer's algorithms") ==
	        NULL ||
	    strstr(w.err, "key 4 (kid \"x1\"): OKP curve \"X25519\" is not supported") == NULL ||
	    strstr(w.err, "key 5 (kid \"s1\"): EC curve \"secp256k1\" is not supported") == NULL ||
	    strstr(w.err, "key 6: key type \"oct\" is not supported") == NULL)
		fail_msg("%s", w.err);
	ver_close(&w);
	/* An "alg" of the wrong family for the key is an error, not a skip. */
	expect_load_error(jwks_file(jwk(t.rsa, "k1", "EdDSA", NULL, true), NULL), "EdDSA",
	                  "\"alg\" EdDSA does not fit a key of type RSA");
	expect_load_error(jwks_file(jwk(t.ed, "d1", "PS256", NULL, true), NULL), "PS256",
	                  "\"alg\" PS256 does not fit a key of type OKP");
	expect_load_error(
	    jwks_file(json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x", "AAAA"),
	              NULL),
	    "EdDSA", "Ed25519 key needs base64url \"x\" of 32 bytes");
}

/* The algorithms a config may list, and an accurate message for others. */
static void
config_lists_the_new_algorithms(void **state)
{
	struct config *c;
	char err[512];

	(void)state;
	c = config_load(test_write_file("a.yaml", "issuers:\n  - issuer: i\n    audiences: [a]\n"
	                                          "    jwks_file: k.json\n"
	                                          "    algorithms: [PS256, PS384, PS512, EdDSA]\n"),
	                err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->issuers[0].algorithms, JWA_PS_MASK | JWA_BIT(JWA_EDDSA));
	config_free(c);
	c = config_load(test_write_file("a.yaml", "issuers:\n  - issuer: i\n    audiences: [a]\n"
	                                          "    jwks_file: k.json\n"
	                                          "    algorithms: [Ed25519]\n"),
	                err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "unsupported algorithm \"Ed25519\""));
	assert_non_null(strstr(err, "PS256, PS384, PS512"));
	assert_non_null(strstr(err, "or EdDSA)"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(entra_shaped_keys_verify),
	    cmocka_unit_test(keycloak_shaped_keys_verify),
	    cmocka_unit_test(auth0_and_okta_shaped_keys_verify),
	    cmocka_unit_test(x5c_keys_and_bad_x5c),
	    cmocka_unit_test(pss_is_pinned_by_the_key),
	    cmocka_unit_test(eddsa_is_pinned_by_the_key),
	    cmocka_unit_test(unusable_keys_are_skipped_with_reasons),
	    cmocka_unit_test(config_lists_the_new_algorithms),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
