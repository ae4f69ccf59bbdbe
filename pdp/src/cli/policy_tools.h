/* policy_tools.h - the policy author's commands: pdp check, pdp test, pdp explain */
#ifndef PDP_CLI_POLICY_TOOLS_H
#define PDP_CLI_POLICY_TOOLS_H

/* Runs `pdp check ...` (argv[0] is "check"): 0 when valid, 1 on an error, 2 on a usage error. */
int check_main(int argc, char **argv);

/* Runs `pdp test ...` (argv[0] is "test"): 0 when every case passes, 1 on a failure, 2 when
 * the policies or the cases do not load or on a usage error. */
int test_main(int argc, char **argv);

/* Runs `pdp explain ...` (argv[0] is "explain"): 0 after the explanation, 1 when the token is
 * refused or the case does not build, 2 when the policies do not load or on a usage error. */
int explain_main(int argc, char **argv);

#endif
