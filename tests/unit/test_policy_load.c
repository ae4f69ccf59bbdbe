/* test_policy_load.c - policy files: the model they load into, and every loader error */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/load.h"
#include "testlib.h"

static const char apps_yaml[] = "apps:\n"
                                "  - id: admin-portal\n"
                                "    hosts: [Admin.Example.com]\n"
                                "    paths: [/]\n"
                                "  - id: payroll-write\n"
                                "    hosts: [api.example.com]\n"
                                "    paths: [/payroll/]\n"
                                "    methods: { except: [GET, HEAD, OPTIONS] }\n"
                                "  - id: payroll-read\n"
                                "    hosts: [api.example.com]\n"
                                "    paths: [/payroll/]\n"
                                "    methods: [GET, HEAD, OPTIONS]\n"
                                "  - id: api\n"
                                "    hosts: [api.example.com]\n"
                                "locations:\n"
                                "  - id: corp\n"
                                "    ranges: [10.0.0.0/8, \"2001:db8::/32\"]\n"
                                "    trusted: true\n"
                                "  - id: embargoed\n"
                                "    countries: [KP, IR, unknown]\n"
                                "strengths:\n"
                                "  - id: phishing-resistant\n"
                                "    combinations: [[hwk], [sc]]\n"
                                "    acr: [urn:example:acr:phr]\n";

static const char policies_yaml[] =
    "policies:\n"
    "  - id: block-embargoed\n"
    "    name: Block embargoed countries\n"
    "    users: { include: all, exclude: { users: [breakglass@example.com] } }\n"
    "    apps: { include: all }\n"
    "    conditions:\n"
    "      locations: { include: [embargoed] }\n"
    "    grant: block\n"
    "  - id: admins-strong-auth\n"
    "    state: report-only\n"
    "    users: { include: { groups: [admins], roles: [Admin] } }\n"
    "    apps: { include: [admin-portal] }\n"
    "    conditions:\n"
    "      user_risk: [medium, high]\n"
    "      device_platforms: { include: any, exclude: [linux] }\n"
    "      client_apps: [browser]\n"
    "      locations: { include: [any], exclude: [trusted, corp] }\n"
    "      device_filter: { mode: exclude, match: any, rules: [{ attribute: trust, equals: "
    "joined }, { attribute: platform, in: [ios, android] }, { attribute: os_version, prefix: "
    "'10.' }] }\n"
    "    grant: { require: one, controls: [{ strength: phishing-resistant }, compliant_device, "
    "mfa, { approved_clients: [app-b, app-a] }] }\n"
    "    session: { sign_in_frequency: 4h }\n"
    "  - id: payroll-writes\n"
    "    users: { include: all }\n"
    "    apps: { include: [payroll-write], exclude: [] }\n"
    "    session: { sign_in_frequency: every_time }\n"
    "  - id: off\n"
    "    state: disabled\n"
    "    users: { include: all }\n"
    "    apps: { include: all }\n"
    "    grant: block\n";

static struct policy_set *
load2(const char *a, const char *b, char *err, size_t errsz)
{
	const char *names[] = {"/p/apps.yaml", "/p/policies.yaml"};
	const char *bufs[] = {a, b};

	return policy_set_load_buffers(names, bufs, 2, err, errsz);
}

static const struct pol_policy *
policy(const struct policy_set *s, const char *id)
{
	for (size_t i = 0; i < s->n_policies; i++) {
		if (strcmp(s->policies[i].id, id) == 0)
			return &s->policies[i];
	}
	fail_msg("no policy %s", id);
	return NULL;
}

