/* fcgi_loop.c - the epoll transport: one event loop per thread over shared listening sockets, each
 * speaking FastCGI or HTTP/1.1 */
#include "transport/fcgi_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "transport/fcgi_proto.h"
#include "transport/http_proto.h"
#include "transport/response.h"

/* A connection's buffer before it needs a larger one: an auth request is about 2 KiB. */
#define CONN_INLINE_BYTES 4096
/*
 * Connections one loop holds by default; a new one beyond it closes the oldest
 * (nginx's answer to the same pressure: ngx_drain_connections), so silent or
 * slow peers can delay only each other, never the connections behind them.
 */
#define LOOP_MAX_CONNS 4096
/* Bytes of grown buffers one loop holds by default; past it the oldest holders are closed. */
#define LOOP_MAX_BUFFERED (16u << 20)
/* Connections closed at once when accept finds no descriptor left (as ngx_drain_connections). */
#define DRAIN_CONNS 32
/* Events a loop takes at once; a full batch means a busy loop. */
#define LOOP_EVENTS 64
/*
 * Connections a busy loop accepts per wakeup of the listening socket, so
 * that the backlog drains faster than peers can fill it. A loop takes one
 * (a second accept would usually find the queue empty: at light load nginx's
 * requests come one a wakeup, each with its request already sent) unless its
 * event batch came back full, the previous wakeup found more than one, or
 * the connection just taken sent nothing yet (a flood of idle connects).
 */
#define ACCEPT_BATCH 32
/*
 * Reads of one connection per wakeup at most: enough for a request of the
 * largest buffer (4 KiB doubled to 132 KiB), and a peer sending without end
 * does not keep its loop from the others.
 */
#define READS_PER_WAKEUP 8
/* Closed connections a loop keeps for reuse instead of freeing them. */
#define LOOP_SPARE_CONNS 64
/* A pause in accepting after it failed for want of descriptors or memory. */
#define ACCEPT_PAUSE_MS 10
/* How long a stopping loop waits for the requests it holds. */
#define STOP_GRACE_MS 900

struct conn {
	int fd; /* -1 once closed */
	enum listen_front front;
	bool watched;  /* registered with the loop's epoll */
	bool answered; /* out holds an answer being written, or the peer has yet to take one */
	bool paused;   /* watched for EPOLLOUT|EPOLLET until the peer takes its answers */
	bool close_after;
	int64_t deadline;
	struct conn *prev, *next; /* the loop's connections, oldest (first to expire) first */
	struct fcgi_proto p;      /* FRONT_FASTCGI: its reader and buffer */
	struct http_proto h;      /* FRONT_HTTP: its reader and buffer */
	unsigned char *big;       /* the buffer once the inline one is outgrown, else NULL */
	unsigned char *out;       /* answer bytes not yet written (malloc'd, counted as buffered) */
	size_t out_len, out_at;   /* their length and how far they went */
	unsigned char small[CONN_INLINE_BYTES];
};

struct loop {
	pthread_t thread;
	struct fcgi_loops *all;
	unsigned index;
	int ep;
	bool accepting;           /* the listening sockets are in ep */
	int64_t accept_resume;    /* when accepting was paused: when to resume; else 0 */
	bool accept_more;         /* the last wakeup of the listening socket found a queue */
	struct conn *head, *tail; /* by deadline */
	size_t n_conns;
	size_t buffered;     /* bytes in the connections' grown buffers and queued answers */
	struct conn *closed; /* closed in this batch: spares once it ends, chained by next */
	struct conn *spare;  /* closed connections for reuse, chained by next */
	size_t n_spare;
	time_t last_error;
	struct response rs;
	const char *envp[FCGI_PROTO_MAX_PARAMS + 1];
	char http_env[HTTP_PROTO_ENV_BYTES]; /* an HTTP request's params (envp points here) */
};

