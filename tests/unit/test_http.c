/* test_http.c - HTTP/1.1 requests (http_proto) and the HTTP front over a real unix socket */
#include "testlib.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/types.h"
#include "transport/fcgi_server.h"
#include "transport/http_proto.h"
#include "transport/response.h"

/* A connection's reading state over a buffer of the largest size. */
struct reader {
	struct http_proto h;
	const char *envp[HTTP_PROTO_MAX_PARAMS + 1];
	char env[HTTP_PROTO_ENV_BYTES];
	unsigned char buf[HTTP_PROTO_MAX_BUFFER];
};

static struct reader *
reader_new(void)
{
	struct reader *r = malloc(sizeof(*r));

	assert_non_null(r);
	http_proto_init(&r->h, r->buf, sizeof(r->buf));
	return r;
}

static enum http_step
feed(struct reader *r, const char *s, size_t n)
{
	assert_true(r->h.len + n <= r->h.cap);
	memcpy(r->h.buf + r->h.len, s, n);
	r->h.len += n;
	return http_proto_feed(&r->h, r->envp, r->env);
}

static enum http_step
feeds(struct reader *r, const char *s)
{
	return feed(r, s, strlen(s));
}

/* The params as one string "A=1|B=2|" for comparisons. */
static const char *
params(struct reader *r)
{
	static char out[HTTP_PROTO_ENV_BYTES + 64];
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; r->envp[i] != NULL; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s|", r->envp[i]);
	return out;
}

#define NGINX_REQUEST                                                                              \
	"GET /auth HTTP/1.1\r\n"                                                                   \
	"Host: pdp_http\r\n"                                                                       \
	"X-PDP-Remote-Addr: 192.0.2.7\r\n"                                                         \
	"X-PDP-Method: GET\r\n"                                                                    \
	"X-PDP-Host: app.example.com\r\n"                                                          \
	"X-PDP-URI: /a?b=c\r\n"                                                                    \
	"X-PDP-Scheme: https\r\n"                                                                  \
	"X-PDP-Authority: app.example.com:8443\r\n"                                                \
	"X-PDP-Request-Id: 0123abcd\r\n"                                                           \
	"Authorization: Bearer x.y.z\r\n"                                                          \
	"Cookie: a=b; c=d\r\n"                                                                     \
	"User-Agent: curl/8  \r\n"                                                                 \
	"X-PDP-Country: DE\r\n"                                                                    \
	"X-PDP-Client-Cert: -----BEGIN%20CERT\r\n"                                                 \
	"X-Other: ignored\r\n"                                                                     \
	"\r\n"

#define NGINX_PARAMS                                                                               \
	"REMOTE_ADDR=192.0.2.7|HTTP_AUTHORIZATION=Bearer x.y.z|HTTP_COOKIE=a=b; c=d|"              \
	"HTTP_USER_AGENT=curl/8|PDP_METHOD=GET|PDP_HOST=app.example.com|PDP_URI=/a?b=c|"           \
	"PDP_SCHEME=https|PDP_AUTHORITY=app.example.com:8443|PDP_REQUEST_ID=0123abcd|"             \
	"PDP_COUNTRY=DE|PDP_CLIENT_CERT=-----BEGIN%20CERT|"

static void
request_becomes_the_fastcgi_params(void **state)
{
	struct reader *r = reader_new();

	(void)state;
	assert_int_equal(feeds(r, NGINX_REQUEST), HTTP_STEP_REQUEST);
	assert_string_equal(params(r), NGINX_PARAMS);
	assert_false(http_proto_closes(&r->h));
	assert_true(http_proto_next(&r->h));
	assert_int_equal(r->h.len, 0);
	/* Names are case-insensitive; Host, Connection and the rest are not params. */
	assert_int_equal(feeds(r, "GET / HTTP/1.1\r\nx-pdp-admin: health\r\nHost: h\r\n"
	                          "Connection: keep-alive\r\nX-PDP-Remote-Address: 1\r\n\r\n"),
	                 HTTP_STEP_REQUEST);
	assert_string_equal(params(r), "PDP_ADMIN=health|");
	free(r);
}

