/* store_types.h - what the store's callers and its backends both speak of: kinds, errors, config */
#ifndef PDP_STORE_TYPES_H
#define PDP_STORE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

enum store_kind { STORE_DEVICE, STORE_USER, STORE_JTI, STORE_KINDS };
extern const char *const store_kind_names[STORE_KINDS]; /* "device", "user", "jti" */

enum store_err {
	STORE_OK,
	STORE_UNAVAILABLE, /* down, slow past the timeout, or refusing */
	STORE_BAD_RECORD,  /* a record with a field the PDP cannot read */
	STORE_NO_MEMORY,
};
const char *store_strerror(enum store_err e);

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

#endif
