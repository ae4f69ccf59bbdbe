/* slowpeer.c - pdp-slowpeer: silent, slow and hostile FastCGI peers on a unix socket */
/*
 * usage: pdp-slowpeer SOCKET MODE N SECONDS [RATE]
 *
 * Keeps N connections to SOCKET open for SECONDS, each doing what MODE says,
 * and opens a new one whenever one is closed (at most RATE new connections a
 * second after the first N; default 2000):
 *   idle     connects and sends nothing
 *   dribble  sends a FastCGI request that is never finished, one byte every 50 ms
 *   mixed    half idle, half dribble
 *   big      sends a request's first 60,000 params bytes (of a 65,535-byte record) at once
 *   stall    sends 4 bytes of a record header and nothing more
 *   huge     sends a whole request whose one FCGI_PARAMS pair claims a 256 MiB name
 *            (the params and stdin streams ended), and waits for the answer
 * Prints "opened O closed C refused R answered A unanswered U status500 F":
 * connections made, closed by the server, refused (its backlog full),
 * answered (bytes back), closed without an answer, and answered with a
 * "Status: 500". Exits 0 unless it could not run at all. Raises its own
 * RLIMIT_NOFILE to fit N.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum mode { IDLE, DRIBBLE, BIG, STALL, HUGE };

struct peer {
	int fd; /* -1: to be opened */
	enum mode mode;
	size_t sent;
	bool answered;
};

static unsigned char dribble_bytes[16 + 8 + 1000];
static unsigned char big_bytes[16 + 8 + 60000];
static const unsigned char huge_bytes[] = {
    1,    1,    0,    1,    0,    8,    0,    0,
    0,    1,    0,    0,    0,    0,    0,    0,    /* BEGIN_REQUEST, responder */
    1,    4,    0,    1,    0,    16,   0,    0,    /* PARAMS, 16 bytes: */
    0x8f, 0xff, 0xff, 0xff, 0x8f, 0xff, 0xff, 0xff, /* a name and a value of 256 MiB each */
    'x',  'x',  'x',  'x',  'x',  'x',  'x',  'x',
    1,    4,    0,    1,    0,    0,    0,    0,  /* the params' end: the pair is decoded */
    1,    5,    0,    1,    0,    0,    0,    0}; /* the end of stdin: the request is whole */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The bytes a peer of mode m sends, and how many of them at once. */
static const unsigned char *
payload(enum mode m, size_t *len, size_t *burst)
{
	switch (m) {
	case DRIBBLE:
		*len = sizeof(dribble_bytes);
		*burst = 1;
		return dribble_bytes;
	case BIG:
		*len = *burst = sizeof(big_bytes);
		return big_bytes;
	case STALL:
		*len = *burst = 4;
		return big_bytes;
	case HUGE:
		*len = *burst = sizeof(huge_bytes);
		return huge_bytes;
	default:
		*len = *burst = 0;
		return NULL;
	}
}

static void
push(struct peer *p)
{
	size_t len, burst;
	const unsigned char *b = payload(p->mode, &len, &burst);
	size_t n = len - p->sent < burst ? len - p->sent : burst;

	if (p->fd < 0 || n == 0)
		return;
	ssize_t w = send(p->fd, b + p->sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w > 0)
		p->sent += (size_t)w;
}

