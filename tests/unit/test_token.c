/* test_token.c - token verification, keys and hostile tokens */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "identity/jwks.h"
#include "identity/subject.h"
#include "identity/token.h"
#include "keytool.h"
#include "service/config.h"
#include "testlib.h"

#define ISS  "https://idp.example.com/"
#define HISS "https://hmac.example.com/"
#define CISS "https://custom.example.com/"
#define AUD  "api://apps"

enum { K_R1, K_R2, K_E1, K_E2, K_E3, K_EVIL, K_COUNT };

static struct {
	EVP_PKEY *key[K_COUNT];
	char *pem[K_COUNT];
	size_t pem_len[K_COUNT];
	char *rsa_public_pem;
	unsigned char secret[48];
	struct config *cfg;
	struct token_verifier *v;
	time_t now;
} t;

static const char *const kinds[K_COUNT] = {"rsa", "rsa", "p256", "p384", "p521", "p256"};

static int
setup(void **state)
{
	char jwks[16384], cfg[2048], err[512];
	char *jwk[K_COUNT];
	BIO *bio;
	char *data;
	long n;

	(void)state;
	t.now = time(NULL);
	for (int i = 0; i < K_COUNT; i++) {
		static const char *const kids[K_COUNT] = {"r1", "r2", "e1", "e2", "e3", "evil"};

		t.key[i] = keytool_generate(kinds[i]);
		t.pem[i] = keytool_private_pem(t.key[i], &t.pem_len[i]);
		jwk[i] = keytool_public_jwk(t.key[i], kids[i], NULL);
		assert_non_null(jwk[i]);
	}
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, t.key[K_R1]);
	n = BIO_get_mem_data(bio, &data);
	/* BIO memory is not NUL-terminated: copy exactly n bytes. */
	t.rsa_public_pem = malloc((size_t)n + 1);
	memcpy(t.rsa_public_pem, data, (size_t)n);
	t.rsa_public_pem[n] = '\0';
	BIO_free(bio);
	/* r2 and evil are not published; one encryption key is to be skipped. */
	snprintf(jwks, sizeof(jwks),
	         "{\"keys\":[%s,%s,%s,%s,{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"enc1\","
	         "\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
	         jwk[K_R1], jwk[K_E1], jwk[K_E2], jwk[K_E3]);
	for (int i = 0; i < K_COUNT; i++)
		free(jwk[i]);
	memset(t.secret, 'S', sizeof(t.secret));
	t.secret[0] = 'x';
	test_write_file("secret", "xSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS\n");
	snprintf(cfg, sizeof(cfg),
	         "issuers:\n"
	         "  - issuer: " ISS "\n"
	         "    audiences: [" AUD ", other]\n"
	         "    jwks_file: %s\n"
	         "    algorithms: [RS256, RS384, ES256, ES384, ES512]\n"
	         "  - issuer: " HISS "\n"
	         "    audiences: [" AUD "]\n"
	         "    hmac_secret_file: secret\n"
	         "  - issuer: " CISS "\n"
	         "    audiences: [" AUD "]\n"
	         "    jwks_file: jwks.json\n"
	         "    algorithms: [RS256]\n"
	         "    claims: { user: upn, groups: grp, roles: rl, device_id: dev, "
	         "sign_in_risk: risk }\n",
	         test_write_file("jwks.json", jwks));
	t.cfg = config_load(test_write_file("pdp.yaml", cfg), err, sizeof(err));
	if (t.cfg == NULL)
		fail_msg("%s", err);
	t.v = config_token_verifier(t.cfg, 0, err, sizeof(err));
	if (t.v == NULL)
		fail_msg("%s", err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	token_verifier_free(t.v);
	config_free(t.cfg);
	for (int i = 0; i < K_COUNT; i++) {
		EVP_PKEY_free(t.key[i]);
		free(t.pem[i]);
	}
	free(t.rsa_public_pem);
	return 0;
}

/* Standard valid claims for ISS, with extra members appended (extra starts with ','). */
static char *
claims(const char *iss, const char *extra)
{
	char *out;

	if (asprintf(&out,
	             "{\"iss\":\"%s\",\"aud\":\"" AUD "\",\"sub\":\"alice@example.com\","
	             "\"iat\":%lld,\"exp\":%lld%s}",
	             iss, (long long)t.now - 10, (long long)t.now + 600, extra ? extra : "") < 0)
		abort();
	return out;
}

static char *
mint(int key, const char *alg, const char *kid, const char *body)
{
	char hdr[128];
	char *tok;

	if (kid != NULL)
		snprintf(hdr, sizeof(hdr), "{\"kid\":\"%s\"}", kid);
	tok = keytool_mint(alg, (unsigned char *)t.pem[key], t.pem_len[key],
	                   kid != NULL ? hdr : NULL, body);
	assert_non_null(tok);
	return tok;
}

static enum token_err
verify_tok(const char *tok, struct subject **s)
{
	char why[256];
	enum token_err e = token_verify(t.v, 0, tok, strlen(tok), t.now, s, why, sizeof(why));

	if (e == TOKEN_OK)
		assert_non_null(*s);
	else
		assert_null(*s);
	return e;
}

/* Verifies tok, frees everything, and returns the result. */
static enum token_err
check(char *tok)
{
	struct subject *s = NULL;
	enum token_err e = verify_tok(tok, &s);

	free(s);
	free(tok);
	return e;
}

