/* common.h - what the pdp commands share: usage, options, usage errors, loading policies */
#ifndef PDP_CLI_COMMON_H
#define PDP_CLI_COMMON_H

#include <stdio.h>

#include "policy/cases.h"
#include "policy/policy.h"
#include "service/config.h"

#ifndef PDP_VERSION
#define PDP_VERSION "0.1.0"
#endif

/* Prints the usage of every command to f (defined in main.c, beside the table of commands). */
void cli_usage(FILE *f);

/*
 * Parses "-c CONFIG" and up to max_args positional arguments into args;
 * returns CONFIG or NULL. Exits on a usage error (2), or after -h (0).
 */
const char *cli_parse_args(int argc, char **argv, const char **args, int max_args, int *n_args);

/* Parses "-c CONFIG" and no other argument; exits with a usage error without it. */
const char *cli_config_arg(const char *cmd, int argc, char **argv);

/*
 * A usage error that says what is wrong: prints "pdp CMD: " and the reason
 * (say, "needs a config file (-c CONFIG)"), then the usage, to stderr;
 * returns the exit status of a usage error, 2.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What check, test, explain and coverage read the policies from, when given neither. */
extern const char cli_needs_policies[];

/*
 * After getopt: takes the one optional POLICY_DIR left in argv into *dir;
 * more arguments, or neither it nor -c (path), are a usage error. Returns 0,
 * or the usage error's exit status, 2.
 */
int cli_policy_dir(const char *cmd, int argc, char **argv, const char *path, const char **dir);

/*
 * Loads the config at path when given, and the policy directory dir (else
 * the config's), saying why on stderr when either fails (cmd names the
 * command in a usage error): 0, or -1 with nothing to free. The caller frees
 * *set and *cfg (NULL without -c).
 */
int cli_load_policies(const char *cmd, const char *path, const char *dir, struct config **cfg,
                      struct policy_set **set);

struct case_claims;

/*
 * Cases' claims mapped as the daemon maps tokens: by cfg's issuers'
 * mappings, or the default one without a config (NULL: the reason is on
 * stderr). map is set to use it; free with case_claims_free.
 */
struct case_claims *cli_claims_map(const struct config *cfg, struct policy_claims_map *map);

#endif
