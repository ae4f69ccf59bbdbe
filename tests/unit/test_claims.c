/* test_claims.c - claims as issuers emit them: nested paths, URL names, merges, overage */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json_doc.h"
#include "identity/token.h"
#include "keytool.h"
#include "service/config.h"
#include "testlib.h"

#define KC    "https://kc.example.com/realms/corp"
#define ENTRA "https://login.microsoftonline.com/tid/v2.0"
#define ENTI  "https://entra-ignore.example.com/"
#define A0    "https://corp.auth0.com/"
#define PLAIN "https://plain.example.com/"
#define AUD   "api://apps"

static struct {
	unsigned char secret[48];
	struct config *cfg;
	struct token_verifier *v;
	time_t now;
} t;

static int
setup(void **state)
{
	char err[512];
	const char *secret =
	    test_write_file("secret", "xSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS\n");
	char cfg[2048];

	(void)state;
	t.now = time(NULL);
	memset(t.secret, 'S', sizeof(t.secret));
	t.secret[0] = 'x';
	snprintf(cfg, sizeof(cfg),
	         "issuers:\n"
	         "  - issuer: " KC "\n"
	         "    audiences: [" AUD "]\n"
	         "    hmac_secret_file: %s\n"
	         "    claims: { user: preferred_username, roles: [realm_access.roles, "
	         "resource_access.api.roles], groups: groups }\n"
	         "  - issuer: " ENTRA "\n"
	         "    audiences: [" AUD "]\n"
	         "    hmac_secret_file: %s\n"
	         "    claims: { user: oid, roles: [roles, wids], amr: amr, acr: acrs.0, client_id: "
	         "appid }\n"
	         "  - issuer: " ENTI "\n"
	         "    audiences: [" AUD "]\n"
	         "    hmac_secret_file: %s\n"
	         "    on_groups_overage: ignore\n"
	         "  - issuer: " A0 "\n"
	         "    audiences: [" AUD "]\n"
	         "    hmac_secret_file: %s\n"
	         "    claims: { roles: https://corp.example.com/roles, groups: "
	         "[https://corp.example.com/groups] }\n"
	         "  - issuer: " PLAIN "\n"
	         "    audiences: [" AUD "]\n"
	         "    hmac_secret_file: %s\n",
	         secret, secret, secret, secret, secret);
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
	return 0;
}

/* Verifies a token for iss with the members extra (starting with ','); *s gets the subject. */
static enum token_err
verify(const char *iss, const char *extra, struct subject **s)
{
	char *body, *tok;
	enum token_err e;

	*s = NULL;
	assert_true(asprintf(&body,
	                     "{\"iss\":\"%s\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"iat\":%lld,"
	                     "\"exp\":%lld%s}",
	                     iss, (long long)t.now - 10, (long long)t.now + 600, extra) > 0);
	tok = keytool_mint("HS256", t.secret, sizeof(t.secret), NULL, body);
	assert_non_null(tok);
	e = token_verify(t.v, 0, tok, strlen(tok), t.now, s, NULL, 0);
	free(tok);
	free(body);
	return e;
}

static void
assert_list(const struct strlist *l, const char *const *want, size_t n)
{
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->items[i], want[i]);
}