struct fcgi_loops {
	struct fcgi_listener listeners[FCGI_MAX_LISTENERS]; /* epoll tags: pointers to these */
	size_t n_listeners;
	int stop_fd;
	fcgi_handler *handler;
	fcgi_accept_hook *accepted;
	void *ctx;
	struct fcgi_limits lim;
	unsigned started;
	struct loop *loops;
};

/* The epoll tag of the stop descriptor; listeners and connections are tagged by pointer. */
static char stop_tag;

static bool
is_listener(const struct fcgi_loops *all, const void *tag)
{
	return (const char *)tag >= (const char *)all->listeners &&
	       (const char *)tag < (const char *)(all->listeners + all->n_listeners);
}

/* The connection's buffer, its size and the bytes in it: its front's reader holds them. */
static unsigned char *
conn_buf(const struct conn *c)
{
	return c->front == FRONT_HTTP ? c->h.buf : c->p.buf;
}

static size_t
conn_cap(const struct conn *c)
{
	return c->front == FRONT_HTTP ? c->h.cap : c->p.cap;
}

static size_t *
conn_len(struct conn *c)
{
	return c->front == FRONT_HTTP ? &c->h.len : &c->p.len;
}

static void
warn_once_a_second(struct loop *l, const char *what, const char *why)
{
	time_t now = time(NULL);

	if (now != l->last_error) {
		l->last_error = now;
		log_warn("%s: %s", what, why);
	}
}

static void
list_unlink(struct loop *l, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
}

static void
list_append(struct loop *l, struct conn *c)
{
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

/* Watches all the listening sockets, or none: a failure to add one undoes the others. */
static void
accept_watch(struct loop *l, bool on)
{
	struct fcgi_loops *all = l->all;

	if (on == l->accepting)
		return;
	for (size_t i = 0; i < all->n_listeners; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
		                         .data.ptr = &all->listeners[i]};

		if (!on) {
			epoll_ctl(l->ep, EPOLL_CTL_DEL, all->listeners[i].fd, NULL);
		} else if (epoll_ctl(l->ep, EPOLL_CTL_ADD, all->listeners[i].fd, &ev) != 0) {
			warn_once_a_second(l, "epoll_ctl on a listening socket", strerror(errno));
			while (i-- > 0)
				epoll_ctl(l->ep, EPOLL_CTL_DEL, all->listeners[i].fd, NULL);
			return;
		}
	}
	l->accepting = on;
}

/*
 * Closes c and keeps it for spares_trim: an event for it may still be pending
 * in the batch being handled (an older connection closed to make room), so it
 * is neither reused nor freed before the batch ends. Reused within the batch,
 * that stale event would be taken as the new connection's.
 */
static void
conn_close(struct loop *l, struct conn *c)
{
	/* Closing the descriptor also takes it out of the loop's epoll. */
	close(c->fd);
	c->fd = -1;
	list_unlink(l, c);
	l->n_conns--;
	if (c->big != NULL)
		l->buffered -= conn_cap(c);
	if (c->out != NULL)
		l->buffered -= c->out_len;
	free(c->big);
	free(c->out);
	c->big = NULL;
	c->out = NULL;
	c->next = l->closed;
	l->closed = c;
}

/*
 * Makes the connections closed in the batch spares and frees those beyond
 * LOOP_SPARE_CONNS: between batches, when no event points at one.
 */
static void
spares_trim(struct loop *l)
{
	while (l->closed != NULL) {
		struct conn *c = l->closed;

		l->closed = c->next;
		c->next = l->spare;
		l->spare = c;
		l->n_spare++;
	}
	while (l->n_spare > LOOP_SPARE_CONNS) {
		struct conn *c = l->spare;

		l->spare = c->next;
		l->n_spare--;
		free(c);
	}
}

