/* parse.c - policy files into the model: shared readers, apps, locations, strengths */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/loader.h"

#define POLICY_ID_MAX 128

/* The built-in "mfa" strength (DESIGN §3), unless the set defines its own. */
static const char *const builtin_mfa[][3] = {
    {"mfa"},        {"pwd", "otp"}, {"pwd", "sms"}, {"pwd", "tel"},
    {"pwd", "hwk"}, {"pwd", "swk"}, {"hwk"},        {"sc"},
};

void *
loader_alloc(struct loader *l, size_t n)
{
	void *p = arena_alloc(&l->set->mem, n ? n : 1);

	if (p != NULL)
		memset(p, 0, n ? n : 1);
	return p;
}

const char *
loader_strdup(struct loader *l, const char *s)
{
	return arena_strndup(&l->set->mem, s, strlen(s));
}

const char *
loader_where(struct loader *l, const yaml_node_t *n)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s:%zu:%zu", ydoc_name(l->p.doc), n->start_mark.line + 1,
	         n->start_mark.column + 1);
	return loader_strdup(l, buf);
}

int
loader_oom(struct loader *l, const yaml_node_t *n)
{
	return YDOC_ERR(&l->p, n, "out of memory");
}

/* Records "file:line:col: warning: ..." for what at ("file:line:col") points to. */
void
loader_warn(struct loader *l, const char *at, const char *fmt, ...)
{
	char line[768];
	va_list ap;
	const char *copy;
	int n = snprintf(line, sizeof(line), "%s: warning: ", at);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (l->n_warnings == l->cap_warnings) {
		size_t cap = l->cap_warnings ? l->cap_warnings * 2 : 8;
		const char **w = realloc(l->warnings, cap * sizeof(*w));

		if (w == NULL)
			return;
		l->warnings = w;
		l->cap_warnings = cap;
	}
	if ((copy = loader_strdup(l, line)) != NULL)
		l->warnings[l->n_warnings++] = copy;
}

int
loader_ref(struct loader *l, enum ref_kind kind, const char *name, const yaml_node_t *node,
           uint32_t *slot)
{
	if (l->n_refs == l->cap_refs) {
		size_t cap = l->cap_refs ? l->cap_refs * 2 : 64;
		struct ref *r = realloc(l->refs, cap * sizeof(*r));

		if (r == NULL)
			return loader_oom(l, node);
		l->refs = r;
		l->cap_refs = cap;
	}
	l->refs[l->n_refs++] = (struct ref){kind, name, node, l->p.doc, slot};
	return 0;
}

/* Ids name things in headers and logs: keep them to a safe alphabet. */
int
loader_id(struct loader *l, yaml_node_t *v, const char **out)
{
	const char *s;
	size_t n;

	if (ydoc_get_string(l->p.doc, v, &s, l->p.err, l->p.errsz) != 0)
		return -1;
	n = strlen(s);
	if (n == 0 || n > POLICY_ID_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	              "vwxyz0123456789._:-") != n)
		return YDOC_ERR(
		    &l->p, v, "an id is 1 to %d letters, digits, '.', '_', ':' or '-', not \"%s\"",
		    POLICY_ID_MAX, s);
	*out = loader_strdup(l, s);
	return *out != NULL ? 0 : loader_oom(l, v);
}

/* A non-empty list of non-empty strings copied into the arena. */
int
loader_list(struct loader *l, yaml_node_t *v, const char ***out, size_t *n, const char *what)
{
	const char **list = NULL;
	size_t count = 0;

	if (ydoc_get_strings(l->p.doc, v, &list, &count, l->p.err, l->p.errsz) != 0)
		return -1;
	if (count == 0) {
		free(list);
		return YDOC_ERR(&l->p, v, "%s must not be empty", what);
	}
	*out = loader_alloc(l, count * sizeof(char *));
	if (*out == NULL) {
		free(list);
		return loader_oom(l, v);
	}
	for (size_t i = 0; i < count; i++) {
		if (list[i][0] == '\0') {
			free(list);
			return YDOC_ERR(&l->p, v, "%s must not hold empty strings", what);
		}
		if (((*out)[i] = loader_strdup(l, list[i])) == NULL) {
			free(list);
			return loader_oom(l, v);
		}
	}
	free(list);
	*n = count;
	return 0;
}