static void
pipelined_requests_come_one_at_a_time(void **state)
{
	static const char two[] = "GET /1 HTTP/1.1\r\nX-PDP-URI: /one\r\n\r\n"
	                          "GET /2 HTTP/1.1\r\nX-PDP-URI: /two\r\n\r\n";
	static const char three[] =
	    "GET /1 HTTP/1.1\r\nX-PDP-URI: /one\r\n\r\n"
	    "GET /2 HTTP/1.1\r\nX-PDP-URI: /two\r\nContent-Length: 0\r\n\r\n"
	    "GET /3 HTTP/1.1\r\nX-PDP-URI: /three\r\nConnection: close\r\n\r\n"
	    "GET /4 HTTP/1.1\r\n\r\n";
	struct reader *r = reader_new();

	(void)state;
	assert_int_equal(feeds(r, two), HTTP_STEP_REQUEST);
	assert_string_equal(params(r), "PDP_URI=/one|");
	assert_true(http_proto_next(&r->h));
	assert_int_equal(http_proto_feed(&r->h, r->envp, r->env), HTTP_STEP_REQUEST);
	assert_string_equal(params(r), "PDP_URI=/two|");
	assert_true(http_proto_next(&r->h));
	assert_int_equal(http_proto_feed(&r->h, r->envp, r->env), HTTP_STEP_MORE);

	http_proto_init(&r->h, r->buf, sizeof(r->buf));
	assert_int_equal(feeds(r, three), HTTP_STEP_REQUEST);
	assert_string_equal(params(r), "PDP_URI=/one|");
	assert_true(http_proto_next(&r->h));
	assert_int_equal(http_proto_feed(&r->h, r->envp, r->env), HTTP_STEP_REQUEST);
	assert_string_equal(params(r), "PDP_URI=/two|");
	assert_true(http_proto_next(&r->h));
	assert_int_equal(http_proto_feed(&r->h, r->envp, r->env), HTTP_STEP_REQUEST);
	assert_string_equal(params(r), "PDP_URI=/three|");
	/* Connection: close: what came behind it is not read. */
	assert_true(http_proto_closes(&r->h));
	assert_false(http_proto_next(&r->h));
	free(r);
}

static void
request_split_byte_by_byte(void **state)
{
	static const char req[] = NGINX_REQUEST;
	struct reader *r = reader_new();

	(void)state;
	for (size_t i = 0; i + 1 < sizeof(req) - 1; i++)
		assert_int_equal(feed(r, req + i, 1), HTTP_STEP_MORE);
	assert_int_equal(feed(r, req + sizeof(req) - 2, 1), HTTP_STEP_REQUEST);
	assert_string_equal(params(r), NGINX_PARAMS);
	free(r);
}

