/*
 * eval_bench.c - policy evaluations per second on one core, for a set of 50
 * and one of 10,000 policies spread over 1,000 apps.
 *
 * The sets look like an organisation's: a handful of baseline policies for
 * all apps (block countries, MFA outside trusted networks, high risk), and
 * the rest scoped to an app and to groups, with conditions and grants mixed.
 * Subjects are interned once (the daemon does that once per cached token);
 * each evaluation maps the request to its app, computes its locations and
 * checks the app's candidate policies. Rounds alternate the two sets and
 * medians are reported, since the machine may be shared and noisy.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "policy/eval.h"
#include "policy/load.h"
#include "policy_gen.h"

#define APPS     1000
#define GROUPS   200
#define SUBJECTS 1024
#define REQUESTS 4096
#define NOW      1800000000

struct bench_subject {
	struct subject s;
	const char *groups[4];
	const char *amr[2];
	struct subject_ids ids;
	uint32_t buf[8];
};

static char group_names[GROUPS][16];

static void
die(const char *what)
{
	fprintf(stderr, "pdp-bench-eval: %s\n", what);
	exit(1);
}

struct run {
	const char *label;
	size_t n;
	struct policy_set *set;
	struct bench_subject *subjects;
	struct eval_input *inputs;
	double rate[32];
};

static void
prepare(struct run *r)
{
	struct text text = {0};
	char err[512];
	const char *names[] = {"bench.yaml"}, *bufs[1];
	static const char *const ips[] = {"10.1.2.3", "203.0.113.9", "2001:db8::7", "198.51.100.1"};
	static const char *const countries[] = {"DE", "US", NULL, "FR"};
	static char hosts[REQUESTS][32];

	policy_gen_set(&text, r->n, APPS, GROUPS, 42);
	bufs[0] = text.buf;
	r->set = policy_set_load_buffers(names, bufs, 1, err, sizeof(err));
	free(text.buf);
	if (r->set == NULL)
		die(err);
	r->subjects = calloc(SUBJECTS, sizeof(*r->subjects));
	r->inputs = calloc(REQUESTS, sizeof(*r->inputs));
	if (r->subjects == NULL || r->inputs == NULL)
		die("out of memory");
	srand(7);
	for (int i = 0; i < SUBJECTS; i++) {
		struct bench_subject *b = &r->subjects[i];
		static char users[SUBJECTS][24];

		snprintf(users[i], sizeof(users[i]), "user%d@example.com", i);
		for (int g = 0; g < 4; g++)
			b->groups[g] = group_names[rand() % GROUPS];
		b->amr[0] = "pwd";
		b->amr[1] = i % 2 ? "mfa" : "otp";
		b->s.user = users[i];
		b->s.groups.items = b->groups;
		b->s.groups.n = 4;
		b->s.amr.items = b->amr;
		b->s.amr.n = 2;
		b->s.auth_time = NOW - 600;
		b->s.iat = NOW - 600;
		b->s.sign_in_risk = i % 5 == 0 ? "medium" : NULL;
		eval_subject_ids(r->set, &b->s, b->buf, 8, &b->ids);
	}
	for (int i = 0; i < REQUESTS; i++) {
		struct bench_subject *b = &r->subjects[rand() % SUBJECTS];
		struct eval_input *in = &r->inputs[i];

		snprintf(hosts[i], sizeof(hosts[i]), "app-%d.example.com", rand() % APPS);
		in->subject = &b->s;
		in->ids = &b->ids;
		in->method = "GET";
		in->host = hosts[i];
		in->uri = "/orders/42";
		in->ip = ips[i % 4];
		in->country = countries[i % 4];
		in->client = CLIENT_API;
		in->now = NOW;
		in->default_allow = true;
	}
}

/* Evaluations per second over about seconds, cycling through the requests. */
static double
measure(struct run *r, double seconds, unsigned *mix)
{
	struct eval_result res;
	long n = 0;
	double t0 = bench_now(), t;

	do {
		for (int i = 0; i < 1024; i++) {
			policy_eval(r->set, &r->inputs[(n + i) % REQUESTS], &res);
			mix[res.decision]++;
		}
		n += 1024;
		t = bench_now();
	} while (t - t0 < seconds);
	return (double)n / (t - t0);
}

int
main(int argc, char **argv)
{
	struct run runs[] = {{.label = "50 policies", .n = 50},
	                     {.label = "10,000 policies", .n = 10000}};
	int rounds = 9, json = 0, opt;
	double seconds = 0.2;
	unsigned mix[DECISION_ERROR + 1] = {0};

	while ((opt = getopt(argc, argv, "r:s:j")) != -1) {
		if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 's')
			seconds = atof(optarg);
		else if (opt == 'j')
			json = 1;
		else {
			fprintf(stderr, "usage: pdp-bench-eval [-r ROUNDS] [-s SECONDS] [-j]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
		die("rounds must be 1..32");
	for (int g = 0; g < GROUPS; g++)
		snprintf(group_names[g], sizeof(group_names[g]), "group-%d", g);
	for (int i = 0; i < 2; i++)
		prepare(&runs[i]);
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 2; i++)
			runs[i].rate[r] = measure(&runs[i], seconds, mix);
	}
	{
		double a = bench_median(runs[0].rate, rounds),
		       b = bench_median(runs[1].rate, rounds);

		if (json) {
			printf("{\"rounds\":%d,\"policies_50_per_s\":%.0f,\"policies_10000_per_s\":"
			       "%.0f,"
			       "\"slowdown\":%.2f}\n",
			       rounds, a, b, a / b);
		} else {
			printf("policy evaluation, one core, medians of %d interleaved rounds\n\n",
			       rounds);
			for (int i = 0; i < 2; i++)
				printf("%-16s %10.0f evaluations/s  %6.3f us each  (%zu apps, %zu "
				       "policies)\n",
				       runs[i].label, bench_median(runs[i].rate, rounds),
				       1e6 / bench_median(runs[i].rate, rounds),
				       runs[i].set->n_apps, runs[i].set->n_policies);
			printf("\n10,000 policies are %.2fx slower per evaluation than 50\n",
			       a / b);
			printf("decisions seen: allow %u, deny %u, step-up %u\n",
			       mix[DECISION_ALLOW], mix[DECISION_DENY], mix[DECISION_STEP_UP]);
		}
	}
	for (int i = 0; i < 2; i++) {
		policy_set_free(runs[i].set);
		free(runs[i].subjects);
		free(runs[i].inputs);
	}
	return 0;
}
