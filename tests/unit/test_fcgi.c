/* test_fcgi.c - FastCGI records (fcgi_proto) and the epoll transport over a real unix socket */
#include "testlib.h"

#include <errno.h>
#include <fastcgi.h>
#include <poll.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "transport/fcgi_proto.h"
#include "transport/fcgi_server.h"

/* --- building requests as a web server sends them -------------------------------------- */

struct bytes {
	unsigned char b[300000];
	size_t n;
};

static void
record(struct bytes *o, int type, unsigned id, const void *content, size_t len, unsigned pad)
{
	unsigned char h[8] = {FCGI_VERSION_1,
	                      (unsigned char)type,
	                      (unsigned char)(id >> 8),
	                      (unsigned char)id,
	                      (unsigned char)(len >> 8),
	                      (unsigned char)len,
	                      (unsigned char)pad,
	                      0};

	assert_true(o->n + 8 + len + pad <= sizeof(o->b));
	memcpy(o->b + o->n, h, 8);
	memcpy(o->b + o->n + 8, content, len);
	memset(o->b + o->n + 8 + len, 0xee, pad);
	o->n += 8 + len + pad;
}

static void
begin(struct bytes *o, unsigned id, unsigned role, unsigned flags)
{
	unsigned char body[8] = {(unsigned char)(role >> 8), (unsigned char)role,
	                         (unsigned char)flags};

	record(o, FCGI_BEGIN_REQUEST, id, body, sizeof(body), 0);
}

static size_t
put_len(unsigned char *p, size_t len)
{
	if (len < 0x80) {
		p[0] = (unsigned char)len;
		return 1;
	}
	p[0] = (unsigned char)(0x80 | len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	return 4;
}

/* Appends one name-value pair (name and value of the given lengths) to a params stream. */
static void
pair(struct bytes *s, const char *name, size_t nlen, const char *value, size_t vlen)
{
	s->n += put_len(s->b + s->n, nlen);
	s->n += put_len(s->b + s->n, vlen);
	memcpy(s->b + s->n, name, nlen);
	memcpy(s->b + s->n + nlen, value, vlen);
	s->n += nlen + vlen;
}

static void
spair(struct bytes *s, const char *name, const char *value)
{
	pair(s, name, strlen(name), value, strlen(value));
}

/* A whole request: BEGIN, the params stream in records of at most chunk bytes, empty PARAMS,
 * empty STDIN. */
static void
request(struct bytes *o, unsigned id, unsigned flags, const struct bytes *params, size_t chunk)
{
	begin(o, id, FCGI_RESPONDER, flags);
	for (size_t at = 0; at < params->n; at += chunk) {
		size_t n = params->n - at < chunk ? params->n - at : chunk;

		record(o, FCGI_PARAMS, id, params->b + at, n, (unsigned)(at % 7));
	}
	record(o, FCGI_PARAMS, id, "", 0, 0);
	record(o, FCGI_STDIN, id, "", 0, 0);
}

static struct bytes *
nginx_params(void)
{
	static struct bytes s;
	static char long_value[300];

	memset(long_value, 'v', sizeof(long_value) - 1);
	s.n = 0;
	spair(&s, "PDP_METHOD", "GET");
	spair(&s, "PDP_HOST", "app.example.com");
	spair(&s, "PDP_URI", "/a?b=c");
	spair(&s, "HTTP_AUTHORIZATION", long_value); /* a four-byte length */
	spair(&s, "EMPTY", "");
	return &s;
}

static void
assert_nginx_envp(const char **envp)
{
	assert_string_equal(envp[0], "PDP_METHOD=GET");
	assert_string_equal(envp[1], "PDP_HOST=app.example.com");
	assert_string_equal(envp[2], "PDP_URI=/a?b=c");
	assert_int_equal(strlen(envp[3]), strlen("HTTP_AUTHORIZATION=") + 299);
	assert_memory_equal(envp[3], "HTTP_AUTHORIZATION=vvv", 22);
	assert_string_equal(envp[4], "EMPTY=");
	assert_null(envp[5]);
}

/* --- the parser ------------------------------------------------------------------------- */

static unsigned char buf[FCGI_PROTO_MAX_BUFFER];
static const unsigned char filler[60000];
static const char *envp[FCGI_PROTO_MAX_PARAMS + 1];

/* Feeds in into p step by step (chunk bytes at a time) until a step other than MORE. */
static enum fcgi_step
feed_all(struct fcgi_proto *p, const struct bytes *in, size_t *at, size_t chunk)
{
	enum fcgi_step step = FCGI_STEP_MORE;

	while (*at < in->n) {
		size_t n = in->n - *at < chunk ? in->n - *at : chunk;

		if (n > p->cap - p->len)
			n = p->cap - p->len;
		assert_true(n > 0);
		memcpy(p->buf + p->len, in->b + *at, n);
		p->len += n;
		*at += n;
		step = fcgi_proto_feed(p, envp, FCGI_PROTO_MAX_PARAMS);
		if (step != FCGI_STEP_MORE)
			return step;
	}
	return step;
}

static void
a_request_in_one_piece_and_byte_by_byte(void **state)
{
	static struct bytes in;
	struct fcgi_proto p;
	size_t chunks[] = {100000, 1, 3, 8, 9, 64};

	(void)state;
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		size_t at = 0;

		in.n = 0;
		/* Params in records of 5 bytes: pairs and lengths split across records. */
		request(&in, 1, 0, nginx_params(), i % 2 ? 5 : 65535);
		fcgi_proto_init(&p, buf, sizeof(buf));
		assert_int_equal(feed_all(&p, &in, &at, chunks[i]), FCGI_STEP_REQUEST);
		assert_int_equal(at, in.n);
		assert_int_equal(p.id, 1);
		assert_int_equal(p.reply_len, 0);
		assert_nginx_envp(envp);
		assert_false(fcgi_proto_next(&p));
	}
}

