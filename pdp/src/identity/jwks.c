/* jwks.c - verification keys: JWKS files and HMAC secrets, parsed once at load */
#include "identity/jwks.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/b64.h"
#include "core/file.h"
#include "core/log.h"

#define JWKS_MAX_FILE_BYTES (1u << 20)
/* Contexts kept per key and algorithm: enough for every worker thread at once. */
#define JWK_POOL_MAX 64

struct jwk_pool {
	pthread_mutex_t lock;
	EVP_MAC *mac; /* HMAC, fetched once for oct keys */
	size_t n[JWA_COUNT];
	void *free[JWA_COUNT][JWK_POOL_MAX]; /* EVP_PKEY_CTX (RSA, EC) or EVP_MAC_CTX (oct) */
};

static int __attribute__((format(printf, 3, 4))) errf(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/* Decodes a base64url member of a JWK into a new buffer. */
static unsigned char *
jwk_member(json_t *key, const char *name, size_t *len)
{
	json_t *v = json_object_get(key, name);
	const char *s;
	size_t n;
	unsigned char *out;
	long dl;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0)
		return NULL;
	out = malloc(B64URL_DECODED_MAX(n));
	if (out == NULL)
		return NULL;
	dl = b64url_decode(out, s, n);
	if (dl <= 0) {
		free(out);
		return NULL;
	}
	*len = (size_t)dl;
	return out;
}

static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (params == NULL)
		return NULL;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/*
 * The public key of the first certificate of the JWK's "x5c" (base64, not
 * base64url, DER X.509; RFC 7517 §4.7) into *cert, or NULL when the JWK has
 * no "x5c". Only the key is used: the certificate's chain, dates and names
 * mean nothing to a JWS verifier that trusts the JWKS file itself.
 */
static int
jwk_x5c(json_t *key, EVP_PKEY **cert, char *why, size_t whysz)
{
	json_t *x5c = json_object_get(key, "x5c");
	json_t *first = json_array_get(x5c, 0);
	const char *s = json_string_value(first);
	size_t n = json_string_length(first);
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_ENCODE_CTX *dec = NULL;
	int l1 = 0, l2 = 0;
	X509 *x = NULL;

	*cert = NULL;
	if (x5c == NULL)
		return 0;
	if (s == NULL || n == 0 || n > INT_MAX) {
		snprintf(why, whysz, "\"x5c\" must be an array of base64 certificates");
		return -1;
	}
	der = malloc(n);
	dec = EVP_ENCODE_CTX_new();
	if (der == NULL || dec == NULL) {
		snprintf(why, whysz, "out of memory");
		goto done;
	}
	EVP_DecodeInit(dec);
	if (EVP_DecodeUpdate(dec, der, &l1, (const unsigned char *)s, (int)n) < 0 ||
	    EVP_DecodeFinal(dec, der + l1, &l2) != 1) {
		snprintf(why, whysz, "\"x5c\" certificate 1 is not base64");
		goto done;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)(l1 + l2));
	if (x == NULL || p != der + l1 + l2 || (*cert = X509_get_pubkey(x)) == NULL)
		snprintf(why, whysz, "\"x5c\" certificate 1 is not a DER X.509 certificate");
done:
	X509_free(x);
	EVP_ENCODE_CTX_free(dec);
	free(der);
	return *cert != NULL ? 0 : -1;
}

/* True when the JWK has none of the members named: its key then comes from "x5c". */
static bool
jwk_lacks(json_t *key, const char *a, const char *b)
{
	return json_object_get(key, a) == NULL && (b == NULL || json_object_get(key, b) == NULL);
}

