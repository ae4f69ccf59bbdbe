/* response.c - the answers nginx auth_request understands, as CGI response headers */
#include "response.h"

#include <stdio.h>
#include <string.h>

static const char *const decision_names[] = {
    [DECISION_ALLOW] = "allow",     [DECISION_DENY] = "deny",
    [DECISION_STEP_UP] = "step-up", [DECISION_UNAUTHENTICATED] = "unauthenticated",
    [DECISION_ERROR] = "error",
};

const char *
decision_name(enum decision d)
{
	return (unsigned)d < sizeof(decision_names) / sizeof(decision_names[0]) ? decision_names[d]
	                                                                        : "error";
}

static void
put(struct response *rs, const char *s, size_t n)
{
	if (rs->overflow || rs->len + n > sizeof(rs->buf)) {
		rs->overflow = true;
		return;
	}
	memcpy(rs->buf + rs->len, s, n);
	rs->len += n;
}

static void
puts_(struct response *rs, const char *s)
{
	put(rs, s, strlen(s));
}

/*
 * Appends a header value from claims: in list items ',' and '%' are
 * percent-encoded so the comma list stays unambiguous. A control character
 * (token_identity_ok refuses them in claims) makes the answer a 500: a value
 * is never rewritten into another identity, nor a header injected.
 */
static bool
value_special(unsigned char c, bool list_item)
{
	return c < 0x20 || c == 0x7f || (list_item && (c == ',' || c == '%'));
}

static void
put_value(struct response *rs, const char *s, bool list_item)
{
	while (*s != '\0') {
		size_t n = 0;

		/* Plain runs are copied whole; each special byte is dropped or encoded. */
		while (s[n] != '\0' && !value_special((unsigned char)s[n], list_item))
			n++;
		put(rs, s, n);
		s += n;
		if (*s == ',' || *s == '%')
			puts_(rs, *s == ',' ? "%2C" : "%25");
		else if (*s != '\0')
			rs->overflow = true;
		if (*s != '\0')
			s++;
	}
}

/* Appends s percent-encoded for a URL query (RFC 3986): all but unreserved bytes become %XX. */
static void
put_query_value(struct response *rs, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	while (*s != '\0') {
		size_t n =
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");

		put(rs, s, n);
		s += n;
		if (*s != '\0') {
			unsigned char c = (unsigned char)*s++;
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

			put(rs, esc, sizeof(esc));
		}
	}
}

static void
begin(struct response *rs, enum decision d, int status, const char *status_line)
{
	rs->decision = d;
	rs->status = status;
	rs->len = 0;
	rs->overflow = false;
	puts_(rs, status_line);
	puts_(rs, "X-PDP-Decision: ");
	puts_(rs, decision_name(d));
	puts_(rs, "\r\n");
}

/* Closes the header block; an answer that did not fit becomes a 500, never a truncated allow. */
static void
finish(struct response *rs)
{
	puts_(rs, "Content-Length: 0\r\n\r\n");
	if (rs->overflow)
		response_error(rs);
}

void
response_allow(struct response *rs, const struct subject *s, const char *policies)
{
	size_t start;

	begin(rs, DECISION_ALLOW, 200, "Status: 200 OK\r\n");
	puts_(rs, "X-PDP-User: ");
	put_value(rs, s->user, false);
	puts_(rs, "\r\nX-PDP-Groups: ");
	start = rs->len;
	for (size_t i = 0; i < s->groups.n; i++) {
		size_t before = rs->len;

		if (i > 0)
			puts_(rs, ",");
		put_value(rs, s->groups.items[i], true);
		if (rs->len - start > RESPONSE_MAX_GROUPS_BYTES) {
			rs->len = before;
			break;
		}
	}
	puts_(rs, "\r\nX-PDP-Policies: ");
	put_value(rs, policies, false);
	puts_(rs, "\r\n");
	finish(rs);
}

void
response_unauthenticated(struct response *rs, const char *realm, const char *description)
{
	begin(rs, DECISION_UNAUTHENTICATED, 401, "Status: 401 Unauthorized\r\n");
	puts_(rs, "WWW-Authenticate: Bearer realm=\"");
	put_value(rs, realm, false);
	puts_(rs, "\"");
	if (description != NULL) {
		puts_(rs, ", error=\"invalid_token\", error_description=\"");
		/* Descriptions are fixed strings of ours; no quotes to escape. */
		put_value(rs, description, false);
		puts_(rs, "\"");
	}
	puts_(rs, "\r\n");
	finish(rs);
}

void
response_deny(struct response *rs, const char *policy, const char *reason)
{
	begin(rs, DECISION_DENY, 403, "Status: 403 Forbidden\r\n");
	puts_(rs, "X-PDP-Reason: ");
	put_value(rs, policy, false);
	puts_(rs, ": ");
	put_value(rs, reason, false);
	puts_(rs, "\r\n");
	finish(rs);
}

void
response_step_up(struct response *rs, const char *description, const char *acr_values,
                 long long max_age)
{
	bool acr = acr_values != NULL && acr_values[0] != '\0';
	char num[32];

	begin(rs, DECISION_STEP_UP, 401, "Status: 401 Unauthorized\r\n");
	puts_(rs, "WWW-Authenticate: Bearer error=\"insufficient_user_authentication\", "
	          "error_description=\"");
	put_value(rs, description, false);
	puts_(rs, "\"");
	if (acr) {
		/* acr values were checked at load to hold no quotes, spaces or backslashes. */
		puts_(rs, ", acr_values=\"");
		put_value(rs, acr_values, false);
		puts_(rs, "\"");
	}
	if (max_age >= 0) {
		snprintf(num, sizeof(num), ", max_age=%lld", max_age);
		puts_(rs, num);
	}
	puts_(rs, "\r\n");
	/*
	 * The same parameters as a URL query, for a browser's sign-in: OpenID Connect names them
	 * so in an authorization request. Without them an identity provider that still holds a
	 * session signs the user in as before, and the browser comes back to the same step-up.
	 */
	if (acr || max_age >= 0) {
		puts_(rs, "X-PDP-Step-Up: ");
		if (acr) {
			puts_(rs, "acr_values=");
			put_query_value(rs, acr_values);
		}
		if (max_age >= 0) {
			snprintf(num, sizeof(num), "%smax_age=%lld", acr ? "&" : "", max_age);
			puts_(rs, num);
		}
		puts_(rs, "\r\n");
	}
	finish(rs);
}

void
response_admin(struct response *rs, bool ok, const char *content_type, const char *body, size_t len)
{
	char num[64];

	rs->decision = DECISION_ERROR; /* not a decision: nothing here may read as allow */
	rs->status = ok ? 200 : 503;
	rs->len = 0;
	rs->overflow = false;
	puts_(rs, ok ? "Status: 200 OK\r\n" : "Status: 503 Service Unavailable\r\n");
	snprintf(num, sizeof(num), "Content-Length: %zu\r\n", len);
	puts_(rs, "Content-Type: ");
	puts_(rs, content_type);
	puts_(rs, "\r\nCache-Control: no-store\r\n");
	puts_(rs, num);
	puts_(rs, "\r\n");
	put(rs, body, len);
	if (rs->overflow)
		response_error(rs);
}

void
response_error(struct response *rs)
{
	static const char text[] = "Status: 500 Internal Server Error\r\n"
	                           "X-PDP-Decision: error\r\n"
	                           "Content-Length: 0\r\n\r\n";

	rs->decision = DECISION_ERROR;
	rs->status = 500;
	rs->overflow = false;
	memcpy(rs->buf, text, sizeof(text) - 1);
	rs->len = sizeof(text) - 1;
}
