/* config.c - the daemon's configuration file, read into a read-only struct */
#include "service/config.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/netaddr.h"
#include "core/yaml_doc.h"
#include "identity/discovery.h"
#include "identity/token.h"

static const char *const decision_names[] = {"allow", "deny", NULL};

static void
listen_free(struct config *c)
{
	for (size_t i = 0; i < c->n_listen; i++)
		free(c->listen[i]);
	free(c->listen);
	c->listen = NULL;
	c->n_listen = 0;
}

/* Adds endpoint v to c's listeners: checked, and no socket named twice. */
static int
listen_add(struct ydoc_parse *p, yaml_node_t *v, struct config *c)
{
	const char *s = ydoc_scalar(v), *sock, *other;
	char why[200];

	if (s == NULL)
		return YDOC_ERR(p, v,
		                "expected an endpoint (unix:/path, tcp:host:port, "
		                "http+unix:/path or http+tcp:host:port)");
	if (netaddr_check_listen(s, why, sizeof(why)) != 0)
		return YDOC_ERR(p, v, "%s", why);
	netaddr_listen_front(s, &sock);
	for (size_t i = 0; i < c->n_listen; i++) {
		netaddr_listen_front(c->listen[i], &other);
		if (strcmp(sock, other) == 0)
			return YDOC_ERR(p, v, "%s is listed twice (as %s)", sock, c->listen[i]);
	}
	if (c->n_listen == CONFIG_MAX_LISTEN)
		return YDOC_ERR(p, v, "listen takes at most %d endpoints", CONFIG_MAX_LISTEN);
	if ((c->listen[c->n_listen] = strdup(s)) == NULL)
		return YDOC_ERR(p, v, "out of memory");
	c->n_listen++;
	return 0;
}

