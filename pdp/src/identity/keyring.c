/* keyring.c - each issuer's live key set: lock-free reads, atomic replacement on rotation */
#include "identity/keyring.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/epoch.h"
#include "core/log.h"

struct ring_issuer {
	struct config_issuer src; /* a copy of the key source: names, paths, timings */
	_Atomic(struct keyset *) keys;
	atomic_uint_fast64_t removals;
	_Atomic int64_t refetch_after_ns; /* no refetch is asked before */
	_Atomic size_t n_keys;
	_Atomic int64_t loaded_at_ms;
	pthread_mutex_t lock; /* the report below: written by the fetcher, read by health */
	bool attempted;
	enum keys_result last_result;
	int64_t last_at_ms;
	char last_error[KEYRING_ERROR_MAX];
	uint64_t attempts[KEYS_RESULTS];
};

struct keyring {
	struct ring_issuer *is;
	size_t n;
	struct epoch readers;
	atomic_uint_fast64_t next_serial;
	void (*refetch)(void *arg, size_t issuer);
	void *refetch_arg;
};

static const char *const result_names[KEYS_RESULTS] = {
    [KEYS_OK] = "ok",           [KEYS_NETWORK] = "network",
    [KEYS_TLS] = "tls",         [KEYS_HTTP_STATUS] = "http_status",
    [KEYS_INVALID] = "invalid", [KEYS_FILE] = "file",
};

const char *
keys_result_name(enum keys_result r)
{
	return (unsigned)r < KEYS_RESULTS ? result_names[r] : "unknown";
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
copy_str(char **dst, const char *src)
{
	*dst = NULL;
	return src != NULL && (*dst = strdup(src)) == NULL ? -1 : 0;
}

/* The key source of c: what the fetcher and health need, nothing of claims or audiences. */
static int
source_copy(struct config_issuer *dst, const struct config_issuer *c)
{
	memset(dst, 0, sizeof(*dst));
	dst->discovery = c->discovery;
	dst->algorithms = c->algorithms;
	dst->jwks_refresh_ms = c->jwks_refresh_ms;
	dst->jwks_min_refetch_ms = c->jwks_min_refetch_ms;
	memcpy(dst->where, c->where, sizeof(dst->where));
	return copy_str(&dst->issuer, c->issuer) | copy_str(&dst->jwks_file, c->jwks_file) |
	       copy_str(&dst->jwks_uri, c->jwks_uri) |
	       copy_str(&dst->hmac_secret_file, c->hmac_secret_file) |
	       copy_str(&dst->tls_ca_file, c->tls_ca_file);
}

static void
source_free(struct config_issuer *s)
{
	free(s->issuer);
	free(s->jwks_file);
	free(s->jwks_uri);
	free(s->hmac_secret_file);
	free(s->tls_ca_file);
}

static bool
remote(const struct config_issuer *s)
{
	return s->jwks_uri != NULL || s->discovery;
}

/* Gives ks's keys the serials of the same keys in old, and new ones to the rest. */
static uint64_t
serials_assign(struct keyring *kr, struct keyset *ks, const struct keyset *old)
{
	uint64_t kept = 0;

	for (size_t i = 0; i < ks->n; i++) {
		struct jwk *k = &ks->keys[i];

		k->serial = 0;
		for (size_t j = 0; old != NULL && j < old->n && k->serial == 0; j++) {
			if (jwk_same(k, &old->keys[j])) {
				k->serial = old->keys[j].serial;
				kept++;
			}
		}
		if (k->serial == 0)
			k->serial = atomic_fetch_add(&kr->next_serial, 1);
	}
	return kept;
}

struct keyring *
keyring_new(const struct config_issuer *issuers, size_t n, unsigned n_readers, char *err,
            size_t errsz)
{
	struct keyring *kr = calloc(1, sizeof(*kr));

	if (kr == NULL || (n > 0 && (kr->is = calloc(n, sizeof(*kr->is))) == NULL) ||
	    epoch_init(&kr->readers, n_readers) != 0) {
		snprintf(err, errsz, "out of memory");
		if (kr != NULL)
			free(kr->is);
		free(kr);
		return NULL;
	}
	atomic_init(&kr->next_serial, 1);
	for (size_t i = 0; i < n; i++) {
		struct ring_issuer *ri = &kr->is[kr->n++];
		const struct config_issuer *c = &issuers[i];
		struct keyset *ks = NULL;
		int rc = 0;

		pthread_mutex_init(&ri->lock, NULL);
		if (source_copy(&ri->src, c) != 0) {
			snprintf(err, errsz, "out of memory");
			goto fail;
		}
		if (c->jwks_file != NULL)
			rc = keyset_load_jwks(c->jwks_file, c->algorithms, &ks, err, errsz);
		else if (c->hmac_secret_file != NULL)
			rc = keyset_load_hmac(c->hmac_secret_file, c->algorithms, &ks, err, errsz);
		if (rc != 0)
			goto fail;
		if (ks != NULL) {
			serials_assign(kr, ks, NULL);
			atomic_store(&ri->n_keys, ks->n);
			atomic_store(&ri->loaded_at_ms, wall_ms());
		}
		atomic_init(&ri->keys, ks);
		if (c->jwks_file != NULL)
			keyring_report(kr, i, KEYS_OK, NULL);
	}
	return kr;
fail:
	keyring_free(kr);
	return NULL;
}

void
keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	for (size_t i = 0; i < kr->n; i++) {
		keyset_free(atomic_load(&kr->is[i].keys));
		source_free(&kr->is[i].src);
		pthread_mutex_destroy(&kr->is[i].lock);
	}
	free(kr->is);
	epoch_fini(&kr->readers);
	free(kr);
}

