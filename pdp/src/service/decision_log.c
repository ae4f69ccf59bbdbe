/* decision_log.c - one JSON line per decision, written by a thread of its own */
#include "service/decision_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/* Room kept at the end of a jline for ,"truncated":[…]} with its keys (each up to 20 bytes). */
#define JLINE_RESERVE (32 + JLINE_MAX_TRUNCATED * 24)
/* What ends a shortened value: "…". */
#define JLINE_CUT "\xe2\x80\xa6"
/* How long a line may wait in memory before the writer takes it. */
#define FLUSH_MS 20

/*
 * Two buffers of whole lines: deciding threads append to fill while the
 * writer writes spare out, and the writer swaps them. It wakes for the first
 * line after a swap and then lets lines gather for FLUSH_MS (or until fill is
 * a quarter full): a few wake-ups and writes a second at any rate, and a
 * deciding thread holds the lock only to copy its line.
 */
struct decision_log {
	char *path; /* NULL: stderr */
	int fd;
	pthread_t writer;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	char *fill;          /* lines queued, each ending in a newline */
	size_t len, cap;     /* bytes in fill; the size of each buffer */
	char *spare;         /* the writer's */
	bool stop, reopen;
	atomic_uint_fast64_t dropped;
};

static int
open_file(const char *path, char *err, size_t errsz)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
	return fd;
}

static void
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a full disk loses lines, never the service */
		buf += n;
		len -= (size_t)n;
	}
}

/* Waits, lock held, until FLUSH_MS have passed, fill is a quarter full, or stop or reopen. */
static void
gather(struct decision_log *dl)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += FLUSH_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (dl->len < dl->cap / 4 && !dl->stop && !dl->reopen &&
	       pthread_cond_timedwait(&dl->wake, &dl->lock, &until) != ETIMEDOUT)
		;
}

static void *
writer_main(void *arg)
{
	struct decision_log *dl = arg;

	pthread_mutex_lock(&dl->lock);
	for (;;) {
		char *out;
		size_t n;
		bool reopen;

		while (dl->len == 0 && !dl->stop && !dl->reopen)
			pthread_cond_wait(&dl->wake, &dl->lock);
		gather(dl);
		out = dl->fill;
		n = dl->len;
		dl->fill = dl->spare;
		dl->spare = out;
		dl->len = 0;
		reopen = dl->reopen;
		dl->reopen = false;
		if (n == 0 && !reopen && dl->stop)
			break;
		pthread_mutex_unlock(&dl->lock);
		if (n > 0)
			write_all(dl->fd, out, n);
		if (reopen && dl->path != NULL) {
			char err[512];
			int fd = open_file(dl->path, err, sizeof(err));

			if (fd >= 0) {
				close(dl->fd);
				dl->fd = fd;
			} else {
				log_error("decision log: cannot reopen: %s", err);
			}
		}
		pthread_mutex_lock(&dl->lock);
	}
	pthread_mutex_unlock(&dl->lock);
	return NULL;
}

struct decision_log *
decision_log_open(const char *path, size_t capacity, char *err, size_t errsz)
{
	struct decision_log *dl = calloc(1, sizeof(*dl));
	pthread_condattr_t attr;

	if (dl == NULL)
		goto oom;
	dl->fd = -1;
	dl->cap = capacity > DECISION_LOG_LINE_MAX ? capacity : DECISION_LOG_LINE_MAX + 1;
	dl->fill = malloc(dl->cap);
	dl->spare = malloc(dl->cap);
	if (dl->fill == NULL || dl->spare == NULL)
		goto oom;
	if (strcmp(path, "stderr") == 0) {
		dl->fd = STDERR_FILENO;
	} else {
		if ((dl->path = strdup(path)) == NULL)
			goto oom;
		if ((dl->fd = open_file(path, err, errsz)) < 0)
			goto fail;
	}
	atomic_init(&dl->dropped, 0);
	pthread_mutex_init(&dl->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&dl->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&dl->writer, NULL, writer_main, dl) != 0) {
		snprintf(err, errsz, "decision log: cannot start its thread");
		pthread_mutex_destroy(&dl->lock);
		pthread_cond_destroy(&dl->wake);
		goto fail;
	}
	return dl;
oom:
	snprintf(err, errsz, "decision log: out of memory");
fail:
	if (dl != NULL) {
		if (dl->fd >= 0 && dl->fd != STDERR_FILENO)
			close(dl->fd);
		free(dl->path);
		free(dl->fill);
		free(dl->spare);
		free(dl);
	}
	return NULL;
}

