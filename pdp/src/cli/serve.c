/* serve.c - pdp serve: signals, the file watcher, the worker threads, the pid file; pdp reload */
#include "cli/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#include "cli/common.h"
#include "context/store.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "policy/load.h"
#include "service/config.h"
#include "service/decide.h"
#include "transport/fcgi_server.h"

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

/* The revision being served, read as the main thread's reader slot. */
static void
log_revision(struct pdp *pdp, unsigned reader, const char *what)
{
	struct policy_info pi;

	pdp_policy_info(pdp, reader, &pi);
	log_info("%s: policy revision %s (%zu policies in %zu files)", what, pi.revision,
	         pi.n_policies, pi.n_files);
}

/* Policy files tracked as open for writing at once; more are read without waiting. */
#define WATCH_OPEN_MAX 16

/* What inotify watches: the policy directory, and the context store's file. */
struct watch {
	int fd; /* -1: not watching (reload with SIGHUP) */
	int policies_wd, store_wd;
	const char *store_name; /* the file's name in its directory */
	const char *store_path;
	struct file_seen store_seen; /* the file the path last led to (through symlinks) */
	char store_dir[4096];
	/* Written (IN_MODIFY) and not yet closed or renamed: policy files by name, the store. */
	char policies_open[WATCH_OPEN_MAX][NAME_MAX + 1];
	unsigned n_policies_open;
	bool store_open;
};

/* Whether the store's path leads to another file, or the same file changed, since last asked. */
static bool
watch_store_moved(struct watch *w)
{
	return file_moved(w->store_path, &w->store_seen);
}

/* IN_MODIFY: a file still being written, which holds a pending reload back until writes settle. */
#define WATCH_EVENTS                                                                               \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |        \
	 IN_MODIFY)

/* Watches the policy directory and the store file's directory, as far as inotify allows. */
static void
watch_start(struct watch *w, const struct config *cfg)
{
	const char *path = store_config_source(&cfg->store);
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

	if (pdp_store(pdp) == NULL)
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
	uint64_t settle = pdp_config(pdp)->reload.settle_ms;
	struct pending pol = PENDING_NONE, sto = PENDING_NONE;

	watch_start(&w, pdp_config(pdp));
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
			 * input being written waits for its writes to settle, confirmed. The
			 * issuers' keys are read again too, on their own thread. */
			reload_requested = 0;
			pdp_keys_reread(pdp);
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
			pdp_reopen_log(pdp);
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

	n = snprintf(proc, sizeof(proc), "/proc/%s/exe", pid);
	if (n < 0 || (size_t)n >= sizeof(proc))
		return -1;
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
int
reload_main(int argc, char **argv)
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
			cli_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		cli_usage(stderr);
		return 2;
	}
	if (path == NULL && pid < 0)
		return cli_usage_error("reload", "needs the daemon: -c CONFIG (its pid_file) or "
		                                 "--pid PID");
	if (path != NULL && pid >= 0)
		return cli_usage_error("reload", "takes -c CONFIG or --pid PID, not both");
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

	request_parse(&r, envp, pdp_config(pdp)->token_cookie);
	pdp_decide(pdp, worker, &r, time(NULL), rs);
}

/* The transport's accept hook: worker i counts as reader i. */
static void
serve_accepted(void *ctx, unsigned worker, enum listen_front front)
{
	pdp_count_accepted(ctx, worker, front);
}

/* Opens a listening socket for each endpoint of cfg into ls; fatal when one cannot be. */
static void
serve_listen(const struct config *cfg, struct fcgi_listener *ls)
{
	char err[1024];

	for (size_t i = 0; i < cfg->n_listen; i++) {
		const char *sock;

		ls[i].front = netaddr_listen_front(cfg->listen[i], &sock);
		ls[i].fd = fcgi_listen(sock, cfg->backlog, err, sizeof(err));
		if (ls[i].fd < 0)
			fatal("%s", err);
		log_info("listening on %s (%s)", sock,
		         ls[i].front == FRONT_HTTP ? "HTTP/1.1" : "FastCGI");
	}
}

/* Closes the listening sockets and removes the unix socket files. */
static void
serve_unlisten(const struct config *cfg, const struct fcgi_listener *ls)
{
	for (size_t i = 0; i < cfg->n_listen; i++) {
		const char *sock;

		netaddr_listen_front(cfg->listen[i], &sock);
		close(ls[i].fd);
		if (strncmp(sock, "unix:", 5) == 0)
			unlink(sock + 5);
	}
}

int
serve_main(int argc, char **argv)
{
	const char *path = cli_config_arg("serve", argc, argv);
	char err[1024];
	struct config *cfg = NULL;
	struct fcgi_server *server;
	struct pdp *pdp;
	struct fcgi_listener ls[CONFIG_MAX_LISTEN];

	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL)
		fatal("%s", err);
	log_set_level(cfg->log_level);
	install_signals();
	/* One reader slot per worker, and the last for this thread. */
	if ((pdp = pdp_new(cfg, cfg->threads + 1, err, sizeof(err))) == NULL)
		fatal("%s: %s", path, err);
	if (pdp_keys_start(pdp, err, sizeof(err)) != 0)
		fatal("%s: %s", path, err);
	_Static_assert(CONFIG_MAX_LISTEN <= FCGI_MAX_LISTENERS, "listeners");
	serve_listen(cfg, ls);
	log_info("pdp %s listening on %zu endpoint%s (%zu issuer%s, default_decision %s)",
	         PDP_VERSION, cfg->n_listen, cfg->n_listen == 1 ? "" : "s", cfg->n_issuers,
	         cfg->n_issuers == 1 ? "" : "s",
	         cfg->default_decision == DEFAULT_ALLOW ? "allow" : "deny");
	log_revision(pdp, cfg->threads, "serving");
	if (cfg->pid_file != NULL)
		pid_file_write(cfg->pid_file);
	server = fcgi_start_fronts(ls, cfg->n_listen, cfg->threads,
	                           &(struct fcgi_limits){.read_timeout_ms = cfg->read_timeout_ms},
	                           serve_request, serve_accepted, pdp);
	if (server == NULL)
		fatal("cannot start worker threads");
	serve_loop(pdp, cfg->threads);
	fcgi_stop(server, ls[0].fd);
	serve_unlisten(cfg, ls);
	if (cfg->pid_file != NULL)
		unlink(cfg->pid_file);
	log_info("stopped");
	pdp_free(pdp);
	config_free(cfg);
	return 0;
}
