/* test_coverage.c - the coverage checklist's parser, each check kind met and missed, the stages */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/case_claims.h"
#include "evidence/checklist.h"
#include "evidence/coverage.h"
#include "policy/cases.h"
#include "policy/load.h"
#include "testlib.h"

#define NOW 1800000000

/* The head of every checklist below: sources and two app classes. */
#define HEAD                                                                                       \
	"checklist: { id: t, title: Test, version: 2 }\n"                                          \
	"sources:\n"                                                                               \
	"  - { id: s1, title: Source one, url: 'https://example.com/1' }\n"                        \
	"app_classes:\n"                                                                           \
	"  - { id: privileged, apps: ['*admin*'] }\n"                                              \
	"  - { id: sensitive, description: data, apps: ['*admin*', hr] }\n"                        \
	"controls:\n"

#define CONTROL(id, pillar, stage, check)                                                          \
	"  - id: " id "\n"                                                                         \
	"    title: T " id "\n"                                                                    \
	"    pillar: " pillar "\n"                                                                 \
	"    function: F\n"                                                                        \
	"    stage: " stage "\n"                                                                   \
	"    sources: [s1]\n"                                                                      \
	"    rationale: R\n"                                                                       \
	"    check: " check "\n"

/* The apps, locations and strengths every policy set below shares. */
static const char base_yaml[] =
    "apps:\n"
    "  - { id: admin-portal, hosts: [admin.example.com] }\n"
    "  - { id: hr, hosts: [hr.example.com] }\n"
    "  - { id: wiki, hosts: [wiki.example.com] }\n"
    "locations:\n"
    "  - { id: corp, ranges: [10.0.0.0/8], trusted: true }\n"
    "strengths:\n"
    "  - { id: phr, combinations: [[hwk], [sc]] }\n"
    "  - { id: weak, combinations: [[hwk], [pwd, otp]] }\n"
    "  - { id: phr-acr, combinations: [[hwk], [sc]], acr: [urn:x:phr] }\n";

static struct checklist *
load_checklist(const char *text)
{
	char err[512];
	struct checklist *cl =
	    checklist_load_buffer("t.yaml", text, strlen(text), err, sizeof(err));

	if (cl == NULL)
		fail_msg("checklist: %s", err);
	return cl;
}

static struct policy_set *
load_set(const char *policies)
{
	const char *names[] = {"00-base.yaml", "10-policies.yaml"};
	const char *bufs[] = {base_yaml, policies};
	char err[512];
	struct policy_set *set = policy_set_load_buffers(names, bufs, 2, err, sizeof(err));

	if (set == NULL)
		fail_msg("policies: %s", err);
	return set;
}

/* A config with a redis store that publishes events, deny on store errors, a log file. */
static const struct coverage_config full_config = {
    "pdp.yaml", "/var/log/pdp/decisions.jsonl", "redis", true, true, true,
};

/*
 * The status of the one control of check (a flow mapping) on the policies,
 * with cfg (NULL: none given) and the cases (NULL: none); its evidence and
 * advice into ev and raise when given.
 */
static enum check_status
assess(const char *check, const char *policies, const struct coverage_config *cfg,
       const char *cases_yaml, char *ev, char *raise)
{
	static const struct coverage_config none = {NULL, NULL, "none", false, false, false};
	char text[4096], err[512];
	struct checklist *cl;
	struct policy_set *set = load_set(policies);
	struct policy_cases *cases = NULL;
	struct coverage_tests t;
	struct coverage_facts f;
	struct coverage *cov;
	enum check_status st;

	/* The second control names the break-glass accounts a policy may exclude. */
	snprintf(text, sizeof(text),
	         HEAD CONTROL("c1", "Identity", "initial", "%s") CONTROL(
	             "bg", "Governance", "initial", "{ kind: exclusion, accounts: [breakglass*] }"),
	         check);
	cl = load_checklist(text);
	if (cases_yaml != NULL) {
		struct case_claims *cc = case_claims_new(NULL, err, sizeof(err));
		struct policy_claims_map map = {case_claims_map, cc};

		assert_non_null(cc);
		cases =
		    policy_cases_load_buffer("cases.yaml", cases_yaml, NOW, &map, err, sizeof(err));
		if (cases == NULL)
			fail_msg("cases: %s", err);
		case_claims_free(cc);
	}
	assert_int_equal(coverage_tests_run(set, cases, "policies/tests", "no cases here", NOW,
	                                    cfg == NULL || !cfg->default_deny, &t),
	                 0);
	f = (struct coverage_facts){"policies", set, cfg != NULL ? cfg : &none, &t};
	cov = coverage_assess(cl, &f);
	assert_non_null(cov);
	st = cov->results[0].result.status;
	if (ev != NULL)
		strcpy(ev, cov->results[0].result.evidence);
	if (raise != NULL)
		strcpy(raise, cov->results[0].result.raise);
	coverage_free(cov);
	coverage_tests_free(&t);
	policy_cases_free(cases);
	policy_set_free(set);
	checklist_free(cl);
	return st;
}

#define POLICY(id, extra)                                                                          \
	"  - id: " id "\n"                                                                         \
	"    users: { include: all, exclude: { users: [breakglass@example.com] } }\n" extra

/* --- the checklist ----------------------------------------------------------------- */