static void
loads_the_whole_model(void **state)
{
	char err[512];
	struct policy_set *s = load2(apps_yaml, policies_yaml, err, sizeof(err));
	const struct pol_policy *p;

	(void)state;
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(s->n_apps, 4);
	assert_string_equal(s->apps[0].hosts[0], "admin.example.com"); /* lower-cased */
	assert_true(s->apps[1].methods.limited && s->apps[1].methods.except);
	assert_int_equal(s->apps[1].methods.known, METHOD_BIT(METHOD_GET) |
	                                               METHOD_BIT(METHOD_HEAD) |
	                                               METHOD_BIT(METHOD_OPTIONS));
	assert_false(s->apps[2].methods.except);
	assert_false(s->apps[3].methods.limited);
	assert_int_equal(s->n_warnings, 0); /* the payroll apps cover every method between them */
	assert_string_equal(s->apps[3].paths[0], "/"); /* the default path */
	assert_int_equal(s->n_locations, 2);
	assert_int_equal(s->locations[0].n_ranges, 2);
	assert_true(s->locations[0].trusted);
	assert_int_equal(s->locations[1].n_countries, 2);
	assert_int_equal(s->locations[1].countries[0], 'K' << 8 | 'P');
	assert_true(s->locations[1].unknown_country);
	/* The set's own strength plus the built-in mfa. */
	assert_int_equal(s->n_strengths, 2);
	assert_string_equal(s->strengths[1].id, "mfa");
	assert_int_equal(s->strengths[1].n_combinations, 8);
	assert_string_equal(s->strengths[0].acr[0], "urn:example:acr:phr");
	assert_int_equal(strlen(s->revision), 16);

	p = policy(s, "block-embargoed");
	assert_true(p->block);
	assert_int_equal(p->state, POLICY_ENABLED);
	assert_string_equal(p->name, "Block embargoed countries");
	assert_true(p->users_include.all);
	assert_int_equal(p->users_exclude.users.n, 1);
	assert_string_equal(s->users.names[p->users_exclude.users.ids[0]],
	                    "breakglass@example.com");
	assert_true(p->cond.has_locations);
	assert_int_equal(p->cond.loc_include.locations.n, 1);
	assert_int_equal(p->cond.loc_include.locations.ids[0], 1); /* embargoed */

	p = policy(s, "admins-strong-auth");
	assert_int_equal(p->state, POLICY_REPORT_ONLY);
	assert_string_equal(s->groups.names[p->users_include.groups.ids[0]], "admins");
	assert_string_equal(s->roles.names[p->users_include.roles.ids[0]], "Admin");
	assert_int_equal(p->apps_include.apps.ids[0], 0);
	assert_int_equal(p->cond.user_risk, RISK_BIT(RISK_MEDIUM) | RISK_BIT(RISK_HIGH));
	assert_int_equal(p->cond.platform_include, PLATFORM_ALL_MASK);
	assert_int_equal(p->cond.platform_exclude, PLATFORM_BIT(PLATFORM_LINUX));
	assert_int_equal(p->cond.client_apps, CLIENT_BIT(CLIENT_BROWSER));
	assert_true(p->cond.loc_include.any);
	assert_true(p->cond.loc_exclude.trusted);
	assert_int_equal(p->cond.loc_exclude.locations.ids[0], 0);
	assert_true(p->cond.device_filter.present);
	assert_int_equal(p->cond.device_filter.mode, FILTER_MODE_EXCLUDE);
	assert_int_equal(p->cond.device_filter.match, FILTER_MATCH_ANY);
	assert_int_equal(p->cond.device_filter.n_rules, 3);
	assert_int_equal(p->cond.device_filter.rules[1].op, FILTER_IN);
	assert_int_equal(p->cond.device_filter.rules[1].n_values, 2);
	assert_int_equal(p->cond.device_filter.rules[2].op, FILTER_PREFIX);
	assert_string_equal(p->cond.device_filter.rules[2].values[0], "10.");
	assert_int_equal(p->require, GRANT_REQUIRE_ONE);
	assert_int_equal(p->n_controls, 4);
	assert_int_equal(p->controls[0].type, CONTROL_STRENGTH);
	assert_int_equal(p->controls[0].strength, 0);
	assert_int_equal(p->controls[1].type, CONTROL_COMPLIANT_DEVICE);
	assert_int_equal(p->controls[2].strength, 1); /* mfa: the built-in */
	assert_int_equal(p->controls[3].type, CONTROL_APPROVED_CLIENTS);
	assert_int_equal(p->controls[3].clients.n, 2);
	assert_int_equal(p->sign_in_frequency_s, 4 * 3600);
	assert_int_equal(policy(s, "payroll-writes")->sign_in_frequency_s, 0);
	assert_non_null(strstr(p->where, "/p/policies.yaml:9:"));
	policy_set_free(s);
}

