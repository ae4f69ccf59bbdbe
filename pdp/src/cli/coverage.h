/* coverage.h - pdp coverage: the policy set assessed against a Zero Trust checklist */
#ifndef PDP_CLI_COVERAGE_H
#define PDP_CLI_COVERAGE_H

/* Runs `pdp coverage ...` (argv[0] is "coverage"): 0 after the assessment, 1 when the set's
 * stage is below --fail-below, 2 when the config, the policies or the checklist do not load
 * or on a usage error. */
int coverage_main(int argc, char **argv);

#endif