static int
jwk_rsa(json_t *key, EVP_PKEY *cert, struct jwk *k, char *why, size_t whysz)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nl = 0, el = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = -1;

	if (cert != NULL && jwk_lacks(key, "n", "e")) {
		if (!EVP_PKEY_is_a(cert, "RSA") ||
		    EVP_PKEY_get_bn_param(cert, OSSL_PKEY_PARAM_RSA_N, &bn) != 1 ||
		    EVP_PKEY_get_bn_param(cert, OSSL_PKEY_PARAM_RSA_E, &be) != 1) {
			snprintf(why, whysz, "\"x5c\" certificate 1 holds no RSA key");
			goto fail;
		}
	} else {
		n = jwk_member(key, "n", &nl);
		e = jwk_member(key, "e", &el);
		if (n == NULL || e == NULL) {
			snprintf(why, whysz, "RSA key needs base64url \"n\" and \"e\"");
			goto fail;
		}
		bn = BN_bin2bn(n, (int)nl, NULL);
		be = BN_bin2bn(e, (int)el, NULL);
	}
	bld = OSSL_PARAM_BLD_new();
	if (bn == NULL || be == NULL || bld == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
		snprintf(why, whysz, "out of memory");
		goto fail;
	}
	if (BN_num_bits(bn) < 2048) {
		snprintf(why, whysz, "RSA key of %d bits is too weak (2048 at least)",
		         BN_num_bits(bn));
		goto fail;
	}
	if (BN_num_bits(bn) > 16384 || !BN_is_odd(be) || BN_is_one(be)) {
		snprintf(why, whysz, "not a valid RSA public key");
		goto fail;
	}
	k->pkey = pkey_from_params("RSA", bld);
	if (k->pkey == NULL) {
		snprintf(why, whysz, "not a valid RSA public key");
		goto fail;
	}
	k->type = JWK_RSA;
	k->algorithms = JWA_RS_MASK | JWA_PS_MASK;
	rc = 0;
fail:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return rc;
}

/* The EC point of cert into new x and y buffers of size bytes, if cert is on group. */
static bool
ec_from_cert(EVP_PKEY *cert, const char *group, size_t size, unsigned char **x, unsigned char **y)
{
	char name[64];
	BIGNUM *bx = NULL, *by = NULL;
	bool ok = false;

	if (EVP_PKEY_is_a(cert, "EC") &&
	    EVP_PKEY_get_utf8_string_param(cert, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
	                                   NULL) == 1 &&
	    strcmp(name, group) == 0 &&
	    EVP_PKEY_get_bn_param(cert, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
	    EVP_PKEY_get_bn_param(cert, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
	    (*x = malloc(size)) != NULL && (*y = malloc(size)) != NULL)
		ok = BN_bn2binpad(bx, *x, (int)size) == (int)size &&
		     BN_bn2binpad(by, *y, (int)size) == (int)size;
	BN_free(bx);
	BN_free(by);
	return ok;
}

static int
jwk_ec(json_t *key, EVP_PKEY *cert, struct jwk *k, char *why, size_t whysz)
{
	static const struct {
		const char *crv, *group;
		size_t size;
		enum jwa alg;
	} curves[] = {
	    {"P-256", "prime256v1", 32, JWA_ES256},
	    {"P-384", "secp384r1", 48, JWA_ES384},
	    {"P-521", "secp521r1", 66, JWA_ES512},
	};
	const char *crv = json_string_value(json_object_get(key, "crv"));
	unsigned char *x = NULL, *y = NULL, point[1 + 2 * 66];
	size_t xl = 0, yl = 0, ci;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY_CTX *check = NULL;
	int rc = -1;

	for (ci = 0; crv != NULL && ci < sizeof(curves) / sizeof(curves[0]); ci++) {
		if (strcmp(crv, curves[ci].crv) == 0)
			break;
	}
	if (crv == NULL) {
		snprintf(why, whysz, "EC key needs \"crv\" P-256, P-384 or P-521");
		goto fail;
	}
	if (ci == sizeof(curves) / sizeof(curves[0])) {
		snprintf(why, whysz, "EC curve \"%s\" is not supported (P-256, P-384 or P-521)",
		         crv);
		return 1;
	}
	if (cert != NULL && jwk_lacks(key, "x", "y")) {
		if (!ec_from_cert(cert, curves[ci].group, curves[ci].size, &x, &y)) {
			snprintf(why, whysz, "\"x5c\" certificate 1 holds no %s key", crv);
			goto fail;
		}
		xl = yl = curves[ci].size;
	} else {
		x = jwk_member(key, "x", &xl);
		y = jwk_member(key, "y", &yl);
	}
	if (x == NULL || y == NULL || xl != curves[ci].size || yl != curves[ci].size) {
		snprintf(why, whysz, "EC key needs base64url \"x\" and \"y\" of %zu bytes",
		         curves[ci].size);
		goto fail;
	}
	point[0] = 0x04;
	memcpy(point + 1, x, xl);
	memcpy(point + 1 + xl, y, yl);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[ci].group,
	                                     0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + xl + yl)) {
		snprintf(why, whysz, "out of memory");
		goto fail;
	}
	k->pkey = pkey_from_params("EC", bld);
	/* A point off the curve enables invalid-curve attacks: check it once here. */
	if (k->pkey != NULL)
		check = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	if (k->pkey == NULL || check == NULL || EVP_PKEY_public_check(check) != 1) {
		snprintf(why, whysz, "not a valid %s public key", crv);
		goto fail;
	}
	k->type = JWK_EC;
	k->algorithms = JWA_BIT(curves[ci].alg);
	rc = 0;
fail:
	EVP_PKEY_CTX_free(check);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return rc;
}