static void
keep_conn_serves_requests_in_turn(void **state)
{
	static struct bytes in, second;
	struct fcgi_proto p;
	size_t at = 0;

	(void)state;
	in.n = second.n = 0;
	request(&in, 7, FCGI_KEEP_CONN, nginx_params(), 65535);
	spair(&second, "PDP_URI", "/second");
	request(&in, 8, FCGI_KEEP_CONN, &second, 65535);
	fcgi_proto_init(&p, buf, sizeof(buf));
	assert_int_equal(feed_all(&p, &in, &at, 100000), FCGI_STEP_REQUEST);
	assert_int_equal(p.id, 7);
	assert_nginx_envp(envp);
	assert_true(fcgi_proto_next(&p));
	/* The second request was read with the first: it is answered without reading more. */
	assert_int_equal(fcgi_proto_feed(&p, envp, FCGI_PROTO_MAX_PARAMS), FCGI_STEP_REQUEST);
	assert_int_equal(p.id, 8);
	assert_string_equal(envp[0], "PDP_URI=/second");
	assert_null(envp[1]);
	assert_true(fcgi_proto_next(&p));
	assert_int_equal(fcgi_proto_feed(&p, envp, FCGI_PROTO_MAX_PARAMS), FCGI_STEP_MORE);
	assert_int_equal(p.len, 0);
}

static void
a_body_is_read_and_dropped(void **state)
{
	static struct bytes in;
	struct fcgi_proto p;
	size_t at = 0;

	(void)state;
	in.n = 0;
	begin(&in, 3, FCGI_RESPONDER, 0);
	record(&in, FCGI_PARAMS, 3, nginx_params()->b, nginx_params()->n, 0);
	record(&in, FCGI_PARAMS, 3, "", 0, 0);
	/* A body larger than the buffer could ever hold: it streams through. */
	for (int i = 0; i < 4; i++)
		record(&in, FCGI_STDIN, 3, filler, sizeof(filler), 3);
	record(&in, FCGI_DATA, 3, "x", 1, 0);
	record(&in, FCGI_STDIN, 3, "", 0, 0);
	fcgi_proto_init(&p, buf, sizeof(buf));
	assert_int_equal(feed_all(&p, &in, &at, 4096), FCGI_STEP_REQUEST);
	assert_int_equal(at, in.n); /* not a byte before the body's end */
	assert_nginx_envp(envp);
}

/* The replies p holds, as one record's type and id, and its content. */
static void
assert_reply(const struct fcgi_proto *p, size_t off, int type, unsigned id, const void *content,
             size_t len)
{
	const unsigned char *r = p->reply + off;

	assert_true(p->reply_len >= off + 8 + len);
	assert_int_equal(r[0], FCGI_VERSION_1);
	assert_int_equal(r[1], type);
	assert_int_equal(r[2] << 8 | r[3], id);
	assert_int_equal(r[4] << 8 | r[5], len);
	assert_int_equal(r[6], 0);
	assert_memory_equal(r + 8, content, len);
}

