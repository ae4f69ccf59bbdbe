/*
 * zero.c - pdp-zero: the zero-work libfcgi responder the PDP is measured against.
 *
 * libfcgi's reference transport (a pool of threads each in FCGX_Accept_r on
 * one listening socket; the PDP itself no longer offers it, as a hostile peer
 * can crash or stall it), answering every request with a bare
 * 200 and doing nothing else: what remains of a decision's cost through
 * nginx once the PDP's own work is taken away.
 *
 * With --mix, it answers in the proportions given (allow, deny, step-up,
 * unauthenticated: a run's decision mix) with answers shaped as the PDP's,
 * made once at start and picked in a fixed scattered order. nginx then does
 * for it what it does for the PDP's answers (identity headers, error pages
 * for 401 and 403), and the difference from the PDP is the deciding alone.
 *
 * With --epoll first, it answers on the PDP's own epoll transport
 * (fcgi_loop.c) instead, with THREADS event loops: the limit of the
 * transport the PDP serves on by default. There the endpoint may also be
 * http+unix:PATH or http+tcp:HOST:PORT, the PDP's HTTP/1.1 front on the same
 * loops (kept-alive connections, answers with Content-Length: 0): the limit
 * of that front.
 *
 * With --rsa-verify, it verifies one RSA-2048 PKCS#1 v1.5 signature over a
 * SHA-256 digest before each answer (a key made at start, a verify context
 * per thread, as the PDP keeps them): what one RSA verify costs a client on
 * this machine and transport, the unit a first-seen token's cost is given in.
 * It also times each verify, and on SIGUSR1 prints "verify COUNT NANOSECONDS"
 * (totals so far) on its standard output: one verify's cost inside a server
 * driven as the PDP is, beside the PDP's own pdp_signature_verify_seconds.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/netaddr.h"
#include "transport/fcgi_server.h"
#include "transport/response.h"

/*
 * Finishes req (its answer written) and closes its connection. libfcgi
 * lingers on close (shutdown, then poll and read until the peer closes) so
 * that request bytes left unread cannot reset the peer's socket before it
 * has read the answer. With nothing left unread there is nothing to reset:
 * then the connection is simply closed, and the worker does not wait for
 * nginx to close its end.
 */
static void
fcgi_finish(FCGX_Request *req)
{
	int unread = -1;

	if (ioctl(req->ipcFd, FIONREAD, &unread) == 0 && unread == 0)
		FCGX_Detach(req);
	FCGX_Finish_r(req);
}

/* Answers in a --mix cycle: its proportions are kept to within one in MIX_SLOTS. */
#define MIX_SLOTS 1000
/* A step through the slots coprime to MIX_SLOTS: every slot once per cycle, kinds scattered. */
#define MIX_STRIDE 617

enum { ANSWER_ALLOW, ANSWER_DENY, ANSWER_STEP_UP, ANSWER_UNAUTHENTICATED, ANSWER_KINDS };

static int listen_fd;
static struct response answers[ANSWER_KINDS];
static unsigned char slots[MIX_SLOTS]; /* the answer kind of each slot */
static bool mixed;
/* --rsa-verify: the key, a digest and its signature. */
static EVP_PKEY *verify_key;
static unsigned char verify_digest[32], verify_sig[256];
static size_t verify_sig_len;

