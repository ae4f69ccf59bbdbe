/*
 * loadgen.c - pdp-loadgen: the data a load run needs, generated from sizes.
 *
 * Users (groups, roles, amr mixes; some with a risky sign-in), devices
 * (compliance, trust and platform mix), RS256 and/or ES256 tokens signed
 * with freshly generated keys, the JWKS for them, a policy set, the Redis
 * records (some users at high risk, some disabled) as a RESP stream for
 * `redis-cli --pipe`, and the requests: one line per token,
 * "TOKEN HOST URI IP", plus the same tokens with a broken signature.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "keytool.h"
#include "policy_gen.h"

#define APPS   1000
#define GROUPS 200

struct opts {
	const char *out;
	unsigned users, devices, tokens, policies, threads;
	const char *alg; /* RS256, ES256 or mix */
	long ttl;
	unsigned seed;
	const char *policies_only; /* write just this policy file */
};

struct signer {
	pthread_t thread;
	const struct opts *o;
	EVP_PKEY *rsa, *ec;
	time_t now;
	unsigned from, to;
	char **tokens;
	int failed;
};

static void
die(const char *what, const char *arg)
{
	fprintf(stderr, "pdp-loadgen: %s%s\n", what, arg);
	exit(1);
}

/* A small, fast, seedable generator, so runs with one seed see the same data. */
static unsigned
rnd(unsigned *state)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 8) & 0xffffff;
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die("cannot write ", path);
}

static void
write_text(const char *dir, const char *name, const char *data, size_t len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_file(path, data, len);
}

/* The claims of token t: user t mod users, with the user's groups, roles and amr. */
static void
claims_of(const struct opts *o, unsigned t, time_t now, struct text *c)
{
	unsigned u = t % o->users, st = u * 2654435761u + o->seed;
	unsigned kind = rnd(&st) % 10;
	static const char *const amr[] = {"\"pwd\",\"mfa\"", "\"pwd\"", "\"hwk\""};

	c->len = 0;
	text_put(c,
	         "{\"iss\":\"https://idp.load.example/\",\"aud\":\"https://apps.load.example\","
	         "\"sub\":\"user-%u@load.example\",\"jti\":\"j-%u\",\"iat\":%lld,\"exp\":%lld,"
	         "\"auth_time\":%lld,\"groups\":[\"group-%u\",\"group-%u\",\"group-%u\"]",
	         u, t, (long long)now - 60, (long long)(now + o->ttl), (long long)now - 600,
	         rnd(&st) % GROUPS, rnd(&st) % GROUPS, rnd(&st) % GROUPS);
	if (u % 10 == 0)
		text_put(c, ",\"roles\":[\"Admin\"]");
	text_put(c, ",\"amr\":[%s]", amr[kind < 7 ? 0 : kind < 9 ? 1 : 2]);
	if (u % 10 != 9)
		text_put(c, ",\"deviceid\":\"dev-%u\"", u % o->devices);
	if (u % 10 == 3)
		text_put(c, ",\"signin_risk\":\"medium\"");
	text_put(c, "}");
}

static void *
sign_range(void *arg)
{
	struct signer *s = arg;
	struct text c = {0};

	for (unsigned t = s->from; t < s->to && !s->failed; t++) {
		bool rsa = strcmp(s->o->alg, "RS256") == 0 ||
		           (strcmp(s->o->alg, "mix") == 0 && t % 2 == 0);
		claims_of(s->o, t, s->now, &c);
		s->tokens[t] = keytool_sign(rsa ? "RS256" : "ES256", rsa ? s->rsa : s->ec,
		                            rsa ? "{\"kid\":\"load-rsa\",\"typ\":\"JWT\"}"
		                                : "{\"kid\":\"load-ec\",\"typ\":\"JWT\"}",
		                            c.buf);
		if (s->tokens[t] == NULL)
			s->failed = 1;
	}
	free(c.buf);
	return NULL;
}

