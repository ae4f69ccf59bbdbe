/* file.c - reading small files whole: configs, policies, keys, secrets */
#include "core/file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"

int
file_read(const char *path, size_t max, char **buf, size_t *len, char *err, size_t errsz)
{
	FILE *f = fopen(path, "rbe");
	struct stat st;
	char *b = NULL, *nb;
	size_t n = 0, cap;

	if (f == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Room for the file as it stands plus a byte: a short read then proves the end. */
	cap = fstat(fileno(f), &st) == 0 && st.st_size > 0 && (size_t)st.st_size <= max
	          ? (size_t)st.st_size + 1
	          : 4096;
	if ((b = malloc(cap + 1)) == NULL)
		goto no_memory;
	for (;;) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap || cap > max)
			break; /* the end (or an error), or past the bound */
		cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
		if ((nb = realloc(b, cap + 1)) == NULL)
			goto no_memory;
		b = nb;
	}
	if (ferror(f)) {
		snprintf(err, errsz, "%s: read error", path);
		goto fail;
	}
	if (n > max) {
		snprintf(err, errsz, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	fclose(f);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
no_memory:
	snprintf(err, errsz, "%s: out of memory", path);
fail:
	fclose(f);
	free(b);
	return -1;
}

int
file_read_settled(const char *path, size_t max, unsigned gap_ms, unsigned max_reads, char **buf,
                  size_t *len, char *err, size_t errsz)
{
	char *prev = NULL, *cur = NULL;
	size_t n_prev = 0, n_cur = 0;

	if (file_read(path, max, &prev, &n_prev, err, errsz) != 0)
		return -1;
	for (unsigned i = 1; i < max_reads; i++) {
		bool same;

		clock_sleep_ms(gap_ms);
		if (file_read(path, max, &cur, &n_cur, err, errsz) != 0) {
			free(prev);
			return -1;
		}
		same = n_cur == n_prev && memcmp(cur, prev, n_cur) == 0;
		free(prev);
		prev = cur;
		n_prev = n_cur;
		if (same)
			break;
		if (i + 1 == max_reads) {
			snprintf(err, errsz,
			         "%s: kept changing over %u reads %u ms apart; not loaded", path,
			         max_reads, gap_ms);
			free(prev);
			return -1;
		}
	}
	*buf = prev;
	*len = n_prev;
	return 0;
}

int
file_read_secret(const char *path, size_t max, char **buf, size_t *len, char *err, size_t errsz)
{
	if (file_read(path, max, buf, len, err, errsz) != 0)
		return -1;
	if (*len > 0 && (*buf)[*len - 1] == '\n')
		(*buf)[--*len] = '\0';
	if (*len > 0 && (*buf)[*len - 1] == '\r')
		(*buf)[--*len] = '\0';
	return 0;
}

bool
file_moved(const char *path, struct file_seen *seen)
{
	struct stat st;
	bool ok = stat(path, &st) == 0;
	bool moved = ok != seen->ok ||
	             (ok && (st.st_dev != seen->st.st_dev || st.st_ino != seen->st.st_ino ||
	                     st.st_size != seen->st.st_size ||
	                     st.st_mtim.tv_sec != seen->st.st_mtim.tv_sec ||
	                     st.st_mtim.tv_nsec != seen->st.st_mtim.tv_nsec));

	if (ok)
		seen->st = st;
	seen->ok = ok;
	return moved;
}
