/* yaml_doc.c - YAML files as node trees with file:line:column errors */
#include "core/yaml_doc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

/* Policy and config files are small; a cap keeps a hostile file from eating memory. */
#define YDOC_MAX_FILE_BYTES (16u << 20)

struct ydoc {
	char *name;
	yaml_document_t doc;
	bool loaded;
};

static int errf(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
errf(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

int
ydoc_error(const struct ydoc *d, const yaml_node_t *n, char *err, size_t errsz, const char *fmt,
           ...)
{
	va_list ap;
	int off;

	if (n != NULL)
		off = snprintf(err, errsz, "%s:%zu:%zu: ", d->name, n->start_mark.line + 1,
		               n->start_mark.column + 1);
	else
		off = snprintf(err, errsz, "%s: ", d->name);
	if (off < 0 || (size_t)off >= errsz)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + off, errsz - (size_t)off, fmt, ap);
	va_end(ap);
	return -1;
}

yaml_node_t *
ydoc_node(struct ydoc *d, int index)
{
	return yaml_document_get_node(&d->doc, index);
}

yaml_node_t *
ydoc_root(struct ydoc *d)
{
	yaml_node_t *root = yaml_document_get_root_node(&d->doc);

	if (root != NULL && ydoc_is_null(root))
		return NULL;
	return root;
}

yaml_node_t *
ydoc_root_required(struct ydoc *d, const char *empty, char *err, size_t errsz)
{
	yaml_node_t *root = yaml_document_get_root_node(&d->doc);

	if (root == NULL) {
		errf(err, errsz,
		     "%s:1:1: the file holds nothing (empty, or only comments); write \"%s\" if "
		     "nothing is meant to be here",
		     d->name, empty);
		return NULL;
	}
	if (ydoc_is_null(root)) {
		ydoc_error(d, root, err, errsz,
		           "the document is null; write \"%s\" if nothing is meant to be here",
		           empty);
		return NULL;
	}
	return root;
}

int
ydoc_list_given(const struct ydoc *d, const yaml_node_t *key, const yaml_node_t *v, char *err,
                size_t errsz)
{
	const char *name = ydoc_scalar(key) != NULL ? ydoc_scalar(key) : "the key";

	if (!ydoc_is_null(v))
		return 0;
	return ydoc_error(d, key, err, errsz,
	                  "%s has no value; write \"%s: []\" if the list is meant to be empty",
	                  name, name);
}

const char *
ydoc_name(const struct ydoc *d)
{
	return d->name;
}

const char *
ydoc_scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

bool
ydoc_is_null(const yaml_node_t *n)
{
	const char *s = ydoc_scalar(n);

	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/*
 * The document loader resolves aliases into shared nodes; a node reached
 * twice is an alias. Rejecting them keeps "billion laughs" files out and
 * every node at exactly one place in the file. Duplicate keys are rejected
 * because a later key silently overriding an earlier one can change security.
 */
static int
ydoc_check(struct ydoc *d, char *err, size_t errsz)
{
	size_t count = (size_t)(d->doc.nodes.top - d->doc.nodes.start);
	unsigned char *seen = calloc(count + 1, 1);
	int rc = 0;

	if (seen == NULL)
		return errf(err, errsz, "%s: out of memory", d->name);
	for (size_t i = 0; i < count && rc == 0; i++) {
		yaml_node_t *n = d->doc.nodes.start + i;

		if (n->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = n->data.sequence.items.start;
			     it < n->data.sequence.items.top && rc == 0; it++) {
				if (seen[*it]++)
					rc = ydoc_error(d, ydoc_node(d, *it), err, errsz,
					                "anchors and aliases are not supported");
			}
		} else if (n->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
			     p < n->data.mapping.pairs.top && rc == 0; p++) {
				yaml_node_t *k = ydoc_node(d, p->key);

				if (seen[p->key]++ || seen[p->value]++) {
					rc = ydoc_error(d, k, err, errsz,
					                "anchors and aliases are not supported");
					break;
				}
				if (k->type != YAML_SCALAR_NODE) {
					rc = ydoc_error(d, k, err, errsz,
					                "mapping keys must be plain strings");
					break;
				}
				for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p;
				     q++) {
					const char *a = ydoc_scalar(ydoc_node(d, q->key));

					if (a != NULL && strcmp(a, ydoc_scalar(k)) == 0) {
						rc = ydoc_error(d, k, err, errsz,
						                "duplicate key \"%s\"", a);
						break;
					}
				}
			}
		}
	}
	free(seen);
	return rc;
}