/* One RESP command of n arguments. */
static void
resp(struct text *r, int n, const char *const *argv)
{
	text_put(r, "*%d\r\n", n);
	for (int i = 0; i < n; i++)
		text_put(r, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
}

static void
redis_records(const struct opts *o, time_t now, struct text *r)
{
	static const char *const platforms[] = {"windows", "macos", "ios", "android", "linux"};
	char key[64], updated[32];

	snprintf(updated, sizeof(updated), "%lld", (long long)now);
	for (unsigned d = 0; d < o->devices; d++) {
		unsigned st = d * 40503u + o->seed;
		const char *compliant = rnd(&st) % 10 < 8 ? "1" : "0";
		const char *argv[] = {"HSET",      key,
		                      "compliant", compliant,
		                      "managed",   compliant,
		                      "trust",     d % 3 ? "joined" : "registered",
		                      "platform",  platforms[d % 5],
		                      "updated",   updated};

		snprintf(key, sizeof(key), "pdp:device:dev-%u", d);
		resp(r, 12, argv);
	}
	for (unsigned u = 0; u < o->users; u++) {
		const char *risk = u % 50 == 7 ? "high" : u % 10 == 5 ? "low" : NULL;
		const char *disabled = u % 100 == 11 ? "1" : NULL;

		if (risk == NULL && disabled == NULL)
			continue;
		snprintf(key, sizeof(key), "pdp:user:user-%u@load.example", u);
		{
			const char *argv[] = {"HSET",     key,
			                      "risk",     risk != NULL ? risk : "none",
			                      "disabled", disabled != NULL ? disabled : "0"};

			resp(r, 6, argv);
		}
	}
}

static void
write_policies(const char *path, unsigned n)
{
	struct text t = {0};

	policy_gen_set(&t, n, APPS, GROUPS, 42);
	write_file(path, t.buf, t.len);
	free(t.buf);
}

static EVP_PKEY *
keypair(const char *dir, const char *kind, const char *kid, const char *alg, struct text *jwks)
{
	EVP_PKEY *k = keytool_generate(kind);
	char *pem, *jwk, name[64];
	size_t len;

	if (k == NULL || (pem = keytool_private_pem(k, &len)) == NULL ||
	    (jwk = keytool_public_jwk(k, kid, alg)) == NULL)
		die("cannot generate a key: ", kind);
	snprintf(name, sizeof(name), "%s.pem", kid);
	write_text(dir, name, pem, len);
	text_put(jwks, "%s%s", jwks->len > 9 ? "," : "", jwk);
	free(jwk);
	free(pem);
	return k;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: pdp-loadgen --out DIR [--users N] [--devices N] [--tokens N]\n"
	           "                   [--policies N] [--alg RS256|ES256|mix] [--ttl SECONDS]\n"
	           "                   [--seed N] [--threads N]\n"
	           "       pdp-loadgen --policies-only FILE --policies N\n"
	           "\n"
	           "Writes to DIR: load-rsa.pem, load-ec.pem, jwks.json, policies/set.yaml,\n"
	           "redis.resp (for redis-cli --pipe), requests.txt and invalid.txt (one request\n"
	           "per line: TOKEN HOST URI IP; invalid.txt has every signature broken).\n"
	           "Defaults: 10000 users, 10000 devices, 10000 tokens (token t is user t mod\n"
	           "users), 50 policies over 1000 apps, RS256, a 4-hour ttl, seed 1, 2 threads.\n");
}