static int
jwk_okp(json_t *key, EVP_PKEY *cert, struct jwk *k, char *why, size_t whysz)
{
	const char *crv = json_string_value(json_object_get(key, "crv"));
	unsigned char *x = NULL, raw[32];
	size_t xl = sizeof(raw);

	if (crv == NULL) {
		snprintf(why, whysz, "OKP key needs \"crv\" Ed25519");
		return -1;
	}
	if (strcmp(crv, "Ed25519") != 0) {
		snprintf(why, whysz, "OKP curve \"%s\" is not supported (Ed25519 only)", crv);
		return 1;
	}
	if (cert != NULL && jwk_lacks(key, "x", NULL)) {
		if (!EVP_PKEY_is_a(cert, "ED25519") ||
		    EVP_PKEY_get_raw_public_key(cert, raw, &xl) != 1 || xl != sizeof(raw)) {
			snprintf(why, whysz, "\"x5c\" certificate 1 holds no Ed25519 key");
			return -1;
		}
	} else {
		x = jwk_member(key, "x", &xl);
		if (x == NULL || xl != sizeof(raw)) {
			free(x);
			snprintf(why, whysz, "Ed25519 key needs base64url \"x\" of 32 bytes");
			return -1;
		}
		memcpy(raw, x, sizeof(raw));
		free(x);
	}
	k->pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, raw, sizeof(raw));
	if (k->pkey == NULL) {
		snprintf(why, whysz, "not a valid Ed25519 public key");
		return -1;
	}
	k->type = JWK_OKP;
	k->algorithms = JWA_BIT(JWA_EDDSA);
	return 0;
}

/* Writes the names of the algorithms in mask, comma-separated, into buf. */
static void
jwa_list(unsigned mask, char *buf, size_t bufsz)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int a = 0; a < JWA_COUNT && n < bufsz; a++) {
		if (mask & JWA_BIT(a))
			n += (size_t)snprintf(buf + n, bufsz - n, "%s%s", n ? ", " : "",
			                      jwa_name((enum jwa)a));
	}
}

/* The key by its kty: 0, 1 to skip it, or -1; "x5c" is read only for a known kty. */
static int
jwk_key(json_t *key, const char *kty, struct jwk *k, char *why, size_t whysz)
{
	EVP_PKEY *cert = NULL;
	int rc;

	if (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0 && strcmp(kty, "OKP") != 0) {
		snprintf(why, whysz, "key type \"%s\" is not supported (RSA, EC or OKP)", kty);
		return 1;
	}
	if (jwk_x5c(key, &cert, why, whysz) != 0)
		return -1;
	if (strcmp(kty, "RSA") == 0)
		rc = jwk_rsa(key, cert, k, why, whysz);
	else if (strcmp(kty, "EC") == 0)
		rc = jwk_ec(key, cert, k, why, whysz);
	else
		rc = jwk_okp(key, cert, k, why, whysz);
	/* Both the members and "x5c": they must be one key, else neither is trusted. */
	if (rc == 0 && cert != NULL && EVP_PKEY_eq(k->pkey, cert) != 1) {
		snprintf(why, whysz,
		         "\"x5c\" certificate 1 holds another key than the JWK's members");
		rc = -1;
	}
	EVP_PKEY_free(cert);
	return rc;
}

