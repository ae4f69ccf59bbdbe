/*
 * fuzz_decision_line.c - libFuzzer target: the decision-log reader and line
 * scanner behind pdp report. The input is a log (lines split anywhere, long
 * lines, gzip or not: the reader decides by the magic bytes); every line is
 * aggregated, and the document rendered as JSON and Markdown. A line the
 * scanner accepts must be JSON to jansson too, with the same decision and
 * time, unless it holds bytes that are not UTF-8, which jansson refuses and
 * the log's writer never writes.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "evidence/decision_record.h"
#include "evidence/log_reader.h"
#include "evidence/report.h"
#include "evidence/report_markdown.h"
#include "evidence/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_decision_line: %s\n", what);
		abort();
	}
}

static void
same_as_jansson(const char *line, size_t n)
{
	struct decision_record r;
	json_error_t e;
	json_t *j;
	const char *d;
	int64_t t;

	if (decision_record_parse(line, n, &r) != NULL)
		return;
	j = json_loadb(line, n, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		/* Invalid UTF-8, or an unknown member given twice (the scanner skips those). */
		check(strstr(e.text, "UTF-8") != NULL || strstr(e.text, "duplicate") != NULL ||
		          strstr(e.text, "unable to decode") != NULL,
		      "a line the scanner accepts is not JSON");
		return;
	}
	check(json_is_object(j), "accepted a line that is not an object");
	d = json_string_value(json_object_get(j, "decision"));
	check(d != NULL && strcmp(d, decision_name(r.decision)) == 0, "a different decision");
	d = json_string_value(json_object_get(j, "time"));
	check(d != NULL && timefmt_parse(d, strlen(d), &t) == 0 && t == r.time_ms,
	      "a different time");
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct report_options o = {.top = 3};
	int fd = memfd_create("log", MFD_CLOEXEC);
	struct log_reader *lr;
	struct report *rp;
	char err[256];
	const char *line;
	size_t n;
	uint64_t no;
	enum log_read got;
	json_t *doc;
	FILE *sink;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	lr = log_reader_fdopen(fd, "fuzz", err, sizeof(err));
	rp = report_new(&o);
	check(lr != NULL && rp != NULL && report_input(rp, "fuzz") == 0, "set up");
	while ((got = log_reader_next(lr, &line, &n, &no, err, sizeof(err))) != LOG_READ_EOF &&
	       got != LOG_READ_ERROR) {
		if (got == LOG_READ_TOO_LONG) {
			report_skip(rp, no, "too long");
			continue;
		}
		same_as_jansson(line, n);
		report_line(rp, no, line, n);
	}
	log_reader_close(lr);
	doc = report_json(rp);
	check(doc != NULL, "no document");
	sink = fopen("/dev/null", "w");
	report_markdown_write(sink, doc);
	check(json_dumpf(doc, sink, 0) == 0, "the document does not serialise");
	fclose(sink);
	json_decref(doc);
	report_free(rp);
	return 0;
}