void
decision_log_write(struct decision_log *dl, const char *line, size_t len)
{
	size_t was;

	if (len > DECISION_LOG_LINE_MAX)
		len = DECISION_LOG_LINE_MAX;
	pthread_mutex_lock(&dl->lock);
	was = dl->len;
	if (was + len + 1 > dl->cap) {
		pthread_mutex_unlock(&dl->lock);
		atomic_fetch_add_explicit(&dl->dropped, 1, memory_order_relaxed);
		return;
	}
	memcpy(dl->fill + was, line, len);
	dl->fill[was + len] = '\n';
	dl->len = was + len + 1;
	/* The writer waits for a first line, then for time or a quarter-full buffer. */
	if (was == 0 || (was < dl->cap / 4 && dl->len >= dl->cap / 4))
		pthread_cond_signal(&dl->wake);
	pthread_mutex_unlock(&dl->lock);
}

void
decision_log_reopen(struct decision_log *dl)
{
	pthread_mutex_lock(&dl->lock);
	dl->reopen = true;
	pthread_cond_signal(&dl->wake);
	pthread_mutex_unlock(&dl->lock);
}

uint64_t
decision_log_dropped(struct decision_log *dl)
{
	return atomic_load(&dl->dropped);
}

void
decision_log_close(struct decision_log *dl)
{
	if (dl == NULL)
		return;
	pthread_mutex_lock(&dl->lock);
	dl->stop = true;
	pthread_cond_signal(&dl->wake);
	pthread_mutex_unlock(&dl->lock);
	pthread_join(dl->writer, NULL);
	if (dl->fd != STDERR_FILENO)
		close(dl->fd);
	pthread_mutex_destroy(&dl->lock);
	pthread_cond_destroy(&dl->wake);
	free(dl->path);
	free(dl->fill);
	free(dl->spare);
	free(dl);
}

/* --- JSON lines --------------------------------------------------------------- */

static void
jput(struct jline *j, const char *s, size_t n)
{
	if (j->overflow)
		return;
	/* The reserve is for jline_end's "truncated" list; one byte stays for the '}'. */
	if (j->len + n > sizeof(j->buf) - (j->closing ? 1 : JLINE_RESERVE)) {
		j->overflow = true;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80 ||
		    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Writes v as a JSON string of at most max bytes between its quotes (escapes
 * included); true when v was cut there (the marker is the caller's).
 */
static bool
jescaped_max(struct jline *j, const char *v, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)v;
	size_t start;

	jput(j, "\"", 1);
	start = j->len;
	while (*s != '\0' && !j->overflow) {
		const unsigned char *run = s;
		size_t left = max - (j->len - start), n;
		char e[6];

		/* Printable ASCII needs no escape: copied a run at a time. */
		while (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\' &&
		       (size_t)(s - run) < left)
			s++;
		if (s > run) {
			jput(j, (const char *)run, (size_t)(s - run));
			continue;
		}
		if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\') {
			n = 1; /* printable, and no room left */
		} else if (*s == '"' || *s == '\\') {
			e[0] = '\\';
			e[1] = (char)*s;
			n = 2;
		} else if (*s < 0x20 || *s == 0x7f) {
			memcpy(e, (char[6]){'\\', 'u', '0', '0', hex[*s >> 4], hex[*s & 15]}, 6);
			n = 6;
		} else if (utf8_len(s) == 0) {
			memcpy(e, "\\ufffd", 6);
			n = 6;
		} else {
			n = utf8_len(s);
			if (n <= left) {
				jput(j, (const char *)s, n);
				s += n;
				continue;
			}
		}
		if (n > left)
			break;
		jput(j, e, n);
		s++;
	}
	jput(j, "\"", 1);
	return *s != '\0';
}

static void
jescaped(struct jline *j, const char *v)
{
	jescaped_max(j, v, SIZE_MAX);
}

static void
jmember(struct jline *j, const char *key)
{
	if (j->depth == 1 && !j->overflow)
		j->member = key; /* past an overflow: the member that did not fit stays named */
	if (j->need_comma[j->depth])
		jput(j, ",", 1);
	j->need_comma[j->depth] = true;
	if (key != NULL) {
		jescaped(j, key);
		jput(j, ":", 1);
	}
}

static void
jdone(struct jline *j)
{
	if (j->depth == 1 && !j->overflow)
		j->last_good = j->len;
}

void
jline_begin(struct jline *j)
{
	j->len = 0;
	j->overflow = false;
	j->depth = 0;
	j->member = NULL;
	j->n_truncated = 0;
	j->closing = false;
	jput(j, "{", 1);
	j->depth = 1;
	j->need_comma[1] = false;
	j->last_good = j->len;
}

void
jline_str(struct jline *j, const char *key, const char *value)
{
	if (value == NULL)
		return;
	jmember(j, key);
	jescaped(j, value);
	jdone(j);
}

void
jline_mark(struct jline *j, const char *key)
{
	for (size_t i = 0; i < j->n_truncated; i++) {
		if (strcmp(j->truncated[i], key) == 0)
			return;
	}
	if (j->n_truncated < JLINE_MAX_TRUNCATED)
		j->truncated[j->n_truncated++] = key;
}

size_t
jline_room(const struct jline *j)
{
	size_t used = j->len + JLINE_RESERVE;

	return j->overflow || used >= sizeof(j->buf) ? 0 : sizeof(j->buf) - used;
}

void
jline_text(struct jline *j, const char *key, const char *value, size_t max)
{
	if (value == NULL)
		return;
	jmember(j, key);
	/* Room for the marker within max: a cut value is at most max bytes with it. */
	if (jescaped_max(j, value, max > sizeof(JLINE_CUT) ? max - (sizeof(JLINE_CUT) - 1) : 0) &&
	    !j->overflow) {
		j->len--; /* the closing quote: the marker goes before it */
		jput(j, JLINE_CUT "\"", sizeof(JLINE_CUT));
		jline_mark(j, j->depth == 1 && key != NULL ? key : j->member);
	}
	jdone(j);
}

void
jline_int(struct jline *j, const char *key, long long value)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%lld", value);

	jmember(j, key);
	jput(j, num, (size_t)n);
	jdone(j);
}

