/* fcgi_proto.c - FastCGI records of the responder role: read from a buffer, framed to write */
#include "transport/fcgi_proto.h"

#include <fastcgi.h>
#include <string.h>

/* The largest reply one record can ask for: END_REQUEST or UNKNOWN_TYPE (16 bytes) or the
 * GET_VALUES_RESULT below (8 + 2 + 15 + 1). */
#define REPLY_MAX 32

void
fcgi_proto_init(struct fcgi_proto *p, unsigned char *buf, size_t cap)
{
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->cap = cap;
}

void
fcgi_proto_move(struct fcgi_proto *p, unsigned char *buf, size_t cap)
{
	memcpy(buf, p->buf, p->len);
	p->buf = buf;
	p->cap = cap;
}

static void
put_header(unsigned char *h, int type, uint16_t id, size_t len)
{
	h[0] = FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0; /* no padding */
	h[7] = 0;
}

static void
put_end_request(unsigned char *r, uint16_t id, int protocol_status)
{
	put_header(r, FCGI_END_REQUEST, id, 8);
	memset(r + 8, 0, 8); /* appStatus 0 */
	r[12] = (unsigned char)protocol_status;
}

void
fcgi_proto_frame(uint16_t id, size_t len, unsigned char head[FCGI_PROTO_HEAD_BYTES],
                 unsigned char tail[FCGI_PROTO_TAIL_BYTES])
{
	put_header(head, FCGI_STDOUT, id, len);
	put_header(tail, FCGI_STDOUT, id, 0);
	put_end_request(tail + 8, id, FCGI_REQUEST_COMPLETE);
}

static void
reply_end_request(struct fcgi_proto *p, uint16_t id, int protocol_status)
{
	put_end_request(p->reply + p->reply_len, id, protocol_status);
	p->reply_len += 16;
}

static void
reply_unknown_type(struct fcgi_proto *p, int type)
{
	unsigned char *r = p->reply + p->reply_len;

	put_header(r, FCGI_UNKNOWN_TYPE, FCGI_NULL_REQUEST_ID, 8);
	memset(r + 8, 0, 8);
	r[8] = (unsigned char)type;
	p->reply_len += 16;
}

/* A name-value pair's length (FastCGI 1.0 §3.4): one byte, or four with the top bit set. */
static bool
nv_length(const unsigned char *s, size_t avail, size_t *used, size_t *len)
{
	if (avail >= 1 && s[0] < 0x80) {
		*used = 1;
		*len = s[0];
		return true;
	}
	if (avail < 4)
		return false;
	*used = 4;
	*len = (size_t)(s[0] & 0x7f) << 24 | (size_t)s[1] << 16 | (size_t)s[2] << 8 | s[3];
	return true;
}

/* The next pair of s[*at, end): name and value, or false when the rest is not one. */
static bool
nv_next(const unsigned char *s, size_t end, size_t *at, size_t *name, size_t *nlen, size_t *value,
        size_t *vlen)
{
	size_t u1, u2;

	if (!nv_length(s + *at, end - *at, &u1, nlen) ||
	    !nv_length(s + *at + u1, end - *at - u1, &u2, vlen))
		return false;
	*name = *at + u1 + u2;
	if (*nlen > end - *name || *vlen > end - *name - *nlen)
		return false;
	*value = *name + *nlen;
	*at = *value + *vlen;
	return true;
}

/*
 * GET_VALUES: the one variable this responder has an answer for is
 * FCGI_MPXS_CONNS ("0": one request at a time on a connection); others go
 * unanswered, as the specification allows.
 */
static void
reply_get_values(struct fcgi_proto *p, const unsigned char *s, size_t len)
{
	static const char mpxs[] = FCGI_MPXS_CONNS;
	unsigned char *r = p->reply + p->reply_len;
	size_t at = 0, name, nlen, value, vlen, out = 0;

	while (at < len && nv_next(s, len, &at, &name, &nlen, &value, &vlen)) {
		if (nlen == sizeof(mpxs) - 1 && memcmp(s + name, mpxs, nlen) == 0) {
			r[8] = (unsigned char)nlen;
			r[9] = 1;
			memcpy(r + 10, mpxs, nlen);
			r[10 + nlen] = '0';
			out = 2 + nlen + 1;
			break;
		}
	}
	put_header(r, FCGI_GET_VALUES_RESULT, FCGI_NULL_REQUEST_ID, out);
	p->reply_len += 8 + out;
}

/*
 * The params stream at buf[0, params) decoded in place into "NAME=value"
 * strings: each pair's one or more length bytes on each side make room for
 * the '=' and the NUL, so the output never overtakes the input.
 */
