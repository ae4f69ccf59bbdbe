/* test_policy_eval.c - every decision rule of the conditional-access semantics */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/eval.h"
#include "policy/load.h"
#include "testlib.h"

#define NOW 1800000000

static const char base_yaml[] =
    "apps:\n"
    "  - { id: admin, hosts: [admin.example.com] }\n"
    "  - { id: pay-write, hosts: [api.example.com], paths: [/payroll/], methods: [POST, PUT] }\n"
    "  - { id: pay-read, hosts: [api.example.com], paths: [/payroll/], methods: [GET] }\n"
    "  - { id: api, hosts: [api.example.com] }\n"
    "  - { id: hr, hosts: [hr.example.com] }\n"
    "locations:\n"
    "  - { id: corp, ranges: [10.0.0.0/8, \"2001:db8::/32\"], trusted: true }\n"
    "  - { id: embargoed, countries: [KP, IR] }\n"
    "  - { id: nowhere, countries: [unknown] }\n"
    "strengths:\n"
    "  - { id: phr, combinations: [[hwk], [sc]], acr: [urn:acr:phr] }\n";

static struct policy_set *set;

static struct policy_set *
load(const char *policies)
{
	const char *names[] = {"/t/base.yaml", "/t/policies.yaml"};
	const char *bufs[] = {base_yaml, policies};
	char err[1024];
	struct policy_set *s = policy_set_load_buffers(names, bufs, 2, err, sizeof(err));

	if (s == NULL)
		fail_msg("%s", err);
	return s;
}

static int
teardown(void **state)
{
	(void)state;
	policy_set_free(set);
	set = NULL;
	return 0;
}

/* A request and the caller behind it; tests change fields, then decide(). */
struct req {
	const char *user, *method, *host, *uri, *ip, *country, *ua, *acr, *client_id, *risk;
	const char *groups[4], *roles[4], *amr[4];
	int64_t auth_time;
	enum client_app client;
	const struct device_record *device;
	const struct user_record *user_rec;
	bool default_deny;
};

static struct req
req(void)
{
	return (struct req){.user = "alice@example.com",
	                    .method = "GET",
	                    .host = "app.example.com",
	                    .uri = "/",
	                    .ip = "203.0.113.7",
	                    .country = "DE",
	                    .auth_time = NOW - 60,
	                    .client = CLIENT_API};
}

static size_t
count(const char *const *a)
{
	size_t n = 0;

	while (n < 4 && a[n] != NULL)
		n++;
	return n;
}

static struct eval_result result;

static enum decision
decide(const struct req *q)
{
	struct subject s = {.user = q->user,
	                    .groups = {(const char **)q->groups, count(q->groups)},
	                    .roles = {(const char **)q->roles, count(q->roles)},
	                    .amr = {(const char **)q->amr, count(q->amr)},
	                    .acr = q->acr,
	                    .client_id = q->client_id,
	                    .sign_in_risk = q->risk,
	                    .auth_time = q->auth_time,
	                    .iat = NOW - 30};
	uint32_t buf[8];
	struct subject_ids ids;
	struct eval_input in = {.subject = &s,
	                        .ids = &ids,
	                        .method = q->method,
	                        .host = q->host,
	                        .uri = q->uri,
	                        .ip = q->ip,
	                        .country = q->country,
	                        .user_agent = q->ua,
	                        .client = q->client,
	                        .device = q->device,
	                        .user = q->user_rec,
	                        .now = NOW,
	                        .default_allow = !q->default_deny};

	eval_subject_ids(set, &s, buf, 8, &ids);
	policy_eval(set, &in, &result);
	return result.decision;
}

#define ALL "    users: { include: all }\n    apps: { include: all }\n"

static void
default_decision_when_nothing_applies(void **state)
{
	struct req q = req();

	(void)state;
	set = load("policies:\n  - id: admins-only\n    users: { include: { groups: [admins] } }\n"
	           "    apps: { include: all }\n    grant: block\n");
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_true(result.by_default);
	q.default_deny = true;
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.deciding, "default");
	q.groups[0] = "admins";
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_false(result.by_default);
	assert_string_equal(result.deciding, "admins-only");
}

