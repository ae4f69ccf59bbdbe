/* fuzz_token.c - libFuzzer target: any bytes as a token, through verification and the answer */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keytool.h"
#include "service/decide.h"

/* Fixed so seed tokens minted with it (tests/fuzz/run.sh) verify and reach the claim checks. */
#define FUZZ_SECRET "fuzz-secret-fuzz-secret-fuzz-secret-fuzz-secret"

static struct pdp *pdp;
static struct config *cfg;

static void
write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(data, f) < 0)
		abort();
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/pdp-fuzz-XXXXXX";
	char path[256], jwks[8192], text[1024], err[512];
	EVP_PKEY *rsa = keytool_generate("rsa"), *ec = keytool_generate("p256");
	char *a = keytool_public_jwk(rsa, "rsa-1", NULL), *b = keytool_public_jwk(ec, "ec-1", NULL);

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL || a == NULL || b == NULL)
		abort();
	snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s]}", a, b);
	snprintf(path, sizeof(path), "%s/jwks.json", dir);
	write_file(path, jwks);
	snprintf(path, sizeof(path), "%s/secret", dir);
	write_file(path, FUZZ_SECRET);
	snprintf(text, sizeof(text),
	         "log_level: error\n"
	         "policies: %s\n"
	         "issuers:\n"
	         "  - issuer: https://idp.example.com/\n"
	         "    audiences: [https://apps.example.com]\n"
	         "    jwks_file: %s/jwks.json\n"
	         "    algorithms: [RS256, ES256]\n"
	         "  - issuer: https://hmac.example.com/\n"
	         "    audiences: [https://apps.example.com]\n"
	         "    hmac_secret_file: %s/secret\n",
	         dir, dir, dir);
	cfg = config_load_buffer("fuzz.yaml", text, strlen(text), err, sizeof(err));
	if (cfg == NULL || (pdp = pdp_new(cfg, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz init: %s\n", err);
		abort();
	}
	free(a);
	free(b);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request r = {.method = "GET", .host = "h", .uri = "/", .request_id = "f"};
	struct response rs;
	/* A fixed "now" inside the seeds' validity keeps runs reproducible. */
	time_t now = 1800000000;

	r.token_source = TOKEN_SOURCE_BEARER;
	r.token = (const char *)data;
	r.token_len = size;
	pdp_decide(pdp, 0, &r, now, &rs);
	if (rs.status != 200 && rs.status != 401 && rs.status != 500)
		abort();
	/* Every answer is one well-formed header block. */
	if (rs.len < 4 || memcmp(rs.buf + rs.len - 4, "\r\n\r\n", 4) != 0)
		abort();
	return 0;
}
