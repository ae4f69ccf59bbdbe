/* config.c - the daemon's configuration file, read into a read-only struct */
#include "service/config.h"

#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/yaml_doc.h"

static const char *const jwa_names[JWA_COUNT] = {
    [JWA_HS256] = "HS256", [JWA_HS384] = "HS384", [JWA_HS512] = "HS512",
    [JWA_RS256] = "RS256", [JWA_RS384] = "RS384", [JWA_RS512] = "RS512",
    [JWA_ES256] = "ES256", [JWA_ES384] = "ES384", [JWA_ES512] = "ES512",
};

int
jwa_from_name(const char *name, size_t len)
{
	for (int i = 0; i < JWA_COUNT; i++) {
		if (strlen(jwa_names[i]) == len && memcmp(jwa_names[i], name, len) == 0)
			return i;
	}
	return -1;
}

const char *
jwa_name(enum jwa alg)
{
	return (unsigned)alg < JWA_COUNT ? jwa_names[alg] : "?";
}

static int
set_string(struct ydoc_parse *p, yaml_node_t *v, char **dst)
{
	const char *s;
	char *copy;

	if (ydoc_get_string(p->doc, v, &s, p->err, p->errsz) != 0)
		return -1;
	if (s[0] == '\0')
		return YDOC_ERR(p, v, "must not be empty");
	copy = strdup(s);
	if (copy == NULL)
		return YDOC_ERR(p, v, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

static int
set_decision(struct ydoc_parse *p, yaml_node_t *v, enum decision_default *dst)
{
	static const char *const names[] = {"allow", "deny"};
	int k;

	if (ydoc_get_choice(p->doc, v, "a decision", names, 2, &k, p->err, p->errsz) != 0)
		return -1;
	*dst = k == 0 ? DEFAULT_ALLOW : DEFAULT_DENY;
	return 0;
}

/* "unix:/absolute/path" or "tcp:host:port" with an IPv4 or [IPv6] literal host. */
static int
check_address(struct ydoc_parse *p, yaml_node_t *v, const char *s)
{
	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/')
			return YDOC_ERR(p, v, "unix socket path must be absolute (unix:/path)");
		if (strlen(s + 5) >= 108)
			return YDOC_ERR(p, v, "unix socket path too long");
		return 0;
	}
	if (strncmp(s, "tcp:", 4) == 0) {
		const char *host = s + 4, *colon = strrchr(host, ':');
		char buf[64];
		unsigned char addr[16];
		size_t hl;
		char *end;
		long port;

		if (colon == NULL)
			return YDOC_ERR(p, v, "expected tcp:host:port");
		hl = (size_t)(colon - host);
		port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || colon[1] == '\0' || port < 1 || port > 65535)
			return YDOC_ERR(p, v, "bad port in \"%s\"", s);
		if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof(buf)) {
			memcpy(buf, host + 1, hl - 2);
			buf[hl - 2] = '\0';
			if (inet_pton(AF_INET6, buf, addr) == 1)
				return 0;
		} else if (hl < sizeof(buf)) {
			memcpy(buf, host, hl);
			buf[hl] = '\0';
			if (inet_pton(AF_INET, buf, addr) == 1)
				return 0;
		}
		return YDOC_ERR(p, v, "host must be an IPv4 or [IPv6] address in \"%s\"", s);
	}
	return YDOC_ERR(p, v, "expected unix:/path or tcp:host:port");
}

static int
h_listen(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config *c = t;

	if (set_string(p, v, &c->listen) != 0)
		return -1;
	return check_address(p, v, c->listen);
}

static int
h_transport(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const char *s = ydoc_scalar(v);

	(void)t;
	if (s != NULL && strcmp(s, "epoll") == 0)
		return 0;
	/* libfcgi's reader aborts the process on a hostile record and blocks a worker per peer. */
	if (s != NULL && strcmp(s, "libfcgi") == 0)
		return YDOC_ERR(p, v,
		                "transport libfcgi was removed (a peer could crash or stall it); "
		                "epoll is the only transport: drop this key");
	return YDOC_ERR(p, v, "expected epoll (the only transport)");
}

