/* cases.c - policy test cases (policies/tests/ files): what-if requests and expectations */
#include "policy/cases.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "context/record.h"
#include "core/yaml_doc.h"

struct case_parse {
	struct ydoc_parse p; /* first: handlers get &cp->p */
	struct policy_cases *pc;
	int64_t now;
	const struct policy_claims_map *map;
	yaml_node_t *claims; /* the case's claims, mapped once the rest is read */
};

#define CP(p) ((struct case_parse *)(p))

static const char *
copy(struct ydoc_parse *p, const char *s)
{
	return arena_strndup(&CP(p)->pc->mem, s, strlen(s));
}

static int
get_str(struct ydoc_parse *p, yaml_node_t *v, const char **out)
{
	const char *s;

	if (ydoc_get_string(p->doc, v, &s, p->err, p->errsz) != 0)
		return -1;
	*out = copy(p, s);
	return *out != NULL ? 0 : YDOC_ERR(p, v, "out of memory");
}

static int
get_strlist(struct ydoc_parse *p, yaml_node_t *v, struct strlist *out)
{
	const char **list = NULL, **items;
	size_t n = 0;

	if (ydoc_get_strings(p->doc, v, &list, &n, p->err, p->errsz) != 0)
		return -1;
	items = arena_alloc(&CP(p)->pc->mem, (n ? n : 1) * sizeof(char *));
	for (size_t i = 0; items != NULL && i < n; i++) {
		if ((items[i] = copy(p, list[i])) == NULL)
			items = NULL;
	}
	free(list);
	if (items == NULL)
		return YDOC_ERR(p, v, "out of memory");
	out->items = items;
	out->n = n;
	return 0;
}

/* A time: negative is seconds before now, else a NumericDate. */
static int
get_time(struct ydoc_parse *p, yaml_node_t *v, int64_t *out)
{
	const char *s = ydoc_scalar(v);
	char *end;
	long long t;

	if (s == NULL || s[0] == '\0')
		return YDOC_ERR(p, v,
		                "expected a time: seconds since 1970, or negative seconds ago");
	t = strtoll(s, &end, 10);
	if (*end != '\0')
		return YDOC_ERR(p, v,
		                "expected a time: seconds since 1970, or negative seconds ago");
	*out = t < 0 ? CP(p)->now + t : t;
	return 0;
}

/* --- setters of key rows: the field at the row's offset ------------------------ */

static int
set_str(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	(void)k;
	return get_str(p, v, field);
}

#define KEY_STR(n, type, field)                                                                    \
	YDOC_KEY_SLOT(n, set_str, YDOC_FIELD(type, field, const char *), NULL)

/* --- request ------------------------------------------------------------------ */

static int
check_method(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const char *m = ((struct policy_case *)t)->method;

	if (!policy_method_token(m))
		return YDOC_ERR(p, v, "\"%s\" is not an HTTP method token (RFC 9110)", m);
	return 0;
}

static const char *const client_names[] = {"browser", "api", NULL};

static const struct ydoc_key request_keys[] = {
    {.name = "method",
     .kind = YDOC_SLOT,
     .slot = set_str,
     .offset = YDOC_FIELD(struct policy_case, method, const char *),
     .check = check_method},
    KEY_STR("host", struct policy_case, host),
    KEY_STR("uri", struct policy_case, uri),
    KEY_STR("ip", struct policy_case, ip),
    KEY_STR("country", struct policy_case, country),
    KEY_STR("user_agent", struct policy_case, user_agent),
    YDOC_KEY_CHOICE("client", struct policy_case, client, client_names),
    YDOC_KEY_END,
};

/* --- claims: a token's payload, made a subject by the map ------------------------ */

#define CLAIMS_MAX_DEPTH 32 /* as deep as a token's payload may nest */

/* A plain scalar as YAML's core schema types it: null, a boolean, a number, else a string. */
static json_t *
plain_json(const char *s)
{
	size_t len = strlen(s);
	char *end;

	if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return json_false();
	if (strspn(s, "0123456789+-.eE") == len && strpbrk(s, "0123456789") != NULL) {
		long long i;
		double d;

		errno = 0;
		i = strtoll(s, &end, 10);
		if (*end == '\0' && errno == 0)
			return json_integer(i);
		d = strtod(s, &end);
		if (*end == '\0' && isfinite(d))
			return json_real(d);
	}
	return json_string(s);
}