static void
include_lists_of_any_length(void **state)
{
	struct req q = req();

	(void)state;
	/* Four names: candidates keep a filter only. One name: the check is exact inline. */
	set =
	    load("policies:\n  - id: many\n    users: { include: { users: [u1, u2], groups: [g1], "
	         "roles: [r1] } }\n    apps: { include: all }\n    grant: block\n"
	         "  - id: one\n    users: { include: { roles: [r2] } }\n"
	         "    apps: { include: [hr] }\n    grant: block\n");
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.user = "u2";
	assert_int_equal(decide(&q), DECISION_DENY);
	q.user = "nobody";
	q.groups[0] = "g1";
	assert_int_equal(decide(&q), DECISION_DENY);
	q.groups[0] = "g2";
	q.roles[0] = "r1";
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.deciding, "many");
	q.roles[0] = "r2";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.host = "hr.example.com";
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.deciding, "one");
	q.roles[0] = "r3";
	assert_int_equal(decide(&q), DECISION_ALLOW);
}

static void
exclude_always_wins(void **state)
{
	struct req q = req();

	(void)state;
	set = load("policies:\n  - id: block-most\n    users:\n      include: { groups: [staff] }\n"
	           "      exclude: { users: [alice@example.com], roles: [BreakGlass] }\n"
	           "    apps: { include: all, exclude: [hr] }\n    grant: block\n");
	q.groups[0] = "staff";
	q.user = "bob@example.com";
	assert_int_equal(decide(&q), DECISION_DENY);
	q.user = "alice@example.com"; /* excluded by user id */
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.user = "bob@example.com";
	q.roles[0] = "BreakGlass"; /* excluded by role */
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.roles[0] = NULL;
	q.host = "hr.example.com"; /* excluded app */
	assert_int_equal(decide(&q), DECISION_ALLOW);
}

static void
block_beats_any_grant(void **state)
{
	struct req q = req();

	(void)state;
	set = load("policies:\n  - id: need-mfa\n" ALL "    grant: { controls: [mfa] }\n"
	           "  - id: block-embargoed\n" ALL
	           "    conditions: { locations: { include: [embargoed] } }\n    grant: block\n");
	q.amr[0] = "mfa";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.country = "KP";
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.deciding, "block-embargoed");
	assert_string_equal(result.reason, "blocked");
}

static void
every_applying_policy_must_be_satisfied(void **state)
{
	struct req q = req();
	struct device_record compliant = {.id = "d1", .compliant = true, .platform = -1};

	(void)state;
	set = load("policies:\n  - id: need-mfa\n" ALL "    grant: { controls: [mfa] }\n"
	           "  - id: need-device\n" ALL "    grant: { controls: [compliant_device] }\n");
	q.amr[0] = "mfa";
	assert_int_equal(decide(&q), DECISION_DENY); /* mfa alone is not enough */
	assert_string_equal(result.deciding, "need-device");
	assert_string_equal(result.reason, "compliant device required");
	q.device = &compliant;
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_int_equal(result.n_applied, 2);
}

static void
require_one_or_all(void **state)
{
	struct req q = req();
	struct device_record compliant = {.compliant = true, .platform = -1};

	(void)state;
	set = load("policies:\n  - id: either\n" ALL
	           "    grant: { require: one, controls: [mfa, compliant_device] }\n");
	assert_int_equal(decide(&q), DECISION_STEP_UP); /* mfa would do */
	q.device = &compliant;
	assert_int_equal(decide(&q), DECISION_ALLOW);
	teardown(NULL);
	set = load("policies:\n  - id: both\n" ALL
	           "    grant: { require: all, controls: [mfa, compliant_device] }\n");
	q.device = NULL;
	q.amr[0] = "mfa";
	assert_int_equal(decide(&q), DECISION_DENY); /* signing in again gives no device */
	q.device = &compliant;
	assert_int_equal(decide(&q), DECISION_ALLOW);
}

