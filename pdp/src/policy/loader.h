/* loader.h - the policy loader's state shared by parsing, indexing and loading (policy files only)
 */
#ifndef PDP_POLICY_LOADER_H
#define PDP_POLICY_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/yaml_doc.h"
#include "policy/policy.h"

/* A reference by id to an app, location or strength, resolved once every file is read. */
enum ref_kind { REF_APP, REF_LOCATION, REF_STRENGTH };

struct ref {
	enum ref_kind kind;
	const char *name;
	const yaml_node_t *node;
	struct ydoc *doc;
	uint32_t *slot; /* receives the index */
};

/* One load in progress: the set being built, its pending references and warnings. */
struct loader {
	struct ydoc_parse p; /* first: handlers get &loader->p */
	struct policy_set *set;
	struct ref *refs;
	size_t n_refs, cap_refs;
	const char **warnings;
	size_t n_warnings, cap_warnings;
};

#define L(p) ((struct loader *)(p))

/* --- interned names (names.c) --- */

/* The id of name (which must outlive t), adding it when new; POLICY_NO_ID when out of memory. */
uint32_t strtab_add(struct strtab *t, const char *name);
void strtab_free(struct strtab *t);

/* --- the loader's memory, warnings and readers (parse.c) --- */

/* n zeroed bytes (at least one) of the set's arena, or NULL. */
void *loader_alloc(struct loader *l, size_t n);
const char *loader_strdup(struct loader *l, const char *s);
/* "file:line:col" of n, in the set's arena. */
const char *loader_where(struct loader *l, const yaml_node_t *n);
/* "out of memory" at n; returns -1. */
int loader_oom(struct loader *l, const yaml_node_t *n);
/* Records "file:line:col: warning: ..." for what at ("file:line:col") points to. */
void loader_warn(struct loader *l, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Notes a reference to resolve into *slot once every file is read. */
int loader_ref(struct loader *l, enum ref_kind kind, const char *name, const yaml_node_t *node,
               uint32_t *slot);
/* An id (a safe alphabet, 1 to POLICY_ID_MAX long) copied into the arena. */
int loader_id(struct loader *l, yaml_node_t *v, const char **out);
/* A non-empty list of non-empty strings copied into the arena. */
int loader_list(struct loader *l, yaml_node_t *v, const char ***out, size_t *n, const char *what);
/* A zeroed arena array for the items of a non-empty sequence; else NULL with msg at v. */
void *loader_seq_array(struct loader *l, yaml_node_t *v, size_t size, const char *msg);
/* A list of names from names[0..count) as a bit mask. */
int loader_mask(struct loader *l, yaml_node_t *v, const char *const *names, int count,
                const char *what, unsigned *out);
/* Interns a list of names into tab, as an idlist (sorted, duplicates dropped). */
int loader_idlist(struct loader *l, yaml_node_t *v, struct strtab *tab, struct idlist *out,
                  const char *what);
/*
 * A list of references to ids of another kind, resolved once every file is
 * read; keywords (two, may be NULL) set flags instead. Errors point at the item.
 */
int loader_refs(struct loader *l, enum ref_kind kind, yaml_node_t *v, struct idlist *out,
                const char *what, const char *const *keywords, bool *flags[]);
/* An empty list, where one means "nothing excluded". */
bool loader_empty_list(const yaml_node_t *v);
/* Whether two sorted idlists share an id. */
bool loader_ids_overlap(const struct idlist *a, const struct idlist *b);
/* qsort order of uint32_t ids. */
int loader_sort_ids(const void *a, const void *b);

/*
 * Setters of YDOC_SLOT rows (parse.c), each for the field at the row's
 * offset: an id; any string, copied; a list of strings with its count
 * (arg: the count's offset from the list, a size_t); names interned into
 * the set's strtab (arg: its offset in struct policy_set, a size_t) as an
 * idlist; names from a table as a bit mask (arg: struct loader_names). Each
 * returns 0, or -1 with a file:line:col error at the value.
 */
int loader_set_id(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field);
int loader_set_text(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field);
int loader_set_list(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field);
int loader_set_idlist(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field);
int loader_set_mask(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field);

struct loader_names {
	const char *const *names;
	int count;
	const char *what; /* "unknown <what> ..." */
};

#define LOADER_KEY_ID(n, type, field)                                                              \
	YDOC_KEY_SLOT(n, loader_set_id, YDOC_FIELD(type, field, const char *), NULL)
#define LOADER_KEY_TEXT(n, type, field)                                                            \
	YDOC_KEY_SLOT(n, loader_set_text, YDOC_FIELD(type, field, const char *), NULL)
/* A list and its count; chk (may be NULL) then checks the items. */
#define LOADER_KEY_LIST(n, type, list, count, chk)                                                 \
	{                                                                                          \
		.name = (n), .kind = YDOC_SLOT, .slot = loader_set_list,                           \
		.offset = YDOC_FIELD(type, list, const char **),                                   \
		.arg =                                                                             \
		    &(const size_t){                                                               \
		        YDOC_FIELD(type, count, size_t) - offsetof(type, list) +                   \
		        0 * sizeof(char[offsetof(type, count) > offsetof(type, list) ? 1 : -1])},  \
		.check = (chk)                                                                     \
	}
/* Names of the strtab tab of struct policy_set into an idlist. */
#define LOADER_KEY_IDLIST(n, type, field, tab)                                                     \
	YDOC_KEY_SLOT(n, loader_set_idlist, YDOC_FIELD(type, field, struct idlist),                \
	              &(const size_t){offsetof(struct policy_set, tab)})
#define LOADER_KEY_MASK(n, type, field, names_, count_, what_)                                     \
	YDOC_KEY_SLOT(n, loader_set_mask, YDOC_FIELD(type, field, unsigned),                       \
	              (&(const struct loader_names){(names_), (count_), (what_)}))

/* --- parsing (parse.c, parse_policy.c) --- */

/* Parses the top level of one file into the next[kind] free slots of the set's arrays. */
int loader_parse_file(struct loader *l, struct ydoc *doc, size_t *next);
int loader_parse_policy(struct loader *l, yaml_node_t *n, struct pol_policy *pol);
/* The built-in "mfa" strength (DESIGN §3) into s; -1 when its amr values do not fit. */
int loader_builtin_mfa(struct loader *l, struct pol_strength *s);

/* --- indexing (index.c); each returns 0, or -1 with the error in l->p --- */

/* Checks ids are unique per kind and points every reference at what it names. */
int loader_resolve(struct loader *l);
/* The set's hosts and routes; ambiguous apps are an error, fall-through a warning. */
int loader_index_routes(struct loader *l);
/* The candidate policies of each app. */
int loader_index_policies(struct loader *l);

#endif
