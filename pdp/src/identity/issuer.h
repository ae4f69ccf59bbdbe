/* issuer.h - the issuers the verifier trusts, as configured, and the JWS algorithms */
#ifndef PDP_ISSUER_H
#define PDP_ISSUER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* JWS algorithms (RFC 7518) the verifier knows. */
enum jwa {
	JWA_HS256,
	JWA_HS384,
	JWA_HS512,
	JWA_RS256,
	JWA_RS384,
	JWA_RS512,
	JWA_ES256,
	JWA_ES384,
	JWA_ES512,
	JWA_PS256, /* RSASSA-PSS, MGF1 with the same hash, salt as long as the hash */
	JWA_PS384,
	JWA_PS512,
	JWA_EDDSA, /* EdDSA with Ed25519 (RFC 8037) */
	JWA_COUNT
};
#define JWA_BIT(a)   (1u << (a))
#define JWA_HS_MASK  (JWA_BIT(JWA_HS256) | JWA_BIT(JWA_HS384) | JWA_BIT(JWA_HS512))
#define JWA_RS_MASK  (JWA_BIT(JWA_RS256) | JWA_BIT(JWA_RS384) | JWA_BIT(JWA_RS512))
#define JWA_ES_MASK  (JWA_BIT(JWA_ES256) | JWA_BIT(JWA_ES384) | JWA_BIT(JWA_ES512))
#define JWA_PS_MASK  (JWA_BIT(JWA_PS256) | JWA_BIT(JWA_PS384) | JWA_BIT(JWA_PS512))
#define JWA_ALL_MASK ((1u << JWA_COUNT) - 1)

/* Returns the algorithm named name ("RS256", "EdDSA"), or -1. "none" is never an algorithm. */
int jwa_from_name(const char *name, size_t len);
const char *jwa_name(enum jwa alg);

/*
 * The claim names an issuer's tokens use for each part of the subject. Each
 * is an exact top-level member, else a dotted path through nested objects;
 * groups and roles list several whose values merge, in order.
 */
struct config_claims {
	char *user;
	char **groups;
	size_t n_groups;
	char **roles;
	size_t n_roles;
	char *device_id;
	char *sign_in_risk;
	char *amr;
	char *acr;
	char *client_id; /* NULL: azp, else client_id */
};

/* What a token that signals group overage and lists no groups gets (DESIGN §4). */
enum groups_overage { GROUPS_OVERAGE_DENY, GROUPS_OVERAGE_IGNORE };

/* One issuer of the config file's issuers list (DESIGN §4). */
struct config_issuer {
	char *issuer;
	char **audiences;
	size_t n_audiences;
	/* Where the keys come from: exactly one of jwks_file, jwks_uri, discovery,
	 * hmac_secret_file. */
	char *jwks_file;
	char *jwks_uri; /* https; http only to a loopback address */
	bool discovery; /* jwks_uri from {issuer}/.well-known/openid-configuration */
	char *hmac_secret_file;
	char *tls_ca_file;            /* NULL: the system's trust store (jwks_uri, discovery) */
	uint64_t jwks_refresh_ms;     /* fetched keys are refreshed this often (default 5m) */
	uint64_t jwks_min_refetch_ms; /* an unknown kid refetches at most this often (30s) */
	unsigned algorithms;          /* JWA_BIT mask */
	uint64_t leeway_s;
	struct config_claims claims;
	int on_groups_overage; /* enum groups_overage */
	char where[64];        /* "file:line" of the entry, for later errors */
};

#endif
