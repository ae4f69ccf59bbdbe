/* policy_load.c - policy files (YAML) into an immutable, versioned policy set */
#include "policy/policy_load.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/reload_guard.h"
#include "core/yaml_doc.h"

#define POLICY_MAX_FILE_BYTES (16u << 20)
#define POLICY_MAX_FILES      4096
#define POLICY_ID_MAX         128

const char *const policy_method_names[METHOD_COUNT] = {"GET",   "HEAD",   "POST",   "PUT",
                                                       "PATCH", "DELETE", "OPTIONS"};
const char *const policy_device_attr_names[DEVICE_ATTR_COUNT] = {
    "id", "compliant", "managed", "trust", "platform", "os_version"};

/* The built-in "mfa" strength (DESIGN §3), unless the set defines its own. */
static const char *const builtin_mfa[][3] = {
    {"mfa"},        {"pwd", "otp"}, {"pwd", "sms"}, {"pwd", "tel"},
    {"pwd", "hwk"}, {"pwd", "swk"}, {"hwk"},        {"sc"},
};

int
policy_name_lookup(const char *const *names, int count, const char *name)
{
	for (int i = 0; name != NULL && i < count; i++) {
		if (strcmp(names[i], name) == 0)
			return i;
	}
	return -1;
}

bool
policy_method_token(const char *method)
{
	/* RFC 9110 §5.6.2 tchar */
	static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
	                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	return method != NULL && method[0] != '\0' && strspn(method, tchar) == strlen(method);
}

unsigned
policy_method_bit(const char *method)
{
	int m = policy_name_lookup(policy_method_names, METHOD_COUNT, method);

	return m >= 0 ? METHOD_BIT(m) : 0;
}

bool
policy_methods_match(const struct pol_methods *m, const char *method, unsigned bit)
{
	bool listed = false;

	if (!m->limited)
		return true;
	if (bit != 0)
		listed = (m->known & bit) != 0;
	for (size_t i = 0; bit == 0 && !listed && i < m->n_other; i++)
		listed = strcmp(m->other[i], method) == 0;
	return listed != m->except;
}

/* --- interned names ------------------------------------------------------ */

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

uint32_t
strtab_find(const struct strtab *t, const char *name)
{
	size_t i;

	if (t->slots == NULL)
		return POLICY_NO_ID;
	for (i = str_hash(name) & t->mask; t->slots[i] != 0; i = (i + 1) & t->mask) {
		uint32_t id = t->slots[i] - 1;

		if (strcmp(t->names[id], name) == 0)
			return id;
	}
	return POLICY_NO_ID;
}

static int
strtab_grow(struct strtab *t)
{
	size_t cap = t->slots ? (t->mask + 1) * 2 : 16;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	const char **names = realloc(t->names, cap * sizeof(*names));

	if (slots == NULL || names == NULL) {
		free(slots);
		if (names != NULL)
			t->names = names;
		return -1;
	}
	t->names = names;
	for (uint32_t id = 0; id < t->n; id++) {
		size_t i = str_hash(names[id]) & (cap - 1);

		while (slots[i] != 0)
			i = (i + 1) & (cap - 1);
		slots[i] = id + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

/* The id of name (which must outlive t), adding it when new; POLICY_NO_ID when out of memory. */
static uint32_t
strtab_add(struct strtab *t, const char *name)
{
	uint32_t id = strtab_find(t, name);
	size_t i;

	if (id != POLICY_NO_ID)
		return id;
	if ((t->n + 1) * 2 > (t->slots ? t->mask + 1 : 0) && strtab_grow(t) != 0)
		return POLICY_NO_ID;
	id = (uint32_t)t->n++;
	t->names[id] = name;
	for (i = str_hash(name) & t->mask; t->slots[i] != 0; i = (i + 1) & t->mask)
		;
	t->slots[i] = id + 1;
	return id;
}

static void
strtab_free(struct strtab *t)
{
	free(t->names);
	free(t->slots);
}

/* --- the loader ------------------------------------------------------------ */

/* A reference by id to an app, location or strength, resolved once every file is read. */
enum ref_kind { REF_APP, REF_LOCATION, REF_STRENGTH };

struct ref {
	enum ref_kind kind;
	const char *name;
	const yaml_node_t *node;
	struct ydoc *doc;
	uint32_t *slot; /* receives the index */
};

struct loader {
	struct ydoc_parse p; /* first: handlers get &loader->p */
	struct policy_set *set;
	struct ref *refs;
	size_t n_refs, cap_refs;
	const char **warnings;
	size_t n_warnings, cap_warnings;
	/* the entry being parsed and where it starts */
	const yaml_node_t *entry;
};

#define L(p) ((struct loader *)(p))

static void *
lalloc(struct loader *l, size_t n)
{
	void *p = arena_alloc(&l->set->mem, n ? n : 1);

	if (p != NULL)
		memset(p, 0, n ? n : 1);
	return p;
}

static const char *
lstrdup(struct loader *l, const char *s)
{
	return arena_strndup(&l->set->mem, s, strlen(s));
}

static const char *
where(struct loader *l, const yaml_node_t *n)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s:%zu:%zu", ydoc_name(l->p.doc), n->start_mark.line + 1,
	         n->start_mark.column + 1);
	return lstrdup(l, buf);
}

static int
oom(struct loader *l, const yaml_node_t *n)
{
	return YDOC_ERR(&l->p, n, "out of memory");
}

static void add_warning(struct loader *l, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records "file:line:col: warning: ..." for what at ("file:line:col") points to. */
static void
add_warning(struct loader *l, const char *at, const char *fmt, ...)
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
	if ((copy = lstrdup(l, line)) != NULL)
		l->warnings[l->n_warnings++] = copy;
}

static int
add_ref(struct loader *l, enum ref_kind kind, const char *name, const yaml_node_t *node,
        uint32_t *slot)
{
	if (l->n_refs == l->cap_refs) {
		size_t cap = l->cap_refs ? l->cap_refs * 2 : 64;
		struct ref *r = realloc(l->refs, cap * sizeof(*r));

		if (r == NULL)
			return oom(l, node);
		l->refs = r;
		l->cap_refs = cap;
	}
	l->refs[l->n_refs++] = (struct ref){kind, name, node, l->p.doc, slot};
	return 0;
}

/* Ids name things in headers and logs: keep them to a safe alphabet. */
static int
get_id(struct loader *l, yaml_node_t *v, const char **out)
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
	*out = lstrdup(l, s);
	return *out != NULL ? 0 : oom(l, v);
}

/* A non-empty list of non-empty strings copied into the arena. */
static int
get_list(struct loader *l, yaml_node_t *v, const char ***out, size_t *n, const char *what)
{
	const char **list = NULL;
	size_t count = 0;

	if (ydoc_get_strings(l->p.doc, v, &list, &count, l->p.err, l->p.errsz) != 0)
		return -1;
	if (count == 0) {
		free(list);
		return YDOC_ERR(&l->p, v, "%s must not be empty", what);
	}
	*out = lalloc(l, count * sizeof(char *));
	if (*out == NULL) {
		free(list);
		return oom(l, v);
	}
	for (size_t i = 0; i < count; i++) {
		if (list[i][0] == '\0') {
			free(list);
			return YDOC_ERR(&l->p, v, "%s must not hold empty strings", what);
		}
		if (((*out)[i] = lstrdup(l, list[i])) == NULL) {
			free(list);
			return oom(l, v);
		}
	}
	free(list);
	*n = count;
	return 0;
}

