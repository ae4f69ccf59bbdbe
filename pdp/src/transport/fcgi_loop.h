/* fcgi_loop.h - the epoll transport: one event loop per thread over a shared listening socket */
#ifndef PDP_FCGI_LOOP_H
#define PDP_FCGI_LOOP_H

#include "transport/fcgi_server.h"

struct fcgi_loops;

/*
 * Starts threads event loops answering FastCGI requests on listen_fd (made
 * non-blocking) within lim (NULL or 0 fields: the defaults, fcgi_server.h);
 * loop i calls handler as worker i. The loops inherit the caller's signal
 * mask. Returns NULL when no loop could start.
 */
struct fcgi_loops *fcgi_loops_start(int listen_fd, unsigned threads, const struct fcgi_limits *lim,
                                    fcgi_handler *handler, void *ctx);

/*
 * Stops accepting, lets each loop finish the requests it holds (up to a
 * deadline just under one second) and frees the loops.
 */
void fcgi_loops_stop(struct fcgi_loops *l);

#endif
