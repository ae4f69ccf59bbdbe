/* fcgi_proto.h - FastCGI records of the responder role: read from a buffer, framed to write */
#ifndef PDP_FCGI_PROTO_H
#define PDP_FCGI_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The most a connection's buffer needs: a request's params (nginx sends them
 * in one record of at most 64 KiB) and one more whole record behind them.
 */
#define FCGI_PROTO_MAX_BUFFER (2 * (8 + 65535 + 255) + 4096)
/* Params one request may carry; a request with more is refused. */
#define FCGI_PROTO_MAX_PARAMS 512
/* Room kept for replies to management records (each at most 32 bytes). */
#define FCGI_PROTO_REPLY_ROOM 256
/* Head and tail of an answer: a STDOUT record's header; an empty STDOUT and END_REQUEST. */
#define FCGI_PROTO_HEAD_BYTES 8
#define FCGI_PROTO_TAIL_BYTES 24
/* The most an answer may carry in its one STDOUT record. */
#define FCGI_PROTO_MAX_ANSWER 65535

enum fcgi_step {
	FCGI_STEP_MORE,    /* no whole request yet: read more into the buffer */
	FCGI_STEP_REPLIES, /* the reply room is full: send the replies, then feed again */
	FCGI_STEP_REQUEST, /* a request is complete: its params are in envp */
	FCGI_STEP_REFUSE,  /* a request that cannot be taken as it came: answer 500, close */
	FCGI_STEP_CLOSE,   /* nothing more to do on this connection (why: a protocol error) */
};

/*
 * One connection's reading state over a buffer the caller owns and fills:
 * bytes arrive at buf[len], records are taken from buf[raw]. A request's
 * params are gathered at the front of the same buffer, so a request needs no
 * room beyond its own bytes.
 */
struct fcgi_proto {
	unsigned char *buf;
	size_t cap, len; /* the buffer's size and the bytes in it */
	size_t raw;      /* the first byte not yet taken as a record */
	size_t params;   /* the request's params stream, gathered at buf[0, params) */
	uint16_t id;     /* the request being received (0: none) */
	bool keep_conn, params_done, stdin_done;
	const char *why; /* set with FCGI_STEP_REFUSE and FCGI_STEP_CLOSE on an error */
	/* Replies to management records and to refused BEGIN_REQUESTs, to be sent as they are. */
	unsigned char reply[FCGI_PROTO_REPLY_ROOM];
	size_t reply_len;
};

/* Starts reading a new connection into buf (cap bytes, owned by the caller). */
void fcgi_proto_init(struct fcgi_proto *p, unsigned char *buf, size_t cap);

/* Moves the unread bytes to a new buffer of cap bytes (at least len): the caller's old one is
 * no longer used. */
void fcgi_proto_move(struct fcgi_proto *p, unsigned char *buf, size_t cap);

/*
 * Takes the whole records in the buffer. On FCGI_STEP_REQUEST, envp (room for
 * envp_max entries and a NULL) holds the params as "NAME=value" strings that
 * live in the buffer until fcgi_proto_next. A request whose params do not
 * decode, hold a NUL or '=' in a name, or are more than envp_max is refused;
 * so is one that does not fit a full buffer of FCGI_PROTO_MAX_BUFFER bytes.
 * Whatever the step, replies in p->reply go to the peer before anything else.
 */
enum fcgi_step fcgi_proto_feed(struct fcgi_proto *p, const char **envp, size_t envp_max);

/*
 * After the answer to a request: true when the connection stays open for the
 * next one (the peer asked FCGI_KEEP_CONN), with any bytes already read kept.
 */
bool fcgi_proto_next(struct fcgi_proto *p);

/*
 * Frames an answer of len bytes (at most FCGI_PROTO_MAX_ANSWER) to request id:
 * head goes before the answer, tail after it.
 */
void fcgi_proto_frame(uint16_t id, size_t len, unsigned char head[FCGI_PROTO_HEAD_BYTES],
                      unsigned char tail[FCGI_PROTO_TAIL_BYTES]);

#endif