static void
builtin_checklist_loads(void **state)
{
	char err[512];
	struct checklist *cl = checklist_load(NULL, err, sizeof(err));
	bool seen[PILLAR_COUNT] = {false};
	const char *kinds[] = {"require_grant", "session_bound",     "network_independent",
	                       "context_store", "decision_log",      "default_decision",
	                       "test_coverage", "report_only_trial", "exclusion"};

	(void)state;
	if (cl == NULL)
		fail_msg("%s", err);
	assert_string_equal(cl->id, "pdp-ztmm-v2");
	assert_true(cl->n_controls >= 13);
	assert_true(cl->n_sources >= 2);
	assert_string_equal(cl->sources[0].id, "ztmm-v2");
	for (size_t i = 0; i < cl->n_controls; i++) {
		assert_non_null(cl->controls[i].check.kind);
		assert_true(cl->controls[i].stage > STAGE_TRADITIONAL);
		seen[cl->controls[i].pillar] = true;
	}
	/* Every kind is used by a built-in control. */
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		bool used = false;

		for (size_t i = 0; i < cl->n_controls; i++)
			used = used || strcmp(cl->controls[i].check.kind->name, kinds[k]) == 0;
		assert_true(used);
	}
	assert_true(seen[PILLAR_IDENTITY] && seen[PILLAR_DEVICES] && seen[PILLAR_NETWORKS] &&
	            seen[PILLAR_APPLICATIONS] && seen[PILLAR_GOVERNANCE] &&
	            seen[PILLAR_VISIBILITY] && seen[PILLAR_AUTOMATION]);
	checklist_free(cl);
}

static void
checklist_good_file(void **state)
{
	struct checklist *cl = load_checklist(
	    HEAD CONTROL("c1", "Devices", "advanced",
	                 "{ kind: require_grant, grant: [compliant_device], apps: sensitive }")
	        CONTROL("c2", "Governance", "initial",
	                "{ kind: exclusion, accounts: ['bg*'], scope: enforced }"));

	(void)state;
	assert_int_equal(cl->version, 2);
	assert_int_equal(cl->n_classes, 2);
	assert_string_equal(cl->classes[1].patterns[1], "hr");
	assert_int_equal(cl->n_controls, 2);
	assert_int_equal(cl->controls[0].pillar, PILLAR_DEVICES);
	assert_int_equal(cl->controls[0].stage, STAGE_ADVANCED);
	assert_ptr_equal(cl->controls[0].check.app_class, &cl->classes[1]);
	assert_int_equal(cl->controls[0].check.grant, 1u << GRANT_COMPLIANT_DEVICE);
	assert_int_equal(cl->controls[1].check.scope, SCOPE_ENFORCED);
	assert_string_equal(cl->controls[1].check.accounts[0], "bg*");
	checklist_free(cl);
}

static void
checklist_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"", "t.yaml:1:1: "},
	    {HEAD CONTROL("c1", "Identity", "initial", "{ kind: decision_log }") "extra: 1\n",
	     "t.yaml:16:1: unknown key \"extra\""},
	    {"checklist: { id: t, title: T, version: 1 }\nsources: []\napp_classes: []\n",
	     "t.yaml:1:1: a checklist needs \"controls\""},
	    {HEAD CONTROL("c1", "Identity", "initial", "{ kind: decision_log }")
	         CONTROL("c1", "Identity", "initial", "{ kind: decision_log }"),
	     "t.yaml:16:9: duplicate control id \"c1\""},
	    {HEAD CONTROL("c1", "Identiy", "initial", "{ kind: decision_log }"),
	     "t.yaml:10:13: pillar is"},
	    {HEAD CONTROL("c1", "Identity", "traditional", "{ kind: decision_log }"),
	     "t.yaml:12:12: a control evidences initial, advanced or optimal"},
	    {HEAD CONTROL("c1", "Identity", "initial", "{ kind: magic }"),
	     "t.yaml:15:20: unknown check kind \"magic\""},
	    {HEAD CONTROL("c1", "Identity", "initial", "{ grant: [mfa] }"),
	     "t.yaml:15:12: a check needs \"kind\""},
	    {HEAD CONTROL("c1", "Identity", "initial", "{ kind: decision_log, grant: [mfa] }"),
	     "t.yaml:15:34: unknown key \"grant\" for check kind decision_log (expected to_file)"},
	    {HEAD CONTROL("c1", "Identity", "initial", "{ kind: require_grant, apps: all }"),
	     "t.yaml:15:12: require_grant needs \"grant\""},
	    {HEAD CONTROL("c1", "Identity", "initial", "{ kind: require_grant, grant: [mfe] }"),
	     "t.yaml:15:42: unknown grant \"mfe\""},
	    {HEAD CONTROL("c1", "Identity", "initial",
	                  "{ kind: require_grant, grant: [mfa], apps: secret }"),
	     "t.yaml:15:55: no app class has id \"secret\""},
	    {HEAD
	     "  - id: c1\n    title: T\n    pillar: Data\n    function: F\n    stage: optimal\n"
	     "    sources: [s2]\n    rationale: R\n    check: { kind: decision_log }\n",
	     "t.yaml:13:14: no source has id \"s2\""},
	    {HEAD
	     "  - id: c1\n    title: T\n    pillar: Data\n    function: F\n    stage: optimal\n"
	     "    check: { kind: decision_log }\n",
	     "t.yaml:8:5: control needs \"rationale\""},
	    {HEAD CONTROL("c1", "Identity", "initial", "{ kind: session_bound, max: 1x }"),
	     "t.yaml:15:40: "},
	};
	char err[512];
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct checklist *cl = checklist_load_buffer("t.yaml", bad[i].text,
		                                             strlen(bad[i].text), err, sizeof(err));

		if (cl != NULL || strstr(err, bad[i].want) != err) {
			print_error("case %zu: wanted \"%s...\", got \"%s\"\n", i, bad[i].want,
			            cl != NULL ? "(loaded)" : err);
			failures++;
		}
		checklist_free(cl);
	}
	assert_int_equal(failures, 0);
}