static void
step_up_or_deny(void **state)
{
	struct req q = req();

	(void)state;
	set = load("policies:\n  - id: strong\n" ALL
	           "    grant: { controls: [{ strength: phr }] }\n");
	q.amr[0] = "pwd";
	q.amr[1] = "mfa";
	assert_int_equal(decide(&q), DECISION_STEP_UP);
	assert_string_equal(result.deciding, "strong");
	assert_int_equal(result.n_step_up_strengths, 1);
	assert_string_equal(set->strengths[result.step_up_strengths[0]].id, "phr");
	assert_int_equal(result.max_age, -1);
	q.amr[1] = "hwk";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	/* An acr the strength lists satisfies it too. */
	q.amr[1] = NULL;
	q.acr = "urn:acr:phr";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	/* Built-in mfa: pwd + otp is one of its combinations. */
	teardown(NULL);
	set = load("policies:\n  - id: m\n" ALL "    grant: { controls: [mfa] }\n");
	q.acr = NULL;
	q.amr[0] = "pwd";
	assert_int_equal(decide(&q), DECISION_STEP_UP);
	q.amr[1] = "otp";
	assert_int_equal(decide(&q), DECISION_ALLOW);
}

static void
strictest_sign_in_frequency(void **state)
{
	struct req q = req();

	(void)state;
	set = load("policies:\n  - id: four-hours\n" ALL "    session: { sign_in_frequency: 4h }\n"
	           "  - id: one-hour\n    users: { include: all }\n    apps: { include: [admin] }\n"
	           "    session: { sign_in_frequency: 1h }\n"
	           "  - id: always\n    users: { include: all }\n    apps: { include: [hr] }\n"
	           "    session: { sign_in_frequency: every_time }\n");
	q.auth_time = NOW - 2 * 3600;
	assert_int_equal(decide(&q), DECISION_ALLOW); /* 2h < 4h */
	q.host = "admin.example.com";
	assert_int_equal(decide(&q), DECISION_STEP_UP);
	assert_int_equal(result.max_age, 3600);
	q.auth_time = NOW - 5 * 3600;
	assert_int_equal(decide(&q), DECISION_STEP_UP);
	assert_int_equal(result.max_age, 3600); /* the strictest of 4h and 1h */
	q.host = "hr.example.com";
	q.auth_time = NOW - 200;
	assert_int_equal(decide(&q), DECISION_ALLOW); /* every_time: 5 minutes of skew */
	q.auth_time = NOW - 400;
	assert_int_equal(decide(&q), DECISION_STEP_UP);
	assert_int_equal(result.max_age, 300);
	/* No auth_time: iat (30 s ago) stands in. */
	q.auth_time = 0;
	assert_int_equal(decide(&q), DECISION_ALLOW);
}

static void
report_only_never_changes_the_answer(void **state)
{
	struct req q = req();

	(void)state;
	set =
	    load("policies:\n  - id: trial-block\n    state: report-only\n" ALL "    grant: block\n"
	         "  - id: trial-device\n    state: report-only\n" ALL
	         "    grant: { controls: [compliant_device] }\n");
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_true(result.by_default);
	assert_int_equal(result.n_report_only, 2);
	assert_int_equal(result.report_only_decision[0], DECISION_DENY);
	assert_int_equal(result.report_only_decision[1], DECISION_DENY);
	assert_int_equal(result.n_applied, 0);
	q.default_deny = true;
	assert_int_equal(decide(&q), DECISION_DENY);
	/* Disabled policies are not even looked at. */
	teardown(NULL);
	set = load("policies:\n  - id: off\n    state: disabled\n" ALL "    grant: block\n");
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_true(result.by_default);
	assert_int_equal(result.n_report_only, 0);
}