static void
valid_tokens_of_every_algorithm(void **state)
{
	char *body = claims(ISS, NULL);
	char *hbody = claims(HISS, NULL);

	(void)state;
	assert_int_equal(check(mint(K_R1, "RS256", "r1", body)), TOKEN_OK);
	assert_int_equal(check(mint(K_R1, "RS384", "r1", body)), TOKEN_OK);
	assert_int_equal(check(mint(K_E1, "ES256", "e1", body)), TOKEN_OK);
	assert_int_equal(check(mint(K_E2, "ES384", "e2", body)), TOKEN_OK);
	assert_int_equal(check(mint(K_E3, "ES512", "e3", body)), TOKEN_OK);
	assert_int_equal(check(keytool_mint("HS256", t.secret, sizeof(t.secret), NULL, hbody)),
	                 TOKEN_OK);
	free(body);
	free(hbody);
}

static void
claims_map_into_the_subject(void **state)
{
	char *body;
	char *tok;
	struct subject *s = NULL;

	(void)state;
	assert_int_equal(
	    asprintf(
	        &body,
	        "{\"iss\":\"" ISS "\",\"aud\":[\"x\",\"" AUD "\"],\"sub\":\"alice@example.com\","
	        "\"iat\":%lld,\"exp\":%lld,\"groups\":[\"admins\",\"eng\"],\"roles\":[\"Admin\"],"
	        "\"amr\":[\"pwd\",\"mfa\"],\"acr\":\"urn:acr:phr\",\"auth_time\":1700000000,"
	        "\"deviceid\":\"d-1\",\"signin_risk\":\"low\",\"azp\":\"web\",\"jti\":\"j-1\"}",
	        (long long)t.now - 10, (long long)t.now + 600) > 0,
	    1);
	tok = mint(K_R1, "RS256", "r1", body);
	assert_int_equal(verify_tok(tok, &s), TOKEN_OK);
	assert_string_equal(s->issuer, ISS);
	assert_string_equal(s->user, "alice@example.com");
	assert_int_equal(s->groups.n, 2);
	assert_string_equal(s->groups.items[0], "admins");
	assert_string_equal(s->groups.items[1], "eng");
	assert_int_equal(s->roles.n, 1);
	assert_string_equal(s->roles.items[0], "Admin");
	assert_int_equal(s->amr.n, 2);
	assert_string_equal(s->amr.items[1], "mfa");
	assert_string_equal(s->acr, "urn:acr:phr");
	assert_int_equal(s->auth_time, 1700000000);
	assert_string_equal(s->device_id, "d-1");
	assert_string_equal(s->sign_in_risk, "low");
	assert_string_equal(s->client_id, "web");
	assert_string_equal(s->jti, "j-1");
	assert_int_equal(s->iat, t.now - 10);
	assert_int_equal(s->exp, t.now + 600);
	assert_int_equal(s->valid_until, t.now + 660);
	free(s);
	free(tok);
	free(body);
}

/* Claims are JSON strings: escapes are decoded before they are compared or copied. */
static void
escaped_claims_are_decoded(void **state)
{
	static const char *const refused[] = {
	    ",\"groups\":[\"a\\u0000b\"]",    /* NUL */
	    ",\"groups\":[\"\\ud800\"]",      /* a lone surrogate */
	    ",\"x\":{\"k\":1,\"\\u006b\":2}", /* a duplicate, nested and escaped */
	    ",\"x\":99999999999999999999",    /* beyond 64 bits */
	    ",\"groups\":[\"\xc0\xaf\"]",     /* overlong UTF-8 */
	    ",\"groups\":[\"adm\xffins\"]",   /* not UTF-8 */
	};
	char *body, *tok;
	struct subject *s = NULL;

	(void)state;
	assert_int_equal(
	    asprintf(&body,
	             "{\"iss\":\"https:\\/\\/idp.example.com\\/\",\"aud\":\"" AUD "\","
	             "\"\\u0073ub\":\"ali\\u0063e\\/\\\"x\\\"\",\"iat\":%lld,\"exp\":%lld,"
	             "\"groups\":[\"caf\\u00e9\",\"\\ud83d\\ude00\"]}",
	             (long long)t.now - 10, (long long)t.now + 600) > 0,
	    1);
	tok = test_sign(t.key[K_R1], "SHA256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", body);
	assert_int_equal(verify_tok(tok, &s), TOKEN_OK);
	assert_string_equal(s->issuer, ISS);
	assert_string_equal(s->user, "alice/\"x\"");
	assert_int_equal(s->groups.n, 2);
	assert_string_equal(s->groups.items[0], "caf\xc3\xa9");
	assert_string_equal(s->groups.items[1], "\xf0\x9f\x98\x80");
	free(s);
	free(tok);
	free(body);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		/* Signed as they are: a JSON library would refuse to make them. */
		body = claims(ISS, refused[i]);
		assert_int_equal(check(test_sign(t.key[K_R1], "SHA256",
		                                 "{\"alg\":\"RS256\",\"kid\":\"r1\"}", body)),
		                 TOKEN_MALFORMED);
		free(body);
	}
}

