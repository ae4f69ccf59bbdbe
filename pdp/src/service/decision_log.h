/* decision_log.h - one JSON line per decision, written by a thread of its own */
#ifndef PDP_DECISION_LOG_H
#define PDP_DECISION_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest line kept; a longer one is cut at a field boundary (see jline). */
#define DECISION_LOG_LINE_MAX 8192
/* Members a line can list as shortened in "truncated". */
#define JLINE_MAX_TRUNCATED 16

struct decision_log;

/*
 * Opens path for appending (created 0640), or "stderr", and starts the
 * writer thread, which writes what is queued every 20 ms (sooner when a
 * quarter of capacity is queued). capacity: bytes queued at most, twice
 * allocated (at least one longest line); past that, lines are dropped and
 * counted, so a slow disk never holds a request. Returns NULL with the
 * reason in err. Close with decision_log_close.
 */
struct decision_log *decision_log_open(const char *path, size_t capacity, char *err, size_t errsz);

/* Queues one line (no newline); never waits for I/O. */
void decision_log_write(struct decision_log *dl, const char *line, size_t len);

/* Asks the writer to reopen the file (after log rotation moved it). */
void decision_log_reopen(struct decision_log *dl);

uint64_t decision_log_dropped(struct decision_log *dl);

/* Writes what is queued, stops the writer and frees dl. */
void decision_log_close(struct decision_log *dl);

/*
 * A JSON object built in a fixed buffer. Strings are escaped (quotes,
 * backslashes, control characters, invalid UTF-8) so request data cannot
 * forge fields or lines. Free text is written with jline_text, which
 * shortens a long value visibly: cut at a character, ending in "…", and its
 * key listed in a closing "truncated" array. Should the buffer still run out,
 * the object is closed at the last complete member and the key being
 * written is listed there too.
 */
struct jline {
	char buf[DECISION_LOG_LINE_MAX];
	size_t len;
	size_t last_good; /* length after the last complete member */
	bool overflow;
	bool closing; /* in jline_end: the reserve may be used */
	int depth;
	bool need_comma[8];
	const char *member;                         /* the top-level member being written */
	const char *truncated[JLINE_MAX_TRUNCATED]; /* keys (static strings) shortened */
	size_t n_truncated;
};

void jline_begin(struct jline *j);
void jline_str(struct jline *j, const char *key, const char *value); /* NULL: omitted */
/*
 * value as free text: when escaped it takes more than max bytes, it is cut
 * at a character boundary within max, ends in "…" (U+2026), and key (a
 * static string; in an array, the array's key) is listed in "truncated".
 */
void jline_text(struct jline *j, const char *key, const char *value, size_t max);
/* Lists key (a static string) in "truncated": something of it was left out. */
void jline_mark(struct jline *j, const char *key);
/* Bytes still free for members before jline_end. */
size_t jline_room(const struct jline *j);
void jline_int(struct jline *j, const char *key, long long value);
void jline_bool(struct jline *j, const char *key, bool value);
/* The time now as UTC to the millisecond, as "2026-11-23T04:33:14.820Z". */
void jline_now(struct jline *j, const char *key);
void jline_open(struct jline *j, const char *key,
                char bracket); /* '{' or '['; key NULL in arrays */
void jline_close(struct jline *j, char bracket);
/* Closes the object, with "truncated":[keys…] when any was shortened; returns the line's length. */
size_t jline_end(struct jline *j);

#endif
