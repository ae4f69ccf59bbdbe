/* report.h - decision logs aggregated in bounded memory into the report's JSON document */
#ifndef PDP_EVIDENCE_REPORT_H
#define PDP_EVIDENCE_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* The bounds the report holds whatever the log's size (docs/DESIGN.md §8, pdp report). */
#define REPORT_TOP_MAX          100   /* --top N at most */
#define REPORT_APPS_MAX         1024  /* apps counted one by one; more are counted together */
#define REPORT_POLICIES_MAX     1024  /* policies (and report-only policies) likewise */
#define REPORT_RO_APPS_MAX      32    /* apps listed per report-only policy */
#define REPORT_RO_EXAMPLES      5     /* example request ids per report-only policy */
#define REPORT_SKIPPED_EXAMPLES 20    /* skipped lines named in the document */
#define REPORT_TIMELINE_MAX     200   /* timeline buckets */
#define REPORT_INCIDENTS_MAX    256   /* incidents of each kind */
#define REPORT_INCIDENT_GAP_MS  60000 /* decisions of a kind closer than this: one incident */

struct report_options {
	bool has_since, has_until;
	int64_t since_ms, until_ms;   /* the window: since <= time < until */
	size_t top;                   /* length of the top lists */
	const struct policy_set *set; /* when given: each policy's state, the unseen listed */
};

struct report;

/* A report over no line yet; NULL when out of memory. o->set must outlive it. */
struct report *report_new(const struct report_options *o);

/*
 * Reads every line of the log name (a path or "-": log_reader_open) into
 * rp, as an input of its own. Returns 0, or -1 when the input cannot be
 * read (to its end), with the reason, naming it, in err.
 */
int report_read(struct report *rp, const char *name, char *err, size_t errsz);

/* Starts an input named name: the lines that follow are its. -1 when out of memory. */
int report_input(struct report *rp, const char *name);

/* One line (n bytes, no newline) numbered lineno of the current input. */
void report_line(struct report *rp, uint64_t lineno, const char *line, size_t n);

/* A line of the current input skipped for reason (a static string). */
void report_skip(struct report *rp, uint64_t lineno, const char *reason);

/*
 * The document ("format": "pdp-report/1"), as docs/DESIGN.md §8 describes
 * it; the caller frees it with json_decref. NULL when out of memory.
 */
json_t *report_json(const struct report *rp);

void report_free(struct report *rp);

#endif
