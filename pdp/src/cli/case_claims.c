/* case_claims.c - test cases' and pdp explain's claims, mapped as the daemon maps a token's */
#include "cli/case_claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_doc.h"
#include "identity/claims.h"
#include "identity/subject.h"

struct case_claims {
	struct claim_paths paths; /* every mapping's dotted names, looked for in every parse */
	struct claim_map *maps;   /* one per issuer, then the default mapping */
	const char *const *names; /* per issuer: its name; the default has none */
	size_t n;                 /* issuers */
	size_t n_maps;            /* maps compiled, to free */
	struct jdoc *doc;
};

/* Members any token may carry besides what its mapping reads. */
static const char *const always_read[] = {
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "azp",
    "client_id",
    "hasgroups",
    "_claim_names",
    "_claim_sources",
    NULL,
};

struct case_claims *
case_claims_new(const struct config *cfg, char *err, size_t errsz)
{
	struct case_claims *cc = calloc(1, sizeof(*cc));
	struct config_claims defaults = {0};
	size_t n = cfg != NULL ? cfg->n_issuers : 0;
	const char **names = NULL;

	if (cc == NULL || (cc->maps = calloc(n + 1, sizeof(*cc->maps))) == NULL ||
	    (names = calloc(n + 1, sizeof(*names))) == NULL || (cc->doc = jdoc_new()) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	cc->names = names;
	cc->n = n;
	claim_paths_init(&cc->paths);
	for (size_t i = 0; i < n; i++) {
		const struct config_issuer *is = &cfg->issuers[i];

		names[i] = is->issuer;
		cc->n_maps++;
		if (claim_map_compile(&cc->maps[i], &is->claims, is->on_groups_overage, &cc->paths,
		                      err, errsz) != 0)
			goto fail;
	}
	if (config_claims_default(&defaults) != 0) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	cc->n_maps++;
	if (claim_map_compile(&cc->maps[n], &defaults, GROUPS_OVERAGE_DENY, &cc->paths, err,
	                      errsz) != 0)
		goto fail;
	config_claims_free(&defaults);
	return cc;
fail:
	config_claims_free(&defaults);
	case_claims_free(cc);
	return NULL;
}

void
case_claims_free(struct case_claims *cc)
{
	if (cc == NULL)
		return;
	for (size_t i = 0; i < cc->n_maps; i++)
		claim_map_free(&cc->maps[i]);
	free(cc->maps);
	free((void *)cc->names);
	jdoc_free(cc->doc);
	free(cc);
}

/* Whether r reads the top-level member name (len bytes): its name, or its path's first segment. */
static bool
ref_reads(const struct claim_ref *r, const char *name, size_t len)
{
	const char *dot;

	if (r->name == NULL)
		return false;
	if (r->len == len && memcmp(r->name, name, len) == 0)
		return true;
	dot = memchr(r->name, '.', r->len);
	return dot != NULL && (size_t)(dot - r->name) == len && memcmp(r->name, name, len) == 0;
}

/* The claims m reads, as refs: user, groups, roles, then the optional ones it maps. */
static size_t
map_refs(const struct claim_map *m, const struct claim_ref **refs)
{
	const struct claim_ref *opt[] = {&m->device_id, &m->sign_in_risk, &m->amr, &m->acr,
	                                 &m->client_id};
	size_t n = 0;

	refs[n++] = &m->user;
	for (size_t i = 0; i < m->n_groups; i++)
		refs[n++] = &m->groups[i];
	for (size_t i = 0; i < m->n_roles; i++)
		refs[n++] = &m->roles[i];
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		if (opt[i]->name != NULL)
			refs[n++] = opt[i];
	}
	return n;
}

#define MAP_REFS_MAX (6 + 2 * CLAIMS_MAX_LIST)

/* Whether m or every token reads the top-level member name (len bytes). */
static bool
member_read(const struct claim_map *m, const char *name, size_t len)
{
	const struct claim_ref *refs[MAP_REFS_MAX];
	size_t n = map_refs(m, refs);

	for (size_t i = 0; i < n; i++) {
		if (ref_reads(refs[i], name, len))
			return true;
	}
	for (size_t i = 0; always_read[i] != NULL; i++) {
		if (strlen(always_read[i]) == len && memcmp(always_read[i], name, len) == 0)
			return true;
	}
	return false;
}

