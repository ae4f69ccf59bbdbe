/* fcgi_server.h - the FastCGI transport: a listening socket and the event loops that answer on it
 */
#ifndef PDP_FCGI_SERVER_H
#define PDP_FCGI_SERVER_H

#include <stddef.h>

#include "service/config.h"
#include "transport/response.h"

/*
 * Opens a listening socket for address ("unix:/path" or "tcp:host:port"). A
 * stale unix socket file is replaced; the new one is made group-writable so
 * nginx's group can connect. A backlog above net.core.somaxconn (which the
 * kernel caps it at) is logged. Returns the descriptor, or -1 with the reason
 * in err.
 */
int fcgi_listen(const char *address, unsigned backlog, char *err, size_t errsz);

/*
 * Answers one request: envp holds its params as "NAME=value" strings (NULL
 * after the last), and the answer goes in rs. Called by worker number worker
 * (below the thread count), never by two threads as one worker at once.
 */
typedef void fcgi_handler(void *ctx, unsigned worker, const char *const *envp, struct response *rs);

/* The read deadline when none is given: nginx writes a request in one go. */
#define FCGI_READ_TIMEOUT_MS 1000

/*
 * What a peer may hold in each event loop; 0 in a field: its default. A
 * connection that has not sent a whole request read_timeout_ms after it began
 * (or after its last answer, with FCGI_KEEP_CONN) is closed (default
 * FCGI_READ_TIMEOUT_MS). A loop holds max_conns connections (default 4096)
 * and max_buffered bytes of buffers grown past a connection's own 4 KiB
 * (default 16 MiB; one connection's at most FCGI_PROTO_MAX_BUFFER): past
 * either, the oldest connections are closed to make room, as they are when
 * accept finds no descriptor left, so new connections are served.
 */
struct fcgi_limits {
	unsigned read_timeout_ms;
	unsigned max_conns;
	size_t max_buffered;
};

struct fcgi_server;

/*
 * Starts threads event loops answering FastCGI requests on listen_fd with
 * handler: each accepts, reads, answers and closes without blocking on any one
 * peer (fcgi_loop.c), within lim (NULL: the defaults). Returns the server, or
 * NULL when no loop could start. Signals stay with the calling thread.
 */
struct fcgi_server *fcgi_start(int listen_fd, unsigned threads, const struct fcgi_limits *lim,
                               fcgi_handler *handler, void *ctx);

/*
 * Stops accepting, lets requests in flight finish (up to a deadline of about
 * one second) and frees the server. listen_fd stays open for the caller.
 */
void fcgi_stop(struct fcgi_server *s, int listen_fd);

#endif