/* A list of names from names[] as a bit mask. */
static int
get_mask(struct loader *l, yaml_node_t *v, const char *const *names, int count, const char *what,
         unsigned *out)
{
	const char **list = NULL;
	size_t n = 0;
	unsigned mask = 0;

	if (get_list(l, v, &list, &n, what) != 0)
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
static bool
empty_list(const yaml_node_t *v)
{
	return v->type == YAML_SEQUENCE_NODE &&
	       v->data.sequence.items.top == v->data.sequence.items.start;
}

static int
sort_ids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Interns a list of names into an idlist (sorted, duplicates dropped). */
static int
get_idlist(struct loader *l, yaml_node_t *v, struct strtab *tab, struct idlist *out,
           const char *what)
{
	const char **names;
	size_t n, k = 0;
	uint32_t *ids;

	if (get_list(l, v, &names, &n, what) != 0)
		return -1;
	ids = lalloc(l, n * sizeof(*ids));
	if (ids == NULL)
		return oom(l, v);
	for (size_t i = 0; i < n; i++) {
		if ((ids[i] = strtab_add(tab, names[i])) == POLICY_NO_ID)
			return oom(l, v);
	}
	qsort(ids, n, sizeof(*ids), sort_ids);
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
static int
get_refs(struct loader *l, enum ref_kind kind, yaml_node_t *v, struct idlist *out, const char *what,
         const char *const *keywords, bool *flags[])
{
	const char **names;
	size_t n, k = 0;
	uint32_t *ids;

	if (get_list(l, v, &names, &n, what) != 0)
		return -1;
	ids = lalloc(l, n * sizeof(*ids));
	if (ids == NULL)
		return oom(l, v);
	for (size_t i = 0; i < n; i++) {
		int kw = keywords ? policy_name_lookup(keywords, 2, names[i]) : -1;

		if (kw >= 0) {
			*flags[kw] = true;
			continue;
		}
		if (add_ref(l, kind, names[i], list_item(l->p.doc, v, i), &ids[k++]) != 0)
			return -1;
	}
	out->ids = ids;
	out->n = k;
	return 0;
}

/* --- apps ----------------------------------------------------------------- */

static int
app_id(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_id(L(p), v, &((struct pol_app *)t)->id);
}

static int
app_name(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const char *s;

	(void)t;
	return ydoc_get_string(p->doc, v, &s, p->err, p->errsz);
}

static int
app_hosts(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_app *a = t;

	if (get_list(L(p), v, &a->hosts, &a->n_hosts, "hosts") != 0)
		return -1;
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
app_paths(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_app *a = t;

	if (get_list(L(p), v, &a->paths, &a->n_paths, "paths") != 0)
		return -1;
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

	if (get_list(L(p), v, &list, &n, "methods") != 0)
		return -1;
	m->other = lalloc(L(p), n * sizeof(char *));
	if (m->other == NULL)
		return oom(L(p), v);
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
	m->where = where(L(p), v);
	if (v->type != YAML_MAPPING_NODE)
		return method_list(p, v, m);
	if (ydoc_parse_map(p, v, methods_keys, m) != 0)
		return -1;
	if (!m->except)
		return YDOC_ERR(p, v, "methods is a list, or { except: [list] }");
	return 0;
}

static int
app_case_insensitive(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return ydoc_get_bool(p->doc, v, &((struct pol_app *)t)->case_insensitive, p->err, p->errsz);
}

static const struct ydoc_key app_keys[] = {
    YDOC_KEY_CALL("id", app_id),
    YDOC_KEY_CALL("name", app_name),
    YDOC_KEY_CALL("hosts", app_hosts),
    YDOC_KEY_CALL("paths", app_paths),
    YDOC_KEY_CALL("methods", app_methods),
    YDOC_KEY_CALL("case_insensitive", app_case_insensitive),
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
	a->where = where(l, n);
	if (ydoc_parse_map(&l->p, n, app_keys, a) != 0)
		return -1;
	if (a->id == NULL)
		return YDOC_ERR(&l->p, n, "an app needs an \"id\"");
	if (a->n_hosts == 0)
		return YDOC_ERR(&l->p, n, "app \"%s\" needs \"hosts\"", a->id);
	if (a->n_paths == 0) {
		a->paths = lalloc(l, sizeof(char *));
		if (a->paths == NULL)
			return oom(l, n);
		a->paths[0] = "/";
		a->n_paths = 1;
	}
	if (a->case_insensitive && fold_paths(l, n, a) != 0)
		return -1;
	return 0;
}

/* --- locations ------------------------------------------------------------ */

static int
loc_id(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_id(L(p), v, &((struct pol_location *)t)->id);
}

static int
loc_ranges(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_location *loc = t;
	const char **list;
	size_t n;

	if (get_list(L(p), v, &list, &n, "ranges") != 0)
		return -1;
	loc->ranges = lalloc(L(p), n * sizeof(*loc->ranges));
	if (loc->ranges == NULL)
		return oom(L(p), v);
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

	if (get_list(L(p), v, &list, &n, "countries") != 0)
		return -1;
	loc->countries = lalloc(L(p), n * sizeof(*loc->countries));
	if (loc->countries == NULL)
		return oom(L(p), v);
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

static int
loc_trusted(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return ydoc_get_bool(p->doc, v, &((struct pol_location *)t)->trusted, p->err, p->errsz);
}

static const struct ydoc_key location_keys[] = {
    YDOC_KEY_CALL("id", loc_id),           YDOC_KEY_CALL("name", app_name),
    YDOC_KEY_CALL("ranges", loc_ranges),   YDOC_KEY_CALL("countries", loc_countries),
    YDOC_KEY_CALL("trusted", loc_trusted), YDOC_KEY_END,
};

static int
parse_location(struct loader *l, yaml_node_t *n, struct pol_location *loc)
{
	loc->where = where(l, n);
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

static int
str_id(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_id(L(p), v, &((struct pol_strength *)t)->id);
}

/* The amr bit of value, interning it; -1 (with the error) past POLICY_MAX_AMR values. */
static int
amr_bit(struct loader *l, const yaml_node_t *v, const char *value, uint64_t *bits)
{
	uint32_t id = strtab_add(&l->set->amr, value);

	if (id == POLICY_NO_ID)
		return oom(l, v);
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

	if (v->type != YAML_SEQUENCE_NODE ||
	    v->data.sequence.items.top == v->data.sequence.items.start)
		return YDOC_ERR(
		    p, v,
		    "combinations is a non-empty list of amr lists, e.g. [[pwd, otp], [hwk]]");
	combos = lalloc(L(p), (size_t)(v->data.sequence.items.top - v->data.sequence.items.start) *
	                          sizeof(*combos));
	if (combos == NULL)
		return oom(L(p), v);
	YDOC_SEQ_FOREACH(p->doc, v, item)
	{
		const char **values;
		size_t k;

		if (item->type != YAML_SEQUENCE_NODE)
			return YDOC_ERR(
			    p, item, "each combination is a list of amr values, e.g. [pwd, otp]");
		if (get_list(L(p), item, &values, &k, "a combination") != 0)
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
str_acr(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_strength *s = t;

	if (get_list(L(p), v, &s->acr, &s->n_acr, "acr") != 0)
		return -1;
	for (size_t i = 0; i < s->n_acr; i++) {
		/* acr values are quoted into WWW-Authenticate. */
		if (strpbrk(s->acr[i], "\" \\\t") != NULL)
			return YDOC_ERR(p, v,
			                "acr values may not hold spaces, quotes or backslashes");
	}
	return 0;
}

static const struct ydoc_key strength_keys[] = {
    YDOC_KEY_CALL("id", str_id),
    YDOC_KEY_CALL("name", app_name),
    YDOC_KEY_CALL("combinations", str_combinations),
    YDOC_KEY_CALL("acr", str_acr),
    YDOC_KEY_END,
};

static int
parse_strength(struct loader *l, yaml_node_t *n, struct pol_strength *s)
{
	s->where = where(l, n);
	if (ydoc_parse_map(&l->p, n, strength_keys, s) != 0)
		return -1;
	if (s->id == NULL)
		return YDOC_ERR(&l->p, n, "a strength needs an \"id\"");
	if (s->n_combinations == 0)
		return YDOC_ERR(&l->p, n, "strength \"%s\" needs \"combinations\"", s->id);
	return 0;
}

static int
add_builtin_mfa(struct loader *l, struct pol_strength *s)
{
	size_t n = sizeof(builtin_mfa) / sizeof(builtin_mfa[0]);
	uint64_t *combos = lalloc(l, n * sizeof(*combos));

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

/* --- policies ------------------------------------------------------------- */

static int
users_users(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_idlist(L(p), v, &L(p)->set->users, &((struct pol_users *)t)->users, "users");
}

static int
users_groups(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_idlist(L(p), v, &L(p)->set->groups, &((struct pol_users *)t)->groups, "groups");
}

static int
users_roles(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_idlist(L(p), v, &L(p)->set->roles, &((struct pol_users *)t)->roles, "roles");
}

static const struct ydoc_key userset_keys[] = {
    YDOC_KEY_CALL("users", users_users),
    YDOC_KEY_CALL("groups", users_groups),
    YDOC_KEY_CALL("roles", users_roles),
    YDOC_KEY_END,
};

static int
parse_userset(struct loader *l, yaml_node_t *v, struct pol_users *u, bool include)
{
	const char *s = ydoc_scalar(v);

	if (s != NULL && strcmp(s, "all") == 0) {
		u->all = true;
		return 0;
	}
	if (v->type != YAML_MAPPING_NODE)
		return YDOC_ERR(&l->p, v,
		                "expected all or { users: [...], groups: [...], roles: [...] }");
	if (ydoc_parse_map(&l->p, v, userset_keys, u) != 0)
		return -1;
	if (include && u->users.n + u->groups.n + u->roles.n == 0)
		return YDOC_ERR(&l->p, v,
		                "include names nobody: list users, groups or roles, or say all");
	return 0;
}

static int
pusers_include(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return parse_userset(L(p), v, &((struct pol_policy *)t)->users_include, true);
}

static int
pusers_exclude(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return parse_userset(L(p), v, &((struct pol_policy *)t)->users_exclude, false);
}

static const struct ydoc_key pusers_keys[] = {
    YDOC_KEY_CALL("include", pusers_include),
    YDOC_KEY_CALL("exclude", pusers_exclude),
    YDOC_KEY_END,
};

static int
papps_include(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_apps *a = &((struct pol_policy *)t)->apps_include;
	const char *s = ydoc_scalar(v);

	if (s != NULL && strcmp(s, "all") == 0) {
		a->all = true;
		return 0;
	}
	return get_refs(L(p), REF_APP, v, &a->apps, "apps include", NULL, NULL);
}

static int
papps_exclude(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	if (empty_list(v))
		return 0;
	return get_refs(L(p), REF_APP, v, &((struct pol_policy *)t)->apps_exclude.apps,
	                "apps exclude", NULL, NULL);
}

static const struct ydoc_key papps_keys[] = {
    YDOC_KEY_CALL("include", papps_include),
    YDOC_KEY_CALL("exclude", papps_exclude),
    YDOC_KEY_END,
};

static int
parse_locset(struct loader *l, yaml_node_t *v, struct pol_locations *s, const char *what)
{
	static const char *const keywords[2] = {"any", "trusted"};
	bool *flags[2] = {&s->any, &s->trusted};

	return get_refs(l, REF_LOCATION, v, &s->locations, what, keywords, flags);
}

static int
cloc_include(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return parse_locset(L(p), v, &((struct pol_conditions *)t)->loc_include,
	                    "locations include");
}

static int
cloc_exclude(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	if (empty_list(v))
		return 0;
	return parse_locset(L(p), v, &((struct pol_conditions *)t)->loc_exclude,
	                    "locations exclude");
}

static const struct ydoc_key cloc_keys[] = {
    YDOC_KEY_CALL("include", cloc_include),
    YDOC_KEY_CALL("exclude", cloc_exclude),
    YDOC_KEY_END,
};

/* Platform lists accept "any" for every platform. */
static int
platform_mask(struct loader *l, yaml_node_t *v, unsigned *out, const char *what)
{
	const char *s = ydoc_scalar(v);

	if (s != NULL && strcmp(s, "any") == 0) {
		*out = PLATFORM_ALL_MASK;
		return 0;
	}
	if (v->type == YAML_SEQUENCE_NODE) {
		yaml_node_t *item;

		YDOC_SEQ_FOREACH(l->p.doc, v, item)
		{
			const char *name = ydoc_scalar(item);

			if (name != NULL && strcmp(name, "any") == 0) {
				*out = PLATFORM_ALL_MASK;
				return 0;
			}
		}
	}
	return get_mask(l, v, platform_names, PLATFORM_COUNT, what, out);
}

static int
cplat_include(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return platform_mask(L(p), v, &((struct pol_conditions *)t)->platform_include, "platform");
}

static int
cplat_exclude(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	if (empty_list(v))
		return 0;
	return platform_mask(L(p), v, &((struct pol_conditions *)t)->platform_exclude, "platform");
}

static const struct ydoc_key cplat_keys[] = {
    YDOC_KEY_CALL("include", cplat_include),
    YDOC_KEY_CALL("exclude", cplat_exclude),
    YDOC_KEY_END,
};

static int
cond_user_risk(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_mask(L(p), v, risk_level_names, RISK_COUNT, "risk level",
	                &((struct pol_conditions *)t)->user_risk);
}

static int
cond_sign_in_risk(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_mask(L(p), v, risk_level_names, RISK_COUNT, "risk level",
	                &((struct pol_conditions *)t)->sign_in_risk);
}

static int
cond_locations(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_conditions *c = t;

	if (ydoc_parse_map(p, v, cloc_keys, c) != 0)
		return -1;
	if (c->loc_include.locations.n == 0 && !c->loc_include.any && !c->loc_include.trusted)
		return YDOC_ERR(p, v, "locations needs a non-empty include (ids, any or trusted)");
	c->has_locations = true;
	return 0;
}

static int
cond_platforms(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_conditions *c = t;

	if (ydoc_parse_map(p, v, cplat_keys, c) != 0)
		return -1;
	if (c->platform_include == 0)
		return YDOC_ERR(p, v, "device_platforms needs a non-empty include");
	c->has_platforms = true;
	return 0;
}

static int
cond_client_apps(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	static const char *const names[] = {"browser", "api"};

	return get_mask(L(p), v, names, 2, "client app",
	                &((struct pol_conditions *)t)->client_apps);
}

static int
filter_mode(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	static const char *const names[] = {"include", "exclude"};
	int k;

	if (ydoc_get_choice(p->doc, v, "mode", names, 2, &k, p->err, p->errsz) != 0)
		return -1;
	((struct pol_device_filter *)t)->include = k == 0;
	return 0;
}

static int
filter_match(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	static const char *const names[] = {"all", "any"};
	int k;

	if (ydoc_get_choice(p->doc, v, "match", names, 2, &k, p->err, p->errsz) != 0)
		return -1;
	((struct pol_device_filter *)t)->match_any = k == 1;
	return 0;
}

static int
rule_attribute(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_filter_rule *r = t;
	int a = policy_name_lookup(policy_device_attr_names, DEVICE_ATTR_COUNT, ydoc_scalar(v));

	if (a < 0)
		return YDOC_ERR(p, v,
		                "unknown device attribute (expected id, compliant, managed, trust, "
		                "platform or os_version)");
	r->attr = (enum device_attr)a;
	return 0;
}

static int
rule_value(struct ydoc_parse *p, yaml_node_t *v, struct pol_filter_rule *r, enum filter_op op)
{
	if (r->n_values != 0)
		return YDOC_ERR(p, v, "a rule has exactly one of equals, in and prefix");
	r->op = op;
	if (op == FILTER_IN)
		return get_list(L(p), v, &r->values, &r->n_values, "in");
	if (ydoc_scalar(v) == NULL || v->data.scalar.length == 0)
		return YDOC_ERR(p, v, "expected a non-empty value");
	r->values = lalloc(L(p), sizeof(char *));
	if (r->values == NULL || (r->values[0] = lstrdup(L(p), ydoc_scalar(v))) == NULL)
		return oom(L(p), v);
	r->n_values = 1;
	return 0;
}

static int
rule_equals(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return rule_value(p, v, t, FILTER_EQUALS);
}

static int
rule_in(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return rule_value(p, v, t, FILTER_IN);
}

static int
rule_prefix(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return rule_value(p, v, t, FILTER_PREFIX);
}

static const struct ydoc_key rule_keys[] = {
    YDOC_KEY_CALL("attribute", rule_attribute),
    YDOC_KEY_CALL("equals", rule_equals),
    YDOC_KEY_CALL("in", rule_in),
    YDOC_KEY_CALL("prefix", rule_prefix),
    YDOC_KEY_END,
};

static int
filter_rules(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_device_filter *f = t;
	yaml_node_t *item;
	size_t n;

	if (v->type != YAML_SEQUENCE_NODE ||
	    (n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)) == 0)
		return YDOC_ERR(p, v, "rules is a non-empty list");
	f->rules = lalloc(L(p), n * sizeof(*f->rules));
	if (f->rules == NULL)
		return oom(L(p), v);
	YDOC_SEQ_FOREACH(p->doc, v, item)
	{
		struct pol_filter_rule *r = &f->rules[f->n_rules++];

		r->attr = DEVICE_ATTR_COUNT;
		if (ydoc_parse_map(p, item, rule_keys, r) != 0)
			return -1;
		if (r->attr == DEVICE_ATTR_COUNT || r->n_values == 0)
			return YDOC_ERR(p, item,
			                "a rule needs attribute and one of equals, in, prefix");
	}
	return 0;
}

static const struct ydoc_key filter_keys[] = {
    YDOC_KEY_CALL("mode", filter_mode),
    YDOC_KEY_CALL("match", filter_match),
    YDOC_KEY_CALL("rules", filter_rules),
    YDOC_KEY_END,
};

static int
cond_device_filter(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_device_filter *f = &((struct pol_conditions *)t)->device_filter;
	bool mode_given = false;
	yaml_node_t *k, *val;

	if (v->type == YAML_MAPPING_NODE) {
		YDOC_MAP_FOREACH(p->doc, v, k, val)
		{
			(void)val;
			if (strcmp(ydoc_scalar(k), "mode") == 0)
				mode_given = true;
		}
	}
	if (ydoc_parse_map(p, v, filter_keys, f) != 0)
		return -1;
	if (!mode_given || f->n_rules == 0)
		return YDOC_ERR(p, v, "device_filter needs mode and rules");
	f->present = true;
	return 0;
}

static const struct ydoc_key cond_keys[] = {
    YDOC_KEY_CALL("user_risk", cond_user_risk),
    YDOC_KEY_CALL("sign_in_risk", cond_sign_in_risk),
    YDOC_KEY_CALL("locations", cond_locations),
    YDOC_KEY_CALL("device_platforms", cond_platforms),
    YDOC_KEY_CALL("client_apps", cond_client_apps),
    YDOC_KEY_CALL("device_filter", cond_device_filter),
    YDOC_KEY_END,
};

static int
parse_control(struct loader *l, yaml_node_t *item, struct pol_control *c)
{
	static const struct {
		const char *name;
		enum control_type type;
	} simple[] = {
	    {"compliant_device", CONTROL_COMPLIANT_DEVICE},
	    {"hybrid_joined_device", CONTROL_HYBRID_JOINED_DEVICE},
	    {"password_change", CONTROL_PASSWORD_CHANGE},
	};
	const char *s = ydoc_scalar(item);
	yaml_node_t *k, *v;

	if (s != NULL) {
		if (strcmp(s, "mfa") == 0) {
			c->type = CONTROL_STRENGTH;
			return add_ref(l, REF_STRENGTH, "mfa", item, &c->strength);
		}
		if (strcmp(s, "block") == 0)
			return YDOC_ERR(
			    &l->p, item,
			    "block is not combined with other controls: write grant: block");
		for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
			if (strcmp(s, simple[i].name) == 0) {
				c->type = simple[i].type;
				return 0;
			}
		}
		return YDOC_ERR(&l->p, item,
		                "unknown control \"%s\" (expected mfa, compliant_device, "
		                "hybrid_joined_device, password_change, {strength: id} or "
		                "{approved_clients: [...]})",
		                s);
	}
	if (item->type != YAML_MAPPING_NODE ||
	    item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1)
		return YDOC_ERR(&l->p, item, "a control is a name or a one-key mapping");
	YDOC_MAP_FOREACH(l->p.doc, item, k, v)
	{
		const char *key = ydoc_scalar(k);

		if (strcmp(key, "strength") == 0) {
			const char *id;

			c->type = CONTROL_STRENGTH;
			if (get_id(l, v, &id) != 0)
				return -1;
			return add_ref(l, REF_STRENGTH, id, v, &c->strength);
		}
		if (strcmp(key, "approved_clients") == 0) {
			c->type = CONTROL_APPROVED_CLIENTS;
			return get_idlist(l, v, &l->set->clients, &c->clients, "approved_clients");
		}
		return YDOC_ERR(&l->p, k,
		                "unknown control \"%s\" (expected strength or approved_clients)",
		                key);
	}
	return 0;
}

static int
grant_require(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	static const char *const names[] = {"all", "one"};
	int k;

	if (ydoc_get_choice(p->doc, v, "require", names, 2, &k, p->err, p->errsz) != 0)
		return -1;
	((struct pol_policy *)t)->require_one = k == 1;
	return 0;
}

static int
grant_controls(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_policy *pol = t;
	yaml_node_t *item;
	size_t n;

	if (v->type != YAML_SEQUENCE_NODE ||
	    (n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)) == 0)
		return YDOC_ERR(p, v, "controls is a non-empty list");
	pol->controls = lalloc(L(p), n * sizeof(*pol->controls));
	if (pol->controls == NULL)
		return oom(L(p), v);
	YDOC_SEQ_FOREACH(p->doc, v, item)
	{
		if (parse_control(L(p), item, &pol->controls[pol->n_controls++]) != 0)
			return -1;
	}
	return 0;
}

static const struct ydoc_key grant_keys[] = {
    YDOC_KEY_CALL("require", grant_require),
    YDOC_KEY_CALL("controls", grant_controls),
    YDOC_KEY_END,
};

static int
pol_id(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_id(L(p), v, &((struct pol_policy *)t)->id);
}

static int
pol_name(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const char *s;

	if (ydoc_get_string(p->doc, v, &s, p->err, p->errsz) != 0)
		return -1;
	((struct pol_policy *)t)->name = lstrdup(L(p), s);
	return 0;
}

static int
pol_state(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	static const char *const names[] = {"enabled", "report-only", "disabled"};
	int k;

	if (ydoc_get_choice(p->doc, v, "state", names, 3, &k, p->err, p->errsz) != 0)
		return -1;
	((struct pol_policy *)t)->state = (enum policy_state)k;
	return 0;
}

static int
pol_users(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_policy *pol = t;

	if (ydoc_parse_map(p, v, pusers_keys, pol) != 0)
		return -1;
	if (!pol->users_include.all &&
	    pol->users_include.users.n + pol->users_include.groups.n + pol->users_include.roles.n ==
	        0)
		return YDOC_ERR(p, v, "users needs include");
	return 0;
}

static int
pol_apps(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_policy *pol = t;

	if (ydoc_parse_map(p, v, papps_keys, pol) != 0)
		return -1;
	if (!pol->apps_include.all && pol->apps_include.apps.n == 0)
		return YDOC_ERR(p, v, "apps needs include (app ids or all)");
	return 0;
}

static int
pol_conditions(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return ydoc_parse_map(p, v, cond_keys, &((struct pol_policy *)t)->cond);
}

static int
pol_grant(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_policy *pol = t;
	const char *s = ydoc_scalar(v);

	if (s != NULL) {
		if (strcmp(s, "block") == 0) {
			pol->block = true;
			return 0;
		}
		return YDOC_ERR(p, v, "grant is block or { require: all|one, controls: [...] }");
	}
	if (ydoc_parse_map(p, v, grant_keys, pol) != 0)
		return -1;
	if (pol->n_controls == 0)
		return YDOC_ERR(p, v, "grant needs controls");
	return 0;
}

static int
sess_frequency(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_policy *pol = t;
	const char *s = ydoc_scalar(v);
	uint64_t ms;

	if (s != NULL && strcmp(s, "every_time") == 0) {
		pol->sign_in_frequency_s = 0;
		return 0;
	}
	if (ydoc_get_duration_ms(p->doc, v, &ms, p->err, p->errsz) != 0)
		return -1;
	if (ms < 60000 || ms > 365ull * 86400000)
		return YDOC_ERR(p, v, "sign_in_frequency is between 1m and 365d, or every_time");
	pol->sign_in_frequency_s = (int64_t)(ms / 1000);
	return 0;
}

static const struct ydoc_key session_keys[] = {
    YDOC_KEY_CALL("sign_in_frequency", sess_frequency),
    YDOC_KEY_END,
};

static int
pol_session(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return ydoc_parse_map(p, v, session_keys, t);
}

static const struct ydoc_key policy_keys[] = {
    YDOC_KEY_CALL("id", pol_id),
    YDOC_KEY_CALL("name", pol_name),
    YDOC_KEY_CALL("state", pol_state),
    YDOC_KEY_CALL("users", pol_users),
    YDOC_KEY_CALL("apps", pol_apps),
    YDOC_KEY_CALL("conditions", pol_conditions),
    YDOC_KEY_CALL("grant", pol_grant),
    YDOC_KEY_CALL("session", pol_session),
    YDOC_KEY_END,
};

static bool
ids_overlap(const struct idlist *a, const struct idlist *b)
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

static int
parse_policy(struct loader *l, yaml_node_t *n, struct pol_policy *pol)
{
	bool has_users = false, has_apps = false, has_grant = false;
	yaml_node_t *k, *v;

	pol->where = where(l, n);
	pol->sign_in_frequency_s = POLICY_NO_FREQUENCY;
	if (ydoc_parse_map(&l->p, n, policy_keys, pol) != 0)
		return -1;
	YDOC_MAP_FOREACH(l->p.doc, n, k, v)
	{
		const char *key = ydoc_scalar(k);

		(void)v;
		has_users |= strcmp(key, "users") == 0;
		has_apps |= strcmp(key, "apps") == 0;
		has_grant |= strcmp(key, "grant") == 0;
	}
	if (pol->id == NULL)
		return YDOC_ERR(&l->p, n, "a policy needs an \"id\"");
	if (!has_users || !has_apps)
		return YDOC_ERR(&l->p, n, "policy \"%s\" needs users and apps", pol->id);
	if (!has_grant && pol->sign_in_frequency_s == POLICY_NO_FREQUENCY)
		return YDOC_ERR(&l->p, n, "policy \"%s\" needs a grant or a session control",
		                pol->id);
	if (pol->name == NULL)
		pol->name = pol->id;
	if (pol->users_exclude.all)
		add_warning(l, pol->where, "policy \"%s\" excludes all users: it never applies",
		            pol->id);
	if (ids_overlap(&pol->users_include.users, &pol->users_exclude.users) ||
	    ids_overlap(&pol->users_include.groups, &pol->users_exclude.groups) ||
	    ids_overlap(&pol->users_include.roles, &pol->users_exclude.roles))
		add_warning(l, pol->where,
		            "policy \"%s\" includes and excludes the same user, group or role: "
		            "exclude wins",
		            pol->id);
	return 0;
}

/* --- files and resolution -------------------------------------------------- */

struct input {
	const char *name;
	char *buf;
	size_t len;
	struct ydoc *doc;
};

static size_t
seq_len(yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SEQUENCE_NODE
	           ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
	           : 0;
}

/* Parses the top level of one file: lists of apps, locations, strengths, policies. */
static int
parse_file(struct loader *l, struct ydoc *doc, size_t *next)
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
				rc = parse_policy(l, item, &set->policies[next[3]++]);
			if (rc != 0)
				return -1;
		}
	}
	return 0;
}

/* Indexes ids of one kind, refusing duplicates; where[] says where each was defined. */
static int
index_ids(struct loader *l, struct strtab *tab, const char *kind, size_t n,
          const char *(*id)(size_t, void *), const char *(*at)(size_t, void *), void *arr)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = id(i, arr);
		uint32_t found = strtab_find(tab, name);

		if (found != POLICY_NO_ID) {
			snprintf(l->p.err, l->p.errsz,
			         "%s: duplicate %s id \"%s\" (first defined at %s)", at(i, arr),
			         kind, name, at(found, arr));
			return -1;
		}
		if (strtab_add(tab, name) != (uint32_t)i) {
			snprintf(l->p.err, l->p.errsz, "out of memory");
			return -1;
		}
	}
	return 0;
}

