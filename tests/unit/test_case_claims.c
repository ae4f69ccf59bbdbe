/* test_case_claims.c - pdp test cases' and explain's claims, mapped as the daemon maps tokens */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/case_claims.h"
#include "identity/token.h"
#include "keytool.h"
#include "policy/cases.h"
#include "service/config.h"
#include "testlib.h"

#define ENTRA "https://login.microsoftonline.com/tid/v2.0"
#define KC    "https://kc.example.com/realms/corp"
#define AUD   "api://apps"
#define NOW   1800000000

/* Configs as printf formats (hmac_secret_file's path goes in each %s). */
#define ENTRA_ISSUER                                                                               \
	"  - issuer: " ENTRA "\n"                                                                  \
	"    audiences: [" AUD "]\n"                                                               \
	"    hmac_secret_file: %s\n"                                                               \
	"    claims: { user: oid, roles: [roles, wids] }\n"
#define KC_ISSUER                                                                                  \
	"  - issuer: " KC "\n"                                                                     \
	"    audiences: [" AUD "]\n"                                                               \
	"    hmac_secret_file: %s\n"                                                               \
	"    claims: { user: preferred_username, roles: [realm_access.roles, "                     \
	"https://kc.example.com/roles] }\n"                                                        \
	"    on_groups_overage: ignore\n"

/* A config of two issuers (Entra- and Keycloak-shaped), or of the Entra one only. */
static struct config *
load_config(bool two)
{
	const char *secret =
	    test_write_file("secret", "xSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS\n");
	char text[2048], err[512];
	struct config *cfg;

	if (two)
		snprintf(text, sizeof(text), "issuers:\n" ENTRA_ISSUER KC_ISSUER, secret, secret);
	else
		snprintf(text, sizeof(text), "issuers:\n" ENTRA_ISSUER, secret);
	cfg = config_load(test_write_file("pdp.yaml", text), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	return cfg;
}

/* The cases of yaml mapped by cfg's issuers (NULL: the default mapping); err on failure. */
static struct policy_cases *
load_cases(const struct config *cfg, const char *yaml, char *err, size_t errsz)
{
	struct case_claims *cc = case_claims_new(cfg, err, errsz);
	struct policy_claims_map map = {case_claims_map, cc};
	struct policy_cases *pc;

	assert_non_null(cc);
	pc = policy_cases_load_buffer("c.yaml", yaml, NOW, &map, err, errsz);
	case_claims_free(cc);
	return pc;
}

/* One case of the request to h with these claims (a flow or block mapping's text). */
static struct policy_cases *
one_case(const struct config *cfg, const char *claims, char *err, size_t errsz)
{
	char yaml[2048];

	snprintf(yaml, sizeof(yaml),
	         "cases:\n  - name: x\n    request: { host: h }\n    expect: allow\n"
	         "    claims: %s\n",
	         claims);
	return load_cases(cfg, yaml, err, errsz);
}

/* The items of l joined by commas, in buf. */
static const char *
joined(const struct strlist *l, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "," : "", l->items[i]);
	return buf;
}

static void
default_mapping_as_before(void **state)
{
	char err[512];
	struct policy_cases *pc;
	const struct subject *s;
	char buf[256];

	(void)state;
	pc = one_case(NULL,
	              "{ sub: alice, groups: [admins, staff], amr: [pwd, hwk], acr: \"1\", "
	              "auth_time: -60, deviceid: d1, azp: app }",
	              err, sizeof(err));
	if (pc == NULL)
		fail_msg("%s", err);
	s = &pc->cases[0].subject;
	assert_string_equal(s->user, "alice");
	assert_string_equal(joined(&s->groups, buf, sizeof(buf)), "admins,staff");
	assert_int_equal(s->roles.n, 0);
	assert_int_equal(s->amr.n, 2);
	assert_string_equal(s->acr, "1");
	assert_string_equal(s->device_id, "d1");
	assert_string_equal(s->client_id, "app");
	assert_int_equal(s->auth_time, NOW - 60);
	assert_int_equal(s->iat, NOW); /* iat defaults to now */
	assert_int_equal(s->absent, SUBJECT_ABSENT_ROLES | SUBJECT_ABSENT_SIGN_IN_RISK);
	policy_cases_free(pc);

	/* A misspelt claim is an error at its key, naming what the mapping reads. */
	assert_null(one_case(NULL, "{ sub: a, group: [x] }", err, sizeof(err)));
	assert_string_equal(err, "c.yaml:5:23: unknown key \"group\" (the default claims mapping "
	                         "reads sub, groups, roles, deviceid, signin_risk, amr, acr)");
	/* A wrong type names the claim, at its key. */
	assert_null(one_case(NULL, "{ sub: a, roles: admin }", err, sizeof(err)));
	assert_string_equal(err, "c.yaml:5:23: claim \"roles\" must be an array of strings");
	/* YAML's core schema: a plain 42 is a number, as in a token; quoted, a string. */
	assert_null(one_case(NULL, "{ sub: 42 }", err, sizeof(err)));
	assert_string_equal(err, "c.yaml:5:15: claim \"sub\" must be a non-empty string");
	pc = one_case(NULL, "{ sub: \"42\" }", err, sizeof(err));
	assert_non_null(pc);
	assert_string_equal(pc->cases[0].subject.user, "42");
	policy_cases_free(pc);
	/* No claims: the mapping's user claim is missing, at the case. */
	assert_null(load_cases(NULL,
	                       "cases:\n  - { name: x, request: { host: h }, expect: deny }\n", err,
	                       sizeof(err)));
	assert_string_equal(err, "c.yaml:2:5: claim \"sub\" must be a non-empty string");
	assert_null(one_case(NULL, "{ sub: a, iat: soon }", err, sizeof(err)));
	assert_string_equal(err, "c.yaml:5:28: expected a time: seconds since 1970, or negative "
	                         "seconds ago");
	assert_null(one_case(NULL, "{ sub: a, sub: b }", err, sizeof(err)));
	assert_non_null(strstr(err, "c.yaml:5:"));
}

