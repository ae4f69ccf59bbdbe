/* claims.h - an issuer's claim mapping compiled once into names and nested paths */
#ifndef PDP_CLAIMS_H
#define PDP_CLAIMS_H

#include <stddef.h>

#include "core/json_doc.h"
#include "identity/issuer.h"

/* One mapped claim: its name, and its index in the path set when it holds a dot (else -1). */
struct claim_ref {
	char *name;
	size_t len;
	int path;
};

#define CLAIMS_MAX_LIST 8 /* names merged into groups or roles */

/* An issuer's mapping; name NULL: the claim is not mapped (client_id: azp, else client_id). */
struct claim_map {
	struct claim_ref user, device_id, sign_in_risk, amr, acr, client_id;
	struct claim_ref groups[CLAIMS_MAX_LIST], roles[CLAIMS_MAX_LIST];
	size_t n_groups, n_roles;
	int on_groups_overage; /* enum groups_overage */
};

/*
 * The distinct dotted paths of all issuers' maps, looked for in every
 * payload. Path 0 is always "_claim_names.groups" (group overage). The
 * segments point into the maps' names.
 */
struct claim_paths {
	struct jdoc_path path[JDOC_MAX_PATHS];
	const char *name[JDOC_MAX_PATHS];
	size_t n;
};
#define CLAIMS_PATH_OVERAGE 0

void claim_paths_init(struct claim_paths *ps);

/*
 * Compiles c into m, adding its dotted names to ps. Returns 0, or -1 with
 * the reason in err (out of memory, a name with an empty segment, too many
 * paths). Free m with claim_map_free, even after a failure.
 */
int claim_map_compile(struct claim_map *m, const struct config_claims *c, int on_groups_overage,
                      struct claim_paths *ps, char *err, size_t errsz);
void claim_map_free(struct claim_map *m);

/* r's value in doc (parsed with ps's paths): the exact top-level member, else its path; or NULL. */
const struct jdoc_val *claim_lookup(const struct jdoc *doc, const struct claim_ref *r);

#endif