int
main(int argc, char **argv)
{
	static const struct option long_opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"users", required_argument, NULL, 'u'},
	    {"devices", required_argument, NULL, 'd'},
	    {"tokens", required_argument, NULL, 't'},
	    {"policies", required_argument, NULL, 'p'},
	    {"alg", required_argument, NULL, 'a'},
	    {"ttl", required_argument, NULL, 'l'},
	    {"seed", required_argument, NULL, 's'},
	    {"threads", required_argument, NULL, 'j'},
	    {"policies-only", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {.users = 10000,
	                 .devices = 10000,
	                 .tokens = 10000,
	                 .policies = 50,
	                 .threads = 2,
	                 .alg = "RS256",
	                 .ttl = 4 * 3600,
	                 .seed = 1};
	struct text jwks = {0}, req = {0}, bad = {0}, redis = {0};
	struct signer *signers;
	char **tokens, path[4096];
	EVP_PKEY *rsa, *ec;
	time_t now = time(NULL);
	int c;

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.out = optarg;
			break;
		case 'u':
			o.users = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			o.devices = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			o.tokens = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			o.policies = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'a':
			o.alg = optarg;
			break;
		case 'l':
			o.ttl = strtol(optarg, NULL, 10);
			break;
		case 's':
			o.seed = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'j':
			o.threads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'P':
			o.policies_only = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (o.policies < 4)
		die("--policies must be at least 4 (the baseline)", "");
	if (o.policies_only != NULL) {
		write_policies(o.policies_only, o.policies);
		return 0;
	}
	if (o.out == NULL || o.users == 0 || o.devices == 0 || o.tokens == 0 || o.threads == 0 ||
	    o.threads > 64 || o.ttl <= 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(o.alg, "RS256") != 0 && strcmp(o.alg, "ES256") != 0 && strcmp(o.alg, "mix") != 0)
		die("--alg must be RS256, ES256 or mix, not ", o.alg);
	snprintf(path, sizeof(path), "%s/policies", o.out);
	if ((mkdir(o.out, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(path, 0700) != 0 && errno != EEXIST))
		die("cannot create ", path);
	snprintf(path, sizeof(path), "%s/policies/set.yaml", o.out);
	write_policies(path, o.policies);

	text_put(&jwks, "{\"keys\":[");
	rsa = keypair(o.out, "rsa", "load-rsa", "RS256", &jwks);
	ec = keypair(o.out, "p256", "load-ec", "ES256", &jwks);
	text_put(&jwks, "]}\n");
	write_text(o.out, "jwks.json", jwks.buf, jwks.len);

	tokens = calloc(o.tokens, sizeof(*tokens));
	signers = calloc(o.threads, sizeof(*signers));
	if (tokens == NULL || signers == NULL)
		die("out of memory", "");
	for (unsigned i = 0; i < o.threads; i++) {
		signers[i] =
		    (struct signer){.o = &o,
		                    .rsa = rsa,
		                    .ec = ec,
		                    .now = now,
		                    .from = (unsigned)((uint64_t)o.tokens * i / o.threads),
		                    .to = (unsigned)((uint64_t)o.tokens * (i + 1) / o.threads),
		                    .tokens = tokens};
		if (pthread_create(&signers[i].thread, NULL, sign_range, &signers[i]) != 0)
			die("cannot start a thread", "");
	}
	for (unsigned i = 0; i < o.threads; i++) {
		pthread_join(signers[i].thread, NULL);
		if (signers[i].failed)
			die("signing failed", "");
	}
	for (unsigned t = 0; t < o.tokens; t++) {
		unsigned st = t * 2246822519u + o.seed, r = rnd(&st);
		char ip[32], host[32], *sig = strrchr(tokens[t], '.') + 1;
		size_t mid = strlen(sig) / 2;

		if (r % 10 < 6)
			snprintf(ip, sizeof(ip), "10.%u.%u.%u", r % 256, (r >> 8) % 256,
			         1 + r % 250);
		else
			snprintf(ip, sizeof(ip), "203.0.113.%u", 1 + r % 250);
		snprintf(host, sizeof(host), "app-%u.example.com", rnd(&st) % APPS);
		text_put(&req, "%s %s /api/items/%u %s\n", tokens[t], host, r % 1000, ip);
		/* The same token with one signature character changed: well-formed, never valid. */
		sig[mid] = sig[mid] == 'A' ? 'B' : 'A';
		text_put(&bad, "%s %s /api/items/%u %s\n", tokens[t], host, r % 1000, ip);
		free(tokens[t]);
	}
	write_text(o.out, "requests.txt", req.buf, req.len);
	write_text(o.out, "invalid.txt", bad.buf, bad.len);
	redis_records(&o, now, &redis);
	write_text(o.out, "redis.resp", redis.buf, redis.len);
	printf("%s: %u users, %u devices, %u %s tokens, %u policies over %u apps\n", o.out, o.users,
	       o.devices, o.tokens, o.alg, o.policies, APPS);
	free(tokens);
	free(signers);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	free(jwks.buf);
	free(req.buf);
	free(bad.buf);
	free(redis.buf);
	return 0;
}