/* --- each kind, met and missed ----------------------------------------------------------- */

static void
require_grant_strength(void **state)
{
	const char *check = "{ kind: require_grant, grant: [authentication_strength], "
	                    "strength_amr: [hwk, sc], apps: privileged }";
	char ev[CHECK_EVIDENCE_MAX], raise[CHECK_RAISE_MAX];

	(void)state;
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("strong", "    apps: { include: [admin-portal] }\n"
	                                          "    grant: { controls: [{ strength: "
	                                          "phr }] }\n"),
	           NULL, NULL, ev, NULL),
	    CHECK_MET);
	assert_string_equal(ev, "admin-portal: strong");
	/* A strength with a password-plus-code combination is not phishing-resistant. */
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("weak", "    apps: { include: [admin-portal] }\n"
	                                        "    grant: { controls: [{ strength: "
	                                        "weak }] }\n"),
	           NULL, NULL, ev, raise),
	    CHECK_NOT_MET);
	assert_string_equal(ev, "admin-portal: no policy meets it");
	assert_non_null(strstr(raise, "admin-portal"));
	/* require: one with a weaker alternative does not require it. */
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("either", "    apps: { include: all }\n"
	                                          "    grant: { require: one, controls: "
	                                          "[{ strength: phr }, mfa] }\n"),
	           NULL, NULL, NULL, NULL),
	    CHECK_NOT_MET);
	/* Only outside the corporate network, or only in report-only: partly. */
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("outside", "    apps: { include: [admin-portal] }\n"
	                                           "    conditions: { locations: { "
	                                           "include: [any], exclude: [trusted] "
	                                           "} }\n"
	                                           "    grant: { controls: [{ strength: "
	                                           "phr }] }\n"),
	           NULL, NULL, ev, NULL),
	    CHECK_PARTLY);
	assert_string_equal(ev, "admin-portal: outside (only under a locations condition)");
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("trial", "    state: report-only\n"
	                                         "    apps: { include: [admin-portal] }\n"
	                                         "    grant: { controls: [{ strength: "
	                                         "phr }] }\n"),
	           NULL, NULL, NULL, NULL),
	    CHECK_PARTLY);
}

static void
require_grant_risk(void **state)
{
	const char *check = "{ kind: require_grant, grant: [password_change, block], user_risk: "
	                    "[high], users: all, apps: all }";

	(void)state;
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("risk", "    apps: { include: all }\n"
	                                        "    conditions: { user_risk: [medium, "
	                                        "high] }\n"
	                                        "    grant: { controls: [mfa, "
	                                        "password_change] }\n"),
	           NULL, NULL, NULL, NULL),
	    CHECK_MET);
	/* The same grant without a user risk condition is not a risk policy. */
	assert_int_equal(assess(check,
	                        "policies:\n" POLICY("always", "    apps: { include: all }\n"
	                                                       "    grant: { controls: "
	                                                       "[password_change] }\n"),
	                        NULL, NULL, NULL, NULL),
	                 CHECK_NOT_MET);
	/* On medium risk only: high is not covered. */
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("medium", "    apps: { include: all }\n"
	                                          "    conditions: { user_risk: [medium] "
	                                          "}\n"
	                                          "    grant: block\n"),
	           NULL, NULL, NULL, NULL),
	    CHECK_NOT_MET);
	/* On a group only, when the check wants every user: partly. */
	assert_int_equal(
	    assess(check,
	           "policies:\n  - id: group\n    users: { include: { groups: [staff] } }\n"
	           "    apps: { include: all }\n    conditions: { user_risk: [high] }\n"
	           "    grant: block\n",
	           NULL, NULL, NULL, NULL),
	    CHECK_PARTLY);
}

static void
require_grant_device(void **state)
{
	const char *check = "{ kind: require_grant, grant: [compliant_device, "
	                    "hybrid_joined_device], apps: sensitive }";
	char ev[CHECK_EVIDENCE_MAX];

	(void)state;
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("dev", "    apps: { include: [admin-portal, hr] "
	                                       "}\n"
	                                       "    grant: { controls: "
	                                       "[compliant_device] }\n"),
	           NULL, NULL, NULL, NULL),
	    CHECK_MET);
	assert_int_equal(assess(check,
	                        "policies:\n" POLICY("dev", "    apps: { include: [hr] }\n"
	                                                    "    grant: { controls: "
	                                                    "[hybrid_joined_device] }\n"),
	                        NULL, NULL, ev, NULL),
	                 CHECK_PARTLY);
	assert_string_equal(ev, "admin-portal: no policy meets it\nhr: dev");
}

