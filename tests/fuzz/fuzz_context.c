/* fuzz_context.c - libFuzzer target: any bytes as the file store's context file */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context/store_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];

	/* Loads or refuses with the file's name in the reason; never crashes or leaks. */
	if (store_file_parse("/fuzz/context.yaml", (const char *)data, size, err, sizeof(err)) !=
	        0 &&
	    strncmp(err, "/fuzz/context.yaml", 18) != 0 && strcmp(err, "out of memory") != 0)
		abort();
	return 0;
}
