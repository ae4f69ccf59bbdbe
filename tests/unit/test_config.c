/* test_config.c - the daemon's config file: defaults, values and every kind of error */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context/redis_link.h"
#include "core/netaddr.h"
#include "service/config.h"
#include "testlib.h"

static const char minimal[] = "issuers:\n"
                              "  - issuer: https://idp.example.com/\n"
                              "    audiences: [https://apps.example.com]\n"
                              "    jwks_file: /etc/pdp/jwks.json\n";

static struct config *
load(const char *text, char *err, size_t errsz)
{
	err[0] = '\0';
	return config_load_buffer("/etc/pdp/pdp.yaml", text, strlen(text), err, errsz);
}

static struct config *load_with(const char *extra);

/* The redis backend's own keys of c's store. */
static const struct redis_config *
redis(const struct config *c)
{
	return c->store.backend_cfg;
}

/* Loads text, expects failure, and checks the message names the place and the reason. */
static void
expect_error(const char *text, const char *where, const char *reason)
{
	char err[1024];
	struct config *c = load(text, err, sizeof(err));

	if (c != NULL || strstr(err, where) == NULL || strstr(err, reason) == NULL) {
		print_error("config:\n%s\nerror: %s\nwanted \"%s\" and \"%s\"\n", text, err, where,
		            reason);
		config_free(c);
		fail();
	}
}

/* listen takes one endpoint or a list; "http+" marks the HTTP front. */
static void
listen_takes_a_list_of_fronts(void **state)
{
	char err[512];
	static const char text[] = "listen:\n"
	                           "  - unix:/run/pdp/pdp.sock\n"
	                           "  - http+unix:/run/pdp/pdp-http.sock\n"
	                           "  - http+tcp:[::1]:8181\n"
	                           "  - tcp:127.0.0.1:9000\n"
	                           "issuers:\n"
	                           "  - issuer: https://idp.example.com/\n"
	                           "    audiences: [a]\n"
	                           "    jwks_file: /etc/pdp/jwks.json\n";
	struct config *c = config_load_buffer("pdp.yaml", text, sizeof(text) - 1, err, sizeof(err));
	const char *sock;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->n_listen, 4);
	assert_string_equal(c->listen[1], "http+unix:/run/pdp/pdp-http.sock");
	assert_int_equal(netaddr_listen_front(c->listen[0], &sock), FRONT_FASTCGI);
	assert_string_equal(sock, "unix:/run/pdp/pdp.sock");
	assert_int_equal(netaddr_listen_front(c->listen[2], &sock), FRONT_HTTP);
	assert_string_equal(sock, "tcp:[::1]:8181");
	config_free(c);
}

static void
minimal_config_gets_safe_defaults(void **state)
{
	char err[512];
	struct config *c = load(minimal, err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->listen[0], "unix:/run/pdp/pdp.sock");
	assert_int_equal(c->threads, config_default_threads());
	assert_true(c->threads >= 1 && c->threads <= 256);
	/* Bursts queue in the kernel; an incomplete request is given a second. */
	assert_int_equal(c->backlog, 4096);
	assert_int_equal(c->read_timeout_ms, 1000);
	assert_int_equal(c->default_decision, DEFAULT_ALLOW);
	assert_null(c->token_cookie);
	assert_int_equal(c->max_token_bytes, 16384);
	assert_string_equal(store_config_name(&c->store), "none");
	assert_int_equal(c->store.on_store_error, DEFAULT_DENY);
	assert_int_equal(c->store.timeout_ms, 50);
	assert_int_equal(c->n_issuers, 1);
	assert_int_equal(c->issuers[0].leeway_s, 60);
	assert_int_equal(c->issuers[0].algorithms, JWA_BIT(JWA_RS256) | JWA_BIT(JWA_ES256));
	assert_string_equal(c->issuers[0].claims.user, "sub");
	assert_int_equal(c->issuers[0].claims.n_groups, 1);
	assert_string_equal(c->issuers[0].claims.groups[0], "groups");
	assert_int_equal(c->issuers[0].claims.n_roles, 1);
	assert_string_equal(c->issuers[0].claims.roles[0], "roles");
	assert_string_equal(c->issuers[0].claims.device_id, "deviceid");
	assert_string_equal(c->issuers[0].claims.sign_in_risk, "signin_risk");
	config_free(c);
}

