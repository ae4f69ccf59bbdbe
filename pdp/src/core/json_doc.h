/* json_doc.h - strict JSON objects parsed in place, for the segments of a token */
#ifndef PDP_JSON_DOC_H
#define PDP_JSON_DOC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bounds no legitimate token comes near; past them a document is refused
 * (JDOC_LIMIT) rather than parsed with unbounded work or memory. The item
 * table holds more than the largest token (64 KiB) can carry, so that a
 * token's own arrays are always kept; beyond it, items are checked, not kept.
 */
#define JDOC_MAX_DEPTH   32    /* nested arrays and objects */
#define JDOC_MAX_MEMBERS 512   /* members of the top-level object */
#define JDOC_MAX_ITEMS   32768 /* items of the top-level object's arrays, all together */
#define JDOC_MAX_KEYS    1024  /* members of the nested objects open at once */

enum jdoc_err {
	JDOC_OK = 0,
	JDOC_SYNTAX,     /* not RFC 8259 JSON */
	JDOC_NOT_OBJECT, /* JSON, but not an object */
	JDOC_DUPLICATE,  /* an object names a member twice */
	JDOC_TEXT,       /* a string is not UTF-8, or escapes NUL or a lone surrogate */
	JDOC_RANGE,      /* an integer beyond 64 bits, or a number beyond a double */
	JDOC_LIMIT,      /* past one of the JDOC_MAX_* bounds */
};

const char *jdoc_strerror(enum jdoc_err err);

enum jdoc_kind {
	JDOC_NULL,
	JDOC_FALSE,
	JDOC_TRUE,
	JDOC_INTEGER, /* a number without fraction or exponent */
	JDOC_REAL,
	JDOC_STRING,
	JDOC_ARRAY,
	JDOC_OBJECT, /* its members are checked, not kept */
};

/* A value of the top-level object, or an item of one of its arrays. */
struct jdoc_val {
	union {
		const char *str;              /* STRING: UTF-8, NUL-terminated, no NUL inside */
		const struct jdoc_val *items; /* ARRAY: NULL for the arrays inside arrays */
		int64_t integer;
		double real;
	};
	uint32_t len; /* STRING: bytes; ARRAY: items */
	uint8_t kind; /* enum jdoc_kind */
};

/*
 * A dotted path through nested objects ("realm_access.roles"), compiled once:
 * its segments point into the name it was compiled from, which must outlive
 * it. A parse given a set of paths keeps the value at each (see jdoc_found).
 */
#define JDOC_MAX_PATHS 32 /* paths one parse looks for */
#define JDOC_MAX_SEGS  8  /* segments of one path */

struct jdoc_path {
	const char *seg[JDOC_MAX_SEGS];
	uint32_t len[JDOC_MAX_SEGS];
	uint32_t n_segs;
};

/*
 * Splits name (len bytes) at its dots into p. Returns 0, or -1 when a
 * segment is empty or there are more than JDOC_MAX_SEGS. A name without a
 * dot is a path of one segment (a top-level member).
 */
int jdoc_path_compile(struct jdoc_path *p, const char *name, size_t len);

/* A parser's tables (some 550 KiB, touched only as far as used), reused between documents. */
struct jdoc;

/* A new parser, or NULL when out of memory; free with jdoc_free. */
struct jdoc *jdoc_new(void);
void jdoc_free(struct jdoc *d);

/*
 * Parses text (len bytes, no terminator needed) as one JSON object, as
 * RFC 8259 defines it and strictly: UTF-8 only, no NUL, no lone surrogate,
 * no duplicate member in any object, integers within 64 bits. The strings
 * are decoded in place, so text is overwritten; the values d yields point
 * into it and last until text changes or d parses again.
 */
enum jdoc_err jdoc_parse(struct jdoc *d, char *text, size_t len);

/*
 * The same, also keeping the value found at each of the n paths (at most
 * JDOC_MAX_PATHS, each of two segments or more) nested below the top level;
 * arrays there are kept as the top level's are.
 */
enum jdoc_err jdoc_parse_paths(struct jdoc *d, char *text, size_t len,
                               const struct jdoc_path *paths, size_t n);

/* The value the last parse found at its i-th path, or NULL when absent. */
const struct jdoc_val *jdoc_found(const struct jdoc *d, size_t i);

/* The top-level member called name (len bytes), or NULL. */
const struct jdoc_val *jdoc_get(const struct jdoc *d, const char *name, size_t len);

/* How many members the top-level object has, and the i-th in an unspecified order. */
size_t jdoc_size(const struct jdoc *d);
const struct jdoc_val *jdoc_member(const struct jdoc *d, size_t i, const char **name, size_t *len);

#endif
