/*
 * verify_bench.c - cold and warm token verification (RS256, ES256, HS256)
 * beside OpenSSL's raw verify rate, measured in the same run.
 *
 * Cold: a first-seen token through the whole decision (cache miss, parse,
 * signature, claims, subject, answer, cache insert). Warm: the same token
 * again (cache hit and answer). Raw: OpenSSL verifying a precomputed digest
 * with a reused key context, as `openssl speed` does (HS256: a MAC of the
 * signing input with a reused context). Rounds are interleaved
 * and medians reported, since the machine may be shared and noisy.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bench.h"
#include "core/cache.h"
#include "keytool.h"
#include "service/decide.h"

#define TOKENS 4096

struct alg_case {
	const char *alg;
	const char *kind; /* keytool kind, NULL for HMAC */
	const char *kid;  /* token header JSON naming the key */
	EVP_PKEY *key;
	char *pem;
	size_t pem_len;
	char *tokens[TOKENS];
	/* raw verify inputs */
	unsigned char digest[32];
	unsigned char sig[512];
	size_t sig_len;
	EVP_PKEY_CTX *raw_ctx;
	EVP_MAC_CTX *raw_mac;
	double raw[32], cold[32], warm[32], ratio[32];
};

static const unsigned char secret[] = "bench-secret-bench-secret-bench-secret-!";

static void
die(const char *what)
{
	fprintf(stderr, "pdp-bench-verify: %s\n", what);
	exit(1);
}

static void
setup_case(struct alg_case *c, time_t now, int mint)
{
	char body[512];

	if (c->kind != NULL) {
		c->key = keytool_generate(c->kind);
		c->pem = keytool_private_pem(c->key, &c->pem_len);
		if (c->key == NULL || c->pem == NULL)
			die("key generation failed");
	}
	for (int i = 0; mint && i < TOKENS; i++) {
		snprintf(body, sizeof(body),
		         "{\"iss\":\"%s\",\"aud\":\"https://apps.example.com\","
		         "\"sub\":\"user%d@example.com\",\"groups\":[\"staff\",\"eng\"],"
		         "\"amr\":[\"pwd\",\"mfa\"],\"jti\":\"%s-%d\",\"iat\":%lld,\"exp\":%lld}",
		         c->kind ? "https://idp.example.com/" : "https://internal.example.com/", i,
		         c->alg, i, (long long)now, (long long)now + 3600);
		c->tokens[i] =
		    c->kind
		        ? keytool_mint(c->alg, (unsigned char *)c->pem, c->pem_len, c->kid, body)
		        : keytool_mint(c->alg, secret, sizeof(secret) - 1, NULL, body);
		if (c->tokens[i] == NULL)
			die("minting failed");
	}
	/* The raw baseline verifies a real signature over a SHA-256 digest. */
	memset(c->digest, 7, sizeof(c->digest));
	if (c->kind != NULL) {
		EVP_PKEY_CTX *s = EVP_PKEY_CTX_new(c->key, NULL);

		c->sig_len = sizeof(c->sig);
		if (s == NULL || EVP_PKEY_sign_init(s) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(s, EVP_sha256()) != 1 ||
		    EVP_PKEY_sign(s, c->sig, &c->sig_len, c->digest, sizeof(c->digest)) != 1)
			die("raw signing failed");
		EVP_PKEY_CTX_free(s);
		c->raw_ctx = EVP_PKEY_CTX_new(c->key, NULL);
		if (c->raw_ctx == NULL || EVP_PKEY_verify_init(c->raw_ctx) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(c->raw_ctx, EVP_sha256()) != 1)
			die("raw verify setup failed");
	} else {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {
		    OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		    OSSL_PARAM_construct_end(),
		};

		c->raw_mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
		if (c->raw_mac == NULL ||
		    EVP_MAC_init(c->raw_mac, secret, sizeof(secret) - 1, params) != 1)
			die("raw MAC setup failed");
		EVP_MAC_free(mac);
	}
}

