/* fuzz_config.c - libFuzzer target: any bytes as the daemon's config file */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	struct config *c;

	err[0] = '\0';
	c = config_load_buffer("/etc/pdp/fuzz.yaml", (const char *)data, size, err, sizeof(err));
	/* Either a config or a reason naming the file, never both or neither. */
	if ((c == NULL) == (err[0] == '\0'))
		abort();
	if (c == NULL && strncmp(err, "/etc/pdp/fuzz.yaml", 18) != 0)
		abort();
	config_free(c);
	return 0;
}
