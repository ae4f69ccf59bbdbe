/* coverage.h - a policy set, its config and its test cases assessed against a checklist */
#ifndef PDP_EVIDENCE_COVERAGE_H
#define PDP_EVIDENCE_COVERAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "evidence/checklist.h"
#include "evidence/checks.h"
#include "policy/cases.h"
#include "policy/policy.h"

/*
 * Runs cases (may be NULL: error says why there are none) against set at
 * now as `pdp test` does, into t: how many passed, and per policy the
 * passing cases it applied in (enforced or report-only). dir names the
 * cases' directory. t borrows the case names from cases; 0, or -1 when out
 * of memory. Free with coverage_tests_free.
 */
int coverage_tests_run(const struct policy_set *set, const struct policy_cases *cases,
                       const char *dir, const char *error, int64_t now, bool default_allow,
                       struct coverage_tests *t);
void coverage_tests_free(struct coverage_tests *t);

struct coverage_result {
	const struct control *control;
	struct check_result result;
};

/* One pillar's stage: the highest stage S such that every control of the pillar that
 * evidences S or a lower stage is met (traditional when none). */
struct coverage_pillar {
	size_t n_controls, n_met;
	int stage; /* enum stage */
	int next;  /* the next stage a control of the pillar evidences, or -1 */
};

struct coverage {
	const struct checklist *cl;
	const struct coverage_facts *facts;
	struct coverage_result *results; /* one per control, in checklist order */
	size_t n;
	struct coverage_pillar pillars[PILLAR_COUNT];
	int stage; /* the same over every control: the set's overall stage */
};

/* Assesses every control of cl on f (both must outlive the result): NULL when out of
 * memory. Free with coverage_free. */
struct coverage *coverage_assess(const struct checklist *cl, const struct coverage_facts *f);
void coverage_free(struct coverage *c);

/* Whether result i stands between its pillar and stage: not met, and its control evidences
 * stage or a lower one. */
bool coverage_needed(const struct coverage *cov, size_t i, int stage);

/* The assessment as Markdown (for people), JSON (for scripts) or CSV (RFC 4180, one row per
 * control after a header row, for a spreadsheet): 0, or -1 when out was not written in full
 * (or the JSON document could not be built). */
int coverage_markdown(FILE *out, const struct coverage *cov);
int coverage_json(FILE *out, const struct coverage *cov);
int coverage_csv(FILE *out, const struct coverage *cov);

#endif