static bool
conn_watch(struct loop *l, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (epoll_ctl(l->ep, c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		warn_once_a_second(l, "epoll_ctl on a connection", strerror(errno));
		return false;
	}
	c->watched = true;
	return true;
}

/*
 * Makes room for need more bytes of buffers in the loop: closes the
 * connections older than c that hold a grown buffer or a queued answer,
 * oldest first, never c or a newer one. False when that is not enough.
 */
static bool
buffers_make_room(struct loop *l, struct conn *c, size_t need)
{
	struct conn *o = l->head;

	while (l->buffered + need > l->all->lim.max_buffered && o != NULL && o != c) {
		struct conn *next = o->next;

		if (o->big != NULL || o->out != NULL) {
			warn_once_a_second(l, "connection buffers full",
			                   "closing the oldest incomplete connections");
			conn_close(l, o);
		}
		o = next;
	}
	return l->buffered + need <= l->all->lim.max_buffered;
}

/* Writes what the iovecs hold; what the socket does not take now is kept in c->out. */
static bool
conn_send(struct loop *l, struct conn *c, const struct iovec *iov, int n)
{
	size_t total = 0, done, at = 0;
	ssize_t w;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};

	/* MSG_NOSIGNAL: a peer gone is an error here, not a SIGPIPE for the process. */
	do
		w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno != EAGAIN)
		return false;
	done = w < 0 ? 0 : (size_t)w;
	if (done == total)
		return true;
	if (!buffers_make_room(l, c, total - done) || (c->out = malloc(total - done)) == NULL)
		return false;
	for (int i = 0; i < n; i++) {
		size_t skip = done > iov[i].iov_len ? iov[i].iov_len : done;

		memcpy(c->out + at, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip);
		at += iov[i].iov_len - skip;
		done -= skip;
	}
	c->out_len = at;
	c->out_at = 0;
	l->buffered += at;
	return conn_watch(l, c, EPOLLOUT);
}

/* Writes the rest of c->out; true when all of it went. */
static bool
conn_flush(struct loop *l, struct conn *c, bool *failed)
{
	while (c->out != NULL && c->out_at < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_at, c->out_len - c->out_at, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			*failed = errno != EAGAIN;
			return false;
		}
		c->out_at += (size_t)w;
	}
	if (c->out != NULL)
		l->buffered -= c->out_len;
	free(c->out);
	c->out = NULL;
	return true;
}

/* Answers the request in c->p: the handler's answer, or 500 when refused. */
static bool
conn_answer(struct loop *l, struct conn *c, bool refused)
{
	struct fcgi_loops *all = l->all;
	unsigned char head[FCGI_PROTO_HEAD_BYTES], tail[FCGI_PROTO_TAIL_BYTES];
	struct iovec iov[4];

	if (refused)
		response_error(&l->rs);
	else
		all->handler(all->ctx, l->index, l->envp, &l->rs);
	if (l->rs.len + l->rs.body_len > FCGI_PROTO_MAX_ANSWER)
		response_error(&l->rs);
	fcgi_proto_frame(c->p.id, l->rs.len + l->rs.body_len, head, tail);
	iov[0] = (struct iovec){head, sizeof(head)};
	iov[1] = (struct iovec){l->rs.buf, l->rs.len};
	iov[2] = (struct iovec){(void *)l->rs.body, l->rs.body_len};
	iov[3] = (struct iovec){tail, sizeof(tail)};
	return conn_send(l, c, iov, 4);
}

/*
 * Doubles c's buffer (up to FCGI_PROTO_MAX_BUFFER). When the loop's buffers
 * would pass their bound, older connections holding some are closed first;
 * false (c to be closed) when that is not enough.
 */
static bool
conn_grow(struct loop *l, struct conn *c)
{
	size_t cap =
	    conn_cap(c) * 2 < FCGI_PROTO_MAX_BUFFER ? conn_cap(c) * 2 : FCGI_PROTO_MAX_BUFFER;
	size_t held = c->big != NULL ? conn_cap(c) : 0;
	unsigned char *big;

	_Static_assert(HTTP_PROTO_MAX_BUFFER == FCGI_PROTO_MAX_BUFFER, "one buffer bound");
	if (!buffers_make_room(l, c, cap - held) || (big = malloc(cap)) == NULL)
		return false;
	if (c->front == FRONT_HTTP)
		http_proto_move(&c->h, big, cap);
	else
		fcgi_proto_move(&c->p, big, cap);
	free(c->big);
	c->big = big;
	l->buffered = l->buffered - held + cap;
	return true;
}