static void
management_records_are_answered(void **state)
{
	static struct bytes in, names;
	static const unsigned char mpxs[] = "\x0f\x01" FCGI_MPXS_CONNS "0";
	static const unsigned char unknown[8] = {42};
	struct fcgi_proto p;
	size_t at = 0;

	(void)state;
	in.n = names.n = 0;
	spair(&names, FCGI_MAX_CONNS, "");
	spair(&names, FCGI_MPXS_CONNS, "");
	record(&in, FCGI_GET_VALUES, 0, names.b, names.n, 0);
	record(&in, 42, 0, "", 0, 0);
	fcgi_proto_init(&p, buf, sizeof(buf));
	assert_int_equal(feed_all(&p, &in, &at, 100000), FCGI_STEP_MORE);
	assert_reply(&p, 0, FCGI_GET_VALUES_RESULT, 0, mpxs, sizeof(mpxs) - 1);
	assert_reply(&p, 8 + sizeof(mpxs) - 1, FCGI_UNKNOWN_TYPE, 0, unknown, 8);
	assert_int_equal(p.reply_len, 8 + sizeof(mpxs) - 1 + 16);

	/* More than the reply room holds: the parser stops until the replies are sent. */
	in.n = 0;
	for (int i = 0; i < 40; i++)
		record(&in, 42, 0, "", 0, 0);
	at = 0;
	fcgi_proto_init(&p, buf, sizeof(buf));
	assert_int_equal(feed_all(&p, &in, &at, 100000), FCGI_STEP_REPLIES);
	{
		size_t sent = 0;
		int sends = 1;

		for (;;) {
			assert_true(p.reply_len > 0 && p.reply_len <= sizeof(p.reply));
			sent += p.reply_len;
			p.reply_len = 0;
			if (fcgi_proto_feed(&p, envp, FCGI_PROTO_MAX_PARAMS) == FCGI_STEP_MORE)
				break;
			sends++;
		}
		sent += p.reply_len;
		assert_int_equal(sent, 40 * 16);
		assert_true(sends >= 2);
	}
}

static void
roles_and_multiplexing_are_refused(void **state)
{
	static struct bytes in;
	static const unsigned char unknown_role[8] = {0, 0, 0, 0, FCGI_UNKNOWN_ROLE};
	static const unsigned char cant_mpx[8] = {0, 0, 0, 0, FCGI_CANT_MPX_CONN};
	struct fcgi_proto p;
	size_t at = 0;

	(void)state;
	in.n = 0;
	begin(&in, 2, FCGI_AUTHORIZER, 0);
	record(&in, FCGI_PARAMS, 2, "\x01\x01XY", 4, 0); /* for no request: ignored */
	begin(&in, 5, FCGI_RESPONDER, 0);
	begin(&in, 6, FCGI_RESPONDER, 0);
	record(&in, FCGI_PARAMS, 6, "\x01\x01XY", 4, 0);
	record(&in, FCGI_PARAMS, 5, nginx_params()->b, nginx_params()->n, 0);
	record(&in, FCGI_PARAMS, 5, "", 0, 0);
	record(&in, FCGI_STDIN, 5, "", 0, 0);
	fcgi_proto_init(&p, buf, sizeof(buf));
	assert_int_equal(feed_all(&p, &in, &at, 100000), FCGI_STEP_REQUEST);
	assert_int_equal(p.id, 5);
	assert_nginx_envp(envp);
	assert_reply(&p, 0, FCGI_END_REQUEST, 2, unknown_role, 8);
	assert_reply(&p, 16, FCGI_END_REQUEST, 6, cant_mpx, 8);
	assert_int_equal(p.reply_len, 32);
}

static void
an_abort_ends_the_request(void **state)
{
	static struct bytes in;
	static const unsigned char complete[8] = {0};
	struct fcgi_proto p;
	size_t at = 0;

	(void)state;
	in.n = 0;
	begin(&in, 4, FCGI_RESPONDER, 0);
	record(&in, FCGI_ABORT_REQUEST, 4, "", 0, 0);
	fcgi_proto_init(&p, buf, sizeof(buf));
	assert_int_equal(feed_all(&p, &in, &at, 100000), FCGI_STEP_CLOSE);
	assert_null(p.why);
	assert_reply(&p, 0, FCGI_END_REQUEST, 4, complete, 8);
}