/* Raw OpenSSL verifications (HMAC: one MAC over a token-sized input) per second. */
static double
bench_raw(struct alg_case *c, double seconds)
{
	const char *input = c->tokens[0] ? c->tokens[0] : "no.token";
	size_t input_len = (size_t)(strrchr(input, '.') - input);
	unsigned char mac[32];
	long n = 0;
	double t0 = bench_now(), t;

	do {
		for (int i = 0; i < 64; i++) {
			if (c->raw_ctx != NULL) {
				if (EVP_PKEY_verify(c->raw_ctx, c->sig, c->sig_len, c->digest,
				                    sizeof(c->digest)) != 1)
					die("raw verify failed");
			} else {
				size_t ml = 0;

				if (EVP_MAC_init(c->raw_mac, NULL, 0, NULL) != 1 ||
				    EVP_MAC_update(c->raw_mac, (const unsigned char *)input,
				                   input_len) != 1 ||
				    EVP_MAC_final(c->raw_mac, mac, &ml, sizeof(mac)) != 1)
					die("raw MAC failed");
			}
		}
		n += 64;
		t = bench_now();
	} while (t - t0 < seconds);
	return (double)n / (t - t0);
}

static struct request
bearer(const char *tok)
{
	struct request r = {.method = "GET", .host = "app.example.com", .uri = "/"};

	r.token_source = TOKEN_SOURCE_BEARER;
	r.token = tok;
	r.token_len = strlen(tok);
	return r;
}

/*
 * First-seen tokens through the decision point, per second. The token cache
 * is smaller than the token set, so cycling through the set misses on every
 * lookup and evicts on every insert: the steady state of a full cache.
 */
static double
bench_cold(struct pdp *p, struct alg_case *c, time_t now, double seconds)
{
	static long next;
	struct response rs;
	long n = 0;
	double t0, t;

	t0 = bench_now();
	do {
		struct request r = bearer(c->tokens[next++ % TOKENS]);

		pdp_decide(p, 0, &r, now, &rs);
		if (rs.status != 200)
			die("a valid token was not allowed");
		n++;
		t = bench_now();
	} while (t - t0 < seconds);
	return (double)n / (t - t0);
}

/* The same token again and again: cache hits, per second. */
static double
bench_warm(struct pdp *p, struct alg_case *c, time_t now, double seconds)
{
	struct request r = bearer(c->tokens[0]);
	struct response rs;
	long n = 0;
	double t0, t;

	pdp_decide(p, 0, &r, now, &rs);
	t0 = bench_now();
	do {
		for (int i = 0; i < 256; i++)
			pdp_decide(p, 0, &r, now, &rs);
		n += 256;
		t = bench_now();
	} while (t - t0 < seconds);
	if (rs.status != 200)
		die("a cached token was not allowed");
	return (double)n / (t - t0);
}

/* A bare cache lookup of a token-sized key, in nanoseconds (a cache sized as the token cache's). */
static double
bench_cache_hit_ns(const char *tok, size_t entries, time_t now)
{
	size_t len = strlen(tok);
	long n = 0;
	double t0, t;
	struct cache *c = cache_new(entries, free);
	void *v = malloc(1);

	if (c == NULL || v == NULL || cache_put(c, tok, len, v, now + 3600) != 0)
		die("cannot fill a cache");
	t0 = bench_now();
	do {
		for (int i = 0; i < 1024; i++)
			cache_release(c, cache_get(c, tok, len, now));
		n += 1024;
		t = bench_now();
	} while (t - t0 < 0.2);
	cache_free(c);
	return (t - t0) / (double)n * 1e9;
}

