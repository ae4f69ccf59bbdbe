/*
 * zero.c - pdp-zero: the zero-work libfcgi responder the PDP is measured against.
 *
 * The same transport as the PDP (libfcgi, a pool of threads each in
 * FCGX_Accept_r on one listening socket), answering every request with a bare
 * 200 and doing nothing else: what remains of a decision's cost through
 * nginx once the PDP's own work is taken away.
 *
 * With --mix, it answers in the proportions given (allow, deny, step-up,
 * unauthenticated: a run's decision mix) with answers shaped as the PDP's,
 * made once at start and picked in a fixed scattered order. nginx then does
 * for it what it does for the PDP's answers (identity headers, error pages
 * for 401 and 403), and the difference from the PDP is the deciding alone.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi_server.h"
#include "response.h"

/* Answers in a --mix cycle: its proportions are kept to within one in MIX_SLOTS. */
#define MIX_SLOTS 1000
/* A step through the slots coprime to MIX_SLOTS: every slot once per cycle, kinds scattered. */
#define MIX_STRIDE 617

enum { ANSWER_ALLOW, ANSWER_DENY, ANSWER_STEP_UP, ANSWER_UNAUTHENTICATED, ANSWER_KINDS };

static int listen_fd;
static struct response answers[ANSWER_KINDS];
static unsigned char slots[MIX_SLOTS]; /* the answer kind of each slot */
static bool mixed;

static void *
respond(void *arg)
{
	unsigned slot = (unsigned)(uintptr_t)arg * (MIX_SLOTS / 8) % MIX_SLOTS;
	FCGX_Request req;

	if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&req) >= 0) {
		if (mixed) {
			const struct response *rs = &answers[slots[slot]];

			FCGX_PutStr(rs->buf, (int)rs->len, req.out);
			slot = (slot + MIX_STRIDE) % MIX_SLOTS;
		} else {
			FCGX_PutS("Status: 200 OK\r\nX-PDP-Decision: allow\r\n\r\n", req.out);
		}
		fcgi_finish(&req);
	}
	return NULL;
}

/*
 * Parses "ALLOW:DENY:STEP_UP:UNAUTHENTICATED" (counts, not all zero) into the
 * slots, each kind in proportion (largest remainders), and makes the answers
 * as the PDP words them for the load data's users and policies.
 */
static int
mix_init(const char *arg)
{
	static const char *groups[] = {"group-17", "group-433", "group-90"};
	const struct subject s = {.user = "user-4711@load.example",
	                          .groups = {.items = groups, .n = 3}};
	unsigned long long count[ANSWER_KINDS], total = 0;
	size_t n[ANSWER_KINDS], filled = 0;
	const char *p = arg;

	for (int k = 0; k < ANSWER_KINDS; k++) {
		char *end;

		errno = 0;
		count[k] = strtoull(p, &end, 10);
		if (errno != 0 || end == p || *p == '-' ||
		    *end != (k + 1 < ANSWER_KINDS ? ':' : '\0') || count[k] > UINT32_MAX)
			return -1;
		total += count[k];
		p = end + 1;
	}
	if (total == 0)
		return -1;
	for (int k = 0; k < ANSWER_KINDS; k++) {
		n[k] = (size_t)(count[k] * MIX_SLOTS / total);
		filled += n[k];
	}
	/* The slots rounding left over go to the kinds with the largest remainders. */
	while (filled < MIX_SLOTS) {
		int best = 0;

		for (int k = 1; k < ANSWER_KINDS; k++)
			if (count[k] * MIX_SLOTS - n[k] * total >
			    count[best] * MIX_SLOTS - n[best] * total)
				best = k;
		n[best]++;
		filled++;
	}
	filled = 0;
	for (int k = 0; k < ANSWER_KINDS; k++)
		for (size_t i = 0; i < n[k]; i++)
			slots[filled++] = (unsigned char)k;
	response_allow(&answers[ANSWER_ALLOW], &s, "p-12,p-40");
	response_deny(&answers[ANSWER_DENY], "block-embargoed", "location is blocked");
	response_step_up(&answers[ANSWER_STEP_UP], "mfa-outside: multifactor sign-in required",
	                 "urn:example:mfa", -1);
	response_unauthenticated(&answers[ANSWER_UNAUTHENTICATED], "pdp-load", "token expired");
	mixed = true;
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 4;
	char err[256];
	pthread_t *t;
	sigset_t stop;
	int sig;

	if (argc < 2 || argc > 5 || threads == 0 || threads > 256 ||
	    (argc > 3 && (strcmp(argv[3], "--mix") != 0 || argc != 5 || mix_init(argv[4]) != 0))) {
		fprintf(stderr, "usage: pdp-zero unix:PATH|tcp:HOST:PORT [THREADS [--mix "
		                "ALLOW:DENY:STEP_UP:UNAUTHENTICATED]]\n");
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
		pthread_create(&t[i], NULL, respond, (void *)(uintptr_t)i);
	/* Serves until SIGTERM or SIGINT; the threads go with the process. */
	sigwait(&stop, &sig);
	return 0;
}
