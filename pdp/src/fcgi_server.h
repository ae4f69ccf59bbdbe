/* fcgi_server.h - the libfcgi transport: a listening socket and a pool of worker threads */
#ifndef PDP_FCGI_SERVER_H
#define PDP_FCGI_SERVER_H

#include <fcgiapp.h>
#include <stddef.h>

#include "decide.h"

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

struct fcgi_server;

/*
 * Starts threads workers answering FastCGI requests on listen_fd; worker i
 * decides as reader i of p. Returns the server, or NULL when no worker could
 * start. Signals stay with the calling thread.
 */
struct fcgi_server *fcgi_start(struct pdp *p, int listen_fd, unsigned threads);

/*
 * Stops accepting on listen_fd, lets requests in flight finish (up to a
 * deadline just under one second) and frees the server.
 */
void fcgi_stop(struct fcgi_server *s, int listen_fd);

#endif
