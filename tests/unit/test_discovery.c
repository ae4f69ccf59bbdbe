/* test_discovery.c - discovery documents, the fetchable-URL rule and Cache-Control freshness */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity/discovery.h"
#include "testlib.h"

static void
url_rule(void **state)
{
	static const char *const good[] = {
	    "https://login.example.com/t/discovery/v2.0/keys",
	    "HTTPS://idp.example.com",
	    "https://idp.example.com:8443/certs?x=1",
	    "https://[2001:db8::1]/keys",
	    "http://127.0.0.1:8080/jwks",
	    "http://127.255.0.9/jwks",
	    "http://[::1]:9000/jwks",
	    "http://localhost/jwks",
	    "http://LocalHost:80",
	    "http://[::ffff:127.0.0.1]/jwks",
	};
	static const struct {
		const char *url, *why;
	} bad[] = {
	    {"http://idp.example.com/keys", "must be https://"},
	    {"http://10.0.0.1/keys", "must be https://"},
	    {"http://128.0.0.1/keys", "must be https://"},
	    {"http://[::2]/keys", "must be https://"},
	    {"http://localhost.evil.example/keys", "must be https://"},
	    {"http://127.0.0.1.evil.example/keys", "must be https://"},
	    {"http://127.1/keys", "must be https://"},
	    {"http://127.0.0.1@evil.example/", "credentials"},
	    {"https://user:pw@idp.example.com/", "credentials"},
	    {"ftp://idp.example.com/keys", "must be https://"},
	    {"file:///etc/passwd", "must be https://"},
	    {"idp.example.com/keys", "must be https://"},
	    {"https://", "names no host"},
	    {"https://:443/keys", "names no host"},
	    {"http://[::1/keys", "closing"},
	    {"https://idp.example.com/a\nb", "control characters"},
	    {"https://idp.example.com/ x", "spaces"},
	    {"", "must be https://"},
	};
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (discovery_check_url(good[i], why, sizeof(why)) != 0)
			fail_msg("%s refused: %s", good[i], why);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (discovery_check_url(bad[i].url, why, sizeof(why)) == 0 ||
		    strstr(why, bad[i].why) == NULL)
			fail_msg("%s: wanted \"%s\", got \"%s\"", bad[i].url, bad[i].why, why);
	}
}

