/* parse_policy.c - one policy: its users, apps, conditions, grant and session controls */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/loader.h"

static int
users_users(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return loader_idlist(L(p), v, &L(p)->set->users, &((struct pol_users *)t)->users, "users");
}

static int
users_groups(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return loader_idlist(L(p), v, &L(p)->set->groups, &((struct pol_users *)t)->groups,
	                     "groups");
}

static int
users_roles(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return loader_idlist(L(p), v, &L(p)->set->roles, &((struct pol_users *)t)->roles, "roles");
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
	return loader_refs(L(p), REF_APP, v, &a->apps, "apps include", NULL, NULL);
}

static int
papps_exclude(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	if (loader_empty_list(v))
		return 0;
	return loader_refs(L(p), REF_APP, v, &((struct pol_policy *)t)->apps_exclude.apps,
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

	return loader_refs(l, REF_LOCATION, v, &s->locations, what, keywords, flags);
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
	if (loader_empty_list(v))
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
	return loader_mask(l, v, platform_names, PLATFORM_COUNT, what, out);
}

static int
cplat_include(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return platform_mask(L(p), v, &((struct pol_conditions *)t)->platform_include, "platform");
}

static int
cplat_exclude(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	if (loader_empty_list(v))
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
	return loader_mask(L(p), v, risk_level_names, RISK_COUNT, "risk level",
	                   &((struct pol_conditions *)t)->user_risk);
}

static int
cond_sign_in_risk(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return loader_mask(L(p), v, risk_level_names, RISK_COUNT, "risk level",
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

	return loader_mask(L(p), v, names, 2, "client app",
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
		return loader_list(L(p), v, &r->values, &r->n_values, "in");
	if (ydoc_scalar(v) == NULL || v->data.scalar.length == 0)
		return YDOC_ERR(p, v, "expected a non-empty value");
	r->values = loader_alloc(L(p), sizeof(char *));
	if (r->values == NULL || (r->values[0] = loader_strdup(L(p), ydoc_scalar(v))) == NULL)
		return loader_oom(L(p), v);
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
	f->rules = loader_alloc(L(p), n * sizeof(*f->rules));
	if (f->rules == NULL)
		return loader_oom(L(p), v);
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
	pol->controls = loader_alloc(L(p), n * sizeof(*pol->controls));
	if (pol->controls == NULL)
		return loader_oom(L(p), v);
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
	return loader_id(L(p), v, &((struct pol_policy *)t)->id);
}

static int
pol_name(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const char *s;

	if (ydoc_get_string(p->doc, v, &s, p->err, p->errsz) != 0)
		return -1;
	((struct pol_policy *)t)->name = loader_strdup(L(p), s);
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