static int
h_threads(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t n;

	if (ydoc_get_uint(p->doc, v, 1, 256, &n, p->err, p->errsz) != 0)
		return -1;
	((struct config *)t)->threads = (unsigned)n;
	return 0;
}

static int
h_backlog(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t n;

	if (ydoc_get_uint(p->doc, v, 1, 65535, &n, p->err, p->errsz) != 0)
		return -1;
	((struct config *)t)->backlog = (unsigned)n;
	return 0;
}

static int
h_read_timeout(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t ms;

	if (ydoc_get_duration_ms(p->doc, v, &ms, p->err, p->errsz) != 0)
		return -1;
	if (ms < 10 || ms > 60000)
		return YDOC_ERR(p, v, "read_timeout must be between 10ms and 60s");
	((struct config *)t)->read_timeout_ms = (unsigned)ms;
	return 0;
}

static int
h_policies(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_string(p, v, &((struct config *)t)->policies);
}

static int
h_default_decision(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_decision(p, v, &((struct config *)t)->default_decision);
}

static int
h_realm(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config *c = t;

	if (set_string(p, v, &c->realm) != 0)
		return -1;
	/* The realm is quoted into WWW-Authenticate: keep it a plain token. */
	for (const char *s = c->realm; *s; s++) {
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return YDOC_ERR(p, v,
			                "realm may hold printable ASCII only, without quotes");
	}
	return 0;
}

static int
h_log_level(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const char *s = ydoc_scalar(v);

	if (s == NULL || log_level_parse(s, &((struct config *)t)->log_level) != 0)
		return YDOC_ERR(p, v, "expected error, warn, info or debug");
	return 0;
}

static int
h_decision_log(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_string(p, v, &((struct config *)t)->decision_log);
}

static int
h_token_cookie(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config *c = t;

	if (set_string(p, v, &c->token_cookie) != 0)
		return -1;
	for (const char *s = c->token_cookie; *s; s++) {
		if (*s <= 0x20 || *s >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *s) != NULL)
			return YDOC_ERR(p, v, "not a valid cookie name");
	}
	return 0;
}

static int
h_token_max_bytes(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t n;

	if (ydoc_get_uint(p->doc, v, 256, 65536, &n, p->err, p->errsz) != 0)
		return -1;
	((struct config *)t)->max_token_bytes = (size_t)n;
	return 0;
}

static int
h_token_cache_entries(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t n;

	if (ydoc_get_uint(p->doc, v, 0, 10000000, &n, p->err, p->errsz) != 0)
		return -1;
	((struct config *)t)->token_cache_entries = (size_t)n;
	return 0;
}

static const struct ydoc_key token_keys[] = {
    YDOC_KEY_CALL("cookie", h_token_cookie),
    YDOC_KEY_CALL("max_bytes", h_token_max_bytes),
    YDOC_KEY_CALL("cache_entries", h_token_cache_entries),
    YDOC_KEY_END,
};

static int
h_token(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return ydoc_parse_map(p, v, token_keys, t);
}

static int
claim_name(struct ydoc_parse *p, yaml_node_t *v, char **dst)
{
	return set_string(p, v, dst);
}

static int
h_claim_user(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return claim_name(p, v, &((struct config_claims *)t)->user);
}

static int
h_claim_groups(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return claim_name(p, v, &((struct config_claims *)t)->groups);
}

static int
h_claim_roles(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return claim_name(p, v, &((struct config_claims *)t)->roles);
}

static int
h_claim_device_id(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return claim_name(p, v, &((struct config_claims *)t)->device_id);
}

static int
h_claim_sign_in_risk(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return claim_name(p, v, &((struct config_claims *)t)->sign_in_risk);
}

