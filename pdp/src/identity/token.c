/* token.c - JWT verification against configured issuers and their live key sets */
#include "identity/token.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "core/b64.h"
#include "core/clock.h"
#include "core/json_doc.h"
#include "identity/claims.h"
#include "identity/jwks.h"
#include "identity/keyring.h"
#include "identity/subject.h"

/* Upper bounds that no legitimate token comes near; they bound work on hostile input. */
#define TOKEN_MAX_SIG_BYTES 1024

/*
 * Per-thread scratch for verification: the segments' decoded text, the
 * JSON parser's tables and a digest context, made on a thread's first
 * token and reused for every one after.
 */
struct scratch {
	char *text; /* the decoded header, then the decoded payload */
	size_t text_size;
	struct jdoc *doc;
	EVP_MD_CTX *md; /* reused for the signing input's digest */
};

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local struct scratch *scratch_tls;

static void
scratch_destroy(void *arg)
{
	struct scratch *sc = arg;

	EVP_MD_CTX_free(sc->md);
	jdoc_free(sc->doc);
	free(sc->text);
	free(sc);
}

static void
scratch_init_once(void)
{
	pthread_key_create(&scratch_key, scratch_destroy);
}

/* This thread's scratch, with room for n bytes of text; NULL when out of memory. */
static struct scratch *
scratch_get(size_t n)
{
	struct scratch *sc = scratch_tls;

	if (sc == NULL) {
		sc = calloc(1, sizeof(*sc));
		if (sc == NULL)
			return NULL;
		sc->doc = jdoc_new();
		sc->md = EVP_MD_CTX_new();
		if (sc->doc == NULL || sc->md == NULL) {
			scratch_destroy(sc);
			return NULL;
		}
		pthread_setspecific(scratch_key, sc);
		scratch_tls = sc;
	}
	if (n > sc->text_size) {
		char *text = realloc(sc->text, n);

		if (text == NULL)
			return NULL;
		sc->text = text;
		sc->text_size = n;
	}
	return sc;
}

struct issuer {
	char *name;
	size_t name_len;
	char **audiences;
	size_t n_audiences;
	unsigned algorithms;
	int64_t leeway;
	struct claim_map claims;
	size_t index; /* in the keyring */
};

/*
 * A header segment seen on a token that verified, with what it says: the
 * few distinct headers an issuer sends need not be decoded and parsed again
 * for every first-seen token. Only a verified token adds one, so a caller
 * without a key cannot fill the table; it is never emptied while the
 * verifier lives (a header names a kid, not a key: rotation leaves it
 * true), and a full table just stops
 * adding.
 */
struct known_header {
	int alg;
	const char *kid; /* NULL: the header has none; else it follows seg */
	size_t kid_len;
	size_t len;
	char seg[]; /* the base64url segment, as the token carries it */
};

/* Public-key signature checks (RSA, ECDSA, EdDSA) of one algorithm: how many, and their time. */
struct token_sig_stats {
	_Atomic uint64_t count;
	_Atomic uint64_t ns;
};

struct token_verifier {
	struct keyring *ring;
	struct issuer *issuers;
	size_t n_issuers;
	size_t max_bytes;
	struct claim_paths paths; /* the issuers' dotted claim names, looked for in every payload */
	EVP_MD *md[3]; /* SHA-256/384/512 fetched once: implicit fetches cost on every call */
	_Atomic(struct known_header *) *headers; /* TOKEN_KNOWN_HEADERS slots, filled in order */
	struct token_sig_stats *sig;             /* per algorithm; first-seen tokens only */
};

static const char *const token_errors[TOKEN_ERRORS] = {
    [TOKEN_OK] = "ok",
    [TOKEN_TOO_LARGE] = "token too large",
    [TOKEN_MALFORMED] = "malformed token",
    [TOKEN_BAD_ALG] = "algorithm not allowed",
    [TOKEN_UNKNOWN_ISSUER] = "unknown issuer",
    [TOKEN_UNKNOWN_KEY] = "no key for this token",
    [TOKEN_BAD_SIGNATURE] = "invalid signature",
    [TOKEN_EXPIRED] = "token expired",
    [TOKEN_NOT_YET_VALID] = "token not yet valid",
    [TOKEN_BAD_AUDIENCE] = "audience not accepted",
    [TOKEN_BAD_CLAIM] = "invalid claims",
    [TOKEN_NO_MEMORY] = "out of memory",
    [TOKEN_KEYS_UNAVAILABLE] = "keys unavailable",
};

