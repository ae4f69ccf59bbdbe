/* http_proto.c - HTTP/1.1 requests of the HTTP front: read from a buffer, answers framed to write
 */
#include "transport/http_proto.h"

#include <string.h>
#include <strings.h>

/* The headers nginx sends (DESIGN §1) and the FastCGI params they stand for. */
static const struct {
	const char *header, *param;
} contract[] = {
    {"X-PDP-Remote-Addr", "REMOTE_ADDR"},
    {"Authorization", "HTTP_AUTHORIZATION"},
    {"Cookie", "HTTP_COOKIE"},
    {"User-Agent", "HTTP_USER_AGENT"},
    {"X-PDP-Method", "PDP_METHOD"},
    {"X-PDP-Host", "PDP_HOST"},
    {"X-PDP-URI", "PDP_URI"},
    {"X-PDP-Scheme", "PDP_SCHEME"},
    {"X-PDP-Authority", "PDP_AUTHORITY"},
    {"X-PDP-Request-Id", "PDP_REQUEST_ID"},
    {"X-PDP-Country", "PDP_COUNTRY"},
    {"X-PDP-Client-Cert", "PDP_CLIENT_CERT"},
    {"X-PDP-Admin", "PDP_ADMIN"},
};
#define N_CONTRACT (sizeof(contract) / sizeof(contract[0]))
_Static_assert(N_CONTRACT <= HTTP_PROTO_MAX_PARAMS, "params room");

const char http_proto_refusal[] = "HTTP/1.1 400 Bad Request\r\n"
                                  "Content-Length: 0\r\n"
                                  "Connection: close\r\n\r\n";
const size_t http_proto_refusal_len = sizeof(http_proto_refusal) - 1;

static const char token_chars[] = "!#$%&'*+-.^_`|~0123456789"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int
refuse(struct http_proto *h, const char *why)
{
	h->refused = true;
	h->why = why;
	return -1;
}

static size_t
offset(const struct http_proto *h, const char *at)
{
	return (size_t)((const unsigned char *)at - h->buf);
}

static int
on_message_begin(http_parser *p)
{
	struct http_proto *h = p->data;

	h->target_seen = h->in_value = false;
	h->n_fields = h->name_len = h->value_len = 0;
	memset(h->param, 0, sizeof(h->param));
	return 0;
}

/* Only the origin form ("/path"): nginx's proxy_pass sends nothing else. */
static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct http_proto *h = p->data;

	if (!h->target_seen && len > 0 && at[0] != '/')
		return refuse(h, "request target not in origin form");
	h->target_seen = h->target_seen || len > 0;
	return 0;
}

/* The header whose name and value were just read: kept when the contract names it. */
static int
header_end(struct http_proto *h)
{
	const char *name = (const char *)h->buf + h->name_at;

	if (h->name_len == 0)
		return 0;
	if (++h->n_fields > HTTP_PROTO_MAX_FIELDS)
		return refuse(h, "too many header fields");
	/* RFC 9110 token characters only: the parser lets a space through. */
	if (strspn(name, token_chars) < h->name_len)
		return refuse(h, "a header name that is not a token");
	for (size_t i = 0; i < h->value_len; i++) {
		unsigned char c = h->buf[h->value_at + i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return refuse(h, "a control character in a header value");
	}
	if ((h->name_len == 17 && strncasecmp(name, "Transfer-Encoding", 17) == 0) ||
	    (h->name_len == 7 && strncasecmp(name, "Upgrade", 7) == 0))
		return refuse(h, "a body or an upgrade was asked for");
	for (size_t i = 0; i < N_CONTRACT; i++) {
		if (strlen(contract[i].header) != h->name_len ||
		    strncasecmp(name, contract[i].header, h->name_len) != 0)
			continue;
		if (h->param[i].set)
			return refuse(h, "a header of the contract given twice");
		h->param[i].set = true;
		h->param[i].at = h->value_at;
		h->param[i].len = h->value_len;
		break;
	}
	h->name_len = h->value_len = 0;
	return 0;
}

/* Pieces of one name come contiguous (the buffer only grows at its end). */
static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_proto *h = p->data;
	size_t o = offset(h, at);

	if (!h->in_value && h->name_len > 0 && o == h->name_at + h->name_len) {
		h->name_len += len;
		return 0;
	}
	if (header_end(h) != 0)
		return -1;
	h->in_value = false;
	h->name_at = o;
	h->name_len = len;
	h->value_len = 0;
	return 0;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_proto *h = p->data;
	size_t o = offset(h, at);

	if (h->in_value && h->value_len > 0) {
		/* Apart from split reads, only a folded line (obs-fold) comes in pieces. */
		if (o != h->value_at + h->value_len)
			return refuse(h, "a folded header line");
		h->value_len += len;
		return 0;
	}
	h->in_value = true;
	h->value_at = o;
	h->value_len = len;
	return 0;
}

