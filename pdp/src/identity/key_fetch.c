/* key_fetch.c - the thread that owns every key fetch: issuers' JWKS over HTTPS, key files */
#include "identity/key_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "identity/discovery.h"
#include "identity/http_get.h"

#define JWKS_MAX      (1024 * 1024) /* a JWKS answer */
#define DISCOVERY_MAX (256 * 1024)  /* a discovery document */
#define BACKOFF_MS    1000          /* the first retry after a failure; doubles to jwks_refresh */
#define SETTLE_MS     100 /* key files are looked at this long after their directory's events */

/* Events of a key file's directory: written and closed, renamed, created, deleted. */
#define WATCH_EVENTS                                                                               \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)

enum source { SRC_SECRET, SRC_FILE, SRC_REMOTE };

struct fetch_issuer {
	enum source src;
	int64_t due_ms;           /* monotonic: the next fetch of a remote set */
	int64_t last_refetch_ms;  /* monotonic: the last fetch a refetch request caused */
	unsigned failures;        /* in a row, for the backoff */
	atomic_bool want_refetch; /* set by request threads (on_refetch) */
	struct file_seen seen;    /* the key file as last read (src == SRC_FILE) */
};

struct key_fetch {
	struct keyring *kr;
	size_t n;
	struct fetch_issuer *is;
	int efd;              /* eventfd: refetch, reread, stop */
	int ifd;              /* inotify on the key files' directories, -1: none */
	int64_t files_due_ms; /* monotonic: when to look at the key files again, 0: not pending */
	atomic_bool stop;
	atomic_bool reread;
	pthread_t thread;
};

static void
wake(struct key_fetch *f)
{
	uint64_t one = 1;

	/* Nonblocking: a full counter already means "wake up". */
	if (write(f->efd, &one, sizeof(one)) < 0)
		return;
}

/* From a request thread: a flag and a write, no lock, no allocation. */
static void
on_refetch(void *arg, size_t issuer)
{
	struct key_fetch *f = arg;

	if (issuer >= f->n || f->is[issuer].src != SRC_REMOTE)
		return;
	atomic_store(&f->is[issuer].want_refetch, true);
	wake(f);
}

/* Rereads a key file: a set that loads replaces the live one, anything else keeps it. */
static enum keys_result
reread_file(struct keyring *kr, size_t i, char *err, size_t errsz)
{
	const struct config_issuer *ci = keyring_issuer(kr, i);
	struct keyset *ks = NULL;
	enum keys_result r;
	int fd = open(ci->jwks_file, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", ci->jwks_file, strerror(errno));
		r = KEYS_FILE;
	} else {
		close(fd);
		r = keyset_load_jwks(ci->jwks_file, ci->algorithms, &ks, err, errsz) == 0
		        ? KEYS_OK
		        : KEYS_INVALID;
	}
	if (r == KEYS_OK)
		keyring_replace(kr, i, ks);
	keyring_report(kr, i, r, r == KEYS_OK ? NULL : err);
	return r;
}

