/* issuer.c - the JWS algorithms' names */
#include "identity/issuer.h"

#include <string.h>

static const char *const jwa_names[JWA_COUNT] = {
    [JWA_HS256] = "HS256", [JWA_HS384] = "HS384", [JWA_HS512] = "HS512", [JWA_RS256] = "RS256",
    [JWA_RS384] = "RS384", [JWA_RS512] = "RS512", [JWA_ES256] = "ES256", [JWA_ES384] = "ES384",
    [JWA_ES512] = "ES512", [JWA_PS256] = "PS256", [JWA_PS384] = "PS384", [JWA_PS512] = "PS512",
    [JWA_EDDSA] = "EdDSA",
};

int
jwa_from_name(const char *name, size_t len)
{
	for (int i = 0; i < JWA_COUNT; i++) {
		if (strlen(jwa_names[i]) == len && memcmp(jwa_names[i], name, len) == 0)
			return i;
	}
	return -1;
}

const char *
jwa_name(enum jwa alg)
{
	return (unsigned)alg < JWA_COUNT ? jwa_names[alg] : "?";
}
