/* main.c - the pdp command: serve, check */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/admin.h"
#include "context/store.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "identity/token.h"
#include "policy/explain.h"
#include "policy/policy_case.h"
#include "policy/policy_load.h"
#include "service/config.h"
#include "service/decide.h"
#include "service/decision_log.h"
#include "transport/fcgi_server.h"

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
	        "       pdp reload (-c CONFIG | --pid PID)\n"
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
	        "reload   ask the running daemon (the config's pid_file) to reload now,\n"
	        "         applying a change a reload after a file edit refused to drop\n"
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
	char host[256] = "", uri[4096] = "/", err[1024];
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
	}
	{
		struct policy_explain x = {
		    .method = method,
		    .host = host,
		    .uri = uri,
		    .ip = ip,
		    .country = country,
		    .client = client,
		    .user_agent = ua,
		    .claims = claims,
		    .subject = verified,
		    .device = device,
		    .user = user,
		};

		cases = policy_case_explain(&x, now, err, sizeof(err));
	}
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

/* Policy files tracked as open for writing at once; more are read without waiting. */
#define WATCH_OPEN_MAX 16

/* What inotify watches: the policy directory, and the context store's file. */
struct watch {
	int fd; /* -1: not watching (reload with SIGHUP) */
	int policies_wd, store_wd;
	const char *store_name; /* the file's name in its directory */
	const char *store_path;
	struct stat store_seen; /* the file the path last led to (through symlinks) */
	bool store_seen_ok;
	char store_dir[4096];
	/* Written (IN_MODIFY) and not yet closed or renamed: policy files by name, the store. */
	char policies_open[WATCH_OPEN_MAX][NAME_MAX + 1];
	unsigned n_policies_open;
	bool store_open;
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

/* IN_MODIFY: a file still being written, which holds a pending reload back until writes settle. */
#define WATCH_EVENTS                                                                               \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |        \
	 IN_MODIFY)

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

/* What the events of one read say of an input. */
enum {
	WATCH_CHANGED = 1, /* written and closed, renamed, created, deleted */
	WATCH_WRITING = 2, /* IN_MODIFY: still being written */
};

/*
 * Keeps track of the policy files open for writing: written (IN_MODIFY) and
 * not yet closed, renamed or deleted. Other names in the directory (an
 * editor's swap file, a temporary file) are not policies and never count.
 */
static void
watch_policy_open(struct watch *w, const struct inotify_event *ev)
{
	unsigned i;

	if (ev->len == 0 || !policy_set_reads(ev->name))
		return;
	for (i = 0; i < w->n_policies_open; i++)
		if (strcmp(w->policies_open[i], ev->name) == 0)
			break;
	if (ev->mask & IN_MODIFY) {
		if (i == w->n_policies_open && i < WATCH_OPEN_MAX)
			snprintf(w->policies_open[w->n_policies_open++], NAME_MAX + 1, "%s",
			         ev->name);
	} else if (i < w->n_policies_open &&
	           (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE))) {
		memcpy(w->policies_open[i], w->policies_open[--w->n_policies_open], NAME_MAX + 1);
	}
}

/* Reads pending events: what they say of the policies and of the store's file. */
static void
watch_read(struct watch *w, unsigned *policies, unsigned *store)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *q = buf; q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;
			unsigned what = ev->mask & IN_MODIFY ? WATCH_WRITING : WATCH_CHANGED;

			if (ev->mask & IN_Q_OVERFLOW) {
				*policies |= WATCH_CHANGED;
				*store |= WATCH_CHANGED;
			}
			if (ev->wd == w->policies_wd) {
				*policies |= what;
				watch_policy_open(w, ev);
			}
			if (ev->wd == w->store_wd) {
				bool named = ev->len > 0 && strcmp(ev->name, w->store_name) == 0;

				/* Another file written beside it (a log): nothing moved. */
				if (named || (what == WATCH_CHANGED && watch_store_moved(w))) {
					*store |= what;
					if (named && (ev->mask & IN_MODIFY))
						w->store_open = true;
					else if (!named ||
					         (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_FROM |
					                      IN_MOVED_TO | IN_DELETE)))
						w->store_open = false;
				}
			}
			q += sizeof(*ev) + ev->len;
		}
	}
}

