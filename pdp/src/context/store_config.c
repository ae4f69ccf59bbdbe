/* store_config.c - the config file's store section: the store's own keys and its backend's */
#include "context/store_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context/store_backend.h"

/* A backends' list this long is ample; store_config_parse refuses more. */
#define BACKENDS_MAX 8

static const char *const decision_names[] = {"allow", "deny", NULL};

void
store_config_init(struct config_store *s)
{
	*s = (struct config_store){
	    .timeout_ms = 50,
	    .stale_max_ms = 300000,
	    .ttl_ms = 300000,
	    .negative_ttl_ms = 30000, /* 0 while the section is read: see store_config_parse */
	    .cache_entries = 65536,
	    .on_store_error = DEFAULT_DENY,
	};
}

/* Every backend's name (as the registry lists them), or "none". */
static int
h_type(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct config_store *s = t;
	const char *names[BACKENDS_MAX + 1];
	int n = 0, k;

	for (; store_backends[n] != NULL; n++)
		names[n] = store_backends[n]->name;
	names[n] = "none";
	if (ydoc_get_choice(p->doc, v, "type", names, n + 1, &k, p->err, p->errsz) != 0)
		return -1;
	s->backend = store_backends[k]; /* the NULL at the end for "none" */
	s->type_given = true;
	return 0;
}

static int
check_ttl(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	if (((struct config_store *)t)->ttl_ms == 0)
		return YDOC_ERR(p, v, "ttl must be longer than 0");
	return 0;
}

static int
check_negative_ttl(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	if (((struct config_store *)t)->negative_ttl_ms == 0)
		return YDOC_ERR(p, v, "negative_ttl must be longer than 0");
	return 0;
}

/* Counted in whole seconds: the lookup compares it with a record's unix time. */
static int
h_device_max_age(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t ms;

	if (ydoc_get_duration_ms(p->doc, v, &ms, p->err, p->errsz) != 0)
		return -1;
	if (ms % 1000 != 0)
		return YDOC_ERR(p, v, "device_max_age is counted in whole seconds");
	((struct config_store *)t)->device_max_age_s = ms / 1000;
	return 0;
}

/* The keys every store has; a backend's own follow in its config_keys. */
static const struct ydoc_key store_keys[] = {
    YDOC_KEY_CALL("type", h_type),
    YDOC_KEY_MS64("timeout", struct config_store, timeout_ms, 1, 10000),
    YDOC_KEY_MS64("stale_max", struct config_store, stale_max_ms, 0, UINT64_MAX),
    YDOC_KEY_CHOICE("on_store_error", struct config_store, on_store_error, decision_names),
    {.name = "ttl",
     .kind = YDOC_MS64,
     .offset = YDOC_FIELD(struct config_store, ttl_ms, uint64_t),
     .max = UINT64_MAX,
     .check = check_ttl},
    {.name = "negative_ttl",
     .kind = YDOC_MS64,
     .offset = YDOC_FIELD(struct config_store, negative_ttl_ms, uint64_t),
     .max = UINT64_MAX,
     .check = check_negative_ttl},
    YDOC_KEY_CALL("device_max_age", h_device_max_age),
    YDOC_KEY_SIZE("cache_entries", struct config_store, cache_entries, 0, 10000000),
    YDOC_KEY_END,
};

static const struct ydoc_key *
key_find(const struct ydoc_key *table, const char *name)
{
	for (; table != NULL && table->name != NULL; table++) {
		if (strcmp(table->name, name) == 0)
			return table;
	}
	return NULL;
}

/* A key no table knows: the error lists every key the section has. */
static int
unknown_key(struct ydoc_parse *p, yaml_node_t *k)
{
	char known[512];
	size_t off = 0;

	known[0] = '\0';
	for (int b = -1; b < 0 || store_backends[b] != NULL; b++) {
		const struct ydoc_key *h = b < 0 ? store_keys : store_backends[b]->config_keys;

		for (; h != NULL && h->name != NULL && off < sizeof(known); h++)
			off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
			                        off ? ", " : "", h->name);
	}
	return YDOC_ERR(p, k, "unknown key \"%s\" (expected one of: %s)", ydoc_scalar(k), known);
}

