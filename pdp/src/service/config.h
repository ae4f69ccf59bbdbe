/* config.h - the daemon's configuration file, read into a read-only struct */
#ifndef PDP_CONFIG_H
#define PDP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context/store_config.h"
#include "core/log.h"
#include "core/types.h"

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
	JWA_COUNT
};
#define JWA_BIT(a)   (1u << (a))
#define JWA_HS_MASK  (JWA_BIT(JWA_HS256) | JWA_BIT(JWA_HS384) | JWA_BIT(JWA_HS512))
#define JWA_RS_MASK  (JWA_BIT(JWA_RS256) | JWA_BIT(JWA_RS384) | JWA_BIT(JWA_RS512))
#define JWA_ES_MASK  (JWA_BIT(JWA_ES256) | JWA_BIT(JWA_ES384) | JWA_BIT(JWA_ES512))
#define JWA_ALL_MASK ((1u << JWA_COUNT) - 1)

/* Returns the algorithm named name ("RS256"), or -1. "none" is never an algorithm. */
int jwa_from_name(const char *name, size_t len);
const char *jwa_name(enum jwa alg);

struct config_claims {
	char *user;
	char *groups;
	char *roles;
	char *device_id;
	char *sign_in_risk;
};

struct config_issuer {
	char *issuer;
	char **audiences;
	size_t n_audiences;
	char *jwks_file; /* exactly one of jwks_file and hmac_secret_file */
	char *hmac_secret_file;
	unsigned algorithms; /* JWA_BIT mask */
	uint64_t leeway_s;
	struct config_claims claims;
	char where[64]; /* "file:line" of the entry, for later errors */
};

/* How reloads triggered by file changes behave (DESIGN §6). */
struct config_reload {
	uint64_t settle_ms;    /* quiet this long after the last write before reading */
	unsigned max_drop_pct; /* refuse to drop more than this share without a confirm */
};

struct config {
	char *path;
	char *listen;     /* "unix:/path" or "tcp:host:port" */
	unsigned threads; /* event loops */
	unsigned backlog;
	unsigned read_timeout_ms; /* for a connection's whole request */
	char *policies;
	enum decision_default default_decision;
	char *realm;
	char *token_cookie;
	size_t max_token_bytes;
	size_t token_cache_entries;
	struct config_issuer *issuers;
	size_t n_issuers;
	struct config_store store;
	char *decision_log;
	enum log_level log_level;
	struct config_reload reload;
	char *pid_file; /* NULL: none; `pdp reload` signals the pid written here */
};

/*
 * The event loops the daemon runs when the config does not say: one per CPU
 * the process may run on (as nginx's worker_processes auto).
 */
unsigned config_default_threads(void);

/*
 * Reads path into a new config. Every key has a safe default; unknown keys,
 * wrong types and out-of-range values are errors. On failure returns NULL
 * with "file:line:col: reason" in err. The caller frees with config_free.
 */
struct config *config_load(const char *path, char *err, size_t errsz);

/* The same from a buffer (name is used in messages); for tests and tools. */
struct config *config_load_buffer(const char *name, const char *buf, size_t len, char *err,
                                  size_t errsz);

void config_free(struct config *cfg);

#endif
