/* mint.c - pdp-mint: keys, JWKS files and signed tokens for demos, tests and load runs */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "core/b64.h"
#include "core/file.h"
#include "keytool.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: pdp-mint keygen KIND --key OUT.pem [--kid KID] [--jwks JWKS.json]\n"
	           "       pdp-mint secret --out FILE\n"
	           "       pdp-mint token --alg ALG --key FILE [--kid KID] [--ttl SECONDS]\n"
	           "                      [--header JSON] --claims JSON\n"
	           "\n"
	           "KIND is rsa, rsa3072, rsa4096, p256, p384, p521 or ed25519. keygen writes\n"
	           "the private key and adds the public key to the JWKS file (created when\n"
	           "missing). token signs CLAIMS with libjwt (PS256/384/512 and EdDSA with\n"
	           "OpenSSL); iat and exp default to now and now+TTL (3600); in iat, exp, nbf\n"
	           "and auth_time a value below 1000000000 is taken\n"
	           "as seconds from now (negative: in the past).\n");
}

/* Key, secret and JWKS files are small; anything larger is not one. */
#define MINT_FILE_MAX (1 << 20)

static int
write_file(const char *path, const char *data, size_t len, int private)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len) {
		fprintf(stderr, "pdp-mint: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	(void)private;
	return 0;
}

static int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"kid", required_argument, NULL, 'i'},
	    {"jwks", required_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *key_path = NULL, *kid = NULL, *jwks_path = NULL, *kind;
	EVP_PKEY *key = NULL;
	char *pem = NULL, *jwk = NULL, *text = NULL;
	json_t *jwks = NULL, *keys;
	size_t len = 0;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'k')
			key_path = optarg;
		else if (c == 'i')
			kid = optarg;
		else if (c == 'j')
			jwks_path = optarg;
		else
			return 2;
	}
	if (optind != argc - 1 || key_path == NULL) {
		usage(stderr);
		return 2;
	}
	kind = argv[optind];
	key = keytool_generate(kind);
	if (key == NULL) {
		fprintf(stderr, "pdp-mint: cannot generate a \"%s\" key\n", kind);
		return 1;
	}
	pem = keytool_private_pem(key, &len);
	if (pem == NULL || write_file(key_path, pem, len, 1) != 0)
		goto out;
	if (jwks_path != NULL) {
		char *old = NULL, why[256];

		/* A JWKS file that cannot be read is started afresh. */
		if (file_read(jwks_path, MINT_FILE_MAX, &old, &len, why, sizeof(why)) != 0)
			old = NULL;

		jwks = old != NULL ? json_loads(old, 0, NULL) : json_pack("{s:[]}", "keys");
		free(old);
		keys = json_object_get(jwks, "keys");
		jwk = keytool_public_jwk(key, kid, NULL);
		if (!json_is_array(keys) || jwk == NULL ||
		    json_array_append_new(keys, json_loads(jwk, 0, NULL)) != 0) {
			fprintf(stderr, "pdp-mint: %s: not a JWKS file\n", jwks_path);
			goto out;
		}
		text = json_dumps(jwks, JSON_INDENT(2));
		if (text == NULL || write_file(jwks_path, text, strlen(text), 0) != 0)
			goto out;
	}
	rc = 0;
out:
	free(text);
	free(jwk);
	json_decref(jwks);
	free(pem);
	EVP_PKEY_free(key);
	return rc;
}

static int
cmd_secret(int argc, char **argv)
{
	unsigned char raw[48];
	char text[B64URL_ENCODED_LEN(sizeof(raw)) + 2];
	size_t n;

	if (argc != 3 || strcmp(argv[1], "--out") != 0) {
		usage(stderr);
		return 2;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return 1;
	n = b64url_encode(text, raw, sizeof(raw));
	text[n++] = '\n';
	return write_file(argv[2], text, n, 1) == 0 ? 0 : 1;
}

/* A small time value is an offset from now, so tests can say "expired a minute ago". */
static void
relative_times(json_t *claims, time_t now)
{
	static const char *const names[] = {"iat", "exp", "nbf", "auth_time"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *v = json_object_get(claims, names[i]);

		if (json_is_integer(v) && json_integer_value(v) < 1000000000)
			json_object_set_new(claims, names[i],
			                    json_integer((json_int_t)now + json_integer_value(v)));
	}
}

static int
cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"alg", required_argument, NULL, 'a'},
	    {"key", required_argument, NULL, 'k'},
	    {"kid", required_argument, NULL, 'i'},
	    {"ttl", required_argument, NULL, 't'},
	    {"header", required_argument, NULL, 'h'},
	    {"claims", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	const char *alg = NULL, *key_path = NULL, *kid = NULL, *header = NULL, *claims = NULL;
	long ttl = 3600;
	char *key = NULL, *body = NULL, *hdr = NULL, *tok = NULL, why[256];
	json_t *cj = NULL, *hj = NULL;
	size_t key_len = 0;
	time_t now = time(NULL);
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			alg = optarg;
			break;
		case 'k':
			key_path = optarg;
			break;
		case 'i':
			kid = optarg;
			break;
		case 't':
			ttl = strtol(optarg, NULL, 10);
			break;
		case 'h':
			header = optarg;
			break;
		case 'c':
			claims = optarg;
			break;
		default:
			return 2;
		}
	}
	if (alg == NULL || key_path == NULL || claims == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	/* HMAC secret files end with a newline that is not part of the secret, as the PDP
	 * reads them. */
	if ((alg[0] == 'H' ? file_read_secret : file_read)(key_path, MINT_FILE_MAX, &key, &key_len,
	                                                   why, sizeof(why)) != 0) {
		fprintf(stderr, "pdp-mint: %s\n", why);
		return 1;
	}
	cj = json_loads(claims, 0, NULL);
	hj = header != NULL ? json_loads(header, 0, NULL) : json_object();
	if (!json_is_object(cj) || !json_is_object(hj)) {
		fprintf(stderr, "pdp-mint: --claims and --header must be JSON objects\n");
		goto out;
	}
	if (json_object_get(cj, "iat") == NULL)
		json_object_set_new(cj, "iat", json_integer(0));
	if (json_object_get(cj, "exp") == NULL)
		json_object_set_new(cj, "exp", json_integer(ttl));
	relative_times(cj, now);
	if (kid != NULL)
		json_object_set_new(hj, "kid", json_string(kid));
	body = json_dumps(cj, JSON_COMPACT);
	hdr = json_dumps(hj, JSON_COMPACT);
	tok = body && hdr ? keytool_mint(alg, (unsigned char *)key, key_len, hdr, body) : NULL;
	if (tok == NULL) {
		fprintf(stderr, "pdp-mint: cannot sign with %s and %s\n", alg, key_path);
		goto out;
	}
	printf("%s\n", tok);
	rc = 0;
out:
	free(tok);
	free(hdr);
	free(body);
	json_decref(cj);
	json_decref(hj);
	free(key);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "secret") == 0)
		return cmd_secret(argc - 1, argv + 1);
	if (strcmp(argv[1], "token") == 0)
		return cmd_token(argc - 1, argv + 1);
	usage(strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	return strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
