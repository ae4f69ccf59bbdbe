/* checks.h - the closed set of check kinds a coverage checklist names, and what each assesses */
#ifndef PDP_EVIDENCE_CHECKS_H
#define PDP_EVIDENCE_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/yaml_doc.h"
#include "policy/policy.h"

/* CISA ZTMM v2's maturity stages, in order. */
enum stage { STAGE_TRADITIONAL, STAGE_INITIAL, STAGE_ADVANCED, STAGE_OPTIMAL, STAGE_COUNT };
/* "traditional" ... "optimal", NULL-ended; and as people read them: "Traditional" ... */
extern const char *const stage_names[STAGE_COUNT + 1];
extern const char *const stage_titles[STAGE_COUNT];

enum check_status { CHECK_NOT_MET, CHECK_PARTLY, CHECK_MET };
/* "not_met", "partly", "met" */
extern const char *const check_status_names[3];

/* A named class of apps: shell patterns (fnmatch) over app ids. */
struct app_class {
	const char *id;
	const char *description;
	const char **patterns;
	size_t n_patterns;
};

/* What the daemon's config says, as far as a check reads it (filled by the command). */
struct coverage_config {
	const char *path;         /* NULL: no config given, every key at its default */
	const char *decision_log; /* NULL: none */
	const char *store;        /* the store's backend: "redis", "file" or "none" */
	bool store_events;        /* the backend publishes invalidation events */
	bool store_error_deny;    /* store.on_store_error: deny */
	bool default_deny;        /* default_decision: deny */
};

/* How the set's test cases went: per policy, the passing cases it applied in. */
struct coverage_tests {
	const char *dir;
	const char *error; /* NULL, or why the cases could not be read */
	size_t n_cases, n_passed;
	size_t *hits;        /* per policy of the set */
	const char **first;  /* per policy: the first passing case it applied in, or NULL */
	const char *failing; /* the first failing case, or NULL */
};

/* Everything a check reads. */
struct coverage_facts {
	const char *policy_dir;
	const struct policy_set *set;
	const struct coverage_config *config;
	const struct coverage_tests *tests;
};

/* The grant controls a require_grant check may ask for, as bits. */
enum grant_kind {
	GRANT_MFA, /* any authentication strength */
	GRANT_AUTHENTICATION_STRENGTH,
	GRANT_COMPLIANT_DEVICE,
	GRANT_HYBRID_JOINED_DEVICE,
	GRANT_APPROVED_CLIENTS,
	GRANT_PASSWORD_CHANGE,
	GRANT_BLOCK,
	GRANT_COUNT
};

enum store_error_want { WANT_DENY, WANT_ALLOW, WANT_ANY };
enum exclusion_scope { SCOPE_BLOCK, SCOPE_ENFORCED };

struct check_kind;

/* One control's check: its kind's parameters (each kind reads only its own keys). */
struct check_params {
	const struct check_kind *kind;
	unsigned grant;            /* bits of enum grant_kind: any one of them */
	const char **strength_amr; /* a strength counts when each combination has one */
	size_t n_strength_amr;
	const char **strength_acr; /* acr values the check takes as meeting strength_amr */
	size_t n_strength_acr;
	const char *apps;                  /* a class id, or "all" (also when not given) */
	const struct app_class *app_class; /* resolved; NULL: every app */
	unsigned user_risk, sign_in_risk;  /* RISK_BIT masks the policy must condition on */
	bool users_all;                    /* only policies on all users count in full */
	uint64_t max_ms;                   /* session_bound: the longest sign-in frequency */
	bool events;                       /* context_store: the backend must publish events */
	int on_store_error;                /* enum store_error_want */
	bool to_file;                      /* decision_log: stderr is only partial */
	int value;                         /* default_decision: enum decision_default */
	bool report_only;                  /* test_coverage: report-only policies need cases too */
	const char **accounts;             /* exclusion: break-glass user patterns */
	size_t n_accounts;
	int scope;                      /* exclusion: enum exclusion_scope */
	const char *const *break_glass; /* the checklist's: user patterns a policy may exclude */
	size_t n_break_glass;
	const yaml_node_t *apps_node; /* while parsing: where apps was given */
};

/* Up to this many bytes of evidence ('\n' between items) and of what would raise it. */
#define CHECK_EVIDENCE_MAX 4096
#define CHECK_RAISE_MAX    1024

struct check_result {
	enum check_status status;
	char evidence[CHECK_EVIDENCE_MAX];
	char raise[CHECK_RAISE_MAX];
};

/* One kind: its name, its parameters' key rows, what it needs, and its assessment. */
struct check_kind {
	const char *name;
	const struct ydoc_key *keys; /* every row but "kind", which the checklist reads */
	/* After the rows: 0, or -1 with file:line:col at check when a parameter is missing. */
	int (*validate)(struct ydoc_parse *p, yaml_node_t *check, const struct check_params *cp);
	void (*assess)(const struct check_params *cp, const struct coverage_facts *f,
	               struct check_result *r);
};

/* The kind called name, or NULL; check_kind_list: their names, for an error. */
const struct check_kind *check_kind_find(const char *name);
const char *check_kind_list(void);

#endif