static void
make_payloads(void)
{
	/* BEGIN_REQUEST (responder), then a PARAMS header promising more than is ever sent. */
	static const unsigned char begin[16] = {1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	static const unsigned char params_small[8] = {1, 4, 0, 1, 0x13, 0x88, 0, 0}; /* 5000 */
	static const unsigned char params_big[8] = {1, 4, 0, 1, 0xff, 0xff, 0, 0};   /* 65535 */

	memcpy(dribble_bytes, begin, 16);
	memcpy(dribble_bytes + 16, params_small, 8);
	memset(dribble_bytes + 24, 'd', sizeof(dribble_bytes) - 24);
	memcpy(big_bytes, begin, 16);
	memcpy(big_bytes + 16, params_big, 8);
	memset(big_bytes + 24, 'b', sizeof(big_bytes) - 24);
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	unsigned long n, seconds, rate = 2000, opened = 0, closed = 0, refused = 0, answered = 0;
	unsigned long unanswered = 0, status500 = 0;
	struct rlimit rl;
	struct peer *peers;
	int ep;
	int64_t end, last_tick = 0, budget_at;
	double budget;
	enum mode mode;

	if (argc < 5 || argc > 6 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: pdp-slowpeer SOCKET idle|dribble|mixed|big|stall|huge N "
		                "SECONDS [RATE]\n");
		return 2;
	}
	strcpy(sun.sun_path, argv[1]);
	n = strtoul(argv[3], NULL, 10);
	seconds = strtoul(argv[4], NULL, 10);
	if (argc == 6)
		rate = strtoul(argv[5], NULL, 10);
	if (strcmp(argv[2], "idle") == 0 || strcmp(argv[2], "mixed") == 0)
		mode = IDLE;
	else if (strcmp(argv[2], "dribble") == 0)
		mode = DRIBBLE;
	else if (strcmp(argv[2], "big") == 0)
		mode = BIG;
	else if (strcmp(argv[2], "stall") == 0)
		mode = STALL;
	else if (strcmp(argv[2], "huge") == 0)
		mode = HUGE;
	else
		return fprintf(stderr, "pdp-slowpeer: unknown mode %s\n", argv[2]), 2;
	if (n == 0 || n > 100000 || seconds == 0 || seconds > 120 || rate == 0)
		return fprintf(stderr, "pdp-slowpeer: N 1..100000, SECONDS 1..120, RATE > 0\n"), 2;
	/* One descriptor a connection, and a few to spare. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
		rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	make_payloads();
	peers = calloc(n, sizeof(*peers));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (peers == NULL || ep < 0)
		return perror("pdp-slowpeer"), 1;
	for (unsigned long i = 0; i < n; i++) {
		peers[i].fd = -1;
		peers[i].mode = strcmp(argv[2], "mixed") == 0 && i % 2 == 1 ? DRIBBLE : mode;
	}
	end = now_ms() + (int64_t)seconds * 1000;
	budget = (double)n; /* the first N at once; then RATE a second */
	budget_at = now_ms();
	while (now_ms() < end) {
		struct epoll_event ev[1024];
		int64_t t = now_ms();
		int got;

		budget += (double)(t - budget_at) * (double)rate / 1000.0;
		if (budget > (double)n)
			budget = (double)n;
		budget_at = t;
		for (unsigned long i = 0; i < n && budget >= 1; i++) {
			struct peer *p = &peers[i];
			struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = i};

			if (p->fd >= 0)
				continue;
			p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (p->fd < 0)
				break; /* out of descriptors: try again next round */
			if (connect(p->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
				close(p->fd);
				p->fd = -1;
				refused++;
				break; /* the backlog is full: next round */
			}
			budget -= 1;
			opened++;
			p->sent = 0;
			p->answered = false;
			epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &e);
			push(p);
		}
		got = epoll_wait(ep, ev, 1024, 10);
		for (int k = 0; k < got; k++) {
			struct peer *p = &peers[ev[k].data.u64];
			char buf[4096];
			ssize_t r = read(p->fd, buf, sizeof(buf));

			if (r > 0 && !p->answered) {
				p->answered = true;
				answered++;
				/* The answer's first STDOUT record begins with its status. */
				if (r > 8 + 11 && memcmp(buf + 8, "Status: 500", 11) == 0)
					status500++;
			}
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				unanswered += !p->answered;
				close(p->fd);
				p->fd = -1;
				closed++;
			}
		}
		if (now_ms() - last_tick >= 50) {
			last_tick = now_ms();
			for (unsigned long i = 0; i < n; i++)
				push(&peers[i]);
		}
	}
	printf("opened %lu closed %lu refused %lu answered %lu unanswered %lu status500 %lu\n",
	       opened, closed, refused, answered, unanswered, status500);
	for (unsigned long i = 0; i < n; i++) {
		if (peers[i].fd >= 0)
			close(peers[i].fd);
	}
	close(ep);
	free(peers);
	return 0;
}