/* A context ready to verify with verify_key (RSA, PKCS#1 v1.5, SHA-256), or NULL. */
static EVP_PKEY_CTX *
verify_ctx(bool sign)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, verify_key, NULL);

	if (ctx == NULL || (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Makes the key and signs the digest that every request verifies again. */
static int
verify_init(void)
{
	EVP_PKEY_CTX *ctx;
	int rc;

	verify_key = EVP_RSA_gen(2048);
	if (verify_key == NULL || (ctx = verify_ctx(true)) == NULL)
		return -1;
	memset(verify_digest, 0x5a, sizeof(verify_digest));
	verify_sig_len = sizeof(verify_sig);
	rc = EVP_PKEY_sign(ctx, verify_sig, &verify_sig_len, verify_digest, sizeof(verify_digest));
	EVP_PKEY_CTX_free(ctx);
	return rc == 1 ? 0 : -1;
}

/* One thread's state: where it is in the mix, its verify context and time spent in it. */
struct responder {
	unsigned slot;
	EVP_PKEY_CTX *verify;
	_Atomic uint64_t verify_ns, verifies;
};

static struct responder *responders;

static void
responder_init(struct responder *r, unsigned i)
{
	r->slot = i * (MIX_SLOTS / 8) % MIX_SLOTS;
	r->verify = NULL;
	atomic_init(&r->verify_ns, 0);
	atomic_init(&r->verifies, 0);
	if (verify_key != NULL && (r->verify = verify_ctx(false)) == NULL) {
		fprintf(stderr, "pdp-zero: a thread could not start\n");
		exit(1);
	}
}

/* The answer to any request: the transport's handler (fcgi_loop.h). */
static void
answer(void *ctx, unsigned worker, const char *const *envp, struct response *rs)
{
	static const char allow[] = "Status: 200 OK\r\nX-PDP-Decision: allow\r\n\r\n";
	static const char error[] = "Status: 500 Internal Server Error\r\n\r\n";
	struct responder *r = &responders[worker];
	const char *text = allow;
	size_t len = sizeof(allow) - 1;

	(void)ctx;
	(void)envp;
	if (r->verify != NULL) {
		int64_t t0 = clock_ns();
		int rc = EVP_PKEY_verify(r->verify, verify_sig, verify_sig_len, verify_digest,
		                         sizeof(verify_digest));

		atomic_fetch_add_explicit(&r->verify_ns, (uint64_t)(clock_ns() - t0),
		                          memory_order_relaxed);
		atomic_fetch_add_explicit(&r->verifies, 1, memory_order_relaxed);
		if (rc != 1) {
			text = error;
			len = sizeof(error) - 1;
		}
	} else if (mixed) {
		const struct response *a = &answers[slots[r->slot]];

		text = a->buf;
		len = a->len;
		r->slot = (r->slot + MIX_STRIDE) % MIX_SLOTS;
	}
	memcpy(rs->buf, text, len);
	rs->len = len;
}

static void *
respond(void *arg)
{
	unsigned worker = (unsigned)(uintptr_t)arg;
	static _Thread_local struct response rs;
	FCGX_Request req;

	if (FCGX_InitRequest(&req, listen_fd, 0) != 0) {
		fprintf(stderr, "pdp-zero: a thread could not start\n");
		exit(1);
	}
	while (FCGX_Accept_r(&req) >= 0) {
		answer(NULL, worker, NULL, &rs);
		FCGX_PutStr(rs.buf, (int)rs.len, req.out);
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
	unsigned long long count[ANSWER_KINDS], rem[ANSWER_KINDS], total = 0;
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
	/*
	 * The slots rounding left over go to the kinds with the largest
	 * remainders, one each: fewer are left over than kinds have a remainder.
	 */
	for (int k = 0; k < ANSWER_KINDS; k++)
		rem[k] = count[k] * MIX_SLOTS - n[k] * total;
	while (filled < MIX_SLOTS) {
		int best = 0;

		for (int k = 1; k < ANSWER_KINDS; k++)
			if (rem[k] > rem[best])
				best = k;
		n[best]++;
		rem[best] = 0;
		filled++;
	}
	filled = 0;
	for (int k = 0; k < ANSWER_KINDS; k++)
		for (size_t i = 0; i < n[k]; i++)
			slots[filled++] = (unsigned char)k;
	response_allow(&answers[ANSWER_ALLOW], &s, "p-12,p-40");
	response_deny(&answers[ANSWER_DENY], "block-embargoed", "location is blocked");
	response_step_up(&answers[ANSWER_STEP_UP], "mfa-outside: multifactor sign-in required",
	                 "urn:example:mfa", -1, NULL);
	response_unauthenticated(&answers[ANSWER_UNAUTHENTICATED], "pdp-load", "token expired",
	                         NULL);
	mixed = true;
	return 0;
}

/* The verify totals of all threads so far, as one line on standard output. */
static void
print_verify_totals(unsigned threads)
{
	uint64_t ns = 0, n = 0;

	for (unsigned i = 0; i < threads; i++) {
		ns += atomic_load_explicit(&responders[i].verify_ns, memory_order_relaxed);
		n += atomic_load_explicit(&responders[i].verifies, memory_order_relaxed);
	}
	printf("verify %llu %llu\n", (unsigned long long)n, (unsigned long long)ns);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	bool epoll = argc > 1 && strcmp(argv[1], "--epoll") == 0;
	struct fcgi_listener listener;
	const char *sock = NULL;
	unsigned threads;
	char err[256];
	pthread_t *t;
	sigset_t stop;
	int sig;

	if (epoll) {
		argc--;
		argv++;
	}
	threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 4;
	if (argc > 1)
		listener.front = netaddr_listen_front(argv[1], &sock);
	if (argc < 2 || threads == 0 || threads > 256 || (listener.front == FRONT_HTTP && !epoll) ||
	    (argc == 5 && (strcmp(argv[3], "--mix") != 0 || mix_init(argv[4]) != 0)) ||
	    (argc == 4 && strcmp(argv[3], "--rsa-verify") != 0) || argc > 5) {
		fprintf(stderr,
		        "usage: pdp-zero [--epoll [http+]]unix:PATH|[http+]tcp:HOST:PORT [THREADS "
		        "[--mix ALLOW:DENY:STEP_UP:UNAUTHENTICATED | --rsa-verify]]\n"
		        "       (http+: the HTTP/1.1 front, with --epoll only)\n");
		return 2;
	}
	if (argc == 4 && verify_init() != 0) {
		fprintf(stderr, "pdp-zero: cannot make an RSA key to verify with\n");
		return 1;
	}
	/* libfcgi's own SIGTERM handler only sets a flag: take the signals before it does. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || (listen_fd = fcgi_listen(sock, 1024, err, sizeof(err))) < 0) {
		fprintf(stderr, "pdp-zero: %s\n", err);
		return 1;
	}
	if ((responders = calloc(threads, sizeof(*responders))) == NULL) {
		fprintf(stderr, "pdp-zero: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < threads; i++)
		responder_init(&responders[i], i);
	if (epoll) {
		listener.fd = listen_fd;
		if (fcgi_start_fronts(&listener, 1, threads, NULL, answer, NULL, NULL) == NULL) {
			fprintf(stderr, "pdp-zero: cannot start the event loops\n");
			return 1;
		}
	} else {
		t = calloc(threads, sizeof(*t));
		for (unsigned i = 0; t != NULL && i < threads; i++)
			pthread_create(&t[i], NULL, respond, (void *)(uintptr_t)i);
	}
	/* Serves until SIGTERM or SIGINT (SIGUSR1: the verify totals); the threads go with it. */
	while (sigwait(&stop, &sig) == 0 && sig == SIGUSR1)
		print_verify_totals(threads);
	return 0;
}
