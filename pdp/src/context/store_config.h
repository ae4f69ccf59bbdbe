/* store_config.h - the config file's store section: the store's own keys and its backend's */
#ifndef PDP_STORE_CONFIG_H
#define PDP_STORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context/store_types.h"
#include "core/types.h"
#include "core/yaml_doc.h"

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

/* Whether the backend publishes invalidation events (continuous evaluation, DESIGN §5). */
bool store_config_events(const struct config_store *s);

/* Whether a lookup may wait on the network up to timeout_ms (read_timeout must outlast it). */
bool store_config_waits(const struct config_store *s);

#endif