/* Node v of a case's claims as JSON, or NULL with the error set. */
static json_t *
claims_json(struct ydoc_parse *p, yaml_node_t *v, int depth)
{
	yaml_node_t *k, *val, *item;
	json_t *j = NULL, *sub;

	if (depth > CLAIMS_MAX_DEPTH) {
		YDOC_ERR(p, v, "claims nest deeper than %d levels", CLAIMS_MAX_DEPTH);
		return NULL;
	}
	switch (v->type) {
	case YAML_SCALAR_NODE:
		j = v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_json(ydoc_scalar(v))
		                                                    : json_string(ydoc_scalar(v));
		break;
	case YAML_SEQUENCE_NODE:
		if ((j = json_array()) == NULL)
			break;
		YDOC_SEQ_FOREACH(p->doc, v, item)
		{
			if ((sub = claims_json(p, item, depth + 1)) == NULL ||
			    json_array_append_new(j, sub) != 0) {
				json_decref(j);
				return NULL;
			}
		}
		break;
	case YAML_MAPPING_NODE:
		if ((j = json_object()) == NULL)
			break;
		YDOC_MAP_FOREACH(p->doc, v, k, val)
		{
			const char *name = ydoc_scalar(k);

			if (name == NULL || json_object_get(j, name) != NULL) {
				if (name == NULL)
					YDOC_ERR(p, k, "a claim's name is a string");
				else
					YDOC_ERR(p, k, "claim \"%s\" is given twice", name);
				json_decref(j);
				return NULL;
			}
			if ((sub = claims_json(p, val, depth + 1)) == NULL ||
			    json_object_set_new(j, name, sub) != 0) {
				json_decref(j);
				return NULL;
			}
		}
		break;
	default:
		break;
	}
	if (j == NULL && p->err[0] == '\0')
		YDOC_ERR(p, v, "out of memory");
	return j;
}

/*
 * Makes claims (a mapping node, or NULL when the case has none; at names the
 * case otherwise) c's subject through the map: times resolved against now,
 * iat defaulting to now, and an error placed at the member at fault.
 */
static int
map_claims(struct case_parse *cp, yaml_node_t *claims, yaml_node_t *at, struct policy_case *c)
{
	struct ydoc_parse *p = &cp->p;
	const struct policy_claims_map *map = cp->map;
	yaml_node_t *k, *v;
	json_t *o = NULL;
	char *text = NULL, name[128] = "", why[512] = "";
	int rc = -1;

	p->err[0] = '\0';
	if (claims != NULL && claims->type != YAML_MAPPING_NODE)
		return YDOC_ERR(p, claims, "expected a mapping of claims");
	o = claims != NULL ? claims_json(p, claims, 0) : json_object();
	if (o == NULL)
		return claims != NULL ? -1 : YDOC_ERR(p, at, "out of memory");
	if (claims != NULL) {
		YDOC_MAP_FOREACH(p->doc, claims, k, v)
		{
			int64_t t = 0;

			if (strcmp(ydoc_scalar(k), "iat") != 0 &&
			    strcmp(ydoc_scalar(k), "auth_time") != 0)
				continue;
			if (get_time(p, v, &t) != 0 ||
			    json_object_set_new(o, ydoc_scalar(k), json_integer(t)) != 0)
				goto out;
		}
	}
	if (json_object_get(o, "iat") == NULL &&
	    json_object_set_new(o, "iat", json_integer(cp->now)) != 0)
		goto nomem;
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL)
		goto nomem;
	if (map == NULL || map->map == NULL) {
		YDOC_ERR(p, claims != NULL ? claims : at, "no claims mapping");
		goto out;
	}
	if (map->map(map->ctx, text, strlen(text), &c->mapped, name, sizeof(name), why,
	             sizeof(why)) != 0) {
		/* The member at fault, else the claims, else the case. */
		yaml_node_t *where = claims != NULL ? claims : at;

		if (claims != NULL && name[0] != '\0') {
			YDOC_MAP_FOREACH(p->doc, claims, k, v)
			{
				(void)v;
				if (strcmp(ydoc_scalar(k), name) == 0)
					where = k;
			}
		}
		YDOC_ERR(p, where, "%s", why);
		goto out;
	}
	c->subject = *c->mapped;
	rc = 0;
	goto out;
nomem:
	YDOC_ERR(p, claims != NULL ? claims : at, "out of memory");