enum conn_state {
	CONN_WAIT,
	CONN_CLOSE,
	CONN_EMPTY, /* as CONN_WAIT, the peer having sent nothing yet */
	CONN_NEXT,  /* go on with the requests already read */
};

/*
 * True when c's next request was sent before its peer took the answers
 * already written (pipelined; nginx never does): it waits until they are
 * taken, so a peer that does not read pins one answer in the kernel, not a
 * whole socket buffer of them. A failed query counts as not taken.
 */
static bool
conn_pipelined_ahead(struct conn *c)
{
	int queued;

	return *conn_len(c) > 0 && (ioctl(c->fd, SIOCOUTQ, &queued) != 0 || queued > 0);
}

/* Waits for c's peer to take its answers: each read of theirs is one edge. */
static bool
conn_pause(struct loop *l, struct conn *c)
{
	c->answered = true;
	if (c->paused)
		return true;
	c->paused = true;
	return conn_watch(l, c, EPOLLOUT | EPOLLET);
}

/*
 * After an answer was sent or queued (c->close_after said whether it is the
 * last): CONN_NEXT to go on with the requests already read, else what to do.
 */
static enum conn_state
conn_answered(struct loop *l, struct conn *c)
{
	if (!c->close_after) {
		/* Kept open: the next request has a deadline of its own, and an idle
		 * connection is closed at it (it counts against max_conns meanwhile). */
		c->deadline = clock_ms() + l->all->lim.read_timeout_ms;
		list_unlink(l, c);
		list_append(l, c);
	}
	if (c->out != NULL) {
		c->answered = true;
		return CONN_WAIT;
	}
	if (c->close_after)
		return CONN_CLOSE;
	if (conn_pipelined_ahead(c))
		return conn_pause(l, c) ? CONN_WAIT : CONN_CLOSE;
	return CONN_NEXT;
}

/* No whole request yet: a full buffer grows for the rest (CONN_CLOSE when it cannot). */
static enum conn_state
conn_more(struct loop *l, struct conn *c)
{
	if (*conn_len(c) == conn_cap(c) && !conn_grow(l, c)) {
		warn_once_a_second(
		    l, c->front == FRONT_HTTP ? "HTTP connection" : "FastCGI connection",
		    "no memory for its request left");
		return CONN_CLOSE;
	}
	return CONN_WAIT;
}

/* The HTTP front's conn_serve: one request at a time, answered in order. */
static enum conn_state
conn_serve_http(struct loop *l, struct conn *c)
{
	struct fcgi_loops *all = l->all;
	struct iovec iov[HTTP_PROTO_ANSWER_IOVS];
	enum conn_state st;

	for (;;) {
		switch (http_proto_feed(&c->h, l->envp, l->http_env)) {
		case HTTP_STEP_MORE:
			return conn_more(l, c);
		case HTTP_STEP_REFUSE:
			warn_once_a_second(l, "HTTP request refused", c->h.why);
			iov[0] = (struct iovec){(void *)http_proto_refusal, http_proto_refusal_len};
			if (!conn_send(l, c, iov, 1))
				return CONN_CLOSE;
			c->close_after = true;
			return conn_answered(l, c);
		case HTTP_STEP_REQUEST:
			all->handler(all->ctx, l->index, l->envp, &l->rs);
			if (!conn_send(l, c, iov,
			               http_proto_answer(&l->rs, http_proto_closes(&c->h), iov)))
				return CONN_CLOSE;
			c->close_after = !http_proto_next(&c->h);
			if ((st = conn_answered(l, c)) != CONN_NEXT)
				return st;
			continue;
		}
	}
}

