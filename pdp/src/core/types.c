/* types.c - the names of the shared vocabulary's values */
#include "core/types.h"

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
decision_name(enum decision d)
{
	return (unsigned)d < sizeof(decision_names) / sizeof(decision_names[0]) ? decision_names[d]
	                                                                        : "error";
}
