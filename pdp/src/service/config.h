/* config.h - the daemon's configuration file, read into a read-only struct */
#ifndef PDP_CONFIG_H
#define PDP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context/store_config.h"
#include "core/log.h"
#include "core/types.h"
#include "identity/issuer.h"

/* How reloads triggered by file changes behave (DESIGN §6). */
struct config_reload {
	uint64_t settle_ms;    /* quiet this long after the last write before reading */
	unsigned max_drop_pct; /* refuse to drop more than this share without a confirm */
};

/* The most endpoints `listen` may list. */
#define CONFIG_MAX_LISTEN 16

struct config {
	char *path;
	char **listen;    /* "unix:/path", "tcp:host:port", or either behind "http+" */
	size_t n_listen;  /* at least one, no two naming the same socket */
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

/*
 * The claim mapping an issuer without a claims key gets (DESIGN §4) into c,
 * which it overwrites: 0, or -1 when out of memory. Free with
 * config_claims_free in either case.
 */
int config_claims_default(struct config_claims *c);
void config_claims_free(struct config_claims *c);

struct token_verifier;

/*
 * A verifier of the tokens of the issuers cfg trusts, within its token size
 * limit (token_verifier_new with cfg's issuers and token.max_bytes): NULL
 * with the reason in err.
 */
struct token_verifier *config_token_verifier(const struct config *cfg, unsigned n_readers,
                                             char *err, size_t errsz);

#endif
