/* report_markdown.c - the report's JSON document as Markdown, for a terminal or a ticket */
#include "evidence/report_markdown.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const char *const decisions[] = {"allow", "deny", "step-up", "unauthenticated", "error"};

static long long
num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/*
 * The length of a character a terminal or a renderer would act on rather than
 * show, at s: a C1 control (U+0080-U+009F, 8-bit escapes some terminals obey)
 * or a bidirectional override or isolate (U+202A-U+202E, U+2066-U+2069), which
 * reorder what follows; 0 for any other.
 */
static size_t
hidden_char(const unsigned char *s)
{
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae)
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
		return 3;
	return 0;
}

/*
 * Text from the log as Markdown: the characters that would start markup or
 * break a table escaped, the ":" of "://" and the "." of "www." too (so no
 * renderer makes a link of them), control characters as spaces and hidden
 * ones as U+FFFD, so a reason cannot forge a row, a link or a heading.
 */
static void
md_text(FILE *f, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	for (size_t i = 0; s[i] != '\0'; i++) {
		unsigned char c = s[i];
		size_t hidden = hidden_char(s + i);

		if (hidden > 0) {
			fputs("\xef\xbf\xbd", f);
			i += hidden - 1;
		} else if (c < 0x20 || c == 0x7f) {
			fputc(' ', f);
		} else if (strchr("\\`*_[]<>|#!~&", c) != NULL ||
		           (c == ':' && s[i + 1] == '/' && s[i + 2] == '/') ||
		           (c == '.' && i >= 3 && strncasecmp(text + i - 3, "www", 3) == 0)) {
			fprintf(f, "\\%c", c);
		} else {
			fputc(c, f);
		}
	}
}

/*
 * Text from the log as a code span in a table cell, to copy as it is (a
 * request id to look up): fenced with more backticks than it holds in a row,
 * "|" escaped as tables need, control and hidden characters replaced as
 * md_text does; nothing else is escaped, as a code span shows a backslash.
 */
