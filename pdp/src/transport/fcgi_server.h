/* fcgi_server.h - the FastCGI transport: a listening socket and the event loops that answer on it
 */
#ifndef PDP_FCGI_SERVER_H
#define PDP_FCGI_SERVER_H

#include <stddef.h>

#include "transport/fcgi_loop.h"

/*
 * Opens a listening socket for address ("unix:/path" or "tcp:host:port"). A
 * stale unix socket file is replaced; the new one is made group-writable so
 * nginx's group can connect. A backlog above net.core.somaxconn (which the
 * kernel caps it at) is logged. Returns the descriptor, or -1 with the reason
 * in err.
 */
int fcgi_listen(const char *address, unsigned backlog, char *err, size_t errsz);

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
 * As fcgi_start, over the n listeners of ls, each speaking its front (FastCGI
 * or HTTP/1.1) on the same loops; accepted (NULL: none) hears of each
 * connection accepted.
 */
struct fcgi_server *fcgi_start_fronts(const struct fcgi_listener *ls, size_t n, unsigned threads,
                                      const struct fcgi_limits *lim, fcgi_handler *handler,
                                      fcgi_accept_hook *accepted, void *ctx);

/*
 * Stops accepting, lets requests in flight finish (up to a deadline of about
 * one second) and frees the server. listen_fd stays open for the caller.
 */
void fcgi_stop(struct fcgi_server *s, int listen_fd);

#endif
