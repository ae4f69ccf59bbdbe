/* request.h - the request context, from the FastCGI params nginx sends */
#ifndef PDP_REQUEST_H
#define PDP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

enum token_source { TOKEN_SOURCE_NONE, TOKEN_SOURCE_BEARER, TOKEN_SOURCE_COOKIE };

/* Pointers into the params; valid as long as the transport keeps them. */
struct request {
	const char *method;
	const char *host;
	const char *uri;
	const char *scheme;    /* PDP_SCHEME: http or https, for the sign-in URL */
	const char *authority; /* PDP_AUTHORITY: host and port as the client addressed them */
	const char *remote_addr;
	const char *country; /* NULL: unknown */
	const char *request_id;
	const char *user_agent;
	const char *client_cert;
	const char *admin; /* PDP_ADMIN: an admin endpoint ("health"), set only by nginx */
	const char *token; /* not NUL-terminated at token_len */
	size_t token_len;
	enum token_source token_source;
};

/*
 * Fills r from the params, a NULL-terminated list of "NAME=value" strings
 * (FastCGI's envp): the token from "Authorization: Bearer" or, failing that,
 * from the cookie named cookie_name (NULL: cookies are not read).
 */
void request_parse(struct request *r, const char *const *envp, const char *cookie_name);

/*
 * Whether the token is RFC 6750 b64token syntax. Not part of request_parse:
 * a token that verifies is b64token already (strict base64url segments), so
 * only a refused one needs the check, to say why.
 */
bool request_token_wellformed(const struct request *r);

#endif
