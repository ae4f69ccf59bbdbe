/* fuzz_cases.c - libFuzzer target: bytes as a test-case file and as pdp explain's values */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/case_claims.h"
#include "policy/cases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[1024];
	static struct case_claims *cc;
	struct policy_claims_map map;
	struct policy_cases *pc;

	/* The default claim mapping, as pdp test has it without a config. */
	if (cc == NULL && (cc = case_claims_new(NULL, err, sizeof(err))) == NULL)
		abort();
	map.map = case_claims_map;
	map.ctx = cc;
	memcpy(text, data, size);
	text[size] = '\0';
	pc = policy_cases_load_buffer("/fuzz/cases.yaml", text, 1800000000, &map, err, sizeof(err));
	if (pc == NULL && strncmp(err, "/fuzz/cases.yaml", 16) != 0 &&
	    strcmp(err, "out of memory") != 0)
		abort();
	for (size_t i = 0; pc != NULL && i < pc->n; i++) {
		/* Every loaded case names a caller and a host, as the loader promises. */
		if (pc->cases[i].subject.user == NULL || pc->cases[i].host == NULL)
			abort();
	}
	policy_cases_free(pc);
	/* The same bytes as each of pdp explain's --claims, --device and --user: an error
	 * names that option, and a built case names its caller. */
	for (int i = 0; i < 3; i++) {
		static const char *const options[] = {"--claims", "--device", "--user"};
		struct policy_explain x = {.host = "h", .claims = "{sub: a}", .map = &map};

		if (i == 0)
			x.claims = text;
		else if (i == 1)
			x.device = text;
		else
			x.user = text;
		pc = policy_case_explain(&x, 1800000000, err, sizeof(err));
		if (pc == NULL && strncmp(err, options[i], strlen(options[i])) != 0 &&
		    strcmp(err, "out of memory") != 0)
			abort();
		if (pc != NULL && (pc->n != 1 || pc->cases[0].subject.user == NULL))
			abort();
		policy_cases_free(pc);
	}
	free(text);
	return 0;
}
