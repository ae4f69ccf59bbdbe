/* policy_case.c - policy test cases (policies/tests/ files): what-if requests and expectations */
#include "policy/policy_case.h"

#include <dirent.h>
#include <errno.h>
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

static int
get_enum(struct ydoc_parse *p, yaml_node_t *v, const char *const *names, int n, const char *what,
         int *out)
{
	return ydoc_get_choice(p->doc, v, what, names, n, out, p->err, p->errsz);
}

/* --- request ------------------------------------------------------------------ */

#define STR_FIELD(fn, field)                                                                       \
	static int fn(struct ydoc_parse *p, yaml_node_t *v, void *t)                               \
	{                                                                                          \
		return get_str(p, v, &((struct policy_case *)t)->field);                           \
	}

static int
req_method(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const char **m = &((struct policy_case *)t)->method;

	if (get_str(p, v, m) != 0)
		return -1;
	if (!policy_method_token(*m))
		return YDOC_ERR(p, v, "\"%s\" is not an HTTP method token (RFC 9110)", *m);
	return 0;
}

STR_FIELD(req_host, host)
STR_FIELD(req_uri, uri)
STR_FIELD(req_ip, ip)
STR_FIELD(req_country, country)
STR_FIELD(req_user_agent, user_agent)

static int
req_client(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	static const char *const names[] = {"browser", "api"};
	int k = 0;

	if (get_enum(p, v, names, 2, "client", &k) != 0)
		return -1;
	((struct policy_case *)t)->client = (enum client_app)k;
	return 0;
}

static const struct ydoc_key request_keys[] = {
    YDOC_KEY_CALL("method", req_method),   YDOC_KEY_CALL("host", req_host),
    YDOC_KEY_CALL("uri", req_uri),         YDOC_KEY_CALL("ip", req_ip),
    YDOC_KEY_CALL("country", req_country), YDOC_KEY_CALL("user_agent", req_user_agent),
    YDOC_KEY_CALL("client", req_client),   YDOC_KEY_END,
};

/* --- claims ----------------------------------------------------------------- */

#define SUBJ_STR(fn, field)                                                                        \
	static int fn(struct ydoc_parse *p, yaml_node_t *v, void *t)                               \
	{                                                                                          \
		return get_str(p, v, &((struct policy_case *)t)->subject.field);                   \
	}
#define SUBJ_LIST(fn, field)                                                                       \
	static int fn(struct ydoc_parse *p, yaml_node_t *v, void *t)                               \
	{                                                                                          \
		return get_strlist(p, v, &((struct policy_case *)t)->subject.field);               \
	}
#define SUBJ_TIME(fn, field)                                                                       \
	static int fn(struct ydoc_parse *p, yaml_node_t *v, void *t)                               \
	{                                                                                          \
		return get_time(p, v, &((struct policy_case *)t)->subject.field);                  \
	}

SUBJ_STR(claim_sub, user)
SUBJ_LIST(claim_groups, groups)
SUBJ_LIST(claim_roles, roles)
SUBJ_LIST(claim_amr, amr)
SUBJ_STR(claim_acr, acr)
SUBJ_TIME(claim_auth_time, auth_time)
SUBJ_TIME(claim_iat, iat)
SUBJ_STR(claim_deviceid, device_id)
SUBJ_STR(claim_risk, sign_in_risk)
SUBJ_STR(claim_client, client_id)
SUBJ_STR(claim_jti, jti)

static const struct ydoc_key claim_keys[] = {
    YDOC_KEY_CALL("sub", claim_sub),
    YDOC_KEY_CALL("groups", claim_groups),
    YDOC_KEY_CALL("roles", claim_roles),
    YDOC_KEY_CALL("amr", claim_amr),
    YDOC_KEY_CALL("acr", claim_acr),
    YDOC_KEY_CALL("auth_time", claim_auth_time),
    YDOC_KEY_CALL("iat", claim_iat),
    YDOC_KEY_CALL("deviceid", claim_deviceid),
    YDOC_KEY_CALL("signin_risk", claim_risk),
    YDOC_KEY_CALL("azp", claim_client),
    YDOC_KEY_CALL("client_id", claim_client),
    YDOC_KEY_CALL("jti", claim_jti),
    YDOC_KEY_END,
};

/* --- device and user records ------------------------------------------------------- */

static const char *
copy_n(void *ctx, const char *s, size_t n)
{
	return arena_strndup(&((struct policy_cases *)ctx)->mem, s, n);
}

/* --- a case ----------------------------------------------------------------------- */

static int
case_name(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_str(p, v, &((struct policy_case *)t)->name);
}

static int
case_request(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return ydoc_parse_map(p, v, request_keys, t);
}

static int
case_claims(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return ydoc_parse_map(p, v, claim_keys, t);
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

static int
case_expect(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	static const char *const names[] = {"allow", "deny", "step-up"};
	static const enum decision values[] = {DECISION_ALLOW, DECISION_DENY, DECISION_STEP_UP};
	int k = 0;

	if (get_enum(p, v, names, 3, "expect", &k) != 0)
		return -1;
	((struct policy_case *)t)->expect = values[k];
	return 0;
}

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

static const struct ydoc_key case_keys[] = {
    YDOC_KEY_CALL("name", case_name),
    YDOC_KEY_CALL("request", case_request),
    YDOC_KEY_CALL("claims", case_claims),
    YDOC_KEY_CALL("device", case_device),
    YDOC_KEY_CALL("user", case_user),
    YDOC_KEY_CALL("expect", case_expect),
    YDOC_KEY_CALL("expect_policies", case_expect_policies),
    YDOC_KEY_END,
};

static int
parse_case(struct case_parse *cp, yaml_node_t *n, struct policy_case *c)
{
	char where[512];
	yaml_node_t *k, *v;
	bool has_expect = false;

	memset(c, 0, sizeof(*c));
	c->method = "GET";
	c->uri = "/";
	c->client = CLIENT_API;
	record_device_init(&c->device);
	c->subject.iat = cp->now;
	snprintf(where, sizeof(where), "%s:%zu:%zu", ydoc_name(cp->p.doc), n->start_mark.line + 1,
	         n->start_mark.column + 1);
	c->where = copy(&cp->p, where);
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
	if (c->subject.user == NULL)
		return YDOC_ERR(&cp->p, n, "case \"%s\" needs claims.sub", c->name);
	return 0;
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
policy_cases_load_buffer(const char *name, const char *buf, int64_t now, char *err, size_t errsz)
{
	struct policy_cases *pc = cases_new();
	struct case_parse cp = {{NULL, err, errsz}, pc, now};
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

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct policy_cases *
policy_cases_load(const char *dir, int64_t now, char *err, size_t errsz)
{
	struct policy_cases *pc = cases_new();
	struct case_parse cp = {{NULL, err, errsz}, pc, now};
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