/*
 * A file written without a pause for this many settle windows is read anyway
 * (then the reads must still agree): a writer that never stops cannot hold
 * reloads back for ever.
 */
#define RELOAD_SETTLE_CAP 10

/* A reload of one input (the policies, or the store's file) waiting for writes to settle. */
struct pending {
	int64_t first, at; /* -1: none pending */
	bool confirmed;    /* an explicit reload came while it waited */
};

#define PENDING_NONE ((struct pending){-1, -1, false})

/*
 * Events (WATCH_*) seen: the reload waits settle_ms more, up to the cap from
 * the first. Writing alone moves a pending reload but starts none: a file
 * open for writing is reloaded once it is closed (or renamed into place).
 */
static void
pending_touch(struct pending *r, unsigned events, int64_t now, uint64_t settle_ms)
{
	int64_t cap;

	if (!(events & WATCH_CHANGED) && r->first < 0)
		return;
	if (r->first < 0)
		r->first = now;
	cap = r->first + (int64_t)settle_ms * RELOAD_SETTLE_CAP;
	r->at = now + (int64_t)settle_ms < cap ? now + (int64_t)settle_ms : cap;
}

/*
 * Whether the reload is due: writes settled, and no file of the input still
 * open for writing (open), up to the cap. Due: *confirmed says whether an
 * explicit reload confirmed it, and it is no longer pending. A confirmed
 * reload whose file is still open at the cap is read unconfirmed: an
 * explicit reload confirms a finished write, never half of one.
 */
static bool
pending_due(struct pending *r, bool open, int64_t now, uint64_t settle_ms, const char *what,
            bool *confirmed)
{
	int64_t cap = r->first + (int64_t)settle_ms * RELOAD_SETTLE_CAP;

	*confirmed = false;
	if (r->at < 0 || now < r->at)
		return false;
	if (open && now < cap) {
		r->at = cap; /* its close (or rename) moves this */
		return false;
	}
	*confirmed = r->confirmed && !open;
	if (r->confirmed && open)
		log_warn("%s still open for writing: reloading unconfirmed; confirm again (`pdp "
		         "reload` or SIGHUP) once the write is done",
		         what);
	*r = PENDING_NONE;
	return true;
}

/*
 * An explicit reload (SIGHUP, `pdp reload`): applied now when nothing of the
 * input is being written, else it confirms the pending reload, which then
 * happens once writes settle: the half-written file is never read as meant.
 */
static bool
pending_confirm(struct pending *r, bool open, int64_t now, uint64_t settle_ms, const char *what)
{
	if (r->first < 0 && !open)
		return true;
	if (r->first < 0) {
		r->first = now;
		r->at = now + (int64_t)settle_ms * RELOAD_SETTLE_CAP;
	}
	r->confirmed = true;
	log_info("explicit reload: %s being written; the confirmed reload follows when writes "
	         "settle",
	         what);
	return false;
}

static const char confirm_hint[] =
    "if this is meant, confirm with `pdp reload -c CONFIG` or SIGHUP";

static void
reload_store(struct pdp *pdp, bool confirmed)
{
	char err[1024];

	if (pdp->store == NULL)
		return;
	switch (pdp_reload_store(pdp, confirmed, err, sizeof(err))) {
	case RELOAD_OK:
		log_info("context store reloaded");
		break;
	case RELOAD_REFUSED:
		log_error(
		    "context store reload refused, the last good records keep serving: %s; %s", err,
		    confirm_hint);
		break;
	default:
		log_error("context store reload failed, the last good records keep serving: %s",
		          err);
	}
}