static void
session_bound_kind(void **state)
{
	const char *check = "{ kind: session_bound, max: 12h, apps: sensitive }";
	char ev[CHECK_EVIDENCE_MAX];

	(void)state;
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("sif", "    apps: { include: [admin-portal, hr] "
	                                       "}\n"
	                                       "    grant: { controls: [mfa] }\n"
	                                       "    session: { sign_in_frequency: 1h "
	                                       "}\n"),
	           NULL, NULL, NULL, NULL),
	    CHECK_MET);
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("long", "    apps: { include: [admin-portal, hr] "
	                                        "}\n"
	                                        "    grant: { controls: [mfa] }\n"
	                                        "    session: { sign_in_frequency: 1d "
	                                        "}\n"),
	           NULL, NULL, ev, NULL),
	    CHECK_PARTLY);
	assert_non_null(strstr(ev, "sign-in frequency 86400s, longer than 43200s"));
	assert_int_equal(assess(check,
	                        "policies:\n" POLICY("none", "    apps: { include: all }\n"
	                                                     "    grant: { controls: [mfa] }\n"),
	                        NULL, NULL, NULL, NULL),
	                 CHECK_NOT_MET);
}

static void
network_independent_kind(void **state)
{
	const char *check = "{ kind: network_independent, apps: sensitive }";
	char ev[CHECK_EVIDENCE_MAX];

	(void)state;
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("everywhere", "    apps: { include: all }\n"
	                                              "    grant: { controls: [mfa] }\n"),
	           NULL, NULL, NULL, NULL),
	    CHECK_MET);
	assert_int_equal(assess(check,
	                        "policies:\n" POLICY("outside", "    apps: { include: all }\n"
	                                                        "    conditions: { locations: { "
	                                                        "include: [any], exclude: [corp] } "
	                                                        "}\n"
	                                                        "    grant: { controls: [mfa] }\n"),
	                        NULL, NULL, ev, NULL),
	                 CHECK_PARTLY);
	assert_string_equal(ev, "admin-portal: outside (not on the networks it excludes)\n"
	                        "hr: outside (not on the networks it excludes)");
	/* A block on some networks protects nothing on the others. */
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY("geo", "    apps: { include: all }\n"
	                                       "    conditions: { locations: { include: "
	                                       "[any], exclude: [corp] } }\n"
	                                       "    grant: block\n"),
	           NULL, NULL, NULL, NULL),
	    CHECK_NOT_MET);
}

/* --- who a policy applies to, a strength's acr, password_change -------------------------- */

/* A user-risk check's status on one block policy "p" whose users are users, its
 * evidence into ev. */
static enum check_status
risk_on(const char *users, char *ev)
{
	char policies[512];

	snprintf(policies, sizeof(policies),
	         "policies:\n  - id: p\n    users: %s\n    apps: { include: all }\n"
	         "    conditions: { user_risk: [high] }\n    grant: block\n",
	         users);
	return assess("{ kind: require_grant, grant: [block], user_risk: [high], users: all, "
	              "apps: all }",
	              policies, NULL, NULL, ev, NULL);
}

static void
users_exclusions(void **state)
{
	char ev[CHECK_EVIDENCE_MAX];

	(void)state;
	/* Excluding every user, the policy applies to nobody. */
	assert_int_equal(risk_on("{ include: all, exclude: all }", ev), CHECK_NOT_MET);
	assert_non_null(strstr(ev, "admin-portal: no policy meets it"));
	/* Excluding a group, or a user no break-glass pattern matches: partly, and says whom. */
	assert_int_equal(risk_on("{ include: all, exclude: { groups: [staff] } }", ev),
	                 CHECK_PARTLY);
	assert_non_null(strstr(ev, "admin-portal: p (excludes groups staff)\n"));
	assert_int_equal(risk_on("{ include: all, exclude: { users: [breakglass1, ann] } }", ev),
	                 CHECK_PARTLY);
	assert_non_null(strstr(ev, "admin-portal: p (excludes users breakglass1, ann)\n"));
	/* Excluding only break-glass accounts: met. */
	assert_int_equal(
	    risk_on("{ include: all, exclude: { users: [breakglass1, breakglass2] } }", ev),
	    CHECK_MET);
	assert_non_null(strstr(ev, "admin-portal: p\n"));
}

static void
users_named(void **state)
{
	const char *device = "{ kind: require_grant, grant: [compliant_device], users: all, "
	                     "apps: sensitive }";
	const char *strength = "{ kind: require_grant, grant: [authentication_strength], "
	                       "strength_amr: [hwk, sc], apps: privileged }";
	const char *session = "{ kind: session_bound, max: 12h, users: all, apps: sensitive }";
	const char *network = "{ kind: network_independent, users: all, apps: sensitive }";
	char ev[CHECK_EVIDENCE_MAX];

	(void)state;
	/* Where the check wants every user, one named user covers the apps partly. */
	assert_int_equal(assess(device,
	                        "policies:\n  - id: ann\n    users: { include: { users: [ann] } }\n"
	                        "    apps: { include: all }\n"
	                        "    grant: { controls: [compliant_device] }\n",
	                        NULL, NULL, ev, NULL),
	                 CHECK_PARTLY);
	assert_string_equal(ev,
	                    "admin-portal: ann (on users ann only)\nhr: ann (on users ann only)");
	assert_int_equal(
	    assess(session,
	           "policies:\n  - id: ops\n    users: { include: { groups: [ops] } }\n"
	           "    apps: { include: all }\n    session: { sign_in_frequency: 1h }\n"
	           "    grant: { controls: [mfa] }\n",
	           NULL, NULL, NULL, NULL),
	    CHECK_PARTLY);
	assert_int_equal(
	    assess(network,
	           "policies:\n  - id: ops\n    users: { include: { groups: [ops] } }\n"
	           "    apps: { include: all }\n    grant: { controls: [mfa] }\n",
	           NULL, NULL, NULL, NULL),
	    CHECK_PARTLY);
	assert_int_equal(assess(network,
	                        "policies:\n" POLICY("all", "    apps: { include: all }\n"
	                                                    "    grant: { controls: [mfa] }\n"),
	                        NULL, NULL, NULL, NULL),
	                 CHECK_MET);
	/* Privileged apps: a policy on the admin groups and roles counts, and says so; one on
	 * named users only does not cover the app. */
	assert_int_equal(assess(strength,
	                        "policies:\n  - id: admins\n    users: { include: { groups: "
	                        "[admins], roles: [Admin] } }\n"
	                        "    apps: { include: [admin-portal] }\n"
	                        "    grant: { controls: [{ strength: phr }] }\n",
	                        NULL, NULL, ev, NULL),
	                 CHECK_MET);
	assert_string_equal(ev, "admin-portal: admins (on groups admins and roles Admin only)");
	assert_int_equal(assess(strength,
	                        "policies:\n  - id: ann\n    users: { include: { users: [ann] } }\n"
	                        "    apps: { include: [admin-portal] }\n"
	                        "    grant: { controls: [{ strength: phr }] }\n",
	                        NULL, NULL, NULL, NULL),
	                 CHECK_PARTLY);
}

