/* store_file.c - the file backend: device and user records from one YAML file, reloaded live */
#include "context/store_file.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context/record.h"
#include "context/store_backend.h"
#include "core/arena.h"
#include "core/file.h"
#include "core/reload_guard.h"
#include "core/yaml_doc.h"

/* A context file's records may take this much memory; a bigger one is refused. */
#define FILE_MAX_BYTES (256u << 20)
/* And its text this many bytes, as any YAML file the PDP reads. */
#define FILE_MAX_TEXT (16u << 20)

struct file_device {
	const char *id;
	struct device_record rec;
};

struct file_user {
	const char *id;
	struct user_record rec;
};

/* One loaded file, immutable once built. */
struct file_data {
	struct arena mem;
	struct file_device *devices;
	size_t n_devices;
	struct file_user *users;
	size_t n_users;
	const char **jtis;
	size_t n_jtis;
};

struct file_store {
	struct store *store;
	const char *path;
	pthread_rwlock_t lock;
	struct file_data *data;
};

/* --- loading ----------------------------------------------------------------------- */

struct file_parse {
	struct ydoc_parse p; /* first: handlers get &fp->p */
	struct file_data *d;
};

#define FP(p) ((struct file_parse *)(p))

static const char *
copy_n(void *ctx, const char *s, size_t n)
{
	return arena_strndup(&((struct file_data *)ctx)->mem, s, n);
}

static size_t
seq_len(yaml_node_t *v)
{
	return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
}

/* The "id" of a record entry, copied; NULL after an error. */
static const char *
entry_id(struct ydoc_parse *p, yaml_node_t *item, const char *what)
{
	yaml_node_t *k, *v;
	const char *id;

	if (item->type != YAML_MAPPING_NODE) {
		YDOC_ERR(p, item, "expected a map of %s fields", what);
		return NULL;
	}
	YDOC_MAP_FOREACH(p->doc, item, k, v)
	{
		const char *name = ydoc_scalar(k);

		if (name == NULL || strcmp(name, "id") != 0)
			continue;
		if (ydoc_get_string(p->doc, v, &id, p->err, p->errsz) != 0)
			return NULL;
		if (id[0] == '\0') {
			YDOC_ERR(p, v, "id must not be empty");
			return NULL;
		}
		id = copy_n(FP(p)->d, id, strlen(id));
		if (id == NULL)
			YDOC_ERR(p, v, "out of memory");
		return id;
	}
	YDOC_ERR(p, item, "a %s needs an \"id\"", what);
	return NULL;
}

static int
h_devices(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	static const char *const skip[] = {"id", NULL};
	struct file_data *d = t;
	yaml_node_t *item;

	if (v->type != YAML_SEQUENCE_NODE)
		return YDOC_ERR(p, v, "expected a list of devices");
	d->devices = arena_alloc(&d->mem, (seq_len(v) + 1) * sizeof(*d->devices));
	if (d->devices == NULL)
		return YDOC_ERR(p, v, "out of memory");
	YDOC_SEQ_FOREACH(p->doc, v, item)
	{
		struct file_device *fd = &d->devices[d->n_devices];

		record_device_init(&fd->rec);
		if ((fd->id = entry_id(p, item, "device")) == NULL ||
		    record_device_yaml(p, item, &fd->rec, skip, copy_n, d) != 0)
			return -1;
		fd->rec.id = fd->id;
		d->n_devices++;
	}
	return 0;
}

static int
h_users(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	static const char *const skip[] = {"id", NULL};
	struct file_data *d = t;
	yaml_node_t *item;

	if (v->type != YAML_SEQUENCE_NODE)
		return YDOC_ERR(p, v, "expected a list of users");
	d->users = arena_alloc(&d->mem, (seq_len(v) + 1) * sizeof(*d->users));
	if (d->users == NULL)
		return YDOC_ERR(p, v, "out of memory");
	YDOC_SEQ_FOREACH(p->doc, v, item)
	{
		struct file_user *fu = &d->users[d->n_users];

		memset(&fu->rec, 0, sizeof(fu->rec));
		if ((fu->id = entry_id(p, item, "user")) == NULL ||
		    record_user_yaml(p, item, &fu->rec, skip) != 0)
			return -1;
		d->n_users++;
	}
	return 0;
}