static void
reload_policies(struct pdp *pdp, unsigned reader, bool confirmed)
{
	char err[1024];

	switch (pdp_reload_policies(pdp, confirmed, err, sizeof(err))) {
	case RELOAD_OK:
		log_revision(pdp, reader, "policies reloaded");
		break;
	case RELOAD_REFUSED:
		log_error("policy reload refused, the last good set keeps serving: %s; %s", err,
		          confirm_hint);
		break;
	default:
		log_error("policy reload failed, the last good set keeps serving: %s", err);
	}
}

static void
serve_loop(struct pdp *pdp, unsigned reader)
{
	struct watch w;
	struct pollfd pfd[2] = {{.fd = wake_pipe[0], .events = POLLIN},
	                        {.fd = -1, .events = POLLIN}};
	char drain[256];
	uint64_t settle = pdp->cfg->reload.settle_ms;
	struct pending pol = PENDING_NONE, sto = PENDING_NONE;

	watch_start(&w, pdp->cfg);
	pfd[1].fd = w.fd;
	while (!stop_requested) {
		int timeout = -1;
		int64_t next = pol.at < 0                      ? sto.at
		               : sto.at < 0 || pol.at < sto.at ? pol.at
		                                               : sto.at;

		if (next >= 0) {
			int64_t left = next - clock_ms();

			timeout = left > 0 ? (int)left : 0;
		}
		if (poll(pfd, pfd[1].fd >= 0 ? 2 : 1, timeout) > 0 || reload_requested) {
			unsigned policies = 0, store = 0;

			while (read(wake_pipe[0], drain, sizeof(drain)) > 0)
				;
			/* Every event before a SIGHUP too: it must know what is being written. */
			if (pfd[1].fd >= 0)
				watch_read(&w, &policies, &store);
			if (policies)
				pending_touch(&pol, policies, clock_ms(), settle);
			if (store)
				pending_touch(&sto, store, clock_ms(), settle);
		}
		bool policies_confirmed, store_confirmed;
		bool policies_due = pending_due(&pol, w.n_policies_open > 0, clock_ms(), settle,
		                                "a policy file", &policies_confirmed);
		bool store_due = pending_due(&sto, w.store_open, clock_ms(), settle,
		                             "the store's file", &store_confirmed);

		if (reload_requested) {
			/* SIGHUP: both, whatever inotify saw, and what they drop is meant. An
			 * input being written waits for its writes to settle, confirmed. */
			reload_requested = 0;
			if (!policies_due && pending_confirm(&pol, w.n_policies_open > 0,
			                                     clock_ms(), settle, "a policy file"))
				policies_due = policies_confirmed = true;
			else if (policies_due && w.n_policies_open == 0)
				policies_confirmed = true;
			if (!store_due && pending_confirm(&sto, w.store_open, clock_ms(), settle,
			                                  "the store's file"))
				store_due = store_confirmed = true;
			else if (store_due && !w.store_open)
				store_confirmed = true;
		}
		if (store_due && !stop_requested)
			reload_store(pdp, store_confirmed);
		if (reopen_requested) {
			reopen_requested = 0;
			if (pdp->dlog != NULL)
				decision_log_reopen(pdp->dlog);
		}
		if (policies_due && !stop_requested)
			reload_policies(pdp, reader, policies_confirmed);
	}
	if (w.fd >= 0)
		close(w.fd);
}

/*
 * Writes this process's pid to path through a new file in its directory
 * renamed over it: a reader never sees half of it, and a name planted there
 * (a symlink in a shared directory) is never opened or truncated.
 */