static void
strength_acr(void **state)
{
	const char *policy = "policies:\n" POLICY("acr", "    apps: { include: [admin-portal] }\n"
	                                                 "    grant: { controls: [{ strength: "
	                                                 "phr-acr }] }\n");
	char ev[CHECK_EVIDENCE_MAX], check[256];

	(void)state;
	/* A token whose acr is urn:x:phr meets the strength too: what that acr means the set
	 * does not say. */
	assert_int_equal(assess("{ kind: require_grant, grant: [authentication_strength], "
	                        "strength_amr: [hwk, sc], apps: privileged }",
	                        policy, NULL, NULL, ev, NULL),
	                 CHECK_PARTLY);
	assert_string_equal(ev, "admin-portal: acr (also met by acr urn:x:phr, which the PDP "
	                        "cannot judge)");
	/* Unless the checklist takes that acr as phishing-resistant. */
	snprintf(check, sizeof(check),
	         "{ kind: require_grant, grant: [authentication_strength], strength_amr: [hwk, "
	         "sc], strength_acr: [%s], apps: privileged }",
	         "urn:x:phr");
	assert_int_equal(assess(check, policy, NULL, NULL, NULL, NULL), CHECK_MET);
	/* Any strength is MFA, whatever its acr. */
	assert_int_equal(assess("{ kind: require_grant, grant: [mfa], apps: privileged }", policy,
	                        NULL, NULL, NULL, NULL),
	                 CHECK_MET);
}

static void
password_change_alone(void **state)
{
	const char *network = "{ kind: network_independent, apps: sensitive }";
	struct coverage_config allow = full_config;

	(void)state;
	allow.default_deny = false;
	/* A user at risk none or low meets password_change with nothing. */
	assert_int_equal(assess(network,
	                        "policies:\n" POLICY("pc", "    apps: { include: all }\n"
	                                                   "    grant: { controls: "
	                                                   "[password_change] }\n"),
	                        NULL, NULL, NULL, NULL),
	                 CHECK_NOT_MET);
	assert_int_equal(assess(network,
	                        "policies:\n" POLICY("pc", "    apps: { include: all }\n"
	                                                   "    grant: { require: all, controls: "
	                                                   "[mfa, password_change] }\n"),
	                        NULL, NULL, NULL, NULL),
	                 CHECK_MET);
	assert_int_equal(assess("{ kind: default_decision }",
	                        "policies:\n" POLICY("pc", "    apps: { include: all }\n"
	                                                   "    grant: { controls: "
	                                                   "[password_change] }\n"),
	                        &allow, NULL, NULL, NULL),
	                 CHECK_NOT_MET);
	/* Nor does a catch-all that excludes every user catch anyone. */
	assert_int_equal(
	    assess("{ kind: default_decision }",
	           "policies:\n  - id: none\n    users: { include: all, exclude: all }\n"
	           "    apps: { include: all }\n    grant: { controls: [mfa] }\n",
	           &allow, NULL, NULL, NULL),
	    CHECK_NOT_MET);
}

/* A checklist with one control on an empty set, written by write (which must succeed). */
static char *
written(const char *checklist, int (*write)(FILE *, const struct coverage *))
{
	struct checklist *cl = load_checklist(checklist);
	struct policy_set *set = load_set("policies: []\n");
	struct coverage_tests t;
	struct coverage_facts f;
	struct coverage *cov;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	assert_int_equal(coverage_tests_run(set, NULL, "d", "none", NOW, true, &t), 0);
	f = (struct coverage_facts){"p", set, &full_config, &t};
	cov = coverage_assess(cl, &f);
	assert_non_null(cov);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	assert_int_equal(write(out, cov), 0);
	fclose(out);
	coverage_free(cov);
	coverage_tests_free(&t);
	policy_set_free(set);
	checklist_free(cl);
	return buf;
}

