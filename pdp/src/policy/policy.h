/* policy.h - the policy set: apps, locations, strengths and policies, immutable once loaded */
#ifndef PDP_POLICY_H
#define PDP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/netaddr.h"
#include "core/types.h"

/* An interned name (user, group, role, amr value, client id) that no policy uses. */
#define POLICY_NO_ID UINT32_MAX
/* amr values are bits of a 64-bit set: RFC 8176 registers about twenty. */
#define POLICY_MAX_AMR 64

enum policy_state { POLICY_ENABLED, POLICY_REPORT_ONLY, POLICY_DISABLED, POLICY_STATE_COUNT };
/* "enabled", "report-only", "disabled"; NULL-ended, for choice rows. */
extern const char *const policy_state_names[POLICY_STATE_COUNT + 1];

/* The well-known HTTP methods, as bits; an app names any other method token by its name. */
enum http_method {
	METHOD_GET,
	METHOD_HEAD,
	METHOD_POST,
	METHOD_PUT,
	METHOD_PATCH,
	METHOD_DELETE,
	METHOD_OPTIONS,
	METHOD_COUNT
};
#define METHOD_BIT(m) (1u << (m))

/* Returns the enum value named name in names[0..count), or -1. */
int policy_name_lookup(const char *const *names, int count, const char *name);
extern const char *const policy_method_names[METHOD_COUNT];

/*
 * The methods an app covers: every method (!limited), the listed ones, or
 * every method but the listed ones (except). Names are RFC 9110 method
 * tokens, compared case-sensitively.
 */
struct pol_methods {
	bool limited;
	bool except;
	unsigned known;     /* METHOD_BIT of the listed well-known methods */
	const char **other; /* the other listed tokens */
	size_t n_other;
	const char *where; /* "file:line:col" of the list */
};

/* Whether method is an RFC 9110 token (1*tchar). */
bool policy_method_token(const char *method);
/* The METHOD_BIT of a well-known method, 0 for any other token. */
unsigned policy_method_bit(const char *method);
/* Whether m covers method, whose policy_method_bit is bit. */
bool policy_methods_match(const struct pol_methods *m, const char *method, unsigned bit);

/* A sorted list of interned ids. */
struct idlist {
	const uint32_t *ids;
	size_t n;
};

struct pol_app {
	const char *id;
	const char **hosts; /* lower case */
	size_t n_hosts;
	const char **paths; /* prefixes, "/" by default; lower case when case_insensitive */
	size_t n_paths;
	struct pol_methods methods;
	/* A Windows-like upstream (IIS): paths match with ASCII case folded, trailing
	 * dots and spaces of segments ignored and '\\' as a separator. */
	bool case_insensitive;
	const char *where; /* "file:line:col" */
};

struct pol_location {
	const char *id;
	struct netrange *ranges;
	size_t n_ranges;
	uint16_t *countries; /* 'D' << 8 | 'E' */
	size_t n_countries;
	bool unknown_country; /* "unknown" listed: matches requests with no country */
	bool trusted;
	const char *where;
};

struct pol_strength {
	const char *id;
	const uint64_t *combinations; /* each an amr bit set; one satisfied suffices */
	size_t n_combinations;
	const char **acr; /* sent in acr_values on step-up; a token acr in it satisfies too */
	size_t n_acr;
	const char *where;
};

struct pol_users {
	bool all;
	struct idlist users, groups, roles;
};

struct pol_apps {
	bool all;
	struct idlist apps; /* indexes into set->apps */
};

struct pol_locations {
	bool any;
	bool trusted;
	struct idlist locations; /* indexes into set->locations */
};

enum filter_op { FILTER_EQUALS, FILTER_IN, FILTER_PREFIX };
enum filter_mode { FILTER_MODE_INCLUDE, FILTER_MODE_EXCLUDE };
enum filter_match { FILTER_MATCH_ALL, FILTER_MATCH_ANY };
enum device_attr {
	DEVICE_ATTR_ID,
	DEVICE_ATTR_COMPLIANT,
	DEVICE_ATTR_MANAGED,
	DEVICE_ATTR_TRUST,
	DEVICE_ATTR_PLATFORM,
	DEVICE_ATTR_OS_VERSION,
	DEVICE_ATTR_COUNT
};
/* NULL-ended, for choice rows. */
extern const char *const policy_device_attr_names[DEVICE_ATTR_COUNT + 1];

struct pol_filter_rule {
	enum device_attr attr;
	enum filter_op op;
	const char **values; /* one for equals and prefix */
	size_t n_values;
};