static int
on_headers_complete(http_parser *p)
{
	struct http_proto *h = p->data;

	if (header_end(h) != 0)
		return -1;
	if (p->http_major != 1)
		return refuse(h, "not HTTP/1");
	if (p->upgrade || (p->flags & (F_UPGRADE | F_CHUNKED)) || p->method == HTTP_CONNECT)
		return refuse(h, "a body or an upgrade was asked for");
	if ((p->flags & F_CONTENTLENGTH) && p->content_length != 0)
		return refuse(h, "a request with a body");
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	(void)at;
	(void)len;
	return refuse(p->data, "a request with a body");
}

/* One request at a time: the parser stops behind it until it is answered. */
static int
on_message_complete(http_parser *p)
{
	struct http_proto *h = p->data;

	h->complete = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void
http_proto_init(struct http_proto *h, unsigned char *buf, size_t cap)
{
	memset(h, 0, sizeof(*h));
	h->buf = buf;
	h->cap = cap;
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = h;
}

void
http_proto_move(struct http_proto *h, unsigned char *buf, size_t cap)
{
	memcpy(buf, h->buf, h->len);
	h->buf = buf;
	h->cap = cap;
}

/* Writes the request's params into env, each value without trailing blanks. */
static void
params_put(const struct http_proto *h, const char **envp, char *env)
{
	size_t n = 0;

	for (size_t i = 0; i < N_CONTRACT; i++) {
		const char *v = (const char *)h->buf + h->param[i].at;
		size_t name = strlen(contract[i].param), len = h->param[i].len;

		if (!h->param[i].set)
			continue;
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		envp[n++] = env;
		memcpy(env, contract[i].param, name);
		env[name] = '=';
		memcpy(env + name + 1, v, len);
		env[name + 1 + len] = '\0';
		env += name + len + 2;
	}
	envp[n] = NULL;
}

enum http_step
http_proto_feed(struct http_proto *h, const char **envp, char *env)
{
	if (!h->complete && !h->refused && h->parsed < h->len) {
		h->parsed += http_parser_execute(
		    &h->parser, &settings, (const char *)h->buf + h->parsed, h->len - h->parsed);
		if (!h->refused && HTTP_PARSER_ERRNO(&h->parser) != HPE_OK &&
		    HTTP_PARSER_ERRNO(&h->parser) != HPE_PAUSED)
			refuse(h, http_errno_description(HTTP_PARSER_ERRNO(&h->parser)));
	}
	/* Checked for a whole request too: the bound must not depend on how the bytes came. */
	if (!h->refused && h->parsed > HTTP_PROTO_MAX_HEADER)
		refuse(h, "header section too large");
	if (h->refused)
		return HTTP_STEP_REFUSE;
	if (h->complete) {
		params_put(h, envp, env);
		return HTTP_STEP_REQUEST;
	}
	return HTTP_STEP_MORE;
}

bool
http_proto_closes(const struct http_proto *h)
{
	return h->refused || !http_should_keep_alive(&h->parser);
}

bool
http_proto_next(struct http_proto *h)
{
	if (http_proto_closes(h))
		return false;
	memmove(h->buf, h->buf + h->parsed, h->len - h->parsed);
	h->len -= h->parsed;
	h->parsed = 0;
	h->complete = false;
	http_parser_pause(&h->parser, 0);
	return true;
}

int
http_proto_answer(struct response *rs, bool close, struct iovec iov[HTTP_PROTO_ANSWER_IOVS])
{
	static const char status[] = "Status: ", end[] = "\r\n\r\n";

	if (rs->len < sizeof(status) - 1 + sizeof(end) - 1 ||
	    memcmp(rs->buf, status, sizeof(status) - 1) != 0 ||
	    memcmp(rs->buf + rs->len - 4, end, 4) != 0)
		response_error(rs);
	iov[0] = (struct iovec){"HTTP/1.1 ", 9};
	/* The status line and the headers, each with its CRLF, without the empty line. */
	iov[1] = (struct iovec){rs->buf + 8, rs->len - 8 - 2};
	iov[2] =
	    close ? (struct iovec){"Connection: close\r\n\r\n", 21} : (struct iovec){"\r\n", 2};
	iov[3] = (struct iovec){(void *)rs->body, rs->body_len};
	return HTTP_PROTO_ANSWER_IOVS;
}
