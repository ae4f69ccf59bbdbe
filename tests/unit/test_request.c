/* test_request.c - request context and token extraction from FastCGI params */
#include <string.h>

#include "testlib.h"
#include "transport/request.h"

static void
parse(struct request *r, const char **env, const char *cookie)
{
	request_parse(r, env, cookie);
}

static void
reads_the_params(void **state)
{
	const char *env[] = {"PDP_METHOD=POST",          "PDP_HOST=api.example.com",
	                     "PDP_URI=/payroll/run?x=1", "REMOTE_ADDR=10.1.2.3",
	                     "PDP_COUNTRY=DE",           "PDP_REQUEST_ID=abc123",
	                     "HTTP_USER_AGENT=curl/8",   NULL};
	struct request r;

	(void)state;
	parse(&r, env, NULL);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.host, "api.example.com");
	assert_string_equal(r.uri, "/payroll/run?x=1");
	assert_string_equal(r.remote_addr, "10.1.2.3");
	assert_string_equal(r.country, "DE");
	assert_string_equal(r.request_id, "abc123");
	assert_string_equal(r.user_agent, "curl/8");
	assert_int_equal(r.token_source, TOKEN_SOURCE_NONE);
}

static void
empty_country_is_unknown(void **state)
{
	const char *env[] = {"PDP_COUNTRY=", NULL};
	struct request r;

	(void)state;
	parse(&r, env, NULL);
	assert_null(r.country);
}

static void
bearer_token(void **state)
{
	static const char *const forms[] = {
	    "HTTP_AUTHORIZATION=Bearer abc.def.ghi",
	    "HTTP_AUTHORIZATION=bearer abc.def.ghi",
	    "HTTP_AUTHORIZATION=BEARER   abc.def.ghi  ",
	    "HTTP_AUTHORIZATION=\tBearer\tabc.def.ghi",
	};
	struct request r;

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const char *env[] = {forms[i], NULL};

		parse(&r, env, NULL);
		assert_int_equal(r.token_source, TOKEN_SOURCE_BEARER);
		assert_true(request_token_wellformed(&r));
		assert_int_equal(r.token_len, 11);
		assert_memory_equal(r.token, "abc.def.ghi", 11);
	}
}

static void
malformed_bearer(void **state)
{
	static const char *const forms[] = {
	    "HTTP_AUTHORIZATION=Bearer",         "HTTP_AUTHORIZATION=Bearer ",
	    "HTTP_AUTHORIZATION=Bearer abc def", "HTTP_AUTHORIZATION=Bearer abc\"def",
	    "HTTP_AUTHORIZATION=Bearer =abc",    "HTTP_AUTHORIZATION=Bearer abc=def",
	    "HTTP_AUTHORIZATION=Bearer a,b",
	};
	struct request r;

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const char *env[] = {forms[i], NULL};

		parse(&r, env, NULL);
		assert_int_equal(r.token_source, TOKEN_SOURCE_BEARER);
		if (request_token_wellformed(&r))
			fail_msg("accepted %s", forms[i]);
	}
}

static void
other_schemes_are_not_tokens(void **state)
{
	const char *basic[] = {"HTTP_AUTHORIZATION=Basic YWxhZGRpbjpvcGVuc2VzYW1l", NULL};
	const char *bearerish[] = {"HTTP_AUTHORIZATION=Bearerabc", NULL};
	struct request r;

	(void)state;
	parse(&r, basic, NULL);
	assert_int_equal(r.token_source, TOKEN_SOURCE_NONE);
	parse(&r, bearerish, NULL);
	assert_int_equal(r.token_source, TOKEN_SOURCE_NONE);
}

static void
names_match_whole(void **state)
{
	const char *env[] = {"PDP_URIX=/wrong",
	                     "PDP_UR=/wrong",
	                     "PDP_URI",
	                     "=PDP_URI=/wrong",
	                     "PDP_URI=/first",
	                     "PDP_URI=/second",
	                     "http_authorization=Bearer lower.case.name",
	                     NULL};
	struct request r;

	(void)state;
	parse(&r, env, NULL);
	/* Only the exact name counts, and a name sent twice counts as it first came. */
	assert_string_equal(r.uri, "/first");
	assert_null(r.method);
	assert_int_equal(r.token_source, TOKEN_SOURCE_NONE);
	parse(&r, (const char *[]){NULL}, "pdp_token");
	assert_null(r.uri);
	assert_int_equal(r.token_source, TOKEN_SOURCE_NONE);
}

static void
cookie_token(void **state)
{
	const char *env[] = {"HTTP_COOKIE=theme=dark; pdp_token=abc.def.ghi; other=1", NULL};
	const char *quoted[] = {"HTTP_COOKIE=pdp_token=\"abc.def.ghi\"", NULL};
	const char *prefix[] = {"HTTP_COOKIE=xpdp_token=evil; pdp_tokenx=evil2", NULL};
	const char *bad[] = {"HTTP_COOKIE=pdp_token=abc def", NULL};
	struct request r;

	(void)state;
	parse(&r, env, "pdp_token");
	assert_int_equal(r.token_source, TOKEN_SOURCE_COOKIE);
	assert_int_equal(r.token_len, 11);
	assert_memory_equal(r.token, "abc.def.ghi", 11);
	parse(&r, quoted, "pdp_token");
	assert_int_equal(r.token_len, 11);
	assert_memory_equal(r.token, "abc.def.ghi", 11);
	parse(&r, prefix, "pdp_token");
	assert_int_equal(r.token_source, TOKEN_SOURCE_NONE);
	parse(&r, bad, "pdp_token");
	assert_false(request_token_wellformed(&r));
	/* Cookies are read only when configured. */
	parse(&r, env, NULL);
	assert_int_equal(r.token_source, TOKEN_SOURCE_NONE);
}

static void
bearer_wins_over_cookie(void **state)
{
	const char *env[] = {"HTTP_AUTHORIZATION=Bearer hdr.tok.en", "HTTP_COOKIE=pdp_token=c.o.ok",
	                     NULL};
	const char *basic[] = {"HTTP_AUTHORIZATION=Basic eA==", "HTTP_COOKIE=pdp_token=c.o.ok",
	                       NULL};
	struct request r;

	(void)state;
	parse(&r, env, "pdp_token");
	assert_int_equal(r.token_source, TOKEN_SOURCE_BEARER);
	assert_memory_equal(r.token, "hdr.tok.en", 10);
	parse(&r, basic, "pdp_token");
	assert_int_equal(r.token_source, TOKEN_SOURCE_COOKIE);
	assert_memory_equal(r.token, "c.o.ok", 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_the_params),
	    cmocka_unit_test(names_match_whole),
	    cmocka_unit_test(empty_country_is_unknown),
	    cmocka_unit_test(bearer_token),
	    cmocka_unit_test(malformed_bearer),
	    cmocka_unit_test(other_schemes_are_not_tokens),
	    cmocka_unit_test(cookie_token),
	    cmocka_unit_test(bearer_wins_over_cookie),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