#define ID_ACCESSORS(type)                                                                         \
	static const char *type##_id_of(size_t i, void *a)                                         \
	{                                                                                          \
		return ((struct pol_##type *)a)[i].id;                                             \
	}                                                                                          \
	static const char *type##_where_of(size_t i, void *a)                                      \
	{                                                                                          \
		return ((struct pol_##type *)a)[i].where;                                          \
	}
ID_ACCESSORS(app)
ID_ACCESSORS(location)
ID_ACCESSORS(strength)
ID_ACCESSORS(policy)

static void
sort_idlist(struct idlist *list)
{
	uint32_t *ids = (uint32_t *)list->ids;
	size_t k = 0;

	if (list->n == 0)
		return;
	qsort(ids, list->n, sizeof(*ids), sort_ids);
	for (size_t i = 0; i < list->n; i++) {
		if (k == 0 || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	}
	list->n = k;
}

/* Checks ids are unique per kind and points every reference at what it names. */
static int
resolve(struct loader *l)
{
	static const char *const kind_names[] = {"app", "location", "strength"};
	struct policy_set *set = l->set;
	struct strtab tabs[3] = {{0}}, policies = {0};
	int rc = -1;

	if (index_ids(l, &tabs[REF_APP], "app", set->n_apps, app_id_of, app_where_of, set->apps) !=
	        0 ||
	    index_ids(l, &tabs[REF_LOCATION], "location", set->n_locations, location_id_of,
	              location_where_of, set->locations) != 0 ||
	    index_ids(l, &tabs[REF_STRENGTH], "strength", set->n_strengths, strength_id_of,
	              strength_where_of, set->strengths) != 0 ||
	    index_ids(l, &policies, "policy", set->n_policies, policy_id_of, policy_where_of,
	              set->policies) != 0)
		goto out;
	for (size_t i = 0; i < l->n_refs; i++) {
		struct ref *r = &l->refs[i];
		uint32_t id = strtab_find(&tabs[r->kind], r->name);

		if (id == POLICY_NO_ID) {
			ydoc_error(r->doc, r->node, l->p.err, l->p.errsz, "no %s has id \"%s\"",
			           kind_names[r->kind], r->name);
			goto out;
		}
		*r->slot = id;
	}
	for (size_t i = 0; i < set->n_policies; i++) {
		struct pol_policy *pol = &set->policies[i];

		sort_idlist(&pol->apps_include.apps);
		sort_idlist(&pol->apps_exclude.apps);
		sort_idlist(&pol->cond.loc_include.locations);
		sort_idlist(&pol->cond.loc_exclude.locations);
		if (ids_overlap(&pol->apps_include.apps, &pol->apps_exclude.apps))
			add_warning(
			    l, pol->where,
			    "policy \"%s\" includes and excludes the same app: exclude wins",
			    pol->id);
	}
	rc = 0;
out:
	for (int k = 0; k < 3; k++)
		strtab_free(&tabs[k]);
	strtab_free(&policies);
	return rc;
}

/* Whether policy pol may apply to app (index) at all: included and not excluded. */
static bool
policy_covers_app(const struct pol_policy *pol, uint32_t app)
{
	const struct idlist *exc = &pol->apps_exclude.apps;

	for (size_t i = 0; i < exc->n; i++) {
		if (exc->ids[i] == app)
			return false;
	}
	if (pol->apps_include.all)
		return true;
	for (size_t i = 0; i < pol->apps_include.apps.n; i++) {
		if (pol->apps_include.apps.ids[i] == app)
			return true;
	}
	return false;
}

static uint64_t
users_filter(const struct pol_users *u)
{
	uint64_t f = 0;

	if (u->all)
		return ~0ull;
	for (size_t i = 0; i < u->users.n; i++)
		f |= policy_filter_bit(0, u->users.ids[i]);
	for (size_t i = 0; i < u->groups.n; i++)
		f |= policy_filter_bit(1, u->groups.ids[i]);
	for (size_t i = 0; i < u->roles.n; i++)
		f |= policy_filter_bit(2, u->roles.ids[i]);
	return f;
}

static struct candidate
candidate_of(const struct pol_policy *pol, uint32_t index, uint64_t filter)
{
	const struct pol_users *u = &pol->users_include;
	const struct idlist *lists[3] = {&u->users, &u->groups, &u->roles};
	struct candidate c = {.policy = index, .users_filter = filter};

	if (u->all || u->users.n + u->groups.n + u->roles.n > CANDIDATE_INLINE) {
		c.n_inline = CANDIDATE_NOT_INLINE;
		return c;
	}
	for (uint8_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < lists[k]->n; i++) {
			c.kinds[c.n_inline] = k;
			c.ids[c.n_inline++] = lists[k]->ids[i];
		}
	}
	return c;
}

/* app_policies: for each app (and for "no app"), the enabled or report-only policies
 * that may apply, so a request looks at those only. */
static int
index_policies(struct loader *l)
{
	struct policy_set *set = l->set;
	size_t *count = calloc(set->n_apps + 1, sizeof(*count));
	struct candidate **lists = calloc(set->n_apps + 1, sizeof(*lists));
	int rc = -1;

	set->app_policies = lalloc(l, (set->n_apps + 1) * sizeof(*set->app_policies));
	if (count == NULL || lists == NULL || set->app_policies == NULL)
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t a = 0; a <= set->n_apps; a++) {
			if (pass == 1 && (lists[a] = lalloc(l, count[a] * sizeof(**lists))) == NULL)
				goto out;
			count[a] = 0;
		}
		for (size_t i = 0; i < set->n_policies; i++) {
			const struct pol_policy *pol = &set->policies[i];
			uint64_t filter = users_filter(&pol->users_include);

			if (pol->state == POLICY_DISABLED)
				continue;
			for (size_t a = 0; a <= set->n_apps; a++) {
				bool covers = a == set->n_apps
				                  ? pol->apps_include.all
				                  : policy_covers_app(pol, (uint32_t)a);

				if (!covers)
					continue;
				if (pass == 1)
					lists[a][count[a]] = candidate_of(pol, (uint32_t)i, filter);
				count[a]++;
			}
		}
	}
	for (size_t a = 0; a <= set->n_apps; a++)
		set->app_policies[a] = (struct candidates){lists[a], count[a]};
	rc = 0;
out:
	free(lists);
	free(count);
	return rc;
}

struct route_tmp {
	const char *host;
	struct route r;
};

static int
route_cmp(const void *a, const void *b)
{
	const struct route_tmp *x = a, *y = b;
	int c = strcmp(x->host, y->host);

	if (c != 0)
		return c;
	if (x->r.path_len != y->r.path_len)
		return x->r.path_len > y->r.path_len ? -1 : 1; /* longest first */
	c = strcmp(x->r.path, y->r.path);
	return c != 0 ? c : (x->r.app > y->r.app) - (x->r.app < y->r.app);
}

/* Whether some method is covered by both a and b. */
static bool
methods_overlap(const struct pol_methods *a, const struct pol_methods *b)
{
	if (!a->limited || !b->limited || (a->except && b->except))
		return true;
	if (a->except) {
		const struct pol_methods *t = a;

		a = b;
		b = t;
	}
	/* a lists its methods: does b cover one of them? */
	for (int k = 0; k < METHOD_COUNT; k++) {
		if ((a->known & METHOD_BIT(k)) &&
		    policy_methods_match(b, policy_method_names[k], METHOD_BIT(k)))
			return true;
	}
	for (size_t i = 0; i < a->n_other; i++) {
		if (policy_methods_match(b, a->other[i], 0))
			return true;
	}
	return false;
}

/* Whether some app among routes[0..n) (one host and path) covers method (bit: its METHOD_BIT). */
static bool
routes_cover(const struct policy_set *set, const struct route_tmp *routes, size_t n,
             const char *method, unsigned bit)
{
	for (size_t i = 0; i < n; i++) {
		if (policy_methods_match(&set->apps[routes[i].r.app].methods, method, bit))
			return true;
	}
	return false;
}

/*
 * A method the apps of routes[0..n) (one host and path) leave to a less specific
 * app or to none: when none covers every method, a method token no app lists;
 * else one that every app listing exceptions leaves out and no app lists.
 * NULL when they cover every method.
 */
static const char *
uncovered_method(const struct policy_set *set, const struct route_tmp *routes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct pol_methods *m = &set->apps[routes[i].r.app].methods;

		if (!m->limited)
			return NULL;
		if (!m->except)
			continue;
		for (int k = 0; k < METHOD_COUNT; k++) {
			if ((m->known & METHOD_BIT(k)) &&
			    !routes_cover(set, routes, n, policy_method_names[k], METHOD_BIT(k)))
				return policy_method_names[k];
		}
		for (size_t k = 0; k < m->n_other; k++) {
			if (!routes_cover(set, routes, n, m->other[k], 0))
				return m->other[k];
		}
		return NULL;
	}
	/* Only lists: any token none of them names, such as these. */
	for (size_t k = 0; k < 4; k++) {
		static const char *const probes[] = {"PROPPATCH", "MKCOL", "PURGE", "MOVE"};

		if (!routes_cover(set, routes, n, probes[k], 0))
			return probes[k];
	}
	return "other methods";
}

/*
 * Warns about apps that list their methods (an include list) where the apps on
 * the same host and path leave some method to a less specific app or to none:
 * a request with that method is judged by weaker policies, or by none.
 * tmp is every route, by host, longest path first.
 */
static void
warn_fall_through(struct loader *l, const struct route_tmp *tmp, size_t n)
{
	const struct policy_set *set = l->set;

	for (size_t i = 0; i < n;) {
		size_t j = i;
		const char *method, *to = NULL;

		while (j < n && strcmp(tmp[j].host, tmp[i].host) == 0 &&
		       strcmp(tmp[j].r.path, tmp[i].r.path) == 0)
			j++;
		method = uncovered_method(set, tmp + i, j - i);
		/* The next less specific prefix of the same host that covers this path. */
		for (size_t k = j;
		     method != NULL && to == NULL && k < n && strcmp(tmp[k].host, tmp[i].host) == 0;
		     k++) {
			if (strncmp(tmp[i].r.path, tmp[k].r.path, tmp[k].r.path_len) == 0 &&
			    policy_methods_match(&set->apps[tmp[k].r.app].methods, method,
			                         policy_method_bit(method)))
				to = set->apps[tmp[k].r.app].id;
		}
		for (size_t k = i; method != NULL && k < j; k++) {
			const struct pol_app *a = &set->apps[tmp[k].r.app];

			if (a->methods.limited && !a->methods.except)
				add_warning(
				    l, a->methods.where,
				    "app \"%s\" lists its methods: %s on %s%s falls through "
				    "to %s%s%s; name every method (methods: { except: [...] }) "
				    "or cover the rest with another app on this path",
				    a->id, method, tmp[i].host, tmp[i].r.path,
				    to != NULL ? "the less specific app \"" : "no app",
				    to != NULL ? to : "", to != NULL ? "\"" : "");
		}
		i = j;
	}
}

/* hosts: every (host, path) of every app, by host, longest path first. Two apps
 * claiming the same host and path for a common method are ambiguous: an error. */
static int
index_routes(struct loader *l)
{
	struct policy_set *set = l->set;
	struct route_tmp *tmp;
	size_t n = 0, h = 0;

	for (size_t a = 0; a < set->n_apps; a++)
		n += set->apps[a].n_hosts * set->apps[a].n_paths;
	tmp = calloc(n ? n : 1, sizeof(*tmp));
	if (tmp == NULL)
		return -1;
	n = 0;
	for (size_t a = 0; a < set->n_apps; a++) {
		const struct pol_app *app = &set->apps[a];

		for (size_t i = 0; i < app->n_hosts; i++) {
			for (size_t j = 0; j < app->n_paths; j++)
				tmp[n++] = (struct route_tmp){
				    app->hosts[i],
				    {app->paths[j], strlen(app->paths[j]), (uint32_t)a}};
		}
	}
	qsort(tmp, n, sizeof(*tmp), route_cmp);
	/* Every pair on one host and path: method lists need not overlap their neighbours'. */
	for (size_t i = 1; i < n; i++) {
		for (size_t k = i; k-- > 0 && strcmp(tmp[k].host, tmp[i].host) == 0 &&
		                   strcmp(tmp[k].r.path, tmp[i].r.path) == 0;) {
			const struct pol_app *a = &set->apps[tmp[k].r.app],
			                     *b = &set->apps[tmp[i].r.app];

			if (a == b || !methods_overlap(&a->methods, &b->methods))
				continue;
			snprintf(l->p.err, l->p.errsz,
			         "%s: apps \"%s\" and \"%s\" (%s) both claim %s%s for the same "
			         "methods: limit their methods or paths",
			         b->where, b->id, a->id, a->where, tmp[i].host, tmp[i].r.path);
			free(tmp);
			return -1;
		}
	}
	warn_fall_through(l, tmp, n);
	set->hosts = lalloc(l, (n ? n : 1) * sizeof(*set->hosts));
	if (set->hosts == NULL) {
		free(tmp);
		return -1;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;
		struct route *routes;

		while (j < n && strcmp(tmp[j].host, tmp[i].host) == 0)
			j++;
		routes = lalloc(l, (j - i) * sizeof(*routes));
		if (routes == NULL) {
			free(tmp);
			return -1;
		}
		set->hosts[h] = (struct host_routes){tmp[i].host, routes, j - i,
		                                     set->apps[tmp[i].r.app].case_insensitive};
		for (size_t k = i; k < j; k++) {
			const struct pol_app *a = &set->apps[tmp[i].r.app],
			                     *b = &set->apps[tmp[k].r.app];

			routes[k - i] = tmp[k].r;
			/* Case folding is the upstream's: a host whose apps disagree would
			 * let "/PAYROLL/" reach a case-sensitive app's path through a
			 * case-insensitive app's prefix. */
			if (b->case_insensitive != a->case_insensitive) {
				const struct pol_app *ci = a->case_insensitive ? a : b,
				                     *cs = a->case_insensitive ? b : a;

				snprintf(l->p.err, l->p.errsz,
				         "%s: app \"%s\" is case_insensitive on %s but app \"%s\" "
				         "(%s) is not: case folding is a property of the upstream "
				         "behind a host, declare it on every app of the host or on "
				         "none",
				         ci->where, ci->id, tmp[i].host, cs->id, cs->where);
				free(tmp);
				return -1;
			}
		}
		if (strtab_add(&set->host_ids, tmp[i].host) != h) {
			free(tmp);
			return -1;
		}
		h++;
		i = j;
	}
	set->n_hosts = h;
	free(tmp);
	return 0;
}

/* A hash of every file's name and contents, in load order. */
static int
inputs_digest(const struct input *in, size_t n, unsigned char md[32])
{
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < n; i++) {
		const char *base = strrchr(in[i].name, '/');
		uint64_t len = in[i].len;

		base = base ? base + 1 : in[i].name;
		ok = EVP_DigestUpdate(ctx, base, strlen(base) + 1) == 1 &&
		     EVP_DigestUpdate(ctx, &len, sizeof(len)) == 1 &&
		     EVP_DigestUpdate(ctx, in[i].buf, in[i].len) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* The revision: the start of the inputs' digest. */
static int
compute_revision(struct policy_set *set, const struct input *in, size_t n)
{
	unsigned char md[32];

	if (inputs_digest(in, n, md) != 0)
		return -1;
	for (int i = 0; i < 8; i++)
		snprintf(set->revision + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static struct policy_set *
load_inputs(struct input *in, size_t n, char *err, size_t errsz)
{
	struct loader l = {.p = {NULL, err, errsz}};
	struct policy_set *set = calloc(1, sizeof(*set));
	size_t counts[4] = {0}, next[4] = {0};
	bool own_mfa = false;

	err[0] = '\0';
	if (set == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	l.set = set;
	arena_init(&set->mem, 64 << 10, (size_t)1 << 34);
	set->n_files = n;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *root, *k, *v;

		in[i].doc = ydoc_load_buffer(in[i].name, in[i].buf, in[i].len, err, errsz);
		if (in[i].doc == NULL)
			goto fail;
		root = ydoc_root(in[i].doc);
		if (root == NULL || root->type != YAML_MAPPING_NODE)
			continue;
		YDOC_MAP_FOREACH(in[i].doc, root, k, v)
		{
			static const char *const kinds[] = {"apps", "locations", "strengths",
			                                    "policies"};
			int kind = policy_name_lookup(kinds, 4, ydoc_scalar(k));

			if (kind >= 0)
				counts[kind] += seq_len(v);
		}
	}
	/* One more strength than written: room for the built-in mfa. */
	set->apps = lalloc(&l, counts[0] * sizeof(*set->apps));
	set->locations = lalloc(&l, counts[1] * sizeof(*set->locations));
	set->strengths = lalloc(&l, (counts[2] + 1) * sizeof(*set->strengths));
	set->policies = lalloc(&l, counts[3] * sizeof(*set->policies));
	if (set->apps == NULL || set->locations == NULL || set->strengths == NULL ||
	    set->policies == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_file(&l, in[i].doc, next) != 0)
			goto fail;
	}
	set->n_apps = next[0];
	set->n_locations = next[1];
	set->n_strengths = next[2];
	set->n_policies = next[3];
	for (size_t i = 0; i < set->n_strengths; i++)
		own_mfa |= strcmp(set->strengths[i].id, "mfa") == 0;
	if (!own_mfa && add_builtin_mfa(&l, &set->strengths[set->n_strengths++]) != 0) {
		snprintf(err, errsz, "the built-in mfa strength does not fit with %d amr values",
		         POLICY_MAX_AMR);
		goto fail;
	}
	if (resolve(&l) != 0 || index_routes(&l) != 0 || index_policies(&l) != 0)
		goto fail;
	if (compute_revision(set, in, n) != 0) {
		snprintf(err, errsz, "cannot hash the policy files");
		goto fail;
	}
	set->warnings = l.n_warnings ? lalloc(&l, l.n_warnings * sizeof(char *)) : NULL;
	for (size_t i = 0; set->warnings != NULL && i < l.n_warnings; i++)
		set->warnings[i] = l.warnings[i];
	set->n_warnings = set->warnings ? l.n_warnings : 0;
	free(l.warnings);
	free(l.refs);
	for (size_t i = 0; i < n; i++)
		ydoc_free(in[i].doc);
	return set;
fail:
	if (err[0] == '\0')
		snprintf(err, errsz, "out of memory");
	free(l.warnings);
	free(l.refs);
	for (size_t i = 0; i < n; i++) {
		ydoc_free(in[i].doc);
		in[i].doc = NULL;
	}
	policy_set_free(set);
	return NULL;
}

struct policy_set *
policy_set_load_buffers(const char *const *names, const char *const *bufs, size_t n, char *err,
                        size_t errsz)
{
	struct input *in = calloc(n ? n : 1, sizeof(*in));
	struct policy_set *set;

	if (in == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		in[i] = (struct input){names[i], (char *)bufs[i], strlen(bufs[i]), NULL};
	set = load_inputs(in, n, err, errsz);
	free(in);
	return set;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct input *)a)->name, ((const struct input *)b)->name);
}

bool
policy_set_reads(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int
read_input(struct input *in, char *err, size_t errsz)
{
	return file_read(in->name, POLICY_MAX_FILE_BYTES, &in->buf, &in->len, err, errsz);
}

static void
inputs_free(struct input *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)in[i].name);
		free(in[i].buf);
	}
	free(in);
}