static void
indexes_routes_and_candidates(void **state)
{
	char err[512];
	struct policy_set *s = load2(apps_yaml, policies_yaml, err, sizeof(err));
	const struct host_routes *h;

	(void)state;
	assert_non_null(s);
	assert_int_equal(s->n_hosts, 2);
	assert_string_equal(s->hosts[0].host, "admin.example.com");
	h = &s->hosts[1];
	assert_string_equal(h->host, "api.example.com");
	assert_int_equal(h->n_routes, 3);
	assert_string_equal(h->routes[0].path, "/payroll/"); /* longest first */
	assert_string_equal(h->routes[2].path, "/");
	/* admin-portal: block-embargoed (all) and admins-strong-auth; never the disabled one. */
	assert_int_equal(s->app_policies[0].n, 2);
	/* payroll-write: block-embargoed and payroll-writes. */
	assert_int_equal(s->app_policies[1].n, 2);
	/* No app: only policies for all apps. */
	assert_int_equal(s->app_policies[s->n_apps].n, 1);
	assert_int_equal(s->app_policies[s->n_apps].list[0].policy, 0);
	policy_set_free(s);
}

static void
revision_follows_content(void **state)
{
	char err[512], a[17], b[17];
	struct policy_set *s;
	char *changed = strdup(policies_yaml);

	(void)state;
	s = load2(apps_yaml, policies_yaml, err, sizeof(err));
	memcpy(a, s->revision, 17);
	policy_set_free(s);
	s = load2(apps_yaml, policies_yaml, err, sizeof(err));
	assert_string_equal(a, s->revision);
	policy_set_free(s);
	*strstr(changed, "4h") = '5';
	s = load2(apps_yaml, changed, err, sizeof(err));
	memcpy(b, s->revision, 17);
	assert_string_not_equal(a, b);
	policy_set_free(s);
	free(changed);
}

static int mismatches;

/*
 * Loads apps_yaml with text as the second file; expects an error naming where
 * and why. Every mismatch is printed, and no_mismatches() fails the test.
 */
static void
expect_error(const char *text, const char *where, const char *reason)
{
	char err[1024];
	struct policy_set *s = load2(apps_yaml, text, err, sizeof(err));

	if (s != NULL || strstr(err, where) == NULL || strstr(err, reason) == NULL) {
		print_error("file:\n%s\nerror: %s\nwanted \"%s\" and \"%s\"\n", text,
		            s ? "(loaded)" : err, where, reason);
		policy_set_free(s);
		mismatches++;
	}
}

static void
no_mismatches(void)
{
	int n = mismatches;

	mismatches = 0;
	if (n != 0)
		fail_msg("%d error messages did not match", n);
}

#define POL "policies:\n  - id: p\n    users: { include: all }\n    apps: { include: all }\n"

