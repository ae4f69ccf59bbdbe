/* test_report.c - the aggregator on a fixed log with known answers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/report.h"
#include "testlib.h"

#define T(hms) "\"time\":\"2026-11-23T" hms "Z\""

static const char *const fixed_log[] = {
    "{" T("10:00:01.000") ",\"request_id\":\"r1\",\"decision\":\"allow\",\"user\":\"u1\","
                          "\"app\":\"a1\",\"device\":\"d1\",\"policies\":[{\"id\":\"mfa\","
                          "\"result\":\"satisfied\"}],"
                          "\"report_only\":[{\"id\":\"ro1\",\"would\":\"deny\",\"reason\":\"x\"}],"
                          "\"latency_us\":100}",
    "{" T(
        "10:00:02.000") ",\"request_id\":\"r2\",\"decision\":\"deny\",\"user\":\"u2\","
                        "\"app\":\"a1\",\"device\":\"d2\",\"reason\":\"p-block: "
                        "blocked\",\"policies\":[{\"id\":"
                        "\"p-block\",\"result\":\"block\"},{\"id\":\"mfa\",\"result\":"
                        "\"satisfied\"}],"
                        "\"report_only\":[{\"id\":\"ro1\",\"would\":\"deny\"}],\"latency_us\":300}",
    "{" T("10:00:03.000") ",\"request_id\":\"r3\",\"decision\":\"step-up\",\"user\":\"u1\","
                          "\"app\":\"a2\",\"reason\":\"mfa: mfa "
                          "required\",\"policies\":[{\"id\":\"mfa\",\"result\":"
                          "\"unmet\"}],\"report_only\":[{\"id\":\"ro1\",\"would\":\"step-up\"}],"
                          "\"latency_us\":5000}",
    "{" T("10:00:04.000") ",\"request_id\":\"r4\",\"decision\":\"allow\",\"user\":\"u3\","
                          "\"app\":\"a2\",\"policies\":[{\"id\":\"mfa\",\"result\":\"satisfied\"}],"
                          "\"report_only\":[{"
                          "\"id\":\"ro1\",\"would\":\"step-up\"},{\"id\":\"ro2\",\"would\":"
                          "\"deny\"}]}",
    "{" T("10:00:05.000") ",\"request_id\":\"r5\",\"decision\":\"unauthenticated\",\"reason\":"
                          "\"no token\"}",
    "{" T("10:05:00.000") ",\"request_id\":\"r6\",\"decision\":\"error\",\"reason\":\"keys "
                          "unavailable\"}",
    "{" T("10:05:30.000") ",\"request_id\":\"r7\",\"decision\":\"error\",\"reason\":\"keys "
                          "unavailable\"}",
    "{" T("10:20:00.000") ",\"request_id\":\"r8\",\"decision\":\"deny\",\"user\":\"u1\","
                          "\"store\":\"context store unavailable\",\"reason\":\"context store "
                          "unavailable\"}",
    "not json",
    "{" T("10:30:00.000") ",\"request_id\":\"r10\",\"decision\":\"allow\",\"user\":\"u4\","
                          "\"app\":\"a1\",\"store\":\"stale\",\"policies\":[],\"report_only\":[]}",
};

static json_t *
run(const struct report_options *o, const char *const *lines, size_t n)
{
	struct report *rp = report_new(o);
	json_t *doc;

	assert_non_null(rp);
	assert_int_equal(report_input(rp, "fixed.jsonl"), 0);
	for (size_t i = 0; i < n; i++)
		report_line(rp, i + 1, lines[i], strlen(lines[i]));
	doc = report_json(rp);
	assert_non_null(doc);
	report_free(rp);
	return doc;
}

static json_int_t
num(json_t *doc, const char *path)
{
	json_t *o = doc;
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL; k = strtok_r(NULL, ".", &save))
		o = k[0] >= '0' && k[0] <= '9' ? json_array_get(o, (size_t)atoi(k))
		                               : json_object_get(o, k);
	if (!json_is_integer(o))
		fail_msg("%s is not an integer", path);
	return json_integer_value(o);
}

static json_t *
find(json_t *arr, const char *key, const char *value)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, key)), value) == 0)
			return o;
	}
	fail_msg("no %s %s", key, value);
	return NULL;
}

static void
known_answers(void **state)
{
	struct report_options o = {.top = 10};
	json_t *doc = run(&o, fixed_log, sizeof(fixed_log) / sizeof(fixed_log[0]));
	json_t *p, *ro, *inc;
	json_int_t sum = 0;
	size_t i;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(doc, "format")), "pdp-report/1");
	assert_int_equal(num(doc, "inputs.0.lines"), 10);
	assert_int_equal(num(doc, "inputs.0.decisions"), 9);
	assert_int_equal(num(doc, "inputs.0.skipped"), 1);
	assert_int_equal(num(doc, "skipped.count"), 1);
	assert_int_equal(num(doc, "skipped.examples.0.line"), 9);
	assert_int_equal(num(doc, "totals.decisions"), 9);
	assert_int_equal(num(doc, "totals.by_decision.allow"), 3);
	assert_int_equal(num(doc, "totals.by_decision.deny"), 2);
	assert_int_equal(num(doc, "totals.by_decision.step-up"), 1);
	assert_int_equal(num(doc, "totals.by_decision.unauthenticated"), 1);
	assert_int_equal(num(doc, "totals.by_decision.error"), 2);
	assert_int_equal(num(doc, "totals.users_distinct"), 4);
	assert_int_equal(num(doc, "totals.devices_distinct"), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(doc, "window"), "first")),
	    "2026-11-23T10:00:01.000Z");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(doc, "window"), "last")),
	    "2026-11-23T10:30:00.000Z");

	p = find(json_object_get(doc, "policies"), "id", "mfa");
	assert_int_equal(num(p, "applied"), 4);
	assert_int_equal(num(p, "denied"), 0);
	assert_int_equal(num(p, "stepped_up"), 1);
	assert_int_equal(num(p, "users_affected_distinct"), 1);
	assert_true(json_is_null(json_object_get(p, "state")));
	p = find(json_object_get(doc, "policies"), "id", "p-block");
	assert_int_equal(num(p, "applied"), 1);
	assert_int_equal(num(p, "denied"), 1);
	/* Sorted by count: mfa first. */
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(doc, "policies"), 0), "id")),
	                    "mfa");

	ro = find(json_object_get(doc, "report_only"), "id", "ro1");
	assert_int_equal(num(ro, "evaluated"), 4);
	assert_int_equal(num(ro, "would.deny"), 1);    /* r1: allow -> deny; r2 was a deny */
	assert_int_equal(num(ro, "would.step-up"), 1); /* r4: allow -> step-up; r3 was one */
	assert_int_equal(num(ro, "users_distinct.deny"), 1);
	assert_int_equal(num(ro, "users_distinct.step-up"), 1);
	assert_int_equal(num(ro, "verdicts.deny"), 2);
	assert_int_equal(num(ro, "verdicts.step-up"), 2);
	assert_int_equal(json_array_size(json_object_get(ro, "examples")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(ro, "examples"), 0)),
	                    "r1");
	assert_int_equal(num(find(json_object_get(ro, "by_app"), "app", "a1"), "deny"), 1);
	assert_int_equal(num(find(json_object_get(ro, "by_app"), "app", "a2"), "step-up"), 1);
	ro = find(json_object_get(doc, "report_only"), "id", "ro2");
	assert_int_equal(num(ro, "evaluated"), 1);
	assert_int_equal(num(ro, "would.deny"), 1);

	assert_int_equal(num(find(json_object_get(doc, "apps"), "app", "a1"), "decisions"), 3);
	assert_int_equal(
	    num(find(json_object_get(doc, "apps"), "app", "a2"), "by_decision.step-up"), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "top_deny_reasons")), 2);
	assert_int_equal(
	    num(find(json_object_get(doc, "top_step_up_reasons"), "reason", "mfa: mfa required"),
	        "count"),
	    1);

	inc = json_object_get(doc, "incidents");
	assert_int_equal(json_array_size(inc), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(inc, 0), "kind")),
	                    "keys-unavailable");
	assert_int_equal(num(inc, "0.decisions"), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(inc, 0), "end")),
	                    "2026-11-23T10:05:30.000Z");
	assert_string_equal(json_string_value(json_object_get(json_array_get(inc, 1), "kind")),
	                    "store-unavailable");
	assert_string_equal(json_string_value(json_object_get(json_array_get(inc, 2), "kind")),
	                    "store-stale");

	/* Latency within a bucket's width (3.2%) of the truth, the max exact. */
	assert_true(num(doc, "latency_us.p50") >= 300 && num(doc, "latency_us.p50") <= 310);
	assert_int_equal(num(doc, "latency_us.max"), 5000);
	assert_int_equal(num(doc, "latency_us.p99"), 5000);

	assert_int_equal(num(doc, "timeline.bucket_seconds"), 60);
	json_array_foreach(json_object_get(json_object_get(doc, "timeline"), "buckets"), i, p)
	{
		sum += num(p, "allow") + num(p, "deny") + num(p, "step-up") +
		       num(p, "unauthenticated") + num(p, "error");
	}
	assert_int_equal(sum, 9);
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(doc, "timeline"), "buckets")), 31);
	json_decref(doc);
}