static void
issuer_claim_names_are_configurable(void **state)
{
	char *body = claims(CISS, ",\"upn\":\"carol\",\"grp\":[\"g\"],\"rl\":[\"r\"],"
	                          "\"dev\":\"d9\",\"risk\":\"high\",\"client_id\":\"cli\"");
	char *tok = mint(K_R1, "RS256", "r1", body);
	struct subject *s = NULL;

	(void)state;
	assert_int_equal(verify_tok(tok, &s), TOKEN_OK);
	assert_string_equal(s->user, "carol");
	assert_string_equal(s->groups.items[0], "g");
	assert_string_equal(s->roles.items[0], "r");
	assert_string_equal(s->device_id, "d9");
	assert_string_equal(s->sign_in_risk, "high");
	assert_string_equal(s->client_id, "cli");
	free(s);
	free(tok);
	free(body);
	/* Without its configured user claim the token names nobody. */
	body = claims(CISS, NULL);
	assert_int_equal(check(mint(K_R1, "RS256", "r1", body)), TOKEN_BAD_CLAIM);
	free(body);
}

static void
alg_none_is_rejected(void **state)
{
	char *body = claims(ISS, NULL);

	(void)state;
	assert_int_equal(check(test_craft("{\"alg\":\"none\"}", body, "")), TOKEN_BAD_ALG);
	assert_int_equal(check(test_craft("{\"alg\":\"none\",\"kid\":\"r1\"}", body, "c2ln")),
	                 TOKEN_BAD_ALG);
	assert_int_equal(check(test_craft("{\"alg\":\"None\"}", body, "c2ln")), TOKEN_BAD_ALG);
	assert_int_equal(check(test_craft("{\"alg\":\"RS256\",\"kid\":\"r1\"}", body, "")),
	                 TOKEN_BAD_ALG);
	assert_int_equal(check(test_craft("{\"alg\":\"PS256\",\"kid\":\"r1\"}", body, "c2ln")),
	                 TOKEN_BAD_ALG);
	free(body);
}

static void
hmac_with_the_public_key_is_rejected(void **state)
{
	char *body = claims(ISS, NULL);
	char *hbody = claims(HISS, NULL);
	const unsigned char *pub = (const unsigned char *)t.rsa_public_pem;
	size_t pl = strlen(t.rsa_public_pem);

	(void)state;
	/* The classic key confusion: HS256 keyed with the RSA public key's PEM. */
	assert_int_equal(
	    check(test_sign_hmac(pub, pl, "SHA256", "{\"alg\":\"HS256\",\"kid\":\"r1\"}", body)),
	    TOKEN_BAD_ALG);
	assert_int_equal(check(test_sign_hmac(pub, pl, "SHA256", "{\"alg\":\"HS256\"}", hbody)),
	                 TOKEN_BAD_SIGNATURE);
	/* And an RS256 token for the HMAC issuer has no key to verify with. */
	assert_int_equal(check(mint(K_R1, "RS256", "r1", hbody)), TOKEN_BAD_ALG);
	free(body);
	free(hbody);
}

static void
kid_must_name_a_key_of_the_right_type(void **state)
{
	char *body = claims(ISS, NULL);

	(void)state;
	assert_int_equal(check(mint(K_R1, "RS256", "nope", body)), TOKEN_UNKNOWN_KEY);
	assert_int_equal(check(mint(K_R2, "RS256", "r2", body)), TOKEN_UNKNOWN_KEY);
	/* An EC algorithm naming the RSA key, and the reverse. */
	assert_int_equal(check(mint(K_E1, "ES256", "r1", body)), TOKEN_UNKNOWN_KEY);
	assert_int_equal(check(mint(K_R1, "RS256", "e1", body)), TOKEN_UNKNOWN_KEY);
	/* The curve pins the algorithm: ES256 cannot use the P-384 key. */
	assert_int_equal(check(mint(K_E1, "ES256", "e2", body)), TOKEN_UNKNOWN_KEY);
	/* The skipped encryption key cannot verify anything. */
	assert_int_equal(check(mint(K_R1, "RS256", "enc1", body)), TOKEN_UNKNOWN_KEY);
	/* No kid: only an unambiguous key will do (here exactly one RSA key). */
	assert_int_equal(check(mint(K_R1, "RS256", NULL, body)), TOKEN_OK);
	assert_int_equal(check(mint(K_E1, "ES256", NULL, body)), TOKEN_OK);
	/* A non-string kid is malformed. */
	assert_int_equal(
	    check(test_sign(t.key[K_R1], "SHA256", "{\"alg\":\"RS256\",\"kid\":7}", body)),
	    TOKEN_MALFORMED);
	free(body);
}

static void
bad_signatures_are_rejected(void **state)
{
	char *body = claims(ISS, NULL);
	char *tok;
	size_t n;

	(void)state;
	/* Signed by an unpublished key under a published kid. */
	assert_int_equal(check(mint(K_R2, "RS256", "r1", body)), TOKEN_BAD_SIGNATURE);
	assert_int_equal(check(mint(K_EVIL, "ES256", "e1", body)), TOKEN_BAD_SIGNATURE);
	/* The attacker's key embedded in the header is never used. */
	{
		char *jwk = keytool_public_jwk(t.key[K_EVIL], "e1", NULL);
		char hdr[1024];

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"e1\",\"jwk\":%s}", jwk);
		assert_int_equal(check(test_sign(t.key[K_EVIL], "SHA256", hdr, body)),
		                 TOKEN_BAD_SIGNATURE);
		free(jwk);
	}
	/* One changed character in the signature and in the payload. */
	tok = mint(K_R1, "RS256", "r1", body);
	n = strlen(tok);
	tok[n - 5] = tok[n - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(check(tok), TOKEN_BAD_SIGNATURE);
	/* A different payload under a genuine header and signature. */
	tok = mint(K_E1, "ES256", "e1", body);
	{
		char *other = claims(ISS, ",\"groups\":[\"admins\"]");
		char *b64 = test_b64(other), *spliced;

		assert_int_equal(asprintf(&spliced, "%.*s.%s%s", (int)(strchr(tok, '.') - tok), tok,
		                          b64, strrchr(tok, '.')) > 0,
		                 1);
		assert_int_equal(check(spliced), TOKEN_BAD_SIGNATURE);
		free(b64);
		free(other);
	}
	free(tok);
	/* An ES256 signature of the wrong length. */
	{
		char *sig63 =
		    test_b64("012345678901234567890123456789012345678901234567890123456789012");

		assert_int_equal(
		    check(test_craft("{\"alg\":\"ES256\",\"kid\":\"e1\"}", body, sig63)),
		    TOKEN_BAD_SIGNATURE);
		free(sig63);
	}
	free(body);
}