/* Takes the requests c has sent and answers them; CONN_WAIT for more to read or write. */
static enum conn_state
conn_serve(struct loop *l, struct conn *c)
{
	enum conn_state st;

	if (c->front == FRONT_HTTP)
		return conn_serve_http(l, c);
	for (;;) {
		enum fcgi_step step = fcgi_proto_feed(&c->p, l->envp, FCGI_PROTO_MAX_PARAMS);

		if (c->p.reply_len > 0) {
			struct iovec iov = {c->p.reply, c->p.reply_len};

			/* Replies are small: a peer that does not read them is dropped. */
			if (!conn_send(l, c, &iov, 1) || c->out != NULL)
				return CONN_CLOSE;
			c->p.reply_len = 0;
		}
		switch (step) {
		case FCGI_STEP_MORE:
			return conn_more(l, c);
		case FCGI_STEP_REPLIES:
			continue;
		case FCGI_STEP_REQUEST:
		case FCGI_STEP_REFUSE:
			if (step == FCGI_STEP_REFUSE)
				warn_once_a_second(l, "FastCGI request refused", c->p.why);
			if (!conn_answer(l, c, step == FCGI_STEP_REFUSE))
				return CONN_CLOSE;
			c->close_after = step == FCGI_STEP_REFUSE || !fcgi_proto_next(&c->p);
			if ((st = conn_answered(l, c)) != CONN_NEXT)
				return st; /* with FCGI_KEEP_CONN, CONN_NEXT */
			continue;
		case FCGI_STEP_CLOSE:
			if (c->p.why != NULL)
				warn_once_a_second(l, "FastCGI connection dropped", c->p.why);
			return CONN_CLOSE;
		}
	}
}

/*
 * Reads what c has sent and serves it (CONN_EMPTY: nothing was there). A read that filled the
 * buffer is followed by another (into the buffer grown meanwhile), so a request larger than the
 * inline buffer completes in one wakeup; a short read is taken as the end of what is there, saving
 * a read that would only find nothing.
 */
static enum conn_state
conn_read(struct loop *l, struct conn *c)
{
	for (int i = 0; i < READS_PER_WAKEUP; i++) {
		size_t room = conn_cap(c) - *conn_len(c);
		ssize_t n;

		do
			n = read(c->fd, conn_buf(c) + *conn_len(c), room);
		while (n < 0 && errno == EINTR);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return CONN_CLOSE;
		if (n < 0 && i == 0 && *conn_len(c) == 0 && !c->watched)
			return conn_watch(l, c, EPOLLIN) ? CONN_EMPTY : CONN_CLOSE;
		if (n < 0)
			break;
		*conn_len(c) += (size_t)n;
		if (conn_serve(l, c) == CONN_CLOSE)
			return CONN_CLOSE;
		if (c->answered)
			return CONN_WAIT; /* watched for EPOLLOUT by conn_send or conn_pause */
		if ((size_t)n < room)
			break;
	}
	return c->watched || conn_watch(l, c, EPOLLIN) ? CONN_WAIT : CONN_CLOSE;
}

static void
conn_event(struct loop *l, struct conn *c, uint32_t events)
{
	enum conn_state st = CONN_WAIT;

	if (c->answered) {
		bool failed = (events & EPOLLERR) != 0;

		if (!failed && conn_flush(l, c, &failed)) {
			if (c->close_after)
				st = CONN_CLOSE;
			else if (conn_pipelined_ahead(c))
				st = conn_pause(l, c) ? CONN_WAIT : CONN_CLOSE;
			else {
				c->answered = c->paused = false;
				st = conn_watch(l, c, EPOLLIN)
				         ? conn_serve(l, c) /* requests already read, if any */
				         : CONN_CLOSE;
			}
		} else if (failed) {
			st = CONN_CLOSE;
		}
	} else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		/* A hang-up still delivers what was sent before it: read it, then see EOF. */
		st = conn_read(l, c);
	}
	if (st == CONN_CLOSE)
		conn_close(l, c);
}

enum accepted { ACCEPTED_NONE, ACCEPTED, ACCEPTED_IDLE };