/*
 * A list (as loader_list) and a zeroed arena array of as many elements of
 * size, for the caller to convert its items into; NULL with the error.
 */
static void *
list_array(struct loader *l, yaml_node_t *v, const char *what, size_t size, const char ***list,
           size_t *n)
{
	void *array;

	if (loader_list(l, v, list, n, what) != 0)
		return NULL;
	if ((array = loader_alloc(l, *n * size)) == NULL)
		loader_oom(l, v);
	return array;
}

void *
loader_seq_array(struct loader *l, yaml_node_t *v, size_t size, const char *msg)
{
	size_t n = v->type == YAML_SEQUENCE_NODE
	               ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)
	               : 0;
	void *array;

	if (n == 0) {
		YDOC_ERR(&l->p, v, "%s", msg);
		return NULL;
	}
	if ((array = loader_alloc(l, n * size)) == NULL)
		loader_oom(l, v);
	return array;
}

/* A list of names from names[] as a bit mask. */
int
loader_mask(struct loader *l, yaml_node_t *v, const char *const *names, int count, const char *what,
            unsigned *out)
{
	const char **list = NULL;
	size_t n = 0;
	unsigned mask = 0;

	if (loader_list(l, v, &list, &n, what) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int k = policy_name_lookup(names, count, list[i]);

		if (k < 0) {
			char known[256];
			size_t off = 0;

			for (int j = 0; j < count && off < sizeof(known); j++)
				off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
				                        j ? ", " : "", names[j]);
			return YDOC_ERR(&l->p, v, "unknown %s \"%s\" (expected %s)", what, list[i],
			                known);
		}
		mask |= 1u << k;
	}
	*out = mask;
	return 0;
}

/* An empty list, where one means "nothing excluded". */
bool
loader_empty_list(const yaml_node_t *v)
{
	return v->type == YAML_SEQUENCE_NODE &&
	       v->data.sequence.items.top == v->data.sequence.items.start;
}

int
loader_sort_ids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Interns a list of names into an idlist (sorted, duplicates dropped). */
bool
loader_ids_overlap(const struct idlist *a, const struct idlist *b)
{
	for (size_t i = 0, j = 0; i < a->n && j < b->n;) {
		if (a->ids[i] == b->ids[j])
			return true;
		if (a->ids[i] < b->ids[j])
			i++;
		else
			j++;
	}
	return false;
}

int
loader_idlist(struct loader *l, yaml_node_t *v, struct strtab *tab, struct idlist *out,
              const char *what)
{
	const char **names;
	size_t n, k = 0;
	uint32_t *ids;

	if (loader_list(l, v, &names, &n, what) != 0)
		return -1;
	ids = loader_alloc(l, n * sizeof(*ids));
	if (ids == NULL)
		return loader_oom(l, v);
	for (size_t i = 0; i < n; i++) {
		if ((ids[i] = strtab_add(tab, names[i])) == POLICY_NO_ID)
			return loader_oom(l, v);
	}
	qsort(ids, n, sizeof(*ids), loader_sort_ids);
	for (size_t i = 0; i < n; i++) {
		if (k == 0 || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	}
	out->ids = ids;
	out->n = k;
	return 0;
}

/* The n-th item of a list node (a lone scalar is its own item), for error positions. */
static const yaml_node_t *
list_item(struct ydoc *doc, const yaml_node_t *v, size_t n)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return v;
	return ydoc_node(doc, v->data.sequence.items.start[n]);
}

/*
 * A list of references to ids of another kind, resolved once every file is
 * read; keywords (two, may be NULL) set flags instead. Errors point at the item.
 */
