/* http_proto.h - HTTP/1.1 requests of the HTTP front: read from a buffer, answers framed to write
 */
#ifndef PDP_HTTP_PROTO_H
#define PDP_HTTP_PROTO_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "transport/fcgi_proto.h"
#include "transport/response.h"

/* A request's header section at most: the FastCGI side's bound on a request's params. */
#define HTTP_PROTO_MAX_HEADER 65535
/* Header fields one request may carry. */
#define HTTP_PROTO_MAX_FIELDS 64
/* The most a connection's buffer needs: a whole header section and what was sent behind it. */
#define HTTP_PROTO_MAX_BUFFER FCGI_PROTO_MAX_BUFFER
/* The params a request can yield: one per header of the contract (DESIGN §1). */
#define HTTP_PROTO_MAX_PARAMS 16
/* Room for a request's params as "NAME=value" strings: values come from one header section. */
#define HTTP_PROTO_ENV_BYTES (HTTP_PROTO_MAX_HEADER + 512)
/* Frames of an answer (http_proto_answer). */
#define HTTP_PROTO_ANSWER_IOVS 4

enum http_step {
	HTTP_STEP_MORE,    /* no whole request yet: read more into the buffer */
	HTTP_STEP_REQUEST, /* a request is complete: its params are in envp */
	HTTP_STEP_REFUSE,  /* a request refused (why): answer 400 and close */
};

/*
 * One connection's reading state over a buffer the caller owns and fills:
 * bytes arrive at buf[len]; the parser has taken buf[0, parsed). Positions
 * of the request's headers are kept as offsets, so the buffer may move.
 */
struct http_proto {
	unsigned char *buf;
	size_t cap, len;
	size_t parsed;
	http_parser parser;
	const char *why;  /* set with HTTP_STEP_REFUSE */
	bool complete;    /* the request in buf[0, parsed) is whole */
	bool refused;     /* a callback refused it (why) */
	bool target_seen; /* the request target began */
	bool in_value;    /* the last callback was a header value */
	size_t n_fields;  /* header fields so far */
	size_t name_at, name_len;
	size_t value_at, value_len;
	struct {
		bool set;
		size_t at, len;
	} param[HTTP_PROTO_MAX_PARAMS];
};

/* Starts reading a new connection into buf (cap bytes, owned by the caller). */
void http_proto_init(struct http_proto *h, unsigned char *buf, size_t cap);

/* Moves the unread bytes to a new buffer of cap bytes (at least len). */
void http_proto_move(struct http_proto *h, unsigned char *buf, size_t cap);

/*
 * Parses what the buffer holds. On HTTP_STEP_REQUEST, envp (room for
 * HTTP_PROTO_MAX_PARAMS entries and a NULL) holds the request's params as
 * "NAME=value" strings (the FastCGI names of DESIGN §1) written into env
 * (HTTP_PROTO_ENV_BYTES); headers outside the contract are left out. A
 * request with a body, any Transfer-Encoding, an Upgrade, a target not in
 * origin form, a header of the contract twice, more than
 * HTTP_PROTO_MAX_FIELDS fields, a header section over
 * HTTP_PROTO_MAX_HEADER bytes, or malformed syntax is refused.
 */
enum http_step http_proto_feed(struct http_proto *h, const char **envp, char *env);

/*
 * After the answer to a request: true when the connection stays open for the
 * next one (HTTP/1.1 without Connection: close, or HTTP/1.0 with
 * Connection: keep-alive), with the bytes sent behind it moved to the front.
 */
bool http_proto_next(struct http_proto *h);

/* Whether the connection closes after the request just parsed. */
bool http_proto_closes(const struct http_proto *h);

/*
 * Frames rs (a CGI answer: a Status line, headers, an empty line, a body) as
 * an HTTP/1.1 answer into iov: "HTTP/1.1 <status> <reason>", the same
 * headers, "Connection: close" when close, then the body. An answer not in
 * that shape becomes the 500 of response_error. Returns the iovecs used.
 */
int http_proto_answer(struct response *rs, bool close, struct iovec iov[HTTP_PROTO_ANSWER_IOVS]);

/* The refusal: 400 and the connection closed. */
extern const char http_proto_refusal[];
extern const size_t http_proto_refusal_len;

#endif
