/* cae_bench.c - continuous access evaluation: how fast a revocation reaches decisions,
 * and proof that warm decisions leave Redis alone */
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "fcgi_client.h"

/* p99 of PUBLISH-to-decision the PDP must meet. */
#define TARGET_P99_MS 50.0

struct prober {
	const char *pdp;
	struct fcgi_param params[6];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	double armed;  /* looking for the first wanted answer completed after this */
	int wanted;    /* the status that reflects the change */
	double seen;   /* when it was seen; 0: not yet */
	int last;      /* the last status */
	long requests; /* answers received */
	long errors;   /* transport errors */
};

static void *
prober_main(void *arg)
{
	struct prober *p = arg;

	for (;;) {
		int status = fcgi_client_request(p->pdp, p->params, 6, NULL, 0);
		double t = bench_now();

		pthread_mutex_lock(&p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		p->requests++;
		if (status < 0)
			p->errors++;
		p->last = status;
		if (p->armed > 0 && p->seen == 0 && status == p->wanted && t > p->armed) {
			p->seen = t;
			pthread_cond_broadcast(&p->cond);
		}
		pthread_mutex_unlock(&p->lock);
	}
}

/* Waits up to 2 s for the prober to answer status; returns whether it did. */
static bool
wait_for(struct prober *p, int status)
{
	double until = bench_now() + 2.0;

	for (;;) {
		bool ok;

		pthread_mutex_lock(&p->lock);
		ok = p->last == status;
		pthread_mutex_unlock(&p->lock);
		if (ok)
			return true;
		if (bench_now() > until)
			return false;
		usleep(200);
	}
}

/* Runs argv as one write with its event, in a transaction (as pdp admin does). */
static int
publish(redisContext *c, const char *channel, const char *event, int argc, const char **argv)
{
	redisReply *r;
	int rc = 0;

	redisAppendCommand(c, "MULTI");
	redisAppendCommandArgv(c, argc, argv, NULL);
	redisAppendCommand(c, "PUBLISH %s %s", channel, event);
	redisAppendCommand(c, "EXEC");
	for (int i = 0; i < 4; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			return -1;
		if (r->type == REDIS_REPLY_ERROR)
			rc = -1;
		freeReplyObject(r);
	}
	return rc;
}

/*
 * The lookups Redis has served: HGETALL (records) and EXISTS (revoked jtis).
 * The PDP's heartbeat (PING, GET of the generation marker, INFO) is not a lookup.
 */
static long long
lookups_served(redisContext *c)
{
	static const char *const cmds[] = {"cmdstat_hgetall:calls=", "cmdstat_exists:calls="};
	redisReply *r = redisCommand(c, "INFO commandstats");
	long long n = -1;

	if (r != NULL && r->type == REDIS_REPLY_STRING) {
		n = 0;
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			const char *at = strstr(r->str, cmds[i]);

			if (at != NULL)
				n += atoll(at + strlen(cmds[i]));
		}
	}
	freeReplyObject(r);
	return n;
}

static int
cmp_double(const void *a, const void *b)
{
	return bench_cmp_double(a, b);
}

static double
pct(const double *sorted, int n, double q)
{
	int i = (int)(q * (n - 1) + 0.5);

	return sorted[i < n ? i : n - 1];
}