/* Whether s is well-formed UTF-8. */
static bool
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		int n = *p < 0x80             ? 0
		        : (*p & 0xe0) == 0xc0 ? 1
		        : (*p & 0xf0) == 0xe0 ? 2
		        : (*p & 0xf8) == 0xf0 ? 3
		                              : -1;

		if (n < 0)
			return false;
		p++;
		for (; n > 0; n--, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

static void
long_text_cut_at_a_character(void **state)
{
	char text[8192], name[400] = "", groups[1200] = "", ev[CHECK_EVIDENCE_MAX];
	int (*const writers[])(FILE *, const struct coverage *) = {coverage_json, coverage_csv,
	                                                           coverage_markdown};

	(void)state;
	/* An app class id of 2-byte characters, longer than the scope it is cut to in the
	 * advice: every output holds whole characters and the cut. */
	for (int i = 0; i < 90; i++)
		strcat(name, "\xc3\xa9");
	snprintf(
	    text, sizeof(text),
	    "checklist: { id: t, title: Test, version: 1 }\n"
	    "sources: [{ id: s1, title: S, url: u }]\n"
	    "app_classes: [{ id: x%s, apps: ['*admin*'] }]\ncontrols:\n" CONTROL(
	        "c1", "Devices", "initial", "{ kind: require_grant, grant: [block], apps: x%s }"),
	    name, name);
	for (size_t w = 0; w < 3; w++) {
		char *buf = written(text, writers[w]);

		assert_true(utf8_ok(buf));
		assert_non_null(strstr(buf, "\xe2\x80\xa6"));
		free(buf);
	}
	/* Group names of 3-byte characters, more than a note holds. */
	for (int i = 0; i < 8; i++) {
		snprintf(groups + strlen(groups), sizeof(groups) - strlen(groups), "%sg%d",
		         i ? ", " : "", i);
		for (int j = 0; j < 40; j++)
			strcat(groups, "\xe2\x82\xac");
	}
	snprintf(text, sizeof(text),
	         "policies:\n  - id: many\n    users: { include: { groups: [%s] } }\n"
	         "    apps: { include: all }\n    grant: { controls: [compliant_device] }\n",
	         groups);
	assert_int_equal(assess("{ kind: require_grant, grant: [compliant_device], users: all, "
	                        "apps: sensitive }",
	                        text, NULL, NULL, ev, NULL),
	                 CHECK_PARTLY);
	assert_true(utf8_ok(ev));
	assert_non_null(strstr(ev, "\xe2\x80\xa6"));
}

static void
case_names_forge_nothing(void **state)
{
	char ev[CHECK_EVIDENCE_MAX];
	size_t lines = 0;

	(void)state;
	assert_int_equal(assess("{ kind: test_coverage }",
	                        "policies:\n" POLICY("mfa-all", "    apps: { include: all }\n"
	                                                        "    grant: { controls: [mfa] }\n"),
	                        NULL,
	                        "cases:\n"
	                        "  - name: \"a\\nmfa-all: 9 cases, e.g. forged\"\n"
	                        "    request: { host: wiki.example.com }\n"
	                        "    claims: { sub: a, amr: [pwd] }\n"
	                        "    expect: step-up\n",
	                        ev, NULL),
	                 CHECK_MET);
	for (const char *c = ev; *c != '\0'; c++)
		lines += *c == '\n';
	/* The cases as a whole, then the one policy: two items, the name on one line. */
	assert_int_equal(lines, 1);
	assert_non_null(strstr(ev, "e.g. \"a?mfa-all: 9 cases, e.g. forged\""));
}

static void
config_kinds(void **state)
{
	const char *empty = "policies: []\n";
	struct coverage_config file = full_config, stderr_log = full_config;
	struct coverage_config allow = full_config;
	char ev[CHECK_EVIDENCE_MAX];

	(void)state;
	file.store = "file";
	file.store_events = false;
	stderr_log.decision_log = "stderr";
	allow.store_error_deny = false;
	allow.default_deny = false;
	/* context_store */
	assert_int_equal(
	    assess("{ kind: context_store, events: true }", empty, &full_config, NULL, ev, NULL),
	    CHECK_MET);
	assert_string_equal(ev, "pdp.yaml: store.type: redis (publishes events)\n"
	                        "store.on_store_error: deny");
	assert_int_equal(
	    assess("{ kind: context_store, events: true }", empty, &file, NULL, NULL, NULL),
	    CHECK_PARTLY);
	assert_int_equal(
	    assess("{ kind: context_store, events: false }", empty, &file, NULL, NULL, NULL),
	    CHECK_MET);
	assert_int_equal(
	    assess("{ kind: context_store, events: false }", empty, &allow, NULL, NULL, NULL),
	    CHECK_PARTLY);
	assert_int_equal(assess("{ kind: context_store, events: false, on_store_error: any }",
	                        empty, &allow, NULL, NULL, NULL),
	                 CHECK_MET);
	assert_int_equal(assess("{ kind: context_store }", empty, NULL, NULL, NULL, NULL),
	                 CHECK_NOT_MET);
	/* decision_log */
	assert_int_equal(assess("{ kind: decision_log }", empty, &full_config, NULL, NULL, NULL),
	                 CHECK_MET);
	assert_int_equal(assess("{ kind: decision_log }", empty, &stderr_log, NULL, NULL, NULL),
	                 CHECK_PARTLY);
	assert_int_equal(
	    assess("{ kind: decision_log, to_file: false }", empty, &stderr_log, NULL, NULL, NULL),
	    CHECK_MET);
	assert_int_equal(assess("{ kind: decision_log }", empty, NULL, NULL, NULL, NULL),
	                 CHECK_NOT_MET);
	/* default_decision: deny; allow with a catch-all policy is partly */
	assert_int_equal(
	    assess("{ kind: default_decision }", empty, &full_config, NULL, NULL, NULL), CHECK_MET);
	assert_int_equal(assess("{ kind: default_decision }", empty, &allow, NULL, NULL, NULL),
	                 CHECK_NOT_MET);
	assert_int_equal(assess("{ kind: default_decision }",
	                        "policies:\n" POLICY("all", "    apps: { include: all }\n"
	                                                    "    grant: { controls: [mfa] }\n"),
	                        &allow, NULL, NULL, NULL),
	                 CHECK_PARTLY);
	assert_int_equal(
	    assess("{ kind: default_decision, value: allow }", empty, &allow, NULL, NULL, NULL),
	    CHECK_MET);
}

static const char two_policies[] =
    "policies:\n" POLICY("mfa-all", "    apps: { include: all }\n"
                                    "    grant: { controls: [mfa] }\n")
        POLICY("hr-trial", "    state: "
                           "report-only\n"
                           "    apps: { "
                           "include: [hr] "
                           "}\n"
                           "    grant: { "
                           "controls: "
                           "[compliant_"
                           "device] }\n");

#define CASE_MFA                                                                                   \
	"  - name: mfa is asked for\n"                                                             \
	"    request: { host: wiki.example.com }\n"                                                \
	"    claims: { sub: a, amr: [pwd] }\n"                                                     \
	"    expect: step-up\n"
#define CASE_HR                                                                                    \
	"  - name: hr trial\n"                                                                     \
	"    request: { host: hr.example.com }\n"                                                  \
	"    claims: { sub: a, amr: [pwd, otp] }\n"                                                \
	"    expect: allow\n"
#define CASE_WRONG                                                                                 \
	"  - name: wrongly expected\n"                                                             \
	"    request: { host: wiki.example.com }\n"                                                \
	"    claims: { sub: a, amr: [pwd] }\n"                                                     \
	"    expect: allow\n"

static void
test_kinds(void **state)
{
	char ev[CHECK_EVIDENCE_MAX], raise[CHECK_RAISE_MAX];

	(void)state;
	/* test_coverage */
	assert_int_equal(assess("{ kind: test_coverage }", two_policies, NULL,
	                        "cases:\n" CASE_MFA CASE_HR, ev, NULL),
	                 CHECK_MET);
	assert_string_equal(ev, "2 cases in policies/tests, 2 passed\n"
	                        "mfa-all: 2 cases, e.g. \"mfa is asked for\"");
	assert_int_equal(assess("{ kind: test_coverage, report_only: true }", two_policies, NULL,
	                        "cases:\n" CASE_MFA, NULL, raise),
	                 CHECK_PARTLY);
	assert_string_equal(raise, "add passing cases that apply: hr-trial");
	assert_int_equal(assess("{ kind: test_coverage }", two_policies, NULL,
	                        "cases:\n" CASE_MFA CASE_WRONG, ev, NULL),
	                 CHECK_PARTLY);
	assert_non_null(strstr(ev, "failing: \"wrongly expected\""));
	assert_int_equal(assess("{ kind: test_coverage }", two_policies, NULL, NULL, ev, NULL),
	                 CHECK_NOT_MET);
	assert_string_equal(ev, "test cases not read: no cases here\n"
	                        "mfa-all: no passing case applies it");
	/* report_only_trial */
	assert_int_equal(assess("{ kind: report_only_trial }", two_policies, NULL,
	                        "cases:\n" CASE_HR, NULL, NULL),
	                 CHECK_MET);
	assert_int_equal(assess("{ kind: report_only_trial }", two_policies, NULL,
	                        "cases:\n" CASE_MFA, NULL, NULL),
	                 CHECK_PARTLY);
	assert_int_equal(assess("{ kind: report_only_trial }",
	                        "policies:\n" POLICY("x", "    apps: { include: all }\n"
	                                                  "    grant: block\n"),
	                        NULL, NULL, NULL, NULL),
	                 CHECK_NOT_MET);
}

static void
exclusion_kind(void **state)
{
	const char *check = "{ kind: exclusion, accounts: ['breakglass*'] }";
	char ev[CHECK_EVIDENCE_MAX];

	(void)state;
	assert_int_equal(assess(check,
	                        "policies:\n" POLICY("b1", "    apps: { include: all }\n"
	                                                   "    grant: block\n")
	                            POLICY("b2", "    apps: { "
	                                         "include: "
	                                         "[hr] }\n"
	                                         "    grant: "
	                                         "block\n"),
	                        NULL, NULL, ev, NULL),
	                 CHECK_MET);
	assert_string_equal(ev, "breakglass@example.com is excluded from 2 of 2 enforced block "
	                        "policies\nb1: excluded\nb2: excluded");
	assert_int_equal(
	    assess(check,
	           "policies:\n" POLICY(
	               "b1",
	               "    apps: { include: all }\n"
	               "    grant: block\n") "  - id: b2\n    users: { include: all }\n"
	                                     "    apps: { include: [hr] }\n    grant: block\n",
	           NULL, NULL, NULL, NULL),
	    CHECK_PARTLY);
	assert_int_equal(
	    assess(check,
	           "policies:\n  - id: b2\n    users: { include: all, exclude: { users: "
	           "[someone] } }\n    apps: { include: [hr] }\n    grant: block\n",
	           NULL, NULL, NULL, NULL),
	    CHECK_NOT_MET);
	/* Nothing blocks: nothing to be locked out of. */
	assert_int_equal(assess(check,
	                        "policies:\n  - id: m\n    users: { include: all }\n"
	                        "    apps: { include: all }\n    grant: { controls: [mfa] }\n",
	                        NULL, NULL, NULL, NULL),
	                 CHECK_MET);
	assert_int_equal(assess("{ kind: exclusion, accounts: ['breakglass*'], scope: enforced }",
	                        "policies:\n  - id: m\n    users: { include: all }\n"
	                        "    apps: { include: all }\n    grant: { controls: [mfa] }\n",
	                        NULL, NULL, NULL, NULL),
	                 CHECK_NOT_MET);
}

/* --- stages ------------------------------------------------------------------------------- */

static void
stages_roll_up(void **state)
{
	/* Identity: initial met, advanced not met; Visibility: initial met; Devices: advanced met,
	 * with no initial control. */
	struct checklist *cl = load_checklist(
	    HEAD CONTROL("log", "Visibility and Analytics", "initial", "{ kind: decision_log }")
	        CONTROL("store", "Identity", "initial", "{ kind: context_store, events: false }")
	            CONTROL("deny", "Identity", "advanced", "{ kind: default_decision }") CONTROL(
	                "events", "Devices", "advanced", "{ kind: context_store, events: true }"));
	struct coverage_config cfg = full_config;
	struct policy_set *set = load_set("policies: []\n");
	struct coverage_tests t;
	struct coverage_facts f;
	struct coverage *cov;

	(void)state;
	cfg.default_deny = false;
	assert_int_equal(coverage_tests_run(set, NULL, "d", "none", NOW, true, &t), 0);
	f = (struct coverage_facts){"p", set, &cfg, &t};
	cov = coverage_assess(cl, &f);
	assert_non_null(cov);
	assert_int_equal(cov->pillars[PILLAR_IDENTITY].stage, STAGE_INITIAL);
	assert_int_equal(cov->pillars[PILLAR_IDENTITY].next, STAGE_ADVANCED);
	assert_int_equal(cov->pillars[PILLAR_VISIBILITY].stage, STAGE_INITIAL);
	assert_int_equal(cov->pillars[PILLAR_VISIBILITY].next, -1);
	assert_int_equal(cov->pillars[PILLAR_DEVICES].stage, STAGE_ADVANCED);
	assert_int_equal(cov->pillars[PILLAR_DATA].n_controls, 0);
	assert_int_equal(cov->stage, STAGE_INITIAL);
	assert_true(coverage_needed(cov, 2, STAGE_ADVANCED));
	assert_false(coverage_needed(cov, 2, STAGE_INITIAL));
	coverage_free(cov);
	/* With default_decision deny, every control is met: the highest stage any evidences. */
	cfg.default_deny = true;
	cov = coverage_assess(cl, &f);
	assert_int_equal(cov->stage, STAGE_ADVANCED);
	coverage_free(cov);
	/* Nothing met: traditional. */
	cfg = (struct coverage_config){NULL, NULL, "none", false, false, false};
	cov = coverage_assess(cl, &f);
	assert_int_equal(cov->stage, STAGE_TRADITIONAL);
	assert_int_equal(cov->pillars[PILLAR_IDENTITY].next, STAGE_INITIAL);
	coverage_free(cov);
	coverage_tests_free(&t);
	policy_set_free(set);
	checklist_free(cl);
}

/* CSV is RFC 4180 whatever a checklist holds, and a formula stays text; Markdown cells stay
 * cells, and markup in text stays text. */
static void
outputs_escape(void **state)
{
	const char *text = HEAD "  - id: c1\n    title: '=HYPERLINK(\"x\"), \"quoted\" | piped'\n"
	                        "    pillar: Data\n    function: \"F\\nG\"\n    stage: optimal\n"
	                        "    rationale: \"R <b>[x](y)</b> & &amp; `<i>`\"\n"
	                        "    check: { kind: decision_log }\n";
	char *buf;

	(void)state;
	buf = written(text, coverage_csv);
	assert_string_equal(buf,
	                    "\"id\",\"title\",\"pillar\",\"function\",\"stage\",\"result\","
	                    "\"evidence\",\"to_raise\",\"sources\"\r\n"
	                    "\"c1\",\"'=HYPERLINK(\"\"x\"\"), \"\"quoted\"\" | piped\",\"Data\","
	                    "\"F\nG\",\"optimal\",\"met\",\"pdp.yaml: decision_log: "
	                    "/var/log/pdp/decisions.jsonl\",\"\",\"\"\r\n");
	free(buf);
	buf = written(text, coverage_markdown);
	assert_non_null(strstr(buf, "| c1 | Data · F G | Optimal | met |\n"));
	assert_non_null(strstr(buf, "### c1: =HYPERLINK(\"x\"), \"quoted\" | piped\n"));
	/* Markup and entities in text are escaped, but not inside a code span. */
	assert_non_null(strstr(buf, "Why: R \\<b\\>\\[x\\](y)\\</b\\> & \\&amp; `<i>` (sources:)"));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builtin_checklist_loads),
	    cmocka_unit_test(checklist_good_file),
	    cmocka_unit_test(checklist_errors),
	    cmocka_unit_test(require_grant_strength),
	    cmocka_unit_test(require_grant_risk),
	    cmocka_unit_test(require_grant_device),
	    cmocka_unit_test(session_bound_kind),
	    cmocka_unit_test(network_independent_kind),
	    cmocka_unit_test(users_exclusions),
	    cmocka_unit_test(users_named),
	    cmocka_unit_test(strength_acr),
	    cmocka_unit_test(password_change_alone),
	    cmocka_unit_test(long_text_cut_at_a_character),
	    cmocka_unit_test(case_names_forge_nothing),
	    cmocka_unit_test(config_kinds),
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(exclusion_kind),
	    cmocka_unit_test(stages_roll_up),
	    cmocka_unit_test(outputs_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