static void
keycloak_nested_roles_merge(void **state)
{
	struct subject *s;
	static const char *const roles[] = {"admin", "offline_access", "api-reader"};

	(void)state;
	assert_int_equal(verify(KC,
	                        ",\"preferred_username\":\"alice\",\"realm_access\":{\"roles\":"
	                        "[\"admin\",\"offline_access\"]},\"resource_access\":{\"api\":{"
	                        "\"roles\":[\"api-reader\"]},\"account\":{\"roles\":[\"x\"]}}",
	                        &s),
	                 TOKEN_OK);
	assert_list(&s->roles, roles, 3);
	assert_string_equal(s->user, "alice");
	assert_false(s->groups_overage);
	/* Absent mapped claims are marked, and named. */
	{
		char names[128];

		assert_int_equal(s->absent, SUBJECT_ABSENT_GROUPS | SUBJECT_ABSENT_AMR |
		                                SUBJECT_ABSENT_ACR | SUBJECT_ABSENT_DEVICE_ID |
		                                SUBJECT_ABSENT_SIGN_IN_RISK |
		                                SUBJECT_ABSENT_CLIENT_ID);
		assert_string_equal(subject_absent_names(s->absent, names, sizeof(names)),
		                    "groups, amr, acr, device_id, sign_in_risk, client_id");
	}
	free(s);
	/* Absent nested claims: no roles, no error. */
	assert_int_equal(verify(KC, ",\"preferred_username\":\"alice\",\"realm_access\":{}", &s),
	                 TOKEN_OK);
	assert_int_equal(s->roles.n, 0);
	assert_true(s->absent & SUBJECT_ABSENT_ROLES);
	free(s);
	/* A path through a non-object is absent, not an error. */
	assert_int_equal(verify(KC, ",\"preferred_username\":\"a\",\"realm_access\":[1]", &s),
	                 TOKEN_OK);
	assert_int_equal(s->roles.n, 0);
	free(s);
	/* Wrong-typed at a path: refused as at the top level. */
	assert_int_equal(
	    verify(KC, ",\"preferred_username\":\"a\",\"realm_access\":{\"roles\":\"admin\"}", &s),
	    TOKEN_BAD_CLAIM);
	assert_null(s);
	assert_int_equal(
	    verify(KC, ",\"preferred_username\":\"a\",\"realm_access\":{\"roles\":[\"a\",1]}", &s),
	    TOKEN_BAD_CLAIM);
	/* The user claim missing or not a string is a bad claim. */
	assert_int_equal(verify(KC, "", &s), TOKEN_BAD_CLAIM);
	assert_int_equal(verify(KC, ",\"preferred_username\":7", &s), TOKEN_BAD_CLAIM);
}

static void
exact_member_wins_over_path(void **state)
{
	struct subject *s;
	static const char *const top[] = {"top"};

	(void)state;
	assert_int_equal(verify(KC,
	                        ",\"preferred_username\":\"a\",\"realm_access.roles\":[\"top\"],"
	                        "\"realm_access\":{\"roles\":[\"nested\"]}",
	                        &s),
	                 TOKEN_OK);
	assert_list(&s->roles, top, 1);
	free(s);
}

static void
entra_roles_and_wids_merge(void **state)
{
	struct subject *s;
	static const char *const roles[] = {"Task.Write", "62e90394-69f5-4237-9190-012177145e10",
	                                    "Task.Write"};
	static const char *const amr[] = {"pwd", "mfa"};

	(void)state;
	assert_int_equal(
	    verify(ENTRA,
	           ",\"oid\":\"00000000-0000-0000-0000-00000000000a\",\"roles\":["
	           "\"Task.Write\"],\"wids\":[\"62e90394-69f5-4237-9190-012177145e10\","
	           "\"Task.Write\"],\"amr\":[\"pwd\",\"mfa\"],\"acrs\":{\"0\":\"c1\"},"
	           "\"appid\":\"app-1\",\"azp\":\"ignored\",\"groups\":[\"g1\"]",
	           &s),
	    TOKEN_OK);
	assert_string_equal(s->user, "00000000-0000-0000-0000-00000000000a");
	assert_list(&s->roles, roles, 3); /* duplicates kept, in order */
	assert_list(&s->amr, amr, 2);
	assert_string_equal(s->acr, "c1");
	assert_string_equal(s->client_id, "app-1");
	assert_int_equal(s->groups.n, 1);
	assert_false(s->groups_overage);
	free(s);
	/* wids alone. */
	assert_int_equal(verify(ENTRA, ",\"oid\":\"o\",\"wids\":[\"w\"]", &s), TOKEN_OK);
	assert_int_equal(s->roles.n, 1);
	assert_null(s->client_id);
	free(s);
	/* Wrong-typed mapped acr and client_id. */
	assert_int_equal(verify(ENTRA, ",\"oid\":\"o\",\"acrs\":{\"0\":1}", &s), TOKEN_BAD_CLAIM);
	assert_int_equal(verify(ENTRA, ",\"oid\":\"o\",\"appid\":[\"x\"]", &s), TOKEN_BAD_CLAIM);
	assert_int_equal(verify(ENTRA, ",\"oid\":\"o\",\"wids\":\"w\"", &s), TOKEN_BAD_CLAIM);
}