static const struct ydoc_key claim_keys[] = {
    YDOC_KEY_CALL("user", h_claim_user),
    YDOC_KEY_CALL("groups", h_claim_groups),
    YDOC_KEY_CALL("roles", h_claim_roles),
    YDOC_KEY_CALL("device_id", h_claim_device_id),
    YDOC_KEY_CALL("sign_in_risk", h_claim_sign_in_risk),
    YDOC_KEY_END,
};

static int
h_iss_issuer(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_string(p, v, &((struct config_issuer *)t)->issuer);
}

static int
h_iss_audiences(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config_issuer *is = t;
	const char **list = NULL;
	size_t n = 0;

	if (ydoc_get_strings(p->doc, v, &list, &n, p->err, p->errsz) != 0)
		return -1;
	if (n == 0) {
		free(list);
		return YDOC_ERR(p, v, "audiences must not be empty");
	}
	is->audiences = calloc(n, sizeof(char *));
	if (is->audiences == NULL) {
		free(list);
		return YDOC_ERR(p, v, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (list[i][0] == '\0' || (is->audiences[i] = strdup(list[i])) == NULL) {
			free(list);
			return YDOC_ERR(p, v, "audience must be a non-empty string");
		}
		is->n_audiences = i + 1;
	}
	free(list);
	return 0;
}

static int
h_iss_jwks_file(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_string(p, v, &((struct config_issuer *)t)->jwks_file);
}

static int
h_iss_hmac_secret_file(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_string(p, v, &((struct config_issuer *)t)->hmac_secret_file);
}

static int
h_iss_algorithms(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config_issuer *is = t;
	const char **list = NULL;
	size_t n = 0;
	unsigned mask = 0;

	if (ydoc_get_strings(p->doc, v, &list, &n, p->err, p->errsz) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int a = jwa_from_name(list[i], strlen(list[i]));

		if (a < 0) {
			YDOC_ERR(
			    p, v,
			    "unsupported algorithm \"%s\" (expected HS256, HS384, HS512, RS256, "
			    "RS384, RS512, ES256, ES384 or ES512)",
			    list[i]);
			free(list);
			return -1;
		}
		mask |= JWA_BIT(a);
	}
	free(list);
	if (mask == 0)
		return YDOC_ERR(p, v, "algorithms must not be empty");
	is->algorithms = mask;
	return 0;
}

static int
h_iss_leeway(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t ms;

	if (ydoc_get_duration_ms(p->doc, v, &ms, p->err, p->errsz) != 0)
		return -1;
	if (ms > 600000)
		return YDOC_ERR(p, v, "leeway above 10m defeats expiry checks");
	((struct config_issuer *)t)->leeway_s = ms / 1000;
	return 0;
}

static int
h_iss_claims(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return ydoc_parse_map(p, v, claim_keys, &((struct config_issuer *)t)->claims);
}

static const struct ydoc_key issuer_keys[] = {
    YDOC_KEY_CALL("issuer", h_iss_issuer),
    YDOC_KEY_CALL("audiences", h_iss_audiences),
    YDOC_KEY_CALL("jwks_file", h_iss_jwks_file),
    YDOC_KEY_CALL("hmac_secret_file", h_iss_hmac_secret_file),
    YDOC_KEY_CALL("algorithms", h_iss_algorithms),
    YDOC_KEY_CALL("leeway", h_iss_leeway),
    YDOC_KEY_CALL("claims", h_iss_claims),
    YDOC_KEY_END,
};

static int
claims_defaults(struct config_claims *c)
{
	static const struct {
		size_t off;
		const char *value;
	} defaults[] = {
	    {offsetof(struct config_claims, user), "sub"},
	    {offsetof(struct config_claims, groups), "groups"},
	    {offsetof(struct config_claims, roles), "roles"},
	    {offsetof(struct config_claims, device_id), "deviceid"},
	    {offsetof(struct config_claims, sign_in_risk), "signin_risk"},
	};

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		char **slot = (char **)((char *)c + defaults[i].off);

		if (*slot == NULL && (*slot = strdup(defaults[i].value)) == NULL)
			return -1;
	}
	return 0;
}

