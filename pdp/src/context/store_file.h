/* store_file.h - the file backend's record file, read alone (for fuzzing and tools) */
#ifndef PDP_STORE_FILE_H
#define PDP_STORE_FILE_H

#include <stddef.h>

/* Parses a file store's text (name is used in messages): 0, or -1 with file:line:col in err. */
int store_file_parse(const char *name, const char *buf, size_t len, char *err, size_t errsz);

#endif