/* Past EVAL_MAX_LISTED, report-only policies are counted apart from enforced ones. */
static void
unlisted_report_only_policies_counted_apart(void **state)
{
	static char yaml[16384];
	struct req q = req();
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "policies:\n");
	for (int i = 0; i < EVAL_MAX_LISTED + 3; i++)
		n += (size_t)snprintf(
		    yaml + n, sizeof(yaml) - n,
		    "  - id: trial-%d\n    state: report-only\n" ALL "    grant: block\n", i);
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
	                      "  - id: enforced\n" ALL "    grant: { controls: [mfa] }\n");
	assert_true(n < sizeof(yaml));
	set = load(yaml);
	q.amr[0] = "mfa";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_int_equal(result.n_report_only, EVAL_MAX_LISTED);
	assert_int_equal(result.n_report_only_unlisted, 3);
	assert_int_equal(result.n_applied, 1);
	assert_int_equal(result.n_unlisted, 0);
}

static void
unknown_device_is_never_compliant(void **state)
{
	struct req q = req();
	struct device_record noncompliant = {.id = "d", .compliant = false, .platform = -1};
	struct device_record joined = {
	    .id = "d", .compliant = true, .trust = DEVICE_TRUST_JOINED, .platform = -1};
	struct device_record hybrid = {.id = "d", .trust = DEVICE_TRUST_HYBRID, .platform = -1};

	(void)state;
	set = load("policies:\n  - id: dev\n" ALL "    grant: { controls: [compliant_device] }\n"
	           "  - id: hyb\n    users: { include: all }\n    apps: { include: [hr] }\n"
	           "    grant: { controls: [hybrid_joined_device] }\n");
	assert_int_equal(decide(&q), DECISION_DENY);
	q.device = &noncompliant;
	assert_int_equal(decide(&q), DECISION_DENY);
	q.device = &joined;
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.host = "hr.example.com";
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.reason, "hybrid-joined device required");
	hybrid.compliant = true;
	q.device = &hybrid;
	assert_int_equal(decide(&q), DECISION_ALLOW);
}

static void
locations_and_unknown_country(void **state)
{
	struct req q = req();

	(void)state;
	set = load(
	    "policies:\n  - id: outside\n" ALL
	    "    conditions: { locations: { include: [any], exclude: [trusted] } }\n"
	    "    grant: block\n"
	    "  - id: unknown-country\n    users: { include: all }\n    apps: { include: [hr] }\n"
	    "    conditions: { locations: { include: [nowhere] } }\n    grant: block\n"
	    "  - id: embargo\n    users: { include: all }\n    apps: { include: [admin] }\n"
	    "    conditions: { locations: { include: [embargoed] } }\n    grant: block\n");
	assert_int_equal(decide(&q), DECISION_DENY);
	q.ip = "10.20.30.40";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.ip = "::ffff:10.1.1.1";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.ip = "2001:db8::5";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	/* An unknown country matches only a location that names "unknown". */
	q.host = "hr.example.com";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.country = NULL;
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.deciding, "unknown-country");
	q.host = "admin.example.com";
	assert_int_equal(decide(&q), DECISION_ALLOW); /* not in embargoed */
	q.country = "IR";
	assert_int_equal(decide(&q), DECISION_DENY);
	/* "any" covers a request with no usable address too. */
	q.host = "app.example.com";
	q.ip = NULL;
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.deciding, "outside");
}

static void
risk_conditions_and_password_change(void **state)
{
	struct req q = req();
	struct user_record high = {.risk = RISK_HIGH}, low = {.risk = RISK_LOW};

	(void)state;
	set =
	    load("policies:\n  - id: risky-user\n" ALL "    conditions: { user_risk: [high] }\n"
	         "    grant: { require: all, controls: [mfa, password_change] }\n"
	         "  - id: risky-sign-in\n" ALL "    conditions: { sign_in_risk: [medium, high] }\n"
	         "    grant: { controls: [mfa] }\n");
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.user_rec = &low;
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.user_rec = &high;
	q.amr[0] = "mfa";
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.reason, "password change required");
	q.user_rec = NULL;
	q.amr[0] = NULL;
	q.risk = "medium";
	assert_int_equal(decide(&q), DECISION_STEP_UP);
	q.risk = "none";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	/* A risk value nobody defined counts as high. */
	q.risk = "severe";
	assert_int_equal(decide(&q), DECISION_STEP_UP);
}