static void
structure_errors_are_malformed(void **state)
{
	char *body = claims(ISS, NULL);
	char *good = mint(K_R1, "RS256", "r1", body);
	char *tok;

	(void)state;
	assert_int_equal(check(strdup("")), TOKEN_MALFORMED);
	assert_int_equal(check(strdup("abc")), TOKEN_MALFORMED);
	assert_int_equal(check(strndup(good, (size_t)(strrchr(good, '.') - good))),
	                 TOKEN_MALFORMED);
	assert_int_equal(asprintf(&tok, "%s.e30", good) > 0, 1);
	assert_int_equal(check(tok), TOKEN_MALFORMED);
	assert_int_equal(asprintf(&tok, "%s.e30.e30", good) > 0, 1); /* JWE-like: five parts */
	assert_int_equal(check(tok), TOKEN_MALFORMED);
	assert_int_equal(check(strdup("..sig")), TOKEN_MALFORMED);
	/* Bad base64url: standard alphabet, padding, stray characters. */
	tok = strdup(good);
	tok[2] = '+';
	assert_int_equal(check(tok), TOKEN_MALFORMED);
	assert_int_equal(check(test_craft("{\"alg\":\"RS256\"}", body, "c2ln==")), TOKEN_MALFORMED);
	tok = strdup(good);
	tok[strlen(tok) - 1] = '*';
	assert_int_equal(check(tok), TOKEN_MALFORMED);
	/* Header or payload that is not a JSON object. */
	assert_int_equal(check(test_craft("not json", body, "c2ln")), TOKEN_MALFORMED);
	assert_int_equal(check(test_craft("[\"RS256\"]", body, "c2ln")), TOKEN_MALFORMED);
	assert_int_equal(check(test_craft("{\"alg\":\"RS256\"}", "not json", "c2ln")),
	                 TOKEN_MALFORMED);
	assert_int_equal(check(test_craft("{\"alg\":\"RS256\"}", "\"string\"", "c2ln")),
	                 TOKEN_MALFORMED);
	assert_int_equal(check(test_craft("{\"typ\":\"JWT\"}", body, "c2ln")), TOKEN_MALFORMED);
	assert_int_equal(check(test_craft("{\"alg\":7}", body, "c2ln")), TOKEN_MALFORMED);
	/* Correctly signed, yet with duplicate members, crit, or an odd typ. */
	assert_int_equal(
	    check(test_sign(t.key[K_R1], "SHA256",
	                    "{\"alg\":\"RS256\",\"kid\":\"r1\",\"alg\":\"none\"}", body)),
	    TOKEN_MALFORMED);
	{
		char *dup = claims(ISS, ",\"sub\":\"admin@example.com\"");

		assert_int_equal(check(test_sign(t.key[K_R1], "SHA256",
		                                 "{\"alg\":\"RS256\",\"kid\":\"r1\"}", dup)),
		                 TOKEN_MALFORMED);
		free(dup);
	}
	assert_int_equal(
	    check(test_sign(t.key[K_R1], "SHA256",
	                    "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"]}", body)),
	    TOKEN_MALFORMED);
	assert_int_equal(
	    check(test_sign(t.key[K_R1], "SHA256",
	                    "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JWE\"}", body)),
	    TOKEN_MALFORMED);
	assert_int_equal(
	    check(test_sign(t.key[K_R1], "SHA256",
	                    "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"at+jwt\"}", body)),
	    TOKEN_OK);
	free(good);
	free(body);
}

