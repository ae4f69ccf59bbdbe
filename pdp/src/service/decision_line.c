/* decision_line.c - the decision log's JSON lines: what a decision is logged with */
#include "service/decision_line.h"

#include <stdbool.h>
#include <stdio.h>

#include "core/clock.h"

/*
 * The most each member of a decision line takes (escaped), so that all of
 * them fit one line (DECISION_LOG_LINE_MAX) whatever a request sends: a
 * longer value is cut visibly (jline_text), never the line. What is left
 * lists policies; one that no longer fits leaves the rest unlisted, and the
 * line says "policies" was truncated.
 */
#define LOG_ID_MAX     128  /* request id, address, country, method, app, device, store */
#define LOG_HOST_MAX   256  /* a DNS name is at most 253 */
#define LOG_USER_MAX   256  /* user claim */
#define LOG_URI_MAX    2048 /* path and query */
#define LOG_REASON_MAX 256  /* the deciding policy and why */
#define LOG_POLICY_MAX 400  /* one listed policy: its id, result and reason */
#define LOG_TAIL_MAX   256  /* what follows the lists: report_only's key, revision, latency */

/* The members every decision line starts with. */
static void
log_begin(struct jline *j, const struct request *r, const struct response *rs)
{
	jline_begin(j);
	jline_now(j, "time");
	jline_text(j, "request_id", r->request_id, LOG_ID_MAX);
	jline_text(j, "ip", r->remote_addr, LOG_ID_MAX);
	jline_text(j, "country", r->country, LOG_ID_MAX);
	jline_text(j, "method", r->method, LOG_ID_MAX);
	jline_text(j, "host", r->host, LOG_HOST_MAX);
	jline_text(j, "uri", r->uri, LOG_URI_MAX);
	jline_str(j, "decision", decision_name(rs->decision));
}

/* Room for one more listed policy, else the list is marked truncated. */
static bool
log_room_for_policy(struct jline *j, const char *list)
{
	if (jline_room(j) >= LOG_POLICY_MAX + LOG_TAIL_MAX)
		return true;
	jline_mark(j, list);
	return false;
}

static void
log_end(struct decision_log *dl, struct jline *j, int64_t t0)
{
	size_t n;

	jline_int(j, "latency_us", (clock_ns() - t0) / 1000);
	n = jline_end(j);
	decision_log_write(dl, j->buf, n);
}

void
decision_line_unverified(struct decision_log *dl, const struct request *r,
                         const struct response *rs, const char *reason, int64_t t0)
{
	struct jline j;

	log_begin(&j, r, rs);
	jline_text(&j, "reason", reason, LOG_REASON_MAX);
	log_end(dl, &j, t0);
}

void
decision_line_caller(struct decision_log *dl, const struct request *r, const struct subject *s,
                     const char *device, const struct response *rs, const char *reason,
                     const char *store, int64_t t0)
{
	struct jline j;

	log_begin(&j, r, rs);
	jline_text(&j, "user", s->user, LOG_USER_MAX);
	jline_text(&j, "device", device, LOG_ID_MAX);
	jline_text(&j, "reason", reason, LOG_REASON_MAX);
	jline_text(&j, "store", store, LOG_ID_MAX);
	log_end(dl, &j, t0);
}

void
decision_line_decision(struct decision_log *dl, const struct request *r, const struct subject *s,
                       const char *device, const char *store, const struct policy_set *set,
                       const struct eval_result *res, const struct response *rs, int64_t t0)
{
	struct jline j;
	char reason[256];

	log_begin(&j, r, rs);
	jline_text(&j, "user", s->user, LOG_USER_MAX);
	jline_text(&j, "app", res->app == POLICY_NO_ID ? NULL : set->apps[res->app].id, LOG_ID_MAX);
	jline_text(&j, "device", device, LOG_ID_MAX);
	jline_text(&j, "store", store, LOG_ID_MAX);
	if (res->deciding != NULL) {
		snprintf(reason, sizeof(reason), "%.128s: %.100s", res->deciding, res->reason);
		jline_text(&j, "reason", reason, LOG_REASON_MAX);
	} else if (res->by_default) {
		jline_str(&j, "reason", "default_decision");
	}
	jline_open(&j, "policies", '[');
	for (size_t i = 0; i < res->n_applied && log_room_for_policy(&j, "policies"); i++) {
		const struct eval_policy *ep = &res->applied[i];
		const struct pol_policy *pol = &set->policies[ep->policy];

		jline_open(&j, NULL, '{');
		jline_text(&j, "id", pol->id, LOG_POLICY_MAX / 2 - 32);
		jline_str(&j, "result",
		          pol->block      ? "block"
		          : ep->satisfied ? "satisfied"
		                          : "unmet");
		jline_text(&j, "reason", ep->reason, LOG_POLICY_MAX / 2 - 32);
		jline_close(&j, '}');
	}
	if (res->n_unlisted > 0)
		jline_mark(&j, "policies"); /* more applied than an evaluation lists */
	jline_close(&j, ']');
	jline_open(&j, "report_only", '[');
	for (size_t i = 0; i < res->n_report_only && log_room_for_policy(&j, "report_only"); i++) {
		const struct eval_policy *ep = &res->report_only[i];

		jline_open(&j, NULL, '{');
		jline_text(&j, "id", set->policies[ep->policy].id, LOG_POLICY_MAX / 2 - 32);
		jline_str(&j, "would", decision_name(res->report_only_decision[i]));
		jline_text(&j, "reason", ep->reason, LOG_POLICY_MAX / 2 - 32);
		jline_close(&j, '}');
	}
	if (res->n_report_only_unlisted > 0)
		jline_mark(&j, "report_only"); /* more applied than an evaluation lists */
	jline_close(&j, ']');
	jline_text(&j, "revision", set->revision, LOG_ID_MAX);
	log_end(dl, &j, t0);
}
