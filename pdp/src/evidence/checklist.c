/* checklist.c - a coverage checklist (YAML) into its model, checked key by key */
#include "evidence/checklist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/checklist_parse.h"

const char *const pillar_names[PILLAR_COUNT + 1] = {"Identity",
                                                    "Devices",
                                                    "Networks",
                                                    "Applications and Workloads",
                                                    "Data",
                                                    "Visibility and Analytics",
                                                    "Automation and Orchestration",
                                                    "Governance",
                                                    NULL};

/* What the checklist file's name is in messages when it is the built-in one. */
static const char builtin_name[] = "ztmm-checklist.yaml (built in)";

struct cl_parse {
	struct check_parse cp; /* first: rows get &cl_parse->cp.p */
	struct checklist *cl;
};

#define CL(p) ((struct cl_parse *)(void *)(p))

static const struct ydoc_key head_keys[] = {
    CHECK_KEY_TEXT("id", struct checklist, id),
    CHECK_KEY_TEXT("title", struct checklist, title),
    YDOC_KEY_UNSIGNED("version", struct checklist, version, 1, 1000000),
    YDOC_KEY_END,
};

static const struct ydoc_key source_keys[] = {
    CHECK_KEY_TEXT("id", struct checklist_source, id),
    CHECK_KEY_TEXT("title", struct checklist_source, title),
    CHECK_KEY_TEXT("url", struct checklist_source, url),
    YDOC_KEY_END,
};

static const struct ydoc_key class_keys[] = {
    CHECK_KEY_TEXT("id", struct app_class, id),
    CHECK_KEY_TEXT("description", struct app_class, description),
    CHECK_KEY_STRINGS("apps", struct app_class, patterns, n_patterns),
    YDOC_KEY_END,
};

static int read_check(struct ydoc_parse *p, yaml_node_t *v, void *target);

static const struct ydoc_key control_keys[] = {
    CHECK_KEY_TEXT("id", struct control, id),
    CHECK_KEY_TEXT("title", struct control, title),
    YDOC_KEY_CHOICE("pillar", struct control, pillar, pillar_names),
    CHECK_KEY_TEXT("function", struct control, function),
    YDOC_KEY_CHOICE("stage", struct control, stage, stage_names),
    CHECK_KEY_STRINGS("sources", struct control, sources, n_sources),
    CHECK_KEY_TEXT("rationale", struct control, rationale),
    CHECK_KEY_TEXT("next", struct control, next),
    YDOC_KEY_CALL("check", read_check),
    YDOC_KEY_END,
};

/* The value of key in mapping n, or NULL. */
static yaml_node_t *
map_get(struct ydoc *doc, yaml_node_t *n, const char *key)
{
	yaml_node_t *k, *v;

	YDOC_MAP_FOREACH(doc, n, k, v)
	{
		if (strcmp(ydoc_scalar(k), key) == 0)
			return v;
	}
	return NULL;
}

/* Refuses a mapping that lacks one of the NULL-ended keys. */
static int
require_keys(struct ydoc_parse *p, yaml_node_t *n, const char *what, const char *const *keys)
{
	for (size_t i = 0; keys[i] != NULL; i++)
		if (map_get(p->doc, n, keys[i]) == NULL)
			return YDOC_ERR(p, n, "%s needs \"%s\"", what, keys[i]);
	return 0;
}

/* A check: its kind first, then the kind's own parameters, each key checked. */
static int
read_check(struct ydoc_parse *p, yaml_node_t *v, void *target)
{
	struct check_params *cp = &((struct control *)target)->check;
	yaml_node_t *kind, *k, *val;
	const char *name;

	if (v->type != YAML_MAPPING_NODE)
		return YDOC_ERR(p, v, "a check is a mapping with a \"kind\"");
	if ((kind = map_get(p->doc, v, "kind")) == NULL)
		return YDOC_ERR(p, v, "a check needs \"kind\" (one of: %s)", check_kind_list());
	if ((name = ydoc_scalar(kind)) == NULL || (cp->kind = check_kind_find(name)) == NULL)
		return YDOC_ERR(p, kind, "unknown check kind \"%s\" (expected one of: %s)",
		                name != NULL ? name : "", check_kind_list());
	YDOC_MAP_FOREACH(p->doc, v, k, val)
	{
		const struct ydoc_key *row = cp->kind->keys;
		const char *key = ydoc_scalar(k);

		if (strcmp(key, "kind") == 0)
			continue;
		while (row->name != NULL && strcmp(row->name, key) != 0)
			row++;
		if (row->name == NULL) {
			char known[256] = "";
			size_t off = 0;

			for (row = cp->kind->keys; row->name != NULL && off < sizeof(known); row++)
				off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
				                        off ? ", " : "", row->name);
			return YDOC_ERR(p, k, "unknown key \"%s\" for check kind %s (expected %s)",
			                key, cp->kind->name, off ? known : "no other key");
		}
		if (ydoc_parse_key(p, row, val, cp) != 0)
			return -1;
	}
	return cp->kind->validate != NULL ? cp->kind->validate(p, v, cp) : 0;
}