static void
well_known_url(void **state)
{
	static const char *const cases[][2] = {
	    {"https://idp.example.com", "https://idp.example.com/.well-known/openid-configuration"},
	    {"https://idp.example.com/",
	     "https://idp.example.com/.well-known/openid-configuration"},
	    {"https://login.example.com/tid/v2.0",
	     "https://login.example.com/tid/v2.0/.well-known/openid-configuration"},
	    {"https://kc.example.com/realms/r/",
	     "https://kc.example.com/realms/r/.well-known/openid-configuration"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *u = discovery_url(cases[i][0]);

		assert_non_null(u);
		assert_string_equal(u, cases[i][1]);
		free(u);
	}
}

/* Parses text (copied: the parser overwrites it) for issuer. */
static int
parse(const char *text, const char *issuer, char **uri, char *err, size_t errsz)
{
	char *copy = strdup(text);
	int rc;

	assert_non_null(copy);
	err[0] = '\0';
	rc = discovery_parse(copy, strlen(copy), issuer, uri, err, errsz);
	free(copy);
	return rc;
}

static void
expect_invalid(const char *text, const char *issuer, const char *reason)
{
	char err[512], *uri = (char *)"x";

	if (parse(text, issuer, &uri, err, sizeof(err)) == 0 || strstr(err, reason) == NULL) {
		print_error("document %s\nerror: %s\nwanted: %s\n", text, err, reason);
		free(uri);
		fail();
	}
	assert_null(uri);
}

static void
documents(void **state)
{
	char err[512], *uri = NULL;

	(void)state;
	/* Entra's shape, shortened: the jwks_uri is taken. */
	assert_int_equal(
	    parse("{\"token_endpoint\":\"https://login.example.com/t/oauth2/v2.0/token\","
	          "\"jwks_uri\":\"https:\\/\\/login.example.com\\/t\\/discovery\\/v2.0\\/keys\","
	          "\"response_types_supported\":[\"code\",\"id_token\"],"
	          "\"issuer\":\"https://login.example.com/t/v2.0\","
	          "\"request_uri_parameter_supported\":false,\"mtls\":{\"a\":1}}",
	          "https://login.example.com/t/v2.0", &uri, err, sizeof(err)),
	    0);
	assert_string_equal(uri, "https://login.example.com/t/discovery/v2.0/keys");
	free(uri);
	/* A loopback provider over plain http. */
	assert_int_equal(parse("{\"issuer\":\"http://127.0.0.1:3000\","
	                       "\"jwks_uri\":\"http://127.0.0.1:3000/jwks\"}",
	                       "http://127.0.0.1:3000", &uri, err, sizeof(err)),
	                 0);
	assert_string_equal(uri, "http://127.0.0.1:3000/jwks");
	free(uri);

	/* The issuer must be exactly the configured one: both are named. */
	expect_invalid("{\"issuer\":\"https://evil.example.com/\",\"jwks_uri\":\"https://e/k\"}",
	               "https://idp.example.com/",
	               "its issuer \"https://evil.example.com/\" is not the configured "
	               "\"https://idp.example.com/\"");
	expect_invalid("{\"issuer\":\"https://idp.example.com\",\"jwks_uri\":\"https://e/k\"}",
	               "https://idp.example.com/", "is not the configured");
	expect_invalid("{\"issuer\":\"https://IDP.example.com/\",\"jwks_uri\":\"https://e/k\"}",
	               "https://idp.example.com/", "is not the configured");
	/* A value from the document is escaped in the message. */
	expect_invalid("{\"issuer\":\"a\\nb\\\"c\",\"jwks_uri\":\"https://e/k\"}", "i",
	               "its issuer \"a\\x0ab\\\"c\" is not");
	expect_invalid("{\"jwks_uri\":\"https://e/k\"}", "i", "no \"issuer\" string");
	expect_invalid("{\"issuer\":7,\"jwks_uri\":\"https://e/k\"}", "i", "no \"issuer\" string");
	expect_invalid("{\"issuer\":\"i\"}", "i", "no \"jwks_uri\"");
	expect_invalid("{\"issuer\":\"i\",\"jwks_uri\":[\"https://e/k\"]}", "i",
	               "\"jwks_uri\" is not a string");
	expect_invalid("{\"issuer\":\"i\",\"jwks_uri\":null}", "i", "\"jwks_uri\" is not a string");
	expect_invalid("{\"issuer\":\"i\",\"jwks_uri\":\"http://idp.example.com/keys\"}", "i",
	               "jwks_uri \"http://idp.example.com/keys\" must be https://");
	expect_invalid("{\"issuer\":\"i\",\"jwks_uri\":\"http://127.0.0.1@evil/keys\"}", "i",
	               "must not hold credentials");
	/* Not a document at all. */
	expect_invalid("<html>", "i", "discovery document: ");
	expect_invalid("[1,2]", "i", "discovery document: ");
	expect_invalid("", "i", "discovery document: ");
	expect_invalid("{\"issuer\":\"i\",\"issuer\":\"i\",\"jwks_uri\":\"https://e/k\"}", "i",
	               "discovery document: ");
}

static void
cache_control(void **state)
{
	static const struct {
		const char *value;
		int64_t max_age;
	} cases[] = {
	    {NULL, -1},
	    {"", -1},
	    {"max-age=300", 300},
	    {"public, max-age=86400, must-revalidate", 86400},
	    {"Max-Age=60", 60},
	    {"max-age=\"120\"", 120},
	    {"  max-age=5  ,private", 5},
	    {"max-age=600, max-age=60", 60},
	    {"s-maxage=10", -1},
	    {"private", -1},
	    {"no-store", 0},
	    {"max-age=3600, no-cache", 0},
	    {"No-Cache", 0},
	    {"no-cache=\"Set-Cookie\"", -1},
	    {"max-age=", -1},
	    {"max-age=-5", -1},
	    {"max-age=12abc", -1},
	    {"max-age = 5", -1},
	    {"max-age=99999999999999999999999", 2147483647},
	    {",,,", -1},
	    {"garbage;max-age=5", -1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = discovery_max_age(cases[i].value);

		if (got != cases[i].max_age)
			fail_msg("\"%s\": wanted %lld, got %lld",
			         cases[i].value ? cases[i].value : "(none)",
			         (long long)cases[i].max_age, (long long)got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(url_rule),
	    cmocka_unit_test(well_known_url),
	    cmocka_unit_test(documents),
	    cmocka_unit_test(cache_control),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
