/* fuzz_info.c - libFuzzer target: any bytes as Redis's INFO text, read for readiness */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context/redis_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that a read past size is seen by the sanitizer. */
	char *info = malloc(size > 0 ? size : 1), why[128] = "";
	int ready;

	if (info == NULL)
		return 0;
	memcpy(info, data, size);
	/* Trusted or not, never a crash; not trusted always says why. */
	ready = redis_link_info_ready(info, size, 3, why, sizeof(why));
	if (ready != 1 && (ready != 0 || why[0] == '\0'))
		abort();
	free(info);
	return 0;
}
