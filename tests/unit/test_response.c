/* test_response.c - answers for nginx: statuses, headers, no injection */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "response.h"
#include "testlib.h"

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
	response_unauthenticated(&rs, "pdp", NULL);
	t = text(&rs);
	assert_int_equal(rs.status, 401);
	assert_non_null(strstr(t, "\r\nWWW-Authenticate: Bearer realm=\"pdp\"\r\n"));
	assert_null(strstr(t, "invalid_token"));
	assert_non_null(strstr(t, "X-PDP-Decision: unauthenticated\r\n"));
	free(t);
	response_unauthenticated(&rs, "pdp", "token expired");
	t = text(&rs);
	assert_non_null(strstr(t,
	                       "WWW-Authenticate: Bearer realm=\"pdp\", error=\"invalid_token\", "
	                       "error_description=\"token expired\"\r\n"));
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
	response_step_up(&rs, "stronger authentication required", "urn:a urn:b", 3600);
	t = text(&rs);
	assert_int_equal(rs.status, 401);
	assert_int_equal(rs.decision, DECISION_STEP_UP);
	assert_non_null(
	    strstr(t, "\r\nWWW-Authenticate: Bearer error=\"insufficient_user_authentication\", "
	              "error_description=\"stronger authentication required\", "
	              "acr_values=\"urn:a urn:b\", max_age=3600\r\n"));
	assert_non_null(strstr(t, "X-PDP-Decision: step-up\r\n"));
	/* The same for a browser's sign-in URL, percent-encoded. */
	assert_non_null(
	    strstr(t, "\r\nX-PDP-Step-Up: acr_values=urn%3Aa%20urn%3Ab&max_age=3600\r\n"));
	free(t);
	/* Only the parameters that apply. */
	response_step_up(&rs, "sign-in too old", NULL, -1);
	t = text(&rs);
	assert_non_null(strstr(t, "error_description=\"sign-in too old\"\r\n"));
	assert_null(strstr(t, "acr_values"));
	assert_null(strstr(t, "max_age"));
	assert_null(strstr(t, "X-PDP-Step-Up"));
	free(t);
	response_step_up(&rs, "sign-in too old", "", 0);
	t = text(&rs);
	assert_non_null(strstr(t, "\r\nX-PDP-Step-Up: max_age=0\r\n"));
	free(t);
	/* Every byte but the unreserved ones is escaped: nothing can add a query parameter. */
	response_step_up(&rs, "x", "https://idp.example/acr?a=1&b=2#f+%~._-Z9", -1);
	t = text(&rs);
	assert_non_null(
	    strstr(t, "\r\nX-PDP-Step-Up: acr_values=https%3A%2F%2Fidp.example%2Facr%3Fa%3D1"
	              "%26b%3D2%23f%2B%25~._-Z9\r\n"));
	free(t);
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
	    cmocka_unit_test(huge_identity_never_truncates_into_allow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
