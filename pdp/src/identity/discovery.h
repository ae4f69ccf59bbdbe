/* discovery.h - OpenID Connect Discovery: where an issuer's keys are, and which URLs may be fetched
 */
#ifndef PDP_DISCOVERY_H
#define PDP_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

/*
 * The URL rule for every key fetch: "https://host[:port]/...", or
 * "http://..." only when host is a loopback address (127.0.0.0/8, [::1],
 * localhost). No credentials (user@host), no spaces or control characters.
 * Returns 0, or -1 with why ("must be https://...") in why.
 */
int discovery_check_url(const char *url, char *why, size_t whysz);

/*
 * The discovery document's URL for issuer: issuer less one trailing "/",
 * then "/.well-known/openid-configuration" (OIDC Discovery 1.0 §4). The
 * caller frees it; NULL when out of memory.
 */
char *discovery_url(const char *issuer);

/*
 * Reads a discovery document (text, len bytes; overwritten while parsed):
 * its "issuer" must equal issuer exactly, its "jwks_uri" must be a string
 * that passes discovery_check_url. Returns 0 and the jwks_uri in *jwks_uri
 * (the caller frees it), or -1 with the reason in err (values from the
 * document escaped).
 */
int discovery_parse(char *text, size_t len, const char *issuer, char **jwks_uri, char *err,
                    size_t errsz);

/*
 * The freshness a Cache-Control header value (NULL: none) gives, in
 * seconds: its max-age directive (the smallest when repeated), 0 for
 * no-store or no-cache (refetch as soon as allowed), -1 when it says
 * neither or cannot be read.
 */
int64_t discovery_max_age(const char *cache_control);

#endif