static void
pid_file_write(const char *path)
{
	char tmp[4096], text[32];
	int fd, n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		fatal("%s: path too long", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		fatal("%s: %s", path, strerror(errno));
	if (fchmod(fd, 0644) != 0 || write(fd, text, (size_t)n) != n || close(fd) != 0 ||
	    rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		fatal("%s: %s", path, strerror(e));
	}
}

/* The executable of /proc/<pid>, or "self": 0, or -1 when it cannot be read. */
static int
proc_exe(const char *pid, char *buf, size_t bufsz)
{
	static const char deleted[] = " (deleted)";
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/%s/exe", pid);
	if ((n = readlink(proc, buf, bufsz - 1)) <= 0 || (size_t)n >= bufsz - 1)
		return -1;
	buf[n] = '\0';
	/* A binary replaced by an upgrade since it started is still the same program. */
	if ((size_t)n > sizeof(deleted) - 1 &&
	    strcmp(buf + n - (sizeof(deleted) - 1), deleted) == 0)
		buf[n - (sizeof(deleted) - 1)] = '\0';
	return 0;
}

/*
 * Whether pid is a running `pdp serve`: SIGHUP would stop most other
 * programs, so a stale pid file, or a pid since reused (by `hugo serve`,
 * say), is refused. The same executable as this one, and "serve" its first
 * argument.
 */
static bool
pid_is_serve(long pid)
{
	char proc[64], *cmd = NULL, err[256], exe[4096], self[4096];
	size_t len = 0;
	bool ok;

	snprintf(proc, sizeof(proc), "%ld", pid);
	if (proc_exe(proc, exe, sizeof(exe)) != 0 || proc_exe("self", self, sizeof(self)) != 0 ||
	    strcmp(exe, self) != 0)
		return false;
	snprintf(proc, sizeof(proc), "/proc/%ld/cmdline", pid);
	/* argv as NUL-separated strings: "<path>/pdp\0serve\0..." */
	ok = file_read(proc, 65536, &cmd, &len, err, sizeof(err)) == 0 && strlen(cmd) + 1 < len &&
	     strcmp(cmd + strlen(cmd) + 1, "serve") == 0;
	free(cmd);
	return ok;
}

/* The pid that the daemon wrote to path, or -1 with the reason on stderr. */
static long
pid_file_read(const char *path)
{
	char *text = NULL, *end, err[1024];
	size_t len = 0;
	long pid;

	if (file_read(path, 64, &text, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "pdp reload: %s (is pdp serve running?)\n", err);
		return -1;
	}
	errno = 0;
	pid = strtol(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0') || pid <= 1) {
		fprintf(stderr, "pdp reload: %s: not a pid\n", path);
		pid = -1;
	}
	free(text);
	return pid;
}

/*
 * pdp reload: an explicit reload of a running daemon (SIGHUP), which applies
 * what a reload after a file change refused to drop.
 */
static int
cmd_reload(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pid", required_argument, NULL, 'p'},
	    {"config", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	char err[1024], *end;
	struct config *cfg = NULL;
	long pid = -1;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || pid <= 1) {
				fprintf(stderr, "pdp reload: --pid %s: not a pid\n", optarg);
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (path == NULL) == (pid < 0)) {
		usage(stderr);
		return 2;
	}
	if (path != NULL) {
		if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		if (cfg->pid_file == NULL) {
			fprintf(stderr, "pdp reload: %s names no pid_file (or give --pid PID)\n",
			        path);
			config_free(cfg);
			return 1;
		}
		pid = pid_file_read(cfg->pid_file);
		config_free(cfg);
		if (pid < 0)
			return 1;
	}
	if (!pid_is_serve(pid)) {
		fprintf(stderr, "pdp reload: pid %ld is not a running pdp serve\n", pid);
		return 1;
	}
	if (kill((pid_t)pid, SIGHUP) != 0) {
		fprintf(stderr, "pdp reload: pid %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	printf("pdp reload: asked pid %ld to reload (confirmed); its log says what it applied\n",
	       pid);
	return 0;
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
	if (cfg->pid_file != NULL)
		pid_file_write(cfg->pid_file);
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
	if (cfg->pid_file != NULL)
		unlink(cfg->pid_file);
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
	if (strcmp(argv[1], "reload") == 0)
		return cmd_reload(argc - 1, argv + 1);
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
