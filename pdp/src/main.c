/* main.c - the pdp command: serve, check */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "clock.h"
#include "config.h"
#include "decide.h"
#include "decision_log.h"
#include "explain.h"
#include "fcgi_server.h"
#include "log.h"
#include "policy_case.h"
#include "policy_load.h"
#include "store.h"
#include "token.h"

#ifndef PDP_VERSION
#define PDP_VERSION "0.1.0"
#endif

static volatile sig_atomic_t stop_requested, reload_requested, reopen_requested;
static int wake_pipe[2] = {-1, -1};

/* Signal handlers only set flags and wake the main loop, which does the work. */
static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP)
		reload_requested = 1;
	else if (sig == SIGUSR1)
		reopen_requested = 1;
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
	fprintf(f,
	        "usage: pdp serve -c CONFIG\n"
	        "       pdp check [-c CONFIG] [POLICY_DIR]\n"
	        "       pdp test [-v] [-c CONFIG] [POLICY_DIR]\n"
	        "       pdp explain [-c CONFIG] [POLICY_DIR] (--claims JSON | --token TOKEN) --url "
	        "URL\n"
	        "                   [--method M] [--ip IP] [--country CC] [--client browser|api]\n"
	        "                   [--user-agent UA] [--device JSON] [--user JSON] [--json]\n"
	        "       pdp admin [-c CONFIG] COMMAND ... (pdp admin --help)\n"
	        "       pdp version\n"
	        "\n"
	        "serve    answer nginx auth_request subrequests over FastCGI\n"
	        "check    validate CONFIG and the key files it names, and the policy files in\n"
	        "         POLICY_DIR (default: the config's policies directory); exit 1 on any\n"
	        "         error, naming file:line:column\n"
	        "test     run the cases in POLICY_DIR/tests/*.yaml; exit 1 on any failure\n"
	        "         (-v: explain every case)\n"
	        "explain  what-if: every policy for a caller and request, and the decision\n"
	        "admin    write device, user and revocation records to Redis and publish\n"
	        "         their events\n");
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
		fprintf(stderr, "%s\n", set->warnings[i]);
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
		token_verifier_free(v);
		if (store_check(&cfg->store, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", path, err);
			config_free(cfg);
			return 1;
		}
		printf("%s: ok (%zu issuer%s)\n", path, cfg->n_issuers,
		       cfg->n_issuers == 1 ? "" : "s");
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

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Loads the config when given, and the policy directory (dir, else the config's). */
static int
load_for_tools(const char *path, const char *dir, struct config **cfg, struct policy_set **set)
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
		usage(stderr);
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

/* Whether the enforced policies that applied are exactly the case's expect_policies. */
static bool
policies_match(const struct policy_set *set, const struct policy_case *c,
               const struct eval_result *res)
{
	if (res->n_applied != c->n_expect_policies || res->n_unlisted != 0)
		return false;
	for (size_t i = 0; i < c->n_expect_policies; i++) {
		bool found = false;

		for (size_t j = 0; j < res->n_applied && !found; j++)
			found = strcmp(set->policies[res->applied[j].policy].id,
			               c->expect_policies[i]) == 0;
		if (!found)
			return false;
	}
	return true;
}

static int
cmd_test(int argc, char **argv)
{
	const char *dir = NULL, *path;
	struct config *cfg;
	struct policy_set *set;
	struct policy_cases *cases;
	char tests[4096], err[1024];
	int64_t now = (int64_t)time(NULL);
	size_t passed = 0, failed = 0;
	bool verbose = false;
	int n;

	/* -v: the explain trace of every case, not only of failures. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = true;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(char *));
			argc--;
			break;
		}
	}
	path = parse_args(argc, argv, &dir, 1, &n);
	if (load_for_tools(path, dir, &cfg, &set) != 0)
		return 2;
	snprintf(tests, sizeof(tests), "%s/tests", dir != NULL ? dir : cfg->policies);
	cases = policy_cases_load(tests, now, err, sizeof(err));
	if (cases == NULL) {
		fprintf(stderr, "%s\n", err);
		policy_set_free(set);
		config_free(cfg);
		return 2;
	}
	for (size_t i = 0; i < cases->n; i++) {
		const struct policy_case *c = &cases->cases[i];
		uint32_t buf[2048];
		struct subject_ids ids;
		struct eval_input in;
		struct eval_result res;
		bool ok;

		policy_case_input(set, c, now,
		                  cfg == NULL || cfg->default_decision == DEFAULT_ALLOW, buf, 2048,
		                  &ids, &in);
		policy_eval(set, &in, &res);
		ok = res.decision == c->expect &&
		     (!c->has_expect_policies || policies_match(set, c, &res));
		if (ok) {
			passed++;
			printf("ok   - %s\n", c->name);
			if (verbose)
				explain_text(stdout, set, &in, &res, "       ");
			continue;
		}
		failed++;
		printf("FAIL - %s (%s)\n       expected %s", c->name, c->where,
		       decision_name(c->expect));
		if (c->has_expect_policies) {
			printf(" with policies [");
			for (size_t j = 0; j < c->n_expect_policies; j++)
				printf("%s%s", j ? ", " : "", c->expect_policies[j]);
			printf("]");
		}
		printf(", got %s with policies [", decision_name(res.decision));
		for (size_t j = 0; j < res.n_applied; j++)
			printf("%s%s", j ? ", " : "", set->policies[res.applied[j].policy].id);
		printf("]\n");
		explain_text(stdout, set, &in, &res, "       ");
	}
	if (cases->n == 0)
		fprintf(stderr, "%s: no test cases\n", tests);
	printf("%zu passed, %zu failed\n", passed, failed);
	policy_cases_free(cases);
	policy_set_free(set);
	config_free(cfg);
	return failed == 0 && passed > 0 ? 0 : 1;
}

/* Appends "key: <value as a quoted scalar>" to a YAML flow mapping in buf. */
static void
flow_str(char *buf, size_t bufsz, const char *key, const char *value)
{
	json_t *v;
	char *q;
	size_t o = strlen(buf);

	if (value == NULL)
		return;
	v = json_string(value);
	q = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
	if (q != NULL)
		snprintf(buf + o, bufsz - o, "%s%s: %s", buf[o - 1] == '{' ? "" : ", ", key, q);
	free(q);
	json_decref(v);
}

static int
cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"claims", required_argument, NULL, 'C'},
	    {"token", required_argument, NULL, 'T'},
	    {"url", required_argument, NULL, 'u'},
	    {"method", required_argument, NULL, 'm'},
	    {"ip", required_argument, NULL, 'i'},
	    {"country", required_argument, NULL, 'n'},
	    {"client", required_argument, NULL, 'k'},
	    {"user-agent", required_argument, NULL, 'a'},
	    {"device", required_argument, NULL, 'd'},
	    {"user", required_argument, NULL, 'r'},
	    {"json", no_argument, NULL, 'j'},
	    {"config", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL, *dir = NULL, *claims = NULL, *token = NULL, *url = NULL;
	const char *method = "GET", *ip = NULL, *country = NULL, *client = NULL, *ua = NULL;
	const char *device = NULL, *user = NULL;
	char host[256] = "", uri[4096] = "/", request[8192] = "{", *text = NULL, err[1024];
	struct config *cfg = NULL;
	struct policy_set *set = NULL;
	struct policy_cases *cases = NULL;
	struct subject *verified = NULL;
	int64_t now = (int64_t)time(NULL);
	bool json = false;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			claims = optarg;
			break;
		case 'T':
			token = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'm':
			method = optarg;
			break;
		case 'i':
			ip = optarg;
			break;
		case 'n':
			country = optarg;
			break;
		case 'k':
			client = optarg;
			break;
		case 'a':
			ua = optarg;
			break;
		case 'd':
			device = optarg;
			break;
		case 'r':
			user = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		dir = argv[optind++];
	if (optind != argc || url == NULL || (claims == NULL) == (token == NULL)) {
		usage(stderr);
		return 2;
	}
	if (token != NULL && path == NULL) {
		fprintf(stderr, "pdp explain: --token needs -c CONFIG for the issuers' keys\n");
		return 2;
	}
	/* URL: [scheme://]host[:port][/path] */
	{
		const char *h = strstr(url, "://") ? strstr(url, "://") + 3 : url;
		size_t hl = strcspn(h, "/?#");

		snprintf(host, sizeof(host), "%.*s", (int)hl, h);
		host[strcspn(host, ":")] = '\0';
		if (h[hl] != '\0')
			snprintf(uri, sizeof(uri), "%s%s", h[hl] == '/' ? "" : "/", h + hl);
	}
	if (load_for_tools(path, dir, &cfg, &set) != 0)
		return 2;
	if (token != NULL) {
		struct token_verifier *v = token_verifier_new(cfg, err, sizeof(err));
		char why[256] = "";
		enum token_err e;

		if (v == NULL) {
			fprintf(stderr, "%s\n", err);
			goto out;
		}
		e = token_verify(v, token, strlen(token), (time_t)now, &verified, why, sizeof(why));
		token_verifier_free(v);
		if (e != TOKEN_OK) {
			fprintf(stderr, "token rejected: %s (%s)\n", token_strerror(e), why);
			goto out;
		}
		claims = "{sub: token}";
	}
	flow_str(request, sizeof(request), "method", method);
	flow_str(request, sizeof(request), "host", host);
	flow_str(request, sizeof(request), "uri", uri);
	flow_str(request, sizeof(request), "ip", ip);
	flow_str(request, sizeof(request), "country", country);
	flow_str(request, sizeof(request), "client", client);
	flow_str(request, sizeof(request), "user_agent", ua);
	strncat(request, "}", sizeof(request) - strlen(request) - 1);
	if (asprintf(&text,
	             "cases:\n  - name: explain\n    request: %s\n    claims: %s\n%s%s%s%s%s%s    "
	             "expect: allow\n",
	             request, claims, device ? "    device: " : "", device ? device : "",
	             device ? "\n" : "", user ? "    user: " : "", user ? user : "",
	             user ? "\n" : "") < 0)
		goto out;
	cases = policy_cases_load_buffer("(command line)", text, now, err, sizeof(err));
	if (cases == NULL) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	{
		struct policy_case *pc = &cases->cases[0];
		uint32_t buf[2048];
		struct subject_ids ids;
		struct eval_input in;
		struct eval_result res;

		if (verified != NULL)
			pc->subject = *verified;
		policy_case_input(set, pc, now,
		                  cfg == NULL || cfg->default_decision == DEFAULT_ALLOW, buf, 2048,
		                  &ids, &in);
		policy_eval(set, &in, &res);
		if (json)
			explain_json(stdout, set, &in, &res);
		else
			explain_text(stdout, set, &in, &res, "");
	}
	rc = 0;
out:
	free(text);
	free(verified);
	policy_cases_free(cases);
	policy_set_free(set);
	config_free(cfg);
	return rc;
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

/* What inotify watches: the policy directory, and the context store's file. */
struct watch {
	int fd; /* -1: not watching (reload with SIGHUP) */
	int policies_wd, store_wd;
	const char *store_name; /* the file's name in its directory */
	const char *store_path;
	struct stat store_seen; /* the file the path last led to (through symlinks) */
	bool store_seen_ok;
	char store_dir[4096];
};

/*
 * Whether the path leads to another file, or the same file changed, since last asked. A
 * mounted Kubernetes ConfigMap changes a file without an event in its name: the file is a
 * symlink through "..data", which is swapped for a link to a new directory.
 */
static bool
watch_store_moved(struct watch *w)
{
	struct stat st;
	bool ok = stat(w->store_path, &st) == 0;
	bool moved =
	    ok != w->store_seen_ok ||
	    (ok && (st.st_dev != w->store_seen.st_dev || st.st_ino != w->store_seen.st_ino ||
	            st.st_size != w->store_seen.st_size ||
	            st.st_mtim.tv_sec != w->store_seen.st_mtim.tv_sec ||
	            st.st_mtim.tv_nsec != w->store_seen.st_mtim.tv_nsec));

	if (ok)
		w->store_seen = st;
	w->store_seen_ok = ok;
	return moved;
}

#define WATCH_EVENTS                                                                               \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)

/* Watches the policy directory and the store file's directory, as far as inotify allows. */
static void
watch_start(struct watch *w, const struct config *cfg)
{
	const char *path = cfg->store.type == STORE_FILE ? cfg->store.path : NULL;
	const char *slash = path != NULL ? strrchr(path, '/') : NULL;

	*w = (struct watch){.policies_wd = -1, .store_wd = -1};
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0 ||
	    (w->policies_wd = inotify_add_watch(w->fd, cfg->policies, WATCH_EVENTS)) < 0)
		log_warn("%s: cannot watch for changes (%s); reload with SIGHUP", cfg->policies,
		         strerror(errno));
	if (w->fd < 0 || slash == NULL)
		return;
	snprintf(w->store_dir, sizeof(w->store_dir), "%.*s", (int)(slash - path), path);
	w->store_name = slash + 1;
	w->store_path = path;
	watch_store_moved(w);
	/* Editors replace a file by renaming: watch its directory, not the file. */
	if ((w->store_wd =
	         inotify_add_watch(w->fd, w->store_dir[0] ? w->store_dir : "/", WATCH_EVENTS)) < 0)
		log_warn("%s: cannot watch for changes (%s); reload with SIGHUP", path,
		         strerror(errno));
}

/* Reads pending events: which of the two changed. */
static void
watch_read(struct watch *w, bool *policies, bool *store)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *q = buf; q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;

			if (ev->mask & IN_Q_OVERFLOW)
				*policies = *store = true;
			if (ev->wd == w->policies_wd)
				*policies = true;
			if (ev->wd == w->store_wd) {
				bool named = ev->len > 0 && strcmp(ev->name, w->store_name) == 0;

				if (watch_store_moved(w) || named)
					*store = true;
			}
			q += sizeof(*ev) + ev->len;
		}
	}
}