static void
time_claims_with_leeway(void **state)
{
	char body[512];

	(void)state;
#define TIMED(fmt, ...)                                                                            \
	(snprintf(body, sizeof(body),                                                              \
	          "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\"," fmt "}", __VA_ARGS__), \
	 check(mint(K_R1, "RS256", "r1", body)))
	assert_int_equal(TIMED("\"exp\":%lld", (long long)t.now - 120), TOKEN_EXPIRED);
	assert_int_equal(TIMED("\"exp\":%lld", (long long)t.now - 30), TOKEN_OK); /* in leeway */
	assert_int_equal(TIMED("\"exp\":%lld", (long long)t.now - 60), TOKEN_EXPIRED);
	assert_int_equal(
	    TIMED("\"exp\":%lld,\"nbf\":%lld", (long long)t.now + 600, (long long)t.now + 120),
	    TOKEN_NOT_YET_VALID);
	assert_int_equal(
	    TIMED("\"exp\":%lld,\"nbf\":%lld", (long long)t.now + 600, (long long)t.now + 30),
	    TOKEN_OK);
	assert_int_equal(
	    TIMED("\"exp\":%lld,\"iat\":%lld", (long long)t.now + 600, (long long)t.now + 3600),
	    TOKEN_NOT_YET_VALID);
	assert_int_equal(TIMED("\"exp\":%lld.75", (long long)t.now + 600), TOKEN_OK);
	assert_int_equal(TIMED("\"nbf\":%lld", (long long)t.now), TOKEN_BAD_CLAIM); /* no exp */
	assert_int_equal(TIMED("\"exp\":\"%lld\"", (long long)t.now + 600), TOKEN_BAD_CLAIM);
	assert_int_equal(TIMED("\"exp\":%lld,\"nbf\":\"%s\"", (long long)t.now + 600, "soon"),
	                 TOKEN_BAD_CLAIM);
	assert_int_equal(TIMED("\"exp\":%d", -5), TOKEN_BAD_CLAIM);
	assert_int_equal(TIMED("\"exp\":%s", "1e300"), TOKEN_BAD_CLAIM);
#undef TIMED
}

static void
issuer_and_audience_must_match(void **state)
{
	char body[512];

	(void)state;
#define WITH(fmt, ...)                                                                             \
	(snprintf(body, sizeof(body), "{\"sub\":\"a\",\"exp\":%lld," fmt "}",                      \
	          (long long)t.now + 600, __VA_ARGS__),                                            \
	 check(mint(K_R1, "RS256", "r1", body)))
	assert_int_equal(WITH("\"iss\":\"%s\",\"aud\":\"%s\"", "https://evil.example.com/", AUD),
	                 TOKEN_UNKNOWN_ISSUER);
	assert_int_equal(WITH("\"iss\":\"%s\",\"aud\":\"%s\"", "https://idp.example.com", AUD),
	                 TOKEN_UNKNOWN_ISSUER);
	assert_int_equal(WITH("\"aud\":\"%s\"", AUD), TOKEN_UNKNOWN_ISSUER);
	assert_int_equal(WITH("\"iss\":%d,\"aud\":\"%s\"", 5, AUD), TOKEN_UNKNOWN_ISSUER);
	assert_int_equal(WITH("\"iss\":\"%s\",\"aud\":\"%s\"", ISS, "api://elsewhere"),
	                 TOKEN_BAD_AUDIENCE);
	assert_int_equal(WITH("\"iss\":\"%s\",\"aud\":[\"%s\",\"%s\"]", ISS, "x", "other"),
	                 TOKEN_OK);
	assert_int_equal(WITH("\"iss\":\"%s\",\"aud\":[\"%s\",%d]", ISS, AUD, 3),
	                 TOKEN_BAD_AUDIENCE);
	assert_int_equal(WITH("\"iss\":\"%s\",\"aud\":[%s]", ISS, ""), TOKEN_BAD_AUDIENCE);
	assert_int_equal(WITH("\"iss\":\"%s\",\"x\":%d", ISS, 1), TOKEN_BAD_AUDIENCE);
#undef WITH
}

static void
claims_of_the_wrong_type(void **state)
{
	static const char *const bad[] = {
	    ",\"groups\":\"admins\"",
	    ",\"groups\":[\"a\",7]",
	    ",\"groups\":{\"a\":1}",
	    ",\"roles\":true",
	    ",\"amr\":\"mfa\"",
	    ",\"acr\":[\"x\"]",
	    ",\"deviceid\":42",
	    ",\"signin_risk\":null",
	    ",\"azp\":{}",
	    ",\"jti\":1",
	    ",\"auth_time\":\"x\"",
	    ",\"auth_time\":-1",
	};
	char body[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *c = claims(ISS, bad[i]);

		if (check(mint(K_R1, "RS256", "r1", c)) != TOKEN_BAD_CLAIM)
			fail_msg("accepted %s", bad[i]);
		free(c);
	}
	snprintf(body, sizeof(body),
	         "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":7,\"exp\":%lld}",
	         (long long)t.now + 600);
	assert_int_equal(check(mint(K_R1, "RS256", "r1", body)), TOKEN_BAD_CLAIM);
	snprintf(body, sizeof(body),
	         "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"\",\"exp\":%lld}",
	         (long long)t.now + 600);
	assert_int_equal(check(mint(K_R1, "RS256", "r1", body)), TOKEN_BAD_CLAIM);
}

