/* fuzz_request.c - libFuzzer target: request params from any bytes, and what is made of them */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/decision_log.h"
#include "transport/request.h"
#include "transport/response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The two values as a client's Host header and URI: a sign-in query is made
 * only of unreserved bytes, %XX, '=' and '&', with one rd, last; and as free
 * text in a decision line, each is cut within its bound.
 */
static void
check_made_of(const char *a, const char *b)
{
	static const char ok[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%=&";
	struct response_target t = {"https", a, "a.example", b};
	char q[RESPONSE_MAX_SIGN_IN], *rd;
	static const char prefix[] = "acr_values=urn%3Ax%20y&max_age=5&rd=";
	struct jline j;

	if (response_sign_in_query(q, sizeof(q), &t, "urn:x y", 5)) {
		if (strspn(q, ok) != strlen(q) || strncmp(q, prefix, sizeof(prefix) - 1) != 0)
			abort();
		rd = strstr(q, "rd=");
		if (strchr(rd, '&') != NULL || strstr(rd + 3, "rd=") != NULL)
			abort();
	} else if (q[0] != '\0') {
		abort();
	}
	jline_begin(&j);
	jline_text(&j, "uri", b, 64);
	jline_text(&j, "host", a, 16);
	jline_str(&j, "decision", "allow");
	/* {"uri":"…","host":"…","decision":"allow","truncated":["uri","host"]} at most */
	if (jline_end(&j) > 1 + 8 + 64 + 2 + 9 + 16 + 2 + 19 + 26 || j.buf[j.len - 1] != '}')
		abort();
}

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
	check_made_of(auth + 19, cookie != NULL ? cookie + 12 : "");
	free(auth);
	free(cookie);
	return 0;
}