static void
entra_group_overage(void **state)
{
	struct subject *s;

	(void)state;
	/* _claim_names.groups, no groups: denied by default. */
	assert_int_equal(verify(ENTRA,
	                        ",\"oid\":\"o\",\"_claim_names\":{\"groups\":\"src1\"},"
	                        "\"_claim_sources\":{\"src1\":{\"endpoint\":\"https://graph\"}}",
	                        &s),
	                 TOKEN_OK);
	assert_true(s->groups_overage);
	assert_int_equal(s->groups.n, 0);
	free(s);
	/* hasgroups: true. */
	assert_int_equal(verify(ENTRA, ",\"oid\":\"o\",\"hasgroups\":true", &s), TOKEN_OK);
	assert_true(s->groups_overage);
	free(s);
	/* hasgroups false, or groups present: no overage. */
	assert_int_equal(verify(ENTRA, ",\"oid\":\"o\",\"hasgroups\":false", &s), TOKEN_OK);
	assert_false(s->groups_overage);
	free(s);
	assert_int_equal(verify(ENTRA, ",\"oid\":\"o\",\"hasgroups\":true,\"groups\":[\"g\"]", &s),
	                 TOKEN_OK);
	assert_false(s->groups_overage);
	free(s);
	/* _claim_names without groups: no overage. */
	assert_int_equal(verify(ENTRA, ",\"oid\":\"o\",\"_claim_names\":{\"x\":\"s\"}", &s),
	                 TOKEN_OK);
	assert_false(s->groups_overage);
	free(s);
	/* on_groups_overage: ignore continues with no groups. */
	assert_int_equal(verify(ENTI, ",\"_claim_names\":{\"groups\":\"src1\"}", &s), TOKEN_OK);
	assert_false(s->groups_overage);
	assert_int_equal(s->groups.n, 0);
	free(s);
}

static void
auth0_namespaced_claims(void **state)
{
	struct subject *s;
	static const char *const roles[] = {"admin"};
	static const char *const groups[] = {"eng", "ops"};

	(void)state;
	assert_int_equal(verify(A0,
	                        ",\"https://corp.example.com/roles\":[\"admin\"],"
	                        "\"https://corp.example.com/groups\":[\"eng\",\"ops\"]",
	                        &s),
	                 TOKEN_OK);
	assert_list(&s->roles, roles, 1);
	assert_list(&s->groups, groups, 2);
	free(s);
}

static void
defaults_unchanged(void **state)
{
	struct subject *s;

	(void)state;
	assert_int_equal(verify(PLAIN,
	                        ",\"groups\":[\"g\"],\"roles\":[\"r\"],\"amr\":[\"mfa\"],\"acr\":"
	                        "\"c\",\"azp\":\"web\",\"client_id\":\"cli\"",
	                        &s),
	                 TOKEN_OK);
	assert_string_equal(s->client_id, "web");
	assert_string_equal(s->acr, "c");
	assert_int_equal(s->amr.n, 1);
	free(s);
	assert_int_equal(verify(PLAIN, ",\"client_id\":\"cli\"", &s), TOKEN_OK);
	assert_string_equal(s->client_id, "cli");
	free(s);
}

static void
config_refuses_bad_claim_lists(void **state)
{
	char err[512];
	struct config *c;

	(void)state;
	c = config_load(test_write_file("bad.yaml", "issuers:\n  - issuer: i\n    audiences: [a]\n"
	                                            "    hmac_secret_file: s\n"
	                                            "    claims: { roles: [] }\n"),
	                err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "bad.yaml:5:"));
	c = config_load(test_write_file("bad.yaml", "issuers:\n  - issuer: i\n    audiences: [a]\n"
	                                            "    hmac_secret_file: s\n"
	                                            "    on_groups_overage: maybe\n"),
	                err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "bad.yaml:5:"));
}

static void
path_compile_bounds(void **state)
{
	struct jdoc_path p;

	(void)state;
	assert_int_equal(jdoc_path_compile(&p, "a.b.c", 5), 0);
	assert_int_equal(p.n_segs, 3);
	assert_int_equal(jdoc_path_compile(&p, "a..b", 4), -1);
	assert_int_equal(jdoc_path_compile(&p, ".a", 2), -1);
	assert_int_equal(jdoc_path_compile(&p, "a.", 2), -1);
	assert_int_equal(jdoc_path_compile(&p, "a.b.c.d.e.f.g.h.i", 17), -1);
	assert_int_equal(jdoc_path_compile(&p, "abc", 3), 0);
	assert_int_equal(p.n_segs, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(keycloak_nested_roles_merge),
	    cmocka_unit_test(exact_member_wins_over_path),
	    cmocka_unit_test(entra_roles_and_wids_merge),
	    cmocka_unit_test(entra_group_overage),
	    cmocka_unit_test(auth0_namespaced_claims),
	    cmocka_unit_test(defaults_unchanged),
	    cmocka_unit_test(config_refuses_bad_claim_lists),
	    cmocka_unit_test(path_compile_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
