/* test_decide.c - the decision point: token to answer, through the cache */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "decide.h"
#include "keytool.h"
#include "testlib.h"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";

static struct config *
make_config(const char *default_decision)
{
	char cfg[512], err[512];
	struct config *c;

	test_write_file("s", (const char *)secret);
	mkdir(test_path("decide-policies"), 0700);
	snprintf(cfg, sizeof(cfg),
	         "policies: decide-policies\ndefault_decision: %s\nrealm: test\n"
	         "issuers:\n  - issuer: iss\n    audiences: [aud]\n    hmac_secret_file: s\n",
	         default_decision);
	c = config_load(test_write_file("d.yaml", cfg), err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	return c;
}

/* Each test gets a PDP built from a config whose default_decision is its state's. */
struct fixture {
	struct config *cfg;
	struct pdp pdp;
	time_t now;
};

static int
fixture_up(void **state, const char *default_decision)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	f->cfg = make_config(default_decision);
	f->now = time(NULL);
	if (pdp_init(&f->pdp, f->cfg, 1, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	*state = f;
	return 0;
}

static int
setup_allow(void **state)
{
	return fixture_up(state, "allow");
}

static int
setup_deny(void **state)
{
	return fixture_up(state, "deny");
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	pdp_fini(&f->pdp);
	config_free(f->cfg);
	free(f);
	return 0;
}

static char *
token(time_t now, const char *sub, long ttl)
{
	char body[256];

	snprintf(body, sizeof(body),
	         "{\"iss\":\"iss\",\"aud\":\"aud\",\"sub\":\"%s\",\"groups\":[\"g1\"],"
	         "\"exp\":%lld}",
	         sub, (long long)now + ttl);
	return keytool_mint("HS256", secret, sizeof(secret) - 1, NULL, body);
}

static struct request
bearer(const char *tok)
{
	struct request r = {.request_id = "r1",
	                    .remote_addr = "127.0.0.1",
	                    .method = "GET",
	                    .host = "app.example.com",
	                    .uri = "/"};

	if (tok != NULL) {
		r.token_source = TOKEN_SOURCE_BEARER;
		r.token = tok;
		r.token_len = strlen(tok);
	}
	return r;
}

static char *
text(const struct response *rs)
{
	static char buf[RESPONSE_MAX_BYTES + 1];

	memcpy(buf, rs->buf, rs->len);
	buf[rs->len] = '\0';
	return buf;
}

static void
no_token_is_challenged(void **state)
{
	struct fixture *f = *state;
	struct pdp *p = &f->pdp;
	struct request r = bearer(NULL);
	struct response rs;

	pdp_decide(p, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 401);
	assert_non_null(strstr(text(&rs), "WWW-Authenticate: Bearer realm=\"test\"\r\n"));
	r.token_source = TOKEN_SOURCE_BEARER;
	r.token = "a b";
	r.token_len = 3;
	r.token_malformed = true;
	pdp_decide(p, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 401);
	assert_non_null(strstr(text(&rs), "error=\"invalid_token\""));
	assert_int_equal(p->counters.decisions[DECISION_UNAUTHENTICATED], 2);
}

static void
valid_token_is_allowed_then_cached(void **state)
{
	struct fixture *f = *state;
	struct pdp *p = &f->pdp;
	time_t now = f->now;
	char *tok = token(now, "alice", 300);
	struct request r = bearer(tok);
	struct response rs;
	struct cache_stats st;

	pdp_decide(p, 0, &r, now, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(text(&rs), "X-PDP-User: alice\r\nX-PDP-Groups: g1\r\n"));
	pdp_decide(p, 0, &r, now, &rs);
	assert_int_equal(rs.status, 200);
	cache_get_stats(p->token_cache, &st);
	assert_int_equal(st.inserts, 1);
	assert_int_equal(st.hits, 1);
	/* Past exp plus leeway the cached entry is dead and the token is verified (and refused). */
	pdp_decide(p, 0, &r, now + 300 + 60, &rs);
	assert_int_equal(rs.status, 401);
	assert_non_null(strstr(text(&rs), "error_description=\"token expired\""));
	assert_int_equal(p->counters.token_errors[TOKEN_EXPIRED], 1);
	free(tok);
}

static void
invalid_tokens_are_never_cached(void **state)
{
	struct fixture *f = *state;
	struct pdp *p = &f->pdp;
	time_t now = f->now;
	char *tok = token(now, "mallory", 300);
	struct request r;
	struct response rs;
	struct cache_stats st;

	tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
	r = bearer(tok);
	for (int i = 0; i < 3; i++) {
		pdp_decide(p, 0, &r, now, &rs);
		assert_int_equal(rs.status, 401);
		assert_non_null(strstr(text(&rs), "error_description=\"invalid signature\""));
	}
	cache_get_stats(p->token_cache, &st);
	assert_int_equal(st.inserts, 0);
	assert_int_equal(st.hits, 0);
	assert_int_equal(p->counters.token_errors[TOKEN_BAD_SIGNATURE], 3);
	free(tok);
}

static void
missing_nginx_params_are_an_error(void **state)
{
	struct fixture *f = *state;
	char *tok = token(f->now, "alice", 300);
	struct request r = bearer(tok);
	struct response rs;

	r.uri = NULL;
	pdp_decide(&f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 500);
	r.uri = "/";
	r.host = NULL;
	pdp_decide(&f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 500);
	free(tok);
}

static void
cached_caller_follows_a_reload(void **state)
{
	struct fixture *f = *state;
	char *tok = token(f->now, "alice", 300);
	struct request r = bearer(tok);
	struct response rs;
	struct cache_stats st;
	char err[512];

	/* Each set interns its one group as id 0: a stale view would confuse g1 with g2. */
	test_write_file("decide-policies/p.yaml", "policies:\n  - id: block-g1\n"
	                                          "    users: { include: { groups: [g1] } }\n"
	                                          "    apps: { include: all }\n    grant: block\n");
	assert_int_equal(pdp_reload_policies(&f->pdp, err, sizeof(err)), 0);
	pdp_decide(&f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 403); /* the token's groups are [g1] */
	pdp_decide(&f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 403); /* warm, from the view */
	test_write_file("decide-policies/p.yaml", "policies:\n  - id: block-g2\n"
	                                          "    users: { include: { groups: [g2] } }\n"
	                                          "    apps: { include: all }\n    grant: block\n");
	assert_int_equal(pdp_reload_policies(&f->pdp, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		pdp_decide(&f->pdp, 0, &r, f->now, &rs);
		assert_int_equal(rs.status, 200);
	}
	cache_get_stats(f->pdp.token_cache, &st);
	assert_int_equal(st.inserts, 1); /* one verification for all five decisions */
	remove(test_path("decide-policies/p.yaml"));
	free(tok);
}

static void
default_deny_when_no_policy_applies(void **state)
{
	struct fixture *f = *state;
	struct pdp *p = &f->pdp;
	time_t now = f->now;
	char *tok = token(now, "alice", 300);
	struct request r = bearer(tok);
	struct response rs;

	pdp_decide(p, 0, &r, now, &rs);
	assert_int_equal(rs.status, 403);
	assert_non_null(strstr(text(&rs), "X-PDP-Decision: deny\r\n"));
	/* From the cache too. */
	pdp_decide(p, 0, &r, now, &rs);
	assert_int_equal(rs.status, 403);
	free(tok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(no_token_is_challenged, setup_allow, teardown),
	    cmocka_unit_test_setup_teardown(valid_token_is_allowed_then_cached, setup_allow,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(invalid_tokens_are_never_cached, setup_allow, teardown),
	    cmocka_unit_test_setup_teardown(missing_nginx_params_are_an_error, setup_allow,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(cached_caller_follows_a_reload, setup_allow, teardown),
	    cmocka_unit_test_setup_teardown(default_deny_when_no_policy_applies, setup_deny,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
