/* fuzz_jwks.c - libFuzzer target: any bytes as a JWKS file */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"
#include "identity/jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct keyset *ks = NULL;
	char err[512];
	FILE *f;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/pdp-fuzz-jwks-%d.json", (int)getpid());
		log_set_level(LOG_LVL_ERROR);
	}
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (keyset_load_jwks(path, JWA_ALL_MASK & ~JWA_HS_MASK, &ks, err, sizeof(err)) == 0) {
		/* Whatever loaded must be usable for lookups. */
		for (int a = JWA_RS256; a < JWA_COUNT; a++)
			(void)keyset_find(ks, "k", 1, (enum jwa)a);
		/* And every RSA and EC key's verify contexts set up, PSS ones included. */
		for (size_t i = 0; i < ks->n; i++) {
			for (int a = JWA_RS256; a < JWA_COUNT; a++) {
				const char *md =
				    a == JWA_RS384 || a == JWA_PS384 || a == JWA_ES384   ? "SHA384"
				    : a == JWA_RS512 || a == JWA_PS512 || a == JWA_ES512 ? "SHA512"
				                                                         : "SHA256";
				EVP_PKEY_CTX *ctx;

				if (ks->keys[i].type == JWK_OKP ||
				    !(ks->keys[i].algorithms & JWA_BIT(a)))
					continue;
				ctx = jwk_ctx_get(&ks->keys[i], (enum jwa)a,
				                  EVP_get_digestbyname(md));
				if (ctx == NULL)
					abort();
				jwk_ctx_put(&ks->keys[i], (enum jwa)a, ctx, true);
			}
		}
		keyset_free(ks);
	}
	return 0;
}