static int
parse_issuer(struct ydoc_parse *p, yaml_node_t *n, struct config_issuer *is, struct config *c)
{
	snprintf(is->where, sizeof(is->where), "%s:%zu", ydoc_name(p->doc), n->start_mark.line + 1);
	is->leeway_s = 60;
	if (ydoc_parse_map(p, n, issuer_keys, is) != 0)
		return -1;
	if (is->issuer == NULL)
		return YDOC_ERR(p, n, "issuer entry needs \"issuer\"");
	if (is->n_audiences == 0)
		return YDOC_ERR(
		    p, n,
		    "issuer \"%s\" needs \"audiences\": without them a token minted for "
		    "any other application would be accepted",
		    is->issuer);
	if ((is->jwks_file == NULL) == (is->hmac_secret_file == NULL))
		return YDOC_ERR(p, n,
		                "issuer \"%s\" needs exactly one of jwks_file and hmac_secret_file",
		                is->issuer);
	if (is->algorithms == 0)
		is->algorithms = is->jwks_file != NULL ? JWA_BIT(JWA_RS256) | JWA_BIT(JWA_ES256)
		                                       : JWA_BIT(JWA_HS256);
	/* Key confusion is refused here already: HMAC algorithms never go with public keys. */
	if (is->jwks_file != NULL && (is->algorithms & JWA_HS_MASK))
		return YDOC_ERR(p, n,
		                "issuer \"%s\": HS algorithms need hmac_secret_file, not a JWKS",
		                is->issuer);
	if (is->hmac_secret_file != NULL && (is->algorithms & ~JWA_HS_MASK))
		return YDOC_ERR(p, n,
		                "issuer \"%s\": hmac_secret_file allows only HS256/HS384/HS512",
		                is->issuer);
	for (size_t i = 0; i < c->n_issuers; i++) {
		if (&c->issuers[i] != is && c->issuers[i].issuer != NULL &&
		    strcmp(c->issuers[i].issuer, is->issuer) == 0)
			return YDOC_ERR(p, n, "issuer \"%s\" is listed twice", is->issuer);
	}
	if (claims_defaults(&is->claims) != 0)
		return YDOC_ERR(p, n, "out of memory");
	return 0;
}

static int
h_issuers(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config *c = t;
	yaml_node_t *item;
	size_t n;

	if (v->type != YAML_SEQUENCE_NODE)
		return YDOC_ERR(p, v, "expected a list of issuers");
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n == 0)
		return YDOC_ERR(p, v, "issuers must not be empty");
	if (c->issuers != NULL)
		return YDOC_ERR(p, v, "issuers given twice");
	c->issuers = calloc(n, sizeof(*c->issuers));
	if (c->issuers == NULL)
		return YDOC_ERR(p, v, "out of memory");
	YDOC_SEQ_FOREACH(p->doc, v, item)
	{
		struct config_issuer *is = &c->issuers[c->n_issuers++];

		if (parse_issuer(p, item, is, c) != 0)
			return -1;
	}
	return 0;
}

static int
h_store_type(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	static const char *const names[] = {"redis", "file", "none"};
	static const enum store_type types[] = {STORE_REDIS, STORE_FILE, STORE_NONE};
	int k;

	if (ydoc_get_choice(p->doc, v, "type", names, 3, &k, p->err, p->errsz) != 0)
		return -1;
	((struct config_store *)t)->type = types[k];
	((struct config_store *)t)->type_given = true;
	return 0;
}

static int
h_store_address(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config_store *s = t;

	if (set_string(p, v, &s->address) != 0)
		return -1;
	return check_address(p, v, s->address);
}

static int
h_store_path(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_string(p, v, &((struct config_store *)t)->path);
}

static int
h_store_prefix(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_string(p, v, &((struct config_store *)t)->prefix);
}

