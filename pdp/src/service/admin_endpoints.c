/* admin_endpoints.c - the answers to /pdp/health and /pdp/metrics */
#include "service/admin_endpoints.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/reload_guard.h"
#include "service/decision_log.h"
#include "service/metrics.h"

static const char *
reload_result_name(int result)
{
	switch (result) {
	case RELOAD_OK:
		return "ok";
	case RELOAD_REFUSED:
		return "refused";
	default:
		return "failed";
	}
}

/*
 * How the last reload of one input went: {"result":"none"} before any, else
 * its result, when it finished (UTC, to the millisecond) and, unless it
 * applied, why not (the file:line:col message, escaped like any string).
 */
/* A wall-clock time as UTC to the millisecond ("2026-12-02T20:00:00.000Z") into at. */
static const char *
utc_ms(struct timespec ts, char *at, size_t atsz)
{
	struct tm tm;

	at[0] = '\0';
	if (gmtime_r(&ts.tv_sec, &tm) != NULL)
		snprintf(at, atsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		         (int)(ts.tv_nsec / 1000000 % 1000));
	return at;
}

static void
health_reload(struct jline *j, const char *key, const struct reload_record *rec)
{
	char at[64];

	jline_open(j, key, '{');
	if (!rec->ran) {
		jline_str(j, "result", "none");
		jline_close(j, '}');
		return;
	}
	jline_str(j, "result", reload_result_name(rec->result));
	jline_str(j, "at", utc_ms(rec->at, at, sizeof(at)));
	if (rec->result != RELOAD_OK)
		jline_text(j, "error", rec->error, RELOAD_ERROR_MAX);
	jline_close(j, '}');
}

/*
 * Each issuer's keys: where from, whether it has any, how many, how old, and
 * how the last fetch or reread went (with why, unless it went well).
 */
static void
health_issuers(struct jline *j, const struct pdp_stats *st)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	jline_open(j, "issuers", '[');
	for (size_t i = 0; i < st->n_issuers; i++) {
		const struct issuer_stats *is = &st->issuers[i];
		int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		char at[64];

		jline_open(j, NULL, '{');
		jline_text(j, "issuer", is->issuer, 256);
		jline_str(j, "keys", is->source);
		jline_bool(j, "ready", is->keys.has_keys);
		jline_int(j, "kids", (long long)is->keys.n_keys);
		if (is->keys.has_keys)
			jline_int(j, "key_set_age_s", (now_ms - is->keys.loaded_at_ms) / 1000);
		if (is->keys.attempted) {
			struct timespec ts = {.tv_sec = is->keys.last_at_ms / 1000,
			                      .tv_nsec = is->keys.last_at_ms % 1000 * 1000000};

			jline_open(j, "last_fetch", '{');
			jline_str(j, "result", keys_result_name(is->keys.last_result));
			jline_str(j, "at", utc_ms(ts, at, sizeof(at)));
			if (is->keys.last_result != KEYS_OK)
				jline_text(j, "error", is->keys.last_error, KEYRING_ERROR_MAX);
			jline_close(j, '}');
		}
		jline_close(j, '}');
	}
	jline_close(j, ']');
}

/*
 * 200 "ok" while the store (if any) is up, else 503 "degraded" with why. A
 * failed or refused reload leaves the status as it is: the last good set
 * keeps serving, so a load balancer must not drain this PDP; the answer
 * names the revision serving and what the last reload said.
 */
static void
health_answer(const struct pdp_stats *st, struct response *rs)
{
	static _Thread_local struct jline j; /* the body is sent after this returns */
	bool ok = (!st->has_store || st->store_up) && st->keys_ready;

	jline_begin(&j);
	jline_str(&j, "status", ok ? "ok" : "degraded");
	jline_str(&j, "policy_revision", st->policies.revision);
	jline_str(&j, "store", st->has_store ? st->store_name : "none");
	jline_str(&j, "store_status", st->has_store ? st->store_status : "ok");
	jline_str(&j, "keys_status", st->keys_status);
	health_reload(&j, "last_policy_reload", &st->last_reload[RELOAD_WHAT_POLICIES]);
	if (st->store_reloads)
		health_reload(&j, "last_store_reload", &st->last_reload[RELOAD_WHAT_STORE]);
	health_issuers(&j, st);
	response_admin(rs, ok, "application/json", j.buf, jline_end(&j));
}

enum admin_endpoint
admin_endpoint_of(const struct request *r)
{
	if (r->uri != NULL || r->method != NULL)
		return ADMIN_NONE;
	if (strcmp(r->admin, "metrics") == 0)
		return ADMIN_METRICS;
	if (strcmp(r->admin, "health") == 0)
		return ADMIN_HEALTH;
	return ADMIN_NONE;
}

void
admin_endpoint_answer(enum admin_endpoint e, const struct pdp_stats *st, struct response *rs)
{
	static _Thread_local char text[RESPONSE_MAX_BODY_BYTES];
	size_t n;

	switch (e) {
	case ADMIN_HEALTH:
		health_answer(st, rs);
		return;
	case ADMIN_METRICS:
		n = metrics_format(st, text, sizeof(text));
		if (n == 0)
			response_error(rs);
		else
			response_admin(rs, true, "text/plain; version=0.0.4", text, n);
		return;
	default:
		response_error(rs);
	}
}
