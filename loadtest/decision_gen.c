/*
 * decision_gen.c - pdp-decision-gen: a realistic decision log of any length,
 * for pdp report's benchmark (report_bench.sh). Lines have the shape and the
 * bounds of service/decision_line.c's: many users (a few far busier than
 * most), apps, enforced and report-only policies, unauthenticated callers,
 * store outages, a stale store and an issuer without keys, one decision every
 * few milliseconds from a fixed start. Deterministic for a seed.
 *
 * usage: pdp-decision-gen [--lines N] [--users N] [--seed N] > decisions.jsonl
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APPS        40
#define POLICIES    24 /* enforced; policy i covers apps i % APPS and (i * 7) % APPS */
#define REPORT_ONLY 6

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* 0..n-1 */
static uint32_t
pick(uint32_t n)
{
	return (uint32_t)((rng() >> 32) * n >> 32);
}

/* A skewed pick: small values far more often (the busiest users, the busiest apps). */
static uint32_t
skewed(uint32_t n)
{
	uint32_t a = pick(n), b = pick(n), c = pick(n);

	a = a < b ? a : b;
	return a < c ? a : c;
}

static const char *const deny_reasons[] = {"compliant device required", "blocked",
                                           "hybrid-joined device required",
                                           "approved client app required"};
static const char *const step_up_reasons[] = {"mfa required", "phishing-resistant required",
                                              "sign-in too old"};

static void
utc(int64_t ms, char *buf)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"lines", required_argument, NULL, 'n'},
	    {"users", required_argument, NULL, 'u'},
	    {"seed", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t lines = 1000000, users = 50000;
	int64_t t = 1795392000000LL; /* 2026-11-23T00:00:00Z */
	static char out[1 << 20];
	size_t used = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			lines = strtoull(optarg, NULL, 10);
			break;
		case 'u':
			users = strtoull(optarg, NULL, 10);
			break;
		case 's':
			rng_state ^= strtoull(optarg, NULL, 10) * 0xbf58476d1ce4e5b9ULL;
			break;
		default:
			fprintf(stderr,
			        "usage: pdp-decision-gen [--lines N] [--users N] [--seed N]\n");
			return 2;
		}
	}
	if (users == 0)
		users = 1;
	for (uint64_t i = 0; i < lines; i++) {
		char *p, when[64];
		uint32_t user = skewed((uint32_t)users), app = skewed(APPS), roll = pick(1000);
		/* One store outage of 2 minutes and a stale hour every 200,000 decisions. */
		uint64_t phase = i % 200000;
		const char *store = phase >= 1000 && phase < 1400   ? "context store unavailable"
		                    : phase >= 5000 && phase < 9000 ? "stale"
		                                                    : NULL;
		const char *decision = roll < 850   ? "allow"
		                       : roll < 920 ? "deny"
		                       : roll < 970 ? "step-up"
		                       : roll < 995 ? "unauthenticated"
		                                    : "error";

		if (used > sizeof(out) - 4096) {
			fwrite(out, 1, used, stdout);
			used = 0;
		}
		t += 1 + pick(8); /* 1-8 ms apart: a busy PDP */
		utc(t, when);
		p = out + used;
		p += sprintf(
		    p,
		    "{\"time\":\"%s\",\"request_id\":\"%016" PRIx64 "%016" PRIx64
		    "\",\"ip\":\"10.%u.%u.%u\",\"method\":\"%s\",\"host\":\"app%u.example.com\","
		    "\"uri\":\"/api/v1/items/%u?view=full\",\"decision\":\"%s\"",
		    when, rng(), rng(), user >> 16 & 255, user >> 8 & 255, user & 255,
		    pick(10) < 8 ? "GET" : "POST", app, pick(100000), decision);
		if (strcmp(decision, "unauthenticated") == 0 || strcmp(decision, "error") == 0) {
			p += sprintf(p, ",\"reason\":\"%s\"",
			             decision[0] == 'u' ? (pick(2) ? "no token" : "token expired")
			             : (i / 100000) % 10 == 3 ? "keys unavailable"
			                                      : "invalid signature");
		} else if (store != NULL && store[0] == 'c' && decision[0] == 'd') {
			p += sprintf(
			    p,
			    ",\"user\":\"user%u@example.com\",\"device\":\"dev-%u\",\"reason\":"
			    "\"context store unavailable\",\"store\":\"%s\"",
			    user, user, store);
		} else {
			uint32_t pol = (app + pick(3) * APPS) % POLICIES, ro = pick(REPORT_ONLY);
			const char *why = decision[0] == 'd'   ? deny_reasons[pick(4)]
			                  : decision[0] == 's' ? step_up_reasons[pick(3)]
			                                       : NULL;

			p += sprintf(p, ",\"user\":\"user%u@example.com\",\"app\":\"app-%u\"", user,
			             app);
			if (pick(10) < 9)
				p += sprintf(p, ",\"device\":\"dev-%u\"", user);
			if (store != NULL)
				p += sprintf(p, ",\"store\":\"%s\"", store);
			if (why != NULL)
				p += sprintf(p, ",\"reason\":\"policy-%u: %s\"", pol, why);
			p += sprintf(p,
			             ",\"policies\":[{\"id\":\"policy-%u\",\"result\":\"%s\","
			             "\"reason\":\"%s\"}",
			             pol,
			             why == NULL                          ? "satisfied"
			             : decision[0] == 'd' && pick(3) == 0 ? "block"
			                                                  : "unmet",
			             why != NULL ? why : "controls met");
			if (pick(2) == 0)
				p += sprintf(
				    p,
				    ",{\"id\":\"policy-%u\",\"result\":\"satisfied\",\"reason\":"
				    "\"mfa satisfied\"}",
				    (pol + 1) % POLICIES);
			p += sprintf(p, "],\"report_only\":[");
			if (pick(3) == 0) {
				uint32_t w = pick(10);

				p += sprintf(
				    p, "{\"id\":\"trial-%u\",\"would\":\"%s\",\"reason\":\"%s\"}",
				    ro,
				    w < 6   ? "allow"
				    : w < 8 ? "deny"
				            : "step-up",
				    w < 6 ? "controls met" : "compliant device required");
			}
			p += sprintf(p, "],\"revision\":\"b244d9ce927b0fae\"");
		}
		p += sprintf(p, ",\"latency_us\":%u}\n",
		             40 + pick(200) + (pick(100) == 0 ? pick(20000) : 0));
		used = (size_t)(p - out);
	}
	fwrite(out, 1, used, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
