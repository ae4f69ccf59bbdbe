/* test_keyring.c - live key sets: rotation keeps serials, removals stop cached tokens, refetch
 * bounds */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "identity/keyring.h"
#include "identity/token.h"
#include "keytool.h"
#include "testlib.h"

#define ISS "https://idp.example.com/"
#define AUD "api://apps"

static struct {
	EVP_PKEY *a, *b;
	char *jwk_a, *jwk_b;
	time_t now;
} t;

static int
setup(void **state)
{
	(void)state;
	t.a = keytool_generate("p256");
	t.b = keytool_generate("p256");
	t.jwk_a = keytool_public_jwk(t.a, "a", "ES256");
	t.jwk_b = keytool_public_jwk(t.b, "b", "ES256");
	t.now = time(NULL);
	return t.a == NULL || t.b == NULL || t.jwk_a == NULL || t.jwk_b == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(t.a);
	EVP_PKEY_free(t.b);
	free(t.jwk_a);
	free(t.jwk_b);
	return 0;
}

/* A key set of the given JWK texts, as a fetch would parse it. */
static struct keyset *
set_of(const char *first, const char *second)
{
	char text[4096], err[256];
	struct keyset *ks = NULL;

	snprintf(text, sizeof(text), "{\"keys\":[%s%s%s]}", first, second ? "," : "",
	         second ? second : "");
	assert_int_equal(keyset_parse_jwks(text, strlen(text), "https://idp.example.com/keys",
	                                   JWA_BIT(JWA_ES256), &ks, err, sizeof(err)),
	                 0);
	return ks;
}

/* An issuer whose keys come from its jwks_uri: none until a fetch brings them. */
static struct config_issuer
remote_issuer(void)
{
	static char *aud[] = {AUD};

	return (struct config_issuer){.issuer = ISS,
	                              .audiences = aud,
	                              .n_audiences = 1,
	                              .jwks_uri = "https://idp.example.com/keys",
	                              .algorithms = JWA_BIT(JWA_ES256),
	                              .jwks_refresh_ms = 300000,
	                              .jwks_min_refetch_ms = 30000,
	                              .claims = {.user = "sub"}};
}