static void
platforms_clients_and_device_filter(void **state)
{
	struct req q = req();
	struct device_record win = {.id = "d1",
	                            .platform = PLATFORM_WINDOWS,
	                            .trust = DEVICE_TRUST_JOINED,
	                            .os_version = "10.0.19045"};
	struct device_record mac = {.id = "d2", .platform = PLATFORM_MACOS, .os_version = "14.1"};

	(void)state;
	set = load(
	    "policies:\n  - id: mobile\n" ALL
	    "    conditions: { device_platforms: { include: [ios, android] } }\n    grant: block\n"
	    "  - id: not-linux\n    users: { include: all }\n    apps: { include: [hr] }\n"
	    "    conditions: { device_platforms: { include: any, exclude: [linux] } }\n"
	    "    grant: block\n"
	    "  - id: browsers\n    users: { include: all }\n    apps: { include: [admin] }\n"
	    "    conditions: { client_apps: [browser] }\n    grant: block\n"
	    "  - id: old-windows\n    users: { include: all }\n    apps: { include: [api] }\n"
	    "    conditions: { device_filter: { mode: include, rules: [{ attribute: platform, "
	    "equals: windows }, { attribute: os_version, prefix: '10.' }] } }\n"
	    "    grant: block\n");
	assert_int_equal(decide(&q), DECISION_ALLOW); /* unknown platform is not mobile */
	q.ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)";
	assert_int_equal(decide(&q), DECISION_DENY);
	q.ua = NULL;
	q.host = "hr.example.com";
	assert_int_equal(decide(&q),
	                 DECISION_DENY); /* unknown platform is in any, not excludable */
	q.ua = "Mozilla/5.0 (X11; Linux x86_64)";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.device = &win; /* the device record wins over the User-Agent */
	assert_int_equal(decide(&q), DECISION_DENY);
	q.device = NULL;
	q.ua = NULL;
	q.host = "admin.example.com";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.client = CLIENT_BROWSER;
	assert_int_equal(decide(&q), DECISION_DENY);
	q.client = CLIENT_API;
	q.host = "api.example.com";
	assert_int_equal(decide(&q), DECISION_ALLOW); /* unknown device matches no rule */
	q.device = &mac;
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.device = &win;
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.deciding, "old-windows");
}

static void
approved_clients(void **state)
{
	struct req q = req();

	(void)state;
	set = load("policies:\n  - id: apps\n" ALL
	           "    grant: { controls: [{ approved_clients: [portal, mobile] }] }\n");
	assert_int_equal(decide(&q), DECISION_DENY);
	q.client_id = "other";
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.reason, "approved client app required");
	q.client_id = "mobile";
	assert_int_equal(decide(&q), DECISION_ALLOW);
}

static void
apps_by_host_longest_path_and_method(void **state)
{
	struct req q = req();

	(void)state;
	set = load("policies:\n  - id: w\n    users: { include: all }\n    apps: { include: "
	           "[pay-write] }\n"
	           "    grant: block\n");
	q.host = "API.Example.com";
	q.uri = "/payroll/run?x=1";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_string_equal(set->apps[result.app].id, "pay-read");
	q.method = "POST";
	assert_int_equal(decide(&q), DECISION_DENY);
	q.method = "DELETE"; /* neither payroll app: falls to the host's "/" app */
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_string_equal(set->apps[result.app].id, "api");
	q.method = "POST";
	q.uri = "/other";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_string_equal(set->apps[result.app].id, "api");
	/* Paths are matched as nginx routes them, so dot segments and escapes cannot dodge. */
	static const char *const dodges[] = {
	    "/x/../payroll/run", "/payroll//run",  "//payroll/run",       "/%70ayroll/run",
	    "/./payroll/./run",  "/payroll%2Frun", "/a/b/../../payroll/",
	};
	for (size_t i = 0; i < sizeof(dodges) / sizeof(dodges[0]); i++) {
		q.uri = dodges[i];
		if (decide(&q) != DECISION_DENY)
			fail_msg("%s dodged the payroll app", dodges[i]);
	}
	q.uri = "/../payroll/run";
	assert_int_equal(decide(&q), DECISION_DENY);
	assert_string_equal(result.reason, "invalid request path");
	q.host = "unknown.example.com";
	q.uri = "/payroll/run";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_int_equal(result.app, POLICY_NO_ID);
}