/* "unknown key "x" (the claims mapping of issuer "I" reads a, b, c)" into why. */
static void
say_unknown(const struct claim_map *m, const char *issuer, const char *name, size_t len, char *why,
            size_t whysz)
{
	const struct claim_ref *refs[MAP_REFS_MAX];
	size_t n = map_refs(m, refs);
	size_t o;

	if (issuer != NULL)
		o = (size_t)snprintf(
		    why, whysz, "unknown key \"%.*s\" (the claims mapping of issuer \"%s\" reads ",
		    (int)len, name, issuer);
	else
		o = (size_t)snprintf(why, whysz,
		                     "unknown key \"%.*s\" (the default claims mapping reads ",
		                     (int)len, name);
	for (size_t i = 0; i < n && o < whysz; i++)
		o += (size_t)snprintf(why + o, whysz - o, "%s%s", i ? ", " : "", refs[i]->name);
	if (o < whysz)
		snprintf(why + o, whysz - o, ")");
}

/* The top-level member a message names first ("claim \"a.b\" ..." names a), into at. */
static void
named_member(const struct jdoc *doc, const char *why, char *at, size_t atsz)
{
	const char *q = strchr(why, '"'), *end, *dot;
	size_t len;

	if (q == NULL || (end = strchr(q + 1, '"')) == NULL)
		return;
	len = (size_t)(end - q - 1);
	if (jdoc_get(doc, q + 1, len) == NULL && (dot = memchr(q + 1, '.', len)) != NULL)
		len = (size_t)(dot - q - 1);
	if (jdoc_get(doc, q + 1, len) != NULL)
		snprintf(at, atsz, "%.*s", (int)len, q + 1);
}

int
case_claims_map(void *ctx, char *json, size_t len, struct subject **out, char *at, size_t atsz,
                char *why, size_t whysz)
{
	struct case_claims *cc = ctx;
	const struct claim_map *m = &cc->maps[cc->n];
	const char *issuer = NULL, *name;
	const struct jdoc_val *iss, *v;
	int64_t iat = 0, exp = 0;
	enum jdoc_err e;
	size_t nlen;

	at[0] = '\0';
	e = jdoc_parse_paths(cc->doc, json, len, cc->paths.path, cc->paths.n);
	if (e != JDOC_OK) {
		snprintf(why, whysz, "claims: %s", jdoc_strerror(e));
		return -1;
	}
	/* Whose mapping: the issuer iss names, else the only one, else the defaults. */
	iss = jdoc_get(cc->doc, "iss", 3);
	for (size_t i = 0; iss != NULL && iss->kind == JDOC_STRING && i < cc->n; i++) {
		if (strcmp(iss->str, cc->names[i]) == 0)
			issuer = cc->names[i], m = &cc->maps[i];
	}
	if (issuer == NULL && cc->n == 1)
		issuer = cc->names[0], m = &cc->maps[0];
	for (size_t i = 0; i < jdoc_size(cc->doc); i++) {
		jdoc_member(cc->doc, i, &name, &nlen);
		if (!member_read(m, name, nlen)) {
			snprintf(at, atsz, "%.*s", (int)nlen, name);
			say_unknown(m, issuer, name, nlen, why, whysz);
			return -1;
		}
	}
	if ((v = jdoc_get(cc->doc, "iat", 3)) == NULL || numeric_date_read(v, &iat) != 0) {
		snprintf(at, atsz, "iat");
		snprintf(why, whysz, "claim iat must be a NumericDate");
		return -1;
	}
	if ((v = jdoc_get(cc->doc, "exp", 3)) != NULL && numeric_date_read(v, &exp) != 0) {
		snprintf(at, atsz, "exp");
		snprintf(why, whysz, "claim exp must be a NumericDate");
		return -1;
	}
	if (subject_build(m, issuer != NULL ? issuer : "", issuer != NULL ? strlen(issuer) : 0, 0,
	                  cc->doc, iat, exp, out, why, whysz) != SUBJECT_OK) {
		named_member(cc->doc, why, at, atsz);
		return -1;
	}
	return 0;
}