/* What feeding a request with params stream s (or raw bytes in) ends in, and why. */
static enum fcgi_step
outcome(const struct bytes *in, const char **why)
{
	struct fcgi_proto p;
	size_t at = 0;
	enum fcgi_step step;

	fcgi_proto_init(&p, buf, sizeof(buf));
	step = feed_all(&p, in, &at, 100000);
	*why = p.why;
	return step;
}

static void
bad_input_is_refused_or_dropped(void **state)
{
	static struct bytes in, s;
	const char *why;

	(void)state;
	/* Not FastCGI 1: dropped. */
	in.n = 0;
	begin(&in, 1, FCGI_RESPONDER, 0);
	in.b[0] = 2;
	assert_int_equal(outcome(&in, &why), FCGI_STEP_CLOSE);
	assert_string_equal(why, "not FastCGI version 1");
	/* BEGIN_REQUEST of the wrong size, or twice for one request: dropped. */
	in.n = 0;
	record(&in, FCGI_BEGIN_REQUEST, 1, "\0\1\0\0\0\0\0", 7, 0);
	assert_int_equal(outcome(&in, &why), FCGI_STEP_CLOSE);
	in.n = 0;
	begin(&in, 1, FCGI_RESPONDER, 0);
	begin(&in, 1, FCGI_RESPONDER, 0);
	assert_int_equal(outcome(&in, &why), FCGI_STEP_CLOSE);
	/* Params that do not decode, or cannot be "NAME=value" strings: refused (500). */
	s.n = 0;
	spair(&s, "A", "b");
	s.b[s.n++] = 0x85; /* a four-byte length cut short */
	in.n = 0;
	request(&in, 1, 0, &s, 65535);
	assert_int_equal(outcome(&in, &why), FCGI_STEP_REFUSE);
	assert_string_equal(why, "params do not decode");
	memcpy(s.b,
	       "\x01\x05"
	       "Abc",
	       5); /* a value longer than the stream */
	s.n = 5;
	in.n = 0;
	request(&in, 1, 0, &s, 65535);
	assert_int_equal(outcome(&in, &why), FCGI_STEP_REFUSE);
	s.n = 0;
	spair(&s, "A=B", "c");
	in.n = 0;
	request(&in, 1, 0, &s, 65535);
	assert_int_equal(outcome(&in, &why), FCGI_STEP_REFUSE);
	s.n = 0;
	pair(&s, "A", 1, "b\0c", 3);
	in.n = 0;
	request(&in, 1, 0, &s, 65535);
	assert_int_equal(outcome(&in, &why), FCGI_STEP_REFUSE);
	s.n = 0;
	pair(&s, "", 0, "b", 1);
	in.n = 0;
	request(&in, 1, 0, &s, 65535);
	assert_int_equal(outcome(&in, &why), FCGI_STEP_REFUSE);
	s.n = 0;
	for (int i = 0; i <= FCGI_PROTO_MAX_PARAMS; i++)
		spair(&s, "A", "b");
	in.n = 0;
	request(&in, 1, 0, &s, 65535);
	assert_int_equal(outcome(&in, &why), FCGI_STEP_REFUSE);
	assert_string_equal(why, "too many params");
	/* One param fewer is taken. */
	s.n -= 4;
	in.n = 0;
	request(&in, 1, 0, &s, 65535);
	assert_int_equal(outcome(&in, &why), FCGI_STEP_REQUEST);
	/* Params past the buffer: refused; bytes that never begin a request: dropped. */
	s.n = 0;
	for (int i = 0; i < 3; i++)
		pair(&s, "A", 1, (const char *)filler, sizeof(filler));
	in.n = 0;
	request(&in, 1, 0, &s, 60000);
	assert_int_equal(outcome(&in, &why), FCGI_STEP_REFUSE);
	assert_string_equal(why, "request larger than the FastCGI buffer");
	in.n = 0;
	for (int i = 0; i < 4; i++)
		record(&in, FCGI_PARAMS, 1, filler, sizeof(filler), 0); /* of no request begun */
	assert_int_equal(outcome(&in, &why), FCGI_STEP_MORE);           /* all read and ignored */
}

