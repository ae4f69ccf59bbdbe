/* eval.h - conditional-access evaluation of one request against a policy set */
#ifndef PDP_POLICY_EVAL_H
#define PDP_POLICY_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/types.h"
#include "policy/policy.h"

/* Named locations a set may hold: a request's matches are one bitmap on the stack. */
#define EVAL_MAX_LOCATIONS 4096
/* Policies listed in a result (applied, report-only); more are counted, not listed. */
#define EVAL_MAX_LISTED 32

/*
 * A subject as ids of one policy set: only the names some policy uses, so
 * matching compares integers. Fill with eval_subject_ids once per token and set.
 */
struct subject_ids {
	uint64_t users_filter; /* policy_filter_bit of user, groups and roles */
	uint32_t user;
	uint32_t client;
	uint64_t amr;
	const uint32_t *groups; /* sorted */
	size_t n_groups;
	const uint32_t *roles; /* sorted */
	size_t n_roles;
};

/*
 * Translates s into ids of set, writing group and role ids into buf (room for
 * bufn ids; s->groups.n + s->roles.n is always enough). No allocation.
 */
void eval_subject_ids(const struct policy_set *set, const struct subject *s, uint32_t *buf,
                      size_t bufn, struct subject_ids *out);

struct eval_input {
	const struct subject *subject;
	const struct subject_ids *ids;
	const char *method;
	const char *host;
	const char *uri;     /* as nginx's $request_uri: normalised here before matching */
	const char *ip;      /* NULL or unparsable: matches no range */
	const char *country; /* ISO 3166 alpha-2, NULL: unknown */
	const char *user_agent;
	enum client_app client;
	const struct device_record *device;
	const struct user_record *user;
	int64_t now;
	bool default_allow;
};

/* Why a policy does not apply, or EVAL_APPLIES. In evaluation order. */
enum eval_why {
	EVAL_APPLIES,
	EVAL_DISABLED,
	EVAL_USER_NOT_INCLUDED,
	EVAL_USER_EXCLUDED,
	EVAL_APP_NOT_INCLUDED,
	EVAL_APP_EXCLUDED,
	EVAL_USER_RISK,
	EVAL_SIGN_IN_RISK,
	EVAL_LOCATION,
	EVAL_PLATFORM,
	EVAL_CLIENT_APP,
	EVAL_DEVICE_FILTER,
};
const char *eval_why_text(enum eval_why why);

/* One policy's verdict for one request. */
struct eval_policy {
	uint32_t policy;
	enum eval_why why;
	bool satisfied;       /* grant and session controls met (when it applies) */
	bool reauth_fixable;  /* unmet, but signing in again could meet it */
	uint32_t unmet;       /* bit i: controls[i] unmet */
	bool frequency_unmet; /* sign-in older than its sign_in_frequency */
	const char *reason;   /* short reason when unmet or blocking */
};

struct eval_result {
	enum decision decision;
	uint32_t app;         /* POLICY_NO_ID: the request maps to no app */
	bool by_default;      /* no enforced policy applied: default_decision */
	const char *deciding; /* id of the policy that decided a deny or step-up */
	const char *reason;   /* short reason for deny / step-up */
	/* enforced policies that applied */
	struct eval_policy applied[EVAL_MAX_LISTED];
	size_t n_applied;
	/* report-only policies that applied, with what they would have decided */
	struct eval_policy report_only[EVAL_MAX_LISTED];
	enum decision report_only_decision[EVAL_MAX_LISTED];
	size_t n_report_only;
	size_t n_unlisted;             /* enforced policies applied beyond EVAL_MAX_LISTED */
	size_t n_report_only_unlisted; /* report-only ones beyond it */
	/* step-up: strengths to ask for (acr_values) and the sign-in age (max_age) */
	uint32_t step_up_strengths[8];
	size_t n_step_up_strengths;
	int64_t max_age; /* -1: none */
};

/*
 * Decides in for set (DESIGN §2): applying policies, block first, every
 * applying enforced policy satisfied, strictest sign-in frequency, step-up
 * only when signing in again can satisfy every unmet policy, report-only
 * policies evaluated but never deciding, default_decision when none applies.
 * Looks only at the policies indexed for the request's app; allocates nothing.
 */
void policy_eval(const struct policy_set *set, const struct eval_input *in,
                 struct eval_result *out);

/*
 * For explain: the verdict of policy index p for in, whether or not it is a
 * candidate for the request's app. app is the request's app as
 * policy_eval found it (eval_map_app).
 */
void eval_one(const struct policy_set *set, const struct eval_input *in, uint32_t app, uint32_t p,
              struct eval_policy *out);

/* The app in maps to (host, longest path prefix, method), or POLICY_NO_ID. */
uint32_t eval_map_app(const struct policy_set *set, const struct eval_input *in);

/* eval_normalize_path flags: the path as a Windows-like upstream (IIS) reads it. */
#define EVAL_PATH_WINDOWS 1u

/*
 * Normalises a request URI's path for matching, as nginx does before matching
 * locations: query dropped, %XX decoded, "//" merged, "." and ".." resolved;
 * and as path-parameter upstreams do: ";..." cut from each segment. With
 * EVAL_PATH_WINDOWS also ASCII letters fold to lower case and trailing dots
 * and spaces of a segment go. Returns the length written to out
 * (NUL-terminated), or -1 for a path nginx would refuse (".." above the
 * root, %00, bad escapes), one too long, one holding '\\' (raw or %5C) or a
 * raw '#', a dot segment some upstreams would not see as one (escaped dots
 * or slashes, ";", runs of dots and spaces), and with EVAL_PATH_WINDOWS a
 * segment naming a stream (':'), a short name ("~1") or a non-ASCII letter
 * whose case maps to ASCII.
 */
long eval_normalize_path(const char *uri, unsigned flags, char *out, size_t outsz);

#endif
