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

/*
 * The input is read from fd as it is, or, when it starts with gzip's magic
 * bytes, inflated member by member: zlib's gzread would stop quietly at
 * bytes after a member that are not another one, and lose the lines they
 * hold; here they are an error.
 */
struct log_reader {
	int fd;
	char *name;
	char *buf; /* buf[start..end) is read and not yet returned */
	size_t start, end;
	uint64_t lineno;
	bool eof;
	bool skipping; /* inside a line too long, until its newline */
	bool gzip;
	bool in_eof;       /* fd is read to its end */
	unsigned char *in; /* gzip: read and not yet inflated, zs.next_in on */
	z_stream zs;
};

/* Reads up to n bytes from fd; the count, 0 at its end, or -1 (errno). */
static ssize_t
read_some(int fd, void *into, size_t n)
{
	ssize_t got;

	do
		got = read(fd, into, n);
	while (got < 0 && errno == EINTR);
	return got;
}

/* More input for inflate after what it has not taken; false on a read error (err set). */
static bool
read_in(struct log_reader *r, char *err, size_t errsz)
{
	ssize_t got;

	if (r->zs.avail_in > 0 && r->zs.next_in != r->in)
		memmove(r->in, r->zs.next_in, r->zs.avail_in);
	r->zs.next_in = r->in;
	got = read_some(r->fd, r->in + r->zs.avail_in, READ_CHUNK - r->zs.avail_in);
	if (got < 0) {
		snprintf(err, errsz, "%s: %s", r->name, strerror(errno));
		return false;
	}
	if (got == 0)
		r->in_eof = true;
	r->zs.avail_in += (uInt)got;
	return true;
}

struct log_reader *
log_reader_fdopen(int fd, const char *name, char *err, size_t errsz)
{
	struct log_reader *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		snprintf(err, errsz, "%s: out of memory", name);
		close(fd);
		return NULL;
	}
	r->fd = fd; /* the reader's from here: closed with it */
	if ((r->name = strdup(name)) == NULL ||
	    (r->buf = malloc(READ_CHUNK + DECISION_LOG_LINE_MAX + 1)) == NULL ||
	    (r->in = malloc(READ_CHUNK)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", name);
		goto fail;
	}
	/* The first bytes say which: gzip's magic, or the log as it is. */
	r->zs.next_in = r->in;
	while (r->zs.avail_in < 2 && !r->in_eof)
		if (!read_in(r, err, errsz))
			goto fail;
	r->gzip = r->zs.avail_in >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b;
	if (r->gzip) {
		if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK) {
			snprintf(err, errsz, "%s: out of memory", name);
			r->gzip = false;
			goto fail;
		}
	} else {
		memcpy(r->buf, r->in, r->zs.avail_in);
		r->end = r->zs.avail_in;
		r->zs.avail_in = 0;
	}
	return r;
fail:
	log_reader_close(r);
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

/*
 * Inflates into buf[end..end + room): the count (0 at the clean end of the
 * last member), or -1 (err set) for damaged or cut data, or bytes after a
 * member that do not start another.
 */
static ssize_t
inflate_some(struct log_reader *r, size_t room, char *err, size_t errsz)
{
	r->zs.next_out = (Bytef *)r->buf + r->end;
	r->zs.avail_out = (uInt)room;
	for (;;) {
		int rc;

		if (r->zs.avail_in == 0 && !r->in_eof && !read_in(r, err, errsz))
			return -1;
		if (r->zs.avail_in == 0 && r->in_eof) {
			if (r->zs.avail_out < room)
				return (ssize_t)(room - r->zs.avail_out);
			if (r->zs.total_in == 0)
				return 0; /* between members: the end */
			snprintf(err, errsz, "%s: damaged or truncated gzip data", r->name);
			return -1;
		}
		rc = inflate(&r->zs, Z_NO_FLUSH);
		if (rc == Z_STREAM_END) {
			/* A member ends: another must follow, or nothing. */
			while (r->zs.avail_in < 2 && !r->in_eof)
				if (!read_in(r, err, errsz))
					return -1;
			if (r->zs.avail_in > 0 && (r->zs.avail_in < 2 || r->zs.next_in[0] != 0x1f ||
			                           r->zs.next_in[1] != 0x8b)) {
				snprintf(err, errsz, "%s: data after the gzip data", r->name);
				return -1;
			}
			inflateReset(&r->zs); /* total_in 0: a clean end if no member follows */
		} else if (rc != Z_OK) {
			snprintf(err, errsz, "%s: damaged gzip data", r->name);
			return -1;
		}
		if (r->zs.avail_out < room)
			return (ssize_t)(room - r->zs.avail_out);
	}
}

/* Reads more after what is kept; false at the end or on an error (err set). */
static bool
fill(struct log_reader *r, char *err, size_t errsz)
{
	ssize_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->gzip) {
		n = inflate_some(r, READ_CHUNK, err, errsz);
	} else if ((n = read_some(r->fd, r->buf + r->end, READ_CHUNK)) < 0) {
		snprintf(err, errsz, "%s: %s", r->name, strerror(errno));
	}
	if (n < 0)
		return false;
	if (n == 0) {
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
	return r->gzip;
}

void
log_reader_close(struct log_reader *r)
{
	if (r == NULL)
		return;
	if (r->gzip)
		inflateEnd(&r->zs);
	close(r->fd); /* stdin's too: nothing reads it after */
	free(r->name);
	free(r->buf);
	free(r->in);
	free(r);
}