/* Accepts one connection and reads what it sent; ACCEPTED_IDLE when it sent nothing yet. */
static enum accepted
accept_one(struct loop *l, const struct fcgi_listener *ls)
{
	enum conn_state st;
	struct conn *c;
	int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			warn_once_a_second(l, "accept failed", strerror(errno));
			if (l->head != NULL) {
				/* Descriptors held by the oldest connections make room for new
				 * ones: the listening socket stays readable, accept comes back. */
				for (int i = 0; i < DRAIN_CONNS && l->head != NULL; i++)
					conn_close(l, l->head);
				return ACCEPTED_NONE;
			}
			accept_watch(l, false);
			l->accept_resume = clock_ms() + ACCEPT_PAUSE_MS;
		}
		/* EAGAIN: another loop took it; ECONNABORTED: the peer gave up. */
		return ACCEPTED_NONE;
	}
	if (l->n_conns >= l->all->lim.max_conns) {
		/* Full: the oldest connection (first to expire, still without its whole
		 * request or its answer taken) makes room for this one. */
		warn_once_a_second(l, "connections full",
		                   "closing the oldest incomplete connections");
		conn_close(l, l->head);
	}
	if ((c = l->spare) != NULL) {
		l->spare = c->next;
		l->n_spare--;
	} else if ((c = malloc(sizeof(*c))) == NULL) {
		warn_once_a_second(l, "accept", "out of memory");
		close(fd);
		return ACCEPTED_NONE;
	}
	c->fd = fd;
	c->front = ls->front;
	c->watched = c->answered = c->paused = c->close_after = false;
	c->big = c->out = NULL;
	c->deadline = clock_ms() + l->all->lim.read_timeout_ms;
	if (c->front == FRONT_HTTP)
		http_proto_init(&c->h, c->small, sizeof(c->small));
	else
		fcgi_proto_init(&c->p, c->small, sizeof(c->small));
	list_append(l, c);
	l->n_conns++;
	if (l->all->accepted != NULL)
		l->all->accepted(l->all->ctx, l->index, c->front);
	/* nginx writes its request as soon as it connects: it is usually here already. */
	if ((st = conn_read(l, c)) == CONN_CLOSE)
		conn_close(l, c);
	return st == CONN_EMPTY ? ACCEPTED_IDLE : ACCEPTED;
}

/* Milliseconds until the loop has something to do without an event (-1: nothing). */
static int
loop_timeout(const struct loop *l, int64_t now, int64_t stop_at)
{
	int64_t next = -1;

	if (l->head != NULL)
		next = l->head->deadline;
	if (l->accept_resume > 0 && (next < 0 || l->accept_resume < next))
		next = l->accept_resume;
	if (stop_at > 0 && (next < 0 || stop_at < next))
		next = stop_at;
	if (next < 0)
		return -1;
	return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

static void *
loop_main(void *arg)
{
	struct loop *l = arg;
	struct epoll_event ev[LOOP_EVENTS];
	int64_t stop_at = 0;

	for (;;) {
		int64_t now = clock_ms();
		int n = epoll_wait(l->ep, ev, LOOP_EVENTS, loop_timeout(l, now, stop_at));

		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			void *tag = ev[i].data.ptr;

			if (is_listener(l->all, tag)) {
				int limit = n == LOOP_EVENTS || l->accept_more ? ACCEPT_BATCH : 1;
				int k = 0;
				enum accepted a;

				while (stop_at == 0 && k < limit &&
				       (a = accept_one(l, tag)) != ACCEPTED_NONE) {
					k++;
					if (a == ACCEPTED_IDLE)
						limit = ACCEPT_BATCH;
				}
				l->accept_more = k > 1;
			} else if (tag == &stop_tag) {
				if (stop_at == 0) {
					/* Stop accepting and no longer hear the stop: it stays
					 * readable. */
					accept_watch(l, false);
					epoll_ctl(l->ep, EPOLL_CTL_DEL, l->all->stop_fd, NULL);
					stop_at = clock_ms() + STOP_GRACE_MS;
				}
			} else if (((struct conn *)tag)->fd >= 0) {
				/* A connection closed earlier in this batch is skipped: its
				 * struct is not reused before the batch ends. */
				conn_event(l, tag, ev[i].events);
			}
		}
		now = clock_ms();
		while (l->head != NULL && l->head->deadline <= now)
			conn_close(l, l->head);
		spares_trim(l);
		if (stop_at == 0 && !l->accepting &&
		    (l->accept_resume == 0 || l->accept_resume <= now)) {
			l->accept_resume = 0;
			accept_watch(l, true);
		}
		if (stop_at > 0 && (l->n_conns == 0 || now >= stop_at))
			break;
	}
	while (l->head != NULL)
		conn_close(l, l->head);
	spares_trim(l);
	while (l->spare != NULL) {
		struct conn *c = l->spare;

		l->spare = c->next;
		free(c);
	}
	return NULL;
}

