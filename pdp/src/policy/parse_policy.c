/* parse_policy.c - one policy: its users, apps, conditions, grant and session controls */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/loader.h"

/* --- users and apps ------------------------------------------------------------ */

static const struct ydoc_key userset_keys[] = {
    LOADER_KEY_IDLIST("users", struct pol_users, users, users),
    LOADER_KEY_IDLIST("groups", struct pol_users, groups, groups),
    LOADER_KEY_IDLIST("roles", struct pol_users, roles, roles),
    YDOC_KEY_END,
};

/* all, or users, groups and roles into a struct pol_users; a row's min 1: it must name one. */
static int
set_userset(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	struct pol_users *u = field;
	const char *s = ydoc_scalar(v);

	if (s != NULL && strcmp(s, "all") == 0) {
		u->all = true;
		return 0;
	}
	if (v->type != YAML_MAPPING_NODE)
		return YDOC_ERR(p, v,
		                "expected all or { users: [...], groups: [...], roles: [...] }");
	if (ydoc_parse_map(p, v, userset_keys, u) != 0)
		return -1;
	if (k->min > 0 && u->users.n + u->groups.n + u->roles.n == 0)
		return YDOC_ERR(p, v,
		                "include names nobody: list users, groups or roles, or say all");
	return 0;
}

/* How a list of references reads: its kind, its name in messages, what else it takes. */
struct refs_arg {
	enum ref_kind kind;
	const char *what;
	bool all;       /* "all" sets the set's all */
	bool may_empty; /* [] names nothing (an exclude) */
};

/* A list of app or location ids (or keywords) into a struct pol_apps or pol_locations. */
static int
set_refs(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	static const char *const keywords[2] = {"any", "trusted"};
	const struct refs_arg *a = k->arg;
	const char *s = ydoc_scalar(v);

	if (a->may_empty && loader_empty_list(v))
		return 0;
	if (a->kind == REF_APP) {
		struct pol_apps *apps = field;

		if (a->all && s != NULL && strcmp(s, "all") == 0) {
			apps->all = true;
			return 0;
		}
		return loader_refs(L(p), REF_APP, v, &apps->apps, a->what, NULL, NULL);
	} else {
		struct pol_locations *locs = field;
		bool *flags[2] = {&locs->any, &locs->trusted};

		return loader_refs(L(p), REF_LOCATION, v, &locs->locations, a->what, keywords,
		                   flags);
	}
}

#define REFS_KEY(n, type, field, ...)                                                              \
	YDOC_KEY_SLOT(n, set_refs, offsetof(type, field), (&(const struct refs_arg){__VA_ARGS__}))

static const struct ydoc_key pusers_keys[] = {
    {.name = "include",
     .kind = YDOC_SLOT,
     .slot = set_userset,
     .offset = offsetof(struct pol_policy, users_include),
     .min = 1},
    YDOC_KEY_SLOT("exclude", set_userset, offsetof(struct pol_policy, users_exclude), NULL),
    YDOC_KEY_END,
};

static const struct ydoc_key papps_keys[] = {
    REFS_KEY("include", struct pol_policy, apps_include, .kind = REF_APP, .what = "apps include",
             .all = true),
    REFS_KEY("exclude", struct pol_policy, apps_exclude, .kind = REF_APP, .what = "apps exclude",
             .may_empty = true),
    YDOC_KEY_END,
};

/* --- conditions ------------------------------------------------------------------ */

static const struct ydoc_key cloc_keys[] = {
    REFS_KEY("include", struct pol_conditions, loc_include, .kind = REF_LOCATION,
             .what = "locations include"),
    REFS_KEY("exclude", struct pol_conditions, loc_exclude, .kind = REF_LOCATION,
             .what = "locations exclude", .may_empty = true),
    YDOC_KEY_END,
};

/* Platform lists accept "any" for every platform; a row's min 1: [] names none (an exclude). */
static int
set_platforms(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	unsigned *out = field;
	const char *s = ydoc_scalar(v);

	if (k->min > 0 && loader_empty_list(v))
		return 0;
	if (s != NULL && strcmp(s, "any") == 0) {
		*out = PLATFORM_ALL_MASK;
		return 0;
	}
	if (v->type == YAML_SEQUENCE_NODE) {
		yaml_node_t *item;

		YDOC_SEQ_FOREACH(p->doc, v, item)
		{
			const char *name = ydoc_scalar(item);

			if (name != NULL && strcmp(name, "any") == 0) {
				*out = PLATFORM_ALL_MASK;
				return 0;
			}
		}
	}
	return loader_mask(L(p), v, platform_names, PLATFORM_COUNT, "platform", out);
}