out:
	free(text);
	json_decref(o);
	return rc;
}

static int
case_claims(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	(void)t;
	CP(p)->claims = v;
	return 0;
}

/* --- device and user records ------------------------------------------------------- */

static const char *
copy_n(void *ctx, const char *s, size_t n)
{
	return arena_strndup(&((struct policy_cases *)ctx)->mem, s, n);
}

static int
case_device(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct policy_case *c = t;

	c->has_device = true;
	return record_device_yaml(p, v, &c->device, NULL, copy_n, CP(p)->pc);
}

static int
case_user(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct policy_case *c = t;

	c->has_user = true;
	return record_user_yaml(p, v, &c->user, NULL);
}

/* --- a case ----------------------------------------------------------------------- */

static int
case_expect_policies(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct policy_case *c = t;
	struct strlist l = {0};

	if (!(v->type == YAML_SEQUENCE_NODE &&
	      v->data.sequence.items.top == v->data.sequence.items.start) &&
	    get_strlist(p, v, &l) != 0)
		return -1;
	c->expect_policies = l.items;
	c->n_expect_policies = l.n;
	c->has_expect_policies = true;
	return 0;
}

/* In the order of enum decision. */
static const char *const expect_names[] = {"allow", "deny", "step-up", NULL};

static const struct ydoc_key case_keys[] = {
    KEY_STR("name", struct policy_case, name),
    {.name = "request", .kind = YDOC_MAP, .arg = request_keys},
    YDOC_KEY_CALL("claims", case_claims),
    YDOC_KEY_CALL("device", case_device),
    YDOC_KEY_CALL("user", case_user),
    YDOC_KEY_CHOICE("expect", struct policy_case, expect, expect_names),
    YDOC_KEY_CALL("expect_policies", case_expect_policies),
    YDOC_KEY_END,
};

/* A case's defaults: GET /, an API client, no device or user record, a token issued now. */
static void
case_init(struct case_parse *cp, struct policy_case *c, const char *where)
{
	memset(c, 0, sizeof(*c));
	c->method = "GET";
	c->uri = "/";
	c->client = CLIENT_API;
	record_device_init(&c->device);
	c->subject.iat = cp->now;
	c->where = copy(&cp->p, where);
}

static int
parse_case(struct case_parse *cp, yaml_node_t *n, struct policy_case *c)
{
	char where[512];
	yaml_node_t *k, *v;
	bool has_expect = false;

	snprintf(where, sizeof(where), "%s:%zu:%zu", ydoc_name(cp->p.doc), n->start_mark.line + 1,
	         n->start_mark.column + 1);
	case_init(cp, c, where);
	cp->claims = NULL;
	if (ydoc_parse_map(&cp->p, n, case_keys, c) != 0)
		return -1;
	YDOC_MAP_FOREACH(cp->p.doc, n, k, v)
	{
		(void)v;
		has_expect |= strcmp(ydoc_scalar(k), "expect") == 0;
	}
	if (c->name == NULL)
		return YDOC_ERR(&cp->p, n, "a case needs a name");
	if (!has_expect)
		return YDOC_ERR(&cp->p, n, "case \"%s\" needs expect (allow, deny or step-up)",
		                c->name);
	if (c->host == NULL)
		return YDOC_ERR(&cp->p, n, "case \"%s\" needs request.host", c->name);
	return map_claims(cp, cp->claims, n, c);
}

static int
parse_cases_doc(struct case_parse *cp, struct ydoc *doc)
{
	yaml_node_t *root = ydoc_root(doc), *k, *v, *item;
	struct policy_cases *pc = cp->pc;

	cp->p.doc = doc;
	if (root == NULL)
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return YDOC_ERR(&cp->p, root, "expected a mapping with a list of cases");
	YDOC_MAP_FOREACH(doc, root, k, v)
	{
		size_t n;
		struct policy_case *grown;

		if (strcmp(ydoc_scalar(k), "cases") != 0)
			return YDOC_ERR(&cp->p, k, "unknown key \"%s\" (expected cases)",
			                ydoc_scalar(k));
		if (v->type != YAML_SEQUENCE_NODE)
			return YDOC_ERR(&cp->p, v, "cases is a list");
		n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		grown = realloc(pc->cases, (pc->n + n + 1) * sizeof(*grown));
		if (grown == NULL)
			return YDOC_ERR(&cp->p, v, "out of memory");
		pc->cases = grown;
		YDOC_SEQ_FOREACH(doc, v, item)
		{
			if (parse_case(cp, item, &pc->cases[pc->n]) != 0)
				return -1;
			pc->n++;
		}
	}
	return 0;
}