/* Identity claims nginx or the upstream would strip are refused, never rewritten. */
static void
identity_claims_must_be_clean(void **state)
{
	static const char *const bad[] = {
	    "\"sub\":\"mallory@example.com\\u0001\"",
	    "\"sub\":\" mallory@example.com\"",
	    "\"sub\":\"mallory@example.com \"",
	    "\"sub\":\"\\tmallory@example.com\"",
	    "\"sub\":\"mallory@example.com\\r\\n\"",
	    "\"sub\":\"mallory\\u007f@example.com\"",
	    "\"sub\":\"mallory\\u0085@example.com\"",  /* C1: NEL */
	    "\"sub\":\"mallory\xc2\x9b@example.com\"", /* C1 raw in UTF-8: CSI */
	    "\"sub\":\"a\",\"groups\":[\"adm\\u0007ins\"]",
	    "\"sub\":\"a\",\"groups\":[\"eng\",\" admins\"]",
	    "\"sub\":\"a\",\"groups\":[\"\"]",
	    "\"sub\":\"a\",\"roles\":[\"Admin\\u001f\"]",
	    "\"sub\":\"a\",\"roles\":[\"Admin\\t\"]",
	    "\"sub\":\"a\",\"deviceid\":\"dev-9\\u001b\"",
	    "\"sub\":\"a\",\"deviceid\":\"\"",
	    "\"sub\":\"a\",\"jti\":\"j1 \"",
	    "\"sub\":\"a\",\"azp\":\"\\u0080app\"",
	    "\"sub\":\"a\",\"client_id\":\"app\\n\"",
	    /* Unicode spaces trim() strips, at either end; invisible characters anywhere. */
	    "\"sub\":\"mallory@example.com\\u00a0\"",
	    "\"sub\":\"\\u00a0mallory@example.com\"",
	    "\"sub\":\"mallory@example.com\xc2\xa0\"", /* raw UTF-8 */
	    "\"sub\":\"\\ufeffmallory@example.com\"",
	    "\"sub\":\"mallory@example.com\\ufeff\"",
	    "\"sub\":\"mallory@example.com\\u2028\"",
	    "\"sub\":\"mallory@example.com\\u3000\"",
	    "\"sub\":\"\\u1680mallory@example.com\"",
	    "\"sub\":\"mallory@example.com\\u200a\"",
	    "\"sub\":\"mallory@example.com\\u202f\"",
	    "\"sub\":\"mallory@example.com\\u205f\"",
	    "\"sub\":\"mallory@example.com\\u2029\"",
	    "\"sub\":\"mal\\u200blory@example.com\"",
	    "\"sub\":\"mallory@example.com\\u200d\"",
	    "\"sub\":\"mallory\\u202e@example.com\"",
	    "\"sub\":\"mallory\\u2066@example.com\"",
	    "\"sub\":\"mal\\u2060lory@example.com\"",
	    "\"sub\":\"mal\\ufefflory@example.com\"",
	    "\"sub\":\"mal\\u00adlory@example.com\"",
	    "\"sub\":\"a\",\"groups\":[\"admins\\u3000\"]",
	    "\"sub\":\"a\",\"groups\":[\"ad\\u200bmins\"]",
	    "\"sub\":\"a\",\"roles\":[\"\\u2000Admin\"]",
	    "\"sub\":\"a\",\"deviceid\":\"dev-9\\u00a0\"",
	    "\"sub\":\"a\",\"jti\":\"\\ufeffj1\"",
	    "\"sub\":\"a\",\"azp\":\"app\\u200e\"",
	    "\"sub\":\"a\",\"client_id\":\"app\\u2028\"",
	};
	static const char *const good[] = {
	    "\"sub\":\"Mall Ory\",\"groups\":[\"Sales, EMEA\",\"100%\"]",
	    "\"sub\":\"m\\u00e9lory\\u00a0x@example.com\",\"roles\":[\"A\\u3000B\"]",
	    "\"sub\":\"\\u5c71\\u7530\",\"groups\":[\"\\ud83d\\ude00\",\"caf\\u00e9\"]",
	    "\"sub\":\"a\",\"amr\":[\" pwd\"],\"acr\":\"x\\u0001\"", /* not identities */
	};
	char body[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char why[256] = "";
		struct subject *s = NULL;
		char *tok;

		snprintf(body, sizeof(body),
		         "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld,%s}",
		         (long long)t.now + 600, bad[i]);
		/* Signed as they are: a JSON library may refuse to make some. */
		tok = test_sign(t.key[K_R1], "SHA256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", body);
		if (token_verify(t.v, 0, tok, strlen(tok), t.now, &s, why, sizeof(why)) !=
		    TOKEN_BAD_CLAIM)
			fail_msg("accepted %s", bad[i]);
		assert_null(s);
		assert_non_null(strstr(why, "invisible character or surrounding whitespace"));
		free(tok);
	}
	assert_string_equal(token_strerror(TOKEN_BAD_CLAIM), "invalid claims");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(body, sizeof(body),
		         "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld,%s}",
		         (long long)t.now + 600, good[i]);
		if (check(mint(K_R1, "RS256", "r1", body)) != TOKEN_OK)
			fail_msg("refused %s", good[i]);
	}
	/* Not UTF-8 at all: the JSON parser refuses the payload (escaped_claims_are_decoded). */
	assert_true(identity_name_ok("a b", 3));
	assert_false(identity_name_ok("a\xc2\x80", 3));
	assert_false(identity_name_ok("a\xc2\xa0", 3)); /* U+00A0: trim() strips it */
	assert_true(identity_name_ok("a\xc2\xa0"
	                             "b",
	                             4));
	assert_false(identity_name_ok("\xe3\x80\x80"
	                              "a",
	                              4));                  /* U+3000 */
	assert_false(identity_name_ok("a\xef\xbb\xbf", 4)); /* U+FEFF */
	assert_false(identity_name_ok("a\xe2\x80\x8b"
	                              "b",
	                              5));                     /* U+200B */
	assert_true(identity_name_ok("a\xf0\x9f\x98\x80", 5)); /* U+1F600 */
	assert_false(identity_name_ok("a\xe2\x80", 3));        /* cut short */
	assert_false(identity_name_ok("a\x80", 2));
	assert_false(identity_name_ok("", 0));
}