struct pol_device_filter {
	bool present;
	enum filter_mode mode;   /* include: the policy applies to matching devices */
	enum filter_match match; /* any: rules combined with OR instead of AND */
	struct pol_filter_rule *rules;
	size_t n_rules;
};

struct pol_conditions {
	unsigned user_risk;    /* RISK_BIT mask; 0: not named */
	unsigned sign_in_risk; /* RISK_BIT mask; 0: not named */
	bool has_locations;
	struct pol_locations loc_include, loc_exclude;
	bool has_platforms;
	unsigned platform_include, platform_exclude; /* PLATFORM_BIT masks */
	unsigned client_apps;                        /* CLIENT_BIT mask; 0: not named */
	struct pol_device_filter device_filter;
};

enum control_type {
	CONTROL_STRENGTH, /* mfa is the strength "mfa" */
	CONTROL_COMPLIANT_DEVICE,
	CONTROL_HYBRID_JOINED_DEVICE,
	CONTROL_APPROVED_CLIENTS,
	CONTROL_PASSWORD_CHANGE,
};

enum grant_require { GRANT_REQUIRE_ALL, GRANT_REQUIRE_ONE };

struct pol_control {
	enum control_type type;
	uint32_t strength;     /* index into set->strengths */
	struct idlist clients; /* approved client ids */
};

/* sign_in_frequency when the policy sets none. */
#define POLICY_NO_FREQUENCY (-1)
/* "every_time": a sign-in no older than this many seconds (clock skew). */
#define POLICY_EVERY_TIME_S 300

struct pol_policy {
	const char *id;
	const char *name;
	enum policy_state state;
	struct pol_users users_include, users_exclude;
	struct pol_apps apps_include, apps_exclude;
	struct pol_conditions cond;
	bool block;
	enum grant_require require; /* one (OR) or all (AND) of the controls */
	struct pol_control *controls;
	size_t n_controls;
	int64_t sign_in_frequency_s; /* POLICY_NO_FREQUENCY when unset */
	const char *where;
};

/* Interned names of one kind: id -> name, and a hash index name -> id. */
struct strtab {
	const char **names;
	size_t n;
	uint32_t *slots; /* id + 1, 0 empty; open addressing */
	size_t mask;
};

/* The id of name in t, or POLICY_NO_ID. */
uint32_t strtab_find(const struct strtab *t, const char *name);

/*
 * A policy that may apply to an app, with a 64-bit filter of the user, group
 * and role ids its users.include names (all ones for "all"). A subject whose
 * own filter shares no bit with it cannot be included, so the policy is
 * skipped without being read: the filter only ever skips, never admits.
 */
struct candidate {
	uint32_t policy;
	/* When users.include names at most CANDIDATE_INLINE ids, they are here and
	 * the check is exact; CANDIDATE_NOT_INLINE: only the filter applies. */
	uint8_t n_inline;
	uint8_t kinds[3]; /* 0 users, 1 groups, 2 roles */
	uint32_t ids[3];
	uint64_t users_filter;
};
#define CANDIDATE_INLINE     3
#define CANDIDATE_NOT_INLINE 0xff

struct candidates {
	const struct candidate *list;
	size_t n;
};

/* The filter bit of an interned id of one kind (0 users, 1 groups, 2 roles). */
static inline uint64_t
policy_filter_bit(unsigned kind, uint32_t id)
{
	return 1ull << ((((uint64_t)id << 2 | kind) * 0x9e3779b97f4a7c15ull) >> 58);
}

/* One path prefix of one host, and the app it maps to. */
struct route {
	const char *path;
	size_t path_len;
	uint32_t app;
};

struct host_routes {
	const char *host;
	struct route *routes; /* longest path first */
	size_t n_routes;
	bool case_insensitive; /* its apps are (they all agree): requests match folded */
};

struct policy_set {
	struct arena mem; /* owns everything below */
	char revision[17];
	uint64_t serial; /* set once when served (never reused, unlike an address); 0 otherwise */
	size_t n_files;
	struct pol_app *apps;
	size_t n_apps;
	struct pol_location *locations;
	size_t n_locations;
	struct pol_strength *strengths;
	size_t n_strengths;
	struct pol_policy *policies;
	size_t n_policies;
	struct strtab users, groups, roles, amr, clients;
	struct host_routes *hosts; /* sorted by host */
	size_t n_hosts;
	struct strtab host_ids; /* host name -> its index in hosts */
	/* app_policies[i]: the policies that may apply to apps[i] (apps include all or
	 * name it); app_policies[n_apps]: those for a request that maps to no app. */
	struct candidates *app_policies;
	const char **warnings; /* contradictions worth a look, with file:line:col */
	size_t n_warnings;
};

#endif
