/* test_decision_record.c - the decision-line scanner: every member, escapes, refusals */
#include <stdio.h>
#include <string.h>

#include "evidence/decision_record.h"
#include "evidence/timefmt.h"
#include "service/decision_log.h"
#include "testlib.h"

static const char full[] =
    "{\"time\":\"2026-11-23T04:33:14.820Z\",\"request_id\":\"abc\",\"ip\":\"203.0.113.1\","
    "\"country\":\"NL\",\"method\":\"GET\",\"host\":\"admin.example.com\",\"uri\":\"/x?a=1\","
    "\"decision\":\"deny\",\"user\":\"alice@example.com\",\"app\":\"admin-portal\","
    "\"device\":\"d-1\",\"store\":\"stale\","
    "\"reason\":\"admins-strong-auth: compliant device required\","
    "\"policies\":[{\"id\":\"admins-strong-auth\",\"result\":\"unmet\",\"reason\":\"compliant "
    "device required\"},{\"id\":\"block-legacy\",\"result\":\"block\"},{\"id\":\"mfa\","
    "\"result\":\"satisfied\",\"reason\":\"ok\"}],"
    "\"report_only\":[{\"id\":\"ro-geo\",\"would\":\"step-up\",\"reason\":\"r\"}],"
    "\"revision\":\"b244d9ce927b0fae\",\"latency_us\":186,\"truncated\":[\"uri\"]}";

static void
text_is(struct slice s, const char *want)
{
	char buf[256];

	assert_non_null(s.p);
	assert_string_equal(decision_slice_text(s, buf, sizeof(buf)), want);
}

static void
reads_every_member(void **state)
{
	struct decision_record r;
	int64_t t;

	(void)state;
	assert_null(decision_record_parse(full, strlen(full), &r));
	assert_int_equal(timefmt_parse("2026-11-23T04:33:14.820Z", 24, &t), 0);
	assert_int_equal(r.time_ms, t);
	assert_int_equal(t, 1795408394820LL);
	assert_int_equal(r.decision, DECISION_DENY);
	text_is(r.request_id, "abc");
	text_is(r.ip, "203.0.113.1");
	text_is(r.country, "NL");
	text_is(r.method, "GET");
	text_is(r.host, "admin.example.com");
	text_is(r.uri, "/x?a=1");
	text_is(r.user, "alice@example.com");
	text_is(r.app, "admin-portal");
	text_is(r.device, "d-1");
	text_is(r.store, "stale");
	text_is(r.reason, "admins-strong-auth: compliant device required");
	text_is(r.revision, "b244d9ce927b0fae");
	assert_int_equal(r.latency_us, 186);
	assert_true(r.truncated);
	assert_int_equal(r.n_policies, 3);
	text_is(r.policies[0].id, "admins-strong-auth");
	assert_int_equal(r.policies[0].result, RESULT_UNMET);
	text_is(r.policies[0].reason, "compliant device required");
	assert_int_equal(r.policies[1].result, RESULT_BLOCK);
	assert_null(r.policies[1].reason.p);
	assert_int_equal(r.policies[2].result, RESULT_SATISFIED);
	assert_int_equal(r.n_report_only, 1);
	text_is(r.report_only[0].id, "ro-geo");
	assert_int_equal(r.report_only[0].would, DECISION_STEP_UP);
}

static void
absent_members_and_unknown_ones(void **state)
{
	struct decision_record r;
	const char *line = "{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"error\","
	                   "\"reason\":\"keys unavailable\",\"future\":\"x\",\"n\":-3}";

	(void)state;
	assert_null(decision_record_parse(line, strlen(line), &r));
	assert_int_equal(r.decision, DECISION_ERROR);
	assert_null(r.user.p);
	assert_null(r.app.p);
	assert_int_equal(r.latency_us, -1);
	assert_int_equal(r.n_policies, 0);
	assert_false(r.truncated);
	assert_true(SLICE_IS(r.reason, "keys unavailable"));
}

/* Lines the daemon's own writer makes, escapes and all, read back to the same text. */
static void
reads_what_the_writer_writes(void **state)
{
	struct jline j;
	struct decision_record r;
	char buf[512];
	size_t n;

	(void)state;
	jline_begin(&j);
	jline_now(&j, "time");
	jline_str(&j, "request_id", "r\"1\\");
	jline_str(&j, "uri", "/a\nb\x01\x7f");
	jline_str(&j, "decision", "allow");
	jline_str(&j, "user", "j\xc3\xbcrgen \xe2\x82\xac x\xff");
	jline_open(&j, "policies", '[');
	jline_open(&j, NULL, '{');
	jline_str(&j, "id", "p/1");
	jline_str(&j, "result", "satisfied");
	jline_close(&j, '}');
	jline_close(&j, ']');
	jline_open(&j, "report_only", '[');
	jline_close(&j, ']');
	jline_int(&j, "latency_us", 42);
	n = jline_end(&j);
	assert_null(decision_record_parse(j.buf, n, &r));
	text_is(r.request_id, "r\"1\\");
	text_is(r.uri, "/a\nb\x01\x7f");
	text_is(r.user, "j\xc3\xbcrgen \xe2\x82\xac x\xef\xbf\xbd");
	text_is(r.policies[0].id, "p/1");
	assert_int_equal(r.latency_us, 42);
	/* A surrogate pair, a lone surrogate and \u0000 become valid text. */
	assert_string_equal(decision_slice_text((struct slice){"\\ud83d\\ude00\\ud800\\u0000", 24},
	                                        buf, sizeof(buf)),
	                    "\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd");
	/* Cut at a character, never inside one. */
	assert_string_equal(decision_slice_text((struct slice){"ab\xe2\x82\xac", 5}, buf, 4), "ab");
}