/*
 * Reads the list v of mappings into a new arena array of n items of size,
 * each by table and needing the keys required; "what" names an item.
 */
static void *
read_list(struct cl_parse *cl, yaml_node_t *v, size_t size, const struct ydoc_key *table,
          const char *what, const char *const *required, void (*init)(void *), size_t *n)
{
	struct ydoc_parse *p = &cl->cp.p;
	yaml_node_t *item;
	char *array;
	size_t count;

	if (v->type != YAML_SEQUENCE_NODE) {
		YDOC_ERR(p, v, "expected a list of %ss", what);
		return NULL;
	}
	count = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if ((array = arena_alloc(&cl->cl->mem, count * size + 1)) == NULL) {
		YDOC_ERR(p, v, "out of memory");
		return NULL;
	}
	memset(array, 0, count * size + 1);
	*n = 0;
	YDOC_SEQ_FOREACH(p->doc, v, item)
	{
		void *t = array + *n * size;
		const char *id;

		if (item->type != YAML_MAPPING_NODE) {
			YDOC_ERR(p, item, "a %s is a mapping", what);
			return NULL;
		}
		if (init != NULL)
			init(t);
		if (ydoc_parse_map(p, item, table, t) != 0 ||
		    require_keys(p, item, what, required) != 0)
			return NULL;
		/* Every item type starts with its id. */
		id = *(const char **)t;
		for (size_t j = 0; j < *n; j++) {
			if (strcmp(*(const char **)(void *)(array + j * size), id) == 0) {
				YDOC_ERR(p, map_get(p->doc, item, "id"), "duplicate %s id \"%s\"",
				         what, id);
				return NULL;
			}
		}
		(*n)++;
	}
	return array;
}

/* A check's parameters before its keys: the defaults DESIGN §8 lists. */
static void
control_init(void *t)
{
	struct check_params *cp = &((struct control *)t)->check;

	cp->value = DEFAULT_DENY;
	cp->events = true;
	cp->on_store_error = WANT_DENY;
	cp->to_file = true;
	cp->scope = SCOPE_BLOCK;
	((struct control *)t)->stage = -1;
}

/* Every source a control names, and the app class its check names, exist. */
static int
resolve_control(struct cl_parse *cl, yaml_node_t *item, struct control *c)
{
	struct ydoc_parse *p = &cl->cp.p;
	struct checklist *l = cl->cl;

	if (c->stage == STAGE_TRADITIONAL)
		return YDOC_ERR(
		    p, map_get(p->doc, item, "stage"),
		    "a control evidences initial, advanced or optimal, not traditional");
	for (size_t i = 0; i < c->n_sources; i++) {
		size_t j = 0;

		while (j < l->n_sources && strcmp(l->sources[j].id, c->sources[i]) != 0)
			j++;
		if (j == l->n_sources)
			return YDOC_ERR(p, map_get(p->doc, item, "sources"),
			                "no source has id \"%s\"", c->sources[i]);
	}
	if (c->check.apps == NULL || strcmp(c->check.apps, "all") == 0)
		return 0;
	for (size_t j = 0; j < l->n_classes; j++)
		if (strcmp(l->classes[j].id, c->check.apps) == 0) {
			c->check.app_class = &l->classes[j];
			return 0;
		}
	return YDOC_ERR(p, c->check.apps_node, "no app class has id \"%s\" (nor is it \"all\")",
	                c->check.apps);
}

/* The accounts patterns of every exclusion check, given to each check: the break-glass
 * accounts a policy may exclude and still count in full. */
static int
share_break_glass(struct cl_parse *cl, yaml_node_t *controls)
{
	struct checklist *l = cl->cl;
	const char **all;
	size_t n = 0;

	for (size_t i = 0; i < l->n_controls; i++)
		if (strcmp(l->controls[i].check.kind->name, "exclusion") == 0)
			n += l->controls[i].check.n_accounts;
	if (n == 0)
		return 0;
	if ((all = arena_alloc(cl->cp.mem, n * sizeof(*all))) == NULL)
		return YDOC_ERR(&cl->cp.p, controls, "out of memory");
	n = 0;
	for (size_t i = 0; i < l->n_controls; i++)
		if (strcmp(l->controls[i].check.kind->name, "exclusion") == 0)
			for (size_t j = 0; j < l->controls[i].check.n_accounts; j++)
				all[n++] = l->controls[i].check.accounts[j];
	for (size_t i = 0; i < l->n_controls; i++) {
		l->controls[i].check.break_glass = all;
		l->controls[i].check.n_break_glass = n;
	}
	return 0;
}

