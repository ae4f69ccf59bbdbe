/*
 * load.c - pdp-load: a FastCGI load driver that asks as nginx auth_request does.
 *
 * Threads send requests drawn from a requests file (pdp-loadgen's "TOKEN HOST
 * URI IP" lines), each on a new connection with the params deploy/nginx's
 * pdp_params sets, for a fixed duration or request count, optionally paced to
 * a rate. It reports throughput, a latency histogram (p50/p90/p99/p99.9/max),
 * the answers by status and transport errors, as one JSON line.
 *
 * With an http+ address it speaks to the PDP's HTTP/1.1 front instead, as
 * nginx's proxy_pass does with deploy/nginx's pdp_http_params: the same facts
 * as X-PDP-* headers, each thread on one kept-alive connection.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "fcgi_client.h"
#include "http_client.h"

/* Latencies are kept to the microsecond up to this; longer ones count here and in max. */
#define HIST_US 200000

/* X-PDP-Decision values counted in the mix; "none" for answers without one. */
static const char *const decisions[] = {"allow",           "deny",  "step-up",
                                        "unauthenticated", "error", "none"};
#define N_DECISIONS (sizeof(decisions) / sizeof(decisions[0]))

struct req {
	unsigned char *buf;
	size_t len;
};

struct opts {
	const char *address, *requests, *label, *cdf;
	unsigned threads;
	double duration, rate;
	uint64_t count;
	bool once, http; /* http: address is the HTTP front's (without its "http+") */
};

struct worker {
	pthread_t thread;
	const struct opts *o;
	const struct req *reqs;
	size_t n_reqs;
	unsigned index;
	uint32_t *hist;
	uint64_t done, errors, status[600], max_us, sum_us;
	uint64_t decision[N_DECISIONS];
};

static atomic_uint_fast64_t next_once, sent;
static double started, deadline;

static void
die(const char *what, const char *arg)
{
	fprintf(stderr, "pdp-load: %s%s\n", what, arg);
	exit(1);
}

static void
sleep_until(double t)
{
	double left = t - bench_now();

	if (left > 0) {
		struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};

		nanosleep(&ts, NULL);
	}
}

static size_t
decision_of(const char *answer)
{
	const char *d = strstr(answer, "X-PDP-Decision: ");

	for (size_t i = 0; d != NULL && i < N_DECISIONS - 1; i++) {
		size_t n = strlen(decisions[i]);

		if (strncmp(d + 16, decisions[i], n) == 0 &&
		    (d[16 + n] == '\r' || d[16 + n] == '\n'))
			return i;
	}
	return N_DECISIONS - 1;
}