static void
loader_errors(void **state)
{
	(void)state;
	expect_error("polices: []\n", "policies.yaml:1:1", "unknown key \"polices\"");
	expect_error(POL "    grant: block\n    grnt: x\n", "policies.yaml:6:5",
	             "unknown key \"grnt\"");
	expect_error(POL "    grant: allow\n", "policies.yaml:5:12", "grant is block or");
	expect_error(POL "    grant: { controls: [mfa, bogus] }\n", "policies.yaml:5:30",
	             "unknown control \"bogus\"");
	expect_error(POL "    grant: { controls: [{ strength: nope }] }\n", "policies.yaml:5:37",
	             "no strength has id \"nope\"");
	expect_error(POL "    grant: { controls: [] }\n", "policies.yaml:5:24", "non-empty list");
	expect_error(POL "    grant: { require: most, controls: [mfa] }\n", "policies.yaml:5:23",
	             "require is all or one");
	expect_error(POL "    grant: { controls: [block, mfa] }\n", "policies.yaml:5:25",
	             "write grant: block");
	expect_error(POL, "policies.yaml:2:5", "needs a grant or a session control");
	expect_error("policies:\n  - id: p\n    apps: { include: all }\n    grant: block\n",
	             "policies.yaml:2:5", "needs users and apps");
	expect_error("policies:\n  - users: { include: all }\n    apps: { include: all }\n"
	             "    grant: block\n",
	             "policies.yaml:2:5", "needs an \"id\"");
	expect_error("policies:\n  - id: 'bad id'\n", "policies.yaml:2:9", "an id is");
	expect_error("policies:\n  - id: p\n    users: { include: {} }\n", "policies.yaml:3:23",
	             "include names nobody");
	expect_error("policies:\n  - id: p\n    users: { include: { groups: [] } }\n",
	             "policies.yaml:3:33", "must not be empty");
	expect_error("policies:\n  - id: p\n    users: { include: everyone }\n",
	             "policies.yaml:3:23", "expected all or");
	expect_error(
	    "policies:\n  - id: p\n    users: { include: all }\n    apps: { include: [] }\n",
	    "policies.yaml:4:22", "must not be empty");
	expect_error("policies:\n  - id: p\n    users: { include: all }\n"
	             "    apps: { include: [no-such-app] }\n    grant: block\n",
	             "policies.yaml:4:23", "no app has id \"no-such-app\"");
	expect_error(POL "    conditions: { locations: { include: [mars] } }\n    grant: block\n",
	             "policies.yaml:5:42", "no location has id \"mars\"");
	expect_error(POL "    conditions: { locations: { exclude: [corp] } }\n    grant: block\n",
	             "policies.yaml:5:30", "non-empty include");
	expect_error(POL "    conditions: { user_risk: [severe] }\n    grant: block\n",
	             "policies.yaml:5:30", "unknown risk level \"severe\"");
	expect_error(POL "    conditions: { device_platforms: { include: [beos] } }\n"
	                 "    grant: block\n",
	             "policies.yaml:5:48", "unknown platform \"beos\"");
	expect_error(POL "    conditions: { client_apps: [desktop] }\n    grant: block\n",
	             "policies.yaml:5:32", "unknown client app \"desktop\"");
	expect_error(POL
	             "    conditions: { device_filter: { rules: [{ attribute: trust, equals: x }] "
	             "} }\n    grant: block\n",
	             "policies.yaml:5:34", "needs mode and rules");
	expect_error(
	    POL "    conditions: { device_filter: { mode: include, rules: [{ attribute: "
	        "color, equals: x }] } }\n    grant: block\n",
	    "policies.yaml:5:72",
	    "attribute is id, compliant, managed, trust, platform or os_version, not \"color\"");
	expect_error(POL "    conditions: { device_filter: { mode: include, rules: [{ attribute: "
	                 "trust, equals: x, prefix: y }] } }\n    grant: block\n",
	             "policies.yaml:5:98", "exactly one of equals, in and prefix");
	expect_error(POL "    session: { sign_in_frequency: 10s }\n", "policies.yaml:5:35",
	             "between 1m and 365d");
	expect_error(POL "    state: on\n    grant: block\n", "policies.yaml:5:12",
	             "enabled, report-only or disabled");
	expect_error(POL "    grant: block\n"
	                 "  - id: p\n    users: { include: all }\n    apps: { include: all }\n"
	                 "    grant: block\n",
	             "policies.yaml:6:5",
	             "duplicate policy id \"p\" (first defined at /p/policies.yaml:2:5)");
}

