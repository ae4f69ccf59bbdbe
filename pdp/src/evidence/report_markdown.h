/* report_markdown.h - the report's JSON document as Markdown, for a terminal or a ticket */
#ifndef PDP_EVIDENCE_REPORT_MARKDOWN_H
#define PDP_EVIDENCE_REPORT_MARKDOWN_H

#include <jansson.h>
#include <stdio.h>

/*
 * Writes doc (report_json's) to f as Markdown: headings and tables, what
 * enforcing each report-only policy would change first. Every figure is
 * one of doc's. Returns 0, or -1 when f could not be written.
 */
int report_markdown_write(FILE *f, const json_t *doc);

#endif