/* Editors write a file in several steps; changes settle this long before a reload. */
#define RELOAD_SETTLE_MS 100

static void
reload_store(struct pdp *pdp)
{
	char err[1024];

	if (pdp->store == NULL)
		return;
	if (pdp_reload_store(pdp, err, sizeof(err)) == 0)
		log_info("context store reloaded");
	else
		log_error("context store reload failed, the last good records keep serving: %s",
		          err);
}

static void
serve_loop(struct pdp *pdp, unsigned reader)
{
	struct watch w;
	struct pollfd pfd[2] = {{.fd = wake_pipe[0], .events = POLLIN},
	                        {.fd = -1, .events = POLLIN}};
	char drain[256], err[1024];
	int64_t reload_at = -1, store_at = -1;

	watch_start(&w, pdp->cfg);
	pfd[1].fd = w.fd;
	while (!stop_requested) {
		int timeout = -1;
		int64_t next = reload_at < 0          ? store_at
		               : store_at < 0         ? reload_at
		               : reload_at < store_at ? reload_at
		                                      : store_at;

		if (next >= 0) {
			int64_t left = next - clock_ms();

			timeout = left > 0 ? (int)left : 0;
		}
		if (poll(pfd, pfd[1].fd >= 0 ? 2 : 1, timeout) > 0) {
			bool policies = false, store = false;

			while (read(wake_pipe[0], drain, sizeof(drain)) > 0)
				;
			if (pfd[1].fd >= 0 && (pfd[1].revents & POLLIN))
				watch_read(&w, &policies, &store);
			if (policies)
				reload_at = clock_ms() + RELOAD_SETTLE_MS;
			if (store)
				store_at = clock_ms() + RELOAD_SETTLE_MS;
		}
		bool policies_due = reload_at >= 0 && clock_ms() >= reload_at;
		bool store_due = store_at >= 0 && clock_ms() >= store_at;

		if (reload_requested) {
			/* SIGHUP: both, whatever inotify saw. */
			reload_requested = 0;
			policies_due = store_due = true;
		}
		if (store_due && !stop_requested) {
			store_at = -1;
			reload_store(pdp);
		}
		if (reopen_requested) {
			reopen_requested = 0;
			if (pdp->dlog != NULL)
				decision_log_reopen(pdp->dlog);
		}
		if (policies_due && !stop_requested) {
			reload_at = -1;
			if (pdp_reload_policies(pdp, err, sizeof(err)) == 0)
				log_revision(pdp, reader, "policies reloaded");
			else
				log_error(
				    "policy reload failed, the last good set keeps serving: %s",
				    err);
		}
	}
	if (w.fd >= 0)
		close(w.fd);
}

