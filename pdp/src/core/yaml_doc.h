/* yaml_doc.h - YAML files as node trees with file:line:column errors */
#ifndef PDP_YAML_DOC_H
#define PDP_YAML_DOC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

struct ydoc;

/*
 * Loads the first document of path. Anchors and aliases, a second document
 * and duplicate mapping keys are errors. On failure returns NULL and writes
 * "file:line:col: reason" into err. The caller frees the result with ydoc_free.
 */
struct ydoc *ydoc_load_file(const char *path, char *err, size_t errsz);

/* Same, from a buffer; name is used in error messages. */
struct ydoc *ydoc_load_buffer(const char *name, const char *buf, size_t len, char *err,
                              size_t errsz);

void ydoc_free(struct ydoc *d);

/* The root node, or NULL for an empty file. */
yaml_node_t *ydoc_root(struct ydoc *d);

/*
 * The root node of a file that must say something: an empty, comment-only
 * or null document is an error (a file cut to nothing must not read as "no
 * entries"), whose reason tells the author to write empty (e.g.
 * "policies: []") when nothing is meant. NULL with file:line:col in err.
 */
yaml_node_t *ydoc_root_required(struct ydoc *d, const char *empty, char *err, size_t errsz);

/*
 * Refuses a key given no value ("policies:" and nothing after it), which is
 * what a file cut after its first line reads as: 0, or -1 with file:line:col
 * in err telling the author to write "<key>: []" for an empty list.
 */
int ydoc_list_given(const struct ydoc *d, const yaml_node_t *key, const yaml_node_t *v, char *err,
                    size_t errsz);
yaml_node_t *ydoc_node(struct ydoc *d, int index);
const char *ydoc_name(const struct ydoc *d);

/* Writes "file:line:col: " and the formatted reason into err. Returns -1. */
int ydoc_error(const struct ydoc *d, const yaml_node_t *n, char *err, size_t errsz, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));

/* The scalar's text, or NULL when n is not a scalar. */
const char *ydoc_scalar(const yaml_node_t *n);
bool ydoc_is_null(const yaml_node_t *n);

/*
 * Typed readers: each returns 0, or -1 with a file:line:col error in err.
 * ydoc_get_duration_ms accepts "250ms", "60s", "5m", "4h", "1d" or a bare
 * number of seconds.
 */
int ydoc_get_string(const struct ydoc *d, const yaml_node_t *n, const char **out, char *err,
                    size_t errsz);
int ydoc_get_bool(const struct ydoc *d, const yaml_node_t *n, bool *out, char *err, size_t errsz);
int ydoc_get_uint(const struct ydoc *d, const yaml_node_t *n, uint64_t min, uint64_t max,
                  uint64_t *out, char *err, size_t errsz);
int ydoc_get_duration_ms(const struct ydoc *d, const yaml_node_t *n, uint64_t *out, char *err,
                         size_t errsz);

/* The duration syntax alone (for command lines): 0, or -1 when s is not one. */
int ydoc_parse_duration_ms(const char *s, uint64_t *out);

/*
 * One keyword of names[0..count): its index in *out. Anything else is an
 * error "<what> is a, b or c, not \"x\"".
 */
int ydoc_get_choice(const struct ydoc *d, const yaml_node_t *n, const char *what,
                    const char *const *names, int count, int *out, char *err, size_t errsz);

/* A sequence of scalars, or a single scalar taken as a one-element list. */
int ydoc_get_strings(const struct ydoc *d, const yaml_node_t *n, const char ***out, size_t *count,
                     char *err, size_t errsz);

/* A parse in progress: the document and where its first error goes. */
struct ydoc_parse {
	struct ydoc *doc;
	char *err;
	size_t errsz;
};

#define YDOC_ERR(p, n, ...) ydoc_error((p)->doc, (n), (p)->err, (p)->errsz, __VA_ARGS__)

/*
 * How a key's value is read. YDOC_CALL hands the value to the row's fn; the
 * other kinds read it themselves into the field at the row's offset of the
 * target, within the row's [min, max]:
 *   YDOC_STRING    a non-empty string, copied (malloc) into a char *, freeing
 *                  the one there before
 *   YDOC_BOOL      true or false into a bool
 *   YDOC_UNSIGNED  a whole number into an unsigned
 *   YDOC_SIZE      a whole number into a size_t
 *   YDOC_MS        a duration (see ydoc_get_duration_ms) into an unsigned of
 *                  milliseconds; min and max are milliseconds too
 *   YDOC_MS64      the same into a uint64_t (for durations without an upper
 *                  bound: max UINT64_MAX)
 *   YDOC_CHOICE    one of the NULL-ended names at arg, its index into an int
 *                  (or an enum whose values follow the names' order)
 *   YDOC_MAP       a mapping read by the key table at arg into the struct at
 *                  offset
 *   YDOC_SLOT      the row's slot fn reads the value into the field at offset,
 *                  given the row for its arg and limits: one setter shared by
 *                  many rows, as nginx's ngx_conf_set_*_slot with cmd->offset
 */
enum ydoc_kind {
	YDOC_CALL = 1, /* 0 is no kind: a row written without one is refused, never called */
	YDOC_STRING,
	YDOC_BOOL,
	YDOC_UNSIGNED,
	YDOC_SIZE,
	YDOC_MS,
	YDOC_MS64,
	YDOC_CHOICE,
	YDOC_MAP,
	YDOC_SLOT,
};

/*
 * One key of a mapping, as nginx's ngx_command_t describes a directive: its
 * name, how its value is read and where it goes. check, when set, runs after
 * the read (of any kind) with the same target (e.g. to refuse a string's
 * characters).
 * Write rows with the YDOC_KEY_* macros; a table ends with YDOC_KEY_END.
 */
