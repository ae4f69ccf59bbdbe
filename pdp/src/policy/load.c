/* load.c - policy directories into policy sets: settled reads, the revision, the drop guard */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/reload_guard.h"
#include "policy/load.h"
#include "policy/loader.h"

#define POLICY_MAX_FILE_BYTES (16u << 20)
#define POLICY_MAX_FILES      4096

struct input {
	const char *name;
	char *buf;
	size_t len;
	struct ydoc *doc;
};

static size_t
seq_len(yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SEQUENCE_NODE
	           ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
	           : 0;
}

/* A hash of every file's name and contents, in load order. */
static int
inputs_digest(const struct input *in, size_t n, unsigned char md[32])
{
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < n; i++) {
		const char *base = strrchr(in[i].name, '/');
		uint64_t len = in[i].len;

		base = base ? base + 1 : in[i].name;
		ok = EVP_DigestUpdate(ctx, base, strlen(base) + 1) == 1 &&
		     EVP_DigestUpdate(ctx, &len, sizeof(len)) == 1 &&
		     EVP_DigestUpdate(ctx, in[i].buf, in[i].len) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* The revision: the start of the inputs' digest. */
static int
compute_revision(struct policy_set *set, const struct input *in, size_t n)
{
	unsigned char md[32];

	if (inputs_digest(in, n, md) != 0)
		return -1;
	for (int i = 0; i < 8; i++)
		snprintf(set->revision + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static struct policy_set *
load_inputs(struct input *in, size_t n, char *err, size_t errsz)
{
	struct loader l = {.p = {NULL, err, errsz}};
	struct policy_set *set = calloc(1, sizeof(*set));
	size_t counts[4] = {0}, next[4] = {0};
	bool own_mfa = false;

	err[0] = '\0';
	if (set == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	l.set = set;
	arena_init(&set->mem, 64 << 10, (size_t)1 << 34);
	set->n_files = n;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *root, *k, *v;

		in[i].doc = ydoc_load_buffer(in[i].name, in[i].buf, in[i].len, err, errsz);
		if (in[i].doc == NULL)
			goto fail;
		root = ydoc_root(in[i].doc);
		if (root == NULL || root->type != YAML_MAPPING_NODE)
			continue;
		YDOC_MAP_FOREACH(in[i].doc, root, k, v)
		{
			static const char *const kinds[] = {"apps", "locations", "strengths",
			                                    "policies"};
			int kind = policy_name_lookup(kinds, 4, ydoc_scalar(k));

			if (kind >= 0)
				counts[kind] += seq_len(v);
		}
	}
	/* One more strength than written: room for the built-in mfa. */
	set->apps = loader_alloc(&l, counts[0] * sizeof(*set->apps));
	set->locations = loader_alloc(&l, counts[1] * sizeof(*set->locations));
	set->strengths = loader_alloc(&l, (counts[2] + 1) * sizeof(*set->strengths));
	set->policies = loader_alloc(&l, counts[3] * sizeof(*set->policies));
	if (set->apps == NULL || set->locations == NULL || set->strengths == NULL ||
	    set->policies == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (loader_parse_file(&l, in[i].doc, next) != 0)
			goto fail;
	}
	set->n_apps = next[0];
	set->n_locations = next[1];
	set->n_strengths = next[2];
	set->n_policies = next[3];
	for (size_t i = 0; i < set->n_strengths; i++)
		own_mfa |= strcmp(set->strengths[i].id, "mfa") == 0;
	if (!own_mfa && loader_builtin_mfa(&l, &set->strengths[set->n_strengths++]) != 0) {
		snprintf(err, errsz, "the built-in mfa strength does not fit with %d amr values",
		         POLICY_MAX_AMR);
		goto fail;
	}
	if (loader_resolve(&l) != 0 || loader_index_routes(&l) != 0 ||
	    loader_index_policies(&l) != 0)
		goto fail;
	if (compute_revision(set, in, n) != 0) {
		snprintf(err, errsz, "cannot hash the policy files");
		goto fail;
	}
	set->warnings = l.n_warnings ? loader_alloc(&l, l.n_warnings * sizeof(char *)) : NULL;
	for (size_t i = 0; set->warnings != NULL && i < l.n_warnings; i++)
		set->warnings[i] = l.warnings[i];
	set->n_warnings = set->warnings ? l.n_warnings : 0;
	free(l.warnings);
	free(l.refs);
	for (size_t i = 0; i < n; i++)
		ydoc_free(in[i].doc);
	return set;
fail:
	if (err[0] == '\0')
		snprintf(err, errsz, "out of memory");
	free(l.warnings);
	free(l.refs);
	for (size_t i = 0; i < n; i++) {
		ydoc_free(in[i].doc);
		in[i].doc = NULL;
	}
	policy_set_free(set);
	return NULL;
}

struct policy_set *
policy_set_load_buffers(const char *const *names, const char *const *bufs, size_t n, char *err,
                        size_t errsz)
{
	struct input *in = calloc(n ? n : 1, sizeof(*in));
	struct policy_set *set;

	if (in == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		in[i] = (struct input){names[i], (char *)bufs[i], strlen(bufs[i]), NULL};
	set = load_inputs(in, n, err, errsz);
	free(in);
	return set;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct input *)a)->name, ((const struct input *)b)->name);
}

bool
policy_set_reads(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int
read_input(struct input *in, char *err, size_t errsz)
{
	return file_read(in->name, POLICY_MAX_FILE_BYTES, &in->buf, &in->len, err, errsz);
}

static void
inputs_free(struct input *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)in[i].name);
		free(in[i].buf);
	}
	free(in);
}