int
main(int argc, char **argv)
{
	struct alg_case cases[] = {
	    {.alg = "RS256", .kind = "rsa", .kid = "{\"kid\":\"rsa\"}"},
	    {.alg = "ES256", .kind = "p256", .kid = "{\"kid\":\"ec\"}"},
	    {.alg = "HS256", .kind = NULL},
	};
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	char dir[] = "/tmp/pdp-bench-XXXXXX", path[512], cfgtext[1024], err[512];
	int rounds = 15, json = 0, opt;
	const char *only = NULL; /* "ALG:MODE", e.g. RS256:cold, to profile one path */
	double seconds = 0.1;
	time_t now = time(NULL);
	struct config *cfg;
	struct pdp *p;
	FILE *f;

	while ((opt = getopt(argc, argv, "r:s:jp:")) != -1) {
		if (opt == 'p')
			only = optarg;
		else if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 's')
			seconds = atof(optarg);
		else if (opt == 'j')
			json = 1;
		else {
			fprintf(stderr, "usage: pdp-bench-verify [-r ROUNDS] [-s SECONDS] [-j] "
			                "[-p ALG:raw|cold|warm]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
		die("rounds must be 1..32");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp failed");
	for (int i = 0; i < NCASES; i++)
		setup_case(&cases[i], now, only == NULL || strncmp(only, cases[i].alg, 5) == 0);

	snprintf(path, sizeof(path), "%s/jwks.json", dir);
	f = fopen(path, "w");
	{
		char *a = keytool_public_jwk(cases[0].key, "rsa", "RS256");
		char *b = keytool_public_jwk(cases[1].key, "ec", "ES256");

		fprintf(f, "{\"keys\":[%s,%s]}", a, b);
		free(a);
		free(b);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/secret", dir);
	f = fopen(path, "w");
	fputs((const char *)secret, f);
	fclose(f);
	snprintf(cfgtext, sizeof(cfgtext),
	         "log_level: error\n"
	         "policies: %s\n"
	         "token: { cache_entries: %d }\n"
	         "issuers:\n"
	         "  - issuer: https://idp.example.com/\n"
	         "    audiences: [https://apps.example.com]\n"
	         "    jwks_file: %s/jwks.json\n"
	         "  - issuer: https://internal.example.com/\n"
	         "    audiences: [https://apps.example.com]\n"
	         "    hmac_secret_file: %s/secret\n",
	         dir, TOKENS / 4, dir, dir);
	cfg = config_load_buffer("bench.yaml", cfgtext, strlen(cfgtext), err, sizeof(err));
	if (cfg == NULL || (p = pdp_new(cfg, 1, err, sizeof(err))) == NULL)
		die(err);

	for (int i = 0; only != NULL && i < NCASES; i++) {
		size_t al = strlen(cases[i].alg);
		const char *mode = only + al + 1;
		double rate;

		if (strncmp(only, cases[i].alg, al) != 0 || only[al] != ':')
			continue;
		rate = strcmp(mode, "raw") == 0    ? bench_raw(&cases[i], seconds)
		       : strcmp(mode, "cold") == 0 ? bench_cold(p, &cases[i], now, seconds)
		                                   : bench_warm(p, &cases[i], now, seconds);
		printf("%s %.0f/s\n", only, rate);
		rounds = 0;
	}
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < NCASES; i++) {
			cases[i].raw[r] = bench_raw(&cases[i], seconds);
			cases[i].cold[r] = bench_cold(p, &cases[i], now, seconds);
			/* Paired with the raw rate of the same moment, so load from elsewhere
			 * cancels out. */
			cases[i].ratio[r] = cases[i].cold[r] / cases[i].raw[r];
			cases[i].warm[r] = bench_warm(p, &cases[i], now, seconds);
		}
	}
	if (rounds > 0) {
		double hit_ns =
		    bench_cache_hit_ns(cases[0].tokens[0], cfg->token_cache_entries, now);

		if (json)
			printf("{\"rounds\":%d,\"cache_hit_ns\":%.0f,\"algorithms\":[", rounds,
			       hit_ns);
		else
			printf("token verification, one core, medians of %d interleaved rounds\n\n"
			       "%-6s %14s %14s %8s %14s %12s\n",
			       rounds, "alg", "raw OpenSSL/s", "cold/s", "cold/raw", "warm/s",
			       "warm us");
		for (int i = 0; i < NCASES; i++) {
			double raw = bench_median(cases[i].raw, rounds),
			       cold = bench_median(cases[i].cold, rounds),
			       warm = bench_median(cases[i].warm, rounds),
			       ratio = bench_median(cases[i].ratio, rounds);

			if (json)
				printf("%s{\"alg\":\"%s\",\"raw_per_s\":%.0f,\"cold_per_s\":%.0f,"
				       "\"cold_over_raw\":%.3f,\"warm_per_s\":%.0f}",
				       i ? "," : "", cases[i].alg, raw, cold, ratio, warm);
			else
				printf("%-6s %14.0f %14.0f %8.2f %14.0f %12.3f\n", cases[i].alg,
				       raw, cold, ratio, warm, 1e6 / warm);
		}
		if (json)
			printf("]}\n");
		else
			printf(
			    "\ncache hit (lookup + release of a %zu-byte token): %.0f ns\n"
			    "raw: EVP_PKEY_verify of a SHA-256 digest, reused context (HS256: one "
			    "HMAC-SHA256, reused context)\ncold/raw: median of the ratios within "
			    "each round\ncold: "
			    "first-seen token through the decision point; warm: the "
			    "same token again (cache hit)\n",
			    strlen(cases[0].tokens[0]), hit_ns);
	}
	pdp_free(p);
	config_free(cfg);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return 0;
}