void
jline_bool(struct jline *j, const char *key, bool value)
{
	jmember(j, key);
	jput(j, value ? "true" : "false", value ? 4 : 5);
	jdone(j);
}

void
jline_now(struct jline *j, const char *key)
{
	/* The date and time of day change once a second: formatted then, per thread. */
	static _Thread_local time_t sec = -1;
	static _Thread_local char prefix[32];
	static _Thread_local size_t prefix_len;
	struct timespec ts;
	char when[40];
	long ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != sec) {
		struct tm tm;
		int n;

		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(prefix, sizeof(prefix), "%04d-%02d-%02dT%02d:%02d:%02d.",
		             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		             tm.tm_sec);
		prefix_len = n > 0 && (size_t)n < sizeof(prefix) ? (size_t)n : 0;
		sec = ts.tv_sec;
	}
	ms = ts.tv_nsec / 1000000;
	memcpy(when, prefix, prefix_len);
	when[prefix_len] = (char)('0' + ms / 100);
	when[prefix_len + 1] = (char)('0' + ms / 10 % 10);
	when[prefix_len + 2] = (char)('0' + ms % 10);
	when[prefix_len + 3] = 'Z';
	when[prefix_len + 4] = '\0';
	jline_str(j, key, when);
}

void
jline_open(struct jline *j, const char *key, char bracket)
{
	jmember(j, key);
	jput(j, &bracket, 1);
	if (j->depth < 7)
		j->depth++;
	j->need_comma[j->depth] = false;
}

void
jline_close(struct jline *j, char bracket)
{
	jput(j, &bracket, 1);
	if (j->depth > 1)
		j->depth--;
	jdone(j);
}

size_t
jline_end(struct jline *j)
{
	if (j->overflow) {
		/* Back to the last whole member, and the one being written listed. */
		j->len = j->last_good;
		j->overflow = false;
		j->depth = 1;
		j->need_comma[1] = j->len > 1;
		jline_mark(j, j->member != NULL ? j->member : "line");
	}
	j->closing = true;
	if (j->n_truncated > 0) {
		/* Within JLINE_RESERVE: keys are short static names, cut at 20 bytes. */
		jmember(j, "truncated");
		jput(j, "[", 1);
		for (size_t i = 0; i < j->n_truncated; i++) {
			if (i > 0)
				jput(j, ",", 1);
			jescaped_max(j, j->truncated[i], 20);
		}
		jput(j, "]", 1);
	}
	j->buf[j->len++] = '}';
	return j->len;
}
