/* cases.h - policy test cases (policies/tests/ files): what-if requests and expectations */
#ifndef PDP_POLICY_CASES_H
#define PDP_POLICY_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/types.h"
#include "policy/eval.h"

/* One case: a caller, a request, and what the policies should decide. */
struct policy_case {
	const char *name;
	const char *where; /* file:line:col */
	struct subject subject;
	/* The block subject points into, when claims made it; freed with the cases. */
	struct subject *mapped;
	struct device_record device;
	bool has_device;
	struct user_record user;
	bool has_user;
	const char *method, *host, *uri, *ip, *country, *user_agent;
	enum client_app client;
	enum decision expect;
	const char **expect_policies; /* enforced policies that applied, any order */
	size_t n_expect_policies;
	bool has_expect_policies;
};

/*
 * How a case's claims become its subject: the tools map them as the daemon
 * maps a token's payload, by an issuer's claim mapping (DESIGN §8). map gets
 * the claims as one JSON object (len bytes, writable: parsed in place) and
 * returns 0 with *out, a malloc'd subject the cases own from then on; or -1
 * with the reason in why and, when one top-level member is at fault, its
 * name in at ("" otherwise).
 */
struct policy_claims_map {
	int (*map)(void *ctx, char *json, size_t len, struct subject **out, char *at, size_t atsz,
	           char *why, size_t whysz);
	void *ctx;
};

struct policy_cases {
	struct arena mem; /* owns every case and string */
	struct policy_case *cases;
	size_t n;
};

/*
 * Loads the cases of every *.yaml / *.yml file in dir (in name order). A
 * case's claims are read as a token's JSON payload (YAML scalars typed as
 * YAML's core schema types them) and made its subject by map. Times in
 * claims (auth_time, iat) that are negative are seconds before now; iat
 * defaults to now. Unknown keys and bad values are errors naming
 * file:line:col. Returns NULL with the reason in err; free with
 * policy_cases_free.
 */
struct policy_cases *policy_cases_load(const char *dir, int64_t now,
                                       const struct policy_claims_map *map, char *err,
                                       size_t errsz);

/* The same from one buffer (name is used in messages). */
struct policy_cases *policy_cases_load_buffer(const char *name, const char *buf, int64_t now,
                                              const struct policy_claims_map *map, char *err,
                                              size_t errsz);

/*
 * What pdp explain was given: the request's fields as text (NULL: the case
 * default, GET / from an API client), and the caller either as claims text
 * or as a verified token's subject. claims, device and user are read as a
 * case's claims, device and user keys (a flow mapping, YAML or JSON), each
 * as a document of its own.
 */
struct policy_explain {
	const char *method, *host, *uri, *ip, *country, *client, *user_agent;
	const char *claims;                  /* NULL when subject is given */
	const struct policy_claims_map *map; /* makes claims a subject */
	const struct subject *subject;       /* used as is; must outlive the cases */
	const char *device, *user;           /* NULL: no record */
};

/*
 * The one case (named "explain") that x describes, at now. Errors name the
 * option and, within its value, line:col. Returns NULL with the reason in
 * err; free with policy_cases_free.
 */
struct policy_cases *policy_case_explain(const struct policy_explain *x, int64_t now, char *err,
                                         size_t errsz);

void policy_cases_free(struct policy_cases *pc);

/*
 * Fills in (and ids, with room in buf for bufn ids) for case c against set at
 * now; default_allow is the config's default_decision.
 */
void policy_case_input(const struct policy_set *set, const struct policy_case *c, int64_t now,
                       bool default_allow, uint32_t *buf, size_t bufn, struct subject_ids *ids,
                       struct eval_input *in);

/*
 * Decides case c against set at now as the daemon would: claims that signal
 * a group overage the issuer denies are a deny before any policy (res holds
 * only that; in is left as it was); else in is filled as policy_case_input
 * fills it and evaluated into res.
 */
void policy_case_run(const struct policy_set *set, const struct policy_case *c, int64_t now,
                     bool default_allow, uint32_t *buf, size_t bufn, struct subject_ids *ids,
                     struct eval_input *in, struct eval_result *res);

/* Whether res is what c expects: its decision and, when it lists them, exactly its
 * expect_policies as the enforced policies that applied. */
bool policy_case_passes(const struct policy_set *set, const struct policy_case *c,
                        const struct eval_result *res);

#endif