/* Reads every policy file of dir, in name order, into *out (free with inputs_free). */
static int
read_dir(const char *dir, struct input **out, size_t *n_out, char *err, size_t errsz)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct input *in = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;

	if (d == NULL) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (!policy_set_reads(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == POLICY_MAX_FILES) {
			snprintf(err, errsz, "%s: more than %d policy files", dir,
			         POLICY_MAX_FILES);
			goto out;
		}
		if (n == cap) {
			struct input *grown = realloc(in, (cap = cap ? cap * 2 : 16) * sizeof(*in));

			if (grown == NULL) {
				snprintf(err, errsz, "out of memory");
				goto out;
			}
			in = grown;
		}
		in[n] = (struct input){strdup(path), NULL, 0, NULL};
		if (in[n++].name == NULL) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
	}
	if (in != NULL)
		qsort(in, n, sizeof(*in), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (read_input(&in[i], err, errsz) != 0)
			goto out;
	}
	rc = 0;
out:
	closedir(d);
	if (rc != 0) {
		inputs_free(in, n);
		in = NULL;
		n = 0;
	}
	*out = in;
	*n_out = n;
	return rc;
}

struct policy_set *
policy_set_load_settled(const char *dir, unsigned gap_ms, unsigned max_reads, char *err,
                        size_t errsz)
{
	struct input *in = NULL, *again = NULL;
	size_t n = 0, n_again = 0;
	unsigned char md[32], md_again[32];
	bool settled = max_reads < 2;
	struct policy_set *set = NULL;

	if (read_dir(dir, &in, &n, err, errsz) != 0)
		return NULL;
	for (unsigned i = 1; i < max_reads && !settled; i++) {
		if (inputs_digest(in, n, md) != 0) {
			snprintf(err, errsz, "cannot hash the policy files");
			goto out;
		}
		clock_sleep_ms(gap_ms);
		if (read_dir(dir, &again, &n_again, err, errsz) != 0)
			goto out;
		if (inputs_digest(again, n_again, md_again) != 0) {
			snprintf(err, errsz, "cannot hash the policy files");
			inputs_free(again, n_again);
			goto out;
		}
		settled = memcmp(md, md_again, sizeof(md)) == 0;
		inputs_free(in, n);
		in = again;
		n = n_again;
	}
	if (!settled) {
		snprintf(err, errsz,
		         "%s: the policy files kept changing over %u reads %u ms apart; not loaded",
		         dir, max_reads, gap_ms);
		goto out;
	}
	set = load_inputs(in, n, err, errsz);
out:
	inputs_free(in, n);
	return set;
}

struct policy_set *
policy_set_load(const char *dir, char *err, size_t errsz)
{
	return policy_set_load_settled(dir, 0, 1, err, errsz);
}

void
policy_set_free(struct policy_set *set)
{
	if (set == NULL)
		return;
	strtab_free(&set->users);
	strtab_free(&set->groups);
	strtab_free(&set->roles);
	strtab_free(&set->amr);
	strtab_free(&set->clients);
	strtab_free(&set->host_ids);
	arena_free(&set->mem);
	free(set);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t
policy_set_dropped(const struct policy_set *old, const struct policy_set *set, size_t *enforced,
                   char *ids, size_t idsz)
{
	const char **kept = calloc(set->n_policies ? set->n_policies : 1, sizeof(*kept));
	size_t n_kept = 0, dropped = 0;

	*enforced = 0;
	if (idsz > 0)
		ids[0] = '\0';
	for (size_t i = 0; kept != NULL && i < set->n_policies; i++) {
		if (set->policies[i].state == POLICY_ENABLED)
			kept[n_kept++] = set->policies[i].id;
	}
	if (kept != NULL)
		qsort(kept, n_kept, sizeof(*kept), cmp_id);
	for (size_t i = 0; i < old->n_policies; i++) {
		const char *id = old->policies[i].id;

		if (old->policies[i].state != POLICY_ENABLED)
			continue;
		++*enforced;
		/* Without memory to compare, every one counts as dropped: the guard holds. */
		if (kept == NULL || bsearch(&id, kept, n_kept, sizeof(*kept), cmp_id) == NULL) {
			dropped++;
			reload_guard_note(ids, idsz, id);
		}
	}
	free(kept);
	return dropped;
}
