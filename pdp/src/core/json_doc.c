/* json_doc.c - strict JSON objects parsed in place, for the segments of a token */
#include "core/json_doc.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* A member name, decoded. */
struct key {
	const char *name;
	uint32_t len;
};

struct member {
	struct key key; /* first, so that members sort as keys */
	struct jdoc_val v;
};

struct jdoc {
	struct member members[JDOC_MAX_MEMBERS]; /* sorted by key once parsed */
	size_t n_members;
	struct jdoc_val items[JDOC_MAX_ITEMS];
	size_t n_items;
	struct key keys[JDOC_MAX_KEYS]; /* a stack: the names of the nested objects open */
	size_t n_keys;
	const struct jdoc_path *paths; /* looked for below the top level, or NULL */
	size_t n_paths;
	struct jdoc_val found[JDOC_MAX_PATHS];
	uint32_t found_mask; /* bit i: found[i] holds the value at paths[i] */
};

struct parse {
	struct jdoc *d;
	char *p;
	char *end;
};

static const char *const jdoc_errors[] = {
    [JDOC_OK] = "ok",
    [JDOC_SYNTAX] = "not JSON",
    [JDOC_NOT_OBJECT] = "not a JSON object",
    [JDOC_DUPLICATE] = "a member is named twice",
    [JDOC_TEXT] = "a string is not UTF-8 or escapes NUL or a lone surrogate",
    [JDOC_RANGE] = "a number is out of range",
    [JDOC_LIMIT] = "nested too deep or too many members",
};

static enum jdoc_err parse_value(struct parse *ps, int depth, struct jdoc_val *v, bool keep,
                                 uint32_t want, uint32_t seg);

const char *
jdoc_strerror(enum jdoc_err err)
{
	return (unsigned)err < sizeof(jdoc_errors) / sizeof(jdoc_errors[0]) ? jdoc_errors[err]
	                                                                    : "unknown error";
}

struct jdoc *
jdoc_new(void)
{
	/* Not calloc: the tables are written only as far as a document fills them. */
	struct jdoc *d = malloc(sizeof(*d));

	if (d != NULL)
		d->n_members = d->n_items = d->n_keys = 0;
	return d;
}

void
jdoc_free(struct jdoc *d)
{
	free(d);
}