static const struct ydoc_key cplat_keys[] = {
    YDOC_KEY_SLOT("include", set_platforms,
                  YDOC_FIELD(struct pol_conditions, platform_include, unsigned), NULL),
    {.name = "exclude",
     .kind = YDOC_SLOT,
     .slot = set_platforms,
     .offset = YDOC_FIELD(struct pol_conditions, platform_exclude, unsigned),
     .min = 1},
    YDOC_KEY_END,
};

static int
check_locations(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_conditions *c = t;

	if (c->loc_include.locations.n == 0 && !c->loc_include.any && !c->loc_include.trusted)
		return YDOC_ERR(p, v, "locations needs a non-empty include (ids, any or trusted)");
	c->has_locations = true;
	return 0;
}

static int
check_platforms(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_conditions *c = t;

	if (c->platform_include == 0)
		return YDOC_ERR(p, v, "device_platforms needs a non-empty include");
	c->has_platforms = true;
	return 0;
}

/* equals, in or prefix (arg: its enum filter_op) into a struct pol_filter_rule. */
static int
set_rule_value(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	struct pol_filter_rule *r = field;

	if (r->n_values != 0)
		return YDOC_ERR(p, v, "a rule has exactly one of equals, in and prefix");
	r->op = *(const enum filter_op *)k->arg;
	if (r->op == FILTER_IN)
		return loader_list(L(p), v, &r->values, &r->n_values, "in");
	if (ydoc_scalar(v) == NULL || v->data.scalar.length == 0)
		return YDOC_ERR(p, v, "expected a non-empty value");
	r->values = loader_alloc(L(p), sizeof(char *));
	if (r->values == NULL || (r->values[0] = loader_strdup(L(p), ydoc_scalar(v))) == NULL)
		return loader_oom(L(p), v);
	r->n_values = 1;
	return 0;
}

#define RULE_VALUE_KEY(n, op) YDOC_KEY_SLOT(n, set_rule_value, 0, (&(const enum filter_op){op}))

static const struct ydoc_key rule_keys[] = {
    YDOC_KEY_CHOICE("attribute", struct pol_filter_rule, attr, policy_device_attr_names),
    RULE_VALUE_KEY("equals", FILTER_EQUALS),
    RULE_VALUE_KEY("in", FILTER_IN),
    RULE_VALUE_KEY("prefix", FILTER_PREFIX),
    YDOC_KEY_END,
};

static int
filter_rules(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_device_filter *f = t;
	yaml_node_t *item;

	if ((f->rules =
	         loader_seq_array(L(p), v, sizeof(*f->rules), "rules is a non-empty list")) == NULL)
		return -1;
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

static const char *const filter_modes[] = {"include", "exclude", NULL};
static const char *const filter_matches[] = {"all", "any", NULL};

static const struct ydoc_key filter_keys[] = {
    YDOC_KEY_CHOICE("mode", struct pol_device_filter, mode, filter_modes),
    YDOC_KEY_CHOICE("match", struct pol_device_filter, match, filter_matches),
    YDOC_KEY_CALL("rules", filter_rules),
    YDOC_KEY_END,
};

static int
check_device_filter(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_device_filter *f = &((struct pol_conditions *)t)->device_filter;
	bool mode_given = false;
	yaml_node_t *k, *val;

	YDOC_MAP_FOREACH(p->doc, v, k, val)
	{
		(void)val;
		mode_given |= strcmp(ydoc_scalar(k), "mode") == 0;
	}
	if (!mode_given || f->n_rules == 0)
		return YDOC_ERR(p, v, "device_filter needs mode and rules");
	f->present = true;
	return 0;
}

static const char *const client_app_names[] = {"browser", "api"};

static const struct ydoc_key cond_keys[] = {
    LOADER_KEY_MASK("user_risk", struct pol_conditions, user_risk, risk_level_names, RISK_COUNT,
                    "risk level"),
    LOADER_KEY_MASK("sign_in_risk", struct pol_conditions, sign_in_risk, risk_level_names,
                    RISK_COUNT, "risk level"),
    {.name = "locations", .kind = YDOC_MAP, .arg = cloc_keys, .check = check_locations},
    {.name = "device_platforms", .kind = YDOC_MAP, .arg = cplat_keys, .check = check_platforms},
    LOADER_KEY_MASK("client_apps", struct pol_conditions, client_apps, client_app_names, 2,
                    "client app"),
    {.name = "device_filter",
     .kind = YDOC_MAP,
     .offset = offsetof(struct pol_conditions, device_filter),
     .arg = filter_keys,
     .check = check_device_filter},
    YDOC_KEY_END,
};

/* --- grant and session ------------------------------------------------------------- */

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
			return loader_ref(l, REF_STRENGTH, "mfa", item, &c->strength);
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
			if (loader_id(l, v, &id) != 0)
				return -1;
			return loader_ref(l, REF_STRENGTH, id, v, &c->strength);
		}
		if (strcmp(key, "approved_clients") == 0) {
			c->type = CONTROL_APPROVED_CLIENTS;
			return loader_idlist(l, v, &l->set->clients, &c->clients,
			                     "approved_clients");
		}
		return YDOC_ERR(&l->p, k,
		                "unknown control \"%s\" (expected strength or approved_clients)",
		                key);
	}
	return 0;
}

