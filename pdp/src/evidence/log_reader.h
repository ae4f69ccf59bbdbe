/* log_reader.h - decision-log lines from a file, a gzip file or stdin, with their line numbers */
#ifndef PDP_EVIDENCE_LOG_READER_H
#define PDP_EVIDENCE_LOG_READER_H

#include <stddef.h>
#include <stdint.h>

struct log_reader;

enum log_read {
	LOG_READ_LINE,     /* a line: its bytes, without the newline */
	LOG_READ_TOO_LONG, /* a line past DECISION_LOG_LINE_MAX, skipped to its newline */
	LOG_READ_EOF,
	LOG_READ_ERROR, /* the input cannot be read further (I/O, a damaged gzip stream) */
};

/*
 * Opens name for reading: a path, or "-" for stdin. gzip data is recognised
 * by its magic bytes, not by the name, and inflated (concatenated members
 * too); anything else is read as it is. Returns NULL with the reason in err.
 * Close with log_reader_close.
 */
struct log_reader *log_reader_open(const char *name, char *err, size_t errsz);

/* The same over a descriptor the reader then owns (closed with it); name is for messages. */
struct log_reader *log_reader_fdopen(int fd, const char *name, char *err, size_t errsz);

/*
 * The next line. On LOG_READ_LINE, *line and *len are valid until the next
 * call; *lineno is the line's number (from 1) for LOG_READ_LINE and
 * LOG_READ_TOO_LONG. A last line without a newline is returned as a line.
 * On LOG_READ_ERROR, err holds the reason, naming the input.
 */
enum log_read log_reader_next(struct log_reader *r, const char **line, size_t *len,
                              uint64_t *lineno, char *err, size_t errsz);

/* Whether the input was gzip data (known once a line was read). */
int log_reader_gzip(const struct log_reader *r);

void log_reader_close(struct log_reader *r);

#endif