/* Reads every policy file of dir, in name order, into *out (free with inputs_free). */
static int
read_dir(const char *dir, struct input **out, size_t *n_out, char *err, size_t errsz)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct input *in = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;

	if (d == NULL) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (!policy_set_reads(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == POLICY_MAX_FILES) {
			snprintf(err, errsz, "%s: more than %d policy files", dir,
			         POLICY_MAX_FILES);
			goto out;
		}
		if (n == cap) {
			struct input *grown = realloc(in, (cap = cap ? cap * 2 : 16) * sizeof(*in));

			if (grown == NULL) {
				snprintf(err, errsz, "out of memory");
				goto out;
			}
			in = grown;
		}
		in[n] = (struct input){strdup(path), NULL, 0, NULL};
		if (in[n++].name == NULL) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
	}
	if (in != NULL)
		qsort(in, n, sizeof(*in), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (read_input(&in[i], err, errsz) != 0)
			goto out;
	}
	rc = 0;
out:
	closedir(d);
	if (rc != 0) {
		inputs_free(in, n);
		in = NULL;
		n = 0;
	}
	*out = in;
	*n_out = n;
	return rc;
}

struct policy_set *
policy_set_load_settled(const char *dir, unsigned gap_ms, unsigned max_reads, char *err,
                        size_t errsz)
{
	struct input *in = NULL, *again = NULL;
	size_t n = 0, n_again = 0;
	unsigned char md[32], md_again[32];
	bool settled = max_reads < 2;
	struct policy_set *set = NULL;

	if (read_dir(dir, &in, &n, err, errsz) != 0)
		return NULL;
	for (unsigned i = 1; i < max_reads && !settled; i++) {
		if (inputs_digest(in, n, md) != 0) {
			snprintf(err, errsz, "cannot hash the policy files");
			goto out;
		}
		clock_sleep_ms(gap_ms);
		if (read_dir(dir, &again, &n_again, err, errsz) != 0)
			goto out;
		if (inputs_digest(again, n_again, md_again) != 0) {
			snprintf(err, errsz, "cannot hash the policy files");
			inputs_free(again, n_again);
			goto out;
		}
		settled = memcmp(md, md_again, sizeof(md)) == 0;
		inputs_free(in, n);
		in = again;
		n = n_again;
	}
	if (!settled) {
		snprintf(err, errsz,
		         "%s: the policy files kept changing over %u reads %u ms apart; not loaded",
		         dir, max_reads, gap_ms);
		goto out;
	}
	set = load_inputs(in, n, err, errsz);
out:
	inputs_free(in, n);
	return set;
}