static int
h_store_timeout(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config_store *s = t;

	if (ydoc_get_duration_ms(p->doc, v, &s->timeout_ms, p->err, p->errsz) != 0)
		return -1;
	if (s->timeout_ms == 0 || s->timeout_ms > 10000)
		return YDOC_ERR(p, v, "timeout must be between 1ms and 10s");
	return 0;
}

static int
h_store_stale_max(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return ydoc_get_duration_ms(p->doc, v, &((struct config_store *)t)->stale_max_ms, p->err,
	                            p->errsz);
}

static int
h_store_username(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_string(p, v, &((struct config_store *)t)->username);
}

static int
h_store_password_file(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_string(p, v, &((struct config_store *)t)->password_file);
}

static int
h_store_database(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t n;

	if (ydoc_get_uint(p->doc, v, 0, 1000000, &n, p->err, p->errsz) != 0)
		return -1;
	((struct config_store *)t)->database = (unsigned)n;
	return 0;
}

static int
h_store_ttl(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config_store *s = t;

	if (ydoc_get_duration_ms(p->doc, v, &s->ttl_ms, p->err, p->errsz) != 0)
		return -1;
	if (s->ttl_ms == 0)
		return YDOC_ERR(p, v, "ttl must be longer than 0");
	return 0;
}

static int
h_store_negative_ttl(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config_store *s = t;

	if (ydoc_get_duration_ms(p->doc, v, &s->negative_ttl_ms, p->err, p->errsz) != 0)
		return -1;
	if (s->negative_ttl_ms == 0)
		return YDOC_ERR(p, v, "negative_ttl must be longer than 0");
	return 0;
}

static int
h_store_device_max_age(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t ms;

	if (ydoc_get_duration_ms(p->doc, v, &ms, p->err, p->errsz) != 0)
		return -1;
	if (ms % 1000 != 0)
		return YDOC_ERR(p, v, "device_max_age is counted in whole seconds");
	((struct config_store *)t)->device_max_age_s = ms / 1000;
	return 0;
}

static int
h_store_cache_entries(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t n;

	if (ydoc_get_uint(p->doc, v, 0, 10000000, &n, p->err, p->errsz) != 0)
		return -1;
	((struct config_store *)t)->cache_entries = (size_t)n;
	return 0;
}

/* A duration of 100ms to 10s into *out, named name in the error. */
static int
get_short_duration(struct ydoc_parse *p, yaml_node_t *v, const char *name, uint64_t *out)
{
	if (ydoc_get_duration_ms(p->doc, v, out, p->err, p->errsz) != 0)
		return -1;
	if (*out < 100 || *out > 10000)
		return YDOC_ERR(p, v, "%s must be between 100ms and 10s", name);
	return 0;
}

static int
h_store_heartbeat(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_short_duration(p, v, "heartbeat", &((struct config_store *)t)->heartbeat_ms);
}

static int
h_store_heartbeat_timeout(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return get_short_duration(p, v, "heartbeat_timeout",
	                          &((struct config_store *)t)->heartbeat_timeout_ms);
}

static int
h_store_replica_max_lag(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t ms;

	if (ydoc_get_duration_ms(p->doc, v, &ms, p->err, p->errsz) != 0)
		return -1;
	/* Redis counts master_last_io_seconds_ago in whole seconds. */
	if (ms % 1000 != 0 || ms < 1000 || ms > 3600000)
		return YDOC_ERR(p, v, "replica_max_lag must be whole seconds, between 1s and 1h");
	((struct config_store *)t)->replica_max_lag_s = ms / 1000;
	return 0;
}

static int
h_store_on_error(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_decision(p, v, &((struct config_store *)t)->on_store_error);
}

