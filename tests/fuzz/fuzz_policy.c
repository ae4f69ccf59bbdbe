/* fuzz_policy.c - libFuzzer target: any bytes as a policy file, then a decision against it */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "policy/eval.h"
#include "policy/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[1024];
	const char *names[] = {"/fuzz/policies.yaml"}, *bufs[1];
	struct policy_set *set;

	log_set_level(LOG_LVL_ERROR);
	memcpy(text, data, size);
	text[size] = '\0';
	bufs[0] = text;
	set = policy_set_load_buffers(names, bufs, 1, err, sizeof(err));
	if (set == NULL) {
		/* Every refusal names the file. */
		if (strncmp(err, "/fuzz/policies.yaml", 19) != 0 &&
		    strcmp(err, "out of memory") != 0)
			abort();
	} else {
		/* Whatever loads must evaluate without crashing, for a few kinds of caller. */
		static const char *groups[] = {"admins", "g1"}, *amr[] = {"pwd", "mfa"};
		struct subject s = {.user = "alice@example.com",
		                    .groups = {groups, 2},
		                    .amr = {amr, 2},
		                    .auth_time = 1799999000,
		                    .iat = 1799999000};
		static const char *const hosts[] = {"admin.example.com", "api.example.com", "x"};
		static const char *const uris[] = {"/", "/payroll/run", "/A/../b;x/C./"};
		static const char *const methods[] = {"GET", "POST", "PROPPATCH"};
		struct device_record dev = {.id = "d1", .compliant = true, .platform = 2};
		struct user_record user = {.risk = RISK_HIGH};
		uint32_t buf[8];
		struct subject_ids ids;
		struct eval_result res;

		eval_subject_ids(set, &s, buf, 8, &ids);
		for (int i = 0; i < 3; i++) {
			struct eval_input in = {.subject = &s,
			                        .ids = &ids,
			                        .method = methods[i],
			                        .host = hosts[i],
			                        .uri = uris[i],
			                        .ip = i == 2 ? "2001:db8::1" : "10.1.2.3",
			                        .country = i == 0 ? NULL : "KP",
			                        .device = i == 1 ? &dev : NULL,
			                        .user = i == 2 ? &user : NULL,
			                        .now = 1800000000,
			                        .default_allow = i != 0};

			policy_eval(set, &in, &res);
			if (res.decision != DECISION_ALLOW && res.decision != DECISION_DENY &&
			    res.decision != DECISION_STEP_UP)
				abort();
			if (res.decision != DECISION_ALLOW && res.reason == NULL)
				abort();
		}
		policy_set_free(set);
	}
	free(text);
	return 0;
}
