/* jwks.c - verification keys: JWKS files and HMAC secrets, parsed once at load */
#include "identity/jwks.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

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

static int
jwk_rsa(json_t *key, struct jwk *k, char *why, size_t whysz)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nl = 0, el = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = -1;

	n = jwk_member(key, "n", &nl);
	e = jwk_member(key, "e", &el);
	if (n == NULL || e == NULL) {
		snprintf(why, whysz, "RSA key needs base64url \"n\" and \"e\"");
		goto fail;
	}
	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
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
	k->algorithms = JWA_RS_MASK;
	rc = 0;
fail:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return rc;
}

static int
jwk_ec(json_t *key, struct jwk *k, char *why, size_t whysz)
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
	if (crv == NULL || ci == sizeof(curves) / sizeof(curves[0])) {
		snprintf(why, whysz, "EC key needs \"crv\" P-256, P-384 or P-521");
		goto fail;
	}
	x = jwk_member(key, "x", &xl);
	y = jwk_member(key, "y", &yl);
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

/* Fills k from one JWK. Returns 0, 1 to skip the key (why says so), or -1 on error. */
static int
jwk_parse(json_t *key, unsigned allowed, struct jwk *k, char *why, size_t whysz)
{
	const char *kty, *use, *alg;
	json_t *kid;

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
	if (strcmp(kty, "RSA") == 0) {
		if (jwk_rsa(key, k, why, whysz) != 0)
			return -1;
	} else if (strcmp(kty, "EC") == 0) {
		if (jwk_ec(key, k, why, whysz) != 0)
			return -1;
	} else {
		snprintf(why, whysz, "key type \"%s\" is not supported", kty);
		return 1;
	}
	alg = json_string_value(json_object_get(key, "alg"));
	if (alg != NULL) {
		int a = jwa_from_name(alg, strlen(alg));

		if (a < 0 || !(k->algorithms & JWA_BIT(a))) {
			snprintf(why, whysz, "\"alg\" %s does not fit a key of type %s", alg, kty);
			return a < 0 ? 1 : -1;
		}
		k->algorithms = JWA_BIT(a);
	}
	k->algorithms &= allowed;
	if (k->algorithms == 0) {
		snprintf(why, whysz, "verifies no algorithm the issuer allows");
		return 1;
	}
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
	    (k->type == JWK_RSA && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
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
	size_t len = 0, count;
	json_t *root = NULL, *keys;
	json_error_t jerr;
	struct keyset *ks = NULL;
	int rc = -1;

	if (file_read(path, JWKS_MAX_FILE_BYTES, &buf, &len, err, errsz) != 0)
		return -1;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
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
		errf(err, errsz, "%s: no usable signing key for the issuer's algorithms", path);
		goto fail;
	}
	*out = ks;
	ks = NULL;
	rc = 0;
fail:
	keyset_free(ks);
	json_decref(root);
	free(buf);
	return rc;
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