const char *
token_strerror(enum token_err err)
{
	if ((unsigned)err >= sizeof(token_errors) / sizeof(token_errors[0]))
		return "unknown error";
	return token_errors[err];
}

static enum token_err fail(enum token_err e, char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum token_err
fail(enum token_err e, char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whysz > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return e;
}

static char *
xstrdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

struct token_verifier *
token_verifier_new(const struct config_issuer *issuers, size_t n_issuers, size_t max_token_bytes,
                   unsigned n_readers, char *err, size_t errsz)
{
	static const char *const md_names[3] = {"SHA256", "SHA384", "SHA512"};
	struct token_verifier *v = calloc(1, sizeof(*v));

	pthread_once(&scratch_once, scratch_init_once);
	if (v == NULL || (v->issuers = calloc(n_issuers, sizeof(struct issuer))) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	v->max_bytes = max_token_bytes;
	claim_paths_init(&v->paths);
	if ((v->headers = calloc(TOKEN_KNOWN_HEADERS, sizeof(*v->headers))) == NULL ||
	    (v->sig = calloc(JWA_COUNT, sizeof(*v->sig))) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	for (int i = 0; i < 3; i++) {
		if ((v->md[i] = EVP_MD_fetch(NULL, md_names[i], NULL)) == NULL) {
			snprintf(err, errsz, "OpenSSL has no %s", md_names[i]);
			goto fail;
		}
	}
	for (size_t i = 0; i < n_issuers; i++) {
		const struct config_issuer *ci = &issuers[i];
		struct issuer *is = &v->issuers[v->n_issuers++];

		is->name = xstrdup(ci->issuer);
		is->name_len = strlen(ci->issuer);
		is->algorithms = ci->algorithms;
		is->leeway = (int64_t)ci->leeway_s;
		is->audiences = calloc(ci->n_audiences, sizeof(char *));
		if (is->name == NULL || is->audiences == NULL) {
			snprintf(err, errsz, "out of memory");
			goto fail;
		}
		if (claim_map_compile(&is->claims, &ci->claims, ci->on_groups_overage, &v->paths,
		                      err, errsz) != 0)
			goto fail;
		for (size_t j = 0; j < ci->n_audiences; j++) {
			if ((is->audiences[j] = strdup(ci->audiences[j])) == NULL) {
				snprintf(err, errsz, "out of memory");
				goto fail;
			}
			is->n_audiences++;
		}
		is->index = i;
	}
	if ((v->ring = keyring_new(issuers, n_issuers, n_readers, err, errsz)) == NULL)
		goto fail;
	return v;
fail:
	token_verifier_free(v);
	return NULL;
}

void
token_verifier_free(struct token_verifier *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n_issuers; i++) {
		struct issuer *is = &v->issuers[i];

		free(is->name);
		for (size_t j = 0; j < is->n_audiences; j++)
			free(is->audiences[j]);
		free(is->audiences);
		claim_map_free(&is->claims);
	}
	keyring_free(v->ring);
	free(v->issuers);
	for (int i = 0; i < 3; i++)
		EVP_MD_free(v->md[i]);
	for (size_t i = 0; v->headers != NULL && i < TOKEN_KNOWN_HEADERS; i++)
		free(atomic_load(&v->headers[i]));
	free(v->headers);
	free(v->sig);
	free(v);
}

/*
 * Decodes one base64url segment into text (room for B64URL_DECODED_MAX(len))
 * and parses it into doc as a JSON object; what names the segment in why.
 */
static enum token_err
segment_parse(struct jdoc *doc, const char *what, const char *seg, size_t len, char *text,
              const struct claim_paths *paths, char *why, size_t whysz)
{
	long n = b64url_decode((unsigned char *)text, seg, len);
	enum jdoc_err e;

	if (n <= 0)
		return fail(TOKEN_MALFORMED, why, whysz, "%s is not base64url", what);
	e = paths != NULL ? jdoc_parse_paths(doc, text, (size_t)n, paths->path, paths->n)
	                  : jdoc_parse(doc, text, (size_t)n);
	if (e != JDOC_OK)
		return fail(TOKEN_MALFORMED, why, whysz, "%s: %s", what, jdoc_strerror(e));
	return TOKEN_OK;
}

/* The member called name of the segment doc holds, or NULL. */
static const struct jdoc_val *
claim(const struct jdoc *doc, const char *name)
{
	return jdoc_get(doc, name, strlen(name));
}

static const struct issuer *
issuer_find(const struct token_verifier *v, const char *iss, size_t len)
{
	for (size_t i = 0; i < v->n_issuers; i++) {
		if (v->issuers[i].name_len == len && memcmp(v->issuers[i].name, iss, len) == 0)
			return &v->issuers[i];
	}
	return NULL;
}

static const EVP_MD *
alg_md(const struct token_verifier *v, enum jwa alg)
{
	switch (alg) {
	case JWA_HS256:
	case JWA_RS256:
	case JWA_PS256:
	case JWA_ES256:
		return v->md[0];
	case JWA_HS384:
	case JWA_RS384:
	case JWA_PS384:
	case JWA_ES384:
		return v->md[1];
	case JWA_EDDSA:
		return NULL; /* Ed25519 hashes the message itself */
	default:
		return v->md[2];
	}
}

/* JWS ECDSA signatures are R || S of the curve's size; OpenSSL wants DER. */
static size_t
ecdsa_to_der(const unsigned char *sig, size_t len, enum jwa alg, unsigned char *der, size_t dersz)
{
	size_t half = alg == JWA_ES256 ? 32 : alg == JWA_ES384 ? 48 : 66;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = der;
	int n;

	if (len != 2 * half)
		return 0;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return 0;
	}
	n = i2d_ECDSA_SIG(es, NULL);
	if (n <= 0 || (size_t)n > dersz) {
		ECDSA_SIG_free(es);
		return 0;
	}
	n = i2d_ECDSA_SIG(es, &p);
	ECDSA_SIG_free(es);
	return n > 0 ? (size_t)n : 0;
}

/* Ed25519 (RFC 8037) verifies the signing input itself, in one shot: no digest, no reuse. */
static int
ed25519_ok(const struct token_verifier *v, const struct jwk *key, const char *input,
           size_t input_len, const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int64_t t0 = clock_ns();
	int rc = ctx != NULL &&
	         EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, key->pkey, NULL) == 1 &&
	         EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;

	atomic_fetch_add_explicit(&v->sig[JWA_EDDSA].ns, (uint64_t)(clock_ns() - t0),
	                          memory_order_relaxed);
	atomic_fetch_add_explicit(&v->sig[JWA_EDDSA].count, 1, memory_order_relaxed);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int
signature_ok(const struct token_verifier *v, struct scratch *sc, const struct jwk *key,
             enum jwa alg, const char *input, size_t input_len, const unsigned char *sig,
             size_t sig_len)
{
	const EVP_MD *md = alg_md(v, alg);
	unsigned char digest[EVP_MAX_MD_SIZE], der[160];
	unsigned int digest_len = 0;
	EVP_PKEY_CTX *ctx;
	int64_t t0;
	int rc;

	if (key->type == JWK_OCT) {
		EVP_MAC_CTX *mac = jwk_mac_get(key, alg, md);
		size_t mac_len = 0;

		if (mac == NULL)
			return 0;
		rc = EVP_MAC_update(mac, (const unsigned char *)input, input_len) == 1 &&
		     EVP_MAC_final(mac, digest, &mac_len, sizeof(digest)) == 1;
		jwk_mac_put(key, alg, mac, rc);
		return rc && sig_len == mac_len && CRYPTO_memcmp(digest, sig, mac_len) == 0;
	}
	if (key->type == JWK_OKP)
		return ed25519_ok(v, key, input, input_len, sig, sig_len);
	if (key->type == JWK_EC) {
		sig_len = ecdsa_to_der(sig, sig_len, alg, der, sizeof(der));
		if (sig_len == 0)
			return 0;
		sig = der;
	}
	if (EVP_DigestInit_ex2(sc->md, md, NULL) != 1 ||
	    EVP_DigestUpdate(sc->md, input, input_len) != 1 ||
	    EVP_DigestFinal_ex(sc->md, digest, &digest_len) != 1)
		return 0;
	ctx = jwk_ctx_get(key, alg, md);
	if (ctx == NULL)
		return 0;
	t0 = clock_ns();
	rc = EVP_PKEY_verify(ctx, sig, sig_len, digest, digest_len);
	atomic_fetch_add_explicit(&v->sig[alg].ns, (uint64_t)(clock_ns() - t0),
	                          memory_order_relaxed);
	atomic_fetch_add_explicit(&v->sig[alg].count, 1, memory_order_relaxed);
	/* 0 is a signature that does not verify; below 0 an error that may have spoilt ctx. */
	jwk_ctx_put(key, alg, ctx, rc >= 0);
	return rc == 1;
}

static const struct known_header *
header_known(const struct token_verifier *v, const char *seg, size_t len)
{
	for (size_t i = 0; i < TOKEN_KNOWN_HEADERS; i++) {
		const struct known_header *h =
		    atomic_load_explicit(&v->headers[i], memory_order_acquire);

		if (h == NULL)
			return NULL;
		if (h->len == len && memcmp(h->seg, seg, len) == 0)
			return h;
	}
	return NULL;
}

/* Adds the header of a token that verified; another thread adding the same one is harmless. */
static void
header_remember(const struct token_verifier *v, const char *seg, size_t len, int alg,
                const char *kid, size_t kid_len)
{
	struct known_header *h;

	if (len > TOKEN_KNOWN_HEADER_BYTES || kid_len > TOKEN_KNOWN_HEADER_BYTES ||
	    header_known(v, seg, len) != NULL ||
	    (h = malloc(sizeof(*h) + len + kid_len + 1)) == NULL)
		return;
	h->alg = alg;
	h->len = len;
	memcpy(h->seg, seg, len);
	h->kid = NULL;
	h->kid_len = kid_len;
	if (kid != NULL) {
		memcpy(h->seg + len, kid, kid_len);
		h->kid = h->seg + len;
	}
	for (size_t i = 0; i < TOKEN_KNOWN_HEADERS; i++) {
		struct known_header *empty = NULL;

		if (atomic_compare_exchange_strong_explicit(
		        &v->headers[i], &empty, h, memory_order_release, memory_order_relaxed))
			return;
	}
	free(h);
}

void
token_verifier_sig_stats(const struct token_verifier *v, enum jwa alg, uint64_t *count,
                         uint64_t *ns)
{
	*count = atomic_load_explicit(&v->sig[alg].count, memory_order_relaxed);
	*ns = atomic_load_explicit(&v->sig[alg].ns, memory_order_relaxed);
}

size_t
token_verifier_known_headers(const struct token_verifier *v)
{
	size_t n = 0;

	while (n < TOKEN_KNOWN_HEADERS && atomic_load(&v->headers[n]) != NULL)
		n++;
	return n;
}

static bool
audience_named(const struct issuer *is, const struct jdoc_val *aud)
{
	for (size_t j = 0; j < is->n_audiences; j++) {
		if (strcmp(is->audiences[j], aud->str) == 0)
			return true;
	}
	return false;
}

/* "aud": one string, or an array of strings; one of them must be an accepted audience. */
static bool
audience_ok(const struct issuer *is, const struct jdoc_val *aud)
{
	bool named = false;

	if (aud != NULL && aud->kind == JDOC_STRING)
		return audience_named(is, aud);
	if (aud == NULL || aud->kind != JDOC_ARRAY || (aud->len > 0 && aud->items == NULL))
		return false;
	for (size_t i = 0; i < aud->len; i++) {
		if (aud->items[i].kind != JDOC_STRING)
			return false;
		named = named || audience_named(is, &aud->items[i]);
	}
	return named;
}

static bool
typ_ok(const struct jdoc_val *typ)
{
	const char *t;

	if (typ == NULL)
		return true;
	if (typ->kind != JDOC_STRING)
		return false;
	t = typ->str;
	if (strncasecmp(t, "application/", 12) == 0)
		t += 12;
	return strcasecmp(t, "JWT") == 0 || strcasecmp(t, "at+jwt") == 0;
}

struct keyring *
token_verifier_keyring(struct token_verifier *v)
{
	return v->ring;
}

bool
token_subject_current(const struct token_verifier *v, unsigned reader, const struct subject *s)
{
	return keyring_key_live(v->ring, reader, s->issuer_index, s->key_serial, s->key_removals);
}

/*
 * The key of is that may verify alg (by kid), read under the keyring as
 * reader: on TOKEN_OK the caller calls keyring_exit once done with *key.
 * An unknown kid asks the fetcher for the issuer's set again.
 */
static enum token_err
key_get(const struct token_verifier *v, unsigned reader, const struct issuer *is, enum jwa alg,
        const char *kid, size_t kid_len, const struct jwk **key, uint64_t *removals, char *why,
        size_t whysz)
{
	const struct keyset *ks;

	/* Read before the set: a set replaced after this read has moved the count. */
	*removals = keyring_removals(v->ring, is->index);
	keyring_enter(v->ring, reader);
	ks = keyring_keys(v->ring, is->index);
	if (ks == NULL) {
		keyring_exit(v->ring, reader);
		return fail(TOKEN_KEYS_UNAVAILABLE, why, whysz,
		            "the issuer's keys have not been loaded yet");
	}
	*key = keyset_find(ks, kid, kid_len, alg);
	if (*key == NULL) {
		keyring_exit(v->ring, reader);
		if (kid != NULL)
			keyring_want_refetch(v->ring, is->index, clock_ns());
		return fail(TOKEN_UNKNOWN_KEY, why, whysz, "no %s key matches the token's kid",
		            jwa_name(alg));
	}
	return TOKEN_OK;
}

enum token_err
token_verify(const struct token_verifier *v, unsigned reader, const char *token, size_t len,
             time_t now, struct subject **out, char *why, size_t whysz)
{
	const char *dot1, *dot2, *sig_b64;
	size_t head_len, body_len, sig_b64_len;
	struct scratch *sc;
	char *payload_text;
	unsigned char sig[TOKEN_MAX_SIG_BYTES];
	const struct jdoc_val *jv, *kid;
	const struct known_header *known = NULL;
	const char *kid_name = NULL;
	size_t kid_len = 0;
	const struct issuer *is;
	const struct jwk *key;
	int alg;
	long sig_len;
	int64_t exp, nbf = 0, iat = 0;
	uint64_t removals, serial;
	bool signed_ok;
	enum token_err e;

	*out = NULL;
	if (len > v->max_bytes)
		return fail(TOKEN_TOO_LARGE, why, whysz, "token of %zu bytes exceeds %zu", len,
		            v->max_bytes);
	dot1 = memchr(token, '.', len);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		return fail(TOKEN_MALFORMED, why, whysz, "a JWS has exactly three segments");
	head_len = (size_t)(dot1 - token);
	body_len = (size_t)(dot2 - dot1 - 1);
	sig_b64 = dot2 + 1;
	sig_b64_len = len - (size_t)(sig_b64 - token);
	if (head_len == 0 || body_len == 0)
		return fail(TOKEN_MALFORMED, why, whysz, "empty header or payload");
	if (sig_b64_len == 0)
		return fail(TOKEN_BAD_ALG, why, whysz, "unsigned token");
	if (sig_b64_len > B64URL_ENCODED_LEN(sizeof(sig)))
		return fail(TOKEN_MALFORMED, why, whysz, "signature too long");
	sig_len = b64url_decode(sig, sig_b64, sig_b64_len);
	if (sig_len <= 0)
		return fail(TOKEN_MALFORMED, why, whysz, "signature is not base64url");

	/* Room for the decoded header, then the payload: kid points into the first. */
	sc = scratch_get(B64URL_DECODED_MAX(head_len) + B64URL_DECODED_MAX(body_len));
	if (sc == NULL)
		return fail(TOKEN_NO_MEMORY, why, whysz, "out of memory");
	payload_text = sc->text + B64URL_DECODED_MAX(head_len);
	known = header_known(v, token, head_len);
	if (known != NULL) {
		alg = known->alg;
		kid_name = known->kid;
		kid_len = known->kid_len;
		goto payload;
	}
	if ((e = segment_parse(sc->doc, "header", token, head_len, sc->text, NULL, why, whysz)) !=
	    TOKEN_OK)
		return e;
	jv = claim(sc->doc, "alg");
	if (jv == NULL || jv->kind != JDOC_STRING)
		return fail(TOKEN_MALFORMED, why, whysz, "header has no \"alg\"");
	alg = jwa_from_name(jv->str, jv->len);
	if (alg < 0)
		return fail(TOKEN_BAD_ALG, why, whysz, "algorithm is not supported");
	/* We implement no JWS extensions, so any "crit" must be refused (RFC 7515 §4.1.11). */
	if (claim(sc->doc, "crit") != NULL || !typ_ok(claim(sc->doc, "typ")))
		return fail(TOKEN_MALFORMED, why, whysz, "unsupported \"crit\" or \"typ\" header");
	kid = claim(sc->doc, "kid");
	if (kid != NULL && kid->kind != JDOC_STRING)
		return fail(TOKEN_MALFORMED, why, whysz, "\"kid\" is not a string");
	if (kid != NULL) {
		kid_name = kid->str;
		kid_len = kid->len;
	}
payload:
	if ((e = segment_parse(sc->doc, "payload", dot1 + 1, body_len, payload_text, &v->paths, why,
	                       whysz)) != TOKEN_OK)
		return e;
	/* The issuer picks the keys; the token's claims are trusted only after the signature. */
	jv = claim(sc->doc, "iss");
	if (jv == NULL || jv->kind != JDOC_STRING)
		return fail(TOKEN_UNKNOWN_ISSUER, why, whysz, "no \"iss\" claim");
	is = issuer_find(v, jv->str, jv->len);
	if (is == NULL)
		return fail(TOKEN_UNKNOWN_ISSUER, why, whysz, "issuer is not configured");
	if (!(is->algorithms & JWA_BIT(alg)))
		return fail(TOKEN_BAD_ALG, why, whysz, "%s is not allowed for this issuer",
		            jwa_name((enum jwa)alg));
	if ((e = key_get(v, reader, is, (enum jwa)alg, kid_name, kid_len, &key, &removals, why,
	                 whysz)) != TOKEN_OK)
		return e;
	signed_ok = signature_ok(v, sc, key, (enum jwa)alg, token, (size_t)(dot2 - token), sig,
	                         (size_t)sig_len);
	serial = key->serial;
	keyring_exit(v->ring, reader);
	if (!signed_ok)
		return fail(TOKEN_BAD_SIGNATURE, why, whysz, "%s signature does not verify",
		            jwa_name((enum jwa)alg));

	jv = claim(sc->doc, "exp");
	if (jv == NULL || numeric_date_read(jv, &exp) != 0)
		return fail(TOKEN_BAD_CLAIM, why, whysz, "\"exp\" missing or not a NumericDate");
	if ((jv = claim(sc->doc, "nbf")) != NULL && numeric_date_read(jv, &nbf) != 0)
		return fail(TOKEN_BAD_CLAIM, why, whysz, "\"nbf\" is not a NumericDate");
	if ((jv = claim(sc->doc, "iat")) != NULL && numeric_date_read(jv, &iat) != 0)
		return fail(TOKEN_BAD_CLAIM, why, whysz, "\"iat\" is not a NumericDate");
	if ((int64_t)now >= exp + is->leeway)
		return fail(TOKEN_EXPIRED, why, whysz, "expired %lld s ago",
		            (long long)((int64_t)now - exp));
	if (nbf > (int64_t)now + is->leeway || iat > (int64_t)now + is->leeway)
		return fail(TOKEN_NOT_YET_VALID, why, whysz, "nbf or iat is in the future");
	if (!audience_ok(is, claim(sc->doc, "aud")))
		return fail(TOKEN_BAD_AUDIENCE, why, whysz, "\"aud\" names no accepted audience");
	switch (subject_build(&is->claims, is->name, is->name_len, is->leeway, sc->doc, iat, exp,
	                      out, why, whysz)) {
	case SUBJECT_OK:
		(*out)->issuer_index = (uint32_t)is->index;
		(*out)->key_serial = serial;
		(*out)->key_removals = removals;
		e = TOKEN_OK;
		break;
	case SUBJECT_NO_MEMORY:
		return TOKEN_NO_MEMORY;
	default:
		return TOKEN_BAD_CLAIM;
	}
	if (known == NULL)
		header_remember(v, token, head_len, alg, kid_name, kid_len);
	return e;
}