size_t
keyring_size(const struct keyring *kr)
{
	return kr->n;
}

const struct config_issuer *
keyring_issuer(const struct keyring *kr, size_t issuer)
{
	return &kr->is[issuer].src;
}

void
keyring_enter(struct keyring *kr, unsigned reader)
{
	epoch_enter(&kr->readers, reader);
}

void
keyring_exit(struct keyring *kr, unsigned reader)
{
	epoch_exit(&kr->readers, reader);
}

const struct keyset *
keyring_keys(struct keyring *kr, size_t issuer)
{
	return atomic_load(&kr->is[issuer].keys);
}

uint64_t
keyring_removals(struct keyring *kr, size_t issuer)
{
	return atomic_load(&kr->is[issuer].removals);
}

bool
keyring_key_live(struct keyring *kr, unsigned reader, size_t issuer, uint64_t serial, uint64_t gen)
{
	const struct keyset *ks;
	bool live = false;

	if (atomic_load(&kr->is[issuer].removals) == gen)
		return true;
	keyring_enter(kr, reader);
	ks = keyring_keys(kr, issuer);
	for (size_t i = 0; ks != NULL && i < ks->n && !live; i++)
		live = ks->keys[i].serial == serial;
	keyring_exit(kr, reader);
	return live;
}

bool
keyring_want_refetch(struct keyring *kr, size_t issuer, int64_t now_ns)
{
	struct ring_issuer *ri = &kr->is[issuer];
	int64_t after = atomic_load_explicit(&ri->refetch_after_ns, memory_order_relaxed);

	if (!remote(&ri->src) || kr->refetch == NULL || now_ns < after)
		return false;
	/* One thread wins the window; the others see it taken. */
	if (!atomic_compare_exchange_strong(&ri->refetch_after_ns, &after,
	                                    now_ns +
	                                        (int64_t)ri->src.jwks_min_refetch_ms * 1000000))
		return false;
	kr->refetch(kr->refetch_arg, issuer);
	return true;
}

void
keyring_on_refetch(struct keyring *kr, void (*fn)(void *arg, size_t issuer), void *arg)
{
	kr->refetch_arg = arg;
	kr->refetch = fn;
}

void
keyring_replace(struct keyring *kr, size_t issuer, struct keyset *ks)
{
	struct ring_issuer *ri = &kr->is[issuer];
	/* Only this writer replaces the set: it may read the current one as is. */
	struct keyset *old = atomic_load(&ri->keys);
	uint64_t kept = serials_assign(kr, ks, old);

	/* Published before the count moves: a reader that saw the old set read the old count. */
	atomic_store(&ri->keys, ks);
	atomic_store(&ri->n_keys, ks->n);
	atomic_store(&ri->loaded_at_ms, wall_ms());
	if (old != NULL && kept < old->n) {
		atomic_fetch_add(&ri->removals, 1);
		log_info("issuer %s: %zu key(s) gone from its set stop verifying, cached tokens "
		         "included",
		         ri->src.issuer, old->n - (size_t)kept);
	}
	epoch_synchronize(&kr->readers);
	keyset_free(old);
}

void
keyring_report(struct keyring *kr, size_t issuer, enum keys_result r, const char *why)
{
	struct ring_issuer *ri = &kr->is[issuer];
	char said[KEYRING_ERROR_MAX];
	bool changed;

	if ((unsigned)r >= KEYS_RESULTS)
		r = KEYS_INVALID;
	snprintf(said, sizeof(said), "%s", r == KEYS_OK || why == NULL ? "" : why);
	pthread_mutex_lock(&ri->lock);
	changed = !ri->attempted || ri->last_result != r || strcmp(ri->last_error, said) != 0;
	ri->attempted = true;
	ri->last_result = r;
	ri->last_at_ms = wall_ms();
	memcpy(ri->last_error, said, sizeof(said));
	ri->attempts[r]++;
	pthread_mutex_unlock(&ri->lock);
	if (!changed)
		return;
	if (r == KEYS_OK)
		log_info("issuer %s: keys loaded (%zu)", ri->src.issuer, atomic_load(&ri->n_keys));
	else if (atomic_load(&ri->keys) != NULL)
		log_warn("issuer %s: keys not refreshed (%s: %s); the last good keys serve",
		         ri->src.issuer, keys_result_name(r), said);
	else
		log_error("issuer %s: no keys (%s: %s); its tokens are answered 500 until keys "
		          "arrive",
		          ri->src.issuer, keys_result_name(r), said);
}

void
keyring_status(struct keyring *kr, size_t issuer, struct keyring_status *out)
{
	struct ring_issuer *ri = &kr->is[issuer];

	out->loaded_at_ms = atomic_load(&ri->loaded_at_ms);
	out->has_keys = out->loaded_at_ms != 0;
	out->n_keys = atomic_load(&ri->n_keys);
	pthread_mutex_lock(&ri->lock);
	out->attempted = ri->attempted;
	out->last_result = ri->last_result;
	out->last_at_ms = ri->last_at_ms;
	memcpy(out->last_error, ri->last_error, sizeof(out->last_error));
	memcpy(out->attempts, ri->attempts, sizeof(out->attempts));
	pthread_mutex_unlock(&ri->lock);
}