static char *
token_by(EVP_PKEY *key, const char *kid)
{
	char header[64], claims[256];

	snprintf(header, sizeof(header), "{\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
	snprintf(claims, sizeof(claims),
	         "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u1\",\"exp\":%lld}", ISS, AUD,
	         (long long)t.now + 3600);
	return keytool_sign("ES256", key, header, claims);
}

static void
rotation_keeps_serials_and_counts_removals(void **state)
{
	struct config_issuer is = remote_issuer();
	char err[256];
	struct keyring *kr = keyring_new(&is, 1, 0, err, sizeof(err));
	const struct keyset *ks;
	uint64_t serial_a, gen;

	(void)state;
	assert_non_null(kr);
	keyring_enter(kr, 0);
	assert_null(keyring_keys(kr, 0));
	keyring_exit(kr, 0);

	keyring_replace(kr, 0, set_of(t.jwk_a, NULL));
	keyring_enter(kr, 0);
	ks = keyring_keys(kr, 0);
	assert_non_null(ks);
	serial_a = ks->keys[0].serial;
	keyring_exit(kr, 0);
	assert_int_not_equal(serial_a, 0);
	gen = keyring_removals(kr, 0);

	/* A refresh that adds b and keeps a: a keeps its serial, nothing removed. */
	keyring_replace(kr, 0, set_of(t.jwk_b, t.jwk_a));
	keyring_enter(kr, 0);
	ks = keyring_keys(kr, 0);
	assert_int_equal(ks->n, 2);
	assert_int_equal(ks->keys[1].serial, serial_a);
	assert_int_not_equal(ks->keys[0].serial, serial_a);
	keyring_exit(kr, 0);
	assert_int_equal(keyring_removals(kr, 0), gen);
	assert_true(keyring_key_live(kr, 0, 0, serial_a, gen));

	/* a leaves the set: the count moves and a's serial is no longer live. */
	keyring_replace(kr, 0, set_of(t.jwk_b, NULL));
	assert_int_equal(keyring_removals(kr, 0), gen + 1);
	assert_false(keyring_key_live(kr, 0, 0, serial_a, gen));
	keyring_free(kr);
}

static atomic_int refetches;

static void
count_refetch(void *arg, size_t issuer)
{
	(void)arg;
	assert_int_equal(issuer, 0);
	atomic_fetch_add(&refetches, 1);
}

static void
unknown_kids_refetch_once_per_window(void **state)
{
	struct config_issuer is = remote_issuer();
	char err[256];
	struct keyring *kr = keyring_new(&is, 1, 0, err, sizeof(err));
	int64_t t0 = 1000000000;

	(void)state;
	assert_non_null(kr);
	atomic_store(&refetches, 0);
	keyring_on_refetch(kr, count_refetch, NULL);
	assert_true(keyring_want_refetch(kr, 0, t0));
	for (int i = 1; i < 1000; i++)
		assert_false(keyring_want_refetch(kr, 0, t0 + i * 1000000));
	assert_int_equal(atomic_load(&refetches), 1);
	/* Past jwks_min_refetch (30 s) one more is asked. */
	assert_true(keyring_want_refetch(kr, 0, t0 + 30000000000LL));
	assert_int_equal(atomic_load(&refetches), 2);
	keyring_free(kr);
}

static void
file_keys_are_never_refetched(void **state)
{
	struct config_issuer is = remote_issuer();
	char err[256], path[] = "/tmp/pdp-keyring-XXXXXX";
	int fd = mkstemp(path);
	char text[2048];
	struct keyring *kr;

	(void)state;
	assert_true(fd >= 0);
	snprintf(text, sizeof(text), "{\"keys\":[%s]}", t.jwk_a);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	is.jwks_uri = NULL;
	is.jwks_file = path;
	kr = keyring_new(&is, 1, 0, err, sizeof(err));
	unlink(path);
	assert_non_null(kr);
	atomic_store(&refetches, 0);
	keyring_on_refetch(kr, count_refetch, NULL);
	assert_false(keyring_want_refetch(kr, 0, 1));
	assert_int_equal(atomic_load(&refetches), 0);
	keyring_free(kr);
}

static void
report_keeps_the_last_state_and_counts(void **state)
{
	struct config_issuer is = remote_issuer();
	char err[256];
	struct keyring *kr = keyring_new(&is, 1, 0, err, sizeof(err));
	struct keyring_status st;

	(void)state;
	assert_non_null(kr);
	keyring_status(kr, 0, &st);
	assert_false(st.has_keys);
	assert_false(st.attempted);
	keyring_report(kr, 0, KEYS_TLS, "certificate verify failed");
	keyring_report(kr, 0, KEYS_TLS, "certificate verify failed");
	keyring_status(kr, 0, &st);
	assert_true(st.attempted);
	assert_int_equal(st.last_result, KEYS_TLS);
	assert_string_equal(st.last_error, "certificate verify failed");
	assert_int_equal(st.attempts[KEYS_TLS], 2);
	keyring_replace(kr, 0, set_of(t.jwk_a, NULL));
	keyring_report(kr, 0, KEYS_OK, NULL);
	keyring_status(kr, 0, &st);
	assert_true(st.has_keys);
	assert_int_equal(st.n_keys, 1);
	assert_int_equal(st.last_result, KEYS_OK);
	assert_string_equal(st.last_error, "");
	assert_string_equal(keys_result_name(KEYS_HTTP_STATUS), "http_status");
	keyring_free(kr);
}

/* Through the verifier: no keys is a 500's reason; a removed key stops a verified subject. */
static void
verifier_follows_the_live_set(void **state)
{
	struct config_issuer is = remote_issuer();
	char err[256], why[256];
	struct token_verifier *v = token_verifier_new(&is, 1, 16384, 0, err, sizeof(err));
	struct keyring *kr;
	char *tok_a = token_by(t.a, "a"), *tok_b = token_by(t.b, "b");
	struct subject *s = NULL, *s2 = NULL;

	(void)state;
	assert_non_null(v);
	kr = token_verifier_keyring(v);
	assert_int_equal(token_verify(v, 0, tok_a, strlen(tok_a), t.now, &s, why, sizeof(why)),
	                 TOKEN_KEYS_UNAVAILABLE);
	assert_string_equal(token_strerror(TOKEN_KEYS_UNAVAILABLE), "keys unavailable");

	keyring_replace(kr, 0, set_of(t.jwk_a, NULL));
	assert_int_equal(token_verify(v, 0, tok_a, strlen(tok_a), t.now, &s, why, sizeof(why)),
	                 TOKEN_OK);
	assert_true(token_subject_current(v, 0, s));
	/* b is not in the set yet: refused, and a refetch is asked. */
	atomic_store(&refetches, 0);
	keyring_on_refetch(kr, count_refetch, NULL);
	assert_int_equal(token_verify(v, 0, tok_b, strlen(tok_b), t.now, &s2, why, sizeof(why)),
	                 TOKEN_UNKNOWN_KEY);
	assert_int_equal(atomic_load(&refetches), 1);

	/* The issuer rotates: b in, a out. */
	keyring_replace(kr, 0, set_of(t.jwk_b, NULL));
	assert_false(token_subject_current(v, 0, s));
	assert_int_equal(token_verify(v, 0, tok_a, strlen(tok_a), t.now, &s2, why, sizeof(why)),
	                 TOKEN_UNKNOWN_KEY);
	assert_int_equal(token_verify(v, 0, tok_b, strlen(tok_b), t.now, &s2, why, sizeof(why)),
	                 TOKEN_OK);
	assert_true(token_subject_current(v, 0, s2));
	free(s);
	free(s2);
	free(tok_a);
	free(tok_b);
	token_verifier_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rotation_keeps_serials_and_counts_removals),
	    cmocka_unit_test(unknown_kids_refetch_once_per_window),
	    cmocka_unit_test(file_keys_are_never_refetched),
	    cmocka_unit_test(report_keeps_the_last_state_and_counts),
	    cmocka_unit_test(verifier_follows_the_live_set),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
