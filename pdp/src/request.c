/* request.c - the request context, from the FastCGI params nginx sends */
#include "request.h"

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
	r->token_malformed = !b64token_ok(h, n);
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
			r->token_malformed = !b64token_ok(v, vl);
			return;
		}
		h = end;
	}
}

void
request_parse(struct request *r, request_param_fn param, void *ctx, const char *cookie_name)
{
	const char *auth, *cookie;

	memset(r, 0, sizeof(*r));
	r->method = param(ctx, "PDP_METHOD");
	r->host = param(ctx, "PDP_HOST");
	r->uri = param(ctx, "PDP_URI");
	r->remote_addr = param(ctx, "REMOTE_ADDR");
	r->country = param(ctx, "PDP_COUNTRY");
	if (r->country != NULL && r->country[0] == '\0')
		r->country = NULL;
	r->request_id = param(ctx, "PDP_REQUEST_ID");
	r->user_agent = param(ctx, "HTTP_USER_AGENT");
	r->client_cert = param(ctx, "PDP_CLIENT_CERT");
	if (r->client_cert != NULL && r->client_cert[0] == '\0')
		r->client_cert = NULL; /* nginx sends "" without a client certificate */
	r->admin = param(ctx, "PDP_ADMIN");
	auth = param(ctx, "HTTP_AUTHORIZATION");
	if (auth != NULL && parse_bearer(r, auth))
		return;
	cookie = cookie_name != NULL ? param(ctx, "HTTP_COOKIE") : NULL;
	if (cookie != NULL)
		parse_cookie(r, cookie, cookie_name);
}
