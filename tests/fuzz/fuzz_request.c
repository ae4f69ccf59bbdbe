/* fuzz_request.c - libFuzzer target: Authorization and Cookie headers from any bytes */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

struct params {
	char *auth;
	char *cookie;
};

static const char *
param(void *ctx, const char *name)
{
	struct params *p = ctx;

	if (strcmp(name, "HTTP_AUTHORIZATION") == 0)
		return p->auth;
	if (strcmp(name, "HTTP_COOKIE") == 0)
		return p->cookie;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first NUL splits the input into the two headers, as params carry no NULs. */
	const uint8_t *nul = memchr(data, 0, size);
	size_t al = nul ? (size_t)(nul - data) : size;
	struct params p;
	struct request r;

	p.auth = strndup((const char *)data, al);
	p.cookie = nul ? strndup((const char *)nul + 1, size - al - 1) : NULL;
	request_parse(&r, param, &p, "pdp_token");
	if (r.token_source != TOKEN_SOURCE_NONE) {
		const char *base = r.token_source == TOKEN_SOURCE_BEARER ? p.auth : p.cookie;

		/* The token always lies inside the header it came from. */
		if (r.token < base || r.token + r.token_len > base + strlen(base))
			abort();
	}
	free(p.auth);
	free(p.cookie);
	return 0;
}
