/* case_claims.h - test cases' and pdp explain's claims, mapped as the daemon maps a token's */
#ifndef PDP_CASE_CLAIMS_H
#define PDP_CASE_CLAIMS_H

#include <stddef.h>

#include "core/types.h"
#include "service/config.h"

/* The config's issuers' claim mappings, compiled, and the default mapping. */
struct case_claims;

/*
 * Compiles the claim mapping of each of cfg's issuers, and the default one
 * (DESIGN §4: sub, groups, roles, ...; group overage denies). cfg NULL: the
 * default only. Returns NULL with the reason in err; free with
 * case_claims_free.
 */
struct case_claims *case_claims_new(const struct config *cfg, char *err, size_t errsz);
void case_claims_free(struct case_claims *cc);

/*
 * A policy_claims_map's map (policy/cases.h), ctx a struct case_claims: the
 * claims, one JSON object, made a subject by subject_build with the mapping
 * of the issuer their iss names, else of the only issuer, else the default
 * one. A member no part of that mapping reads, and no registered claim
 * (iss, sub, aud, exp, nbf, iat, jti, auth_time, azp, client_id) nor part of
 * a group overage (hasgroups, _claim_names, _claim_sources), is an error:
 * a misspelt claim is never silently absent. iat is required (the case
 * parser supplies it).
 */
int case_claims_map(void *ctx, char *json, size_t len, struct subject **out, char *at, size_t atsz,
                    char *why, size_t whysz);

#endif
