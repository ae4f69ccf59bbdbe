/* testlib.c - helpers for the unit tests: temp files, keys, hand-made tokens */
#include "testlib.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/hmac.h>

#include "core/b64.h"

static char tmpdir[256];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_tmpdir(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
test_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/pdp-unit-XXXXXX", base ? base : "/tmp");
		if (mkdtemp(tmpdir) == NULL)
			abort();
		atexit(rm_tmpdir);
	}
	return tmpdir;
}

char *
test_path(const char *name)
{
	static char paths[64][512];
	static int next;
	char *path = paths[next++ % 64];

	snprintf(path, 512, "%s/%s", test_tmpdir(), name);
	return path;
}

char *
test_write_file(const char *name, const char *data)
{
	char *path = test_path(name);
	FILE *f;

	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, strlen(data), f) != strlen(data))
		abort();
	fclose(f);
	return path;
}

char *
test_b64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(B64URL_ENCODED_LEN(n) + 1);

	b64url_encode(out, (const unsigned char *)s, n);
	return out;
}

char *
test_craft(const char *header_json, const char *payload_json, const char *sig_b64)
{
	char *h = test_b64(header_json), *p = test_b64(payload_json), *out;

	if (asprintf(&out, "%s.%s.%s", h, p, sig_b64) < 0)
		abort();
	free(h);
	free(p);
	return out;
}

static char *
append_sig(char *input, const unsigned char *sig, size_t len)
{
	size_t il = strlen(input);
	char *out = malloc(il + 1 + B64URL_ENCODED_LEN(len) + 1);

	memcpy(out, input, il);
	out[il] = '.';
	b64url_encode(out + il + 1, sig, len);
	free(input);
	return out;
}

char *
test_sign(EVP_PKEY *key, const char *md, const char *header_json, const char *payload_json)
{
	char *token = test_craft(header_json, payload_json, "");
	size_t il = strlen(token) - 1; /* without the trailing '.' */
	unsigned char sig[1024], raw[132];
	size_t sl = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	token[il] = '\0';
	if (EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(ctx, sig, &sl, (unsigned char *)token, il) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	if (EVP_PKEY_is_a(key, "EC")) {
		/* DER to the JWS form R || S. */
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
		int half = (EVP_PKEY_get_bits(key) + 7) / 8;

		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, half);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, half);
		ECDSA_SIG_free(es);
		return append_sig(token, raw, (size_t)half * 2);
	}
	return append_sig(token, sig, sl);
}

char *
test_sign_hmac(const unsigned char *secret, size_t len, const char *md, const char *header_json,
               const char *payload_json)
{
	char *token = test_craft(header_json, payload_json, "");
	size_t il = strlen(token) - 1;
	unsigned char mac[64];
	unsigned int ml = 0;

	token[il] = '\0';
	if (HMAC(EVP_get_digestbyname(md), secret, (int)len, (unsigned char *)token, il, mac,
	         &ml) == NULL)
		abort();
	return append_sig(token, mac, ml);
}