static int
h_jtis(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct file_data *d = t;
	const char **list = NULL;
	size_t n = 0;

	if (ydoc_get_strings(p->doc, v, &list, &n, p->err, p->errsz) != 0)
		return -1;
	d->jtis = arena_alloc(&d->mem, (n + 1) * sizeof(*d->jtis));
	for (size_t i = 0; d->jtis != NULL && i < n; i++) {
		if ((d->jtis[i] = copy_n(d, list[i], strlen(list[i]))) == NULL)
			d->jtis = NULL;
	}
	free(list);
	if (d->jtis == NULL)
		return YDOC_ERR(p, v, "out of memory");
	d->n_jtis = n;
	return 0;
}

static const struct ydoc_key file_keys[] = {
    YDOC_KEY_CALL("devices", h_devices),
    YDOC_KEY_CALL("users", h_users),
    YDOC_KEY_CALL("revoked_jtis", h_jtis),
    YDOC_KEY_END,
};

static int
cmp_device(const void *a, const void *b)
{
	return strcmp(((const struct file_device *)a)->id, ((const struct file_device *)b)->id);
}

static int
cmp_user(const void *a, const void *b)
{
	return strcmp(((const struct file_user *)a)->id, ((const struct file_user *)b)->id);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts n items (ids first in each) and refuses a repeated id. */
static int
sort_unique(void *items, size_t n, size_t size, int (*cmp)(const void *, const void *),
            const char *path, const char *what, char *err, size_t errsz)
{
	if (n < 2)
		return 0; /* nothing to sort (items may be NULL) */
	qsort(items, n, size, cmp);
	for (size_t i = 1; i < n; i++) {
		const char *a = (const char *)items + (i - 1) * size;

		if (cmp(a, a + size) == 0) {
			snprintf(err, errsz, "%s: %s \"%.100s\" is listed twice", path, what,
			         *(const char *const *)a);
			return -1;
		}
	}
	return 0;
}

static void
data_free(struct file_data *d)
{
	if (d != NULL) {
		arena_free(&d->mem);
		free(d);
	}
}

/* Reads doc (named path) into new records; frees doc. */
static struct file_data *
data_from_doc(struct ydoc *doc, const char *path, char *err, size_t errsz)
{
	struct file_data *d = NULL;
	struct file_parse fp;
	yaml_node_t *root;

	if (doc == NULL)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	arena_init(&d->mem, 64 * 1024, FILE_MAX_BYTES);
	fp.p = (struct ydoc_parse){doc, err, errsz};
	fp.d = d;
	/* A file cut to nothing must not read as "no revocations". */
	if ((root = ydoc_root_required(doc, "revoked_jtis: []", err, errsz)) == NULL)
		goto fail;
	if (root->type == YAML_MAPPING_NODE) {
		yaml_node_t *k, *v;

		YDOC_MAP_FOREACH(doc, root, k, v)
		{
			if (ydoc_list_given(doc, k, v, err, errsz) != 0)
				goto fail;
		}
	}
	if (ydoc_parse_map(&fp.p, root, file_keys, d) != 0)
		goto fail;
	if (sort_unique(d->devices, d->n_devices, sizeof(*d->devices), cmp_device, path, "device",
	                err, errsz) != 0 ||
	    sort_unique(d->users, d->n_users, sizeof(*d->users), cmp_user, path, "user", err,
	                errsz) != 0 ||
	    sort_unique(d->jtis, d->n_jtis, sizeof(*d->jtis), cmp_str, path, "jti", err, errsz) !=
	        0)
		goto fail;
	ydoc_free(doc);
	return d;
fail:
	ydoc_free(doc);
	data_free(d);
	return NULL;
}

/* Loads path once two reads agree (as g says). */
static struct file_data *
data_load(const char *path, const struct reload_guard *g, char *err, size_t errsz)
{
	char *buf = NULL;
	size_t len = 0;
	struct file_data *d;

	if (file_read_settled(path, FILE_MAX_TEXT, g->reread_ms, g->max_reads, &buf, &len, err,
	                      errsz) != 0)
		return NULL;
	d = data_from_doc(ydoc_load_buffer(path, buf, len, err, errsz), path, err, errsz);
	free(buf);
	return d;
}

int
store_file_parse(const char *name, const char *buf, size_t len, char *err, size_t errsz)
{
	struct file_data *d =
	    data_from_doc(ydoc_load_buffer(name, buf, len, err, errsz), name, err, errsz);

	data_free(d);
	return d != NULL ? 0 : -1;
}

/* --- the backend ------------------------------------------------------------------- */

/* Finds key (len bytes) among n sorted items whose first member is the id. */
static const void *
find(const void *items, size_t n, size_t size, const char *key, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *id = *(const char *const *)((const char *)items + mid * size);
		int c = strncmp(id, key, len);

		if (c == 0)
			c = id[len] != '\0';
		if (c == 0)
			return (const char *)items + mid * size;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct store_value *
device_value(const struct file_device *fd)
{
	size_t room = 0;
	struct store_value *v;

	if (fd != NULL)
		room =
		    strlen(fd->id) + 1 + (fd->rec.os_version ? strlen(fd->rec.os_version) + 1 : 0);
	if ((v = store_value_new(room)) == NULL || fd == NULL)
		return v;
	v->found = true;
	v->device = fd->rec;
	v->device.id = store_value_copy(v, fd->id, strlen(fd->id));
	if (fd->rec.os_version != NULL)
		v->device.os_version =
		    store_value_copy(v, fd->rec.os_version, strlen(fd->rec.os_version));
	return v;
}

static enum store_err
file_fetch(void *be, unsigned worker, struct store_fetch *f, char *err, size_t errsz)
{
	struct file_store *fs = be;
	const struct file_data *d;
	enum store_err e = STORE_OK;

	(void)worker;
	pthread_rwlock_rdlock(&fs->lock);
	d = fs->data;
	for (int k = 0; k < STORE_KINDS && e == STORE_OK; k++) {
		const void *hit;

		if (f->key[k] == NULL)
			continue;
		if (k == STORE_DEVICE) {
			hit = find(d->devices, d->n_devices, sizeof(*d->devices), f->key[k],
			           f->len[k]);
			f->value[k] = device_value(hit);
		} else if (k == STORE_USER) {
			hit = find(d->users, d->n_users, sizeof(*d->users), f->key[k], f->len[k]);
			if ((f->value[k] = store_value_new(0)) != NULL && hit != NULL) {
				f->value[k]->found = true;
				f->value[k]->user = ((const struct file_user *)hit)->rec;
			}
		} else {
			hit = find(d->jtis, d->n_jtis, sizeof(*d->jtis), f->key[k], f->len[k]);
			if ((f->value[k] = store_value_new(0)) != NULL)
				f->value[k]->found = hit != NULL;
		}
		if (f->value[k] == NULL)
			e = STORE_NO_MEMORY;
	}
	pthread_rwlock_unlock(&fs->lock);
	if (e != STORE_OK) {
		snprintf(err, errsz, "out of memory");
		for (int k = 0; k < STORE_KINDS; k++) {
			store_value_unref(f->value[k]);
			f->value[k] = NULL;
		}
	}
	return e;
}

/* A user's revoked_before, or 0 without a record. */
static int64_t
revoked_before(const struct file_data *d, const char *user)
{
	const struct file_user *u =
	    find(d->users, d->n_users, sizeof(*d->users), user, strlen(user));

	return u != NULL ? u->rec.revoked_before : 0;
}

static bool
is_disabled(const struct file_data *d, const char *user)
{
	const struct file_user *u =
	    find(d->users, d->n_users, sizeof(*d->users), user, strlen(user));

	return u != NULL && u->rec.disabled;
}

/*
 * What replacing old with d would take away: revocations (revoked jtis, and
 * users whose revoked_before is gone or moved back) and disabled users. Any
 * one of them lost needs a confirmed reload: reload.max_drop does not apply,
 * a bad write must never lift a revocation. Device and risk records are not
 * guarded. 0 when the guard lets it through; else RELOAD_REFUSED with what
 * and how many in err.
 */
static int
file_guard(const struct file_data *old, const struct file_data *d, const struct reload_guard *g,
           char *err, size_t errsz)
{
	char revoked[256] = "", disabled[256] = "";
	size_t n_revoked = old->n_jtis, lost_revoked = 0, n_disabled = 0, lost_disabled = 0;

	for (size_t i = 0; i < old->n_jtis; i++) {
		const char *jti = old->jtis[i];

		if (find(d->jtis, d->n_jtis, sizeof(*d->jtis), jti, strlen(jti)) == NULL) {
			lost_revoked++;
			reload_guard_note(revoked, sizeof(revoked), jti);
		}
	}
	for (size_t i = 0; i < old->n_users; i++) {
		const struct file_user *u = &old->users[i];

		if (u->rec.revoked_before > 0) {
			n_revoked++;
			if (revoked_before(d, u->id) < u->rec.revoked_before) {
				lost_revoked++;
				reload_guard_note(revoked, sizeof(revoked), u->id);
			}
		}
		if (u->rec.disabled) {
			n_disabled++;
			if (!is_disabled(d, u->id)) {
				lost_disabled++;
				reload_guard_note(disabled, sizeof(disabled), u->id);
			}
		}
	}
	if (g->confirmed || (lost_revoked == 0 && lost_disabled == 0))
		return RELOAD_OK;
	snprintf(err, errsz,
	         "would drop %zu of %zu revocations [%s] and %zu of %zu disabled users [%s] "
	         "(any such drop needs a confirm; reload.max_drop does not apply to them)",
	         lost_revoked, n_revoked, revoked, lost_disabled, n_disabled, disabled);
	return RELOAD_REFUSED;
}

static int
file_reload(void *be, const struct reload_guard *g, char *err, size_t errsz)
{
	struct file_store *fs = be;
	struct file_data *d = data_load(fs->path, g, err, errsz), *old;

	if (d == NULL)
		return RELOAD_FAILED;
	/* Only reloads replace fs->data, one at a time: reading it here needs no lock. */
	if (file_guard(fs->data, d, g, err, errsz) != RELOAD_OK) {
		data_free(d);
		return RELOAD_REFUSED;
	}
	pthread_rwlock_wrlock(&fs->lock);
	old = fs->data;
	fs->data = d;
	pthread_rwlock_unlock(&fs->lock);
	data_free(old);
	/* After the swap: a lookup that read the old data cannot be cached past the flush. */
	store_flush(fs->store);
	return 0;
}

/* --- its keys in the config ---------------------------------------------------------- */

/* The store section's keys of a file store. */
struct file_config {
	char *path;
};

static const struct ydoc_key file_config_keys[] = {
    YDOC_KEY_STRING("path", struct file_config, path),
    YDOC_KEY_END,
};

static const char *const file_config_paths[] = {"path", NULL};

static void *
file_config_new(void)
{
	return calloc(1, sizeof(struct file_config));
}

static int
file_config_check(struct ydoc_parse *p, yaml_node_t *v, const void *cfg, bool chosen)
{
	const struct file_config *c = cfg;

	if (!chosen && c->path != NULL)
		return YDOC_ERR(p, v, "path is for a file store");
	if (chosen && c->path == NULL)
		return YDOC_ERR(p, v, "a file store needs \"path\"");
	return 0;
}

static void
file_config_free(void *cfg)
{
	if (cfg != NULL)
		free(((struct file_config *)cfg)->path);
	free(cfg);
}

/* --- open and close ---------------------------------------------------------------- */

static void
file_close(void *be)
{
	struct file_store *fs = be;

	pthread_rwlock_destroy(&fs->lock);
	data_free(fs->data);
	free(fs);
}

static void *
file_open(struct store *s, const struct config_store *cfg, unsigned n_workers, char *err,
          size_t errsz)
{
	/*
	 * Read until two reads agree, as a reload does (the store has no
	 * reload.settle of its own: a gap within its 5-50 ms): a file still being
	 * written must not become the first records served. `pdp check` reads the
	 * same way.
	 */
	static const struct reload_guard first = {.reread_ms = 20, .max_reads = 5};
	struct file_store *fs = calloc(1, sizeof(*fs));

	(void)n_workers;
	if (fs == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	fs->store = s;
	fs->path = ((const struct file_config *)cfg->backend_cfg)->path;
	pthread_rwlock_init(&fs->lock, NULL);
	if ((fs->data = data_load(fs->path, &first, err, errsz)) == NULL) {
		file_close(fs);
		return NULL;
	}
	return fs;
}

const struct store_backend store_backend_file = {
    .name = "file",
    .events = false,
    .config_keys = file_config_keys,
    .implied_by = "path",
    .config_paths = file_config_paths,
    .source_key = "path",
    .config_new = file_config_new,
    .config_check = file_config_check,
    .config_free = file_config_free,
    .open = file_open,
    .fetch = file_fetch,
    .reload = file_reload,
    .close = file_close,
};
