/* fcgi_loop.h - the epoll transport: one event loop per thread over a shared listening socket */
#ifndef PDP_FCGI_LOOP_H
#define PDP_FCGI_LOOP_H

#include <stddef.h>

#include "core/netaddr.h"
#include "transport/response.h"

/*
 * Answers one request: envp holds its params as "NAME=value" strings (NULL
 * after the last), and the answer goes in rs. Called by worker number worker
 * (below the thread count), never by two threads as one worker at once.
 */
typedef void fcgi_handler(void *ctx, unsigned worker, const char *const *envp, struct response *rs);

/* Called by worker as it accepts a connection on a listener of front (for the metrics). */
typedef void fcgi_accept_hook(void *ctx, unsigned worker, enum listen_front front);

/* A listening socket and what it speaks: FastCGI, or HTTP/1.1 (http_proto.h). */
struct fcgi_listener {
	int fd;
	enum listen_front front;
};

/* Listening sockets one set of loops serves at most. */
#define FCGI_MAX_LISTENERS 16

/* The read deadline when none is given: nginx writes a request in one go. */
#define FCGI_READ_TIMEOUT_MS 1000

/*
 * What a peer may hold in each event loop; 0 in a field: its default. A
 * connection that has not sent a whole request read_timeout_ms after it began
 * (or after its last answer, with FCGI_KEEP_CONN) is closed (default
 * FCGI_READ_TIMEOUT_MS); so is an HTTP connection idle that long after its
 * last answer (a kept-alive connection nginx no longer uses). A loop holds max_conns connections
 * (default 4096) and max_buffered bytes of buffers grown past a connection's own 4 KiB (default 16
 * MiB; one connection's at most FCGI_PROTO_MAX_BUFFER): past either, the oldest connections are
 * closed to make room, as they are when accept finds no descriptor left, so new connections are
 * served.
 */
struct fcgi_limits {
	unsigned read_timeout_ms;
	unsigned max_conns;
	size_t max_buffered;
};

struct fcgi_loops;

/*
 * Starts threads event loops answering requests on the n listeners of ls (at
 * most FCGI_MAX_LISTENERS, each made non-blocking; each loop accepts on all
 * of them) within lim (NULL or 0 fields: the defaults above); loop i calls
 * handler as worker i for a request of either front, and accepted (NULL:
 * none) for each connection it accepts. The loops inherit the caller's
 * signal mask. Returns NULL when no loop could start.
 */
struct fcgi_loops *fcgi_loops_start(const struct fcgi_listener *ls, size_t n, unsigned threads,
                                    const struct fcgi_limits *lim, fcgi_handler *handler,
                                    fcgi_accept_hook *accepted, void *ctx);

/*
 * Stops accepting, lets each loop finish the requests it holds (up to a
 * deadline just under one second) and frees the loops.
 */
void fcgi_loops_stop(struct fcgi_loops *l);

#endif