static void *
drive(void *arg)
{
	struct worker *w = arg;
	char answer[1024];
	const struct opts *o = w->o;
	double interval = o->rate > 0 ? o->threads / o->rate : 0, next = started;
	size_t i = (size_t)w->index * (w->n_reqs / o->threads + 1);
	int fd = -1; /* the HTTP front: this thread's kept-alive connection */

	for (;;) {
		size_t k;
		double t0;
		int status;
		uint64_t us;

		if (o->once) {
			k = atomic_fetch_add(&next_once, 1);
			if (k >= w->n_reqs)
				break;
		} else {
			k = i++ % w->n_reqs;
		}
		if (o->count > 0 && atomic_fetch_add(&sent, 1) >= o->count)
			break;
		if (interval > 0) {
			next += interval;
			sleep_until(next);
		}
		t0 = bench_now();
		if (o->duration > 0 && t0 >= deadline)
			break;
		status = o->http ? http_client_exchange(&fd, o->address, w->reqs[k].buf,
		                                        w->reqs[k].len, answer, sizeof(answer))
		                 : fcgi_client_exchange(o->address, w->reqs[k].buf, w->reqs[k].len,
		                                        answer, sizeof(answer));
		us = (uint64_t)((bench_now() - t0) * 1e6);
		w->done++;
		w->sum_us += us;
		if (us > w->max_us)
			w->max_us = us;
		w->hist[us < HIST_US ? us : HIST_US - 1]++;
		if (status < 0 || status >= 600) {
			w->errors++;
			continue;
		}
		w->status[status]++;
		w->decision[decision_of(answer)]++;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* The smallest latency (µs) at or below which a fraction q of requests finished. */
static uint64_t
quantile(const uint64_t *hist, uint64_t total, double q, uint64_t max_us)
{
	uint64_t want = (uint64_t)(q * (double)total + 0.999999), seen = 0;

	if (want == 0)
		want = 1;
	for (uint64_t us = 0; us < HIST_US; us++) {
		seen += hist[us];
		if (seen >= want)
			return us == HIST_US - 1 ? max_us : us;
	}
	return max_us;
}

/* The HTTP front's header for each FastCGI param load_requests sets (deploy/nginx/pdp_http_params).
 */
static const char *const http_names[] = {"X-PDP-Remote-Addr", "Authorization", "X-PDP-Method",
                                         "X-PDP-Host",        "X-PDP-URI",     "X-PDP-Request-Id"};

/* Reads "TOKEN HOST URI IP" lines into encoded requests, FastCGI or (http) HTTP/1.1. */
static struct req *
load_requests(const char *path, bool http, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, auth[8192], id[40];
	size_t cap = 0, have = 0, room = 1024;
	struct req *reqs = malloc(room * sizeof(*reqs));
	ssize_t got;

	if (f == NULL || reqs == NULL)
		die("cannot read ", path);
	while ((got = getline(&line, &cap, f)) > 0) {
		char *tok = strtok(line, " \n"), *host = strtok(NULL, " \n"),
		     *uri = strtok(NULL, " \n"), *ip = strtok(NULL, " \n");
		unsigned char buf[16384];
		struct fcgi_param params[6];
		size_t len;

		if (tok == NULL || host == NULL || uri == NULL || ip == NULL)
			die("a line is not TOKEN HOST URI IP in ", path);
		snprintf(auth, sizeof(auth), "Bearer %s", tok);
		snprintf(id, sizeof(id), "%032zx", have);
		params[0] = (struct fcgi_param){"REMOTE_ADDR", ip};
		params[1] = (struct fcgi_param){"HTTP_AUTHORIZATION", auth};
		params[2] = (struct fcgi_param){"PDP_METHOD", "GET"};
		params[3] = (struct fcgi_param){"PDP_HOST", host};
		params[4] = (struct fcgi_param){"PDP_URI", uri};
		params[5] = (struct fcgi_param){"PDP_REQUEST_ID", id};
		for (size_t p = 0; http && p < 6; p++)
			params[p].name = http_names[p];
		len = http ? http_client_encode(params, 6, buf, sizeof(buf))
		           : fcgi_client_encode(params, 6, buf, sizeof(buf));
		if (len == 0)
			die("a request is too large in ", path);
		if (have == room && (reqs = realloc(reqs, (room *= 2) * sizeof(*reqs))) == NULL)
			die("out of memory", "");
		reqs[have].buf = malloc(len);
		if (reqs[have].buf == NULL)
			die("out of memory", "");
		memcpy(reqs[have].buf, buf, len);
		reqs[have++].len = len;
	}
	free(line);
	fclose(f);
	if (have == 0)
		die("no requests in ", path);
	*n = have;
	return reqs;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: pdp-load --address [http+]unix:PATH|[http+]tcp:HOST:PORT --requests FILE\n"
	        "                [--threads N] [--duration SECONDS | --count N | --once]\n"
	        "                [--rate PER_SECOND] [--label NAME] [--cdf FILE]\n"
	        "\n"
	        "Each request is a new connection, as nginx auth_request makes over FastCGI;\n"
	        "with http+ (the HTTP front) each thread keeps one connection, as nginx's\n"
	        "upstream keepalive does. --once sends every line of FILE exactly once\n"
	        "(first-seen tokens); otherwise threads cycle through it from different\n"
	        "offsets. --rate paces the sum of all threads.\n"
	        "Prints one JSON line; --cdf writes \"latency_us fraction\" lines for plots.\n"
	        "Defaults: 4 threads, 5 seconds.\n");
}

int
main(int argc, char **argv)
{
	static const struct option long_opts[] = {
	    {"address", required_argument, NULL, 'a'},
	    {"requests", required_argument, NULL, 'r'},
	    {"threads", required_argument, NULL, 't'},
	    {"duration", required_argument, NULL, 'd'},
	    {"count", required_argument, NULL, 'n'},
	    {"once", no_argument, NULL, '1'},
	    {"rate", required_argument, NULL, 'R'},
	    {"label", required_argument, NULL, 'l'},
	    {"cdf", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {.threads = 4, .duration = 5, .label = "pdp"};
	struct worker *w;
	struct req *reqs;
	size_t n_reqs;
	uint64_t *hist, total = 0, errors = 0, status[600] = {0}, max_us = 0, sum_us = 0;
	uint64_t decision[N_DECISIONS] = {0};
	double elapsed;
	int c;

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.address = optarg;
			break;
		case 'r':
			o.requests = optarg;
			break;
		case 't':
			o.threads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			o.duration = atof(optarg);
			break;
		case 'n':
			o.count = strtoull(optarg, NULL, 10);
			o.duration = 0;
			break;
		case '1':
			o.once = true;
			o.duration = 0;
			break;
		case 'R':
			o.rate = atof(optarg);
			break;
		case 'l':
			o.label = optarg;
			break;
		case 'c':
			o.cdf = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (o.address == NULL || o.requests == NULL || o.threads == 0 || o.threads > 256 ||
	    (o.duration <= 0 && o.count == 0 && !o.once) || o.duration > 3600) {
		usage(stderr);
		return 2;
	}
	o.http = strncmp(o.address, "http+", 5) == 0;
	if (o.http)
		o.address += 5;
	/* A kept connection the server closed must fail a write, not stop the driver. */
	signal(SIGPIPE, SIG_IGN);
	reqs = load_requests(o.requests, o.http, &n_reqs);
	w = calloc(o.threads, sizeof(*w));
	hist = calloc(HIST_US, sizeof(*hist));
	if (w == NULL || hist == NULL)
		die("out of memory", "");
	started = bench_now();
	deadline = started + o.duration;
	for (unsigned i = 0; i < o.threads; i++) {
		w[i] = (struct worker){.o = &o, .reqs = reqs, .n_reqs = n_reqs, .index = i};
		w[i].hist = calloc(HIST_US, sizeof(*w[i].hist));
		if (w[i].hist == NULL || pthread_create(&w[i].thread, NULL, drive, &w[i]) != 0)
			die("cannot start a thread", "");
	}
	for (unsigned i = 0; i < o.threads; i++) {
		pthread_join(w[i].thread, NULL);
		for (size_t us = 0; us < HIST_US; us++)
			hist[us] += w[i].hist[us];
		for (int s = 0; s < 600; s++)
			status[s] += w[i].status[s];
		for (size_t d = 0; d < N_DECISIONS; d++)
			decision[d] += w[i].decision[d];
		total += w[i].done;
		errors += w[i].errors;
		sum_us += w[i].sum_us;
		if (w[i].max_us > max_us)
			max_us = w[i].max_us;
		free(w[i].hist);
	}
	elapsed = bench_now() - started;
	printf(
	    "{\"label\":\"%s\",\"threads\":%u,\"requests\":%llu,\"seconds\":%.3f,\"rps\":%.1f,"
	    "\"latency_us\":{\"mean\":%.1f,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,"
	    "\"p999\":%llu,\"max\":%llu},\"status\":{",
	    o.label, o.threads, (unsigned long long)total, elapsed,
	    elapsed > 0 ? (double)total / elapsed : 0, total ? (double)sum_us / (double)total : 0,
	    (unsigned long long)quantile(hist, total, 0.5, max_us),
	    (unsigned long long)quantile(hist, total, 0.9, max_us),
	    (unsigned long long)quantile(hist, total, 0.99, max_us),
	    (unsigned long long)quantile(hist, total, 0.999, max_us), (unsigned long long)max_us);
	for (int s = 0, first = 1; s < 600; s++) {
		if (status[s] == 0)
			continue;
		printf("%s\"%d\":%llu", first ? "" : ",", s, (unsigned long long)status[s]);
		first = 0;
	}
	printf("},\"decisions\":{");
	for (size_t d = 0; d < N_DECISIONS; d++)
		printf("%s\"%s\":%llu", d ? "," : "", decisions[d],
		       (unsigned long long)decision[d]);
	printf("},\"errors\":%llu}\n", (unsigned long long)errors);
	if (o.cdf != NULL) {
		FILE *f = fopen(o.cdf, "w");
		uint64_t seen = 0;

		if (f == NULL)
			die("cannot write ", o.cdf);
		for (size_t us = 0; us < HIST_US && total > 0; us++) {
			if (hist[us] == 0)
				continue;
			seen += hist[us];
			fprintf(f, "%zu %.6f\n", us, (double)seen / (double)total);
		}
		fclose(f);
	}
	for (size_t i = 0; i < n_reqs; i++)
		free(reqs[i].buf);
	free(reqs);
	free(w);
	free(hist);
	return 0;
}
