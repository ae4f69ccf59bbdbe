/* claims.c - an issuer's claim mapping compiled once into names and nested paths */
#include "identity/claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char overage_path[] = "_claim_names.groups";

void
claim_paths_init(struct claim_paths *ps)
{
	ps->n = 1;
	ps->name[0] = overage_path;
	jdoc_path_compile(&ps->path[0], overage_path, sizeof(overage_path) - 1);
}

/* Fills r from name (NULL: unmapped), adding a dotted name's path to ps. */
static int
ref_compile(struct claim_ref *r, const char *name, struct claim_paths *ps, char *err, size_t errsz)
{
	r->name = NULL;
	r->len = 0;
	r->path = -1;
	if (name == NULL)
		return 0;
	if ((r->name = strdup(name)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	r->len = strlen(name);
	if (memchr(name, '.', r->len) == NULL)
		return 0;
	for (size_t i = 0; i < ps->n; i++) {
		if (strcmp(ps->name[i], name) == 0) {
			r->path = (int)i;
			return 0;
		}
	}
	if (ps->n == JDOC_MAX_PATHS) {
		snprintf(err, errsz, "claims: more than %d distinct dotted claim names",
		         JDOC_MAX_PATHS);
		return -1;
	}
	/* A name no path can be ("a..b", ".a") still matches an exact member. */
	if (jdoc_path_compile(&ps->path[ps->n], r->name, r->len) != 0)
		return 0;
	ps->name[ps->n] = r->name;
	r->path = (int)ps->n++;
	return 0;
}

static int
list_compile(struct claim_ref *refs, size_t *n, char *const *names, size_t count,
             struct claim_paths *ps, char *err, size_t errsz)
{
	if (count > CLAIMS_MAX_LIST) {
		snprintf(err, errsz, "claims: at most %d names merge into one list",
		         CLAIMS_MAX_LIST);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (ref_compile(&refs[i], names[i], ps, err, errsz) != 0)
			return -1;
		*n = i + 1;
	}
	return 0;
}

int
claim_map_compile(struct claim_map *m, const struct config_claims *c, int on_groups_overage,
                  struct claim_paths *ps, char *err, size_t errsz)
{
	memset(m, 0, sizeof(*m));
	m->on_groups_overage = on_groups_overage;
	if (ref_compile(&m->user, c->user, ps, err, errsz) != 0 ||
	    ref_compile(&m->device_id, c->device_id, ps, err, errsz) != 0 ||
	    ref_compile(&m->sign_in_risk, c->sign_in_risk, ps, err, errsz) != 0 ||
	    ref_compile(&m->amr, c->amr, ps, err, errsz) != 0 ||
	    ref_compile(&m->acr, c->acr, ps, err, errsz) != 0 ||
	    ref_compile(&m->client_id, c->client_id, ps, err, errsz) != 0 ||
	    list_compile(m->groups, &m->n_groups, c->groups, c->n_groups, ps, err, errsz) != 0 ||
	    list_compile(m->roles, &m->n_roles, c->roles, c->n_roles, ps, err, errsz) != 0)
		return -1;
	if (m->user.name == NULL) {
		snprintf(err, errsz, "claims: no user claim");
		return -1;
	}
	return 0;
}

void
claim_map_free(struct claim_map *m)
{
	free(m->user.name);
	free(m->device_id.name);
	free(m->sign_in_risk.name);
	free(m->amr.name);
	free(m->acr.name);
	free(m->client_id.name);
	for (size_t i = 0; i < m->n_groups; i++)
		free(m->groups[i].name);
	for (size_t i = 0; i < m->n_roles; i++)
		free(m->roles[i].name);
}

const struct jdoc_val *
claim_lookup(const struct jdoc *doc, const struct claim_ref *r)
{
	const struct jdoc_val *v;

	if (r->name == NULL)
		return NULL;
	v = jdoc_get(doc, r->name, r->len);
	if (v == NULL && r->path >= 0)
		v = jdoc_found(doc, (size_t)r->path);
	return v;
}
