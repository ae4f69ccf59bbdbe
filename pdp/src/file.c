/* file.c - reading small files whole: configs, policies, keys, secrets */
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