/* Any method token names an app; { except: [...] } covers every other one. */
static void
methods_beyond_the_seven(void **state)
{
	static const char *const writes[] = {"POST", "PROPPATCH", "MKCOL", "MOVE",     "COPY",
	                                     "LOCK", "PURGE",     "PUT",   "X-Custom", "get"};
	struct req q = req();

	(void)state;
	set = load("apps:\n"
	           "  - { id: dav-write, hosts: [dav.example.com], paths: [/payroll/],\n"
	           "      methods: { except: [GET, HEAD, OPTIONS] } }\n"
	           "  - { id: dav-read, hosts: [dav.example.com], paths: [/payroll/],\n"
	           "      methods: [GET, HEAD, OPTIONS] }\n"
	           "  - { id: dav-search, hosts: [dav.example.com], paths: [/search/],\n"
	           "      methods: [SEARCH] }\n"
	           "  - { id: dav, hosts: [dav.example.com] }\n"
	           "policies:\n  - id: w\n    users: { include: all }\n"
	           "    apps: { include: [dav-write, dav-search] }\n    grant: block\n");
	q.host = "dav.example.com";
	q.uri = "/payroll/run";
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		q.method = writes[i];
		if (decide(&q) != DECISION_DENY ||
		    strcmp(set->apps[result.app].id, "dav-write") != 0)
			fail_msg("%s on /payroll/run escaped the write app", writes[i]);
	}
	q.method = "GET";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_string_equal(set->apps[result.app].id, "dav-read");
	q.uri = "/search/x";
	q.method = "SEARCH";
	assert_int_equal(decide(&q), DECISION_DENY);
	q.method = "search"; /* methods are case-sensitive: another method */
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_string_equal(set->apps[result.app].id, "dav");
}

/* Each of uris (n) on q's host and method is denied: in app (a block), or as an invalid path
 * when app is NULL. */
static void
expect_denied(struct req q, const char *const *uris, size_t n, const char *app)
{
	for (size_t i = 0; i < n; i++) {
		q.uri = uris[i];
		if (decide(&q) != DECISION_DENY ||
		    (app == NULL ? strcmp(result.reason, "invalid request path") != 0
		                 : result.app == POLICY_NO_ID ||
		                       strcmp(set->apps[result.app].id, app) != 0))
			fail_msg("%s on %s was not denied %s%s", uris[i], q.host,
			         app != NULL ? "in app " : "as an invalid path",
			         app != NULL ? app : "");
	}
}