int
loader_refs(struct loader *l, enum ref_kind kind, yaml_node_t *v, struct idlist *out,
            const char *what, const char *const *keywords, bool *flags[])
{
	const char **names;
	size_t n, k = 0;
	uint32_t *ids;

	if (loader_list(l, v, &names, &n, what) != 0)
		return -1;
	ids = loader_alloc(l, n * sizeof(*ids));
	if (ids == NULL)
		return loader_oom(l, v);
	for (size_t i = 0; i < n; i++) {
		int kw = keywords ? policy_name_lookup(keywords, 2, names[i]) : -1;

		if (kw >= 0) {
			*flags[kw] = true;
			continue;
		}
		if (loader_ref(l, kind, names[i], list_item(l->p.doc, v, i), &ids[k++]) != 0)
			return -1;
	}
	out->ids = ids;
	out->n = k;
	return 0;
}

/* --- setters of key rows ----------------------------------------------------- */

int
loader_set_id(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	(void)k;
	return loader_id(L(p), v, field);
}

int
loader_set_text(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	const char *s;

	(void)k;
	if (ydoc_get_string(p->doc, v, &s, p->err, p->errsz) != 0)
		return -1;
	if ((*(const char **)field = loader_strdup(L(p), s)) == NULL)
		return loader_oom(L(p), v);
	return 0;
}

int
loader_set_list(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	const size_t *count = k->arg;

	return loader_list(L(p), v, field, (size_t *)(void *)((char *)field + *count), k->name);
}

int
loader_set_idlist(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	const size_t *tab = k->arg;

	return loader_idlist(L(p), v, (struct strtab *)(void *)((char *)L(p)->set + *tab), field,
	                     k->name);
}

int
loader_set_mask(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	const struct loader_names *a = k->arg;

	return loader_mask(L(p), v, a->names, a->count, a->what, field);
}

/* A display name: read as a string, kept by no one. */
static int
read_label(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const char *s;

	(void)t;
	return ydoc_get_string(p->doc, v, &s, p->err, p->errsz);
}

/* --- apps ----------------------------------------------------------------- */

/* Host names are matched in lower case. */
static int
check_hosts(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_app *a = t;

	for (size_t i = 0; i < a->n_hosts; i++) {
		char *h = (char *)a->hosts[i];

		for (char *c = h; *c != '\0'; c++) {
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
			else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
			           *c == '.' || *c == '-' || *c == ':' || *c == '[' || *c == ']'))
				return YDOC_ERR(p, v, "\"%s\" is not a host name", a->hosts[i]);
		}
	}
	return 0;
}

static int
check_paths(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_app *a = t;

	for (size_t i = 0; i < a->n_paths; i++) {
		if (a->paths[i][0] != '/' || strpbrk(a->paths[i], "?#") != NULL)
			return YDOC_ERR(p, v, "a path is a prefix starting with '/', not \"%s\"",
			                a->paths[i]);
		if (strchr(a->paths[i], '\\') != NULL)
			return YDOC_ERR(p, v,
			                "a path prefix cannot hold '\\': requests with one are "
			                "refused, not \"%s\"",
			                a->paths[i]);
		/* Requests are matched with ";parameters" cut from their segments. */
		if (strchr(a->paths[i], ';') != NULL)
			return YDOC_ERR(p, v,
			                "a path prefix cannot hold ';': a path parameter ends its "
			                "segment for matching, not \"%s\"",
			                a->paths[i]);
	}
	return 0;
}

/* RFC 9110 §9 methods: a lower-case spelling of one is a typo, as methods are case-sensitive. */
static const char *const rfc9110_methods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                              "CONNECT", "OPTIONS", "TRACE", "PATCH"};