struct policy_set *
policy_set_load(const char *dir, char *err, size_t errsz)
{
	return policy_set_load_settled(dir, 0, 1, err, errsz);
}

void
policy_set_free(struct policy_set *set)
{
	if (set == NULL)
		return;
	strtab_free(&set->users);
	strtab_free(&set->groups);
	strtab_free(&set->roles);
	strtab_free(&set->amr);
	strtab_free(&set->clients);
	strtab_free(&set->host_ids);
	arena_free(&set->mem);
	free(set);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t
policy_set_dropped(const struct policy_set *old, const struct policy_set *set, size_t *enforced,
                   char *ids, size_t idsz)
{
	const char **kept = calloc(set->n_policies ? set->n_policies : 1, sizeof(*kept));
	size_t n_kept = 0, dropped = 0;

	*enforced = 0;
	if (idsz > 0)
		ids[0] = '\0';
	for (size_t i = 0; kept != NULL && i < set->n_policies; i++) {
		if (set->policies[i].state == POLICY_ENABLED)
			kept[n_kept++] = set->policies[i].id;
	}
	if (kept != NULL)
		qsort(kept, n_kept, sizeof(*kept), cmp_id);
	for (size_t i = 0; i < old->n_policies; i++) {
		const char *id = old->policies[i].id;

		if (old->policies[i].state != POLICY_ENABLED)
			continue;
		++*enforced;
		/* Without memory to compare, every one counts as dropped: the guard holds. */
		if (kept == NULL || bsearch(&id, kept, n_kept, sizeof(*kept), cmp_id) == NULL) {
			dropped++;
			reload_guard_note(ids, idsz, id);
		}
	}
	free(kept);
	return dropped;
}