static int
parse_doc(struct cl_parse *cl, struct ydoc *doc)
{
	static const char *const top[] = {"checklist", "sources", "app_classes", "controls", NULL};
	static const char *const source_req[] = {"id", "title", "url", NULL};
	static const char *const class_req[] = {"id", "apps", NULL};
	static const char *const control_req[] = {"id",    "title",     "pillar", "function",
	                                          "stage", "rationale", "check",  NULL};
	static const char *const head_req[] = {"id", "title", "version", NULL};
	struct ydoc_parse *p = &cl->cp.p;
	struct checklist *l = cl->cl;
	yaml_node_t *root, *k, *v, *item;
	size_t i = 0;

	p->doc = doc;
	if ((root = ydoc_root_required(doc, "checklist: ...", p->err, p->errsz)) == NULL)
		return -1;
	if (root->type != YAML_MAPPING_NODE)
		return YDOC_ERR(p, root,
		                "expected a mapping of checklist, sources, app_classes "
		                "and controls");
	YDOC_MAP_FOREACH(doc, root, k, v)
	{
		size_t j = 0;

		while (top[j] != NULL && strcmp(top[j], ydoc_scalar(k)) != 0)
			j++;
		if (top[j] == NULL)
			return YDOC_ERR(p, k,
			                "unknown key \"%s\" (expected one of: checklist, sources, "
			                "app_classes, controls)",
			                ydoc_scalar(k));
	}
	if (require_keys(p, root, "a checklist", top) != 0)
		return -1;
	v = map_get(doc, root, "checklist");
	if (ydoc_parse_map(p, v, head_keys, l) != 0 ||
	    require_keys(p, v, "checklist", head_req) != 0)
		return -1;
	if ((l->sources = read_list(cl, map_get(doc, root, "sources"), sizeof(*l->sources),
	                            source_keys, "source", source_req, NULL, &l->n_sources)) ==
	    NULL)
		return -1;
	if ((l->classes = read_list(cl, map_get(doc, root, "app_classes"), sizeof(*l->classes),
	                            class_keys, "app class", class_req, NULL, &l->n_classes)) ==
	    NULL)
		return -1;
	v = map_get(doc, root, "controls");
	if ((l->controls = read_list(cl, v, sizeof(*l->controls), control_keys, "control",
	                             control_req, control_init, &l->n_controls)) == NULL)
		return -1;
	if (l->n_controls == 0)
		return YDOC_ERR(p, v, "a checklist needs at least one control");
	YDOC_SEQ_FOREACH(doc, v, item)
	{
		if (resolve_control(cl, item, &l->controls[i++]) != 0)
			return -1;
	}
	return share_break_glass(cl, v);
}

/* The checklist doc describes (freed here), named name in messages. */
static struct checklist *
checklist_from(const char *name, struct ydoc *doc, char *err, size_t errsz)
{
	struct checklist *l = calloc(1, sizeof(*l));
	struct cl_parse cl = {{{NULL, err, errsz}, NULL}, l};

	if (l == NULL) {
		snprintf(err, errsz, "%s: out of memory", name);
		ydoc_free(doc);
		return NULL;
	}
	/* A hostile file cannot grow the checklist past this. */
	arena_init(&l->mem, 16384, 16u << 20);
	cl.cp.mem = &l->mem;
	if ((l->name = arena_strndup(&l->mem, name, strlen(name))) == NULL)
		snprintf(err, errsz, "%s: out of memory", name);
	if (l->name == NULL || parse_doc(&cl, doc) != 0) {
		checklist_free(l);
		l = NULL;
	}
	ydoc_free(doc);
	return l;
}

struct checklist *
checklist_load_buffer(const char *name, const char *buf, size_t len, char *err, size_t errsz)
{
	struct ydoc *doc = ydoc_load_buffer(name, buf, len, err, errsz);

	return doc != NULL ? checklist_from(name, doc, err, errsz) : NULL;
}

struct checklist *
checklist_load(const char *path, char *err, size_t errsz)
{
	struct ydoc *doc;

	if (path == NULL)
		return checklist_load_buffer(builtin_name, (const char *)checklist_builtin,
		                             checklist_builtin_len, err, errsz);
	doc = ydoc_load_file(path, err, errsz);
	return doc != NULL ? checklist_from(path, doc, err, errsz) : NULL;
}

void
checklist_free(struct checklist *cl)
{
	if (cl == NULL)
		return;
	arena_free(&cl->mem);
	free(cl);
}