/* A list of method tokens into m: well-known ones as bits, others by name. */
static int
method_list(struct ydoc_parse *p, yaml_node_t *v, struct pol_methods *m)
{
	const char **list = NULL;
	size_t n = 0;

	if (loader_list(L(p), v, &list, &n, "methods") != 0)
		return -1;
	m->other = loader_alloc(L(p), n * sizeof(char *));
	if (m->other == NULL)
		return loader_oom(L(p), v);
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *item = list_item(p->doc, v, i);
		unsigned bit = policy_method_bit(list[i]);

		if (!policy_method_token(list[i]))
			return YDOC_ERR(p, item, "\"%s\" is not an HTTP method token (RFC 9110)",
			                list[i]);
		for (size_t j = 0; j < sizeof(rfc9110_methods) / sizeof(rfc9110_methods[0]); j++) {
			if (strcmp(list[i], rfc9110_methods[j]) != 0 &&
			    strcasecmp(list[i], rfc9110_methods[j]) == 0)
				return YDOC_ERR(
				    p, item,
				    "methods are case-sensitive (RFC 9110): \"%s\" is not "
				    "%s",
				    list[i], rfc9110_methods[j]);
		}
		if (bit != 0)
			m->known |= bit;
		else
			m->other[m->n_other++] = list[i];
	}
	return 0;
}

static int
methods_except(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	((struct pol_methods *)t)->except = true;
	return method_list(p, v, t);
}

static const struct ydoc_key methods_keys[] = {YDOC_KEY_CALL("except", methods_except),
                                               YDOC_KEY_END};

/* methods: [GET, HEAD] (these), or methods: { except: [GET, HEAD, OPTIONS] } (all others). */
static int
app_methods(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_methods *m = &((struct pol_app *)t)->methods;

	m->limited = true;
	m->where = loader_where(L(p), v);
	if (v->type != YAML_MAPPING_NODE)
		return method_list(p, v, m);
	if (ydoc_parse_map(p, v, methods_keys, m) != 0)
		return -1;
	if (!m->except)
		return YDOC_ERR(p, v, "methods is a list, or { except: [list] }");
	return 0;
}

static const struct ydoc_key app_keys[] = {
    LOADER_KEY_ID("id", struct pol_app, id),
    YDOC_KEY_CALL("name", read_label),
    LOADER_KEY_LIST("hosts", struct pol_app, hosts, n_hosts, check_hosts),
    LOADER_KEY_LIST("paths", struct pol_app, paths, n_paths, check_paths),
    YDOC_KEY_CALL("methods", app_methods),
    YDOC_KEY_BOOL("case_insensitive", struct pol_app, case_insensitive),
    YDOC_KEY_END,
};

/*
 * A case-insensitive app's prefixes in the form its requests are matched in:
 * lower case. A segment its upstream would shorten (trailing '.' or ' ') or
 * requests refused on its host (a stream ':', a short name "~1") could never
 * match, and the folding is ASCII only: each is an error.
 */
static int
fold_paths(struct loader *l, yaml_node_t *n, struct pol_app *a)
{
	for (size_t i = 0; i < a->n_paths; i++) {
		char *s = (char *)a->paths[i];

		for (char *c = s; *c != '\0'; c++) {
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
			if ((unsigned char)*c >= 0x80)
				return YDOC_ERR(&l->p, n,
				                "app \"%s\" is case_insensitive: its paths are "
				                "matched with ASCII case folding only, so \"%s\" "
				                "cannot be a prefix",
				                a->id, a->paths[i]);
			if (*c == ':' || (*c == '~' && c[1] >= '0' && c[1] <= '9') ||
			    ((*c == '.' || *c == ' ') && (c[1] == '/' || c[1] == '\0') && c > s &&
			     c[-1] != '/'))
				return YDOC_ERR(
				    &l->p, n,
				    "app \"%s\" is case_insensitive: its upstream ignores "
				    "trailing dots and spaces of segments, and requests naming "
				    "a stream (':') or a short name (\"~1\") are refused, so "
				    "\"%s\" cannot be a prefix",
				    a->id, a->paths[i]);
		}
	}
	return 0;
}

