/* response.h - the answers nginx auth_request understands, as CGI response headers */
#ifndef PDP_RESPONSE_H
#define PDP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "token.h"

enum decision {
	DECISION_ALLOW,
	DECISION_DENY,
	DECISION_STEP_UP,
	DECISION_UNAUTHENTICATED,
	DECISION_ERROR,
};

const char *decision_name(enum decision d);

/* Room for the identity headers; nginx's fastcgi_buffer_size must be at least this. */
#define RESPONSE_MAX_BYTES 8192
/* X-PDP-Groups is cut at a group boundary past this, so a huge group list cannot break nginx. */
#define RESPONSE_MAX_GROUPS_BYTES 4096

struct response {
	enum decision decision;
	int status;
	size_t len;
	bool overflow;
	char buf[RESPONSE_MAX_BYTES];
};

/* 200: X-PDP-Decision: allow with the subject's identity headers. */
void response_allow(struct response *rs, const struct subject *s);

/*
 * 401 with an RFC 6750 challenge: realm only when no token was given, plus
 * error="invalid_token" and description when one was.
 */
void response_unauthenticated(struct response *rs, const char *realm, const char *description);

/* 403 with X-PDP-Reason. */
void response_deny(struct response *rs, const char *reason);

/* 500 with nothing that could be read as allow. */
void response_error(struct response *rs);

#endif
