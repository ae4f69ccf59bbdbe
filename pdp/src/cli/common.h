/* common.h - what the pdp commands share: the usage, option parsing, usage errors */
#ifndef PDP_CLI_COMMON_H
#define PDP_CLI_COMMON_H

#include <stdio.h>

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

#endif