static void
http_1_0_closes_unless_kept_alive(void **state)
{
	struct reader *r = reader_new();

	(void)state;
	assert_int_equal(feeds(r, "GET / HTTP/1.0\r\n\r\n"), HTTP_STEP_REQUEST);
	assert_true(http_proto_closes(&r->h));
	assert_false(http_proto_next(&r->h));
	http_proto_init(&r->h, r->buf, sizeof(r->buf));
	assert_int_equal(feeds(r, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
	                 HTTP_STEP_REQUEST);
	assert_false(http_proto_closes(&r->h));
	http_proto_init(&r->h, r->buf, sizeof(r->buf));
	assert_int_equal(feeds(r, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
	                 HTTP_STEP_REQUEST);
	assert_true(http_proto_closes(&r->h));
	free(r);
}

static void
expect_refused(const char *req, size_t len)
{
	struct reader *r = reader_new();

	if (feed(r, req, len) != HTTP_STEP_REFUSE)
		fail_msg("not refused: %.*s", (int)(len > 200 ? 200 : len), req);
	assert_non_null(r->h.why);
	assert_true(http_proto_closes(&r->h));
	assert_false(http_proto_next(&r->h));
	free(r);
}

#define REFUSED(s) expect_refused(s, sizeof(s) - 1)

static void
refusals(void **state)
{
	(void)state;
	REFUSED("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
	REFUSED("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
	REFUSED("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	REFUSED("GET / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n");
	REFUSED("GET http://pdp/ HTTP/1.1\r\n\r\n");
	REFUSED("CONNECT pdp:80 HTTP/1.1\r\n\r\n");
	REFUSED("OPTIONS * HTTP/1.1\r\n\r\n");
	REFUSED("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
	REFUSED("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n");
	REFUSED("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	REFUSED("GET / HTTP/1.1\r\nX-PDP-Method: GET\r\nx-pdp-method: POST\r\n\r\n");
	REFUSED("GET / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n");
	REFUSED("GET / HTTP/1.1\r\nX-PDP-Host: a\r\n  folded\r\n\r\n");
	REFUSED("GET / HTTP/1.1\r\nBad Name: a\r\n\r\n");
	REFUSED("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n");
	REFUSED("GET / HTTP/1.1\nX: \x01\r\n\r\n");
	REFUSED("\x16\x03\x01\x02\x00");
}

static void
limits(void **state)
{
	char *big = malloc(HTTP_PROTO_MAX_HEADER + 200);
	size_t n;

	(void)state;
	assert_non_null(big);
	/* 64 fields pass; 65 do not. */
	for (int fields = 64; fields <= 65; fields++) {
		struct reader *r = reader_new();

		n = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
		for (int i = 0; i < fields; i++)
			n += (size_t)sprintf(big + n, "X-%d: v\r\n", i);
		n += (size_t)sprintf(big + n, "\r\n");
		assert_int_equal(feed(r, big, n),
		                 fields == 64 ? HTTP_STEP_REQUEST : HTTP_STEP_REFUSE);
		free(r);
	}
	/* A header section of exactly the bound passes; one byte more does not. */
	for (size_t extra = 0; extra <= 1; extra++) {
		struct reader *r = reader_new();
		size_t head = strlen("GET / HTTP/1.1\r\nX-PDP-Cookie-Pad: \r\n\r\n");
		size_t pad = HTTP_PROTO_MAX_HEADER - head + extra;

		n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nX-PDP-Cookie-Pad: ");
		memset(big + n, 'a', pad);
		n += pad;
		n += (size_t)sprintf(big + n, "\r\n\r\n");
		assert_int_equal(n, HTTP_PROTO_MAX_HEADER + extra);
		assert_int_equal(feed(r, big, n),
		                 extra == 0 ? HTTP_STEP_REQUEST : HTTP_STEP_REFUSE);
		free(r);
	}
	/* An unfinished header section over the bound is refused before it ends. */
	{
		struct reader *r = reader_new();

		n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nCookie: ");
		memset(big + n, 'a', HTTP_PROTO_MAX_HEADER);
		assert_int_equal(feed(r, big, HTTP_PROTO_MAX_HEADER + n), HTTP_STEP_REFUSE);
		free(r);
	}
	free(big);
}

/* The answer as one string. */
static const char *
answer(struct response *rs, bool close)
{
	static char out[RESPONSE_MAX_BYTES + RESPONSE_MAX_BODY_BYTES + 64];
	struct iovec iov[HTTP_PROTO_ANSWER_IOVS];
	int n = http_proto_answer(rs, close, iov);
	size_t at = 0;

	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len == 0)
			continue; /* a bodiless answer's body is NULL */
		memcpy(out + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	out[at] = '\0';
	return out;
}

static void
answers_byte_for_byte(void **state)
{
	struct response *rs = calloc(1, sizeof(*rs));
	struct subject s = {.user = "alice"};
	static const char body[] = "{\"status\":\"ok\"}";

	(void)state;
	assert_non_null(rs);
	response_allow(rs, &s, "p1,p2");
	assert_string_equal(answer(rs, false), "HTTP/1.1 200 OK\r\n"
	                                       "X-PDP-Decision: allow\r\n"
	                                       "X-PDP-User: alice\r\n"
	                                       "X-PDP-Groups: \r\n"
	                                       "X-PDP-Policies: p1,p2\r\n"
	                                       "Content-Length: 0\r\n\r\n");
	response_deny(rs, "p1", "not in group");
	assert_string_equal(answer(rs, true), "HTTP/1.1 403 Forbidden\r\n"
	                                      "X-PDP-Decision: deny\r\n"
	                                      "X-PDP-Reason: p1: not in group\r\n"
	                                      "Content-Length: 0\r\n"
	                                      "Connection: close\r\n\r\n");
	response_step_up(rs, "mfa required", "mfa", -1, NULL);
	assert_string_equal(answer(rs, false),
	                    "HTTP/1.1 401 Unauthorized\r\n"
	                    "X-PDP-Decision: step-up\r\n"
	                    "WWW-Authenticate: Bearer error=\"insufficient_user_authentication\", "
	                    "error_description=\"mfa required\", acr_values=\"mfa\"\r\n"
	                    "Content-Length: 0\r\n\r\n");
	response_unauthenticated(rs, "pdp", NULL, NULL);
	assert_string_equal(answer(rs, false), "HTTP/1.1 401 Unauthorized\r\n"
	                                       "X-PDP-Decision: unauthenticated\r\n"
	                                       "WWW-Authenticate: Bearer realm=\"pdp\"\r\n"
	                                       "Content-Length: 0\r\n\r\n");
	response_error(rs);
	assert_string_equal(answer(rs, false), "HTTP/1.1 500 Internal Server Error\r\n"
	                                       "X-PDP-Decision: error\r\n"
	                                       "Content-Length: 0\r\n\r\n");
	response_admin(rs, true, "application/json", body, sizeof(body) - 1);
	assert_string_equal(answer(rs, false), "HTTP/1.1 200 OK\r\n"
	                                       "Content-Type: application/json\r\n"
	                                       "Cache-Control: no-store\r\n"
	                                       "Content-Length: 15\r\n\r\n"
	                                       "{\"status\":\"ok\"}");
	/* Anything not shaped as a CGI answer is a 500, never passed on. */
	memcpy(rs->buf, "HTTP/1.1 200 OK\r\n\r\n", 19);
	rs->len = 19;
	assert_string_equal(answer(rs, true), "HTTP/1.1 500 Internal Server Error\r\n"
	                                      "X-PDP-Decision: error\r\n"
	                                      "Content-Length: 0\r\n"
	                                      "Connection: close\r\n\r\n");
	assert_string_equal(http_proto_refusal, "HTTP/1.1 400 Bad Request\r\n"
	                                        "Content-Length: 0\r\n"
	                                        "Connection: close\r\n\r\n");
	free(rs);
}

/* --- the HTTP front over a real unix socket, on the same loops as a FastCGI listener ------- */

static atomic_uint accepted[FRONTS];

static void
count_accept(void *ctx, unsigned worker, enum listen_front front)
{
	(void)ctx;
	(void)worker;
	atomic_fetch_add(&accepted[front], 1);
}

/* Denies with the request's PDP_URI as the reason, so answers can be told apart. */
static void
echo(void *ctx, unsigned worker, const char *const *envp, struct response *rs)
{
	const char *uri = "-";

	(void)ctx;
	(void)worker;
	for (size_t i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], "PDP_URI=", 8) == 0)
			uri = envp[i] + 8;
	response_deny(rs, "echo", uri);
}

static int
listen_unix(const char *name)
{
	char err[256], addr[300];
	int lfd;

	snprintf(addr, sizeof(addr), "unix:%s", test_path(name));
	lfd = fcgi_listen(addr, 16, err, sizeof(err));
	assert_true(lfd >= 0);
	return lfd;
}

static int
dial(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", test_path(name));
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void
send_str(int fd, const char *s)
{
	size_t n = strlen(s);

	assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads until n answers (each ending in an empty line, bodiless) or the peer closes. */
static const char *
read_answers(int fd, int n, bool *closed)
{
	static char in[8192];
	size_t len = 0;

	*closed = false;
	for (;;) {
		int seen = 0;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		in[len] = '\0';
		for (const char *p = in; (p = strstr(p, "\r\n\r\n")) != NULL; p += 4)
			seen++;
		if (seen >= n)
			return in;
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		r = read(fd, in + len, sizeof(in) - 1 - len);
		assert_true(r >= 0 || errno == ECONNRESET);
		if (r <= 0) {
			*closed = true;
			return in;
		}
		len += (size_t)r;
	}
}

#define DENY(uri)                                                                                  \
	"HTTP/1.1 403 Forbidden\r\nX-PDP-Decision: deny\r\nX-PDP-Reason: echo: " uri               \
	"\r\nContent-Length: 0\r\n"

static void
http_front_answers_over_a_socket(void **state)
{
	struct fcgi_listener ls[2];
	struct fcgi_server *srv;
	bool closed;
	int fd;

	(void)state;
	ls[0] = (struct fcgi_listener){.fd = listen_unix("fcgi.sock"), .front = FRONT_FASTCGI};
	ls[1] = (struct fcgi_listener){.fd = listen_unix("http.sock"), .front = FRONT_HTTP};
	srv = fcgi_start_fronts(ls, 2, 2, &(struct fcgi_limits){.read_timeout_ms = 300}, echo,
	                        count_accept, NULL);
	assert_non_null(srv);

	/* Two pipelined requests in one write, answered in order; a third on the same connection.
	 */
	fd = dial("http.sock");
	send_str(fd, "GET /auth HTTP/1.1\r\nX-PDP-URI: /one\r\n\r\n"
	             "GET /auth HTTP/1.1\r\nX-PDP-URI: /two\r\n\r\n");
	assert_string_equal(read_answers(fd, 2, &closed), DENY("/one") "\r\n" DENY("/two") "\r\n");
	assert_false(closed);
	send_str(fd, "GET /auth HTTP/1.1\r\nX-PDP-U");
	send_str(fd, "RI: /three\r\nConnection: close\r\n\r\n");
	assert_string_equal(read_answers(fd, 1, &closed),
	                    DENY("/three") "Connection: close\r\n\r\n");
	read_answers(fd, 2, &closed);
	assert_true(closed);
	close(fd);

	/* A refusal: 400, then the connection is closed. */
	fd = dial("http.sock");
	send_str(fd, "GET /auth HTTP/1.1\r\nX-PDP-URI: /a\r\n\r\n"
	             "POST /auth HTTP/1.1\r\nContent-Length: 2\r\n\r\nab");
	assert_string_equal(read_answers(fd, 3, &closed),
	                    DENY("/a") "\r\n"
	                               "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
	                               "Connection: close\r\n\r\n");
	assert_true(closed);
	close(fd);

	/* An idle kept-alive connection is closed at its deadline. */
	fd = dial("http.sock");
	send_str(fd, "GET /auth HTTP/1.1\r\nX-PDP-URI: /idle\r\n\r\n");
	assert_string_equal(read_answers(fd, 1, &closed), DENY("/idle") "\r\n");
	read_answers(fd, 2, &closed);
	assert_true(closed);
	close(fd);

	assert_int_equal(atomic_load(&accepted[FRONT_HTTP]), 3);
	assert_int_equal(atomic_load(&accepted[FRONT_FASTCGI]), 0);
	fcgi_stop(srv, ls[0].fd);
	close(ls[0].fd);
	close(ls[1].fd);
}

/* A kept-alive connection counts against the loop's bound: a new one closes it, oldest first. */
static void
idle_http_connections_count_against_the_bound(void **state)
{
	struct fcgi_listener l = {.fd = listen_unix("bound.sock"), .front = FRONT_HTTP};
	struct fcgi_server *srv;
	bool closed;
	int a, b;

	(void)state;
	srv = fcgi_start_fronts(&l, 1, 1,
	                        &(struct fcgi_limits){.read_timeout_ms = 5000, .max_conns = 1},
	                        echo, NULL, NULL);
	assert_non_null(srv);
	a = dial("bound.sock");
	send_str(a, "GET /auth HTTP/1.1\r\nX-PDP-URI: /a\r\n\r\n");
	assert_string_equal(read_answers(a, 1, &closed), DENY("/a") "\r\n");
	b = dial("bound.sock");
	send_str(b, "GET /auth HTTP/1.1\r\nX-PDP-URI: /b\r\n\r\n");
	assert_string_equal(read_answers(b, 1, &closed), DENY("/b") "\r\n");
	read_answers(a, 2, &closed);
	assert_true(closed);
	close(a);
	close(b);
	fcgi_stop(srv, l.fd);
	close(l.fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(request_becomes_the_fastcgi_params),
	    cmocka_unit_test(pipelined_requests_come_one_at_a_time),
	    cmocka_unit_test(request_split_byte_by_byte),
	    cmocka_unit_test(http_1_0_closes_unless_kept_alive),
	    cmocka_unit_test(refusals),
	    cmocka_unit_test(limits),
	    cmocka_unit_test(answers_byte_for_byte),
	    cmocka_unit_test(http_front_answers_over_a_socket),
	    cmocka_unit_test(idle_http_connections_count_against_the_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
