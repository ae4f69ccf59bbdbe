/* fcgi_server.h - the libfcgi transport: a listening socket and a pool of worker threads */
#ifndef PDP_FCGI_SERVER_H
#define PDP_FCGI_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "decide.h"

/*
 * Opens a listening socket for address ("unix:/path" or "tcp:host:port"). A
 * stale unix socket file is replaced; the new one is made group-writable so
 * nginx's group can connect. Returns the descriptor, or -1 with the reason in err.
 */
int fcgi_listen(const char *address, unsigned backlog, char *err, size_t errsz);

/*
 * Serves FastCGI requests on listen_fd with threads workers until *stop is
 * set (by a signal handler) and a byte arrives on wake_fd. Then it stops
 * accepting, lets requests in flight finish (up to a deadline just under one
 * second) and returns 0; -1 when the workers could not start.
 */
int fcgi_serve(struct pdp *p, int listen_fd, unsigned threads, volatile sig_atomic_t *stop,
               int wake_fd);

#endif
