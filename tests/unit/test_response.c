/* test_response.c - answers for nginx: statuses, headers, no injection */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "transport/response.h"

/* A browser's request as nginx's params describe it. */
static const struct response_target browser = {"https", "app.example.com:8443", "app.example.com",
                                               "/x?a=1"};

static char *
text(const struct response *rs)
{
	char *s = malloc(rs->len + 1);

	memcpy(s, rs->buf, rs->len);
	s[rs->len] = '\0';
	return s;
}

static void
allow_carries_identity(void **state)
{
	const char *groups[] = {"admins", "eng"};
	struct subject s = {.user = "alice@example.com", .groups = {groups, 2}};
	struct response rs;
	char *t;

	(void)state;
	response_allow(&rs, &s, "p1,p2");
	t = text(&rs);
	assert_int_equal(rs.status, 200);
	assert_int_equal(rs.decision, DECISION_ALLOW);
	assert_string_equal(t, "Status: 200 OK\r\nX-PDP-Decision: allow\r\n"
	                       "X-PDP-User: alice@example.com\r\nX-PDP-Groups: admins,eng\r\n"
	                       "X-PDP-Policies: p1,p2\r\nContent-Length: 0\r\n\r\n");
	free(t);
}

static void
claims_cannot_inject_headers(void **state)
{
	const char *groups[] = {"a,b", "100%", "x"};
	const char *bad_groups[] = {"a", "x\r\nX-PDP-Decision: allow"};
	struct subject s = {.user = "eve", .groups = {groups, 3}};
	struct response rs;
	char *t;

	(void)state;
	response_allow(&rs, &s, "p1,p2");
	t = text(&rs);
	assert_non_null(strstr(t, "X-PDP-Groups: a%2Cb,100%25,x\r\n"));
	free(t);
	/* A control character is never dropped into another identity: the answer is a 500. */
	s.user = "eve\r\nSet-Cookie: session=1\n";
	response_allow(&rs, &s, "p1,p2");
	assert_int_equal(rs.status, 500);
	t = text(&rs);
	assert_null(strstr(t, "X-PDP-User"));
	free(t);
	s.user = "eve";
	s.groups = (struct strlist){bad_groups, 2};
	response_allow(&rs, &s, "p1,p2");
	assert_int_equal(rs.status, 500);
	assert_int_equal(rs.decision, DECISION_ERROR);
}

static void
unauthenticated_challenges(void **state)
{
	struct response rs;
	char *t;

	(void)state;
	response_unauthenticated(&rs, "pdp", NULL, NULL);
	t = text(&rs);
	assert_int_equal(rs.status, 401);
	assert_non_null(strstr(t, "\r\nWWW-Authenticate: Bearer realm=\"pdp\"\r\n"));
	assert_null(strstr(t, "invalid_token"));
	assert_non_null(strstr(t, "X-PDP-Decision: unauthenticated\r\n"));
	assert_null(strstr(t, "X-PDP-Sign-In"));
	free(t);
	response_unauthenticated(&rs, "pdp", "token expired", &browser);
	t = text(&rs);
	assert_non_null(strstr(t,
	                       "WWW-Authenticate: Bearer realm=\"pdp\", error=\"invalid_token\", "
	                       "error_description=\"token expired\"\r\n"));
	assert_non_null(strstr(
	    t, "\r\nX-PDP-Sign-In: rd=https%3A%2F%2Fapp.example.com%3A8443%2Fx%3Fa%3D1\r\n"));
	free(t);
}

static void
deny_and_error(void **state)
{
	struct response rs;
	char *t;

	(void)state;
	response_deny(&rs, "p1", "blocked");
	t = text(&rs);
	assert_int_equal(rs.status, 403);
	assert_non_null(strstr(t, "Status: 403 Forbidden\r\n"));
	assert_non_null(strstr(t, "X-PDP-Reason: p1: blocked\r\n"));
	free(t);
	response_error(&rs);
	t = text(&rs);
	assert_int_equal(rs.status, 500);
	assert_int_equal(rs.decision, DECISION_ERROR);
	assert_null(strstr(t, "allow"));
	free(t);
}

