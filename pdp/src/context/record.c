/* record.c - device and user records: their fields by name, from Redis hashes or YAML maps */
#include "context/record.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool
is(const char *value, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(value, word, len) == 0;
}

static bool
parse_bool(const char *value, size_t len, bool *out)
{
	if (is(value, len, "1") || is(value, len, "true")) {
		*out = true;
		return true;
	}
	if (is(value, len, "0") || is(value, len, "false")) {
		*out = false;
		return true;
	}
	return false;
}

/* Unix seconds, 0 up to year 9999. */
static bool
parse_time(const char *value, size_t len, int64_t *out)
{
	char buf[24], *end;
	long long t;

	if (len == 0 || len >= sizeof(buf) || value[0] < '0' || value[0] > '9')
		return false;
	memcpy(buf, value, len);
	buf[len] = '\0';
	errno = 0;
	t = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || t > 253402300799LL)
		return false;
	*out = t;
	return true;
}

static bool
parse_name(const char *value, size_t len, const char *const *names, int n, int *out)
{
	for (int i = 0; i < n; i++) {
		if (is(value, len, names[i])) {
			*out = i;
			return true;
		}
	}
	return false;
}

void
record_device_init(struct device_record *d)
{
	memset(d, 0, sizeof(*d));
	d->trust = DEVICE_TRUST_NONE;
	d->platform = -1;
}

enum record_set
record_device_set(struct device_record *d, const char *name, const char *value, size_t len,
                  record_copy_fn copy, void *ctx, const char **why)
{
	int k;

	if (strcmp(name, "compliant") == 0) {
		if (parse_bool(value, len, &d->compliant))
			return RECORD_SET_OK;
		*why = "compliant must be 0 or 1 (true or false)";
	} else if (strcmp(name, "managed") == 0) {
		if (parse_bool(value, len, &d->managed))
			return RECORD_SET_OK;
		*why = "managed must be 0 or 1 (true or false)";
	} else if (strcmp(name, "trust") == 0) {
		if (parse_name(value, len, device_trust_names, DEVICE_TRUST_COUNT, &k)) {
			d->trust = (enum device_trust)k;
			return RECORD_SET_OK;
		}
		*why = "trust must be one of none, registered, joined, hybrid";
	} else if (strcmp(name, "platform") == 0) {
		if (parse_name(value, len, platform_names, PLATFORM_COUNT, &k)) {
			d->platform = k;
			return RECORD_SET_OK;
		}
		*why = "platform must be one of android, ios, windows, macos, linux";
	} else if (strcmp(name, "updated") == 0) {
		if (parse_time(value, len, &d->updated))
			return RECORD_SET_OK;
		*why = "updated must be a time in unix seconds";
	} else if (strcmp(name, "os_version") == 0 || strcmp(name, "id") == 0) {
		const char *s = copy(ctx, value, len);

		if (s == NULL || memchr(value, '\0', len) != NULL) {
			*why = s == NULL ? "out of memory" : "a NUL byte in a text field";
			return RECORD_SET_BAD;
		}
		if (name[0] == 'i')
			d->id = s;
		else
			d->os_version = s;
		return RECORD_SET_OK;
	} else {
		return RECORD_SET_UNKNOWN;
	}
	return RECORD_SET_BAD;
}

enum record_set
record_user_set(struct user_record *u, const char *name, const char *value, size_t len,
                const char **why)
{
	int k;

	if (strcmp(name, "risk") == 0) {
		if (parse_name(value, len, risk_level_names, RISK_COUNT, &k)) {
			u->risk = (enum risk_level)k;
			return RECORD_SET_OK;
		}
		*why = "risk must be one of none, low, medium, high";
	} else if (strcmp(name, "disabled") == 0) {
		if (parse_bool(value, len, &u->disabled))
			return RECORD_SET_OK;
		*why = "disabled must be 0 or 1 (true or false)";
	} else if (strcmp(name, "revoked_before") == 0) {
		if (parse_time(value, len, &u->revoked_before))
			return RECORD_SET_OK;
		*why = "revoked_before must be a time in unix seconds";
	} else {
		return RECORD_SET_UNKNOWN;
	}
	return RECORD_SET_BAD;
}

static bool
skipped(const char *key, const char *const *skip)
{
	for (; skip != NULL && *skip != NULL; skip++) {
		if (strcmp(key, *skip) == 0)
			return true;
	}
	return false;
}

/* Hands each field of map to set (a device or user setter), with errors at their node. */
static int
record_yaml(struct ydoc_parse *p, yaml_node_t *map, const char *const *skip, const char *what,
            enum record_set (*set)(void *rec, const char *name, const char *value, size_t len,
                                   void *arg, const char **why),
            void *rec, void *arg)
{
	yaml_node_t *k, *v;

	if (map->type != YAML_MAPPING_NODE)
		return YDOC_ERR(p, map, "expected a map of %s fields", what);
	YDOC_MAP_FOREACH(p->doc, map, k, v)
	{
		const char *name = ydoc_scalar(k), *value = ydoc_scalar(v), *why = "";

		if (name == NULL)
			return YDOC_ERR(p, k, "expected a field name");
		if (skipped(name, skip))
			continue;
		if (value == NULL || ydoc_is_null(v))
			return YDOC_ERR(p, v, "%s: expected a value", name);
		switch (set(rec, name, value, v->data.scalar.length, arg, &why)) {
		case RECORD_SET_OK:
			break;
		case RECORD_SET_UNKNOWN:
			return YDOC_ERR(p, k, "unknown %s field \"%s\"", what, name);
		case RECORD_SET_BAD:
			return YDOC_ERR(p, v, "%s, not \"%.64s\"", why, value);
		}
	}
	return 0;
}

struct device_yaml {
	record_copy_fn copy;
	void *ctx;
};

static enum record_set
set_device(void *rec, const char *name, const char *value, size_t len, void *arg, const char **why)
{
	struct device_yaml *dy = arg;

	return record_device_set(rec, name, value, len, dy->copy, dy->ctx, why);
}

static enum record_set
set_user(void *rec, const char *name, const char *value, size_t len, void *arg, const char **why)
{
	(void)arg;
	return record_user_set(rec, name, value, len, why);
}

int
record_device_yaml(struct ydoc_parse *p, yaml_node_t *map, struct device_record *d,
                   const char *const *skip, record_copy_fn copy, void *ctx)
{
	struct device_yaml dy = {copy, ctx};

	return record_yaml(p, map, skip, "device", set_device, d, &dy);
}

int
record_user_yaml(struct ydoc_parse *p, yaml_node_t *map, struct user_record *u,
                 const char *const *skip)
{
	return record_yaml(p, map, skip, "user", set_user, u, NULL);
}
