/* common.c - what the pdp commands share: option parsing */
#include "cli/common.h"

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
cli_config_arg(int argc, char **argv)
{
	int n;
	const char *path = cli_parse_args(argc, argv, NULL, 0, &n);

	if (path == NULL) {
		cli_usage(stderr);
		exit(2);
	}
	return path;
}
