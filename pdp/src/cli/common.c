/* common.c - what the pdp commands share: option parsing, usage errors, loading policies */
#include "cli/common.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/case_claims.h"
#include "policy/load.h"
#include "service/config.h"

const char cli_needs_policies[] =
    "needs a config file (-c CONFIG) or a policy directory (POLICY_DIR)";

const char *
cli_parse_args(int argc, char **argv, const char **args, int max_args, int *n_args)
{
	const char *path = NULL;
	int c;

	optind = 1;
	while ((c = getopt(argc, argv, "c:h")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			cli_usage(stdout);
			exit(0);
		default:
			cli_usage(stderr);
			exit(2);
		}
	}
	if (argc - optind > max_args) {
		cli_usage(stderr);
		exit(2);
	}
	*n_args = argc - optind;
	for (int i = 0; i < *n_args; i++)
		args[i] = argv[optind + i];
	return path;
}

const char *
cli_config_arg(const char *cmd, int argc, char **argv)
{
	int n;
	const char *path = cli_parse_args(argc, argv, NULL, 0, &n);

	if (path == NULL)
		exit(cli_usage_error(cmd, "needs a config file (-c CONFIG)"));
	return path;
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pdp %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_usage(stderr);
	return 2;
}

int
cli_policy_dir(const char *cmd, int argc, char **argv, const char *path, const char **dir)
{
	if (optind < argc)
		*dir = argv[optind++];
	if (optind != argc) {
		cli_usage(stderr);
		return 2;
	}
	if (path == NULL && *dir == NULL)
		return cli_usage_error(cmd, "%s", cli_needs_policies);
	return 0;
}

int
cli_load_policies(const char *cmd, const char *path, const char *dir, struct config **cfg,
                  struct policy_set **set)
{
	char err[1024];

	*cfg = NULL;
	*set = NULL;
	if (path != NULL && (*cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (dir == NULL && *cfg != NULL)
		dir = (*cfg)->policies;
	if (dir == NULL) {
		cli_usage_error(cmd, "%s", cli_needs_policies);
		config_free(*cfg);
		*cfg = NULL;
		return -1;
	}
	*set = policy_set_load(dir, err, sizeof(err));
	if (*set == NULL) {
		fprintf(stderr, "%s\n", err);
		config_free(*cfg);
		*cfg = NULL;
		return -1;
	}
	return 0;
}

struct case_claims *
cli_claims_map(const struct config *cfg, struct policy_claims_map *map)
{
	char err[1024];
	struct case_claims *cc = case_claims_new(cfg, err, sizeof(err));

	if (cc == NULL) {
		fprintf(stderr, "%s: %s\n", cfg != NULL ? cfg->path : "claims", err);
		return NULL;
	}
	map->map = case_claims_map;
	map->ctx = cc;
	return cc;
}
