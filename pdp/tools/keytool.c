/* keytool.c - test and demo keys, JWKS export and token minting (libjwt, OpenSSL) */
#include "keytool.h"

#include <jansson.h>
#include <jwt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/b64.h"

EVP_PKEY *
keytool_generate(const char *kind)
{
	if (strcmp(kind, "rsa") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (strcmp(kind, "rsa3072") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	if (strcmp(kind, "rsa4096") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	if (strcmp(kind, "p256") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (strcmp(kind, "p384") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (strcmp(kind, "p521") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	if (strcmp(kind, "ed25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return NULL;
}

char *
keytool_private_pem(EVP_PKEY *key, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1) {
		n = BIO_get_mem_data(bio, &data);
		out = malloc((size_t)n + 1);
		if (out != NULL) {
			memcpy(out, data, (size_t)n);
			out[n] = '\0';
			*len = (size_t)n;
		}
	}
	BIO_free(bio);
	return out;
}

/* Sets member name of obj to the base64url of bn, left-padded to pad bytes (0: minimal). */
static int
set_b64_bn(json_t *obj, const char *name, const BIGNUM *bn, int pad)
{
	int n = pad > 0 ? pad : BN_num_bytes(bn);
	unsigned char *bin = malloc((size_t)n);
	char *txt = malloc(B64URL_ENCODED_LEN((size_t)n) + 1);
	int rc = -1;

	if (bin != NULL && txt != NULL && BN_bn2binpad(bn, bin, n) == n) {
		b64url_encode(txt, bin, (size_t)n);
		rc = json_object_set_new(obj, name, json_string(txt));
	}
	free(bin);
	free(txt);
	return rc;
}

char *
keytool_public_jwk(EVP_PKEY *key, const char *kid, const char *alg)
{
	json_t *jwk = json_object();
	BIGNUM *a = NULL, *b = NULL;
	char *out = NULL;
	char group[32];

	if (jwk == NULL)
		return NULL;
	if (EVP_PKEY_is_a(key, "RSA")) {
		if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &a) ||
		    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &b))
			goto out;
		json_object_set_new(jwk, "kty", json_string("RSA"));
		if (set_b64_bn(jwk, "n", a, 0) != 0 || set_b64_bn(jwk, "e", b, 0) != 0)
			goto out;
	} else if (EVP_PKEY_is_a(key, "EC")) {
		const char *crv;
		int size;

		if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                    sizeof(group), NULL) ||
		    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
		    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &b))
			goto out;
		if (strcmp(group, "prime256v1") == 0) {
			crv = "P-256";
			size = 32;
		} else if (strcmp(group, "secp384r1") == 0) {
			crv = "P-384";
			size = 48;
		} else if (strcmp(group, "secp521r1") == 0) {
			crv = "P-521";
			size = 66;
		} else {
			goto out;
		}
		json_object_set_new(jwk, "kty", json_string("EC"));
		json_object_set_new(jwk, "crv", json_string(crv));
		if (set_b64_bn(jwk, "x", a, size) != 0 || set_b64_bn(jwk, "y", b, size) != 0)
			goto out;
	} else if (EVP_PKEY_is_a(key, "ED25519")) {
		unsigned char raw[32];
		char x[B64URL_ENCODED_LEN(sizeof(raw)) + 1];
		size_t rl = sizeof(raw);

		if (EVP_PKEY_get_raw_public_key(key, raw, &rl) != 1 || rl != sizeof(raw))
			goto out;
		b64url_encode(x, raw, rl);
		json_object_set_new(jwk, "kty", json_string("OKP"));
		json_object_set_new(jwk, "crv", json_string("Ed25519"));
		json_object_set_new(jwk, "x", json_string(x));
	} else {
		goto out;
	}
	json_object_set_new(jwk, "use", json_string("sig"));
	if (kid != NULL)
		json_object_set_new(jwk, "kid", json_string(kid));
	if (alg != NULL)
		json_object_set_new(jwk, "alg", json_string(alg));
	out = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
out:
	BN_free(a);
	BN_free(b);
	json_decref(jwk);
	return out;
}

/* keytool_mint for the algorithms libjwt lacks: the PEM key parsed, then keytool_sign. */
static char *
mint_openssl(const char *alg, const unsigned char *key, size_t key_len, const char *header_json,
             const char *claims_json)
{
	BIO *bio = BIO_new_mem_buf(key, (int)key_len);
	EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	char *tok = pkey != NULL ? keytool_sign(alg, pkey, header_json, claims_json) : NULL;

	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return tok;
}

char *
keytool_mint(const char *alg, const unsigned char *key, size_t key_len, const char *header_json,
             const char *claims_json)
{
	jwt_t *jwt = NULL;
	json_t *hdr = NULL;
	const char *name;
	json_t *value;
	char *tok = NULL;
	jwt_alg_t a = jwt_str_alg(alg);

	/* libjwt 1.10 (Debian 12) knows neither PSS nor EdDSA: OpenSSL signs those. */
	if (strncmp(alg, "PS", 2) == 0 || strcmp(alg, "EdDSA") == 0)
		return mint_openssl(alg, key, key_len, header_json, claims_json);
	if (a == JWT_ALG_INVAL || a == JWT_ALG_NONE || jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_grants_json(jwt, claims_json) != 0)
		goto out;
	if (header_json != NULL) {
		hdr = json_loads(header_json, 0, NULL);
		if (!json_is_object(hdr))
			goto out;
		json_object_foreach(hdr, name, value)
		{
			if (strcmp(name, "alg") == 0 || strcmp(name, "typ") == 0)
				continue;
			if (!json_is_string(value) ||
			    jwt_add_header(jwt, name, json_string_value(value)) != 0)
				goto out;
		}
	}
	if (jwt_set_alg(jwt, a, key, (int)key_len) != 0)
		goto out;
	tok = jwt_encode_str(jwt);
out:
	json_decref(hdr);
	jwt_free(jwt);
	return tok;
}

/* Appends the base64url of n bytes to out at *o (room checked by the caller). */
static void
append_b64(char *out, size_t *o, const void *p, size_t n)
{
	*o += b64url_encode(out + *o, p, n);
}

char *
keytool_sign(const char *alg, EVP_PKEY *key, const char *header_json, const char *claims_json)
{
	static const struct {
		const char *alg;
		const EVP_MD *(*md)(void); /* NULL: EdDSA signs the message itself */
		bool pss;
		size_t es; /* ECDSA: the size of r and of s */
	} algs[] = {
	    {"RS256", EVP_sha256, false, 0},  {"RS384", EVP_sha384, false, 0},
	    {"RS512", EVP_sha512, false, 0},  {"PS256", EVP_sha256, true, 0},
	    {"PS384", EVP_sha384, true, 0},   {"PS512", EVP_sha512, true, 0},
	    {"ES256", EVP_sha256, false, 32}, {"EdDSA", NULL, false, 0},
	};
	size_t hl = header_json != NULL ? strlen(header_json) : 2, cl = strlen(claims_json);
	size_t cap = B64URL_ENCODED_LEN(hl + 16) + B64URL_ENCODED_LEN(cl) + 1024, o = 0, siglen = 0;
	char *out = malloc(cap), *hdr = malloc(hl + 32);
	unsigned char sig[1024], raw[64];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t ai = 0, es;
	bool ok = false;

	while (ai < sizeof(algs) / sizeof(algs[0]) && strcmp(alg, algs[ai].alg) != 0)
		ai++;
	if (out == NULL || hdr == NULL || md == NULL || ai == sizeof(algs) / sizeof(algs[0]))
		goto done;
	es = algs[ai].es;
	/* {"alg":"RS256"} then the caller's members, which begin after its '{'. */
	snprintf(hdr, hl + 32, "{\"alg\":\"%s\"%s%s", alg,
	         header_json != NULL && strcmp(header_json, "{}") != 0 ? "," : "",
	         header_json != NULL && strcmp(header_json, "{}") != 0 ? header_json + 1 : "}");
	append_b64(out, &o, hdr, strlen(hdr));
	out[o++] = '.';
	append_b64(out, &o, claims_json, cl);
	siglen = sizeof(sig);
	if (EVP_DigestSignInit(md, &pctx, algs[ai].md ? algs[ai].md() : NULL, NULL, key) != 1 ||
	    (algs[ai].pss &&
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)out, o) != 1)
		goto done;
	out[o++] = '.';
	if (es) {
		/* JWS wants r || s, 32 bytes each, not OpenSSL's DER. */
		const unsigned char *p = sig;
		ECDSA_SIG *es_sig = d2i_ECDSA_SIG(NULL, &p, (long)siglen);

		if (es_sig == NULL)
			goto done;
		ok = BN_bn2binpad(ECDSA_SIG_get0_r(es_sig), raw, (int)es) == (int)es &&
		     BN_bn2binpad(ECDSA_SIG_get0_s(es_sig), raw + es, (int)es) == (int)es;
		ECDSA_SIG_free(es_sig);
		if (!ok)
			goto done;
		append_b64(out, &o, raw, 2 * es);
	} else {
		append_b64(out, &o, sig, siglen);
	}
	out[o] = '\0';
	ok = true;
done:
	EVP_MD_CTX_free(md);
	free(hdr);
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}
