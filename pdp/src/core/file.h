/* file.h - reading small files whole: configs, policies, keys, secrets */
#ifndef PDP_FILE_H
#define PDP_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/*
 * Reads path, at most max bytes, into a new NUL-terminated buffer (*len
 * bytes before the NUL); the caller frees *buf. Returns 0, or -1 with
 * "path: reason" in err.
 */
int file_read(const char *path, size_t max, char **buf, size_t *len, char *err, size_t errsz);

/*
 * The same for a file that may be being written: reads it again gap_ms later
 * until two consecutive reads are the same bytes, at most max_reads times
 * (< 2: once). When they never agree, -1 with the reason in err.
 */
int file_read_settled(const char *path, size_t max, unsigned gap_ms, unsigned max_reads, char **buf,
                      size_t *len, char *err, size_t errsz);

/* The same for a secret: one trailing newline ("\n" or "\r\n") is not part of it. */
int file_read_secret(const char *path, size_t max, char **buf, size_t *len, char *err,
                     size_t errsz);

/* What a path last led to (through symlinks): see file_moved. */
struct file_seen {
	struct stat st;
	bool ok; /* the path led to a file */
};

/*
 * Whether path leads to another file (device, inode), or the same file
 * changed (size, mtime), or appeared or vanished, since seen; seen is
 * updated. A mounted Kubernetes ConfigMap changes a file without an event in
 * its name: the file is a symlink through "..data", which is swapped for a
 * link to a new directory.
 */
bool file_moved(const char *path, struct file_seen *seen);

#endif