static int
parse_app(struct loader *l, yaml_node_t *n, struct pol_app *a)
{
	a->where = loader_where(l, n);
	if (ydoc_parse_map(&l->p, n, app_keys, a) != 0)
		return -1;
	if (a->id == NULL)
		return YDOC_ERR(&l->p, n, "an app needs an \"id\"");
	if (a->n_hosts == 0)
		return YDOC_ERR(&l->p, n, "app \"%s\" needs \"hosts\"", a->id);
	if (a->n_paths == 0) {
		a->paths = loader_alloc(l, sizeof(char *));
		if (a->paths == NULL)
			return loader_oom(l, n);
		a->paths[0] = "/";
		a->n_paths = 1;
	}
	if (a->case_insensitive && fold_paths(l, n, a) != 0)
		return -1;
	return 0;
}

/* --- locations ------------------------------------------------------------ */

static int
loc_ranges(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_location *loc = t;
	const char **list;
	size_t n;

	loc->ranges = list_array(L(p), v, "ranges", sizeof(*loc->ranges), &list, &n);
	if (loc->ranges == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char why[160];

		if (netrange_parse(list[i], &loc->ranges[i], why, sizeof(why)) != 0)
			return YDOC_ERR(p, v, "%s", why);
	}
	loc->n_ranges = n;
	return 0;
}