static const struct ydoc_key store_keys[] = {
    YDOC_KEY_CALL("type", h_store_type),
    YDOC_KEY_CALL("address", h_store_address),
    YDOC_KEY_CALL("path", h_store_path),
    YDOC_KEY_CALL("prefix", h_store_prefix),
    YDOC_KEY_CALL("timeout", h_store_timeout),
    YDOC_KEY_CALL("stale_max", h_store_stale_max),
    YDOC_KEY_CALL("on_store_error", h_store_on_error),
    YDOC_KEY_CALL("username", h_store_username),
    YDOC_KEY_CALL("password_file", h_store_password_file),
    YDOC_KEY_CALL("database", h_store_database),
    YDOC_KEY_CALL("ttl", h_store_ttl),
    YDOC_KEY_CALL("negative_ttl", h_store_negative_ttl),
    YDOC_KEY_CALL("device_max_age", h_store_device_max_age),
    YDOC_KEY_CALL("cache_entries", h_store_cache_entries),
    YDOC_KEY_CALL("heartbeat", h_store_heartbeat),
    YDOC_KEY_CALL("heartbeat_timeout", h_store_heartbeat_timeout),
    YDOC_KEY_CALL("replica_max_lag", h_store_replica_max_lag),
    YDOC_KEY_END,
};

static int
h_store(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config_store *s = &((struct config *)t)->store;

	s->negative_ttl_ms = 0;
	if (ydoc_parse_map(p, v, store_keys, s) != 0)
		return -1;
	if (!s->type_given)
		s->type = s->address != NULL ? STORE_REDIS
		          : s->path != NULL  ? STORE_FILE
		                             : STORE_NONE;
	if (s->type != STORE_REDIS &&
	    (s->address != NULL || s->username != NULL || s->password_file != NULL))
		return YDOC_ERR(p, v, "address, username and password_file are for a redis store");
	if (s->type != STORE_FILE && s->path != NULL)
		return YDOC_ERR(p, v, "path is for a file store");
	if (s->negative_ttl_ms == 0) /* not given: the default, within ttl */
		s->negative_ttl_ms = s->ttl_ms < 30000 ? s->ttl_ms : 30000;
	if (s->negative_ttl_ms > s->ttl_ms)
		return YDOC_ERR(p, v, "negative_ttl must not be longer than ttl");
	if (s->type == STORE_REDIS && s->address == NULL)
		return YDOC_ERR(p, v, "a redis store needs \"address\"");
	if (s->type == STORE_FILE && s->path == NULL)
		return YDOC_ERR(p, v, "a file store needs \"path\"");
	return 0;
}

static int
h_reload_settle(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config_reload *r = t;

	if (ydoc_get_duration_ms(p->doc, v, &r->settle_ms, p->err, p->errsz) != 0)
		return -1;
	if (r->settle_ms < 10 || r->settle_ms > 60000)
		return YDOC_ERR(p, v, "settle must be between 10ms and 60s");
	return 0;
}

/* A share as "50%" or 50. */
static int
h_reload_max_drop(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const char *s = ydoc_scalar(v);
	char *end = NULL;
	unsigned long n = 0;

	if (s != NULL && s[0] >= '0' && s[0] <= '9')
		n = strtoul(s, &end, 10);
	if (end == NULL || end == s || (*end != '\0' && strcmp(end, "%") != 0) || n > 100)
		return YDOC_ERR(p, v, "max_drop is a share from 0%% to 100%%, e.g. 50%%");
	((struct config_reload *)t)->max_drop_pct = (unsigned)n;
	return 0;
}

static const struct ydoc_key reload_keys[] = {
    YDOC_KEY_CALL("settle", h_reload_settle),
    YDOC_KEY_CALL("max_drop", h_reload_max_drop),
    YDOC_KEY_END,
};

static int
h_reload(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return ydoc_parse_map(p, v, reload_keys, &((struct config *)t)->reload);
}

static int
h_pid_file(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return set_string(p, v, &((struct config *)t)->pid_file);
}