struct ydoc_key {
	const char *name;
	int (*fn)(struct ydoc_parse *p, yaml_node_t *v, void *target);
	enum ydoc_kind kind;
	size_t offset;
	uint64_t min, max;
	const void *arg;
	int (*check)(struct ydoc_parse *p, yaml_node_t *v, void *target);
	int (*slot)(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field);
};

/* offsetof(type, field), refused at compile time unless field is a ctype. */
#define YDOC_FIELD(type, field, ctype)                                                             \
	(offsetof(type, field) +                                                                   \
	 0 * sizeof(                                                                               \
	         char[__builtin_types_compatible_p(__typeof__(((type *)0)->field), ctype) ? 1      \
	                                                                                  : -1]))

/* The same for an enum field, which a choice writes as an int: refused unless int-sized. */
#define YDOC_FIELD_ENUM(type, field)                                                               \
	(offsetof(type, field) +                                                                   \
	 0 * sizeof(char[sizeof(((type *)0)->field) == sizeof(int) ? 1 : -1]))

/* hi, refused at compile time when an unsigned field cannot hold it. */
#define YDOC_UINT_MAX(hi) ((hi) + 0 * sizeof(char[(hi) <= UINT_MAX ? 1 : -1]))

#define YDOC_KEY_CALL(n, f)                                                                        \
	{                                                                                          \
		.name = (n), .fn = (f), .kind = YDOC_CALL                                          \
	}
#define YDOC_KEY_STRING(n, type, field)                                                            \
	{                                                                                          \
		.name = (n), .kind = YDOC_STRING, .offset = YDOC_FIELD(type, field, char *)        \
	}
/* A string with a check of its own (its characters, its syntax). */
#define YDOC_KEY_STRING_CHECKED(n, type, field, chk)                                               \
	{                                                                                          \
		.name = (n), .kind = YDOC_STRING, .offset = YDOC_FIELD(type, field, char *),       \
		.check = (chk)                                                                     \
	}
#define YDOC_KEY_BOOL(n, type, field)                                                              \
	{                                                                                          \
		.name = (n), .kind = YDOC_BOOL, .offset = YDOC_FIELD(type, field, bool)            \
	}
#define YDOC_KEY_UNSIGNED(n, type, field, lo, hi)                                                  \
	{                                                                                          \
		.name = (n), .kind = YDOC_UNSIGNED, .offset = YDOC_FIELD(type, field, unsigned),   \
		.min = (lo), .max = YDOC_UINT_MAX(hi)                                              \
	}
#define YDOC_KEY_SIZE(n, type, field, lo, hi)                                                      \
	{                                                                                          \
		.name = (n), .kind = YDOC_SIZE, .offset = YDOC_FIELD(type, field, size_t),         \
		.min = (lo), .max = (hi)                                                           \
	}
#define YDOC_KEY_MS(n, type, field, lo, hi)                                                        \
	{                                                                                          \
		.name = (n), .kind = YDOC_MS, .offset = YDOC_FIELD(type, field, unsigned),         \
		.min = (lo), .max = YDOC_UINT_MAX(hi)                                              \
	}
#define YDOC_KEY_MS64(n, type, field, lo, hi)                                                      \
	{                                                                                          \
		.name = (n), .kind = YDOC_MS64, .offset = YDOC_FIELD(type, field, uint64_t),       \
		.min = (lo), .max = (hi)                                                           \
	}
#define YDOC_KEY_CHOICE(n, type, field, names)                                                     \
	{                                                                                          \
		.name = (n), .kind = YDOC_CHOICE, .offset = YDOC_FIELD_ENUM(type, field),          \
		.arg = (names)                                                                     \
	}
#define YDOC_KEY_MAP(n, type, field, table)                                                        \
	{                                                                                          \
		.name = (n), .kind = YDOC_MAP, .offset = offsetof(type, field), .arg = (table)     \
	}
/* A YDOC_SLOT row: setter f with its data a for the field at byte offset off. */
#define YDOC_KEY_SLOT(n, f, off, a)                                                                \
	{                                                                                          \
		.name = (n), .kind = YDOC_SLOT, .slot = (f), .offset = (off), .arg = (a)           \
	}
#define YDOC_KEY_END                                                                               \
	{                                                                                          \
		.name = NULL                                                                       \
	}

/*
 * Reads each key of mapping n by its row of table into target. A key with
 * no row is an error that lists the known keys, so a typo is never silently
 * ignored. Returns 0, or -1 with the error in p.
 */
int ydoc_parse_map(struct ydoc_parse *p, yaml_node_t *n, const struct ydoc_key *table,
                   void *target);

/* Reads one value as row k describes it; what ydoc_parse_map does per key. */
int ydoc_parse_key(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *target);

/* Pairs of a mapping, for iteration; NULL/0 when n is not a mapping. */
#define YDOC_MAP_FOREACH(d, n, k, v)                                                               \
	for (yaml_node_pair_t *k##_pair = (n)->data.mapping.pairs.start;                           \
	     k##_pair < (n)->data.mapping.pairs.top &&                                             \
	     ((k) = ydoc_node((d), k##_pair->key), (v) = ydoc_node((d), k##_pair->value), 1);      \
	     k##_pair++)

#define YDOC_SEQ_FOREACH(d, n, item)                                                               \
	for (yaml_node_item_t *item##_it = (n)->data.sequence.items.start;                         \
	     item##_it < (n)->data.sequence.items.top && ((item) = ydoc_node((d), *item##_it), 1); \
	     item##_it++)

#endif
