/* response.h - the answers nginx auth_request understands, as CGI response headers */
#ifndef PDP_RESPONSE_H
#define PDP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/types.h"

/* Room for the identity headers; nginx's fastcgi_buffer_size must be at least this. */
#define RESPONSE_MAX_BYTES 8192
/* X-PDP-Groups is cut at a group boundary past this, so a huge group list cannot break nginx. */
#define RESPONSE_MAX_GROUPS_BYTES 4096

/* The longest body an admin answer carries (FastCGI sends an answer as one record). */
#define RESPONSE_MAX_BODY_BYTES 60000

/* An answer: its status line and headers in buf, then (admin answers only) body. */
struct response {
	enum decision decision;
	int status;
	size_t len;
	bool overflow;
	const char *body; /* NULL, or body_len bytes that live until the answer is sent */
	size_t body_len;
	char buf[RESPONSE_MAX_BYTES];
};

/* 200: X-PDP-Decision: allow with the subject's identity headers and the applied policies
 * (a comma list of policy ids, may be empty). */
void response_allow(struct response *rs, const struct subject *s, const char *policies);

/*
 * Where the client was going, from nginx's params: PDP_SCHEME ($scheme),
 * PDP_AUTHORITY ($http_host: host and port as the client addressed them),
 * PDP_HOST ($host) and PDP_URI ($request_uri). Any may be NULL.
 */
struct response_target {
	const char *scheme;
	const char *authority;
	const char *host;
	const char *uri;
};

/* The longest sign-in query made; a longer one is not made (no redirect). */
#define RESPONSE_MAX_SIGN_IN 6144

/*
 * The query a browser's sign-in URL gets, into buf: the step-up's
 * acr_values (NULL or "" for none) and max_age (negative for none), then
 * rd, the URL asked for (scheme://authority/uri), each value percent-encoded
 * (all but RFC 3986 unreserved bytes), so nothing a client sends can add a
 * parameter. The scheme must be http or https, the URI begin with '/', and
 * the authority be a host (name or [IPv6]) with an optional port whose host
 * is PDP_HOST (case aside; an empty authority means PDP_HOST). False, with
 * buf empty, when any of that does not hold or the query would pass size.
 */
bool response_sign_in_query(char *buf, size_t size, const struct response_target *t,
                            const char *acr_values, long long max_age);

/*
 * 401 with an RFC 6750 challenge: realm only when no token was given, plus
 * error="invalid_token" and description when one was. X-PDP-Sign-In carries
 * the sign-in query for target when one can be made (t NULL: none).
 */
void response_unauthenticated(struct response *rs, const char *realm, const char *description,
                              const struct response_target *t);

/* 403 with X-PDP-Reason: "<policy id>: <short reason>". */
void response_deny(struct response *rs, const char *policy, const char *reason);

/*
 * 401 asking for a new sign-in (RFC 9470): error="insufficient_user_authentication",
 * the description, acr_values (space-separated, NULL for none) and max_age
 * (seconds, negative for none); X-PDP-Sign-In as for response_unauthenticated,
 * with the same acr_values and max_age.
 */
void response_step_up(struct response *rs, const char *description, const char *acr_values,
                      long long max_age, const struct response_target *t);

/*
 * An admin endpoint's answer (never a decision): 200 when ok, else 503, with
 * body as content_type (health: application/json; metrics: Prometheus text).
 * The body is not copied: it must live until the answer is sent. A body
 * over RESPONSE_MAX_BODY_BYTES is a 500.
 */
void response_admin(struct response *rs, bool ok, const char *content_type, const char *body,
                    size_t len);

/* 500 with nothing that could be read as allow. */
void response_error(struct response *rs);

#endif