static void
step_up_challenges_per_rfc9470(void **state)
{
	struct response rs;
	char *t;

	(void)state;
	response_step_up(&rs, "stronger authentication required", "urn:a urn:b", 3600, &browser);
	t = text(&rs);
	assert_int_equal(rs.status, 401);
	assert_int_equal(rs.decision, DECISION_STEP_UP);
	assert_non_null(
	    strstr(t, "\r\nWWW-Authenticate: Bearer error=\"insufficient_user_authentication\", "
	              "error_description=\"stronger authentication required\", "
	              "acr_values=\"urn:a urn:b\", max_age=3600\r\n"));
	assert_non_null(strstr(t, "X-PDP-Decision: step-up\r\n"));
	/* The same for a browser's sign-in URL, percent-encoded, with the way back. */
	assert_non_null(strstr(t, "\r\nX-PDP-Sign-In: acr_values=urn%3Aa%20urn%3Ab&max_age=3600"
	                          "&rd=https%3A%2F%2Fapp.example.com%3A8443%2Fx%3Fa%3D1\r\n"));
	free(t);
	/* Only the parameters that apply. */
	response_step_up(&rs, "sign-in too old", NULL, -1, &browser);
	t = text(&rs);
	assert_non_null(strstr(t, "error_description=\"sign-in too old\"\r\n"));
	assert_null(strstr(t, "acr_values"));
	assert_null(strstr(t, "max_age"));
	assert_non_null(strstr(t, "\r\nX-PDP-Sign-In: rd=https"));
	free(t);
	response_step_up(&rs, "sign-in too old", "", 0, &browser);
	t = text(&rs);
	assert_non_null(strstr(t, "\r\nX-PDP-Sign-In: max_age=0&rd=https"));
	free(t);
	/* Every byte but the unreserved ones is escaped: nothing can add a query parameter. */
	response_step_up(&rs, "x", "https://idp.example/acr?a=1&b=2#f+%~._-Z9", -1, &browser);
	t = text(&rs);
	assert_non_null(
	    strstr(t, "\r\nX-PDP-Sign-In: acr_values=https%3A%2F%2Fidp.example%2Facr%3Fa%3D1"
	              "%26b%3D2%23f%2B%25~._-Z9&rd="));
	free(t);
}