static void
window(void **state)
{
	struct report_options o = {.top = 10, .has_since = true, .has_until = true};
	json_t *doc;

	(void)state;
	/* 10:10 to 10:30: r8 only (r10 is at the bound, outside). */
	o.since_ms = 1795428600000LL;
	o.until_ms = o.since_ms + 20 * 60000;
	doc = run(&o, fixed_log, sizeof(fixed_log) / sizeof(fixed_log[0]));
	assert_int_equal(num(doc, "totals.decisions"), 1);
	assert_int_equal(num(doc, "totals.by_decision.deny"), 1);
	assert_int_equal(num(doc, "inputs.0.outside_window"), 8);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(doc, "window"), "since")),
	    "2026-11-23T10:10:00.000Z");
	json_decref(doc);
}

/* Out-of-order times far apart widen the timeline and keep every count. */
static void
timeline_widens(void **state)
{
	static const char *const lines[] = {
	    "{\"time\":\"2026-11-23T10:00:00Z\",\"decision\":\"allow\"}",
	    "{\"time\":\"2026-11-26T10:00:00Z\",\"decision\":\"deny\"}",
	    "{\"time\":\"2026-11-20T10:00:00Z\",\"decision\":\"allow\"}",
	    "{\"time\":\"2026-11-23T10:00:30Z\",\"decision\":\"error\"}",
	};
	struct report_options o = {.top = 10};
	json_t *doc = run(&o, lines, 4), *b, *buckets;
	json_int_t allow = 0, deny = 0, error = 0;
	size_t i;

	(void)state;
	buckets = json_object_get(json_object_get(doc, "timeline"), "buckets");
	assert_true(json_array_size(buckets) <= REPORT_TIMELINE_MAX);
	assert_int_equal(num(doc, "timeline.bucket_seconds"), 3600);
	json_array_foreach(buckets, i, b)
	{
		allow += num(b, "allow");
		deny += num(b, "deny");
		error += num(b, "error");
	}
	assert_int_equal(allow, 2);
	assert_int_equal(deny, 1);
	assert_int_equal(error, 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(buckets, 0), "start")),
	                    "2026-11-20T10:00:00.000Z");
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(known_answers),
	    cmocka_unit_test(window),
	    cmocka_unit_test(timeline_widens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