static struct policy_cases *
cases_new(void)
{
	struct policy_cases *pc = calloc(1, sizeof(*pc));

	if (pc != NULL)
		arena_init(&pc->mem, 16 << 10, (size_t)1 << 30);
	return pc;
}

struct policy_cases *
policy_cases_load_buffer(const char *name, const char *buf, int64_t now,
                         const struct policy_claims_map *map, char *err, size_t errsz)
{
	struct policy_cases *pc = cases_new();
	struct case_parse cp = {{NULL, err, errsz}, pc, now, map, NULL};
	struct ydoc *doc;

	if (pc == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	doc = ydoc_load_buffer(name, buf, strlen(buf), err, errsz);
	if (doc == NULL || parse_cases_doc(&cp, doc) != 0) {
		ydoc_free(doc);
		policy_cases_free(pc);
		return NULL;
	}
	ydoc_free(doc);
	return pc;
}

/*
 * One command-line value read as a case's key would read it: text must be a
 * flow mapping (YAML flow or JSON) and is a document of its own, named by
 * its option in messages, so nothing in it reaches beyond its key.
 */
static int
explain_arg(struct case_parse *cp, const char *option, const char *text,
            int (*read)(struct ydoc_parse *p, yaml_node_t *v, void *t), void *target)
{
	struct ydoc *doc = ydoc_load_buffer(option, text, strlen(text), cp->p.err, cp->p.errsz);
	yaml_node_t *root;
	int rc = -1;

	if (doc == NULL)
		return -1;
	cp->p.doc = doc;
	root = ydoc_root_required(doc, "{}", cp->p.err, cp->p.errsz);
	if (root == NULL)
		goto out;
	if (root->type != YAML_MAPPING_NODE ||
	    root->data.mapping.style != YAML_FLOW_MAPPING_STYLE) {
		YDOC_ERR(&cp->p, root,
		         "expected a mapping such as {a: x, b: [y, z]} (YAML flow or JSON)");
		goto out;
	}
	rc = read(&cp->p, root, target);
out:
	cp->p.doc = NULL;
	ydoc_free(doc);
	return rc;
}

static int
explain_claims(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return map_claims(CP(p), v, v, t);
}

/* A command-line string kept in the cases' arena; NULL stays NULL. */
static int
explain_copy(struct policy_cases *pc, const char *s, const char **out, char *err, size_t errsz)
{
	*out = s != NULL ? arena_strndup(&pc->mem, s, strlen(s)) : NULL;
	if (s != NULL && *out == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

struct policy_cases *
policy_case_explain(const struct policy_explain *x, int64_t now, char *err, size_t errsz)
{
	struct policy_cases *pc = cases_new();
	struct case_parse cp = {{NULL, err, errsz}, pc, now, x->map, NULL};
	struct policy_case *c;
	int client;

	err[0] = '\0';
	if (pc == NULL || (pc->cases = calloc(1, sizeof(*pc->cases))) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	c = &pc->cases[0];
	case_init(&cp, c, "(command line)");
	c->name = "explain";
	if (x->method != NULL && !policy_method_token(x->method)) {
		snprintf(err, errsz, "--method: \"%s\" is not an HTTP method token (RFC 9110)",
		         x->method);
		goto fail;
	}
	if (x->client != NULL) {
		if ((client = policy_name_lookup(client_names, 2, x->client)) < 0) {
			snprintf(err, errsz, "--client: client is browser or api, not \"%s\"",
			         x->client);
			goto fail;
		}
		c->client = (enum client_app)client;
	}
	if (x->host == NULL) {
		snprintf(err, errsz, "explain needs a host");
		goto fail;
	}
	if ((x->method != NULL && explain_copy(pc, x->method, &c->method, err, errsz) != 0) ||
	    (x->uri != NULL && explain_copy(pc, x->uri, &c->uri, err, errsz) != 0) ||
	    explain_copy(pc, x->host, &c->host, err, errsz) != 0 ||
	    explain_copy(pc, x->ip, &c->ip, err, errsz) != 0 ||
	    explain_copy(pc, x->country, &c->country, err, errsz) != 0 ||
	    explain_copy(pc, x->user_agent, &c->user_agent, err, errsz) != 0)
		goto fail;
	if (x->subject != NULL)
		c->subject = *x->subject;
	else if (x->claims == NULL) {
		snprintf(err, errsz, "explain needs claims or a verified token's subject");
		goto fail;
	} else if (explain_arg(&cp, "--claims", x->claims, explain_claims, c) != 0)
		goto fail;
	if ((x->device != NULL && explain_arg(&cp, "--device", x->device, case_device, c) != 0) ||
	    (x->user != NULL && explain_arg(&cp, "--user", x->user, case_user, c) != 0))
		goto fail;
	pc->n = 1;
	return pc;
fail:
	if (err[0] == '\0')
		snprintf(err, errsz, "out of memory");
	if (pc != NULL && pc->cases != NULL)
		free(pc->cases[0].mapped);
	policy_cases_free(pc);
	return NULL;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct policy_cases *
policy_cases_load(const char *dir, int64_t now, const struct policy_claims_map *map, char *err,
                  size_t errsz)
{
	struct policy_cases *pc = cases_new();
	struct case_parse cp = {{NULL, err, errsz}, pc, now, map, NULL};
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;

	if (pc == NULL || d == NULL) {
		snprintf(err, errsz, "%s: %s", dir, d == NULL ? strerror(errno) : "out of memory");
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char *path;

		if (de->d_name[0] == '.' ||
		    !((len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0) ||
		      (len > 4 && strcmp(de->d_name + len - 4, ".yml") == 0)))
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*names));

			if (grown == NULL)
				goto out;
			names = grown;
		}
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			goto out;
		names[n++] = path;
	}
	if (names != NULL)
		qsort(names, n, sizeof(*names), str_cmp);
	for (size_t i = 0; i < n; i++) {
		struct ydoc *doc = ydoc_load_file(names[i], err, errsz);

		if (doc == NULL)
			goto out;
		if (parse_cases_doc(&cp, doc) != 0) {
			ydoc_free(doc);
			goto out;
		}
		ydoc_free(doc);
	}
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc != 0) {
		policy_cases_free(pc);
		return NULL;
	}
	return pc;
}

void
policy_cases_free(struct policy_cases *pc)
{
	if (pc == NULL)
		return;
	for (size_t i = 0; i < pc->n; i++)
		free(pc->cases[i].mapped);
	arena_free(&pc->mem);
	free(pc->cases);
	free(pc);
}

void
policy_case_input(const struct policy_set *set, const struct policy_case *c, int64_t now,
                  bool default_allow, uint32_t *buf, size_t bufn, struct subject_ids *ids,
                  struct eval_input *in)
{
	eval_subject_ids(set, &c->subject, buf, bufn, ids);
	memset(in, 0, sizeof(*in));
	in->subject = &c->subject;
	in->ids = ids;
	in->method = c->method;
	in->host = c->host;
	in->uri = c->uri;
	in->ip = c->ip;
	in->country = c->country;
	in->user_agent = c->user_agent;
	in->client = c->client;
	in->device = c->has_device ? &c->device : NULL;
	in->user = c->has_user ? &c->user : NULL;
	in->now = now;
	in->default_allow = default_allow;
}

void
policy_case_run(const struct policy_set *set, const struct policy_case *c, int64_t now,
                bool default_allow, uint32_t *buf, size_t bufn, struct subject_ids *ids,
                struct eval_input *in, struct eval_result *res)
{
	if (c->subject.groups_overage) {
		memset(res, 0, sizeof(*res));
		res->decision = DECISION_DENY;
		return;
	}
	policy_case_input(set, c, now, default_allow, buf, bufn, ids, in);
	policy_eval(set, in, res);
}

bool
policy_case_passes(const struct policy_set *set, const struct policy_case *c,
                   const struct eval_result *res)
{
	if (res->decision != c->expect)
		return false;
	if (!c->has_expect_policies)
		return true;
	if (res->n_applied != c->n_expect_policies || res->n_unlisted != 0)
		return false;
	for (size_t i = 0; i < c->n_expect_policies; i++) {
		bool found = false;

		for (size_t j = 0; j < res->n_applied && !found; j++)
			found = strcmp(set->policies[res->applied[j].policy].id,
			               c->expect_policies[i]) == 0;
		if (!found)
			return false;
	}
	return true;
}