static void
oversized_tokens_are_rejected_before_parsing(void **state)
{
	size_t n = t.cfg->max_token_bytes + 1;
	char *big = malloc(n + 1);
	struct subject *s = NULL;

	(void)state;
	memset(big, 'A', n);
	big[n] = '\0';
	assert_int_equal(token_verify(t.v, 0, big, n, t.now, &s, NULL, 0), TOKEN_TOO_LARGE);
	assert_null(s);
	free(big);
	/* A legitimately signed token with a huge claim is too large as well. */
	{
		char *pad = malloc(17000), *c;

		memset(pad, 'g', 16999);
		pad[16999] = '\0';
		assert_int_equal(asprintf(&c, ",\"x\":\"%s\"", pad) > 0, 1);
		free(pad);
		pad = claims(ISS, c);
		assert_int_equal(check(mint(K_R1, "RS256", "r1", pad)), TOKEN_TOO_LARGE);
		free(pad);
		free(c);
	}
}

static void
token_need_not_be_nul_terminated(void **state)
{
	char *body = claims(ISS, NULL);
	char *tok = mint(K_R1, "RS256", "r1", body);
	size_t n = strlen(tok);
	char *buf = malloc(n + 8);
	struct subject *s = NULL;

	(void)state;
	memcpy(buf, tok, n);
	memcpy(buf + n, "garbage", 8);
	assert_int_equal(token_verify(t.v, 0, buf, n, t.now, &s, NULL, 0), TOKEN_OK);
	free(s);
	free(buf);
	free(tok);
	free(body);
}

/* Key-file errors, each a clear message naming the file. */
static void
expect_keys_error(const char *jwks, const char *algs, const char *want)
{
	char cfg[1024], err[512];
	struct config *c;
	struct token_verifier *v;

	snprintf(cfg, sizeof(cfg),
	         "issuers:\n  - issuer: i\n    audiences: [a]\n    jwks_file: bad.json\n"
	         "    algorithms: [%s]\n",
	         algs);
	test_write_file("bad.json", jwks);
	c = config_load(test_write_file("bad.yaml", cfg), err, sizeof(err));
	assert_non_null(c);
	v = config_token_verifier(c, 0, err, sizeof(err));
	if (v != NULL || strstr(err, "bad.json") == NULL || strstr(err, want) == NULL)
		fail_msg("jwks %s: got \"%s\", wanted \"%s\"", jwks, v ? "(loaded)" : err, want);
	config_free(c);
}

/* Verifies tok with verifier v, frees it, and returns the result. */
static enum token_err
check_with(struct token_verifier *v, char *tok)
{
	struct subject *s = NULL;
	enum token_err e = token_verify(v, 0, tok, strlen(tok), t.now, &s, NULL, 0);

	free(s);
	free(tok);
	return e;
}

static void
verified_headers_are_remembered_and_bounded(void **state)
{
	char err[256], hdr[128];
	struct token_verifier *v = config_token_verifier(t.cfg, 0, err, sizeof(err));
	char *body = claims(ISS, NULL), *other = claims(ISS, ",\"groups\":[\"admins\"]");
	char *hbody = claims(HISS, NULL), *tok;
	size_t n;

	(void)state;
	assert_non_null(v);
	assert_int_equal(token_verifier_known_headers(v), 0);
	/* Failures add nothing. */
	assert_int_equal(check_with(v, mint(K_R2, "RS256", "r1", body)), TOKEN_BAD_SIGNATURE);
	assert_int_equal(check_with(v, mint(K_R1, "RS256", "nope", body)), TOKEN_UNKNOWN_KEY);
	assert_int_equal(token_verifier_known_headers(v), 0);
	assert_int_equal(check_with(v, mint(K_R1, "RS256", "r1", body)), TOKEN_OK);
	assert_int_equal(token_verifier_known_headers(v), 1);
	/* The same header again: known, and everything past it still checked. */
	assert_int_equal(check_with(v, mint(K_R1, "RS256", "r1", other)), TOKEN_OK);
	assert_int_equal(check_with(v, mint(K_R2, "RS256", "r1", body)), TOKEN_BAD_SIGNATURE);
	tok = mint(K_R1, "RS256", "r1", body);
	n = strlen(tok);
	tok[n - 5] = tok[n - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(check_with(v, tok), TOKEN_BAD_SIGNATURE);
	/* The issuer still pins the algorithm: the HMAC issuer takes no RS256. */
	assert_int_equal(check_with(v, mint(K_R1, "RS256", "r1", hbody)), TOKEN_BAD_ALG);
	assert_int_equal(token_verifier_known_headers(v), 1);
	/* Distinct headers fill the table up to its bound; past it tokens still verify. */
	for (int i = 0; i < TOKEN_KNOWN_HEADERS + 4; i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"r1\",\"n\":%d}", i);
		assert_int_equal(check_with(v, test_sign(t.key[K_R1], "SHA256", hdr, body)),
		                 TOKEN_OK);
	}
	assert_int_equal(token_verifier_known_headers(v), TOKEN_KNOWN_HEADERS);
	assert_int_equal(check_with(v, mint(K_R1, "RS256", "r1", other)), TOKEN_OK);
	token_verifier_free(v);
	free(body);
	free(other);
	free(hbody);
}

static uint64_t
sig_count(const struct token_verifier *v, enum jwa alg, uint64_t *ns)
{
	uint64_t n, spent;

	token_verifier_sig_stats(v, alg, &n, &spent);
	if (ns != NULL)
		*ns = spent;
	return n;
}