/* Path forms an upstream reads as the protected path map to its app. */
static void
path_forms_map_to_the_app(void **state)
{
	static const char *const pay[] = {
	    "/payroll;a=b/run",
	    "/payroll",
	    "/payroll;x",
	    "/payroll?q",
	    "/payroll/;x",
	    "/payroll%3Bx/run",
	    "/payroll;jsessionid=1",
	    "/payroll?a#b",
	    "/x/../payroll/run",
	};
	/* No upstream reads these one way: '\\' is '/' to Node and a name byte to others,
	 * "..;" is ".." to Tomcat only, and no client sends '#'. */
	static const char *const invalid[] = {
	    "/x/..;y/payroll/run",   "/payroll/..;/run",   "/x\\..\\payroll/run",
	    "/payroll\\run",         "/payroll%5Crun",     "/payroll%5crun",
	    "/x%5C..%5Cpayroll/run", "/x#/../payroll/run", "/api#x",
	};
	static const char *const iis[] = {
	    "/PAYROLL/run", "/payroll./run",     "/Payroll. ./run", "/payroll%20/run",
	    "/PayRoll",     "/x/../PAYROLL/run", "/payroll/a~b/c",  "/payroll/a~",
	};
	/* A Windows upstream reads these as another file's alias: a stream, a short name. */
	static const char *const iis_invalid[] = {
	    "/payroll\\run",        "/payroll%5Crun",
	    "/x\\..\\payroll\\run", "/payroll::$INDEX_ALLOCATION/run",
	    "/payroll:$DATA",       "/x/a%3Ab",
	    "/PAYROL~1/run",        "/payrol~1",
	    "/x/%C5%BFecret",       "/x/%E2%84%AAey",
	    "/payroll;a:b/run",     "/x#/../payroll",
	};
	struct req q = req();

	(void)state;
	set = load("apps:\n"
	           "  - { id: win, hosts: [iis.example.com], paths: [/PayRoll/], case_insensitive: "
	           "true }\n"
	           "  - { id: win-root, hosts: [iis.example.com], case_insensitive: true }\n"
	           "policies:\n  - id: w\n    users: { include: all }\n"
	           "    apps: { include: [pay-write, win] }\n    grant: block\n");
	q.host = "api.example.com";
	q.method = "POST";
	expect_denied(q, pay, sizeof(pay) / sizeof(pay[0]), "pay-write");
	expect_denied(q, invalid, sizeof(invalid) / sizeof(invalid[0]), NULL);
	q.uri = "/payrollx";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_string_equal(set->apps[result.app].id, "api");
	q.uri = "/PAYROLL/run"; /* a case-sensitive upstream: another path */
	assert_int_equal(decide(&q), DECISION_ALLOW);
	q.uri = "/files/a:b/PAYROL~1"; /* streams and short names are Windows' only */
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_string_equal(set->apps[result.app].id, "api");
	q.host = "iis.example.com";
	expect_denied(q, iis, sizeof(iis) / sizeof(iis[0]), "win");
	expect_denied(q, iis_invalid, sizeof(iis_invalid) / sizeof(iis_invalid[0]), NULL);
	q.uri = "/PAYROLL/../x";
	assert_int_equal(decide(&q), DECISION_ALLOW);
	assert_string_equal(set->apps[result.app].id, "win-root");
}