static int
grant_controls(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct pol_policy *pol = t;
	yaml_node_t *item;

	pol->controls =
	    loader_seq_array(L(p), v, sizeof(*pol->controls), "controls is a non-empty list");
	if (pol->controls == NULL)
		return -1;
	YDOC_SEQ_FOREACH(p->doc, v, item)
	{
		if (parse_control(L(p), item, &pol->controls[pol->n_controls++]) != 0)
			return -1;
	}
	return 0;
}

static const char *const grant_requires[] = {"all", "one", NULL};

static const struct ydoc_key grant_keys[] = {
    YDOC_KEY_CHOICE("require", struct pol_policy, require, grant_requires),
    YDOC_KEY_CALL("controls", grant_controls),
    YDOC_KEY_END,
};

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

/* --- a policy ------------------------------------------------------------------------ */

static int
check_users(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const struct pol_users *u = &((struct pol_policy *)t)->users_include;

	if (!u->all && u->users.n + u->groups.n + u->roles.n == 0)
		return YDOC_ERR(p, v, "users needs include");
	return 0;
}

static int
check_apps(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const struct pol_apps *a = &((struct pol_policy *)t)->apps_include;

	if (!a->all && a->apps.n == 0)
		return YDOC_ERR(p, v, "apps needs include (app ids or all)");
	return 0;
}

static const struct ydoc_key policy_keys[] = {
    LOADER_KEY_ID("id", struct pol_policy, id),
    LOADER_KEY_TEXT("name", struct pol_policy, name),
    YDOC_KEY_CHOICE("state", struct pol_policy, state, policy_state_names),
    {.name = "users", .kind = YDOC_MAP, .arg = pusers_keys, .check = check_users},
    {.name = "apps", .kind = YDOC_MAP, .arg = papps_keys, .check = check_apps},
    YDOC_KEY_MAP("conditions", struct pol_policy, cond, cond_keys),
    YDOC_KEY_CALL("grant", pol_grant),
    {.name = "session", .kind = YDOC_MAP, .arg = session_keys},
    YDOC_KEY_END,
};

int
loader_parse_policy(struct loader *l, yaml_node_t *n, struct pol_policy *pol)
{
	bool has_users = false, has_apps = false, has_grant = false;
	yaml_node_t *k, *v;

	pol->where = loader_where(l, n);
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
		loader_warn(l, pol->where, "policy \"%s\" excludes all users: it never applies",
		            pol->id);
	if (loader_ids_overlap(&pol->users_include.users, &pol->users_exclude.users) ||
	    loader_ids_overlap(&pol->users_include.groups, &pol->users_exclude.groups) ||
	    loader_ids_overlap(&pol->users_include.roles, &pol->users_exclude.roles))
		loader_warn(l, pol->where,
		            "policy \"%s\" includes and excludes the same user, group or role: "
		            "exclude wins",
		            pol->id);
	return 0;
}
