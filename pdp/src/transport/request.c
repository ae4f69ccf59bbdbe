/* request.c - the request context, from the FastCGI params nginx sends */
#include "transport/request.h"

#include <string.h>
#include <strings.h>

/* RFC 6750 §2.1 b64token characters, as a table: every token byte is checked on every request. */
#define B64T_RANGE(a, b) [a... b] = true
static const bool b64token_chars[256] = {
    B64T_RANGE('A', 'Z'), B64T_RANGE('a', 'z'), B64T_RANGE('0', '9'), ['-'] = true, ['.'] = true,
    ['_'] = true,         ['~'] = true,         ['+'] = true,         ['/'] = true,
};

static bool
b64token_char(unsigned char c)
{
	return b64token_chars[c];
}

static bool
b64token_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && b64token_char((unsigned char)s[i]))
		i++;
	if (i == 0)
		return false;
	while (i < n && s[i] == '=')
		i++;
	return i == n;
}

bool
request_token_wellformed(const struct request *r)
{
	return b64token_ok(r->token, r->token_len);
}

/* Finds "Bearer <token>"; returns false when the header is some other scheme. */
static bool
parse_bearer(struct request *r, const char *h)
{
	size_t n;

	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t' && h[6] != '\0'))
		return false;
	h += 6;
	while (*h == ' ' || *h == '\t')
		h++;
	n = strlen(h);
	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	r->token_source = TOKEN_SOURCE_BEARER;
	r->token = h;
	r->token_len = n;
	return true;
}

/* Finds the first cookie called name in a Cookie header (RFC 6265 §4.2.1). */
static void
parse_cookie(struct request *r, const char *h, const char *name)
{
	size_t nl = strlen(name);

	while (*h != '\0') {
		const char *end;
		size_t vl;

		while (*h == ' ' || *h == '\t' || *h == ';')
			h++;
		end = strchr(h, ';');
		if (end == NULL)
			end = h + strlen(h);
		if ((size_t)(end - h) > nl && strncmp(h, name, nl) == 0 && h[nl] == '=') {
			const char *v = h + nl + 1;

			vl = (size_t)(end - v);
			while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (vl == 0)
				return;
			r->token_source = TOKEN_SOURCE_COOKIE;
			r->token = v;
			r->token_len = vl;
			return;
		}
		h = end;
	}
}

/* The params a decision reads, and where each goes. */
enum param_slot {
	P_METHOD,
	P_HOST,
	P_URI,
	P_SCHEME,
	P_AUTHORITY,
	P_REMOTE_ADDR,
	P_COUNTRY,
	P_REQUEST_ID,
	P_USER_AGENT,
	P_CLIENT_CERT,
	P_ADMIN,
	P_AUTHORIZATION,
	P_COOKIE,
	P_COUNT
};

#define PARAM(name, slot)                                                                          \
	{                                                                                          \
		name, sizeof(name) - 1, slot                                                       \
	}
static const struct {
	const char *name;
	size_t len;
	enum param_slot slot;
} params[] = {
    PARAM("PDP_METHOD", P_METHOD),
    PARAM("PDP_HOST", P_HOST),
    PARAM("PDP_URI", P_URI),
    PARAM("PDP_SCHEME", P_SCHEME),
    PARAM("PDP_AUTHORITY", P_AUTHORITY),
    PARAM("REMOTE_ADDR", P_REMOTE_ADDR),
    PARAM("PDP_COUNTRY", P_COUNTRY),
    PARAM("PDP_REQUEST_ID", P_REQUEST_ID),
    PARAM("HTTP_USER_AGENT", P_USER_AGENT),
    PARAM("PDP_CLIENT_CERT", P_CLIENT_CERT),
    PARAM("PDP_ADMIN", P_ADMIN),
    PARAM("HTTP_AUTHORIZATION", P_AUTHORIZATION),
    PARAM("HTTP_COOKIE", P_COOKIE),
};

/* An empty value is no value: nginx sends "" for a variable that is not set. */
static const char *
nonempty(const char *v)
{
	return v != NULL && v[0] != '\0' ? v : NULL;
}

void
request_parse(struct request *r, const char *const *envp, const char *cookie_name)
{
	const char *v[P_COUNT] = {NULL};

	memset(r, 0, sizeof(*r));
	/* One pass over the list; a name sent twice counts as it first came. */
	for (; envp != NULL && *envp != NULL; envp++) {
		const char *e = *envp, *eq = strchr(e, '=');
		size_t n = eq != NULL ? (size_t)(eq - e) : 0;

		for (size_t i = 0; n > 0 && i < sizeof(params) / sizeof(params[0]); i++) {
			if (params[i].len == n && memcmp(e, params[i].name, n) == 0) {
				if (v[params[i].slot] == NULL)
					v[params[i].slot] = eq + 1;
				break;
			}
		}
	}
	r->method = v[P_METHOD];
	r->host = v[P_HOST];
	r->uri = v[P_URI];
	r->scheme = v[P_SCHEME];
	r->authority = nonempty(v[P_AUTHORITY]); /* "" without a Host header (HTTP/1.0) */
	r->remote_addr = v[P_REMOTE_ADDR];
	r->country = nonempty(v[P_COUNTRY]);
	r->request_id = v[P_REQUEST_ID];
	r->user_agent = v[P_USER_AGENT];
	r->client_cert = nonempty(v[P_CLIENT_CERT]); /* "" without a client certificate */
	r->admin = v[P_ADMIN];
	if (v[P_AUTHORIZATION] != NULL && parse_bearer(r, v[P_AUTHORIZATION]))
		return;
	if (cookie_name != NULL && v[P_COOKIE] != NULL)
		parse_cookie(r, v[P_COOKIE], cookie_name);
}
