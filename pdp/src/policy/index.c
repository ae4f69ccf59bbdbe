/* index.c - a parsed policy set resolved and indexed: references, candidates, routes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/loader.h"

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
	qsort(ids, list->n, sizeof(*ids), loader_sort_ids);
	for (size_t i = 0; i < list->n; i++) {
		if (k == 0 || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	}
	list->n = k;
}

/* Checks ids are unique per kind and points every reference at what it names. */
int
loader_resolve(struct loader *l)
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
		if (loader_ids_overlap(&pol->apps_include.apps, &pol->apps_exclude.apps))
			loader_warn(
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
int
loader_index_policies(struct loader *l)
{
	struct policy_set *set = l->set;
	size_t *count = calloc(set->n_apps + 1, sizeof(*count));
	struct candidate **lists = calloc(set->n_apps + 1, sizeof(*lists));
	int rc = -1;

	set->app_policies = loader_alloc(l, (set->n_apps + 1) * sizeof(*set->app_policies));
	if (count == NULL || lists == NULL || set->app_policies == NULL)
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t a = 0; a <= set->n_apps; a++) {
			if (pass == 1 &&
			    (lists[a] = loader_alloc(l, count[a] * sizeof(**lists))) == NULL)
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
				loader_warn(
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
int
loader_index_routes(struct loader *l)
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
	set->hosts = loader_alloc(l, (n ? n : 1) * sizeof(*set->hosts));
	if (set->hosts == NULL) {
		free(tmp);
		return -1;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;
		struct route *routes;

		while (j < n && strcmp(tmp[j].host, tmp[i].host) == 0)
			j++;
		routes = loader_alloc(l, (j - i) * sizeof(*routes));
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
