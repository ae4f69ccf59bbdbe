/* coverage.c - a policy set, its config and its test cases assessed against a checklist */
#include "evidence/coverage.h"

#include <stdlib.h>
#include <string.h>

#include "policy/eval.h"

int
coverage_tests_run(const struct policy_set *set, const struct policy_cases *cases, const char *dir,
                   const char *error, int64_t now, bool default_allow, struct coverage_tests *t)
{
	memset(t, 0, sizeof(*t));
	t->dir = dir;
	t->error = cases == NULL ? (error != NULL ? error : "no test cases") : NULL;
	t->hits = calloc(set->n_policies + 1, sizeof(*t->hits));
	t->first = calloc(set->n_policies + 1, sizeof(*t->first));
	if (t->hits == NULL || t->first == NULL) {
		coverage_tests_free(t);
		return -1;
	}
	for (size_t i = 0; cases != NULL && i < cases->n; i++) {
		const struct policy_case *c = &cases->cases[i];
		uint32_t buf[2048];
		struct subject_ids ids;
		struct eval_input in;
		struct eval_result res;

		t->n_cases++;
		policy_case_run(set, c, now, default_allow, buf, 2048, &ids, &in, &res);
		if (!policy_case_passes(set, c, &res)) {
			if (t->failing == NULL)
				t->failing = c->name;
			continue;
		}
		t->n_passed++;
		for (size_t j = 0; j < res.n_applied + res.n_report_only; j++) {
			uint32_t p = j < res.n_applied ? res.applied[j].policy
			                               : res.report_only[j - res.n_applied].policy;

			if (t->hits[p]++ == 0)
				t->first[p] = c->name;
		}
	}
	return 0;
}

void
coverage_tests_free(struct coverage_tests *t)
{
	free(t->hits);
	free(t->first);
	t->hits = NULL;
	t->first = NULL;
}

bool
coverage_needed(const struct coverage *cov, size_t i, int stage)
{
	return cov->results[i].result.status != CHECK_MET &&
	       cov->results[i].control->stage <= stage;
}

/*
 * The highest stage S among the stages the controls i (pillar p, or every
 * pillar when p < 0) evidence such that each of them evidencing S or lower is
 * met; and in *next the lowest stage above it that some control evidences.
 */
static int
stage_reached(const struct coverage *cov, int p, int *next)
{
	int reached = STAGE_TRADITIONAL;

	*next = -1;
	for (int s = STAGE_INITIAL; s < STAGE_COUNT; s++) {
		bool present = false, blocked = false;

		for (size_t i = 0; i < cov->n; i++) {
			const struct control *c = cov->results[i].control;

			if (p >= 0 && c->pillar != p)
				continue;
			present = present || c->stage == s;
			blocked = blocked || coverage_needed(cov, i, s);
		}
		if (!present)
			continue;
		if (blocked) {
			*next = s;
			break;
		}
		reached = s;
	}
	return reached;
}

struct coverage *
coverage_assess(const struct checklist *cl, const struct coverage_facts *f)
{
	struct coverage *cov = calloc(1, sizeof(*cov));
	int next;

	if (cov == NULL || (cov->results = calloc(cl->n_controls, sizeof(*cov->results))) == NULL) {
		free(cov);
		return NULL;
	}
	cov->cl = cl;
	cov->facts = f;
	cov->n = cl->n_controls;
	for (size_t i = 0; i < cl->n_controls; i++) {
		const struct control *c = &cl->controls[i];

		cov->results[i].control = c;
		c->check.kind->assess(&c->check, f, &cov->results[i].result);
		cov->pillars[c->pillar].n_controls++;
		cov->pillars[c->pillar].n_met += cov->results[i].result.status == CHECK_MET;
	}
	for (int p = 0; p < PILLAR_COUNT; p++)
		cov->pillars[p].stage = stage_reached(cov, p, &cov->pillars[p].next);
	cov->stage = stage_reached(cov, -1, &next);
	return cov;
}

void
coverage_free(struct coverage *c)
{
	if (c == NULL)
		return;
	free(c->results);
	free(c);
}