/* The jwks_uri to fetch: the configured one, or the one the discovery document names. */
static enum keys_result
jwks_location(const struct config_issuer *ci, atomic_bool *cancel, char **uri, char *err,
              size_t errsz)
{
	struct http_answer a;
	enum keys_result r;
	char *url;

	if (!ci->discovery) {
		if ((*uri = strdup(ci->jwks_uri)) == NULL) {
			snprintf(err, errsz, "out of memory");
			return KEYS_NETWORK;
		}
		return KEYS_OK;
	}
	if ((url = discovery_url(ci->issuer)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return KEYS_NETWORK;
	}
	r = http_get(url, ci->tls_ca_file, DISCOVERY_MAX, cancel, &a, err, errsz);
	if (r == KEYS_OK) {
		char why[KEYRING_ERROR_MAX];

		if (discovery_parse(a.body, a.len, ci->issuer, uri, why, sizeof(why)) != 0) {
			snprintf(err, errsz, "%s: %.150s", url, why);
			r = KEYS_INVALID;
		}
		free(a.body);
	}
	free(url);
	return r;
}

/*
 * Fetches a remote set (its discovery document first, when configured) and
 * publishes it. *max_age_s: the JWKS answer's Cache-Control freshness, -1:
 * none.
 */
static enum keys_result
fetch_remote(struct keyring *kr, size_t i, atomic_bool *cancel, int64_t *max_age_s, char *err,
             size_t errsz)
{
	const struct config_issuer *ci = keyring_issuer(kr, i);
	struct http_answer a = {.body = NULL};
	struct keyset *ks = NULL;
	char *uri = NULL;
	enum keys_result r;

	*max_age_s = -1;
	r = jwks_location(ci, cancel, &uri, err, errsz);
	if (r == KEYS_OK)
		r = http_get(uri, ci->tls_ca_file, JWKS_MAX, cancel, &a, err, errsz);
	if (r == KEYS_OK) {
		*max_age_s = a.max_age;
		if (keyset_parse_jwks(a.body, a.len, uri, ci->algorithms, &ks, err, errsz) != 0)
			r = KEYS_INVALID;
	}
	if (r == KEYS_OK)
		keyring_replace(kr, i, ks);
	/* A stop cut the fetch short: not the issuer's failure. */
	if (cancel == NULL || !atomic_load(cancel))
		keyring_report(kr, i, r, r == KEYS_OK ? NULL : err);
	free(a.body);
	free(uri);
	return r;
}

/* When to fetch again: refresh, sooner as max-age says (not below min_refetch); backoff after
 * failures. */
static int64_t
next_fetch_ms(const struct config_issuer *ci, struct fetch_issuer *fi, enum keys_result r,
              int64_t max_age_s)
{
	int64_t refresh = (int64_t)ci->jwks_refresh_ms;
	int64_t wait = refresh;

	if (r != KEYS_OK) {
		wait = BACKOFF_MS;
		for (unsigned k = 0; k < fi->failures && wait < refresh; k++)
			wait *= 2;
		fi->failures++;
		return wait < refresh ? wait : refresh;
	}
	fi->failures = 0;
	if (max_age_s >= 0 && max_age_s < refresh / 1000) {
		wait = max_age_s * 1000;
		if (wait < (int64_t)ci->jwks_min_refetch_ms)
			wait = (int64_t)ci->jwks_min_refetch_ms;
		if (wait > refresh)
			wait = refresh;
	}
	return wait;
}

/* Takes the refetch requests and SIGHUP's reread: what falls due now. */
static void
take_requests(struct key_fetch *f, int64_t now)
{
	bool all = atomic_exchange(&f->reread, false);

	for (size_t i = 0; i < f->n; i++) {
		struct fetch_issuer *fi = &f->is[i];
		const struct config_issuer *ci = keyring_issuer(f->kr, i);
		int64_t allowed;

		if (fi->src == SRC_FILE && all) {
			char err[KEYRING_ERROR_MAX];

			file_moved(ci->jwks_file, &fi->seen);
			reread_file(f->kr, i, err, sizeof(err));
		}
		if (fi->src != SRC_REMOTE)
			continue;
		if (all)
			fi->due_ms = now;
		if (!atomic_exchange(&fi->want_refetch, false))
			continue;
		/* The keyring bounds the asks; this bounds the fetches they cause, as a second
		 * guard. */
		allowed = fi->last_refetch_ms == 0
		              ? now
		              : fi->last_refetch_ms + (int64_t)ci->jwks_min_refetch_ms;
		if (allowed <= now) {
			fi->due_ms = now;
			fi->last_refetch_ms = now;
		} else if (allowed < fi->due_ms) {
			fi->due_ms = allowed;
			fi->last_refetch_ms = allowed;
		}
	}
}

/* The key files whose directory saw events: reread those that changed. */
static void
check_files(struct key_fetch *f)
{
	for (size_t i = 0; i < f->n; i++) {
		char err[KEYRING_ERROR_MAX];

		if (f->is[i].src == SRC_FILE &&
		    file_moved(keyring_issuer(f->kr, i)->jwks_file, &f->is[i].seen))
			reread_file(f->kr, i, err, sizeof(err));
	}
}

static void
drain(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void *
fetch_main(void *arg)
{
	struct key_fetch *f = arg;

	while (!atomic_load(&f->stop)) {
		int64_t now = clock_ms(), next = INT64_MAX;
		struct pollfd pfd[2] = {{.fd = f->efd, .events = POLLIN},
		                        {.fd = f->ifd, .events = POLLIN}};
		int timeout;

		take_requests(f, now);
		if (f->files_due_ms != 0 && f->files_due_ms <= now) {
			f->files_due_ms = 0;
			check_files(f);
		}
		for (size_t i = 0; i < f->n && !atomic_load(&f->stop); i++) {
			struct fetch_issuer *fi = &f->is[i];
			char err[KEYRING_ERROR_MAX];
			int64_t max_age;
			enum keys_result r;

			if (fi->src != SRC_REMOTE)
				continue;
			if (fi->due_ms <= now) {
				r = fetch_remote(f->kr, i, &f->stop, &max_age, err, sizeof(err));
				now = clock_ms();
				fi->due_ms =
				    now + next_fetch_ms(keyring_issuer(f->kr, i), fi, r, max_age);
			}
			if (fi->due_ms < next)
				next = fi->due_ms;
		}
		if (f->files_due_ms != 0 && f->files_due_ms < next)
			next = f->files_due_ms;
		now = clock_ms();
		timeout = next == INT64_MAX      ? -1
		          : next <= now          ? 0
		          : next - now > INT_MAX ? INT_MAX
		                                 : (int)(next - now);
		if (poll(pfd, f->ifd >= 0 ? 2 : 1, timeout) <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			drain(f->efd);
		/*
		 * A burst of events (a file written, then renamed) is looked at once,
		 * SETTLE_MS after its first; events later than that look again, so a
		 * busy directory cannot hold a reread back.
		 */
		if (f->ifd >= 0 && (pfd[1].revents & POLLIN)) {
			drain(f->ifd);
			if (f->files_due_ms == 0)
				f->files_due_ms = clock_ms() + SETTLE_MS;
		}
	}
	return NULL;
}

/* Watches the directory of each key file: editors and ConfigMaps replace files by renaming. */
static void
watch_files(struct key_fetch *f)
{
	for (size_t i = 0; i < f->n; i++) {
		const char *path = keyring_issuer(f->kr, i)->jwks_file;
		const char *slash;
		char dir[PATH_MAX];

		if (f->is[i].src != SRC_FILE)
			continue;
		file_moved(path, &f->is[i].seen);
		if (f->ifd < 0 && (f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
			log_warn("%s: cannot watch for changes (%s); reread with SIGHUP", path,
			         strerror(errno));
			return;
		}
		slash = strrchr(path, '/');
		snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 1 : (int)(slash - path),
		         slash == NULL   ? "."
		         : slash == path ? "/"
		                         : path);
		if (inotify_add_watch(f->ifd, dir, WATCH_EVENTS) < 0)
			log_warn("%s: cannot watch for changes (%s); reread with SIGHUP", path,
			         strerror(errno));
	}
}

static struct key_fetch *
fetch_new(struct keyring *kr, char *err, size_t errsz)
{
	struct key_fetch *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->is = calloc(keyring_size(kr) + 1, sizeof(*f->is))) == NULL) {
		free(f);
		snprintf(err, errsz, "key fetcher: out of memory");
		return NULL;
	}
	f->kr = kr;
	f->n = keyring_size(kr);
	f->efd = f->ifd = -1;
	for (size_t i = 0; i < f->n; i++) {
		const struct config_issuer *ci = keyring_issuer(kr, i);

		f->is[i].src = ci->jwks_file != NULL                   ? SRC_FILE
		               : ci->jwks_uri != NULL || ci->discovery ? SRC_REMOTE
		                                                       : SRC_SECRET;
		atomic_init(&f->is[i].want_refetch, false);
	}
	atomic_init(&f->stop, false);
	atomic_init(&f->reread, false);
	return f;
}

static void
fetch_free(struct key_fetch *f)
{
	if (f->efd >= 0)
		close(f->efd);
	if (f->ifd >= 0)
		close(f->ifd);
	free(f->is);
	free(f);
}

struct key_fetch *
key_fetch_start(struct keyring *kr, char *err, size_t errsz)
{
	struct key_fetch *f = fetch_new(kr, err, errsz);
	sigset_t all, old;
	int rc;

	if (f == NULL)
		return NULL;
	if ((f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errsz, "key fetcher: eventfd: %s", strerror(errno));
		fetch_free(f);
		return NULL;
	}
	watch_files(f);
	/* Signals are the main thread's: the fetcher never takes one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&f->thread, NULL, fetch_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errsz, "key fetcher: cannot start its thread: %s", strerror(rc));
		fetch_free(f);
		return NULL;
	}
	keyring_on_refetch(kr, on_refetch, f);
	return f;
}

void
key_fetch_reread(struct key_fetch *f)
{
	if (f == NULL)
		return;
	atomic_store(&f->reread, true);
	wake(f);
}

void
key_fetch_stop(struct key_fetch *f)
{
	if (f == NULL)
		return;
	atomic_store(&f->stop, true);
	wake(f);
	pthread_join(f->thread, NULL);
	fetch_free(f);
}

int
key_fetch_once(struct keyring *kr, char *err, size_t errsz)
{
	int rc = 0;

	for (size_t i = 0; i < keyring_size(kr); i++) {
		const struct config_issuer *ci = keyring_issuer(kr, i);
		char why[KEYRING_ERROR_MAX];
		int64_t max_age;

		if (ci->jwks_uri == NULL && !ci->discovery)
			continue;
		if (fetch_remote(kr, i, NULL, &max_age, why, sizeof(why)) != KEYS_OK && rc == 0) {
			snprintf(err, errsz, "issuer \"%s\": %s", ci->issuer, why);
			rc = -1;
		}
	}
	return rc;
}