static int
loc_countries(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_location *loc = t;
	const char **list;
	size_t n;

	loc->countries = list_array(L(p), v, "countries", sizeof(*loc->countries), &list, &n);
	if (loc->countries == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *c = list[i];

		if (strcmp(c, "unknown") == 0) {
			loc->unknown_country = true;
			continue;
		}
		if (strlen(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z')
			return YDOC_ERR(p, v,
			                "\"%s\" is not an ISO 3166 alpha-2 code (two capitals) or "
			                "\"unknown\"",
			                c);
		loc->countries[loc->n_countries++] = (uint16_t)(c[0] << 8 | c[1]);
	}
	return 0;
}

static const struct ydoc_key location_keys[] = {
    LOADER_KEY_ID("id", struct pol_location, id),
    YDOC_KEY_CALL("name", read_label),
    YDOC_KEY_CALL("ranges", loc_ranges),
    YDOC_KEY_CALL("countries", loc_countries),
    YDOC_KEY_BOOL("trusted", struct pol_location, trusted),
    YDOC_KEY_END,
};

static int
parse_location(struct loader *l, yaml_node_t *n, struct pol_location *loc)
{
	loc->where = loader_where(l, n);
	if (ydoc_parse_map(&l->p, n, location_keys, loc) != 0)
		return -1;
	if (loc->id == NULL)
		return YDOC_ERR(&l->p, n, "a location needs an \"id\"");
	if (loc->n_ranges == 0 && loc->n_countries == 0 && !loc->unknown_country)
		return YDOC_ERR(&l->p, n, "location \"%s\" needs \"ranges\" or \"countries\"",
		                loc->id);
	return 0;
}

/* --- strengths ------------------------------------------------------------ */

/* The amr bit of value, interning it; -1 (with the error) past POLICY_MAX_AMR values. */
static int
amr_bit(struct loader *l, const yaml_node_t *v, const char *value, uint64_t *bits)
{
	uint32_t id = strtab_add(&l->set->amr, value);

	if (id == POLICY_NO_ID)
		return loader_oom(l, v);
	if (id >= POLICY_MAX_AMR)
		return YDOC_ERR(&l->p, v, "more than %d distinct amr values in the policy set",
		                POLICY_MAX_AMR);
	*bits |= 1ull << id;
	return 0;
}

static int
str_combinations(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_strength *s = t;
	yaml_node_t *item;
	uint64_t *combos;
	size_t n = 0;

	combos = loader_seq_array(
	    L(p), v, sizeof(*combos),
	    "combinations is a non-empty list of amr lists, e.g. [[pwd, otp], [hwk]]");
	if (combos == NULL)
		return -1;
	YDOC_SEQ_FOREACH(p->doc, v, item)
	{
		const char **values;
		size_t k;

		if (item->type != YAML_SEQUENCE_NODE)
			return YDOC_ERR(
			    p, item, "each combination is a list of amr values, e.g. [pwd, otp]");
		if (loader_list(L(p), item, &values, &k, "a combination") != 0)
			return -1;
		for (size_t i = 0; i < k; i++) {
			if (amr_bit(L(p), item, values[i], &combos[n]) != 0)
				return -1;
		}
		n++;
	}
	s->combinations = combos;
	s->n_combinations = n;
	return 0;
}

static int
check_acr(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_strength *s = t;

	for (size_t i = 0; i < s->n_acr; i++) {
		/* acr values are quoted into WWW-Authenticate. */
		if (strpbrk(s->acr[i], "\" \\\t") != NULL)
			return YDOC_ERR(p, v,
			                "acr values may not hold spaces, quotes or backslashes");
	}
	return 0;
}

static const struct ydoc_key strength_keys[] = {
    LOADER_KEY_ID("id", struct pol_strength, id),
    YDOC_KEY_CALL("name", read_label),
    YDOC_KEY_CALL("combinations", str_combinations),
    LOADER_KEY_LIST("acr", struct pol_strength, acr, n_acr, check_acr),
    YDOC_KEY_END,
};

static int
parse_strength(struct loader *l, yaml_node_t *n, struct pol_strength *s)
{
	s->where = loader_where(l, n);
	if (ydoc_parse_map(&l->p, n, strength_keys, s) != 0)
		return -1;
	if (s->id == NULL)
		return YDOC_ERR(&l->p, n, "a strength needs an \"id\"");
	if (s->n_combinations == 0)
		return YDOC_ERR(&l->p, n, "strength \"%s\" needs \"combinations\"", s->id);
	return 0;
}

int
loader_builtin_mfa(struct loader *l, struct pol_strength *s)
{
	size_t n = sizeof(builtin_mfa) / sizeof(builtin_mfa[0]);
	uint64_t *combos = loader_alloc(l, n * sizeof(*combos));

	if (combos == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < 3 && builtin_mfa[i][j] != NULL; j++) {
			uint32_t id = strtab_add(&l->set->amr, builtin_mfa[i][j]);

			if (id == POLICY_NO_ID || id >= POLICY_MAX_AMR)
				return -1;
			combos[i] |= 1ull << id;
		}
	}
	s->id = "mfa";
	s->combinations = combos;
	s->n_combinations = n;
	s->where = "built-in";
	return 0;
}

/* Parses the top level of one file: lists of apps, locations, strengths, policies. */
int
loader_parse_file(struct loader *l, struct ydoc *doc, size_t *next)
{
	static const char *const kinds[] = {"apps", "locations", "strengths", "policies"};
	struct policy_set *set = l->set;
	yaml_node_t *root, *k, *v, *item;

	l->p.doc = doc;
	if ((root = ydoc_root_required(doc, "policies: []", l->p.err, l->p.errsz)) == NULL)
		return -1;
	if (root->type != YAML_MAPPING_NODE)
		return YDOC_ERR(&l->p, root,
		                "expected a mapping of apps, locations, strengths and policies");
	YDOC_MAP_FOREACH(doc, root, k, v)
	{
		int kind = policy_name_lookup(kinds, 4, ydoc_scalar(k));

		if (kind < 0)
			return YDOC_ERR(
			    &l->p, k,
			    "unknown key \"%s\" (expected apps, locations, strengths or "
			    "policies)",
			    ydoc_scalar(k));
		if (ydoc_list_given(doc, k, v, l->p.err, l->p.errsz) != 0)
			return -1;
		if (v->type != YAML_SEQUENCE_NODE)
			return YDOC_ERR(&l->p, v, "%s is a list", kinds[kind]);
		YDOC_SEQ_FOREACH(doc, v, item)
		{
			int rc;

			if (kind == 0)
				rc = parse_app(l, item, &set->apps[next[0]++]);
			else if (kind == 1)
				rc = parse_location(l, item, &set->locations[next[1]++]);
			else if (kind == 2)
				rc = parse_strength(l, item, &set->strengths[next[2]++]);
			else
				rc = loader_parse_policy(l, item, &set->policies[next[3]++]);
			if (rc != 0)
				return -1;
		}
	}
	return 0;
}