static void
answers_are_framed(void **state)
{
	unsigned char head[FCGI_PROTO_HEAD_BYTES], tail[FCGI_PROTO_TAIL_BYTES];
	static const unsigned char want_head[8] = {1, FCGI_STDOUT, 0x12, 0x34, 0x01, 0x02, 0, 0};
	static const unsigned char want_tail[24] = {1,
	                                            FCGI_STDOUT,
	                                            0x12,
	                                            0x34,
	                                            0,
	                                            0,
	                                            0,
	                                            0,
	                                            1,
	                                            FCGI_END_REQUEST,
	                                            0x12,
	                                            0x34,
	                                            0,
	                                            8,
	                                            0,
	                                            0,
	                                            0,
	                                            0,
	                                            0,
	                                            0,
	                                            FCGI_REQUEST_COMPLETE,
	                                            0,
	                                            0,
	                                            0};

	(void)state;
	fcgi_proto_frame(0x1234, 0x102, head, tail);
	assert_memory_equal(head, want_head, sizeof(head));
	assert_memory_equal(tail, want_tail, sizeof(tail));
}

/* --- the epoll transport over a real unix socket ----------------------------------------- */

static const char *sock_path;

/* Answers with the request's PDP_URI (and the worker) as the body of a 200. */
static void
echo(void *ctx, unsigned worker, const char *const *env, struct response *rs)
{
	const char *uri = "none";

	(void)ctx;
	for (size_t i = 0; env[i] != NULL; i++) {
		if (strncmp(env[i], "PDP_URI=", 8) == 0)
			uri = env[i] + 8;
	}
	rs->status = 200;
	rs->len = (size_t)snprintf(rs->buf, sizeof(rs->buf), "Status: 200 OK\r\n\r\nuri=%s w=%u",
	                           uri, worker);
}

static int
dial(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void
send_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/* Reads until END_REQUEST arrives or the peer closes; returns the STDOUT text. */
static char *
read_answer(int fd, bool *closed)
{
	static unsigned char in[70000];
	static char out[70000];
	size_t n = 0, o = 0;

	*closed = false;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		assert_int_equal(poll(&pfd, 1, 5000), 1);
		r = read(fd, in + n, sizeof(in) - n);
		/* Closed with bytes of ours still unread there: a reset. */
		assert_true(r >= 0 || errno == ECONNRESET);
		if (r <= 0) {
			*closed = true;
			break;
		}
		n += (size_t)r;
		/* The whole records so far, from the first: STDOUT collected; END_REQUEST ends. */
		o = 0;
		for (size_t at = 0; at + 8 <= n;) {
			size_t len = (size_t)(in[at + 4] << 8 | in[at + 5]),
			       total = 8 + len + in[at + 6];

			if (at + total > n)
				break;
			if (in[at + 1] == FCGI_STDOUT) {
				memcpy(out + o, in + at + 8, len);
				o += len;
			}
			if (in[at + 1] == FCGI_END_REQUEST) {
				out[o] = '\0';
				return out;
			}
			at += total;
		}
	}
	out[o] = '\0';
	return out;
}