/* Fills k from one JWK. Returns 0, 1 to skip the key (why says so), or -1 on error. */
static int
jwk_parse(json_t *key, unsigned allowed, struct jwk *k, char *why, size_t whysz)
{
	const char *kty, *use, *alg;
	json_t *kid;
	int r;

	if (!json_is_object(key)) {
		snprintf(why, whysz, "not a JSON object");
		return -1;
	}
	kid = json_object_get(key, "kid");
	if (kid != NULL && !json_is_string(kid)) {
		snprintf(why, whysz, "\"kid\" must be a string");
		return -1;
	}
	if (kid != NULL && (k->kid = strdup(json_string_value(kid))) == NULL) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	use = json_string_value(json_object_get(key, "use"));
	if (use != NULL && strcmp(use, "sig") != 0) {
		snprintf(why, whysz, "\"use\" is \"%s\", not \"sig\"", use);
		return 1;
	}
	kty = json_string_value(json_object_get(key, "kty"));
	if (kty == NULL) {
		snprintf(why, whysz, "missing \"kty\"");
		return -1;
	}
	alg = json_string_value(json_object_get(key, "alg"));
	if (alg != NULL && jwa_from_name(alg, strlen(alg)) < 0) {
		snprintf(why, whysz, "\"alg\" %s is not a JWS algorithm the verifier knows", alg);
		return 1;
	}
	r = jwk_key(key, kty, k, why, whysz);
	if (r != 0)
		return r;
	if (alg != NULL) {
		int a = jwa_from_name(alg, strlen(alg));

		if (!(k->algorithms & JWA_BIT(a))) {
			snprintf(why, whysz, "\"alg\" %s does not fit a key of type %s", alg, kty);
			return -1;
		}
		k->algorithms = JWA_BIT(a);
		if (!(allowed & JWA_BIT(a))) {
			snprintf(why, whysz, "\"alg\" %s is not in the issuer's algorithms", alg);
			return 1;
		}
	}
	if ((k->algorithms & allowed) == 0) {
		char fits[128];

		jwa_list(k->algorithms, fits, sizeof(fits));
		snprintf(why, whysz,
		         "a key of type %s verifies %s, none of them in the issuer's algorithms",
		         kty, fits);
		return 1;
	}
	k->algorithms &= allowed;
	return 0;
}