/* The query is made whole here: whatever the URI holds, one rd, no added parameter. */
static void
sign_in_query_is_escaped_and_validated(void **state)
{
	char q[RESPONSE_MAX_SIGN_IN];
	struct response_target t = {"http", "intranet.example.com", "intranet.example.com",
	                            "/x?a=1&rd=https://evil.example/steal&acr_values=x&max_age=9"};
	static char long_uri[8000];

	(void)state;
	assert_true(response_sign_in_query(q, sizeof(q), &t, NULL, -1));
	assert_string_equal(q,
	                    "rd=http%3A%2F%2Fintranet.example.com%2Fx%3Fa%3D1%26rd%3Dhttps%3A%2F%2F"
	                    "evil.example%2Fsteal%26acr_values%3Dx%26max_age%3D9");
	assert_null(strchr(q + 1, '&'));
	/* Step-up params first; a hostile byte in the URI stays inside rd. */
	t.uri = "/p\r\nX: y #\"%";
	assert_true(response_sign_in_query(q, sizeof(q), &t, "urn:a", 60));
	assert_string_equal(q, "acr_values=urn%3Aa&max_age=60&rd=http%3A%2F%2Fintranet.example.com"
	                       "%2Fp%0D%0AX%3A%20y%20%23%22%25");
	/* Host and port as the client addressed them; case and a trailing dot are the same host. */
	t = (struct response_target){"https", "Intranet.Example.com.:8443", "intranet.example.com",
	                             "/"};
	assert_true(response_sign_in_query(q, sizeof(q), &t, NULL, -1));
	assert_string_equal(q, "rd=https%3A%2F%2FIntranet.Example.com.%3A8443%2F");
	t = (struct response_target){"http", "[::1]:8080", "[::1]", "/"};
	assert_true(response_sign_in_query(q, sizeof(q), &t, NULL, -1));
	assert_string_equal(q, "rd=http%3A%2F%2F%5B%3A%3A1%5D%3A8080%2F");
	/* No Host header (HTTP/1.0): nginx's $host. */
	t = (struct response_target){"http", NULL, "intranet.example.com", "/"};
	assert_true(response_sign_in_query(q, sizeof(q), &t, NULL, -1));
	assert_string_equal(q, "rd=http%3A%2F%2Fintranet.example.com%2F");

	/* Missing or invalid params: no query, so no redirect. */
	static const struct response_target bad[] = {
	    {NULL, "a.example", "a.example", "/"},           /* no scheme */
	    {"javascript", "a.example", "a.example", "/"},   /* not http(s) */
	    {"http", "a.example", NULL, "/"},                /* no host */
	    {"http", "a.example", "a.example", NULL},        /* no URI */
	    {"http", "a.example", "a.example", "x"},         /* not origin-form */
	    {"http", "a.example", "a.example", "http://b/"}, /* absolute-form */
	    {"http", "evil.example", "a.example", "/"},      /* another host than nginx routed */
	    {"http", "a.example@evil.example", "a.example", "/"},
	    {"http", "a.example:0", "a.example", "/"}, /* bad ports */
	    {"http", "a.example:65536", "a.example", "/"},
	    {"http", "a.example:80x", "a.example", "/"},
	    {"http", "a.example:", "a.example", "/"},
	    {"http", "a.example/x", "a.example", "/"},
	    {"http", "[::1", "[::1]", "/"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(q, "x");
		assert_false(response_sign_in_query(q, sizeof(q), &bad[i], "urn:a", 1));
		assert_string_equal(q, "");
	}
	/* Too long for the header: none rather than a cut URL. */
	memset(long_uri, 'a', sizeof(long_uri) - 1);
	long_uri[0] = '/';
	t = (struct response_target){"http", NULL, "a.example", long_uri};
	assert_false(response_sign_in_query(q, sizeof(q), &t, NULL, -1));
	/* And an answer without one is still the 401. */
	{
		struct response rs;

		response_unauthenticated(&rs, "pdp", NULL, &bad[6]);
		assert_int_equal(rs.status, 401);
		assert_null(memmem(rs.buf, rs.len, "X-PDP-Sign-In", 13));
	}
}

static void
huge_identity_never_truncates_into_allow(void **state)
{
	enum { N = 2000 };
	const char **groups = malloc(N * sizeof(*groups));
	char *user = malloc(RESPONSE_MAX_BYTES + 100);
	struct subject s = {.user = "bob", .groups = {groups, N}};
	struct response rs;
	char *t, *line, *end;

	(void)state;
	for (int i = 0; i < N; i++)
		groups[i] = "group-with-a-long-name";
	/* The group list is cut at a group boundary below the limit. */
	response_allow(&rs, &s, "p1,p2");
	t = text(&rs);
	assert_int_equal(rs.status, 200);
	line = strstr(t, "X-PDP-Groups: ") + 14;
	end = strstr(line, "\r\n");
	assert_true((size_t)(end - line) <= RESPONSE_MAX_GROUPS_BYTES);
	assert_int_equal((end - line + 1) % (int)(strlen(groups[0]) + 1), 0);
	free(t);
	/* An identity too large to answer at all becomes an error, never a partial allow. */
	memset(user, 'u', RESPONSE_MAX_BYTES + 99);
	user[RESPONSE_MAX_BYTES + 99] = '\0';
	s.user = user;
	response_allow(&rs, &s, "p1,p2");
	assert_int_equal(rs.status, 500);
	assert_int_equal(rs.decision, DECISION_ERROR);
	free(user);
	free(groups);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(allow_carries_identity),
	    cmocka_unit_test(claims_cannot_inject_headers),
	    cmocka_unit_test(unauthenticated_challenges),
	    cmocka_unit_test(deny_and_error),
	    cmocka_unit_test(step_up_challenges_per_rfc9470),
	    cmocka_unit_test(sign_in_query_is_escaped_and_validated),
	    cmocka_unit_test(huge_identity_never_truncates_into_allow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