static void
usage(void)
{
	fprintf(stderr, "usage: pdp-bench-cae --pdp ADDR --redis SOCKET --token FILE --user USER "
	                "--jti JTI\n"
	                "                     [--prefix pdp:] [--rounds N] [--warm N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pdp", required_argument, NULL, 'p'},
	    {"redis", required_argument, NULL, 'r'},
	    {"token", required_argument, NULL, 't'},
	    {"user", required_argument, NULL, 'u'},
	    {"jti", required_argument, NULL, 'j'},
	    {"prefix", required_argument, NULL, 'x'},
	    {"rounds", required_argument, NULL, 'n'},
	    {"warm", required_argument, NULL, 'w'},
	    {NULL, 0, NULL, 0},
	};
	const char *pdp = NULL, *redis = NULL, *token_file = NULL, *user = NULL, *jti = NULL;
	const char *prefix = "pdp:";
	int rounds = 200, warm = 20000, c, misses = 0, failed = 0;
	char token[8192], auth[8300], channel[128], ukey[512], jkey[512], ev_user[512], ev_jti[512],
	    future[32];
	struct prober p;
	pthread_t thread;
	redisContext *rc;
	double *lat;
	FILE *f;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pdp = optarg;
			break;
		case 'r':
			redis = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'j':
			jti = optarg;
			break;
		case 'x':
			prefix = optarg;
			break;
		case 'n':
			rounds = atoi(optarg);
			break;
		case 'w':
			warm = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (pdp == NULL || redis == NULL || token_file == NULL || user == NULL || jti == NULL ||
	    rounds < 2 || warm < 1)
		usage();
	if ((f = fopen(token_file, "r")) == NULL || fgets(token, sizeof(token), f) == NULL) {
		perror(token_file);
		return 2;
	}
	fclose(f);
	token[strcspn(token, "\r\n")] = '\0';
	snprintf(auth, sizeof(auth), "Bearer %s", token);
	snprintf(channel, sizeof(channel), "%sevents", prefix);
	snprintf(ukey, sizeof(ukey), "%suser:%s", prefix, user);
	snprintf(jkey, sizeof(jkey), "%sjti:%s", prefix, jti);
	snprintf(ev_user, sizeof(ev_user), "user %s", user);
	snprintf(ev_jti, sizeof(ev_jti), "jti %s", jti);
	rc = redisConnectUnix(redis);
	if (rc == NULL || rc->err) {
		fprintf(stderr, "redis %s: %s\n", redis, rc ? rc->errstr : "out of memory");
		return 2;
	}
	memset(&p, 0, sizeof(p));
	p.pdp = pdp;
	p.params[0] = (struct fcgi_param){"PDP_METHOD", "GET"};
	p.params[1] = (struct fcgi_param){"PDP_HOST", "intranet.example.com"};
	p.params[2] = (struct fcgi_param){"PDP_URI", "/"};
	p.params[3] = (struct fcgi_param){"REMOTE_ADDR", "10.1.2.3"};
	p.params[4] = (struct fcgi_param){"PDP_REQUEST_ID", "cae-bench"};
	p.params[5] = (struct fcgi_param){"HTTP_AUTHORIZATION", auth};
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	pthread_create(&thread, NULL, prober_main, &p);
	if (!wait_for(&p, 200)) {
		fprintf(stderr, "the token is not allowed to begin with (status %d)\n", p.last);
		return 2;
	}

	/* Revocation rounds, alternating sessions (revoked_before) and a token's jti. */
	lat = calloc((size_t)rounds, sizeof(double));
	snprintf(future, sizeof(future), "%lld", (long long)time(NULL) + 3600);
	srand((unsigned)time(NULL));
	for (int i = 0; i < rounds; i++) {
		bool by_jti = i % 2 == 1;
		const char *revoke_user[] = {"HSET", ukey, "revoked_before", future};
		const char *revoke_jti[] = {"SET", jkey, "1", "EX", "600"};
		const char *undo_user[] = {"HSET", ukey, "revoked_before", "0"};
		const char *undo_jti[] = {"DEL", jkey};
		double t0;

		usleep((useconds_t)(1000 + rand() % 4000)); /* not in step with the prober */
		pthread_mutex_lock(&p.lock);
		p.seen = 0;
		p.wanted = 401;
		p.armed = t0 = bench_now();
		pthread_mutex_unlock(&p.lock);
		if ((by_jti ? publish(rc, channel, ev_jti, 5, revoke_jti)
		            : publish(rc, channel, ev_user, 4, revoke_user)) != 0) {
			fprintf(stderr, "redis: the revocation failed\n");
			return 2;
		}
		pthread_mutex_lock(&p.lock);
		{
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 2;
			while (p.seen == 0 && pthread_cond_timedwait(&p.cond, &p.lock, &until) == 0)
				;
		}
		lat[i] = p.seen > 0 ? (p.seen - t0) * 1000 : 2000;
		misses += p.seen == 0;
		p.armed = 0;
		pthread_mutex_unlock(&p.lock);
		if ((by_jti ? publish(rc, channel, ev_jti, 2, undo_jti)
		            : publish(rc, channel, ev_user, 4, undo_user)) != 0 ||
		    !wait_for(&p, 200)) {
			fprintf(stderr, "the token was not allowed again after round %d\n", i);
			return 2;
		}
	}
	pthread_mutex_lock(&p.lock);
	p.stop = true;
	pthread_mutex_unlock(&p.lock);
	pthread_join(thread, NULL);
	qsort(lat, (size_t)rounds, sizeof(double), cmp_double);

	/* A warm run: the same caller again and again; count Redis's lookups around it. */
	{
		long long before, after;
		long allowed = 0, errors = 0;
		double t0, secs;

		for (int i = 0; i < 100; i++)
			fcgi_client_request(pdp, p.params, 6, NULL, 0);
		before = lookups_served(rc);
		t0 = bench_now();
		for (int i = 0; i < warm; i++) {
			int s = fcgi_client_request(pdp, p.params, 6, NULL, 0);

			allowed += s == 200;
			errors += s < 0;
		}
		secs = bench_now() - t0;
		after = lookups_served(rc);
		printf("# Continuous access evaluation\n\n");
		printf("| measure | value |\n|---|---|\n");
		printf("| revocations (sessions and jtis, alternating) | %d |\n", rounds);
		printf("| PUBLISH to first decision reflecting it, p50 | %.2f ms |\n",
		       pct(lat, rounds, 0.50));
		printf("| p90 | %.2f ms |\n", pct(lat, rounds, 0.90));
		printf("| p99 | %.2f ms (target <= %.0f ms: %s) |\n", pct(lat, rounds, 0.99),
		       TARGET_P99_MS, pct(lat, rounds, 0.99) <= TARGET_P99_MS ? "met" : "NOT met");
		printf("| max | %.2f ms |\n", lat[rounds - 1]);
		printf("| revocations never seen within 2 s | %d |\n", misses);
		printf("| prober decisions during the rounds | %ld (%ld transport errors) |\n",
		       p.requests, p.errors);
		printf("| warm decisions (direct FastCGI, one client) | %d in %.2f s, %.0f/s, %ld "
		       "allowed |\n",
		       warm, secs, warm / secs, allowed);
		printf("| Redis lookups (HGETALL, EXISTS) during the warm run | %lld (target 0: "
		       "%s) |\n",
		       after - before, after - before == 0 ? "met" : "NOT met");
		printf("\n{\"rounds\":%d,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
		       "\"max_ms\":%.3f,\"missed\":%d,\"warm_decisions\":%d,\"warm_per_s\":%.0f,"
		       "\"warm_redis_commands\":%lld}\n",
		       rounds, pct(lat, rounds, 0.5), pct(lat, rounds, 0.9), pct(lat, rounds, 0.99),
		       lat[rounds - 1], misses, warm, warm / secs, after - before);
		failed = pct(lat, rounds, 0.99) > TARGET_P99_MS || misses > 0 ||
		         after - before != 0 || allowed != warm || errors > 0;
	}
	free(lat);
	redisFree(rc);
	return failed ? 1 : 0;
}
