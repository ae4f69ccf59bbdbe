/* report_html.h - the report document as one self-contained HTML page */
#ifndef PDP_REPORT_HTML_H
#define PDP_REPORT_HTML_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Writes doc, a "pdp-report/1" document (docs/DESIGN.md §8, `pdp report`), to
 * out as one HTML5 page that needs nothing else: inline CSS, the charts as
 * inline SVG drawn here, no script, no external asset. Every string of the
 * document is escaped, so text that came from requests (reasons, users,
 * request ids) shows as text. Members the document lacks render as zero or
 * empty; a member of the wrong type (a count that is not a non-negative
 * integer, a list that is not an array) is refused.
 *
 * Returns 0, or -1 with the reason in err ("policies[2].denied: not a
 * non-negative integer", or the write's error). On -1 part of the page may
 * have been written; doc is only read.
 */
int report_html_write(FILE *out, const json_t *doc, char *err, size_t errsz);

#endif
