/* response.c - the answers nginx auth_request understands, as CGI response headers */
#include "transport/response.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

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
 * (identity_name_ok refuses them in claims) makes the answer a 500: a value
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

/* A query being built in a caller's buffer; overflow: it did not fit. */
struct query {
	char *buf;
	size_t size, len;
	bool overflow;
};

static void
qput(struct query *q, const char *s, size_t n)
{
	if (q->overflow || q->len + n >= q->size) {
		q->overflow = true;
		return;
	}
	memcpy(q->buf + q->len, s, n);
	q->len += n;
	q->buf[q->len] = '\0';
}

/* Appends n bytes of s percent-encoded for a URL query (RFC 3986): all but unreserved bytes
 * become %XX. */
static void
qput_encoded(struct query *q, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char unreserved[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c != '\0' && strchr(unreserved, c) != NULL) {
			qput(q, (const char *)&s[i], 1);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

			qput(q, esc, sizeof(esc));
		}
	}
}

/*
 * The authority's host part and its length, when a is "host" or "host:port"
 * (a DNS name's letters, digits, '-', '_' and '.', or an [IPv6] literal; a
 * port of 1-65535); NULL otherwise.
 */
static const char *
authority_host(const char *a, size_t *hl)
{
	const char *end, *port;

	if (a[0] == '[') {
		end = strchr(a, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return NULL;
		for (const char *c = a + 1; c < end; c++) {
			if (strchr("0123456789abcdefABCDEF:.", *c) == NULL)
				return NULL;
		}
		end++;
	} else {
		end =
		    a +
		    strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
		if (*end != '\0' && *end != ':')
			return NULL;
	}
	if (end == a)
		return NULL;
	if (*end == ':') {
		long n = 0;

		port = end + 1;
		if (strlen(port) < 1 || strlen(port) > 5 ||
		    strspn(port, "0123456789") != strlen(port))
			return NULL;
		for (const char *c = port; *c != '\0'; c++)
			n = n * 10 + (*c - '0');
		if (n < 1 || n > 65535)
			return NULL;
	}
	*hl = (size_t)(end - a);
	return a;
}

bool
response_sign_in_query(char *buf, size_t size, const struct response_target *t,
                       const char *acr_values, long long max_age)
{
	struct query q = {buf, size, 0, false};
	const char *authority, *h;
	size_t hl, host_len;
	char num[32];

	if (size == 0)
		return false;
	buf[0] = '\0';
	if (t == NULL || t->scheme == NULL || t->host == NULL || t->host[0] == '\0' ||
	    t->uri == NULL || t->uri[0] != '/' ||
	    (strcmp(t->scheme, "http") != 0 && strcmp(t->scheme, "https") != 0))
		return false;
	/* The authority as the client sent it, if its host is the one nginx routed on. */
	authority = t->authority != NULL && t->authority[0] != '\0' ? t->authority : t->host;
	if ((h = authority_host(authority, &hl)) == NULL)
		return false;
	host_len = strlen(t->host);
	if (hl > 1 && h[hl - 1] == '.' && h[0] != '[')
		hl--; /* nginx's $host drops a trailing dot */
	if (hl != host_len || strncasecmp(h, t->host, hl) != 0)
		return false;
	if (acr_values != NULL && acr_values[0] != '\0') {
		qput(&q, "acr_values=", 11);
		qput_encoded(&q, acr_values, strlen(acr_values));
		qput(&q, "&", 1);
	}
	if (max_age >= 0) {
		snprintf(num, sizeof(num), "max_age=%lld&", max_age);
		qput(&q, num, strlen(num));
	}
	qput(&q, "rd=", 3);
	qput_encoded(&q, t->scheme, strlen(t->scheme));
	qput_encoded(&q, "://", 3);
	qput_encoded(&q, authority, strlen(authority));
	qput_encoded(&q, t->uri, strlen(t->uri));
	if (q.overflow) {
		buf[0] = '\0';
		return false;
	}
	return true;
}

/* Adds X-PDP-Sign-In when the sign-in query for t can be made. */
static void
put_sign_in(struct response *rs, const struct response_target *t, const char *acr_values,
            long long max_age)
{
	char query[RESPONSE_MAX_SIGN_IN];

	if (!response_sign_in_query(query, sizeof(query), t, acr_values, max_age))
		return;
	puts_(rs, "X-PDP-Sign-In: ");
	puts_(rs, query);
	puts_(rs, "\r\n");
}

static void
begin(struct response *rs, enum decision d, int status, const char *status_line)
{
	rs->decision = d;
	rs->status = status;
	rs->len = 0;
	rs->overflow = false;
	rs->body = NULL;
	rs->body_len = 0;
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
response_unauthenticated(struct response *rs, const char *realm, const char *description,
                         const struct response_target *t)
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
	put_sign_in(rs, t, NULL, -1);
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
                 long long max_age, const struct response_target *t)
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
	 * The same parameters in the sign-in query, for a browser: OpenID Connect names them so in
	 * an authorization request. Without them an identity provider that still holds a session
	 * signs the user in as before, and the browser comes back to the same step-up.
	 */
	put_sign_in(rs, t, acr_values, max_age);
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
	rs->body = body;
	rs->body_len = len;
	puts_(rs, ok ? "Status: 200 OK\r\n" : "Status: 503 Service Unavailable\r\n");
	snprintf(num, sizeof(num), "Content-Length: %zu\r\n", len);
	puts_(rs, "Content-Type: ");
	puts_(rs, content_type);
	puts_(rs, "\r\nCache-Control: no-store\r\n");
	puts_(rs, num);
	puts_(rs, "\r\n");
	if (rs->overflow || len > RESPONSE_MAX_BODY_BYTES)
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
	rs->body = NULL;
	rs->body_len = 0;
	memcpy(rs->buf, text, sizeof(text) - 1);
	rs->len = sizeof(text) - 1;
}