static void
epoll_transport_answers_over_a_socket(void **state)
{
	static struct bytes in, s;
	struct fcgi_server *srv;
	char err[256], addr[300];
	bool closed;
	int lfd, fd;
	char *answer;

	(void)state;
	sock_path = test_path("fcgi.sock");
	snprintf(addr, sizeof(addr), "unix:%s", sock_path);
	lfd = fcgi_listen(addr, 16, err, sizeof(err));
	assert_true(lfd >= 0);
	srv = fcgi_start(lfd, 2, NULL, echo, NULL);
	assert_non_null(srv);

	/* A request sent whole, as nginx does. */
	in.n = 0;
	request(&in, 1, 0, nginx_params(), 65535);
	fd = dial();
	send_all(fd, in.b, in.n);
	answer = read_answer(fd, &closed);
	assert_non_null(strstr(answer, "Status: 200 OK\r\n\r\nuri=/a?b=c w="));
	read_answer(fd, &closed);
	assert_true(closed);
	close(fd);

	/* A request in pieces with pauses: the loop waits for the rest. */
	fd = dial();
	for (size_t at = 0; at < in.n; at += 50) {
		struct timespec ms = {0, 2000000};

		send_all(fd, in.b + at, in.n - at < 50 ? in.n - at : 50);
		nanosleep(&ms, NULL);
	}
	answer = read_answer(fd, &closed);
	assert_non_null(strstr(answer, "uri=/a?b=c"));
	close(fd);

	/* FCGI_KEEP_CONN: two requests on one connection, the second after the first answer. */
	s.n = 0;
	spair(&s, "PDP_URI", "/one");
	in.n = 0;
	request(&in, 1, FCGI_KEEP_CONN, &s, 65535);
	fd = dial();
	send_all(fd, in.b, in.n);
	assert_non_null(strstr(read_answer(fd, &closed), "uri=/one"));
	assert_false(closed);
	s.n = 0;
	spair(&s, "PDP_URI", "/two");
	in.n = 0;
	request(&in, 2, 0, &s, 65535);
	send_all(fd, in.b, in.n);
	assert_non_null(strstr(read_answer(fd, &closed), "uri=/two"));
	close(fd);

	/* Params that cannot be taken: 500, never the handler's answer. */
	s.n = 0;
	spair(&s, "PDP_URI=", "/x");
	in.n = 0;
	request(&in, 1, 0, &s, 65535);
	fd = dial();
	send_all(fd, in.b, in.n);
	answer = read_answer(fd, &closed);
	assert_non_null(strstr(answer, "Status: 500"));
	assert_null(strstr(answer, "uri="));
	close(fd);

	/* Not FastCGI: the connection is closed without an answer. */
	fd = dial();
	send_all(fd, (const unsigned char *)"GET / HTTP/1.0\r\n\r\n", 18);
	answer = read_answer(fd, &closed);
	assert_true(closed);
	assert_string_equal(answer, "");
	close(fd);

	/* A peer that goes away mid-request costs nothing; the loops still answer after. */
	in.n = 0;
	request(&in, 1, 0, nginx_params(), 65535);
	fd = dial();
	send_all(fd, in.b, 20);
	close(fd);
	fd = dial();
	send_all(fd, in.b, in.n);
	assert_non_null(strstr(read_answer(fd, &closed), "uri=/a?b=c"));
	close(fd);

	/* Stopping with a request half sent: the loops give up on it and stop. */
	fd = dial();
	send_all(fd, in.b, 20);
	fcgi_stop(srv, lfd);
	read_answer(fd, &closed);
	assert_true(closed);
	close(fd);
	close(lfd);
}

/* A loop's own answer on a fresh connection: also a barrier, one batch of the loop's events. */
static void
round_trip(const struct bytes *in)
{
	bool closed;
	int fd = dial();

	send_all(fd, in->b, in->n);
	assert_non_null(strstr(read_answer(fd, &closed), "uri=/a?b=c"));
	close(fd);
}

/* True when the loop has closed fd (EOF within read_answer's wait). */
static bool
closed_by_loop(int fd)
{
	bool closed;

	read_answer(fd, &closed);
	return closed;
}

/* BEGIN_REQUEST and the header of a PARAMS record promising 65,535 bytes, into big. */
static void
large_params_head(struct bytes *big)
{
	big->n = 0;
	begin(big, 1, FCGI_RESPONDER, 0);
	memcpy(big->b + big->n,
	       (unsigned char[8]){FCGI_VERSION_1, FCGI_PARAMS, 0, 1, 0xff, 0xff, 0, 0}, 8);
	big->n += 8;
}

static void
silent_and_slow_peers_cannot_hold_the_loops(void **state)
{
	static struct bytes in, big;
	static unsigned char part[40000];
	struct fcgi_server *srv;
	char err[256], addr[300];
	int lfd, idle[4], a, b;

	(void)state;
	in.n = 0;
	request(&in, 1, 0, nginx_params(), 65535);
	sock_path = test_path("fcgi-limits.sock");
	snprintf(addr, sizeof(addr), "unix:%s", sock_path);

	/* A request not whole by its read deadline is closed. */
	lfd = fcgi_listen(addr, 16, err, sizeof(err));
	assert_true(lfd >= 0);
	srv = fcgi_start(lfd, 1, &(struct fcgi_limits){.read_timeout_ms = 200}, echo, NULL);
	assert_non_null(srv);
	a = dial();
	send_all(a, in.b, 20);
	assert_true(closed_by_loop(a));
	close(a);
	fcgi_stop(srv, lfd);
	close(lfd);

	/* A full loop closes its oldest connection for a new one, which is answered. */
	lfd = fcgi_listen(addr, 16, err, sizeof(err));
	assert_true(lfd >= 0);
	srv = fcgi_start(lfd, 1,
	                 &(struct fcgi_limits){
	                     .read_timeout_ms = 60000, .max_conns = 4, .max_buffered = 96 << 10},
	                 echo, NULL);
	assert_non_null(srv);
	for (int i = 0; i < 4; i++) {
		idle[i] = dial();
		send_all(idle[i], in.b, 3);
	}
	round_trip(&in);
	assert_true(closed_by_loop(idle[0]));
	for (int i = 0; i < 4; i++)
		close(idle[i]);

	/* Grown buffers past the loop's bound: the oldest holder is closed, the newer served. */
	large_params_head(&big);
	memset(part, 'x', sizeof(part));
	a = dial();
	send_all(a, big.b, big.n);
	send_all(a, part, sizeof(part));
	for (int i = 0; i < 10; i++)
		round_trip(&in); /* a batch each: a's buffer has grown to 64 KiB */
	b = dial();
	send_all(b, big.b, big.n);
	send_all(b, part, sizeof(part));
	for (int i = 0; i < 10; i++)
		round_trip(&in);
	assert_true(closed_by_loop(a));
	close(a);
	close(b);
	round_trip(&in);
	fcgi_stop(srv, lfd);
	close(lfd);
}

