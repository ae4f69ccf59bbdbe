/* record.h - device and user records: their fields by name, from Redis hashes or YAML maps */
#ifndef PDP_RECORD_H
#define PDP_RECORD_H

#include <stddef.h>

#include "core/types.h"
#include "core/yaml_doc.h"

enum record_set {
	RECORD_SET_OK,
	RECORD_SET_UNKNOWN, /* not a field of the record */
	RECORD_SET_BAD,     /* a field, with a value it cannot take */
};

/* Copies n bytes of s (NUL-terminated) somewhere that lives as long as the record; NULL: no memory.
 */
typedef const char *(*record_copy_fn)(void *ctx, const char *s, size_t n);

/* An empty device record: not compliant, unmanaged, no trust, platform unknown. */
void record_device_init(struct device_record *d);

/*
 * Sets the device field name (DESIGN §5: id, compliant, managed, trust,
 * platform, os_version, updated) from its text value (len bytes, not
 * necessarily NUL-terminated). Booleans are 0/1 or true/false, times unix
 * seconds. On RECORD_SET_BAD *why says what the field takes.
 */
enum record_set record_device_set(struct device_record *d, const char *name, const char *value,
                                  size_t len, record_copy_fn copy, void *ctx, const char **why);

/* The same for a user record: risk, disabled, revoked_before. */
enum record_set record_user_set(struct user_record *u, const char *name, const char *value,
                                size_t len, const char **why);

/*
 * Reads a YAML map of device fields into d (keys in skip, a NULL-terminated
 * list, are left to the caller). Errors name file:line:col. Returns 0 or -1.
 */
int record_device_yaml(struct ydoc_parse *p, yaml_node_t *map, struct device_record *d,
                       const char *const *skip, record_copy_fn copy, void *ctx);

/* The same for a user record. */
int record_user_yaml(struct ydoc_parse *p, yaml_node_t *map, struct user_record *u,
                     const char *const *skip);

#endif