static void
issuer_chosen_by_iss(void **state)
{
	struct config *cfg = load_config(true);
	char err[512];
	struct policy_cases *pc;
	char buf[256];

	(void)state;
	pc = one_case(cfg,
	              "{ iss: \"" ENTRA "\", oid: o-1, roles: [Reader], wids: [Admin], "
	              "tid: t }",
	              err, sizeof(err));
	assert_null(pc); /* tid: no claim the Entra mapping reads */
	assert_string_equal(
	    err, "c.yaml:5:108: unknown key \"tid\" (the claims mapping of issuer \"" ENTRA
	         "\" reads oid, groups, roles, wids, deviceid, signin_risk, amr, "
	         "acr)");
	pc = one_case(cfg, "{ iss: \"" ENTRA "\", oid: o-1, roles: [Reader], wids: [Admin] }", err,
	              sizeof(err));
	if (pc == NULL)
		fail_msg("%s", err);
	assert_string_equal(pc->cases[0].subject.user, "o-1");
	assert_string_equal(pc->cases[0].subject.issuer, ENTRA);
	assert_string_equal(joined(&pc->cases[0].subject.roles, buf, sizeof(buf)), "Reader,Admin");
	policy_cases_free(pc);

	/* Keycloak: a nested path and a URL-named claim merge. */
	pc = one_case(cfg,
	              "{ iss: \"" KC
	              "\", preferred_username: kim, realm_access: { roles: [admin] }, "
	              "\"https://kc.example.com/roles\": [auditor] }",
	              err, sizeof(err));
	if (pc == NULL)
		fail_msg("%s", err);
	assert_string_equal(pc->cases[0].subject.user, "kim");
	assert_string_equal(joined(&pc->cases[0].subject.roles, buf, sizeof(buf)), "admin,auditor");
	policy_cases_free(pc);

	/* Two issuers and no iss (or an unknown one): the default mapping. */
	assert_null(one_case(cfg, "{ oid: o-1 }", err, sizeof(err)));
	assert_non_null(strstr(err, "unknown key \"oid\" (the default claims mapping"));
	pc = one_case(cfg, "{ iss: https://other.example.com/, sub: s-1 }", err, sizeof(err));
	if (pc == NULL)
		fail_msg("%s", err);
	assert_string_equal(pc->cases[0].subject.user, "s-1");
	policy_cases_free(pc);
	config_free(cfg);

	/* One issuer: its mapping, iss or not. */
	cfg = load_config(false);
	pc = one_case(cfg, "{ oid: o-2, wids: [Admin] }", err, sizeof(err));
	if (pc == NULL)
		fail_msg("%s", err);
	assert_string_equal(pc->cases[0].subject.user, "o-2");
	assert_int_equal(pc->cases[0].subject.roles.n, 1);
	policy_cases_free(pc);
	config_free(cfg);
}