static const struct ydoc_key top_keys[] = {
    YDOC_KEY_CALL("listen", h_listen),
    YDOC_KEY_CALL("threads", h_threads),
    YDOC_KEY_CALL("backlog", h_backlog),
    YDOC_KEY_CALL("transport", h_transport),
    YDOC_KEY_CALL("read_timeout", h_read_timeout),
    YDOC_KEY_CALL("policies", h_policies),
    YDOC_KEY_CALL("default_decision", h_default_decision),
    YDOC_KEY_CALL("realm", h_realm),
    YDOC_KEY_CALL("token", h_token),
    YDOC_KEY_CALL("issuers", h_issuers),
    YDOC_KEY_CALL("store", h_store),
    YDOC_KEY_CALL("decision_log", h_decision_log),
    YDOC_KEY_CALL("log_level", h_log_level),
    YDOC_KEY_CALL("reload", h_reload),
    YDOC_KEY_CALL("pid_file", h_pid_file),
    YDOC_KEY_END,
};

/* Table-driven defaults: every key has a safe value before the file is read. */
static int
config_defaults(struct config *c)
{
	c->threads = 0; /* unless given: config_default_threads */
	c->backlog = 4096;
	c->read_timeout_ms = 1000;
	c->default_decision = DEFAULT_ALLOW;
	c->max_token_bytes = 8192;
	c->token_cache_entries = 65536;
	c->log_level = LOG_LVL_INFO;
	c->store.type = STORE_NONE;
	c->store.timeout_ms = 50;
	c->store.stale_max_ms = 300000;
	c->store.on_store_error = DEFAULT_DENY;
	c->store.ttl_ms = 300000;
	c->store.negative_ttl_ms = 30000; /* 0 while a store entry is read: see h_store */
	c->store.cache_entries = 65536;
	c->reload.settle_ms = 200;
	c->reload.max_drop_pct = 50;
	c->store.heartbeat_ms = 1000;
	c->store.heartbeat_timeout_ms = 2000;
	c->store.replica_max_lag_s = 3;
	if ((c->listen = strdup("unix:/run/pdp/pdp.sock")) == NULL ||
	    (c->policies = strdup("/etc/pdp/policies")) == NULL ||
	    (c->realm = strdup("pdp")) == NULL || (c->store.prefix = strdup("pdp:")) == NULL)
		return -1;
	return 0;
}

/* Makes *path absolute against dir, the config file's directory. */
static int
resolve_path(char **path, const char *dir)
{
	char *abs;

	if (*path == NULL || (*path)[0] == '/' || strcmp(*path, "stderr") == 0)
		return 0;
	if (asprintf(&abs, "%s/%s", dir, *path) < 0)
		return -1;
	free(*path);
	*path = abs;
	return 0;
}

static int
resolve_paths(struct config *c)
{
	const char *slash = strrchr(c->path, '/');
	char *dir = slash != NULL ? strndup(c->path, (size_t)(slash - c->path)) : strdup(".");
	int rc = -1;

	if (dir == NULL)
		return -1;
	if (dir[0] == '\0') {
		free(dir);
		dir = strdup("");
		if (dir == NULL)
			return -1;
	}
	if (resolve_path(&c->policies, dir) != 0 || resolve_path(&c->decision_log, dir) != 0 ||
	    resolve_path(&c->store.path, dir) != 0 || resolve_path(&c->pid_file, dir) != 0 ||
	    resolve_path(&c->store.password_file, dir) != 0)
		goto out;
	for (size_t i = 0; i < c->n_issuers; i++) {
		if (resolve_path(&c->issuers[i].jwks_file, dir) != 0 ||
		    resolve_path(&c->issuers[i].hmac_secret_file, dir) != 0)
			goto out;
	}
	rc = 0;
out:
	free(dir);
	return rc;
}

unsigned
config_default_threads(void)
{
	cpu_set_t set;
	long cpus;

	/* The CPUs this process may run on (a container's cpuset), else all online. */
	cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
	                                                    : sysconf(_SC_NPROCESSORS_ONLN);
	return cpus <= 1 ? 1 : cpus >= 256 ? 256 : (unsigned)cpus;
}

