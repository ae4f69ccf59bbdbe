/* checklist_parse.h - the readers the checklist parser and the check kinds' rows share (evidence
 * only) */
#ifndef PDP_EVIDENCE_CHECKLIST_PARSE_H
#define PDP_EVIDENCE_CHECKLIST_PARSE_H

#include <stddef.h>

#include "core/arena.h"
#include "core/yaml_doc.h"

/* A checklist being parsed: where errors go, and the arena its strings are copied into. */
struct check_parse {
	struct ydoc_parse p; /* first: key rows get &check_parse->p */
	struct arena *mem;
};

/* Key-row setters shared with the checklist's own rows: a string, a list of strings (arg:
 * the offset of its size_t count from the list), both copied into the parse's arena. */
int check_set_text(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field);
int check_set_strings(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field);

/* A list of strings and its count, copied into the arena. */
#define CHECK_KEY_STRINGS(n, type, list, count)                                                    \
	YDOC_KEY_SLOT(n, check_set_strings, YDOC_FIELD(type, list, const char **),                 \
	              &(const size_t){offsetof(type, count) - offsetof(type, list)})
#define CHECK_KEY_TEXT(n, type, field)                                                             \
	YDOC_KEY_SLOT(n, check_set_text, YDOC_FIELD(type, field, const char *), NULL)

#endif
