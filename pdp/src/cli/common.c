/* common.c - what the pdp commands share: option parsing and usage errors */
#include "cli/common.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

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
