/* redis_link.h - connecting to Redis as the config says, and commands bounded by a deadline */
#ifndef PDP_REDIS_LINK_H
#define PDP_REDIS_LINK_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/yaml_doc.h"

/*
 * The redis backend's keys in the store section (DESIGN §5): where and how
 * to connect, the key prefix, and how its readiness is watched.
 */
struct redis_config {
	char *address; /* unix:/path or tcp:host:port */
	char *username;
	char *password_file;
	unsigned database;
	char *prefix;
	/* checked every heartbeat_ms; stalled when an answer takes heartbeat_timeout_ms, or
	 * when a replica heard nothing from its primary for replica_max_lag_s */
	uint64_t heartbeat_ms, heartbeat_timeout_ms, replica_max_lag_s;
};

/* Its rows, NULL-ended; and the store_backend config hooks (context/store_backend.h). */
extern const struct ydoc_key redis_config_keys[];
void *redis_config_new(void);
int redis_config_check(struct ydoc_parse *p, yaml_node_t *v, const void *cfg, bool chosen);
void redis_config_free(void *cfg);

/* Where and how to connect: the store's address, credentials and database. */
struct redis_link {
	const char *address; /* as configured, for messages */
	char path[108];      /* unix socket, or "" */
	char host[64];
	int port;
	char *username; /* NULL: the default user */
	char *password; /* NULL: no AUTH */
	unsigned database;
};

/*
 * Reads cfg (and its password file) into l. Returns 0, or -1 with the reason
 * in err. Release with redis_link_fini.
 */
int redis_link_init(struct redis_link *l, const struct redis_config *cfg, char *err, size_t errsz);

void redis_link_fini(struct redis_link *l);

/*
 * Connects, authenticates and selects the database, all before deadline_ms
 * (monotonic). Socket reads and writes are bounded by the time left.
 * Returns the context, or NULL with the reason in err.
 */
redisContext *redis_link_open(const struct redis_link *l, int64_t deadline_ms, char *err,
                              size_t errsz);

/*
 * Sends what was appended to c and reads n replies into replies before
 * deadline_ms. Returns 0, or -1 with the reason in err (nothing left in
 * replies): then c is dead, since hiredis cannot resume a half-read reply.
 */
int redis_link_exchange(redisContext *c, redisReply **replies, size_t n, int64_t deadline_ms,
                        char *err, size_t errsz);

/*
 * Reads what INFO (its "replication" and "persistence" sections) says of
 * whether the data can be trusted: a primary that is not loading, or a
 * replica whose link to its primary is up, not syncing, and heard from
 * within max_lag_s. Returns 1 when it can, else 0 with the reason in why
 * (an INFO text without a role is not trusted). Reads no more than len bytes.
 */
int redis_link_info_ready(const char *info, size_t len, uint64_t max_lag_s, char *why,
                          size_t whysz);

#endif
