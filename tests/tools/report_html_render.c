/* report_html_render.c - pdp-report-html: a report document (JSON) rendered as the HTML page */
/*
 * usage: pdp-report-html DOC.json OUT.html
 *
 * Reads a pdp-report/1 document, as `pdp report --json` prints it or as a
 * test writes it by hand, and writes the page `pdp report --html` writes.
 * Exits 0, 1 when the document cannot be read or rendered (with
 * file:line:column or the member at fault), 2 on a usage error.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "evidence/report_html.h"

int
main(int argc, char **argv)
{
	json_error_t jerr;
	json_t *doc = NULL;
	FILE *out = NULL;
	char err[256];
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: pdp-report-html DOC.json OUT.html\n");
		return 2;
	}
	doc = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		fprintf(stderr, "pdp-report-html: %s:%d:%d: %s\n", argv[1], jerr.line, jerr.column,
		        jerr.text);
		goto fail;
	}
	out = fopen(argv[2], "w");
	if (out == NULL) {
		fprintf(stderr, "pdp-report-html: %s: %s\n", argv[2], strerror(errno));
		goto fail;
	}
	if (report_html_write(out, doc, err, sizeof(err)) != 0) {
		fprintf(stderr, "pdp-report-html: %s: %s\n", argv[1], err);
		goto fail;
	}
	rc = 0;
fail:
	if (out != NULL && fclose(out) != 0 && rc == 0) {
		fprintf(stderr, "pdp-report-html: %s: %s\n", argv[2], strerror(errno));
		rc = 1;
	}
	json_decref(doc);
	return rc;
}
