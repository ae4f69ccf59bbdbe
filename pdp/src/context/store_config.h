/* store_config.h - the config file's store section: the store's own keys and its backend's */
#ifndef PDP_STORE_CONFIG_H
#define PDP_STORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/types.h"
#include "core/yaml_doc.h"

struct store_backend;

/*
 * The store section (DESIGN §4, §5). The keys every store has are fields;
 * the chosen backend's own keys (a Redis address, a file's path) live in
 * backend_cfg, which only that backend reads.
 */
struct config_store {
	const struct store_backend *backend; /* NULL: no store */
	void *backend_cfg;                   /* the backend's keys; owned, NULL without a backend */
	bool type_given;
	uint64_t timeout_ms;
	uint64_t stale_max_ms;
	uint64_t ttl_ms;           /* a cached record is fresh this long */
	uint64_t negative_ttl_ms;  /* and "no record" this long */
	uint64_t device_max_age_s; /* 0: any age; older device records are not compliant */
	size_t cache_entries;      /* per kind: devices, users, revoked jtis */
	enum decision_default on_store_error;
};

/* Sets every key to its default: no store. */
void store_config_init(struct config_store *s);

/*
 * Reads the store mapping v into s (set up by store_config_init): the
 * store's keys, and every backend's keys by the backend's own table. The
 * backend is "type", else the one whose key says so (an address: redis, a
 * path: file), else none; a key of another backend is an error, as is a
 * backend missing what it needs. Returns 0, or -1 with file:line:col in p.
 */
int store_config_parse(struct ydoc_parse *p, yaml_node_t *v, struct config_store *s);

/* Makes the backend's file paths absolute with resolve (0, or -1: out of memory). */
int store_config_resolve(struct config_store *s, int (*resolve)(char **path, const char *dir),
                         const char *dir);

/* Frees what s holds (not s). */
void store_config_fini(struct config_store *s);

/* The backend's name ("redis", "file"), or "none". */
const char *store_config_name(const struct config_store *s);

/* The file the backend reads its records from (to watch for changes), or NULL. */
const char *store_config_source(const struct config_store *s);

/* Whether a lookup may wait on the network up to timeout_ms (read_timeout must outlast it). */
bool store_config_waits(const struct config_store *s);

#endif
