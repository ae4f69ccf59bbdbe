/* test_report_html.c - the report's HTML page: escaping, chart points, empty and odd documents */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/report_html.h"
#include "testlib.h"

/* A document with three buckets, two policies, one report-only policy and one incident. */
static const char full_doc[] =
    "{\"format\":\"pdp-report/1\","
    "\"inputs\":[{\"name\":\"decisions.jsonl\",\"lines\":1234570,\"decisions\":1234567,"
    "\"skipped\":3}],"
    "\"skipped\":{\"count\":3,\"examples\":[{\"input\":\"decisions.jsonl\",\"line\":17,"
    "\"reason\":\"not a JSON object\"}]},"
    "\"window\":{\"since\":null,\"until\":null,\"first\":\"2026-11-23T00:00:00.000Z\","
    "\"last\":\"2026-11-23T02:59:59.999Z\"},"
    "\"totals\":{\"decisions\":1234567,\"by_decision\":{\"allow\":1000000,\"deny\":200000,"
    "\"step-up\":34567,\"unauthenticated\":0,\"error\":0},\"users_distinct\":310,"
    "\"devices_distinct\":280},"
    "\"timeline\":{\"bucket_seconds\":3600,\"buckets\":["
    "{\"start\":\"2026-11-23T00:00:00.000Z\",\"allow\":10,\"deny\":2,\"step-up\":1,"
    "\"unauthenticated\":0,\"error\":0},"
    "{\"start\":\"2026-11-23T01:00:00.000Z\",\"allow\":0,\"deny\":0,\"step-up\":0,"
    "\"unauthenticated\":0,\"error\":0},"
    "{\"start\":\"2026-11-23T02:00:00.000Z\",\"allow\":7,\"deny\":9,\"step-up\":0,"
    "\"unauthenticated\":3,\"error\":1}]},"
    "\"latency_us\":{\"p50\":120,\"p90\":200,\"p99\":450,\"p999\":900,\"max\":2100},"
    "\"policies\":[{\"id\":\"admins-strong-auth\",\"applied\":300,\"denied\":12,"
    "\"stepped_up\":40,\"users_affected_distinct\":9,\"state\":\"enabled\"},"
    "{\"id\":\"block-legacy\",\"applied\":700,\"denied\":0,\"stepped_up\":0,"
    "\"users_affected_distinct\":0,\"state\":\"report-only\"}],"
    "\"apps\":[{\"app\":\"admin-portal\",\"decisions\":500,\"by_decision\":{\"allow\":400,"
    "\"deny\":80,\"step-up\":20,\"unauthenticated\":0,\"error\":0}}],"
    "\"top_deny_reasons\":[{\"reason\":\"admins-strong-auth: compliant device required\","
    "\"count\":80,\"error\":0}],"
    "\"top_step_up_reasons\":[],"
    "\"report_only\":[{\"id\":\"block-legacy\",\"evaluated\":700,"
    "\"would\":{\"deny\":30,\"step-up\":5},\"users_distinct\":{\"deny\":4,\"step-up\":2},"
    "\"by_app\":[{\"app\":\"admin-portal\",\"deny\":30,\"step-up\":5}],"
    "\"examples\":[\"req-1\",\"req-2\"]}],"
    "\"incidents\":[{\"kind\":\"store-unavailable\",\"start\":\"2026-11-23T01:10:00.000Z\","
    "\"end\":\"2026-11-23T01:20:00.000Z\",\"decisions\":12}]}";

/* Renders doc; returns report_html_write's result, the page in *html (freed by the caller)
 * and the reason in err. */
static int
render_doc(const json_t *doc, char **html, char *err, size_t errsz)
{
	size_t len = 0;
	FILE *f = open_memstream(html, &len);
	int rc;

	assert_non_null(f);
	rc = report_html_write(f, doc, err, errsz);
	assert_int_equal(fclose(f), 0);
	return rc;
}

static int
render(const char *json, char **html, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *doc = json_loads(json, 0, &jerr);
	int rc;

	if (doc == NULL)
		fail_msg("test document: %d: %s", jerr.line, jerr.text);
	rc = render_doc(doc, html, err, errsz);
	json_decref(doc);
	return rc;
}

