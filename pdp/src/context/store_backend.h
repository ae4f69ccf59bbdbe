/* store_backend.h - what a context store backend implements, and what the store gives it */
#ifndef PDP_STORE_BACKEND_H
#define PDP_STORE_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context/store_types.h"
#include "core/reload_guard.h"
#include "core/types.h"
#include "core/yaml_doc.h"

struct store;

/*
 * A backend's answer for one key: the record, or found = false for "no
 * record" (for a jti: found = revoked). Made with store_value_new; the
 * store and the caches share it by reference.
 */
struct store_value {
	atomic_uint refs;
	atomic_bool retired; /* out of its cache (dropped, replaced, or never in): memos are void */
	bool found;
	int64_t confirmed_ms; /* when the backend said so (monotonic) */
	struct device_record device;
	struct user_record user;
	size_t room, used; /* bytes for the device's strings, after the struct */
	char strings[];
};

/* A value with room for strings_room bytes of device strings; refs 1. NULL: no memory. */
struct store_value *store_value_new(size_t strings_room);

/* A record_copy_fn into the value's room (ctx: the value). */
const char *store_value_copy(void *ctx, const char *s, size_t n);

void store_value_unref(struct store_value *v);

/* One round trip's worth of keys: the backend fills value[k] for every key[k] given. */
struct store_fetch {
	const char *key[STORE_KINDS]; /* NULL: not wanted */
	size_t len[STORE_KINDS];
	struct store_value *value[STORE_KINDS];
};

/*
 * A backend (DESIGN §5), found by name in store_backends[]; the store calls
 * it through this table only.
 *
 * Its config: config_keys are the rows (core/yaml_doc.h) of its own keys in
 * the store section, read into the struct config_new returns (with its
 * defaults; NULL: no memory) and freed by config_free. Every backend's keys
 * are read, whichever is chosen, so that config_check can refuse its keys
 * under another backend (chosen false) or what it lacks (chosen true), at v,
 * the store mapping. implied_by names the key that chooses it when "type"
 * is not given; config_paths the string keys holding file paths (made
 * absolute against the config file's directory); source_key the one whose
 * file holds its records (watched for changes). check (may be NULL: open
 * and close it) is what `pdp check` can know without serving.
 *
 * At work: open reads cfg (cfg->backend_cfg is its config) and may start
 * threads that call store_event / store_set_live on s; fetch answers every
 * wanted key of f in one round trip, on the calling worker's own
 * connection, or fails with the reason in err (then no value is left in f);
 * reload (may be NULL) re-reads a backend's source as g says and flushes s,
 * returning an enum reload_result. jti_revoked (may be NULL) answers a
 * revocation check from the backend's own memory: 1 revoked, 0 not, -1 when
 * it cannot tell (then the jti is looked up as any other key).
 */
struct store_backend {
	const char *name;
	bool events; /* sends events: cached records are fresh only while they flow */
	/* Says when its data can be trusted (store_set_ready); until then it cannot. */
	bool readiness;
	bool waits; /* a fetch may block its worker up to store.timeout */

	const struct ydoc_key *config_keys;
	const char *implied_by;
	const char *const *config_paths; /* NULL-ended */
	const char *source_key;
	void *(*config_new)(void);
	int (*config_check)(struct ydoc_parse *p, yaml_node_t *v, const void *cfg, bool chosen);
	void (*config_free)(void *cfg);
	int (*check)(const struct config_store *cfg, char *err, size_t errsz);

	void *(*open)(struct store *s, const struct config_store *cfg, unsigned n_workers,
	              char *err, size_t errsz);
	enum store_err (*fetch)(void *be, unsigned worker, struct store_fetch *f, char *err,
	                        size_t errsz);
	int (*reload)(void *be, const struct reload_guard *g, char *err, size_t errsz);
	void (*close)(void *be);
	int (*jti_revoked)(void *be, const char *jti, size_t len, int64_t now_ms);
};

/* Every backend the daemon has, NULL-ended (store_backends.c). */
extern const struct store_backend *const store_backends[];

/* The backend called name, or NULL. */
const struct store_backend *store_backend_find(const char *name);

/* Opens a store over a given backend (store_open's work; tests bring their own backend). */
struct store *store_open_backend(const struct store_backend *ops, const struct config_store *cfg,
                                 unsigned n_workers, char *err, size_t errsz);

/*
 * An event from the pdp:events channel: "device <id>", "user <user>",
 * "jti <jti>" drop that entry; "flush" (or anything unreadable) drops all.
 */
void store_event(struct store *s, const char *msg, size_t len);

/* Drops every cached record. */
void store_flush(struct store *s);

/*
 * Whether events are flowing. While they are not, cached records are not
 * trusted as fresh; when they flow again everything cached is dropped, since
 * events may have been missed.
 */
void store_set_live(struct store *s, bool live);

/*
 * Whether the backend's data can be trusted (a backend with readiness says
 * so; others always can). Not ready (the store lost its data, a replica is
 * syncing, the store stalled): lookups make no round trip, cached records
 * serve up to stale_max past since_ms (the last moment the store was known
 * current, monotonic ms; 0: now) and then on_store_error applies; why (not
 * ready) is what health says. Ready again after not ready drops every cached
 * record, since events may have been missed. Off the request path but for
 * a fetch that finds the store not ready.
 */
void store_set_ready(struct store *s, bool ready, int64_t since_ms, const char *why);

/* Whether the store is ready (store_set_ready). */
bool store_is_ready(struct store *s);

/* A backend heard from the store again (a fetch or a PING answered): no longer failing. */
void store_answered(struct store *s);

#endif