struct ydoc *
ydoc_load_buffer(const char *name, const char *buf, size_t len, char *err, size_t errsz)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	struct ydoc *d = NULL;

	d = calloc(1, sizeof(*d));
	if (d == NULL || (d->name = strdup(name)) == NULL) {
		errf(err, errsz, "%s: out of memory", name);
		goto fail;
	}
	if (!yaml_parser_initialize(&parser)) {
		errf(err, errsz, "%s: out of memory", name);
		goto fail;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &d->doc)) {
		errf(err, errsz, "%s:%zu:%zu: %s%s%s", name, parser.problem_mark.line + 1,
		     parser.problem_mark.column + 1,
		     parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
		     parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		goto fail;
	}
	d->loaded = true;
	if (yaml_document_get_root_node(&d->doc) != NULL) {
		if (!yaml_parser_load(&parser, &extra)) {
			errf(err, errsz, "%s:%zu:%zu: %s", name, parser.problem_mark.line + 1,
			     parser.problem_mark.column + 1,
			     parser.problem ? parser.problem : "syntax error");
			yaml_parser_delete(&parser);
			goto fail;
		}
		if (yaml_document_get_root_node(&extra) != NULL) {
			errf(err, errsz, "%s:%zu:%zu: only one YAML document per file", name,
			     extra.start_mark.line + 1, extra.start_mark.column + 1);
			yaml_document_delete(&extra);
			yaml_parser_delete(&parser);
			goto fail;
		}
		yaml_document_delete(&extra);
	}
	yaml_parser_delete(&parser);
	if (ydoc_check(d, err, errsz) != 0)
		goto fail;
	return d;
fail:
	ydoc_free(d);
	return NULL;
}

struct ydoc *
ydoc_load_file(const char *path, char *err, size_t errsz)
{
	char *buf = NULL;
	size_t len = 0;
	struct ydoc *d;

	if (file_read(path, YDOC_MAX_FILE_BYTES, &buf, &len, err, errsz) != 0)
		return NULL;
	d = ydoc_load_buffer(path, buf, len, err, errsz);
	free(buf);
	return d;
}

void
ydoc_free(struct ydoc *d)
{
	if (d == NULL)
		return;
	if (d->loaded)
		yaml_document_delete(&d->doc);
	free(d->name);
	free(d);
}

int
ydoc_get_string(const struct ydoc *d, const yaml_node_t *n, const char **out, char *err,
                size_t errsz)
{
	const char *s = ydoc_scalar(n);

	if (s == NULL || ydoc_is_null(n))
		return ydoc_error(d, n, err, errsz, "expected a string");
	if (strlen(s) != n->data.scalar.length)
		return ydoc_error(d, n, err, errsz, "string contains a NUL character");
	*out = s;
	return 0;
}

int
ydoc_get_bool(const struct ydoc *d, const yaml_node_t *n, bool *out, char *err, size_t errsz)
{
	const char *s = ydoc_scalar(n);

	if (s != NULL && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "on") == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "off") == 0) {
			*out = false;
			return 0;
		}
	}
	return ydoc_error(d, n, err, errsz, "expected true or false");
}

int
ydoc_get_uint(const struct ydoc *d, const yaml_node_t *n, uint64_t min, uint64_t max, uint64_t *out,
              char *err, size_t errsz)
{
	const char *s = ydoc_scalar(n);
	char *end;
	unsigned long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return ydoc_error(d, n, err, errsz, "expected a whole number");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return ydoc_error(d, n, err, errsz, "expected a whole number");
	if (v < min || v > max)
		return ydoc_error(d, n, err, errsz, "must be between %llu and %llu",
		                  (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int
ydoc_parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
	             {"h", 3600000}, {"d", 86400000}, {"", 1000}};
	char *end;
	unsigned long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > UINT64_MAX / units[i].ms / 1000)
				return -1;
			*out = v * units[i].ms;
			return 0;
		}
	}
	return -1;
}

int
ydoc_get_duration_ms(const struct ydoc *d, const yaml_node_t *n, uint64_t *out, char *err,
                     size_t errsz)
{
	if (ydoc_parse_duration_ms(ydoc_scalar(n), out) == 0)
		return 0;
	return ydoc_error(d, n, err, errsz, "expected a duration such as 250ms, 60s, 5m, 4h or 1d");
}

int
ydoc_get_choice(const struct ydoc *d, const yaml_node_t *n, const char *what,
                const char *const *names, int count, int *out, char *err, size_t errsz)
{
	const char *s = ydoc_scalar(n);
	char list[256];
	size_t o = 0;

	for (int i = 0; s != NULL && i < count; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	list[0] = '\0';
	for (int i = 0; i < count && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
		                      i == 0           ? ""
		                      : i + 1 == count ? " or "
		                                       : ", ",
		                      names[i]);
	return ydoc_error(d, n, err, errsz, "%s is %s, not \"%s\"", what, list, s ? s : "a list");
}

int
ydoc_get_strings(const struct ydoc *d, const yaml_node_t *n, const char ***out, size_t *count,
                 char *err, size_t errsz)
{
	const char **list = NULL;
	size_t len = 0;

	if (n->type == YAML_SCALAR_NODE) {
		list = malloc(sizeof(*list));
		if (list == NULL)
			return ydoc_error(d, n, err, errsz, "out of memory");
		if (ydoc_get_string(d, n, &list[0], err, errsz) != 0) {
			free(list);
			return -1;
		}
		len = 1;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		size_t cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
		yaml_node_t *item;

		list = calloc(cap ? cap : 1, sizeof(*list));
		if (list == NULL)
			return ydoc_error(d, n, err, errsz, "out of memory");
		YDOC_SEQ_FOREACH((struct ydoc *)d, n, item)
		{
			if (ydoc_get_string(d, item, &list[len], err, errsz) != 0) {
				free(list);
				return -1;
			}
			len++;
		}
	} else {
		return ydoc_error(d, n, err, errsz, "expected a list of strings");
	}
	*out = list;
	*count = len;
	return 0;
}

/* A duration in ms written the way a config file would ("250ms", "60s", "5m"). */
static void
format_ms(uint64_t ms, char *buf, size_t size)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(buf, size, "%llu%s", (unsigned long long)(ms / units[i].ms),
			         units[i].suffix);
			return;
		}
	}
	snprintf(buf, size, "%llums", (unsigned long long)ms);
}

