/*
 * fuzz_report_html.c - libFuzzer target: report documents (any JSON jansson
 * reads) rendered as the HTML page. Whatever the document holds, the page
 * has no script element and no coordinate that is not a number, and a
 * rendered page is whole.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/report_html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_report_html: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	char *html = NULL, err[256];
	size_t len = 0;
	FILE *f;
	int rc;

	if (doc == NULL)
		return 0;
	f = open_memstream(&html, &len);
	check(f != NULL, "open_memstream");
	rc = report_html_write(f, doc, err, sizeof(err));
	check(fclose(f) == 0, "fclose");
	check(strcasestr(html, "<script") == NULL, "a script element in the page");
	check(strcasestr(html, "=\"nan") == NULL && strcasestr(html, "=\"-nan") == NULL &&
	          strcasestr(html, "=\"inf") == NULL && strcasestr(html, "=\"-inf") == NULL,
	      "a coordinate that is not a number");
	if (rc == 0)
		check(len >= 8 && strcmp(html + len - 8, "</html>\n") == 0, "a page cut short");
	else
		check(err[0] != '\0', "a refusal without a reason");
	free(html);
	json_decref(doc);
	return 0;
}
