/* fuzz_cases.c - libFuzzer target: any bytes as a policy test-case file */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_case.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[1024];
	struct policy_cases *pc;

	memcpy(text, data, size);
	text[size] = '\0';
	pc = policy_cases_load_buffer("/fuzz/cases.yaml", text, 1800000000, err, sizeof(err));
	if (pc == NULL && strncmp(err, "/fuzz/cases.yaml", 16) != 0 &&
	    strcmp(err, "out of memory") != 0)
		abort();
	for (size_t i = 0; pc != NULL && i < pc->n; i++) {
		/* Every loaded case names a caller and a host, as the loader promises. */
		if (pc->cases[i].subject.user == NULL || pc->cases[i].host == NULL)
			abort();
	}
	policy_cases_free(pc);
	free(text);
	return 0;
}
