/* admin_endpoints.c - the answers to /pdp/health and /pdp/metrics */
#include "service/admin_endpoints.h"

#include <stdio.h>
#include <string.h>

#include "service/decision_log.h"
#include "service/metrics.h"

/*
 * 200 "ok" while the store (if any) is up, else 503 "degraded" with why;
 * with the policy revision serving.
 */
static void
health_answer(const struct pdp_stats *st, struct response *rs)
{
	struct jline j;
	bool ok = st->store_type == STORE_NONE || st->store_up;

	jline_begin(&j);
	jline_str(&j, "status", ok ? "ok" : "degraded");
	jline_str(&j, "policy_revision", st->policies.revision);
	jline_str(&j, "store",
	          st->store_type == STORE_NONE    ? "none"
	          : st->store_type == STORE_REDIS ? "redis"
	                                          : "file");
	jline_str(&j, "store_status", st->store_type == STORE_NONE ? "ok" : st->store_status);
	response_admin(rs, ok, "application/json", j.buf, jline_end(&j));
}

void
admin_answer(struct pdp_stats *st, const struct request *r, struct response *rs)
{
	if (r->uri != NULL || r->method != NULL) {
		response_error(rs);
		return;
	}
	if (strcmp(r->admin, "metrics") == 0) {
		static _Thread_local char text[RESPONSE_MAX_BYTES];
		size_t n = metrics_format(st, text, sizeof(text));

		if (n == 0)
			response_error(rs);
		else
			response_admin(rs, true, "text/plain; version=0.0.4", text, n);
		return;
	}
	if (strcmp(r->admin, "health") != 0) {
		response_error(rs);
		return;
	}
	health_answer(st, rs);
}