/* Makes the n listening sockets of ls non-blocking: false when one cannot be. */
static bool
listeners_nonblocking(const struct fcgi_listener *ls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int flags = fcntl(ls[i].fd, F_GETFL);

		if (flags < 0 || fcntl(ls[i].fd, F_SETFL, flags | O_NONBLOCK) != 0)
			return false;
	}
	return true;
}

struct fcgi_loops *
fcgi_loops_start(const struct fcgi_listener *ls, size_t n, unsigned threads,
                 const struct fcgi_limits *lim, fcgi_handler *handler, fcgi_accept_hook *accepted,
                 void *ctx)
{
	struct fcgi_loops *all = calloc(1, sizeof(*all));

	if (all == NULL || n == 0 || n > FCGI_MAX_LISTENERS ||
	    (all->loops = calloc(threads, sizeof(*all->loops))) == NULL ||
	    !listeners_nonblocking(ls, n) ||
	    (all->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		if (all != NULL)
			free(all->loops);
		free(all);
		return NULL;
	}
	memcpy(all->listeners, ls, n * sizeof(*ls));
	all->n_listeners = n;
	all->accepted = accepted;
	all->handler = handler;
	all->ctx = ctx;
	all->lim.read_timeout_ms =
	    lim != NULL && lim->read_timeout_ms > 0 ? lim->read_timeout_ms : FCGI_READ_TIMEOUT_MS;
	all->lim.max_conns = lim != NULL && lim->max_conns > 0 ? lim->max_conns : LOOP_MAX_CONNS;
	all->lim.max_buffered =
	    lim != NULL && lim->max_buffered > 0 ? lim->max_buffered : LOOP_MAX_BUFFERED;
	for (; all->started < threads; all->started++) {
		struct loop *l = &all->loops[all->started];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &stop_tag};

		l->all = all;
		l->index = all->started;
		l->ep = epoll_create1(EPOLL_CLOEXEC);
		if (l->ep < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, all->stop_fd, &ev) != 0) {
			if (l->ep >= 0)
				close(l->ep);
			break;
		}
		accept_watch(l, true);
		if (!l->accepting || pthread_create(&l->thread, NULL, loop_main, l) != 0) {
			close(l->ep);
			break;
		}
	}
	if (all->started == 0) {
		close(all->stop_fd);
		free(all->loops);
		free(all);
		return NULL;
	}
	log_info("serving with %u event loop%s", all->started, all->started == 1 ? "" : "s");
	return all;
}

void
fcgi_loops_stop(struct fcgi_loops *all)
{
	uint64_t one = 1;
	struct timespec deadline;

	/* Every loop hears it: the counter stays readable until the eventfd is closed. */
	if (write(all->stop_fd, &one, sizeof(one)) != sizeof(one))
		log_error("cannot signal the event loops to stop: %s", strerror(errno));
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1; /* the loops give up on their requests at STOP_GRACE_MS */
	for (unsigned i = 0; i < all->started; i++) {
		if (pthread_timedjoin_np(all->loops[i].thread, NULL, &deadline) != 0) {
			/* The process exits next; its stuck thread goes with it. */
			log_warn("an event loop did not finish in time; exiting anyway");
			return;
		}
		close(all->loops[i].ep);
	}
	close(all->stop_fd);
	free(all->loops);
	free(all);
}