static struct jwk_pool *
jwk_pool_new(enum jwk_type type)
{
	struct jwk_pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return NULL;
	if (type == JWK_OCT && (pool->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL) {
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	return pool;
}

static void
jwk_pool_free(struct jwk_pool *pool, enum jwk_type type)
{
	if (pool == NULL)
		return;
	for (int a = 0; a < JWA_COUNT; a++) {
		for (size_t i = 0; i < pool->n[a]; i++) {
			if (type == JWK_OCT)
				EVP_MAC_CTX_free(pool->free[a][i]);
			else
				EVP_PKEY_CTX_free(pool->free[a][i]);
		}
	}
	EVP_MAC_free(pool->mac);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

/* Takes a kept context for alg, or NULL when none is left. */
static void *
pool_take(struct jwk_pool *pool, enum jwa alg)
{
	void *ctx = NULL;

	pthread_mutex_lock(&pool->lock);
	if (pool->n[alg] > 0)
		ctx = pool->free[alg][--pool->n[alg]];
	pthread_mutex_unlock(&pool->lock);
	return ctx;
}

/* Keeps ctx for reuse; returns false when the pool is full and the caller must free it. */
static bool
pool_keep(struct jwk_pool *pool, enum jwa alg, void *ctx)
{
	bool kept = false;

	pthread_mutex_lock(&pool->lock);
	if (pool->n[alg] < JWK_POOL_MAX) {
		pool->free[alg][pool->n[alg]++] = ctx;
		kept = true;
	}
	pthread_mutex_unlock(&pool->lock);
	return kept;
}

EVP_PKEY_CTX *
jwk_ctx_get(const struct jwk *k, enum jwa alg, const EVP_MD *md)
{
	EVP_PKEY_CTX *ctx = pool_take(k->pool, alg);

	if (ctx != NULL)
		return ctx;
	ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	/* The padding follows alg, never the signature: RS* PKCS#1 v1.5; PS* PSS (RFC 7518 §3.5).
	 */
	if (k->type == JWK_RSA && !(JWA_BIT(alg) & JWA_PS_MASK) &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	if (k->type == JWK_RSA && (JWA_BIT(alg) & JWA_PS_MASK) &&
	    (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void
jwk_ctx_put(const struct jwk *k, enum jwa alg, EVP_PKEY_CTX *ctx, bool reusable)
{
	if (!reusable || !pool_keep(k->pool, alg, ctx))
		EVP_PKEY_CTX_free(ctx);
}

EVP_MAC_CTX *
jwk_mac_get(const struct jwk *k, enum jwa alg, const EVP_MD *md)
{
	EVP_MAC_CTX *ctx = pool_take(k->pool, alg);
	OSSL_PARAM params[2];

	/* A kept context restarts with the key it already holds. */
	if (ctx != NULL) {
		if (EVP_MAC_init(ctx, NULL, 0, NULL) == 1)
			return ctx;
		EVP_MAC_CTX_free(ctx);
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                             (char *)EVP_MD_get0_name(md), 0);
	params[1] = OSSL_PARAM_construct_end();
	ctx = EVP_MAC_CTX_new(k->pool->mac);
	if (ctx == NULL || EVP_MAC_init(ctx, k->secret, k->secret_len, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void
jwk_mac_put(const struct jwk *k, enum jwa alg, EVP_MAC_CTX *ctx, bool reusable)
{
	if (!reusable || !pool_keep(k->pool, alg, ctx))
		EVP_MAC_CTX_free(ctx);
}

static void
jwk_clear(struct jwk *k)
{
	jwk_pool_free(k->pool, k->type);
	free(k->kid);
	EVP_PKEY_free(k->pkey);
	if (k->secret != NULL)
		OPENSSL_clear_free(k->secret, k->secret_len);
	memset(k, 0, sizeof(*k));
}

int
keyset_load_jwks(const char *path, unsigned allowed, struct keyset **out, char *err, size_t errsz)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (file_read(path, JWKS_MAX_FILE_BYTES, &buf, &len, err, errsz) != 0)
		return -1;
	rc = keyset_parse_jwks(buf, len, path, allowed, out, err, errsz);
	free(buf);
	return rc;
}

int
keyset_parse_jwks(const char *text, size_t len, const char *path, unsigned allowed,
                  struct keyset **out, char *err, size_t errsz)
{
	size_t count;
	json_t *root = NULL, *keys;
	json_error_t jerr;
	struct keyset *ks = NULL;
	char skipped[512] = "";
	size_t sl = 0;
	int rc = -1;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		errf(err, errsz, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		goto fail;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys)) {
		errf(err, errsz, "%s: not a JWKS: expected an object with a \"keys\" array", path);
		goto fail;
	}
	count = json_array_size(keys);
	ks = calloc(1, sizeof(*ks));
	if (ks == NULL || (count > 0 && (ks->keys = calloc(count, sizeof(struct jwk))) == NULL)) {
		errf(err, errsz, "%s: out of memory", path);
		goto fail;
	}
	for (size_t i = 0; i < count; i++) {
		struct jwk *k = &ks->keys[ks->n];
		char why[256];
		int r = jwk_parse(json_array_get(keys, i), allowed, k, why, sizeof(why));

		if (r < 0) {
			errf(err, errsz, "%s: key %zu%s%s%s: %s", path, i + 1,
			     k->kid ? " (kid \"" : "", k->kid ? k->kid : "", k->kid ? "\")" : "",
			     why);
			jwk_clear(k);
			goto fail;
		}
		if (r > 0) {
			log_warn("%s: key %zu%s%s%s skipped: %s", path, i + 1,
			         k->kid ? " (kid \"" : "", k->kid ? k->kid : "",
			         k->kid ? "\")" : "", why);
			if (sl < sizeof(skipped))
				sl += (size_t)snprintf(
				    skipped + sl, sizeof(skipped) - sl, "%skey %zu%s%s%s: %s",
				    sl ? "; " : "", i + 1, k->kid ? " (kid \"" : "",
				    k->kid ? k->kid : "", k->kid ? "\")" : "", why);
			jwk_clear(k);
			continue;
		}
		k->pool = jwk_pool_new(k->type);
		if (k->pool == NULL) {
			errf(err, errsz, "%s: out of memory", path);
			jwk_clear(k);
			goto fail;
		}
		for (size_t j = 0; j < ks->n; j++) {
			if (k->kid != NULL && ks->keys[j].kid != NULL &&
			    strcmp(k->kid, ks->keys[j].kid) == 0) {
				errf(err, errsz, "%s: key %zu: kid \"%s\" appears twice", path,
				     i + 1, k->kid);
				jwk_clear(k);
				goto fail;
			}
		}
		ks->n++;
	}
	if (ks->n == 0) {
		errf(err, errsz, "%s: no usable signing key for the issuer's algorithms%s%s%s",
		     path, sl ? " (" : "", skipped, sl ? ")" : "");
		goto fail;
	}
	*out = ks;
	ks = NULL;
	rc = 0;
fail:
	keyset_free(ks);
	json_decref(root);
	return rc;
}

static bool
kid_equal(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

bool
jwk_same(const struct jwk *a, const struct jwk *b)
{
	if (a->type != b->type || a->algorithms != b->algorithms || !kid_equal(a->kid, b->kid))
		return false;
	if (a->type == JWK_OCT)
		return a->secret_len == b->secret_len &&
		       CRYPTO_memcmp(a->secret, b->secret, a->secret_len) == 0;
	return a->pkey != NULL && b->pkey != NULL && EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

int
keyset_load_hmac(const char *path, unsigned allowed, struct keyset **out, char *err, size_t errsz)
{
	static const struct {
		enum jwa alg;
		size_t min;
	} need[] = {{JWA_HS256, 32}, {JWA_HS384, 48}, {JWA_HS512, 64}};
	char *buf = NULL;
	size_t len = 0;
	struct keyset *ks = NULL;

	if (file_read_secret(path, 4096, &buf, &len, err, errsz) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if ((allowed & JWA_BIT(need[i].alg)) && len < need[i].min) {
			OPENSSL_clear_free(buf, len + 1);
			return errf(err, errsz,
			            "%s: secret of %zu bytes is too short for %s (%zu at least)",
			            path, len, jwa_name(need[i].alg), need[i].min);
		}
	}
	ks = calloc(1, sizeof(*ks));
	if (ks == NULL || (ks->keys = calloc(1, sizeof(struct jwk))) == NULL) {
		free(ks);
		OPENSSL_clear_free(buf, len + 1);
		return errf(err, errsz, "%s: out of memory", path);
	}
	ks->n = 1;
	ks->keys[0].pool = jwk_pool_new(JWK_OCT);
	if (ks->keys[0].pool == NULL) {
		keyset_free(ks);
		OPENSSL_clear_free(buf, len + 1);
		return errf(err, errsz, "%s: out of memory", path);
	}
	ks->keys[0].type = JWK_OCT;
	ks->keys[0].algorithms = allowed & JWA_HS_MASK;
	ks->keys[0].secret = (unsigned char *)buf;
	ks->keys[0].secret_len = len;
	*out = ks;
	return 0;
}

const struct jwk *
keyset_find(const struct keyset *ks, const char *kid, size_t kid_len, enum jwa alg)
{
	const struct jwk *found = NULL;

	for (size_t i = 0; i < ks->n; i++) {
		const struct jwk *k = &ks->keys[i];

		if (!(k->algorithms & JWA_BIT(alg)))
			continue;
		if (kid != NULL && k->type != JWK_OCT) {
			if (k->kid != NULL && strlen(k->kid) == kid_len &&
			    memcmp(k->kid, kid, kid_len) == 0)
				return k;
			continue;
		}
		/* Without a kid only an unambiguous key will do. */
		if (found != NULL)
			return NULL;
		found = k;
	}
	return found;
}

void
keyset_free(struct keyset *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->n; i++)
		jwk_clear(&ks->keys[i]);
	free(ks->keys);
	free(ks);
}
