/* decision_record.h - one decision-log line read into a record of borrowed slices */
#ifndef PDP_EVIDENCE_DECISION_RECORD_H
#define PDP_EVIDENCE_DECISION_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

/* A listed policy the record keeps; a line lists at most 32 of each (EVAL_MAX_LISTED). */
#define DECISION_RECORD_LISTED 32

/*
 * A JSON string's contents as they stand in the line, escapes and all
 * (p == NULL: absent). Two equal values are equal slices, since the log
 * writes each value one way; decision_slice_text gives the text.
 */
struct slice {
	const char *p;
	size_t n;
};

enum policy_result { RESULT_SATISFIED, RESULT_UNMET, RESULT_BLOCK };

struct record_policy {
	struct slice id, reason;
	enum policy_result result;
};

struct record_report_only {
	struct slice id, reason;
	enum decision would;
};

struct decision_record {
	int64_t time_ms;
	enum decision decision;
	struct slice request_id, ip, country, method, host, uri, user, app, device, store, reason,
	    revision;
	int64_t latency_us; /* -1: absent */
	struct record_policy policies[DECISION_RECORD_LISTED];
	size_t n_policies;
	struct record_report_only report_only[DECISION_RECORD_LISTED];
	size_t n_report_only;
	bool truncated; /* the line lists something as shortened */
};

/*
 * Reads one line of n bytes (no newline) into r, whose slices point into
 * line. The line must be what the decision log writes: one flat JSON object
 * of strings and integers, "policies" and "report_only" arrays of flat
 * objects of strings, and "truncated", an array of strings; "time" (RFC 3339)
 * and "decision" (a decision's name) present, no member twice, a member of
 * another kind or shape refused. Members it does not know are skipped when
 * they are strings or integers, so a later writer's additions still read.
 * Returns NULL, or why the line was refused (a static string).
 */
const char *decision_record_parse(const char *line, size_t n, struct decision_record *r);

/*
 * s's text unescaped into buf (size bytes, NUL-terminated; cut at a
 * character when it does not fit), with any invalid UTF-8 replaced by
 * U+FFFD, so it is safe to print and to put in JSON. Returns buf.
 */
char *decision_slice_text(struct slice s, char *buf, size_t size);

static inline bool
slice_is(struct slice s, const char *lit, size_t n)
{
	return s.n == n && s.p != NULL && __builtin_memcmp(s.p, lit, n) == 0;
}
#define SLICE_IS(s, lit) slice_is((s), (lit), sizeof(lit) - 1)

#endif