static void
group_overage_as_configured(void **state)
{
	struct config *cfg = load_config(true);
	char err[512];
	struct policy_cases *pc;

	(void)state;
	/* Entra denies (the default): _claim_names.groups, or hasgroups. */
	pc = one_case(cfg,
	              "{ iss: \"" ENTRA
	              "\", oid: o, _claim_names: { groups: src1 }, _claim_sources: "
	              "{ src1: { endpoint: \"https://graph.microsoft.com/x\" } } }",
	              err, sizeof(err));
	if (pc == NULL)
		fail_msg("%s", err);
	assert_true(pc->cases[0].subject.groups_overage);
	policy_cases_free(pc);
	pc = one_case(cfg, "{ iss: \"" ENTRA "\", oid: o, hasgroups: true }", err, sizeof(err));
	assert_non_null(pc);
	assert_true(pc->cases[0].subject.groups_overage);
	policy_cases_free(pc);
	/* Groups present: no overage. */
	pc = one_case(cfg, "{ iss: \"" ENTRA "\", oid: o, hasgroups: true, groups: [g] }", err,
	              sizeof(err));
	assert_non_null(pc);
	assert_false(pc->cases[0].subject.groups_overage);
	policy_cases_free(pc);
	/* Keycloak's issuer ignores it. */
	pc = one_case(cfg, "{ iss: \"" KC "\", preferred_username: k, hasgroups: true }", err,
	              sizeof(err));
	assert_non_null(pc);
	assert_false(pc->cases[0].subject.groups_overage);
	policy_cases_free(pc);
	config_free(cfg);
}

/* The claims a token carries and the same claims in a case make the same subject. */
static void
same_subject_as_a_token(void **state)
{
	struct config *cfg = load_config(true);
	struct token_verifier *v;
	unsigned char secret[48];
	char err[512], body[1024], a[256], b[256], *tok;
	struct subject *from_token = NULL;
	struct policy_cases *pc;
	const struct subject *from_case;

	(void)state;
	memset(secret, 'S', sizeof(secret));
	secret[0] = 'x';
	v = config_token_verifier(cfg, 0, err, sizeof(err));
	if (v == NULL)
		fail_msg("%s", err);
	snprintf(body, sizeof(body),
	         "{\"iss\":\"" KC "\",\"aud\":\"" AUD "\",\"iat\":%d,\"exp\":%d,"
	         "\"preferred_username\":\"kim\",\"realm_access\":{\"roles\":[\"a\",\"b\"]},"
	         "\"amr\":[\"pwd\"]}",
	         NOW - 10, NOW + 600);
	tok = keytool_mint("HS256", secret, sizeof(secret), NULL, body);
	assert_non_null(tok);
	assert_int_equal(token_verify(v, 0, tok, strlen(tok), NOW, &from_token, NULL, 0), TOKEN_OK);
	pc = one_case(cfg, body, err, sizeof(err));
	if (pc == NULL)
		fail_msg("%s", err);
	from_case = &pc->cases[0].subject;
	assert_string_equal(from_case->user, from_token->user);
	assert_string_equal(from_case->issuer, from_token->issuer);
	assert_string_equal(joined(&from_case->roles, a, sizeof(a)),
	                    joined(&from_token->roles, b, sizeof(b)));
	assert_string_equal(a, "a,b");
	assert_int_equal(from_case->amr.n, 1);
	assert_int_equal(from_case->absent, from_token->absent);
	assert_int_equal(from_case->groups_overage, from_token->groups_overage);
	policy_cases_free(pc);
	free(from_token);
	free(tok);
	token_verifier_free(v);
	config_free(cfg);
}

static void
explain_claims_mapped(void **state)
{
	struct config *cfg = load_config(true);
	struct case_claims *cc;
	struct policy_claims_map map;
	struct policy_explain x = {.host = "h"};
	struct policy_cases *pc;
	char err[512];

	(void)state;
	cc = case_claims_new(cfg, err, sizeof(err));
	assert_non_null(cc);
	map = (struct policy_claims_map){case_claims_map, cc};
	x.map = &map;
	x.claims = "{\"iss\": \"" ENTRA "\", \"oid\": \"o-9\", \"wids\": [\"Admin\"]}";
	pc = policy_case_explain(&x, NOW, err, sizeof(err));
	if (pc == NULL)
		fail_msg("%s", err);
	assert_string_equal(pc->cases[0].subject.user, "o-9");
	assert_string_equal(pc->cases[0].subject.roles.items[0], "Admin");
	assert_int_equal(pc->cases[0].subject.absent & SUBJECT_ABSENT_ROLES, 0);
	policy_cases_free(pc);
	/* Errors name the option and the place in its value. */
	x.claims = "{\"iss\": \"" ENTRA "\", \"sub\": \"s\"}";
	assert_null(policy_case_explain(&x, NOW, err, sizeof(err)));
	assert_string_equal(err, "--claims:1:1: claim \"oid\" must be a non-empty string");
	/* A later error (the device record) frees the mapped subject. */
	x.claims = "{\"iss\": \"" ENTRA "\", \"oid\": \"o\"}";
	x.device = "{compliant: maybe}";
	assert_null(policy_case_explain(&x, NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "--device:1:"));
	case_claims_free(cc);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(default_mapping_as_before),
	    cmocka_unit_test(issuer_chosen_by_iss),
	    cmocka_unit_test(group_overage_as_configured),
	    cmocka_unit_test(same_subject_as_a_token),
	    cmocka_unit_test(explain_claims_mapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