/* Listens on a socket of the test's own under name: the listening descriptor. */
static int
listen_on(const char *name)
{
	char err[256], addr[300];
	int lfd;

	sock_path = test_path(name);
	snprintf(addr, sizeof(addr), "unix:%s", sock_path);
	lfd = fcgi_listen(addr, 16, err, sizeof(err));
	assert_true(lfd >= 0);
	return lfd;
}

/* Held in its handler by a request with HOLD=1 until released; answers 8000 bytes. */
static sem_t held, release;

static void
bulky(void *ctx, unsigned worker, const char *const *env, struct response *rs)
{
	(void)ctx;
	(void)worker;
	for (size_t i = 0; env[i] != NULL; i++) {
		if (strcmp(env[i], "HOLD=1") == 0) {
			sem_post(&held);
			sem_wait(&release);
		}
	}
	memset(rs->buf, 'x', 8000);
	memcpy(rs->buf, "Status: 200 OK\r\n\r\n", 18);
	rs->len = 8000;
	rs->status = 200;
}

/* Appends n FCGI_KEEP_CONN requests carrying NAME=1. */
static void
keep_requests(struct bytes *in, const char *name, int n)
{
	static struct bytes s;

	s.n = 0;
	spair(&s, name, "1");
	for (int i = 0; i < n; i++)
		request(in, 1, FCGI_KEEP_CONN, &s, 65535);
}

/* Counts the END_REQUESTs fd receives until it has want or the peer closes. */
static int
count_answers(int fd, int want)
{
	static unsigned char in[1 << 20];
	size_t n = 0, at = 0;
	int ends = 0;

	while (ends < want) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pfd, 1, 5000) != 1 || (r = read(fd, in + n, sizeof(in) - n)) <= 0)
			break;
		n += (size_t)r;
		while (n - at >= 8) {
			size_t total = 8 + (size_t)(in[at + 4] << 8 | in[at + 5]) + in[at + 6];

			if (n - at < total)
				break;
			ends += in[at + 1] == FCGI_END_REQUEST;
			at += total;
		}
	}
	return ends;
}