static void
every_key_is_read(void **state)
{
	static const char text[] =
	    "listen: tcp:127.0.0.1:9000\n"
	    "threads: 8\n"
	    "backlog: 256\n"
	    "policies: policies\n"
	    "default_decision: deny\n"
	    "realm: example\n"
	    "log_level: debug\n"
	    "token: { cookie: pdp_token, max_bytes: 4096, cache_entries: 1000 }\n"
	    "issuers:\n"
	    "  - issuer: https://idp.example.com/\n"
	    "    audiences: [a, b]\n"
	    "    jwks_file: keys/jwks.json\n"
	    "    algorithms: [RS256, RS512, ES384]\n"
	    "    leeway: 2m\n"
	    "    claims: { user: upn, groups: grp, roles: rl, device_id: did, sign_in_risk: r }\n"
	    "  - issuer: internal\n"
	    "    audiences: c\n"
	    "    hmac_secret_file: /etc/pdp/secret\n"
	    "store: { type: redis, address: unix:/run/redis.sock, timeout: 20ms, stale_max: 1m,\n"
	    "         on_store_error: allow, prefix: 'x:' }\n"
	    "decision_log: stderr\n"
	    "transport: epoll\n"
	    "read_timeout: 250ms\n";
	char err[512];
	struct config *c = load(text, err, sizeof(err));
	const struct config_issuer *a, *b;

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->listen[0], "tcp:127.0.0.1:9000");
	assert_int_equal(c->threads, 8);
	assert_int_equal(c->backlog, 256);
	assert_int_equal(c->read_timeout_ms, 250);
	assert_string_equal(c->policies, "/etc/pdp/policies"); /* relative to the config */
	assert_int_equal(c->default_decision, DEFAULT_DENY);
	assert_string_equal(c->realm, "example");
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
	assert_string_equal(c->token_cookie, "pdp_token");
	assert_int_equal(c->max_token_bytes, 4096);
	assert_int_equal(c->token_cache_entries, 1000);
	assert_int_equal(c->n_issuers, 2);
	a = &c->issuers[0];
	b = &c->issuers[1];
	assert_string_equal(a->jwks_file, "/etc/pdp/keys/jwks.json");
	assert_int_equal(a->n_audiences, 2);
	assert_string_equal(a->audiences[1], "b");
	assert_int_equal(a->algorithms,
	                 JWA_BIT(JWA_RS256) | JWA_BIT(JWA_RS512) | JWA_BIT(JWA_ES384));
	assert_int_equal(a->leeway_s, 120);
	assert_string_equal(a->claims.user, "upn");
	assert_string_equal(a->claims.sign_in_risk, "r");
	assert_string_equal(a->where, "/etc/pdp/pdp.yaml:10");
	assert_int_equal(b->n_audiences, 1);
	assert_string_equal(b->audiences[0], "c");
	assert_int_equal(b->algorithms, JWA_BIT(JWA_HS256));
	assert_string_equal(store_config_name(&c->store), "redis");
	assert_int_equal(c->store.timeout_ms, 20);
	assert_int_equal(c->store.stale_max_ms, 60000);
	assert_int_equal(c->store.on_store_error, DEFAULT_ALLOW);
	assert_string_equal(redis(c)->prefix, "x:");
	assert_string_equal(c->decision_log, "stderr");
	config_free(c);
}

static void
unknown_keys_are_errors(void **state)
{
	(void)state;
	expect_error("listen: unix:/x\nthread: 4\n", "pdp.yaml:2:1", "unknown key \"thread\"");
	expect_error("issuers:\n"
	             "  - issuer: i\n"
	             "    audience: [a]\n"
	             "    jwks_file: /j\n",
	             "pdp.yaml:3:5", "unknown key \"audience\"");
	expect_error("token: { cookies: x }\n", "pdp.yaml:1:10", "unknown key \"cookies\"");
}