static int
read_ms(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, uint64_t *out)
{
	char lo[32], hi[32];

	if (ydoc_get_duration_ms(p->doc, v, out, p->err, p->errsz) != 0)
		return -1;
	if (*out >= k->min && *out <= k->max)
		return 0;
	format_ms(k->min, lo, sizeof(lo));
	format_ms(k->max, hi, sizeof(hi));
	return YDOC_ERR(p, v, "%s must be between %s and %s", k->name, lo, hi);
}

static int
read_string(struct ydoc_parse *p, yaml_node_t *v, char **dst)
{
	const char *s;
	char *copy;

	if (ydoc_get_string(p->doc, v, &s, p->err, p->errsz) != 0)
		return -1;
	if (s[0] == '\0')
		return YDOC_ERR(p, v, "must not be empty");
	copy = strdup(s);
	if (copy == NULL)
		return YDOC_ERR(p, v, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

static int
read_choice(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, int *dst)
{
	const char *const *names = k->arg;
	int count = 0;

	while (names[count] != NULL)
		count++;
	return ydoc_get_choice(p->doc, v, k->name, names, count, dst, p->err, p->errsz);
}

int
ydoc_parse_key(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *target)
{
	char *field = (char *)target + k->offset;
	uint64_t n;
	int rc;

	switch (k->kind) {
	case YDOC_CALL:
		if (k->fn == NULL)
			return YDOC_ERR(p, v, "internal error: no reader for key \"%s\"", k->name);
		rc = k->fn(p, v, target);
		break;
	case YDOC_STRING:
		rc = read_string(p, v, (char **)(void *)field);
		break;
	case YDOC_BOOL:
		rc = ydoc_get_bool(p->doc, v, (bool *)(void *)field, p->err, p->errsz);
		break;
	case YDOC_UNSIGNED:
		if ((rc = ydoc_get_uint(p->doc, v, k->min, k->max, &n, p->err, p->errsz)) == 0)
			*(unsigned *)(void *)field = (unsigned)n;
		break;
	case YDOC_SIZE:
		if ((rc = ydoc_get_uint(p->doc, v, k->min, k->max, &n, p->err, p->errsz)) == 0)
			*(size_t *)(void *)field = (size_t)n;
		break;
	case YDOC_MS:
		if ((rc = read_ms(p, k, v, &n)) == 0)
			*(unsigned *)(void *)field = (unsigned)n;
		break;
	case YDOC_MS64:
		if ((rc = read_ms(p, k, v, &n)) == 0)
			*(uint64_t *)(void *)field = n;
		break;
	case YDOC_CHOICE:
		rc = read_choice(p, k, v, (int *)(void *)field);
		break;
	case YDOC_MAP:
		rc = ydoc_parse_map(p, v, k->arg, field);
		break;
	case YDOC_SLOT:
		if (k->slot == NULL)
			return YDOC_ERR(p, v, "internal error: no reader for key \"%s\"", k->name);
		rc = k->slot(p, k, v, field);
		break;
	default:
		return YDOC_ERR(p, v, "internal error: no reader for key \"%s\"", k->name);
	}
	if (rc == 0 && k->check != NULL)
		rc = k->check(p, v, target);
	return rc;
}

int
ydoc_parse_map(struct ydoc_parse *p, yaml_node_t *n, const struct ydoc_key *table, void *target)
{
	yaml_node_t *k, *v;

	if (n->type != YAML_MAPPING_NODE)
		return YDOC_ERR(p, n, "expected a mapping");
	YDOC_MAP_FOREACH(p->doc, n, k, v)
	{
		const char *name = ydoc_scalar(k);
		const struct ydoc_key *h;

		for (h = table; h->name != NULL; h++) {
			if (strcmp(h->name, name) == 0)
				break;
		}
		if (h->name == NULL) {
			char known[512];
			size_t off = 0;

			known[0] = '\0';
			for (h = table; h->name != NULL && off < sizeof(known); h++)
				off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
				                        off ? ", " : "", h->name);
			return YDOC_ERR(p, k, "unknown key \"%s\" (expected one of: %s)", name,
			                known);
		}
		if (ydoc_parse_key(p, h, v, target) != 0)
			return -1;
	}
	return 0;
}