static void
app_location_strength_errors(void **state)
{
	(void)state;
	expect_error("apps:\n  - id: admin-portal\n    hosts: [x.example.com]\n",
	             "policies.yaml:2:5",
	             "duplicate app id \"admin-portal\" (first defined at "
	             "/p/apps.yaml:2:5)");
	expect_error("apps:\n  - id: a\n", "policies.yaml:2:5", "needs \"hosts\"");
	expect_error("apps:\n  - id: a\n    hosts: ['a b']\n", "policies.yaml:3:12",
	             "not a host name");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    paths: [admin]\n", "policies.yaml:4:12",
	             "starting with '/'");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    methods: [get]\n", "policies.yaml:4:15",
	             "methods are case-sensitive (RFC 9110): \"get\" is not GET");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    methods: [GET, \"P OST\"]\n",
	             "policies.yaml:4:20", "\"P OST\" is not an HTTP method token");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    methods: { only: [GET] }\n",
	             "policies.yaml:4:16", "only");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    methods: { except: [] }\n",
	             "policies.yaml:4:24", "must not be empty");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    paths: [\"/a;b/\"]\n",
	             "policies.yaml:4:12", "cannot hold ';'");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    case_insensitive: true\n"
	             "    paths: [/Payroll./]\n",
	             "policies.yaml:2:5", "\"/payroll./\" cannot be a prefix");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    case_insensitive: yes please\n",
	             "policies.yaml:4:23", "");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    paths: [\"/a\\\\b/\"]\n",
	             "policies.yaml:4:12", "cannot hold '\\'");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    case_insensitive: true\n"
	             "    paths: [\"/Caf\\u00e9/\"]\n",
	             "policies.yaml:2:5", "ASCII case folding only, so \"/caf\xc3\xa9/\" cannot");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    case_insensitive: true\n"
	             "    paths: [/PAYROL~1/]\n",
	             "policies.yaml:2:5", "\"/payrol~1/\" cannot be a prefix");
	expect_error("apps:\n  - id: a\n    hosts: [h]\n    case_insensitive: true\n"
	             "    paths: [\"/a:b/\"]\n",
	             "policies.yaml:2:5", "\"/a:b/\" cannot be a prefix");
	/* Case folding belongs to the upstream behind a host: its apps agree on it. */
	expect_error(
	    "apps:\n  - { id: strong, hosts: [h], paths: [/payroll/admin/] }\n"
	    "  - { id: mid, hosts: [h, i], paths: [/payroll/], case_insensitive: true }\n"
	    "  - { id: weak, hosts: [h] }\n",
	    "policies.yaml:3:5",
	    "app \"mid\" is case_insensitive on h but app \"strong\" (/p/policies.yaml:2:5) "
	    "is not");
	expect_error("apps:\n  - { id: r, hosts: [h], paths: [/p/], methods: [GET] }\n"
	             "  - { id: w, hosts: [h], paths: [/p/], methods: [POST], "
	             "case_insensitive: true }\n",
	             "policies.yaml:3:5", "declare it on every app of the host or on none");
	/* Method lists that share a method on the same host and path are ambiguous. */
	expect_error("apps:\n  - id: a\n    hosts: [api.example.com]\n    paths: [/payroll/]\n"
	             "    methods: [PROPFIND]\n",
	             "policies.yaml:2:5", "both claim api.example.com/payroll/");
	expect_error("apps:\n  - { id: a, hosts: [h], methods: [MOVE] }\n"
	             "  - { id: b, hosts: [h], methods: { except: [GET] } }\n",
	             "policies.yaml", "both claim h/");
	expect_error("apps:\n  - id: a\n    hosts: [api.example.com]\n    paths: [/payroll/]\n"
	             "    methods: [GET]\n",
	             "policies.yaml:2:5", "both claim api.example.com/payroll/");
	expect_error("locations:\n  - id: l\n    ranges: [10.0.0.1/8]\n", "policies.yaml:3:13",
	             "host bits set");
	expect_error("locations:\n  - id: l\n    ranges: [10.0.0.0/40]\n", "policies.yaml:3:13",
	             "prefix length");
	expect_error("locations:\n  - id: l\n    countries: [Germany]\n", "policies.yaml:3:16",
	             "ISO 3166 alpha-2");
	expect_error("locations:\n  - id: l\n    trusted: true\n", "policies.yaml:2:5",
	             "needs \"ranges\" or \"countries\"");
	expect_error("strengths:\n  - id: s\n    combinations: [hwk]\n", "policies.yaml:3:20",
	             "list of amr values");
	expect_error("strengths:\n  - id: s\n    combinations: [[]]\n", "policies.yaml:3:20",
	             "must not be empty");
	expect_error("strengths:\n  - id: s\n    combinations: [[a]]\n    acr: ['a b']\n",
	             "policies.yaml:4:10", "may not hold spaces");
	expect_error("strengths:\n  - id: phishing-resistant\n    combinations: [[a]]\n",
	             "policies.yaml:2:5", "duplicate strength id");
	expect_error("apps: {}\n", "policies.yaml:1:7", "apps is a list");
	no_mismatches();
}