static void
refuses_what_the_log_never_writes(void **state)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
	    {"", "not a JSON object"},
	    {"[1]", "not a JSON object"},
	    {"garbage", "not a JSON object"},
	    {"{}", "missing \"time\""},
	    {"{\"decision\":\"allow\"}", "missing \"time\""},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\"}", "missing \"decision\""},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"maybe\"}",
	     "\"decision\" is not a decision"},
	    {"{\"time\":\"yesterday\",\"decision\":\"allow\"}", "\"time\" is not an RFC 3339 time"},
	    {"{\"time\":\"2026-02-30T04:33:14Z\",\"decision\":\"allow\"}",
	     "\"time\" is not an RFC 3339 time"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"decision\":\"deny\"}",
	     "a member given twice"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\"", "truncated line"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"user\":\"ali",
	     "unterminated string"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\"} x",
	     "data after the object"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"user\":\"a\\q\"}",
	     "bad escape in a string"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"user\":\"\\u12\"}",
	     "bad \\u escape"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"user\":\"a\tb\"}",
	     "control character in a string"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"user\":1}",
	     "a member is not a string"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"x\":{\"a\":1}}",
	     "a member is not a string or an integer"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"x\":true}",
	     "a member is not a string or an integer"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"latency_us\":1.5}",
	     "not an integer"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"latency_us\":-1}",
	     "\"latency_us\" is negative"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"latency_us\":01}",
	     "bad number"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"policies\":{}}",
	     "\"policies\" is not an array"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"policies\":[[]]}",
	     "a listed policy is not an object"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"policies\":[{\"id\":"
	     "\"p\"}]}",
	     "a listed policy without its id or result"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"policies\":[{\"id\":"
	     "\"p\",\"result\":\"meh\"}]}",
	     "a listed policy's result is unknown"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"policies\":[{\"id\":"
	     "\"p\",\"id\":\"q\",\"result\":\"unmet\"}]}",
	     "a listed policy's member given twice"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"report_only\":[{"
	     "\"id\":"
	     "\"p\",\"would\":\"perhaps\"}]}",
	     "a report-only policy's \"would\" is not a decision"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"report_only\":[{"
	     "\"id\":"
	     "\"p\",\"would\":\"deny\",\"n\":1}]}",
	     "a listed policy's member is not a string"},
	    {"{\"time\":\"2026-11-23T04:33:14.820Z\",\"decision\":\"allow\",\"truncated\":[1]}",
	     "expected a string"},
	};
	struct decision_record r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = decision_record_parse(bad[i].line, strlen(bad[i].line), &r);

		if (why == NULL || strcmp(why, bad[i].why) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].line,
			         why ? why : "(accepted)", bad[i].why);
	}
}

/* Every prefix of a good line is refused, never read past its end. */
static void
every_truncation_is_refused(void **state)
{
	struct decision_record r;
	size_t n = strlen(full);

	(void)state;
	for (size_t k = 0; k < n; k++) {
		char *cut = malloc(k > 0 ? k : 1);

		memcpy(cut, full, k);
		assert_non_null(decision_record_parse(cut, k, &r));
		free(cut);
	}
	assert_null(decision_record_parse(full, n, &r));
}

static void
times(void **state)
{
	int64_t ms;
	char buf[TIMEFMT_SIZE];

	(void)state;
	assert_int_equal(timefmt_parse("1970-01-01T00:00:00Z", 20, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(timefmt_parse("2026-11-23T05:33:14.8+01:00", 27, &ms), 0);
	assert_string_equal(timefmt_format(ms, buf), "2026-11-23T04:33:14.800Z");
	assert_int_equal(timefmt_parse("2024-02-29T23:59:59.999999Z", 27, &ms), 0);
	assert_string_equal(timefmt_format(ms, buf), "2024-02-29T23:59:59.999Z");
	assert_int_equal(timefmt_parse("2023-02-29T00:00:00Z", 20, &ms), -1);
	assert_int_equal(timefmt_parse("2026-11-23 04:33:14Z", 20, &ms), -1);
	assert_int_equal(timefmt_parse("2026-11-23T04:33:14", 19, &ms), -1);
	assert_int_equal(timefmt_parse("2026-11-23T24:00:00Z", 20, &ms), -1);
	assert_int_equal(timefmt_arg("7d", 1000000000000LL, &ms), 0);
	assert_int_equal(ms, 1000000000000LL - 7 * 86400000LL);
	assert_int_equal(timefmt_arg("24h", 1000000000000LL, &ms), 0);
	assert_int_equal(ms, 1000000000000LL - 86400000LL);
	assert_int_equal(timefmt_arg("2026-11-23T04:33:14Z", 0, &ms), 0);
	assert_int_equal(timefmt_arg("7y", 0, &ms), -1);
	assert_int_equal(timefmt_arg("d", 0, &ms), -1);
	assert_int_equal(timefmt_arg("", 0, &ms), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_every_member),
	    cmocka_unit_test(absent_members_and_unknown_ones),
	    cmocka_unit_test(reads_what_the_writer_writes),
	    cmocka_unit_test(refuses_what_the_log_never_writes),
	    cmocka_unit_test(every_truncation_is_refused),
	    cmocka_unit_test(times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