/* How many times needle occurs in [from, to). */
static size_t
occurrences(const char *from, const char *to, const char *needle)
{
	size_t n = 0;

	for (const char *s = strstr(from, needle); s != NULL && s < to; s = strstr(s + 1, needle))
		n++;
	return n;
}

/* How many points (rects with data-series) the chart called name holds; -1 when absent. */
static long
chart_points(const char *html, const char *name)
{
	char open[64];
	const char *start, *end;

	snprintf(open, sizeof(open), "data-chart=\"%s\"", name);
	start = strstr(html, open);
	if (start == NULL)
		return -1;
	end = strstr(start, "</svg>");
	assert_non_null(end);
	return (long)occurrences(start, end, "<rect data-series=");
}

/* No attribute (a coordinate or a size) holds a NaN or an infinity. */
static void
assert_no_non_numbers(const char *html)
{
	static const char *const bad[] = {"=\"nan", "=\"-nan", "=\"inf", "=\"-inf"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcasestr(html, bad[i]) != NULL)
			fail_msg("not a number in the page: %.80s", strcasestr(html, bad[i]));
}

static void
every_chart_holds_a_point_per_row_and_series(void **state)
{
	char *html = NULL, err[256] = "";

	(void)state;
	assert_int_equal(render(full_doc, &html, err, sizeof(err)), 0);
	assert_int_equal(chart_points(html, "timeline"), 3 * 5);
	assert_int_equal(chart_points(html, "policies"), 2 * 3);
	assert_int_equal(chart_points(html, "report-only"), 1 * 2);
	assert_int_equal(chart_points(html, "latency"), 5);
	assert_int_equal(occurrences(html, html + strlen(html), "class=\"incident\""), 1);
	/* Each series in its place: the third bucket's deny is 9 of the tallest stack (20, axis
	 * top 20) over a 216-unit plot, above its allow (7). */
	assert_non_null(strstr(html, "data-series=\"deny\" x=\"672.67\" y=\"71.20\" "
	                             "width=\"249.33\" height=\"97.20\""));
	assert_no_non_numbers(html);
	free(html);
}

static void
figures_read_as_a_person_reads_them(void **state)
{
	char *html = NULL, err[256] = "";

	(void)state;
	assert_int_equal(render(full_doc, &html, err, sizeof(err)), 0);
	assert_non_null(strstr(html, "<title>PDP report: 2026-11-23T00:00:00.000Z to "
	                             "2026-11-23T02:59:59.999Z</title>"));
	assert_non_null(strstr(html, "<dt>decisions</dt><dd>1,234,567</dd>"));
	assert_non_null(strstr(html, "<dt>deny</dt><dd>200,000<small>16.2%</small></dd>"));
	assert_non_null(strstr(html, "<strong>denied 30</strong> requests (4 distinct users)"));
	assert_non_null(strstr(html, "<code>req-1</code>, <code>req-2</code>"));
	assert_non_null(strstr(html, "Decisions per hour"));
	assert_non_null(strstr(html, "context store unavailable"));
	assert_non_null(strstr(html, "<td class=\"n\">17</td><td class=\"reason\">not a JSON "
	                             "object</td>"));
	assert_non_null(strstr(html, "<span class=\"badge report-only\">report-only</span>"));
	assert_true(strlen(html) > 7 && strcmp(html + strlen(html) - 8, "</html>\n") == 0);
	free(html);
}