static void
warnings_for_contradictions(void **state)
{
	char err[512];
	struct policy_set *s = load2(apps_yaml,
	                             "policies:\n  - id: w\n    users: { include: { groups: [g] }, "
	                             "exclude: { groups: [g] } }\n    apps: { include: [api], "
	                             "exclude: [api] }\n    grant: block\n",
	                             err, sizeof(err));

	(void)state;
	assert_non_null(s);
	assert_int_equal(s->n_warnings, 2);
	assert_non_null(strstr(s->warnings[0],
	                       "/p/policies.yaml:2:5: warning: policy \"w\" "
	                       "includes and excludes the same user, group or role"));
	assert_non_null(strstr(s->warnings[1], "includes and excludes the same app"));
	policy_set_free(s);
}

/* Any method token, case-sensitive; { except: [...] } for every other method. */
static void
method_tokens_and_except(void **state)
{
	char err[512];
	struct policy_set *s =
	    load2(apps_yaml,
	          "apps:\n  - { id: dav, hosts: [h], methods: [PROPPATCH, MKCOL, GET, X-Custom] }\n"
	          "  - { id: other, hosts: [h], methods: { except: [PROPPATCH, MKCOL, GET, "
	          "X-Custom] } }\n",
	          err, sizeof(err));
	const struct pol_methods *dav, *other;

	(void)state;
	if (s == NULL)
		fail_msg("%s", err);
	dav = &s->apps[4].methods;
	other = &s->apps[5].methods;
	assert_int_equal(dav->known, METHOD_BIT(METHOD_GET));
	assert_int_equal(dav->n_other, 3);
	assert_true(policy_methods_match(dav, "PROPPATCH", 0));
	assert_true(policy_methods_match(dav, "X-Custom", 0));
	assert_false(policy_methods_match(dav, "x-custom", 0)); /* case-sensitive */
	assert_false(policy_methods_match(dav, "POST", policy_method_bit("POST")));
	assert_true(policy_methods_match(dav, "GET", policy_method_bit("GET")));
	assert_false(policy_methods_match(other, "PROPPATCH", 0));
	assert_true(policy_methods_match(other, "PURGE", 0));
	assert_true(policy_methods_match(other, "POST", policy_method_bit("POST")));
	assert_false(policy_methods_match(other, "GET", policy_method_bit("GET")));
	assert_int_equal(s->n_warnings, 0);
	policy_set_free(s);
	assert_true(policy_method_token("PROPPATCH"));
	assert_true(policy_method_token("M-SEARCH"));
	assert_true(policy_method_token("x!#$%&'*+.^_`|~9"));
	assert_false(policy_method_token(""));
	assert_false(policy_method_token(NULL));
	assert_false(policy_method_token("GET "));
	assert_false(policy_method_token("G\tET"));
	assert_false(policy_method_token("GET/1"));
	assert_false(policy_method_token("G\xc3\xa9T"));
}