static void
skip_space(struct parse *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool
is_digit(const struct parse *ps)
{
	return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

/* Reads the XXXX of a \uXXXX at p; false unless four hex digits are there. */
static bool
hex4(const char *p, const char *end, uint32_t *out)
{
	uint32_t v = 0;

	if (end - p < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (uint32_t)(c - 'A' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

/* The \u escape at ps->p (past the backslash and u) as one code point. */
static enum jdoc_err
unicode_escape(struct parse *ps, uint32_t *cp)
{
	uint32_t lo;

	if (!hex4(ps->p, ps->end, cp))
		return JDOC_SYNTAX;
	ps->p += 4;
	if (*cp >= 0xDC00 && *cp <= 0xDFFF)
		return JDOC_TEXT;
	if (*cp >= 0xD800 && *cp <= 0xDBFF) {
		if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
			return JDOC_TEXT;
		if (!hex4(ps->p + 2, ps->end, &lo))
			return JDOC_SYNTAX;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return JDOC_TEXT;
		ps->p += 6;
		*cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	/* A NUL would end the string early for every C reader after us. */
	return *cp == 0 ? JDOC_TEXT : JDOC_OK;
}

/*
 * The string at ps->p (its opening quote). It is decoded over itself: the
 * decoded bytes are never more than the escaped ones, so the write position
 * never passes the read position, and the closing quote makes room for the NUL.
 */
static enum jdoc_err
parse_string(struct parse *ps, struct key *out)
{
	char *start = ++ps->p, *o = start;
	enum jdoc_err e;

	for (;;) {
		unsigned char c;

		if (ps->p >= ps->end)
			return JDOC_SYNTAX;
		c = (unsigned char)*ps->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return JDOC_SYNTAX;
		if (c >= 0x80) {
			size_t n = utf8_sequence((const unsigned char *)ps->p,
			                         (const unsigned char *)ps->end);

			if (n == 0)
				return JDOC_TEXT;
			memmove(o, ps->p, n);
			o += n;
			ps->p += n;
			continue;
		}
		if (c != '\\') {
			*o++ = (char)c;
			ps->p++;
			continue;
		}
		if (ps->end - ps->p < 2)
			return JDOC_SYNTAX;
		c = (unsigned char)ps->p[1];
		ps->p += 2;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			*o++ = (char)c;
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u': {
			uint32_t cp;

			if ((e = unicode_escape(ps, &cp)) != JDOC_OK)
				return e;
			o += utf8_put(o, cp);
			break;
		}
		default:
			return JDOC_SYNTAX;
		}
	}
	*o = '\0';
	ps->p++;
	out->name = start;
	out->len = (uint32_t)(o - start);
	return JDOC_OK;
}

static enum jdoc_err
parse_number(struct parse *ps, struct jdoc_val *v)
{
	char *start = ps->p, *end, saved;
	bool negative = false, integer = true, overflow = false;
	uint64_t mag = 0;
	double d;

	if (*ps->p == '-') {
		negative = true;
		ps->p++;
	}
	if (!is_digit(ps))
		return JDOC_SYNTAX;
	if (*ps->p == '0') {
		ps->p++;
	} else {
		for (; is_digit(ps); ps->p++) {
			unsigned digit = (unsigned)(*ps->p - '0');

			if (mag > (UINT64_MAX - digit) / 10)
				overflow = true;
			else
				mag = mag * 10 + digit;
		}
	}
	if (ps->p < ps->end && *ps->p == '.') {
		integer = false;
		ps->p++;
		if (!is_digit(ps))
			return JDOC_SYNTAX;
		while (is_digit(ps))
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		integer = false;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!is_digit(ps))
			return JDOC_SYNTAX;
		while (is_digit(ps))
			ps->p++;
	}
	/* A number is inside an object, so something must follow it. */
	if (ps->p >= ps->end)
		return JDOC_SYNTAX;
	if (integer) {
		if (overflow || mag > (uint64_t)INT64_MAX + negative)
			return JDOC_RANGE;
		v->kind = JDOC_INTEGER;
		v->integer = !negative ? (int64_t)mag : mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
		return JDOC_OK;
	}
	/*
	 * The text is a JSON number, which strtod reads the same way (the daemon
	 * never sets a locale, so the decimal point is '.'); ending it bounds the read.
	 */
	saved = *ps->p;
	*ps->p = '\0';
	d = strtod(start, &end);
	*ps->p = saved;
	if (end != ps->p)
		return JDOC_SYNTAX;
	if (isinf(d))
		return JDOC_RANGE;
	v->kind = JDOC_REAL;
	v->real = d;
	return JDOC_OK;
}

static enum jdoc_err
parse_literal(struct parse *ps, const char *word, size_t len, enum jdoc_kind kind,
              struct jdoc_val *v)
{
	if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
		return JDOC_SYNTAX;
	ps->p += len;
	v->kind = (uint8_t)kind;
	return JDOC_OK;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->name, y->name, x->len);
}

/* Sorts n keys of the given size (a struct key first) and says whether two are equal. */
static bool
has_duplicate(void *keys, size_t n, size_t size)
{
	char *k = keys;

	if (n < 2)
		return false;
	qsort(keys, n, size, key_cmp);
	for (size_t i = 1; i < n; i++) {
		if (key_cmp(k + (i - 1) * size, k + i * size) == 0)
			return true;
	}
	return false;
}

/* After a value in an array or object: its close (*closed) or a ',' and the next value. */
static enum jdoc_err
after_value(struct parse *ps, char close, bool *closed)
{
	skip_space(ps);
	if (ps->p >= ps->end || (*ps->p != close && *ps->p != ','))
		return JDOC_SYNTAX;
	*closed = *ps->p++ == close;
	skip_space(ps);
	return JDOC_OK;
}

/*
 * The array at ps->p (its '['). With keep, its items go to the item table
 * and v->items points at them; without, or when the table is full, they
 * are checked and dropped.
 */
static enum jdoc_err
parse_array(struct parse *ps, int depth, struct jdoc_val *v, bool keep)
{
	struct jdoc *d = ps->d;
	size_t first = d->n_items;
	uint32_t n = 0;
	bool closed;
	enum jdoc_err e;

	ps->p++;
	skip_space(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
	} else {
		for (;;) {
			struct jdoc_val dropped, *item = &dropped;

			if (keep && d->n_items == JDOC_MAX_ITEMS) {
				keep = false;
				d->n_items = first;
			}
			if (keep)
				item = &d->items[d->n_items++];
			if ((e = parse_value(ps, depth, item, false, 0, 0)) != JDOC_OK)
				return e;
			n++;
			if ((e = after_value(ps, ']', &closed)) != JDOC_OK)
				return e;
			if (closed)
				break;
		}
	}
	v->kind = JDOC_ARRAY;
	v->len = n;
	v->items = keep ? &d->items[first] : NULL;
	return JDOC_OK;
}

/*
 * The object at ps->p (its '{'). The top-level one keeps its members; a
 * nested one keeps its names on the key stack only until they are checked.
 */
/* Whether segment seg of path p is k. */
static bool
seg_is(const struct jdoc_path *p, uint32_t seg, const struct key *k)
{
	return seg < p->n_segs && p->len[seg] == k->len &&
	       memcmp(p->seg[seg], k->name, k->len) == 0;
}

/*
 * For member k at segment seg of the paths in want: the paths that continue
 * below it (returned), and in *end the one that ends at it (-1 if none).
 */
static uint32_t
paths_step(const struct jdoc *d, uint32_t want, uint32_t seg, const struct key *k, int *end)
{
	uint32_t next = 0;

	*end = -1;
	for (uint32_t i = 0; want != 0; i++, want >>= 1) {
		if (!(want & 1) || !seg_is(&d->paths[i], seg, k))
			continue;
		if (d->paths[i].n_segs == seg + 1)
			*end = (int)i;
		else
			next |= 1u << i;
	}
	return next;
}

/*
 * The object at ps->p; want holds the paths whose first seg segments led
 * here (for the top level: all of them, seg 0).
 */
static enum jdoc_err
parse_object(struct parse *ps, int depth, bool top, uint32_t want, uint32_t seg)
{
	struct jdoc *d = ps->d;
	size_t base = d->n_keys;
	bool closed;
	enum jdoc_err e;

	ps->p++;
	skip_space(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return JDOC_OK;
	}
	for (;;) {
		struct jdoc_val dropped, *v = &dropped;
		struct key k;
		uint32_t next = 0;
		int end = -1;

		if (ps->p >= ps->end || *ps->p != '"')
			return JDOC_SYNTAX;
		if ((e = parse_string(ps, &k)) != JDOC_OK)
			return e;
		skip_space(ps);
		if (ps->p >= ps->end || *ps->p != ':')
			return JDOC_SYNTAX;
		ps->p++;
		skip_space(ps);
		if (want != 0)
			next = paths_step(d, want, seg, &k, &end);
		if (top) {
			if (d->n_members == JDOC_MAX_MEMBERS)
				return JDOC_LIMIT;
			d->members[d->n_members].key = k;
			v = &d->members[d->n_members++].v;
		} else {
			if (d->n_keys == JDOC_MAX_KEYS)
				return JDOC_LIMIT;
			d->keys[d->n_keys++] = k;
			if (end >= 0) {
				v = &d->found[end];
				d->found_mask |= 1u << end;
			}
		}
		if ((e = parse_value(ps, depth, v, top || end >= 0, next, seg + 1)) != JDOC_OK)
			return e;
		if ((e = after_value(ps, '}', &closed)) != JDOC_OK)
			return e;
		if (closed)
			break;
	}
	if (top)
		return has_duplicate(d->members, d->n_members, sizeof(d->members[0]))
		           ? JDOC_DUPLICATE
		           : JDOC_OK;
	e = has_duplicate(d->keys + base, d->n_keys - base, sizeof(d->keys[0])) ? JDOC_DUPLICATE
	                                                                        : JDOC_OK;
	d->n_keys = base;
	return e;
}

static enum jdoc_err
parse_value(struct parse *ps, int depth, struct jdoc_val *v, bool keep, uint32_t want, uint32_t seg)
{
	struct key s;
	enum jdoc_err e;

	if (ps->p >= ps->end)
		return JDOC_SYNTAX;
	switch (*ps->p) {
	case '{':
		if (depth >= JDOC_MAX_DEPTH)
			return JDOC_LIMIT;
		v->kind = JDOC_OBJECT;
		return parse_object(ps, depth + 1, false, want, seg);
	case '[':
		if (depth >= JDOC_MAX_DEPTH)
			return JDOC_LIMIT;
		return parse_array(ps, depth + 1, v, keep);
	case '"':
		if ((e = parse_string(ps, &s)) != JDOC_OK)
			return e;
		v->kind = JDOC_STRING;
		v->str = s.name;
		v->len = s.len;
		return JDOC_OK;
	case 't':
		return parse_literal(ps, "true", 4, JDOC_TRUE, v);
	case 'f':
		return parse_literal(ps, "false", 5, JDOC_FALSE, v);
	case 'n':
		return parse_literal(ps, "null", 4, JDOC_NULL, v);
	default:
		return parse_number(ps, v);
	}
}

int
jdoc_path_compile(struct jdoc_path *p, const char *name, size_t len)
{
	size_t start = 0;

	p->n_segs = 0;
	if (len > UINT32_MAX)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		if (i == start || p->n_segs == JDOC_MAX_SEGS)
			return -1;
		p->seg[p->n_segs] = name + start;
		p->len[p->n_segs++] = (uint32_t)(i - start);
		start = i + 1;
	}
	return 0;
}

enum jdoc_err
jdoc_parse(struct jdoc *d, char *text, size_t len)
{
	return jdoc_parse_paths(d, text, len, NULL, 0);
}

enum jdoc_err
jdoc_parse_paths(struct jdoc *d, char *text, size_t len, const struct jdoc_path *paths, size_t n)
{
	struct parse ps = {.d = d, .p = text, .end = text + len};
	uint32_t want = 0;
	enum jdoc_err e;

	d->n_members = d->n_items = d->n_keys = 0;
	d->paths = paths;
	d->n_paths = n < JDOC_MAX_PATHS ? n : JDOC_MAX_PATHS;
	d->found_mask = 0;
	for (size_t i = 0; i < d->n_paths; i++) {
		if (paths[i].n_segs >= 2)
			want |= 1u << i;
	}
	if (len > UINT32_MAX)
		return JDOC_LIMIT;
	skip_space(&ps);
	if (ps.p >= ps.end || *ps.p != '{')
		return JDOC_NOT_OBJECT;
	e = parse_object(&ps, 1, true, want, 0);
	skip_space(&ps);
	if (e == JDOC_OK && ps.p != ps.end)
		e = JDOC_SYNTAX;
	if (e != JDOC_OK)
		d->n_members = d->found_mask = 0;
	return e;
}

const struct jdoc_val *
jdoc_found(const struct jdoc *d, size_t i)
{
	return i < d->n_paths && (d->found_mask & (1u << i)) ? &d->found[i] : NULL;
}

const struct jdoc_val *
jdoc_get(const struct jdoc *d, const char *name, size_t len)
{
	struct key want = {.name = name, .len = (uint32_t)len};
	size_t lo = 0, hi = d->n_members;

	if (len > UINT32_MAX)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(&want, &d->members[mid].key);

		if (c == 0)
			return &d->members[mid].v;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t
jdoc_size(const struct jdoc *d)
{
	return d->n_members;
}

const struct jdoc_val *
jdoc_member(const struct jdoc *d, size_t i, const char **name, size_t *len)
{
	if (i >= d->n_members)
		return NULL;
	*name = d->members[i].key.name;
	*len = d->members[i].key.len;
	return &d->members[i].v;
}