/* Loads minimal plus extra, which must be valid. */
static struct config *
load_with(const char *extra)
{
	char text[2048], err[1024];
	struct config *c;

	snprintf(text, sizeof(text), "%s%s", minimal, extra);
	if ((c = load(text, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	return c;
}

static void
store_keys(void **state)
{
	struct config *c;

	(void)state;
	c = load_with("");
	assert_string_equal(store_config_name(&c->store), "none");
	config_free(c);
	/* The type follows from address or path when not given. */
	c = load_with("store:\n  address: unix:/run/redis.sock\n  password_file: redis.pw\n"
	              "  database: 2\n  username: pdp\n  ttl: 2m\n  stale_max: 30s\n"
	              "  device_max_age: 1d\n  cache_entries: 100\n  on_store_error: allow\n");
	assert_string_equal(store_config_name(&c->store), "redis");
	assert_string_equal(redis(c)->password_file, "/etc/pdp/redis.pw");
	assert_int_equal(redis(c)->database, 2);
	assert_string_equal(redis(c)->username, "pdp");
	assert_int_equal(c->store.ttl_ms, 120000);
	assert_int_equal(c->store.negative_ttl_ms, 30000);
	assert_int_equal(c->store.stale_max_ms, 30000);
	assert_int_equal(c->store.device_max_age_s, 86400);
	assert_int_equal(c->store.cache_entries, 100);
	assert_int_equal(c->store.on_store_error, DEFAULT_ALLOW);
	/* The heartbeat's defaults: checked every second, stalled past 2 s, a replica past 3 s. */
	assert_int_equal(redis(c)->heartbeat_ms, 1000);
	assert_int_equal(redis(c)->heartbeat_timeout_ms, 2000);
	assert_int_equal(redis(c)->replica_max_lag_s, 3);
	config_free(c);
	c = load_with("store: { address: unix:/r.sock, heartbeat: 250ms, heartbeat_timeout: 500ms,"
	              " replica_max_lag: 12s }\n");
	assert_int_equal(redis(c)->heartbeat_ms, 250);
	assert_int_equal(redis(c)->heartbeat_timeout_ms, 500);
	assert_int_equal(redis(c)->replica_max_lag_s, 12);
	config_free(c);
	c = load_with("store: { path: context.yaml, ttl: 10s }\n");
	assert_string_equal(store_config_name(&c->store), "file");
	assert_string_equal(store_config_source(&c->store), "/etc/pdp/context.yaml");
	/* The default negative_ttl stays within a short ttl. */
	assert_int_equal(c->store.negative_ttl_ms, 10000);
	assert_int_equal(c->store.on_store_error, DEFAULT_DENY);
	config_free(c);
	expect_error("store: { type: file, address: unix:/r.sock, path: c.yaml }\n", "pdp.yaml:1:8",
	             "for a redis store");
	expect_error("store: { type: redis, address: unix:/r.sock, path: c.yaml }\n",
	             "pdp.yaml:1:8", "path is for a file store");
	expect_error("store: { address: unix:/r.sock, ttl: 10s, negative_ttl: 1m }\n",
	             "pdp.yaml:1:8", "negative_ttl must not be longer than ttl");
	expect_error("store: { address: unix:/r.sock, ttl: 0 }\n", "pdp.yaml:1:38",
	             "longer than 0");
	expect_error("store: { address: unix:/r.sock, device_max_age: 1500ms }\n", "pdp.yaml:1:49",
	             "whole seconds");
	expect_error("store: { address: unix:/r.sock, heartbeat: 50ms }\n", "pdp.yaml:1:44",
	             "between 100ms and 10s");
	expect_error("store: { address: unix:/r.sock, heartbeat_timeout: 1m }\n", "pdp.yaml:1:52",
	             "between 100ms and 10s");
	expect_error("store: { address: unix:/r.sock, replica_max_lag: 0 }\n", "pdp.yaml:1:50",
	             "whole seconds, between 1s and 1h");
	expect_error("store: { address: redis.example.com }\n", "pdp.yaml:1:19",
	             "unix:/path or tcp:host:port");
	/* Each backend reads and checks its own keys; an unknown key lists every one. */
	expect_error("store: { type: none, username: pdp }\n", "pdp.yaml:1:8",
	             "address, username and password_file are for a redis store");
	expect_error("store: { type: file }\n", "pdp.yaml:1:8", "a file store needs \"path\"");
	expect_error("store: { adress: unix:/r.sock }\n", "pdp.yaml:1:10",
	             "unknown key \"adress\" (expected one of: type, timeout, stale_max, "
	             "on_store_error, ttl, negative_ttl, device_max_age, cache_entries, address, "
	             "username, password_file, database, prefix, heartbeat, heartbeat_timeout, "
	             "replica_max_lag, path)");
	c = load_with("store: { type: none, timeout: 20ms }\n");
	assert_string_equal(store_config_name(&c->store), "none");
	assert_null(c->store.backend_cfg);
	assert_null(store_config_source(&c->store));
	config_free(c);
}

static void
wrong_types_and_ranges_are_errors(void **state)
{
	(void)state;
	expect_error("threads: many\n", "pdp.yaml:1:10", "whole number");
	expect_error("threads: 0\n", "pdp.yaml:1:10", "between 1 and 256");
	expect_error("transport: fastcgi\n", "pdp.yaml:1:12", "expected epoll");
	/* libfcgi's reader could be crashed or stalled by a peer: removed, and said so. */
	expect_error("transport: libfcgi\n", "pdp.yaml:1:12", "transport libfcgi was removed");
	expect_error("read_timeout: 0\n", "pdp.yaml:1:15", "between 10ms and 1m");
	expect_error("read_timeout: 2m\n", "pdp.yaml:1:15", "between 10ms and 1m");
	/* A lookup may block a loop for store.timeout: the read deadline must outlast it. */
	expect_error("read_timeout: 50ms\nstore: { address: unix:/r.sock, timeout: 50ms }\n",
	             "pdp.yaml:1:15", "longer than store.timeout");
	expect_error("store: { address: unix:/r.sock, timeout: 2s }\n", "pdp.yaml:1:42",
	             "read_timeout (1000ms) must be longer than store.timeout (2000ms)");
	expect_error("threads: -3\n", "pdp.yaml:1:10", "whole number");
	expect_error("default_decision: maybe\n", "pdp.yaml:1:19", "allow or deny");
	expect_error("listen: 127.0.0.1:9000\n", "pdp.yaml:1:9", "unix:/path or tcp:host:port");
	expect_error("listen: tcp:localhost:9000\n", "pdp.yaml:1:9", "IPv4 or [IPv6]");
	expect_error("listen: tcp:127.0.0.1:70000\n", "pdp.yaml:1:9", "bad port");
	expect_error("listen: unix:relative.sock\n", "pdp.yaml:1:9", "absolute");
	expect_error("listen: http+unix:relative.sock\n", "pdp.yaml:1:9", "absolute");
	expect_error("listen: http+tcp:localhost:80\n", "pdp.yaml:1:9", "IPv4 or [IPv6]");
	expect_error("listen: https+tcp:127.0.0.1:80\n", "pdp.yaml:1:9", "http+tcp:host:port");
	expect_error("listen: http+redis:x\n", "pdp.yaml:1:9", "http+unix:/path");
	expect_error("listen: []\n", "pdp.yaml:1:9", "at least one endpoint");
	expect_error("listen:\n  - unix:/a\n  - {x: 1}\n", "pdp.yaml:3:5", "expected an endpoint");
	expect_error("listen:\n  - unix:/a\n  - http+unix:/a\n", "pdp.yaml:3:5",
	             "unix:/a is listed twice (as unix:/a)");
	expect_error("listen:\n  - http+tcp:127.0.0.1:8080\n  - tcp:127.0.0.1:8080\n",
	             "pdp.yaml:3:5", "listed twice");
	expect_error("store: { timeout: soon }\n", "pdp.yaml:1:19", "duration");
	expect_error("store: { type: postgres }\n", "pdp.yaml:1:16", "redis, file or none");
	expect_error("store: { type: redis }\n", "pdp.yaml:1:8", "needs \"address\"");
	expect_error("realm: 'a\"b'\n", "pdp.yaml:1:8", "without quotes");
	expect_error("token: { cookie: 'a b' }\n", "pdp.yaml:1:18", "cookie name");
	expect_error("issuers: {}\n", "pdp.yaml:1:10", "list of issuers");
	expect_error("log_level: loud\n", "pdp.yaml:1:12", "error, warn, info or debug");
}

static void
issuer_mistakes_are_errors(void **state)
{
	(void)state;
	expect_error("listen: unix:/x\n", "pdp.yaml:1:1", "at least one token issuer");
	expect_error("issuers: []\n", "pdp.yaml:1:10", "must not be empty");
	expect_error("issuers:\n  - issuer: i\n    jwks_file: /j\n", "pdp.yaml:2:5",
	             "needs \"audiences\"");
	expect_error("issuers:\n  - audiences: [a]\n    jwks_file: /j\n", "pdp.yaml:2:5",
	             "needs \"issuer\"");
	expect_error("issuers:\n  - issuer: i\n    audiences: [a]\n", "pdp.yaml:2:5",
	             "issuer \"i\" needs exactly one of jwks_file, jwks_uri, discovery: true and "
	             "hmac_secret_file (0 given)");
	expect_error("issuers:\n  - issuer: i\n    audiences: [a]\n    jwks_file: /j\n"
	             "    hmac_secret_file: /s\n",
	             "pdp.yaml:2:5", "exactly one of");
	expect_error("issuers:\n  - issuer: i\n    audiences: [a]\n    jwks_file: /j\n"
	             "    algorithms: [RS256, HS256]\n",
	             "pdp.yaml:2:5", "HS algorithms need hmac_secret_file");
	expect_error("issuers:\n  - issuer: i\n    audiences: [a]\n    hmac_secret_file: /s\n"
	             "    algorithms: [RS256]\n",
	             "pdp.yaml:2:5", "allows only HS256");
	expect_error("issuers:\n  - issuer: i\n    audiences: [a]\n    jwks_file: /j\n"
	             "    algorithms: [none]\n",
	             "pdp.yaml:5:17", "unsupported algorithm \"none\"");
	expect_error("issuers:\n  - issuer: i\n    audiences: [a]\n    jwks_file: /j\n"
	             "  - issuer: i\n    audiences: [a]\n    jwks_file: /k\n",
	             "pdp.yaml:5:5", "listed twice");
	expect_error("issuers:\n  - issuer: i\n    audiences: []\n    jwks_file: /j\n",
	             "pdp.yaml:3:16", "must not be empty");
	expect_error("issuers:\n  - issuer: i\n    audiences: [a]\n    jwks_file: /j\n"
	             "    leeway: 1h\n",
	             "pdp.yaml:5:13", "defeats expiry");
}

/* An issuer's keys from its URL: the keys, their defaults and what they refuse. */
static void
fetched_keys_config(void **state)
{
	static const char text[] =
	    "issuers:\n"
	    "  - issuer: https://login.example.com/t/v2.0/\n"
	    "    audiences: [a]\n"
	    "    discovery: true\n"
	    "    tls_ca_file: ca/idp.pem\n"
	    "    jwks_refresh: 1h\n"
	    "    jwks_min_refetch: 10s\n"
	    "    algorithms: [RS256, PS256]\n"
	    "  - issuer: https://kc.example.com/realms/r\n"
	    "    audiences: [a]\n"
	    "    jwks_uri: https://kc.example.com/realms/r/protocol/openid-connect/certs\n"
	    "  - issuer: http://127.0.0.1:8080/\n"
	    "    audiences: [a]\n"
	    "    jwks_uri: http://[::1]:8080/jwks\n"
	    "    tls_ca_file: /etc/ssl/private-ca.pem\n"
	    "  - issuer: http://localhost:8080\n"
	    "    audiences: [a]\n"
	    "    discovery: true\n";
	char err[512];
	struct config *c = load(text, err, sizeof(err));
	const struct config_issuer *is;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	is = &c->issuers[0];
	assert_true(is->discovery);
	assert_null(is->jwks_uri);
	assert_null(is->jwks_file);
	assert_string_equal(is->tls_ca_file, "/etc/pdp/ca/idp.pem"); /* relative to the config */
	assert_int_equal(is->jwks_refresh_ms, 3600000);
	assert_int_equal(is->jwks_min_refetch_ms, 10000);
	assert_int_equal(is->algorithms, JWA_BIT(JWA_RS256) | JWA_BIT(JWA_PS256));
	is = &c->issuers[1];
	assert_false(is->discovery);
	assert_string_equal(is->jwks_uri,
	                    "https://kc.example.com/realms/r/protocol/openid-connect/certs");
	assert_null(is->tls_ca_file);
	/* The defaults: refreshed every 5m, refetched for an unknown kid at most every 30s. */
	assert_int_equal(is->jwks_refresh_ms, 300000);
	assert_int_equal(is->jwks_min_refetch_ms, 30000);
	/* Public keys fetched get the algorithms a JWKS file gets. */
	assert_int_equal(is->algorithms, JWA_BIT(JWA_RS256) | JWA_BIT(JWA_ES256));
	assert_string_equal(c->issuers[2].jwks_uri, "http://[::1]:8080/jwks");
	assert_string_equal(c->issuers[2].tls_ca_file, "/etc/ssl/private-ca.pem");
	assert_true(c->issuers[3].discovery);
	config_free(c);
	/* Key files keep the same defaults, unused. */
	c = load(minimal, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->issuers[0].jwks_refresh_ms, 300000);
	assert_int_equal(c->issuers[0].jwks_min_refetch_ms, 30000);
	assert_null(c->issuers[0].tls_ca_file);
	config_free(c);
}

#define ISS "issuers:\n  - issuer: https://idp.example.com/\n    audiences: [a]\n"

static void
fetched_keys_mistakes(void **state)
{
	(void)state;
	/* Exactly one source of keys. */
	expect_error(
	    ISS "    jwks_file: /j\n    jwks_uri: https://idp.example.com/k\n", "pdp.yaml:2:5",
	    "issuer \"https://idp.example.com/\" needs exactly one of jwks_file, jwks_uri, "
	    "discovery: true and hmac_secret_file (2 given)");
	expect_error(ISS "    discovery: true\n    jwks_uri: https://idp.example.com/k\n",
	             "pdp.yaml:2:5", "(2 given)");
	expect_error(ISS "    discovery: true\n    hmac_secret_file: /s\n", "pdp.yaml:2:5",
	             "(2 given)");
	expect_error(ISS "    discovery: false\n", "pdp.yaml:2:5", "(0 given)");
	expect_error(ISS "    discovery: yes please\n", "pdp.yaml:4:16", "true or false");
	/* Plain http only to this machine; the rule says what is allowed. */
	expect_error(ISS "    jwks_uri: http://idp.example.com/keys\n", "pdp.yaml:4:15",
	             "jwks_uri must be https:// (http:// only to a loopback address: "
	             "127.0.0.0/8, [::1], localhost)");
	expect_error(ISS "    jwks_uri: http://127.0.0.1@evil.example/keys\n", "pdp.yaml:4:15",
	             "jwks_uri must not hold credentials");
	expect_error(ISS "    jwks_uri: http://10.0.0.1/keys\n", "pdp.yaml:4:15", "loopback");
	expect_error(ISS "    jwks_uri: http://[::2]/keys\n", "pdp.yaml:4:15", "loopback");
	expect_error(ISS "    jwks_uri: ftp://idp.example.com/keys\n", "pdp.yaml:4:15",
	             "must be https://");
	expect_error(ISS "    jwks_uri: /etc/pdp/jwks.json\n", "pdp.yaml:4:15", "must be https://");
	expect_error(ISS "    jwks_uri: https:///keys\n", "pdp.yaml:4:15",
	             "jwks_uri names no host");
	expect_error(ISS "    jwks_uri: \"https://idp.example.com/a b\"\n", "pdp.yaml:4:15",
	             "spaces or control characters");
	/* Discovery fetches from the issuer's own URL: it must pass the same rule. */
	expect_error("issuers:\n  - issuer: http://idp.example.com\n    audiences: [a]\n"
	             "    discovery: true\n",
	             "pdp.yaml:2:5",
	             "issuer \"http://idp.example.com\": discovery needs an issuer URL that must "
	             "be https://");
	expect_error("issuers:\n  - issuer: idp\n    audiences: [a]\n    discovery: true\n",
	             "pdp.yaml:2:5", "discovery needs an issuer URL");
	/* A CA file trusts a server: only for keys fetched from one. */
	expect_error(ISS "    jwks_file: /j\n    tls_ca_file: ca.pem\n", "pdp.yaml:2:5",
	             "issuer \"https://idp.example.com/\": tls_ca_file is only for keys fetched "
	             "with jwks_uri or discovery");
	expect_error(ISS "    hmac_secret_file: /s\n    tls_ca_file: ca.pem\n", "pdp.yaml:2:5",
	             "tls_ca_file is only for");
	expect_error(ISS "    discovery: true\n    tls_ca_file: ''\n", "pdp.yaml:5:18", "");
	/* Ranges. */
	expect_error(ISS "    discovery: true\n    jwks_refresh: 500ms\n", "pdp.yaml:5:19",
	             "between 1s and 1d");
	expect_error(ISS "    discovery: true\n    jwks_refresh: 2d\n", "pdp.yaml:5:19",
	             "between 1s and 1d");
	expect_error(ISS "    discovery: true\n    jwks_min_refetch: 0\n", "pdp.yaml:5:23",
	             "between 1s and 1h");
	expect_error(ISS "    discovery: true\n    jwks_min_refetch: 2h\n", "pdp.yaml:5:23",
	             "between 1s and 1h");
	expect_error(ISS "    discovery: true\n    jwks_refresh: often\n", "pdp.yaml:5:19",
	             "duration");
	/* Fetched keys are public keys: HMAC algorithms are refused as with a JWKS file. */
	expect_error(ISS "    discovery: true\n    algorithms: [HS256]\n", "pdp.yaml:2:5",
	             "HS algorithms need hmac_secret_file");
}

static void
yaml_level_errors(void **state)
{
	(void)state;
	expect_error("threads: 4\nthreads: 5\n", "pdp.yaml:2:1", "duplicate key \"threads\"");
	expect_error("listen: [unclosed\n", "pdp.yaml:2:1", "");
	expect_error("a: &x 1\nb: *x\n", "pdp.yaml", "aliases are not supported");
	expect_error("threads: 4\n---\nthreads: 5\n", "pdp.yaml:2:1", "one YAML document");
	expect_error("- a\n- b\n", "pdp.yaml:1:1", "expected a mapping");
}

static void
missing_file_is_named(void **state)
{
	char err[512];

	(void)state;
	assert_null(config_load("/nonexistent/pdp.yaml", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/pdp.yaml"));
	assert_non_null(strstr(err, "No such file"));
}

static void
load_from_file(void **state)
{
	char err[512];
	const char *path = test_write_file("pdp.yaml", minimal);
	struct config *c = config_load(path, err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->path, path);
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(minimal_config_gets_safe_defaults),
	    cmocka_unit_test(listen_takes_a_list_of_fronts),
	    cmocka_unit_test(every_key_is_read),
	    cmocka_unit_test(unknown_keys_are_errors),
	    cmocka_unit_test(store_keys),
	    cmocka_unit_test(wrong_types_and_ranges_are_errors),
	    cmocka_unit_test(issuer_mistakes_are_errors),
	    cmocka_unit_test(fetched_keys_config),
	    cmocka_unit_test(fetched_keys_mistakes),
	    cmocka_unit_test(yaml_level_errors),
	    cmocka_unit_test(missing_file_is_named),
	    cmocka_unit_test(load_from_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
