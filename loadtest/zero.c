/*
 * zero.c - pdp-zero: the zero-work libfcgi responder the PDP is measured against.
 *
 * The same transport as the PDP (libfcgi, a pool of threads each in
 * FCGX_Accept_r on one listening socket), answering every request with a bare
 * 200 and doing nothing else: what remains of a decision's cost through
 * nginx once the PDP's own work is taken away.
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi_server.h"

static int listen_fd;

static void *
respond(void *arg)
{
	FCGX_Request req;

	(void)arg;
	if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutS("Status: 200 OK\r\nX-PDP-Decision: allow\r\n\r\n", req.out);
		fcgi_finish(&req);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	unsigned threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 4;
	char err[256];
	pthread_t *t;
	sigset_t stop;
	int sig;

	if (argc < 2 || threads == 0 || threads > 256) {
		fprintf(stderr, "usage: pdp-zero unix:PATH|tcp:HOST:PORT [THREADS]\n");
		return 2;
	}
	/* libfcgi's own SIGTERM handler only sets a flag: take the signals before it does. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || (listen_fd = fcgi_listen(argv[1], 1024, err, sizeof(err))) < 0) {
		fprintf(stderr, "pdp-zero: %s\n", err);
		return 1;
	}
	t = calloc(threads, sizeof(*t));
	for (unsigned i = 0; t != NULL && i < threads; i++)
		pthread_create(&t[i], NULL, respond, NULL);
	/* Serves until SIGTERM or SIGINT; the threads go with the process. */
	sigwait(&stop, &sig);
	return 0;
}