static void
strings_from_requests_render_as_text(void **state)
{
	char *html = NULL, err[256] = "";
	json_error_t jerr;
	json_t *doc = json_loads(full_doc, 0, &jerr);
	json_t *reason = json_array_get(json_object_get(doc, "top_deny_reasons"), 0);
	json_t *ro = json_array_get(json_object_get(doc, "report_only"), 0);

	(void)state;
	assert_non_null(doc);
	json_object_set_new(reason, "reason", json_string("<script>alert(1)</script> & co"));
	json_object_set_new(ro, "examples", json_pack("[s]", "\"><img src=x onerror=alert(2)>'"));
	json_object_set_new(json_array_get(json_object_get(doc, "apps"), 0), "app",
	                    json_string("ctl\x01\xc2\x85</th>"));
	/* Not UTF-8, as a careless producer might hand over. */
	json_object_set_new(json_array_get(json_object_get(doc, "policies"), 0), "id",
	                    json_string_nocheck("p\xff\xc3<"));
	assert_int_equal(render_doc(doc, &html, err, sizeof(err)), 0);
	assert_null(strcasestr(html, "<script"));
	assert_null(strcasestr(html, "<img"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
	assert_non_null(strstr(html, "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;"));
	assert_non_null(strstr(html, "ctl\xef\xbf\xbd\xef\xbf\xbd&lt;/th&gt;"));
	assert_non_null(strstr(html, "p\xef\xbf\xbd\xef\xbf\xbd&lt;"));
	free(html);
	json_decref(doc);
}

static void
an_empty_document_renders(void **state)
{
	static const char *const docs[] = {
	    "{\"format\":\"pdp-report/1\"}",
	    "{\"format\":\"pdp-report/1\",\"inputs\":[],\"skipped\":{\"count\":0,\"examples\":[]},"
	    "\"window\":{\"since\":null,\"until\":null,\"first\":null,\"last\":null},"
	    "\"totals\":{\"decisions\":0,\"by_decision\":{}},"
	    "\"timeline\":{\"bucket_seconds\":0,\"buckets\":[]},\"latency_us\":{},"
	    "\"policies\":[],\"apps\":[],\"top_deny_reasons\":[],\"top_step_up_reasons\":[],"
	    "\"report_only\":[],\"incidents\":[]}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char *html = NULL, err[256] = "";

		assert_int_equal(render(docs[i], &html, err, sizeof(err)), 0);
		assert_non_null(strstr(html, "<title>PDP report: no decisions</title>"));
		assert_non_null(strstr(html, "No report-only policy was evaluated"));
		assert_int_equal(chart_points(html, "timeline"), 0);
		assert_int_equal(chart_points(html, "latency"), 5);
		assert_int_equal(chart_points(html, "policies"), -1);
		assert_non_null(strstr(html, "No decisions in this window."));
		assert_no_non_numbers(html);
		assert_true(strcmp(html + strlen(html) - 8, "</html>\n") == 0);
		free(html);
	}
}

static void
zero_counts_and_one_bucket_draw_finite_charts(void **state)
{
	static const char doc[] =
	    "{\"format\":\"pdp-report/1\",\"timeline\":{\"bucket_seconds\":60,\"buckets\":["
	    "{\"start\":\"2026-11-23T00:00:00.000Z\",\"allow\":0,\"deny\":0,\"step-up\":0,"
	    "\"unauthenticated\":0,\"error\":0}]},"
	    "\"policies\":[{\"id\":\"p\",\"applied\":0,\"denied\":0,\"stepped_up\":0}],"
	    "\"report_only\":[{\"id\":\"r\",\"evaluated\":0,\"would\":{\"deny\":0,\"step-up\":0}}],"
	    "\"incidents\":[{\"kind\":\"keys-unavailable\",\"start\":\"2026-11-23T00:00:30.000Z\","
	    "\"end\":\"2026-11-23T00:00:30.000Z\",\"decisions\":0}]}";
	static const char huge[] =
	    "{\"format\":\"pdp-report/1\",\"timeline\":{\"bucket_seconds\":1,\"buckets\":["
	    "{\"start\":\"x\",\"allow\":9223372036854775807,\"deny\":9223372036854775807}]},"
	    "\"report_only\":[{\"id\":\"r\",\"evaluated\":1,"
	    "\"would\":{\"deny\":9223372036854775807,\"step-up\":9223372036854775807}}]}";
	char *html = NULL, err[256] = "";

	(void)state;
	assert_int_equal(render(doc, &html, err, sizeof(err)), 0);
	assert_int_equal(chart_points(html, "timeline"), 5);
	assert_int_equal(occurrences(html, html + strlen(html), "height=\"0.00\""), 5);
	assert_int_equal(chart_points(html, "policies"), 3);
	assert_int_equal(chart_points(html, "report-only"), 2);
	assert_int_equal(occurrences(html, html + strlen(html), "class=\"incident\""), 1);
	assert_non_null(strstr(html, "Decisions per minute"));
	assert_non_null(strstr(html, "of 0 requests it was evaluated on: \xe2\x80\x93 of them"));
	assert_no_non_numbers(html);
	free(html);
	html = NULL;
	assert_int_equal(render(huge, &html, err, sizeof(err)), 0);
	assert_no_non_numbers(html);
	assert_non_null(strstr(html, "9,223,372,036,854,775,807"));
	free(html);
}

static void
documents_of_the_wrong_shape_are_refused(void **state)
{
	static const struct {
		const char *doc, *err;
	} cases[] = {
	    {"[]", "format: not a pdp-report/1 document"},
	    {"{\"format\":\"pdp-report/2\"}", "format: not a pdp-report/1 document"},
	    {"{\"format\":\"pdp-report/1\",\"policies\":[{\"id\":\"a\"},{\"id\":\"b\","
	     "\"denied\":-3}]}",
	     "policies[1].denied: not a non-negative integer"},
	    {"{\"format\":\"pdp-report/1\",\"timeline\":{\"buckets\":\"x\"}}",
	     "timeline.buckets: not an array"},
	    {"{\"format\":\"pdp-report/1\",\"timeline\":{\"buckets\":[{\"deny\":1.5}]}}",
	     "timeline.buckets[0].deny: not a non-negative integer"},
	    {"{\"format\":\"pdp-report/1\",\"report_only\":[{\"id\":\"r\",\"would\":{\"deny\":"
	     "\"many\"}}]}",
	     "report_only[0].would.deny: not a non-negative integer"},
	    {"{\"format\":\"pdp-report/1\",\"report_only\":[{\"id\":\"r\",\"examples\":[1]}]}",
	     "report_only[0].examples: not an array of strings"},
	    {"{\"format\":\"pdp-report/1\",\"apps\":[7]}", "apps[0]: not an object"},
	    {"{\"format\":\"pdp-report/1\",\"window\":{\"first\":5}}",
	     "window.first: not a string"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *html = NULL, err[256] = "";

		assert_int_equal(render(cases[i].doc, &html, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
		free(html);
	}
}

/* A bucket's start that only looks like a time (a control character in its month) is not
 * cut into an axis label raw: no control character reaches the page. */
static void
time_labels_carry_no_control_characters(void **state)
{
	static const char doc[] =
	    "{\"format\":\"pdp-report/1\",\"timeline\":{\"bucket_seconds\":3600,\"buckets\":["
	    "{\"start\":\"2026-\\u000b1-16T00:00:00Z\",\"allow\":1},"
	    "{\"start\":\"2026-11-16T01:00:00+01:00\",\"allow\":2}]}}";
	char *html = NULL, err[256] = "";

	(void)state;
	assert_int_equal(render(doc, &html, err, sizeof(err)), 0);
	for (const char *c = html; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 && *c != '\n')
			fail_msg("control character %#x in the page at %.40s", (unsigned)*c, c);
	/* A time with an offset is labelled in UTC. */
	assert_non_null(strstr(html, ">11-16 00:00<"));
	free(html);
}

static void
a_failed_write_is_an_error(void **state)
{
	json_t *doc = json_loads(full_doc, 0, NULL);
	FILE *f = fopen("/dev/full", "w");
	char err[256] = "";

	(void)state;
	assert_non_null(doc);
	assert_non_null(f);
	assert_int_equal(report_html_write(f, doc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writing the page: "));
	fclose(f);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_chart_holds_a_point_per_row_and_series),
	    cmocka_unit_test(figures_read_as_a_person_reads_them),
	    cmocka_unit_test(strings_from_requests_render_as_text),
	    cmocka_unit_test(an_empty_document_renders),
	    cmocka_unit_test(zero_counts_and_one_bucket_draw_finite_charts),
	    cmocka_unit_test(documents_of_the_wrong_shape_are_refused),
	    cmocka_unit_test(time_labels_carry_no_control_characters),
	    cmocka_unit_test(a_failed_write_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