static void
a_closed_connection_is_not_reused_in_its_batch(void **state)
{
	/* A GET_VALUES record: its reply stays unread, so closing x resets it (EPOLLERR). */
	static const unsigned char get_values[] = {
	    FCGI_VERSION_1, FCGI_GET_VALUES, 0, 0, 0, 5, 0, 0, 3, 0, 'A', 'B', 'C'};
	static struct bytes hold, many;
	struct fcgi_server *srv;
	struct pollfd pfd;
	int lfd, x, b, n;

	(void)state;
	lfd = listen_on("fcgi-reuse.sock");
	assert_int_equal(sem_init(&held, 0, 0), 0);
	assert_int_equal(sem_init(&release, 0, 0), 0);
	srv = fcgi_start(lfd, 1, &(struct fcgi_limits){.read_timeout_ms = 5000, .max_conns = 2},
	                 bulky, NULL);
	assert_non_null(srv);

	/* x: the oldest connection, its reply waiting; b holds the loop in its handler. */
	x = dial();
	send_all(x, get_values, sizeof(get_values));
	pfd = (struct pollfd){.fd = x, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	hold.n = 0;
	keep_requests(&hold, "HOLD", 1);
	b = dial();
	send_all(b, hold.b, hold.n);
	assert_int_equal(sem_wait(&held), 0);

	/* While the loop is busy: n connects (the loop is full: x is closed for it), sends 40
	 * requests whose answers overflow its socket, then x resets. The next batch holds the
	 * accept and x's error; the error must not reach n, which took x's place. */
	n = dial();
	many.n = 0;
	keep_requests(&many, "X", 40);
	send_all(n, many.b, many.n);
	close(x);
	sem_post(&release);
	assert_int_equal(count_answers(b, 1), 1);
	assert_int_equal(count_answers(n, 40), 40);
	close(n);
	close(b);
	fcgi_stop(srv, lfd);
	close(lfd);
	sem_destroy(&held);
	sem_destroy(&release);
}

static void
a_pipelining_peer_pins_one_answer(void **state)
{
	static struct bytes many, one;
	struct fcgi_server *srv;
	struct pollfd pfd;
	int lfd, n, fd, queued;

	(void)state;
	lfd = listen_on("fcgi-pipe.sock");
	srv = fcgi_start(lfd, 1, NULL, bulky, NULL);
	assert_non_null(srv);

	/* 40 requests sent at once, no answer read: the loop answers one and waits. */
	many.n = 0;
	keep_requests(&many, "X", 40);
	n = dial();
	send_all(n, many.b, many.n);
	pfd = (struct pollfd){.fd = n, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	one.n = 0;
	keep_requests(&one, "X", 1);
	fd = dial(); /* a barrier: the loop has handled n's requests when this is answered */
	send_all(fd, one.b, one.n);
	assert_int_equal(count_answers(fd, 1), 1);
	close(fd);
	assert_int_equal(ioctl(n, FIONREAD, &queued), 0);
	assert_true(queued <= 8000 + 32);

	/* Each answer taken lets the next request be served: all of them come. */
	assert_int_equal(count_answers(n, 40), 40);
	close(n);
	fcgi_stop(srv, lfd);
	close(lfd);
}

/* True when fd has neither an answer nor an end waiting. */
static bool
still_open(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, 0) == 0;
}

static void
a_growing_connection_closes_only_older_holders(void **state)
{
	static struct bytes in, big;
	static unsigned char part[40000];
	struct fcgi_server *srv;
	int lfd, a, b;

	(void)state;
	in.n = 0;
	request(&in, 1, 0, nginx_params(), 65535);
	lfd = listen_on("fcgi-grow.sock");
	srv = fcgi_start(lfd, 1,
	                 &(struct fcgi_limits){.read_timeout_ms = 60000, .max_buffered = 96 << 10},
	                 echo, NULL);
	assert_non_null(srv);
	large_params_head(&big);
	memset(part, 'x', sizeof(part));

	/* a (older) holds 8 KiB, b (newer) 64 KiB; then a needs 64 KiB: past the bound. */
	a = dial();
	send_all(a, big.b, big.n);
	send_all(a, part, 5000);
	round_trip(&in);
	b = dial();
	send_all(b, big.b, big.n);
	send_all(b, part, sizeof(part));
	round_trip(&in);
	send_all(a, part, 30000);
	round_trip(&in);
	/* a is refused; b, newer, keeps its buffer. */
	assert_true(closed_by_loop(a));
	assert_true(still_open(b));
	close(a);
	close(b);
	round_trip(&in);
	fcgi_stop(srv, lfd);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(a_request_in_one_piece_and_byte_by_byte),
	    cmocka_unit_test(keep_conn_serves_requests_in_turn),
	    cmocka_unit_test(a_body_is_read_and_dropped),
	    cmocka_unit_test(management_records_are_answered),
	    cmocka_unit_test(roles_and_multiplexing_are_refused),
	    cmocka_unit_test(an_abort_ends_the_request),
	    cmocka_unit_test(bad_input_is_refused_or_dropped),
	    cmocka_unit_test(answers_are_framed),
	    cmocka_unit_test(epoll_transport_answers_over_a_socket),
	    cmocka_unit_test(silent_and_slow_peers_cannot_hold_the_loops),
	    cmocka_unit_test(a_closed_connection_is_not_reused_in_its_batch),
	    cmocka_unit_test(a_pipelining_peer_pins_one_answer),
	    cmocka_unit_test(a_growing_connection_closes_only_older_holders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
