/* types.c - the names of the shared vocabulary's values */
#include "core/types.h"

#include <stdio.h>

const char *const risk_level_names[RISK_COUNT] = {"none", "low", "medium", "high"};
const char *const platform_names[PLATFORM_COUNT] = {"android", "ios", "windows", "macos", "linux"};
const char *const device_trust_names[DEVICE_TRUST_COUNT] = {"none", "registered", "joined",
                                                            "hybrid"};

static const char *const decision_names[] = {
    [DECISION_ALLOW] = "allow",     [DECISION_DENY] = "deny",
    [DECISION_STEP_UP] = "step-up", [DECISION_UNAUTHENTICATED] = "unauthenticated",
    [DECISION_ERROR] = "error",
};

const char *
subject_absent_names(unsigned absent, char *buf, size_t size)
{
	static const char *const names[] = {"groups",    "roles",        "amr",      "acr",
	                                    "device_id", "sign_in_risk", "client_id"};
	size_t used = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n;

		if (!(absent & (1u << i)))
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", names[i]);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

const char *
decision_name(enum decision d)
{
	return (unsigned)d < sizeof(decision_names) / sizeof(decision_names[0]) ? decision_names[d]
	                                                                        : "error";
}