/* The transport's handler: worker i decides as reader i. */
static void
serve_request(void *ctx, unsigned worker, const char *const *envp, struct response *rs)
{
	struct pdp *pdp = ctx;
	struct request r;

	request_parse(&r, envp, pdp->cfg->token_cookie);
	pdp_decide(pdp, worker, &r, time(NULL), rs);
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
	fd = fcgi_listen(cfg->listen, cfg->backlog, err, sizeof(err));
	if (fd < 0)
		fatal("%s", err);
	log_info("pdp %s listening on %s (%zu issuer%s, default_decision %s)", PDP_VERSION,
	         cfg->listen, cfg->n_issuers, cfg->n_issuers == 1 ? "" : "s",
	         cfg->default_decision == DEFAULT_ALLOW ? "allow" : "deny");
	log_revision(&pdp, cfg->threads, "serving");
	server = fcgi_start(fd, cfg->threads,
	                    &(struct fcgi_limits){.read_timeout_ms = cfg->read_timeout_ms},
	                    serve_request, &pdp);
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
	if (strcmp(argv[1], "test") == 0)
		return cmd_test(argc - 1, argv + 1);
	if (strcmp(argv[1], "explain") == 0)
		return cmd_explain(argc - 1, argv + 1);
	if (strcmp(argv[1], "admin") == 0)
		return admin_main(argc - 1, argv + 1);
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