static bool
decode_params(struct fcgi_proto *p, const char **envp, size_t envp_max)
{
	unsigned char *s = p->buf;
	size_t at = 0, out = 0, n = 0, name, nlen, value, vlen;

	while (at < p->params) {
		if (!nv_next(s, p->params, &at, &name, &nlen, &value, &vlen)) {
			p->why = "params do not decode";
			return false;
		}
		if (nlen == 0 || memchr(s + name, '=', nlen) != NULL ||
		    memchr(s + name, '\0', nlen) != NULL || memchr(s + value, '\0', vlen) != NULL) {
			p->why = "a param's name is empty or holds '=' or NUL, or its value NUL";
			return false;
		}
		if (n == envp_max) {
			p->why = "too many params";
			return false;
		}
		envp[n++] = (const char *)s + out;
		memmove(s + out, s + name, nlen);
		s[out + nlen] = '=';
		memmove(s + out + nlen + 1, s + value, vlen);
		out += nlen + 1 + vlen;
		s[out++] = '\0';
	}
	envp[n] = NULL;
	return true;
}

/* Forgets the request, keeping the bytes not yet taken at the front of the buffer. */
static void
request_reset(struct fcgi_proto *p)
{
	memmove(p->buf, p->buf + p->raw, p->len - p->raw);
	p->len -= p->raw;
	p->raw = 0;
	p->params = 0;
	p->id = 0;
	p->keep_conn = p->params_done = p->stdin_done = false;
}

static enum fcgi_step
fail(struct fcgi_proto *p, enum fcgi_step step, const char *why)
{
	p->why = why;
	return step;
}

enum fcgi_step
fcgi_proto_feed(struct fcgi_proto *p, const char **envp, size_t envp_max)
{
	for (;;) {
		const unsigned char *h = p->buf + p->raw;
		size_t avail = p->len - p->raw, clen, total;
		uint16_t id;
		int type;

		if (p->params_done && p->stdin_done)
			return decode_params(p, envp, envp_max) ? FCGI_STEP_REQUEST
			                                        : FCGI_STEP_REFUSE;
		if (p->reply_len + REPLY_MAX > sizeof(p->reply))
			return FCGI_STEP_REPLIES;
		if (avail < FCGI_HEADER_LEN)
			break;
		if (h[0] != FCGI_VERSION_1)
			return fail(p, FCGI_STEP_CLOSE, "not FastCGI version 1");
		type = h[1];
		id = (uint16_t)(h[2] << 8 | h[3]);
		clen = (size_t)h[4] << 8 | h[5];
		total = FCGI_HEADER_LEN + clen + h[6];
		if (avail < total)
			break;
		h += FCGI_HEADER_LEN;
		p->raw += total;
		if (id == FCGI_NULL_REQUEST_ID) {
			if (type == FCGI_GET_VALUES)
				reply_get_values(p, h, clen);
			else
				reply_unknown_type(p, type);
			continue;
		}
		if (type == FCGI_BEGIN_REQUEST) {
			if (clen != 8)
				return fail(p, FCGI_STEP_CLOSE,
				            "BEGIN_REQUEST body is not 8 bytes");
			if (id == p->id)
				return fail(p, FCGI_STEP_CLOSE,
				            "BEGIN_REQUEST for a request begun");
			if (p->id != 0)
				reply_end_request(p, id, FCGI_CANT_MPX_CONN);
			else if ((h[0] << 8 | h[1]) != FCGI_RESPONDER)
				reply_end_request(p, id, FCGI_UNKNOWN_ROLE);
			else {
				p->id = id;
				p->keep_conn = (h[2] & FCGI_KEEP_CONN) != 0;
			}
			continue;
		}
		if (id != p->id)
			continue; /* not the request being received: ignored (FastCGI 1.0 §3.3) */
		if (type == FCGI_ABORT_REQUEST) {
			reply_end_request(p, id, FCGI_REQUEST_COMPLETE);
			if (!p->keep_conn)
				return FCGI_STEP_CLOSE;
			request_reset(p);
		} else if (type == FCGI_PARAMS && !p->params_done) {
			/* Gathered at the front: raw is past this record, so never below params. */
			memmove(p->buf + p->params, h, clen);
			p->params += clen;
			p->params_done = clen == 0;
		} else if (type == FCGI_STDIN) {
			/* A body (an auth request has none) is read and dropped. */
			p->stdin_done = p->stdin_done || clen == 0;
		}
	}
	/* Keeps only what is still to be read: the params, then the unread records. */
	memmove(p->buf + p->params, p->buf + p->raw, p->len - p->raw);
	p->len -= p->raw - p->params;
	p->raw = p->params;
	if (p->len == p->cap && p->cap >= FCGI_PROTO_MAX_BUFFER)
		return fail(p, p->id != 0 ? FCGI_STEP_REFUSE : FCGI_STEP_CLOSE,
		            "request larger than the FastCGI buffer");
	return FCGI_STEP_MORE;
}

bool
fcgi_proto_next(struct fcgi_proto *p)
{
	if (!p->keep_conn)
		return false;
	request_reset(p);
	return true;
}