/* Reads each key of v by the store's row or a backend's into cfgs[that backend]. */
static int
parse_keys(struct ydoc_parse *p, yaml_node_t *v, struct config_store *s, void *cfgs[],
           bool implied[])
{
	yaml_node_t *k, *val;

	YDOC_MAP_FOREACH(p->doc, v, k, val)
	{
		const char *name = ydoc_scalar(k);
		const struct ydoc_key *row = key_find(store_keys, name);
		int b = 0;

		if (row != NULL) {
			if (ydoc_parse_key(p, row, val, s) != 0)
				return -1;
			continue;
		}
		for (; store_backends[b] != NULL; b++) {
			if ((row = key_find(store_backends[b]->config_keys, name)) != NULL)
				break;
		}
		if (row == NULL)
			return unknown_key(p, k);
		if (ydoc_parse_key(p, row, val, cfgs[b]) != 0)
			return -1;
		if (store_backends[b]->implied_by != NULL &&
		    strcmp(store_backends[b]->implied_by, name) == 0)
			implied[b] = true;
	}
	return 0;
}

int
store_config_parse(struct ydoc_parse *p, yaml_node_t *v, struct config_store *s)
{
	void *cfgs[BACKENDS_MAX] = {NULL};
	bool implied[BACKENDS_MAX] = {false};
	int n = 0, chosen = -1, rc = -1;

	if (v->type != YAML_MAPPING_NODE)
		return YDOC_ERR(p, v, "expected a mapping");
	for (; store_backends[n] != NULL; n++) {
		if (n == BACKENDS_MAX) {
			YDOC_ERR(p, v, "internal error: more than %d store backends", BACKENDS_MAX);
			goto out;
		}
		if ((cfgs[n] = store_backends[n]->config_new()) == NULL) {
			YDOC_ERR(p, v, "out of memory");
			goto out;
		}
	}
	s->negative_ttl_ms = 0;
	if (parse_keys(p, v, s, cfgs, implied) != 0)
		goto out;
	for (int b = 0; b < n && !s->type_given; b++) {
		if (implied[b]) {
			s->backend = store_backends[b];
			break;
		}
	}
	/* Keys given for a backend that is not the one chosen are a mistake: refuse them. */
	for (int b = 0; b < n; b++) {
		if (store_backends[b] == s->backend)
			chosen = b;
		else if (store_backends[b]->config_check(p, v, cfgs[b], false) != 0)
			goto out;
	}
	if (s->negative_ttl_ms == 0) /* not given: the default, within ttl */
		s->negative_ttl_ms = s->ttl_ms < 30000 ? s->ttl_ms : 30000;
	if (s->negative_ttl_ms > s->ttl_ms) {
		YDOC_ERR(p, v, "negative_ttl must not be longer than ttl");
		goto out;
	}
	if (chosen >= 0) {
		if (s->backend->config_check(p, v, cfgs[chosen], true) != 0)
			goto out;
		s->backend_cfg = cfgs[chosen];
		cfgs[chosen] = NULL;
	}
	rc = 0;
out:
	for (int b = 0; b < n; b++) {
		if (cfgs[b] != NULL)
			store_backends[b]->config_free(cfgs[b]);
	}
	return rc;
}

/* The char * of backend_cfg that the backend's row called name holds, or NULL. */
static char **
backend_string(const struct config_store *s, const char *name)
{
	const struct ydoc_key *row;

	if (s->backend == NULL || s->backend_cfg == NULL || name == NULL ||
	    (row = key_find(s->backend->config_keys, name)) == NULL || row->kind != YDOC_STRING)
		return NULL;
	return (char **)(void *)((char *)s->backend_cfg + row->offset);
}

int
store_config_resolve(struct config_store *s, int (*resolve)(char **path, const char *dir),
                     const char *dir)
{
	for (const char *const *k = s->backend != NULL ? s->backend->config_paths : NULL;
	     k != NULL && *k != NULL; k++) {
		char **path = backend_string(s, *k);

		if (path != NULL && resolve(path, dir) != 0)
			return -1;
	}
	return 0;
}

void
store_config_fini(struct config_store *s)
{
	if (s->backend != NULL && s->backend_cfg != NULL)
		s->backend->config_free(s->backend_cfg);
	s->backend_cfg = NULL;
}

const char *
store_config_name(const struct config_store *s)
{
	return s->backend != NULL ? s->backend->name : "none";
}

const char *
store_config_source(const struct config_store *s)
{
	char **path = backend_string(s, s->backend != NULL ? s->backend->source_key : NULL);

	return path != NULL ? *path : NULL;
}

bool
store_config_events(const struct config_store *s)
{
	return s->backend != NULL && s->backend->events;
}

bool
store_config_waits(const struct config_store *s)
{
	return s->backend != NULL && s->backend->waits;
}