/* An app that lists its methods, where other methods fall through to a weaker app. */
static void
warns_when_methods_fall_through(void **state)
{
	char err[512];
	struct policy_set *s;

	(void)state;
	s = load2("apps:\n"
	          "  - id: pay-write\n    hosts: [api.example.com]\n    paths: [/payroll/]\n"
	          "    methods: [POST, PUT, PATCH, DELETE]\n"
	          "  - id: pay-read\n    hosts: [api.example.com]\n    paths: [/payroll/]\n"
	          "    methods: [GET, HEAD]\n"
	          "  - id: api\n    hosts: [api.example.com]\n"
	          "  - id: hr-write\n    hosts: [hr.example.com]\n    paths: [/admin/]\n"
	          "    methods: { except: [GET, HEAD] }\n"
	          "  - id: hr-read\n    hosts: [hr.example.com]\n    paths: [/admin/]\n"
	          "    methods: [GET]\n",
	          "locations:\n  - { id: l, countries: [DE] }\n", err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(s->n_warnings, 3);
	/* Only lists on api.example.com/payroll/: each app is told, pointing at its list. */
	assert_non_null(strstr(s->warnings[0], "/p/apps.yaml:5:14: warning: app \"pay-write\" "
	                                       "lists its methods: PROPPATCH on "
	                                       "api.example.com/payroll/ falls through to the less "
	                                       "specific app \"api\""));
	assert_non_null(strstr(s->warnings[1], "/p/apps.yaml:9:14: warning: app \"pay-read\""));
	/* HEAD on hr.example.com/admin/ is left by both, and no app covers "/". */
	assert_non_null(strstr(s->warnings[2], "warning: app \"hr-read\" lists its methods: HEAD "
	                                       "on hr.example.com/admin/ falls through to no app"));
	policy_set_free(s);
}

static void
own_mfa_replaces_builtin(void **state)
{
	char err[512];
	struct policy_set *s = load2("strengths:\n  - id: mfa\n    combinations: [[otp]]\n",
	                             POL "    grant: { controls: [mfa] }\n", err, sizeof(err));

	(void)state;
	assert_non_null(s);
	assert_int_equal(s->n_strengths, 1);
	assert_int_equal(s->strengths[0].n_combinations, 1);
	assert_int_equal(s->policies[0].controls[0].strength, 0);
	policy_set_free(s);
}

static void
loads_a_directory(void **state)
{
	char dir[512], path[600], err[512];
	struct policy_set *s;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/policies", test_tmpdir());
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/tests", dir);
	mkdir(path, 0700);
	test_write_file("policies/10-apps.yaml", apps_yaml);
	test_write_file("policies/20-policies.yml", policies_yaml);
	test_write_file("policies/README.md", "not yaml: ignored\n");
	test_write_file("policies/tests/cases.yaml", "cases: []\n");
	s = policy_set_load(dir, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(s->n_files, 2);
	assert_int_equal(s->n_policies, 4);
	policy_set_free(s);
	/* An error names the file inside the directory. */
	test_write_file("policies/30-bad.yaml", "policies:\n  - id: x\n    users: nobody\n");
	assert_null(policy_set_load(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "/policies/30-bad.yaml:3:12:"));
	assert_null(policy_set_load("/nonexistent/policies", err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	/* Read until two reads agree: a directory at rest agrees at once. */
	unlink(test_path("policies/30-bad.yaml"));
	s = policy_set_load_settled(dir, 1, 5, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(s->n_policies, 4);
	policy_set_free(s);
	/* A file cut to nothing is an error here too. */
	test_write_file("policies/30-baseline.yaml", "");
	assert_null(policy_set_load_settled(dir, 1, 5, err, sizeof(err)));
	assert_non_null(strstr(err, "/policies/30-baseline.yaml:1:1: the file holds nothing"));
	/* The names the loader reads: what the daemon waits for while they are being written. */
	assert_true(policy_set_reads("30-baseline.yaml"));
	assert_true(policy_set_reads("a.yml"));
	assert_false(policy_set_reads(".30-baseline.yaml"));
	assert_false(policy_set_reads(".30-baseline.yaml.swp"));
	assert_false(policy_set_reads("30-baseline.tmp"));
	assert_false(policy_set_reads(".yaml"));
	assert_false(policy_set_reads("README.md"));
}

/* A file cut to nothing, or to its first line, is an error: never a smaller set. */
static void
empty_documents_are_errors(void **state)
{
	char err[1024];
	struct policy_set *s;

	(void)state;
	expect_error("", "policies.yaml:1:1",
	             "the file holds nothing (empty, or only comments); write \"policies: []\"");
	expect_error("# the baseline\n\n# more comments\n", "policies.yaml:1:1",
	             "write \"policies: []\" if nothing is meant to be here");
	expect_error("~\n", "policies.yaml:1:1", "the document is null");
	expect_error("null\n", "policies.yaml:1:1", "the document is null");
	expect_error("policies:\n", "policies.yaml:1:1",
	             "policies has no value; write \"policies: []\" if the list is meant to be "
	             "empty");
	expect_error("policies: ~\n", "policies.yaml:1:1", "policies has no value");
	expect_error("strengths: []\npolicies:\n# cut here\n", "policies.yaml:2:1",
	             "policies has no value");
	no_mismatches();
	/* Said explicitly, nothing is fine. */
	s = load2(apps_yaml, "policies: []\n", err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(s->n_policies, 0);
	policy_set_free(s);
}

static struct policy_set *
load_policies(const char *text)
{
	char err[1024];
	struct policy_set *s = load2(apps_yaml, text, err, sizeof(err));

	if (s == NULL)
		fail_msg("%s", err);
	return s;
}

/* What a reload would drop: enforced policies gone or no longer enforced. */
static void
counts_dropped_policies(void **state)
{
	struct policy_set *old = load_policies(policies_yaml), *set;
	char ids[64];
	size_t enforced = 99;

	(void)state;
	assert_int_equal(policy_set_dropped(old, old, &enforced, ids, sizeof(ids)), 0);
	assert_int_equal(enforced, 2); /* report-only and disabled ones do not count */
	assert_string_equal(ids, "");
	set = load_policies("policies: []\n");
	assert_int_equal(policy_set_dropped(old, set, &enforced, ids, sizeof(ids)), 2);
	assert_string_equal(ids, "block-embargoed, payroll-writes");
	policy_set_free(set);
	set = load_policies("policies:\n"
	                    "  - id: payroll-writes\n"
	                    "    state: report-only\n"
	                    "    users: { include: all }\n"
	                    "    apps: { include: all }\n"
	                    "    grant: block\n"
	                    "  - id: block-embargoed\n"
	                    "    users: { include: all }\n"
	                    "    apps: { include: all }\n"
	                    "    grant: block\n"
	                    "  - id: new-one\n"
	                    "    users: { include: all }\n"
	                    "    apps: { include: all }\n"
	                    "    grant: block\n");
	assert_int_equal(policy_set_dropped(old, set, &enforced, ids, sizeof(ids)), 1);
	assert_string_equal(ids, "payroll-writes");
	policy_set_free(set);
	policy_set_free(old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(loads_the_whole_model),
	    cmocka_unit_test(indexes_routes_and_candidates),
	    cmocka_unit_test(revision_follows_content),
	    cmocka_unit_test(loader_errors),
	    cmocka_unit_test(app_location_strength_errors),
	    cmocka_unit_test(warnings_for_contradictions),
	    cmocka_unit_test(method_tokens_and_except),
	    cmocka_unit_test(warns_when_methods_fall_through),
	    cmocka_unit_test(own_mfa_replaces_builtin),
	    cmocka_unit_test(loads_a_directory),
	    cmocka_unit_test(empty_documents_are_errors),
	    cmocka_unit_test(counts_dropped_policies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