/* The value of key in mapping m, or NULL. */
static yaml_node_t *
map_value(struct ydoc *doc, yaml_node_t *m, const char *key)
{
	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top;
	     pr++) {
		const char *k = ydoc_scalar(ydoc_node(doc, pr->key));

		if (k != NULL && strcmp(k, key) == 0)
			return ydoc_node(doc, pr->value);
	}
	return NULL;
}

/*
 * A loop blocked on the store holds its other connections past their read
 * deadline: read_timeout must outlast store.timeout, or one slow lookup lets
 * the deadline sweep close requests that were sent in time.
 */
static int
check_read_timeout(struct ydoc *doc, yaml_node_t *root, const struct config *c, char *err,
                   size_t errsz)
{
	yaml_node_t *at = map_value(doc, root, "read_timeout");

	if (c->store.type != STORE_REDIS || c->read_timeout_ms > c->store.timeout_ms)
		return 0;
	if (at == NULL)
		at = map_value(doc, map_value(doc, root, "store"), "timeout");
	return ydoc_error(doc, at != NULL ? at : root, err, errsz,
	                  "read_timeout (%ums) must be longer than store.timeout (%llums): a "
	                  "request waiting on the store would let the read deadline close the "
	                  "loop's other connections",
	                  c->read_timeout_ms, (unsigned long long)c->store.timeout_ms);
}

static struct config *
config_from_doc(struct ydoc *doc, char *err, size_t errsz)
{
	struct ydoc_parse p = {doc, err, errsz};
	struct config *c = NULL;
	yaml_node_t *root;

	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(ydoc_name(doc))) == NULL || config_defaults(c) != 0) {
		snprintf(err, errsz, "%s: out of memory", ydoc_name(doc));
		goto fail;
	}
	root = ydoc_root(doc);
	if (root != NULL && ydoc_parse_map(&p, root, top_keys, c) != 0)
		goto fail;
	if (c->threads == 0)
		c->threads = config_default_threads();
	if (check_read_timeout(doc, root, c, err, errsz) != 0)
		goto fail;
	if (c->n_issuers == 0) {
		ydoc_error(doc, root, err, errsz,
		           "no \"issuers\": at least one token issuer is required");
		goto fail;
	}
	if (resolve_paths(c) != 0) {
		snprintf(err, errsz, "%s: out of memory", ydoc_name(doc));
		goto fail;
	}
	return c;
fail:
	config_free(c);
	return NULL;
}

struct config *
config_load(const char *path, char *err, size_t errsz)
{
	struct ydoc *doc = ydoc_load_file(path, err, errsz);
	struct config *c;

	if (doc == NULL)
		return NULL;
	c = config_from_doc(doc, err, errsz);
	ydoc_free(doc);
	return c;
}

struct config *
config_load_buffer(const char *name, const char *buf, size_t len, char *err, size_t errsz)
{
	struct ydoc *doc = ydoc_load_buffer(name, buf, len, err, errsz);
	struct config *c;

	if (doc == NULL)
		return NULL;
	c = config_from_doc(doc, err, errsz);
	ydoc_free(doc);
	return c;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_issuers; i++) {
		struct config_issuer *is = &c->issuers[i];

		free(is->issuer);
		for (size_t j = 0; j < is->n_audiences; j++)
			free(is->audiences[j]);
		free(is->audiences);
		free(is->jwks_file);
		free(is->hmac_secret_file);
		free(is->claims.user);
		free(is->claims.groups);
		free(is->claims.roles);
		free(is->claims.device_id);
		free(is->claims.sign_in_risk);
	}
	free(c->issuers);
	free(c->path);
	free(c->listen);
	free(c->policies);
	free(c->realm);
	free(c->token_cookie);
	free(c->decision_log);
	free(c->pid_file);
	free(c->store.address);
	free(c->store.path);
	free(c->store.username);
	free(c->store.password_file);
	free(c->store.prefix);
	free(c);
}