static void
signature_checks_are_counted_and_timed(void **state)
{
	char err[256];
	struct token_verifier *v = config_token_verifier(t.cfg, 0, err, sizeof(err));
	char *body = claims(ISS, NULL), *hbody = claims(HISS, NULL);
	uint64_t ns = 0;

	(void)state;
	assert_non_null(v);
	assert_int_equal(sig_count(v, JWA_RS256, &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(check_with(v, mint(K_R1, "RS256", "r1", body)), TOKEN_OK);
	assert_int_equal(sig_count(v, JWA_RS256, &ns), 1);
	assert_true(ns > 0);
	/* A signature that does not verify was still checked. */
	assert_int_equal(check_with(v, mint(K_R2, "RS256", "r1", body)), TOKEN_BAD_SIGNATURE);
	assert_int_equal(sig_count(v, JWA_RS256, NULL), 2);
	assert_int_equal(check_with(v, mint(K_E1, "ES256", "e1", body)), TOKEN_OK);
	assert_int_equal(sig_count(v, JWA_ES256, &ns), 1);
	assert_true(ns > 0);
	/* Refused before any signature check, or HMAC (not timed): no count moves. */
	assert_int_equal(check_with(v, mint(K_R1, "RS256", "nope", body)), TOKEN_UNKNOWN_KEY);
	assert_int_equal(check_with(v, strdup("e30.e30.AAAA")), TOKEN_MALFORMED);
	assert_int_equal(
	    check_with(v, keytool_mint("HS256", t.secret, sizeof(t.secret), NULL, hbody)),
	    TOKEN_OK);
	assert_int_equal(sig_count(v, JWA_RS256, NULL), 2);
	assert_int_equal(sig_count(v, JWA_ES256, NULL), 1);
	assert_int_equal(sig_count(v, JWA_HS256, NULL), 0);
	assert_int_equal(sig_count(v, JWA_RS384, NULL), 0);
	token_verifier_free(v);
	free(body);
	free(hbody);
}

static void
jwks_errors_are_clear(void **state)
{
	EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	char *weak_jwk = keytool_public_jwk(weak, "w", NULL);
	char *e1 = keytool_public_jwk(t.key[K_E1], "e1", NULL);
	char buf[4096], *p;

	(void)state;
	expect_keys_error("{", "RS256", "bad.json:1");
	expect_keys_error("[]", "RS256", "\"keys\" array");
	expect_keys_error("{\"keys\":[]}", "RS256", "no usable signing key");
	snprintf(buf, sizeof(buf), "{\"keys\":[%s]}", weak_jwk);
	expect_keys_error(buf, "RS256", "too weak");
	snprintf(buf, sizeof(buf), "{\"keys\":[%s,%s]}", e1, e1);
	expect_keys_error(buf, "ES256", "kid \"e1\" appears twice");
	/* A point moved off the curve: y changed. */
	snprintf(buf, sizeof(buf), "{\"keys\":[%s]}", e1);
	p = strstr(buf, "\"y\":\"") + 5;
	*p = *p == 'A' ? 'B' : 'A';
	expect_keys_error(buf, "ES256", "not a valid P-256 public key");
	expect_keys_error(
	    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}", "ES256",
	    "of 32 bytes");
	expect_keys_error("{\"keys\":[{\"kty\":\"RSA\"}]}", "RS256", "needs base64url");
	snprintf(buf, sizeof(buf), "{\"keys\":[%s]}", e1);
	expect_keys_error(buf, "RS256", "no usable signing key");
	free(weak_jwk);
	free(e1);
	EVP_PKEY_free(weak);
}

static void
hmac_secret_must_be_long_enough(void **state)
{
	char err[512];
	struct config *c;
	struct token_verifier *v;

	(void)state;
	test_write_file("short", "0123456789\n");
	c = config_load(test_write_file("h.yaml", "issuers:\n  - issuer: i\n    audiences: [a]\n"
	                                          "    hmac_secret_file: short\n"),
	                err, sizeof(err));
	assert_non_null(c);
	v = config_token_verifier(c, 0, err, sizeof(err));
	assert_null(v);
	assert_non_null(strstr(err, "too short for HS256"));
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_tokens_of_every_algorithm),
	    cmocka_unit_test(claims_map_into_the_subject),
	    cmocka_unit_test(escaped_claims_are_decoded),
	    cmocka_unit_test(issuer_claim_names_are_configurable),
	    cmocka_unit_test(alg_none_is_rejected),
	    cmocka_unit_test(hmac_with_the_public_key_is_rejected),
	    cmocka_unit_test(kid_must_name_a_key_of_the_right_type),
	    cmocka_unit_test(bad_signatures_are_rejected),
	    cmocka_unit_test(signature_checks_are_counted_and_timed),
	    cmocka_unit_test(structure_errors_are_malformed),
	    cmocka_unit_test(time_claims_with_leeway),
	    cmocka_unit_test(issuer_and_audience_must_match),
	    cmocka_unit_test(claims_of_the_wrong_type),
	    cmocka_unit_test(identity_claims_must_be_clean),
	    cmocka_unit_test(oversized_tokens_are_rejected_before_parsing),
	    cmocka_unit_test(token_need_not_be_nul_terminated),
	    cmocka_unit_test(verified_headers_are_remembered_and_bounded),
	    cmocka_unit_test(jwks_errors_are_clear),
	    cmocka_unit_test(hmac_secret_must_be_long_enough),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