static void
md_code(FILE *f, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t run = 0, longest = 0, fence;

	for (size_t i = 0; s[i] != '\0'; i++) {
		run = s[i] == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	fence = longest + 1;
	for (size_t k = 0; k < fence; k++)
		fputc('`', f);
	if (s[0] == '`' || (s[0] != '\0' && s[strlen(text) - 1] == '`'))
		fputc(' ', f);
	for (size_t i = 0; s[i] != '\0'; i++) {
		size_t hidden = hidden_char(s + i);

		if (hidden > 0) {
			fputs("\xef\xbf\xbd", f);
			i += hidden - 1;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			fputc(' ', f);
		} else if (s[i] == '|') {
			fputs("\\|", f);
		} else {
			fputc(s[i], f);
		}
	}
	if (s[0] == '`' || (s[0] != '\0' && s[strlen(text) - 1] == '`'))
		fputc(' ', f);
	for (size_t k = 0; k < fence; k++)
		fputc('`', f);
}

/* A section's heading; false, after saying none, when list is empty. */
static bool
section(FILE *f, const char *title, const json_t *list, const char *none)
{
	fprintf(f, "## %s\n\n", title);
	if (json_array_size(list) > 0)
		return true;
	fprintf(f, "%s\n\n", none);
	return false;
}

static void
percent(FILE *f, long long part, long long whole)
{
	if (whole > 0)
		fprintf(f, " (%.1f%%)", 100.0 * (double)part / (double)whole);
}

static void
report_only_section(FILE *f, const json_t *doc)
{
	const json_t *ro = json_object_get(doc, "report_only");
	size_t i;
	json_t *p;

	if (!section(f, "What enforcing the report-only policies would change", ro,
	             "No report-only policy was evaluated in this window."))
		return;
	fprintf(f, "Requests whose answer would have been different had the policy been enabled "
	           "(a deny where the answer was not one, a step-up where it was allow), and the "
	           "distinct users they came from (estimated).\n\n");
	fprintf(f, "| policy | evaluated | would deny | users | would step up | users | apps "
	           "| example request ids |\n");
	fprintf(f, "|---|---:|---:|---:|---:|---:|---|---|\n");
	json_array_foreach(ro, i, p)
	{
		const json_t *would = json_object_get(p, "would"),
		             *users = json_object_get(p, "users_distinct");
		size_t k;
		json_t *x;

		fprintf(f, "| ");
		md_text(f, str(p, "id"));
		fprintf(f, " | %lld | %lld | %lld | %lld | %lld | ", num(p, "evaluated"),
		        num(would, "deny"), num(users, "deny"), num(would, "step-up"),
		        num(users, "step-up"));
		json_array_foreach(json_object_get(p, "by_app"), k, x)
		{
			if (k == 3) {
				fprintf(f, ", …");
				break;
			}
			fprintf(f, "%s", k > 0 ? ", " : "");
			md_text(f, str(x, "app"));
			fprintf(f, " (%lld deny, %lld step-up)", num(x, "deny"), num(x, "step-up"));
		}
		fprintf(f, " | ");
		json_array_foreach(json_object_get(p, "examples"), k, x)
		{
			fprintf(f, "%s", k > 0 ? ", " : "");
			md_code(f, json_string_value(x) != NULL ? json_string_value(x) : "");
		}
		fprintf(f, " |\n");
	}
	fprintf(f, "\n");
}

static void
totals_section(FILE *f, const json_t *doc)
{
	const json_t *t = json_object_get(doc, "totals"), *by = json_object_get(t, "by_decision");
	long long all = num(t, "decisions");

	fprintf(f, "## Decisions\n\n| decision | count |\n|---|---:|\n");
	for (size_t d = 0; d < sizeof(decisions) / sizeof(decisions[0]); d++) {
		fprintf(f, "| %s | %lld", decisions[d], num(by, decisions[d]));
		percent(f, num(by, decisions[d]), all);
		fprintf(f, " |\n");
	}
	fprintf(f, "| **all** | %lld |\n\n", all);
	fprintf(f, "Distinct users: about %lld; distinct devices: about %lld.\n\n",
	        num(t, "users_distinct"), num(t, "devices_distinct"));
}

static void
policies_section(FILE *f, const json_t *doc)
{
	const json_t *list = json_object_get(doc, "policies");
	size_t i;
	json_t *p;

	if (!section(f, "Policies", list, "No policy applied."))
		return;
	fprintf(f, "What each policy did while enforced. A report-only policy's evaluations are "
	           "counted in the report-only section above.\n\n");
	fprintf(f, "| policy | state | applied | denied | stepped up | users affected |\n"
	           "|---|---|---:|---:|---:|---:|\n");
	json_array_foreach(list, i, p)
	{
		const char *state = json_string_value(json_object_get(p, "state"));

		fprintf(f, "| ");
		md_text(f, str(p, "id"));
		fprintf(f, " | %s | %lld | %lld | %lld | %lld |\n", state != NULL ? state : "",
		        num(p, "applied"), num(p, "denied"), num(p, "stepped_up"),
		        num(p, "users_affected_distinct"));
	}
	fprintf(f, "\n");
}

static void
apps_section(FILE *f, const json_t *doc)
{
	const json_t *list = json_object_get(doc, "apps");
	size_t i;
	json_t *a;

	if (!section(f, "Apps", list, "No decision named an app."))
		return;
	fprintf(f, "| app | decisions | allow | deny | step-up | unauthenticated | error |\n"
	           "|---|---:|---:|---:|---:|---:|---:|\n");
	json_array_foreach(list, i, a)
	{
		const json_t *by = json_object_get(a, "by_decision");

		fprintf(f, "| ");
		md_text(f, str(a, "app"));
		fprintf(f, " | %lld", num(a, "decisions"));
		for (size_t d = 0; d < sizeof(decisions) / sizeof(decisions[0]); d++)
			fprintf(f, " | %lld", num(by, decisions[d]));
		fprintf(f, " |\n");
	}
	fprintf(f, "\n");
}

static void
top_section(FILE *f, const json_t *doc, const char *key, const char *title, const char *what)
{
	const json_t *list = json_object_get(doc, key);
	size_t i;
	json_t *r;

	if (!section(f, title, list, "None."))
		return;
	fprintf(f, "| %s | count | ± |\n|---|---:|---:|\n", what);
	json_array_foreach(list, i, r)
	{
		fprintf(f, "| ");
		md_text(f, str(r, what));
		fprintf(f, " | %lld | %lld |\n", num(r, "count"), num(r, "error"));
	}
	fprintf(f, "\n");
}

static void
latency_section(FILE *f, const json_t *doc)
{
	const json_t *l = json_object_get(doc, "latency_us");

	fprintf(f, "## Latency\n\n");
	if (num(l, "count") == 0) {
		fprintf(f, "No decision gave its latency.\n\n");
		return;
	}
	fprintf(f,
	        "| p50 | p90 | p99 | p99.9 | max |\n|---:|---:|---:|---:|---:|\n"
	        "| %lld µs | %lld µs | %lld µs | %lld µs | %lld µs |\n\n",
	        num(l, "p50"), num(l, "p90"), num(l, "p99"), num(l, "p999"), num(l, "max"));
}

static void
incidents_section(FILE *f, const json_t *doc)
{
	const json_t *list = json_object_get(doc, "incidents");
	size_t i;
	json_t *x;

	if (!section(f, "Incidents", list, "No store outage, stale store or missing keys."))
		return;
	fprintf(f, "| kind | start | end | decisions |\n|---|---|---|---:|\n");
	json_array_foreach(list, i, x)
	{
		fprintf(f, "| %s | %s | %s | %lld |\n", str(x, "kind"), str(x, "start"),
		        str(x, "end"), num(x, "decisions"));
	}
	fprintf(f, "\n");
}

static void
timeline_section(FILE *f, const json_t *doc)
{
	const json_t *tl = json_object_get(doc, "timeline");
	size_t i;
	json_t *b;

	fprintf(f,
	        "## Timeline\n\nBuckets of %lld s; empty ones left out.\n\n"
	        "| start | allow | deny | step-up | unauthenticated | error |\n"
	        "|---|---:|---:|---:|---:|---:|\n",
	        num(tl, "bucket_seconds"));
	json_array_foreach(json_object_get(tl, "buckets"), i, b)
	{
		long long sum = 0;

		for (size_t d = 0; d < sizeof(decisions) / sizeof(decisions[0]); d++)
			sum += num(b, decisions[d]);
		if (sum == 0)
			continue;
		fprintf(f, "| %s", str(b, "start"));
		for (size_t d = 0; d < sizeof(decisions) / sizeof(decisions[0]); d++)
			fprintf(f, " | %lld", num(b, decisions[d]));
		fprintf(f, " |\n");
	}
	fprintf(f, "\n");
}

static void
skipped_section(FILE *f, const json_t *doc)
{
	const json_t *s = json_object_get(doc, "skipped");
	size_t i;
	json_t *x;

	if (num(s, "count") == 0)
		return;
	fprintf(f, "## Skipped lines\n\n%lld line%s could not be read", num(s, "count"),
	        num(s, "count") == 1 ? "" : "s");
	fputs(json_array_size(json_object_get(s, "examples")) < (size_t)num(s, "count")
	          ? "; the first:\n\n"
	          : ":\n\n",
	      f);
	json_array_foreach(json_object_get(s, "examples"), i, x)
	{
		fprintf(f, "- ");
		md_text(f, str(x, "input"));
		fprintf(f, ":%lld: %s\n", num(x, "line"), str(x, "reason"));
	}
	fprintf(f, "\n");
}

int
report_markdown_write(FILE *f, const json_t *doc)
{
	const json_t *w = json_object_get(doc, "window"), *in = json_object_get(doc, "inputs");
	size_t i;
	json_t *x;

	fprintf(f, "# PDP decision report\n\n");
	fprintf(f, "%lld decisions", num(json_object_get(doc, "totals"), "decisions"));
	if (json_is_string(json_object_get(w, "first")))
		fprintf(f, " from %s to %s", str(w, "first"), str(w, "last"));
	if (json_is_string(json_object_get(w, "since")) ||
	    json_is_string(json_object_get(w, "until")))
		fprintf(f, " (window: %s to %s)",
		        json_is_string(json_object_get(w, "since")) ? str(w, "since") : "the start",
		        json_is_string(json_object_get(w, "until")) ? str(w, "until") : "the end");
	fprintf(f, ", read from ");
	json_array_foreach(in, i, x)
	{
		fprintf(f, "%s", i == 0 ? "" : i + 1 == json_array_size(in) ? " and " : ", ");
		md_text(f, str(x, "name"));
		fprintf(f, " (%lld lines)", num(x, "lines"));
	}
	fprintf(f, ".\n\n");
	report_only_section(f, doc);
	totals_section(f, doc);
	policies_section(f, doc);
	apps_section(f, doc);
	top_section(f, doc, "top_deny_reasons", "Top deny reasons", "reason");
	top_section(f, doc, "top_step_up_reasons", "Top step-up reasons", "reason");
	top_section(f, doc, "top_denied_users", "Most denied users", "user");
	latency_section(f, doc);
	incidents_section(f, doc);
	timeline_section(f, doc);
	skipped_section(f, doc);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
