/* explain.h - why a request got its decision: every policy, its verdict, the controls */
#ifndef PDP_EXPLAIN_H
#define PDP_EXPLAIN_H

#include <stdbool.h>
#include <stdio.h>

#include "policy/eval.h"

/*
 * Writes, for in against set, the request and subject as evaluated, then
 * every policy (not only the app's candidates) with its state and either the
 * first assignment or condition that did not match or each control met or
 * not, then the decision of res (from policy_eval on the same input) with its
 * reasons. indent prefixes every line (for test failures).
 */
void explain_text(FILE *f, const struct policy_set *set, const struct eval_input *in,
                  const struct eval_result *res, const char *indent);

/* The same as one JSON object on one line. */
void explain_json(FILE *f, const struct policy_set *set, const struct eval_input *in,
                  const struct eval_result *res);

/* "strength phishing-resistant", "compliant_device", ... into buf. */
const char *explain_control(const struct policy_set *set, const struct pol_control *c, char *buf,
                            size_t bufsz);

#endif
