/* fuzz_request.c - libFuzzer target: Authorization and Cookie headers from any bytes */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first NUL splits the input into the two headers, as params carry no NULs. */
	const uint8_t *nul = memchr(data, 0, size);
	size_t al = nul ? (size_t)(nul - data) : size;
	char *auth, *cookie;
	const char *env[3];
	struct request r;

	/* Params are NAME=value strings: the prefixes go in front of the fuzzed values. */
	if (asprintf(&auth, "HTTP_AUTHORIZATION=%.*s", (int)al, (const char *)data) < 0)
		return 0;
	cookie = NULL;
	if (nul != NULL && asprintf(&cookie, "HTTP_COOKIE=%.*s", (int)(size - al - 1),
	                            (const char *)nul + 1) < 0) {
		free(auth);
		return 0;
	}
	env[0] = auth;
	env[1] = cookie;
	env[2] = NULL;
	request_parse(&r, env, "pdp_token");
	if (r.token_source != TOKEN_SOURCE_NONE) {
		const char *base = r.token_source == TOKEN_SOURCE_BEARER ? auth : cookie;

		/* The token always lies inside the header it came from. */
		if (r.token < base || r.token + r.token_len > base + strlen(base))
			abort();
		(void)request_token_wellformed(&r);
	}
	free(auth);
	free(cookie);
	return 0;
}
