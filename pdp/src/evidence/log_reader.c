/* log_reader.c - decision-log lines from a file, a gzip file or stdin, with their line numbers */
#include "evidence/log_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "service/decision_log.h"

/* Read and inflate this much at a time; the buffer holds at least one longest line beside it. */
#define READ_CHUNK (256 * 1024)

struct log_reader {
	gzFile gz;
	char *name;
	char *buf; /* buf[start..end) is read and not yet returned */
	size_t start, end;
	uint64_t lineno;
	bool eof;
	bool skipping; /* inside a line too long, until its newline */
};

struct log_reader *
log_reader_fdopen(int fd, const char *name, char *err, size_t errsz)
{
	struct log_reader *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->name = strdup(name)) == NULL ||
	    (r->buf = malloc(READ_CHUNK + DECISION_LOG_LINE_MAX + 1)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", name);
		goto fail;
	}
	/* zlib reads gzip when the magic bytes say so, else the bytes as they are. */
	r->gz = gzdopen(fd, "rb");
	if (r->gz == NULL) {
		snprintf(err, errsz, "%s: cannot read it", name);
		goto fail;
	}
	gzbuffer(r->gz, READ_CHUNK);
	return r;
fail:
	if (r != NULL) {
		free(r->name);
		free(r->buf);
		free(r);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return NULL;
}

struct log_reader *
log_reader_open(const char *name, char *err, size_t errsz)
{
	int fd;

	if (strcmp(name, "-") == 0)
		return log_reader_fdopen(STDIN_FILENO, "stdin", err, errsz);
	fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", name, strerror(errno));
		return NULL;
	}
	return log_reader_fdopen(fd, name, err, errsz);
}

/* Reads more after what is kept; false at the end or on an error (err set). */
static bool
fill(struct log_reader *r, char *err, size_t errsz)
{
	int n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	n = gzread(r->gz, r->buf + r->end, READ_CHUNK);
	if (n < 0) {
		int code;
		const char *msg = gzerror(r->gz, &code);

		if (code == Z_ERRNO)
			msg = strerror(errno);
		snprintf(err, errsz, "%s: %s", r->name,
		         code == Z_DATA_ERROR || code == Z_BUF_ERROR ? "damaged gzip data" : msg);
		return false;
	}
	if (n == 0) {
		int code;

		/* A gzip stream cut short reads as an end with Z_BUF_ERROR. */
		gzerror(r->gz, &code);
		if (code != Z_OK) {
			snprintf(err, errsz, "%s: damaged or truncated gzip data", r->name);
			return false;
		}
		r->eof = true;
		return false;
	}
	r->end += (size_t)n;
	return true;
}

enum log_read
log_reader_next(struct log_reader *r, const char **line, size_t *len, uint64_t *lineno, char *err,
                size_t errsz)
{
	for (;;) {
		char *p = r->buf + r->start, *nl = memchr(p, '\n', r->end - r->start);

		if (nl != NULL) {
			size_t n = (size_t)(nl - p);

			r->start += n + 1;
			if (r->skipping) {
				r->skipping = false;
				continue; /* the tail of a line already counted too long */
			}
			*lineno = ++r->lineno;
			if (n > DECISION_LOG_LINE_MAX)
				return LOG_READ_TOO_LONG;
			*line = p;
			*len = n;
			return LOG_READ_LINE;
		}
		if (r->end - r->start > DECISION_LOG_LINE_MAX) {
			/* No newline within the longest line: drop what is held, find the next. */
			bool was = r->skipping;

			r->start = r->end;
			if (!was) {
				r->skipping = true;
				*lineno = ++r->lineno;
				return LOG_READ_TOO_LONG;
			}
		}
		if (r->eof)
			break;
		if (!fill(r, err, errsz) && !r->eof)
			return LOG_READ_ERROR;
	}
	if (r->end > r->start && !r->skipping) {
		/* A last line without its newline (a writer stopped mid-line, say). */
		*line = r->buf + r->start;
		*len = r->end - r->start;
		r->start = r->end;
		*lineno = ++r->lineno;
		return LOG_READ_LINE;
	}
	return LOG_READ_EOF;
}

int
log_reader_gzip(const struct log_reader *r)
{
	return !gzdirect(r->gz);
}

void
log_reader_close(struct log_reader *r)
{
	if (r == NULL)
		return;
	gzclose_r(r->gz); /* closes the descriptor, stdin's too: nothing reads it after */
	free(r->name);
	free(r->buf);
	free(r);
}