/* listen: one endpoint, or a list of them (FastCGI and HTTP fronts at once). */
static int
h_listen(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config *c = t;
	yaml_node_t *item;

	listen_free(c);
	if ((c->listen = calloc(CONFIG_MAX_LISTEN, sizeof(*c->listen))) == NULL)
		return YDOC_ERR(p, v, "out of memory");
	if (v->type != YAML_SEQUENCE_NODE)
		return listen_add(p, v, c);
	if (v->data.sequence.items.top == v->data.sequence.items.start)
		return YDOC_ERR(p, v, "listen must name at least one endpoint");
	YDOC_SEQ_FOREACH(p->doc, v, item)
	{
		if (listen_add(p, item, c) != 0)
			return -1;
	}
	return 0;
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

/* The realm is quoted into WWW-Authenticate: keep it a plain token. */
static int
check_realm(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	for (const char *s = ((struct config *)t)->realm; *s; s++) {
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
check_token_cookie(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	for (const char *s = ((struct config *)t)->token_cookie; *s; s++) {
		if (*s <= 0x20 || *s >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *s) != NULL)
			return YDOC_ERR(p, v, "not a valid cookie name");
	}
	return 0;
}

/* The token keys are fields of struct config itself. */
static const struct ydoc_key token_keys[] = {
    YDOC_KEY_STRING_CHECKED("cookie", struct config, token_cookie, check_token_cookie),
    YDOC_KEY_SIZE("max_bytes", struct config, max_token_bytes, 256, 65536),
    YDOC_KEY_SIZE("cache_entries", struct config, token_cache_entries, 0, 10000000),
    YDOC_KEY_END,
};

static void
names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* A claim name or a list of them (groups, roles) into the char ** at field, its count after it. */
static int
slot_claim_names(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	char ***out = field;
	size_t *count = (size_t *)((char *)field + sizeof(char **));
	const char **list = NULL;
	char **names;
	size_t n = 0;

	(void)k;
	if (ydoc_get_strings(p->doc, v, &list, &n, p->err, p->errsz) != 0)
		return -1;
	if (n == 0 || n > 8) {
		free(list);
		return YDOC_ERR(p, v, "expected one to 8 claim names");
	}
	if ((names = calloc(n, sizeof(char *))) == NULL) {
		free(list);
		return YDOC_ERR(p, v, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (list[i][0] == '\0' || (names[i] = strdup(list[i])) == NULL) {
			names_free(names, i);
			free(list);
			return YDOC_ERR(p, v, "a claim name must be a non-empty string");
		}
	}
	free(list);
	names_free(*out, *count);
	*out = names;
	*count = n;
	return 0;
}

#define CLAIM_NAMES_ROW(n, list, count)                                                            \
	YDOC_KEY_SLOT(                                                                             \
	    n, slot_claim_names,                                                                   \
	    YDOC_FIELD(struct config_claims, list, char **) +                                      \
	        0 * sizeof(char[offsetof(struct config_claims, count) ==                           \
	                                offsetof(struct config_claims, list) + sizeof(char **)     \
	                            ? 1                                                            \
	                            : -1]),                                                        \
	    NULL)

static const struct ydoc_key claim_keys[] = {
    YDOC_KEY_STRING("user", struct config_claims, user),
    CLAIM_NAMES_ROW("groups", groups, n_groups),
    CLAIM_NAMES_ROW("roles", roles, n_roles),
    YDOC_KEY_STRING("device_id", struct config_claims, device_id),
    YDOC_KEY_STRING("sign_in_risk", struct config_claims, sign_in_risk),
    YDOC_KEY_STRING("amr", struct config_claims, amr),
    YDOC_KEY_STRING("acr", struct config_claims, acr),
    YDOC_KEY_STRING("client_id", struct config_claims, client_id),
    YDOC_KEY_END,
};

static const char *const overage_names[] = {"deny", "ignore", NULL};

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
			    "RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA)",
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

/* Kept in seconds, as the token's times are; the bound has its own reason. */
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

/* Keys are fetched over verified TLS; plain http only where no one can listen in. */
static int
check_jwks_uri(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	char why[160];

	if (discovery_check_url(((struct config_issuer *)t)->jwks_uri, why, sizeof(why)) != 0)
		return YDOC_ERR(p, v, "jwks_uri %s", why);
	return 0;
}

static const struct ydoc_key issuer_keys[] = {
    YDOC_KEY_STRING("issuer", struct config_issuer, issuer),
    YDOC_KEY_CALL("audiences", h_iss_audiences),
    YDOC_KEY_STRING("jwks_file", struct config_issuer, jwks_file),
    YDOC_KEY_STRING_CHECKED("jwks_uri", struct config_issuer, jwks_uri, check_jwks_uri),
    YDOC_KEY_BOOL("discovery", struct config_issuer, discovery),
    YDOC_KEY_STRING("hmac_secret_file", struct config_issuer, hmac_secret_file),
    YDOC_KEY_STRING("tls_ca_file", struct config_issuer, tls_ca_file),
    YDOC_KEY_MS64("jwks_refresh", struct config_issuer, jwks_refresh_ms, 1000, 86400000),
    YDOC_KEY_MS64("jwks_min_refetch", struct config_issuer, jwks_min_refetch_ms, 1000, 3600000),
    YDOC_KEY_CALL("algorithms", h_iss_algorithms),
    YDOC_KEY_CALL("leeway", h_iss_leeway),
    YDOC_KEY_MAP("claims", struct config_issuer, claims, claim_keys),
    YDOC_KEY_CHOICE("on_groups_overage", struct config_issuer, on_groups_overage, overage_names),
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
	    {offsetof(struct config_claims, device_id), "deviceid"},
	    {offsetof(struct config_claims, sign_in_risk), "signin_risk"},
	    {offsetof(struct config_claims, amr), "amr"},
	    {offsetof(struct config_claims, acr), "acr"},
	};
	static const char *const lists[][2] = {{"groups", NULL}, {"roles", NULL}};
	char ***list_fields[] = {&c->groups, &c->roles};
	size_t *list_counts[] = {&c->n_groups, &c->n_roles};

	for (size_t i = 0; i < 2; i++) {
		if (*list_fields[i] != NULL)
			continue;
		if ((*list_fields[i] = calloc(1, sizeof(char *))) == NULL ||
		    ((*list_fields[i])[0] = strdup(lists[i][0])) == NULL)
			return -1;
		*list_counts[i] = 1;
	}

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		char **slot = (char **)((char *)c + defaults[i].off);

		if (*slot == NULL && (*slot = strdup(defaults[i].value)) == NULL)
			return -1;
	}
	return 0;
}

int
config_claims_default(struct config_claims *c)
{
	memset(c, 0, sizeof(*c));
	return claims_defaults(c);
}

void
config_claims_free(struct config_claims *c)
{
	free(c->user);
	names_free(c->groups, c->n_groups);
	names_free(c->roles, c->n_roles);
	free(c->device_id);
	free(c->sign_in_risk);
	free(c->amr);
	free(c->acr);
	free(c->client_id);
}

/* Exactly one source of keys; a CA file only for the sources fetched over TLS. */
static int
check_key_source(struct ydoc_parse *p, yaml_node_t *n, const struct config_issuer *is)
{
	int sources = (is->jwks_file != NULL) + (is->jwks_uri != NULL) + is->discovery +
	              (is->hmac_secret_file != NULL);
	char why[160];

	if (sources != 1)
		return YDOC_ERR(p, n,
		                "issuer \"%s\" needs exactly one of jwks_file, jwks_uri, "
		                "discovery: true and hmac_secret_file (%d given)",
		                is->issuer, sources);
	if (is->tls_ca_file != NULL && is->jwks_uri == NULL && !is->discovery)
		return YDOC_ERR(p, n,
		                "issuer \"%s\": tls_ca_file is only for keys fetched with jwks_uri "
		                "or discovery",
		                is->issuer);
	/* Discovery fetches {issuer}/.well-known/...: the issuer itself must pass the URL rule. */
	if (is->discovery && discovery_check_url(is->issuer, why, sizeof(why)) != 0)
		return YDOC_ERR(p, n, "issuer \"%s\": discovery needs an issuer URL that %s",
		                is->issuer, why);
	return 0;
}

static int
parse_issuer(struct ydoc_parse *p, yaml_node_t *n, struct config_issuer *is, struct config *c)
{
	snprintf(is->where, sizeof(is->where), "%s:%zu", ydoc_name(p->doc), n->start_mark.line + 1);
	is->leeway_s = 60;
	is->jwks_refresh_ms = 300000;
	is->jwks_min_refetch_ms = 30000;
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
	if (check_key_source(p, n, is) != 0)
		return -1;
	if (is->algorithms == 0)
		is->algorithms = is->hmac_secret_file == NULL
		                     ? JWA_BIT(JWA_RS256) | JWA_BIT(JWA_ES256)
		                     : JWA_BIT(JWA_HS256);
	/* Key confusion is refused here already: HMAC algorithms never go with public keys. */
	if (is->hmac_secret_file == NULL && (is->algorithms & JWA_HS_MASK))
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
h_store(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	return store_config_parse(p, v, &((struct config *)t)->store);
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
    YDOC_KEY_MS64("settle", struct config_reload, settle_ms, 10, 60000),
    YDOC_KEY_CALL("max_drop", h_reload_max_drop),
    YDOC_KEY_END,
};

static const struct ydoc_key top_keys[] = {
    YDOC_KEY_CALL("listen", h_listen),
    YDOC_KEY_UNSIGNED("threads", struct config, threads, 1, 256),
    YDOC_KEY_UNSIGNED("backlog", struct config, backlog, 1, 65535),
    YDOC_KEY_CALL("transport", h_transport),
    YDOC_KEY_MS("read_timeout", struct config, read_timeout_ms, 10, 60000),
    YDOC_KEY_STRING("policies", struct config, policies),
    YDOC_KEY_CHOICE("default_decision", struct config, default_decision, decision_names),
    YDOC_KEY_STRING_CHECKED("realm", struct config, realm, check_realm),
    {.name = "token", .kind = YDOC_MAP, .offset = 0, .arg = token_keys},
    YDOC_KEY_CALL("issuers", h_issuers),
    YDOC_KEY_CALL("store", h_store),
    YDOC_KEY_STRING("decision_log", struct config, decision_log),
    YDOC_KEY_CALL("log_level", h_log_level),
    YDOC_KEY_MAP("reload", struct config, reload, reload_keys),
    YDOC_KEY_STRING("pid_file", struct config, pid_file),
    YDOC_KEY_END,
};

/* The defaults: every key has a safe value before the file is read. */
static int
config_defaults(struct config *c)
{
	c->threads = 0; /* unless given: config_default_threads */
	c->backlog = 4096;
	c->read_timeout_ms = 1000;
	c->default_decision = DEFAULT_ALLOW;
	c->max_token_bytes = 16384;
	c->token_cache_entries = 65536;
	c->log_level = LOG_LVL_INFO;
	store_config_init(&c->store);
	c->reload.settle_ms = 200;
	c->reload.max_drop_pct = 50;
	if ((c->listen = calloc(1, sizeof(*c->listen))) == NULL ||
	    (c->n_listen = 1, c->listen[0] = strdup("unix:/run/pdp/pdp.sock")) == NULL ||
	    (c->policies = strdup("/etc/pdp/policies")) == NULL ||
	    (c->realm = strdup("pdp")) == NULL)
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
	    resolve_path(&c->pid_file, dir) != 0 ||
	    store_config_resolve(&c->store, resolve_path, dir) != 0)
		goto out;
	for (size_t i = 0; i < c->n_issuers; i++) {
		if (resolve_path(&c->issuers[i].jwks_file, dir) != 0 ||
		    resolve_path(&c->issuers[i].hmac_secret_file, dir) != 0 ||
		    resolve_path(&c->issuers[i].tls_ca_file, dir) != 0)
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

	if (!store_config_waits(&c->store) || c->read_timeout_ms > c->store.timeout_ms)
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

struct token_verifier *
config_token_verifier(const struct config *cfg, unsigned n_readers, char *err, size_t errsz)
{
	return token_verifier_new(cfg->issuers, cfg->n_issuers, cfg->max_token_bytes, n_readers,
	                          err, errsz);
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
		free(is->jwks_uri);
		free(is->hmac_secret_file);
		free(is->tls_ca_file);
		config_claims_free(&is->claims);
	}
	free(c->issuers);
	free(c->path);
	listen_free(c);
	free(c->policies);
	free(c->realm);
	free(c->token_cookie);
	free(c->decision_log);
	free(c->pid_file);
	store_config_fini(&c->store);
	free(c);
}