static void
normalize_path(void **state)
{
	static const struct {
		const char *in, *out;
		unsigned flags;
	} cases[] = {
	    {"/", "/", 0},
	    {"/a/b", "/a/b", 0},
	    {"/a/b/", "/a/b/", 0},
	    {"/a/./b", "/a/b", 0},
	    {"/a/../b", "/b", 0},
	    {"/a/b/..", "/a/", 0},
	    {"/a/b/.", "/a/b/", 0},
	    {"//a///b", "/a/b", 0},
	    {"/a%2Fb", "/a/b", 0},
	    {"/%2e%2E/", NULL, 0},
	    {"/a/%2e%2e/b", NULL, 0}, /* escaped dots: a dot segment only to some upstreams */
	    {"/a/.%2E/b", NULL, 0},
	    {"/a/%2E/b", NULL, 0},
	    {"/a/..%2fb", NULL, 0}, /* an escaped slash ends it */
	    {"/a%2f../b", NULL, 0},
	    {"/a/..;/b", NULL, 0}, /* Tomcat reads "..", others a name */
	    {"/a/.;x/b", NULL, 0},
	    {"/a/.../b", "/a/.../b", 0},
	    {"/a;x/b;y=1,2/c;", "/a/b/c", 0}, /* path parameters end their segment */
	    {"/a;x", "/a", 0},
	    {"/a/;x", "/a/", 0},
	    {"/a/b;x/../c", "/a/c", 0},
	    {"/a%3Bx/b", "/a/b", 0}, /* an escaped ';' too: the stricter reading */
	    {"/a%2e/b", "/a./b", 0},
	    {"/A/B./c. .", "/A/B./c. .", 0},
	    {"/A/B./c. .", "/a/b/c", EVAL_PATH_WINDOWS},
	    {"/Pay%52oll/run", "/payroll/run", EVAL_PATH_WINDOWS},
	    {"/Pay%52oll\\run", NULL, EVAL_PATH_WINDOWS},
	    {"/a\\..\\b", NULL, 0}, /* '\\' is '/' to Node and Windows, a name to others */
	    {"/a\\..\\b", NULL, EVAL_PATH_WINDOWS},
	    {"/a\\b", NULL, 0},
	    {"/a%5Cb", NULL, 0},
	    {"/a%5cb", NULL, EVAL_PATH_WINDOWS},
	    {"/a/b:c~1", "/a/b:c~1", 0},
	    {"/a/b:c", NULL, EVAL_PATH_WINDOWS}, /* an NTFS stream */
	    {"/a/b::$DATA", NULL, EVAL_PATH_WINDOWS},
	    {"/a/b%3A%3A$DATA", NULL, EVAL_PATH_WINDOWS},
	    {"/A~1/b", NULL, EVAL_PATH_WINDOWS}, /* an 8.3 short name */
	    {"/a/b~9", NULL, EVAL_PATH_WINDOWS},
	    {"/a~/b~x", "/a~/b~x", EVAL_PATH_WINDOWS},
	    {"/a;x:y/b", NULL, EVAL_PATH_WINDOWS},
	    {"/%C5%BFx", NULL, EVAL_PATH_WINDOWS}, /* U+017F folds to 'S' */
	    {"/%C4%B0x", NULL, EVAL_PATH_WINDOWS},
	    {"/%C3%89", "/\xc3\x89", EVAL_PATH_WINDOWS},
	    {"/a/../b", "/b", EVAL_PATH_WINDOWS},
	    {"/a/.. /b", NULL, EVAL_PATH_WINDOWS},
	    {"/a/.../b", NULL, EVAL_PATH_WINDOWS},
	    {"/a/x;y./b", "/a/x/b", EVAL_PATH_WINDOWS},
	    {"/a?b/../c", "/a", 0},
	    {"/a#frag", NULL, 0}, /* no client sends a fragment */
	    {"/a%23b", "/a#b", 0},
	    {"/a?b#c", "/a", 0},
	    {"http://host.example/a/../b", "/b", 0},
	    {"https://host.example", "/", 0},
	    {"/..", NULL, 0},
	    {"/a/../..", NULL, 0},
	    {"/a%00b", NULL, 0},
	    {"/a%zz", NULL, 0},
	    {"/a%2", NULL, 0},
	    {"relative", NULL, 0},
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long n = eval_normalize_path(cases[i].in, cases[i].flags, out, sizeof(out));

		if (cases[i].out == NULL) {
			if (n >= 0)
				fail_msg("%s normalised to %s, wanted an error", cases[i].in, out);
		} else if (n < 0 || strcmp(out, cases[i].out) != 0) {
			fail_msg("%s normalised to %s, wanted %s", cases[i].in,
			         n < 0 ? "(error)" : out, cases[i].out);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(default_decision_when_nothing_applies, teardown),
	    cmocka_unit_test_teardown(include_lists_of_any_length, teardown),
	    cmocka_unit_test_teardown(exclude_always_wins, teardown),
	    cmocka_unit_test_teardown(block_beats_any_grant, teardown),
	    cmocka_unit_test_teardown(every_applying_policy_must_be_satisfied, teardown),
	    cmocka_unit_test_teardown(require_one_or_all, teardown),
	    cmocka_unit_test_teardown(step_up_or_deny, teardown),
	    cmocka_unit_test_teardown(strictest_sign_in_frequency, teardown),
	    cmocka_unit_test_teardown(report_only_never_changes_the_answer, teardown),
	    cmocka_unit_test_teardown(unlisted_report_only_policies_counted_apart, teardown),
	    cmocka_unit_test_teardown(unknown_device_is_never_compliant, teardown),
	    cmocka_unit_test_teardown(locations_and_unknown_country, teardown),
	    cmocka_unit_test_teardown(risk_conditions_and_password_change, teardown),
	    cmocka_unit_test_teardown(platforms_clients_and_device_filter, teardown),
	    cmocka_unit_test_teardown(approved_clients, teardown),
	    cmocka_unit_test_teardown(apps_by_host_longest_path_and_method, teardown),
	    cmocka_unit_test_teardown(methods_beyond_the_seven, teardown),
	    cmocka_unit_test_teardown(path_forms_map_to_the_app, teardown),
	    cmocka_unit_test(normalize_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
