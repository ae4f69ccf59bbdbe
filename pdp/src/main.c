/* main.c - the pdp command: serve, check */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "decide.h"
#include "fcgi_server.h"
#include "log.h"
#include "policy_load.h"
#include "token.h"

#ifndef PDP_VERSION
#define PDP_VERSION "0.1.0"
#endif

static volatile sig_atomic_t stop_requested, reload_requested;
static int wake_pipe[2] = {-1, -1};

/* Signal handlers only set flags and wake the main loop, which does the work. */
static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
	if (write(wake_pipe[1], "x", 1) < 0) {
		/* The pipe is full: the main loop is awake already. */
	}
	errno = saved;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: pdp serve -c CONFIG\n"
	           "       pdp check [-c CONFIG] [POLICY_DIR]\n"
	           "       pdp version\n"
	           "\n"
	           "serve   answer nginx auth_request subrequests over FastCGI\n"
	           "check   validate CONFIG and the key files it names, and the policy files\n"
	           "        in POLICY_DIR (default: the config's policies directory); exit 1\n"
	           "        on any error, naming file:line:column\n");
}

/* Parses "-c CONFIG" and up to max_args positional arguments; exits on a usage error. */
static const char *
parse_args(int argc, char **argv, const char **args, int max_args, int *n_args)
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
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (argc - optind > max_args) {
		usage(stderr);
		exit(2);
	}
	*n_args = argc - optind;
	for (int i = 0; i < *n_args; i++)
		args[i] = argv[optind + i];
	return path;
}

static const char *
config_arg(int argc, char **argv)
{
	int n;
	const char *path = parse_args(argc, argv, NULL, 0, &n);

	if (path == NULL) {
		usage(stderr);
		exit(2);
	}
	return path;
}

/* Loads and reports one policy directory; returns 0 when it is valid. */
static int
check_policies(const char *dir)
{
	char err[1024];
	struct policy_set *set = policy_set_load(dir, err, sizeof(err));

	if (set == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (size_t i = 0; i < set->n_warnings; i++)
		fprintf(stderr, "warning: %s\n", set->warnings[i]);
	printf("%s: ok (%zu file%s, %zu app%s, %zu polic%s, revision %s)\n", dir, set->n_files,
	       set->n_files == 1 ? "" : "s", set->n_apps, set->n_apps == 1 ? "" : "s",
	       set->n_policies, set->n_policies == 1 ? "y" : "ies", set->revision);
	policy_set_free(set);
	return 0;
}

static int
cmd_check(int argc, char **argv)
{
	const char *dir = NULL, *path;
	char err[1024];
	struct config *cfg = NULL;
	struct token_verifier *v;
	int n, rc = 0;

	path = parse_args(argc, argv, &dir, 1, &n);
	if (path == NULL && dir == NULL) {
		usage(stderr);
		return 2;
	}
	if (path != NULL) {
		cfg = config_load(path, err, sizeof(err));
		if (cfg == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		v = token_verifier_new(cfg, err, sizeof(err));
		if (v == NULL) {
			fprintf(stderr, "%s: %s\n", path, err);
			config_free(cfg);
			return 1;
		}
		printf("%s: ok (%zu issuer%s)\n", path, cfg->n_issuers,
		       cfg->n_issuers == 1 ? "" : "s");
		token_verifier_free(v);
		if (dir == NULL)
			dir = cfg->policies;
	}
	rc = check_policies(dir);
	config_free(cfg);
	return rc;
}

static void
install_signals(void)
{
	struct sigaction sa;

	/* Ours go in before FCGX_Init, which only claims signals still at SIG_DFL. */
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* Log reopening arrives with the decision log; until then SIGUSR1 is ignored. */
	sigaction(SIGUSR1, &sa, NULL);
}

/* The revision being served, read as the main thread's reader slot. */
static void
log_revision(struct pdp *pdp, unsigned reader, const char *what)
{
	const struct policy_set *set = policy_swap_read_begin(&pdp->policies, reader);

	log_info("%s: policy revision %s (%zu policies in %zu files)", what, set->revision,
	         set->n_policies, set->n_files);
	policy_swap_read_end(&pdp->policies, reader);
}

static void
serve_loop(struct pdp *pdp, unsigned reader)
{
	struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};
	char drain[64], err[1024];

	while (!stop_requested) {
		if (poll(&pfd, 1, -1) > 0)
			while (read(wake_pipe[0], drain, sizeof(drain)) > 0)
				;
		if (reload_requested && !stop_requested) {
			reload_requested = 0;
			if (pdp_reload_policies(pdp, err, sizeof(err)) == 0)
				log_revision(pdp, reader, "policies reloaded");
			else
				log_error(
				    "policy reload failed, the last good set keeps serving: %s",
				    err);
		}
	}
}

static int
cmd_serve(int argc, char **argv)
{
	const char *path = config_arg(argc, argv);
	char err[1024];
	struct config *cfg = NULL;
	struct fcgi_server *server;
	struct pdp pdp;
	int fd = -1;

	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL)
		fatal("%s", err);
	log_set_level(cfg->log_level);
	install_signals();
	/* One reader slot per worker, and the last for this thread. */
	if (pdp_init(&pdp, cfg, cfg->threads + 1, err, sizeof(err)) != 0)
		fatal("%s: %s", path, err);
	if (FCGX_Init() != 0)
		fatal("FCGX_Init failed");
	fd = fcgi_listen(cfg->listen, cfg->backlog, err, sizeof(err));
	if (fd < 0)
		fatal("%s", err);
	log_info("pdp %s listening on %s (%zu issuer%s, default_decision %s)", PDP_VERSION,
	         cfg->listen, cfg->n_issuers, cfg->n_issuers == 1 ? "" : "s",
	         cfg->default_decision == DEFAULT_ALLOW ? "allow" : "deny");
	log_revision(&pdp, cfg->threads, "serving");
	server = fcgi_start(&pdp, fd, cfg->threads);
	if (server == NULL)
		fatal("cannot start worker threads");
	serve_loop(&pdp, cfg->threads);
	fcgi_stop(server, fd);
	close(fd);
	if (strncmp(cfg->listen, "unix:", 5) == 0)
		unlink(cfg->listen + 5);
	log_info("stopped");
	pdp_fini(&pdp);
	config_free(cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("pdp %s\n", PDP_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "pdp: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
