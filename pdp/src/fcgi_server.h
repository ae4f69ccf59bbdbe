/* fcgi_server.h - FastCGI transports: a listening socket and the threads that answer on it */
#ifndef PDP_FCGI_SERVER_H
#define PDP_FCGI_SERVER_H

#include <fcgiapp.h>
#include <stddef.h>

#include "config.h"
#include "response.h"

/*
 * Opens a listening socket for address ("unix:/path" or "tcp:host:port"). A
 * stale unix socket file is replaced; the new one is made group-writable so
 * nginx's group can connect. Returns the descriptor, or -1 with the reason in err.
 */
int fcgi_listen(const char *address, unsigned backlog, char *err, size_t errsz);

/*
 * Finishes req (its answer written) and closes its connection. libfcgi
 * lingers on close (shutdown, then poll and read until the peer closes) so
 * that request bytes left unread cannot reset the peer's socket before it
 * has read the answer. With nothing left unread there is nothing to reset:
 * then the connection is simply closed, and the worker does not wait for
 * nginx to close its end.
 */
void fcgi_finish(FCGX_Request *req);

/*
 * Answers one request: envp holds its params as "NAME=value" strings (NULL
 * after the last), and the answer goes in rs. Called by worker number worker
 * (below the thread count), never by two threads as one worker at once.
 */
typedef void fcgi_handler(void *ctx, unsigned worker, const char *const *envp, struct response *rs);

struct fcgi_server;

/*
 * Starts threads workers answering FastCGI requests on listen_fd with handler.
 * TRANSPORT_EPOLL: each runs an event loop that accepts, reads, answers and
 * closes without blocking on any one peer (fcgi_loop.c). TRANSPORT_LIBFCGI:
 * each blocks in libfcgi's FCGX_Accept_r and serves one connection at a time.
 * Returns the server, or NULL when no worker could start. Signals stay with
 * the calling thread.
 */
struct fcgi_server *fcgi_start(enum transport t, int listen_fd, unsigned threads,
                               fcgi_handler *handler, void *ctx);

/*
 * Stops accepting on listen_fd, lets requests in flight finish (up to a
 * deadline of about one second) and frees the server.
 */
void fcgi_stop(struct fcgi_server *s, int listen_fd);

#endif
