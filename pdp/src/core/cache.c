/* cache.c - bounded, sharded, thread-safe cache: TTL plus LRU, refcounted values */
#include "core/cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Enough shards that worker threads rarely meet on one lock. */
#define CACHE_SHARDS 16

struct cache_entry {
	struct cache_entry *hnext;       /* hash chain */
	struct cache_entry *prev, *next; /* LRU list: head is most recent */
	uint64_t hash;
	int64_t expires;
	void *value;
	atomic_uint refs; /* the cache's own reference while linked, plus readers */
	size_t klen;
	unsigned char key[];
};

struct shard {
	pthread_mutex_t lock;
	struct cache_entry **buckets;
	size_t mask;
	struct cache_entry *head, *tail;
	size_t count, max;
	uint64_t gen; /* moves on every invalidation and flush: see cache_put_if */
	uint64_t hits, misses, inserts, evictions, expirations, invalidations;
};

struct cache {
	void (*value_free)(void *);
	uint64_t seed;
	bool enabled;
	struct shard shards[CACHE_SHARDS];
};

static uint64_t
mix_word(uint64_t h, const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
	return h ^ h >> 29;
}

/*
 * A seeded 64-bit multiply-xorshift hash: keys chosen by a client cannot be
 * aimed at one chain. Long keys (tokens) go through four independent lanes,
 * so the multiplies overlap instead of waiting on each other.
 */
static uint64_t
hash_bytes(const unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull);
	uint64_t v;

	if (n >= 32) {
		uint64_t l1 = h ^ 0x9e3779b97f4a7c15ull, l2 = h ^ 0x94d049bb133111ebull,
		         l3 = h ^ 0xbf58476d1ce4e5b9ull;

		for (; n >= 32; p += 32, n -= 32) {
			h = mix_word(h, p);
			l1 = mix_word(l1, p + 8);
			l2 = mix_word(l2, p + 16);
			l3 = mix_word(l3, p + 24);
		}
		h ^= (l1 * 0x9e3779b97f4a7c15ull) ^ (l2 * 0x94d049bb133111ebull) ^ l3;
	}
	for (; n >= 8; p += 8, n -= 8)
		h = mix_word(h, p);
	v = 0;
	memcpy(&v, p, n);
	h = (h ^ v) * 0x94d049bb133111ebull;
	h ^= h >> 32;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return h;
}

struct cache *
cache_new(size_t max_entries, void (*value_free)(void *))
{
	struct cache *c = calloc(1, sizeof(*c));
	size_t per, buckets;

	if (c == NULL)
		return NULL;
	c->value_free = value_free;
	c->enabled = max_entries > 0;
	if (getrandom(&c->seed, sizeof(c->seed), 0) != sizeof(c->seed))
		c->seed = (uint64_t)(uintptr_t)c ^ 0x2545f4914f6cdd1dull;
	per = (max_entries + CACHE_SHARDS - 1) / CACHE_SHARDS;
	for (buckets = 16; buckets < per; buckets <<= 1)
		;
	for (int i = 0; i < CACHE_SHARDS; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_init(&s->lock, NULL);
		s->max = per;
		s->mask = buckets - 1;
		if (c->enabled && (s->buckets = calloc(buckets, sizeof(*s->buckets))) == NULL) {
			cache_free(c);
			return NULL;
		}
	}
	return c;
}

static void
entry_unref(struct cache *c, struct cache_entry *e)
{
	if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
		if (c->value_free != NULL && e->value != NULL)
			c->value_free(e->value);
		free(e);
	}
}

static struct shard *
shard_of(struct cache *c, uint64_t h)
{
	return &c->shards[h >> 60 & (CACHE_SHARDS - 1)];
}

static void
lru_unlink(struct shard *s, struct cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push_front(struct shard *s, struct cache_entry *e)
{
	e->prev = NULL;
	e->next = s->head;
	if (s->head != NULL)
		s->head->prev = e;
	s->head = e;
	if (s->tail == NULL)
		s->tail = e;
}

/* Unlinks e from its shard; the caller drops the cache's reference after unlocking. */
static void
shard_remove(struct shard *s, struct cache_entry *e)
{
	struct cache_entry **pp = &s->buckets[e->hash & s->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(s, e);
	s->count--;
}

static struct cache_entry *
shard_find(struct shard *s, uint64_t h, const void *key, size_t klen)
{
	struct cache_entry *e;

	for (e = s->buckets[h & s->mask]; e != NULL; e = e->hnext) {
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	}
	return NULL;
}

/*
 * A live entry for key, held for the caller: by hold(value) if given, else
 * by a reference. With hold, the entry may be gone once the lock is dropped:
 * its value is returned in *held, read under the lock, and the entry must
 * not be touched.
 */
static struct cache_entry *
lookup(struct cache *c, const void *key, size_t klen, int64_t now, void (*hold)(void *),
       void **held)
{
	uint64_t h;
	struct shard *s;
	struct cache_entry *e, *dead = NULL;

	if (!c->enabled)
		return NULL;
	h = hash_bytes(key, klen, c->seed);
	s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	e = shard_find(s, h, key, klen);
	if (e != NULL && e->expires <= now) {
		shard_remove(s, e);
		s->expirations++;
		dead = e;
		e = NULL;
	}
	if (e != NULL) {
		if (s->head != e) {
			lru_unlink(s, e);
			lru_push_front(s, e);
		}
		if (hold != NULL) {
			hold(e->value);
			*held = e->value;
		} else
			atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
		s->hits++;
	} else {
		s->misses++;
	}
	pthread_mutex_unlock(&s->lock);
	if (dead != NULL)
		entry_unref(c, dead);
	return e;
}

const struct cache_entry *
cache_get(struct cache *c, const void *key, size_t klen, int64_t now)
{
	return lookup(c, key, klen, now, NULL, NULL);
}

void *
cache_get_held(struct cache *c, const void *key, size_t klen, int64_t now, void (*hold)(void *))
{
	void *value = NULL;

	lookup(c, key, klen, now, hold, &value);
	return value;
}

void *
cache_entry_value(const struct cache_entry *e)
{
	return e->value;
}

void
cache_release(struct cache *c, const struct cache_entry *e)
{
	if (e != NULL)
		entry_unref(c, (struct cache_entry *)e);
}

uint64_t
cache_generation(struct cache *c, const void *key, size_t klen)
{
	struct shard *s;
	uint64_t gen;

	if (!c->enabled)
		return 0;
	s = shard_of(c, hash_bytes(key, klen, c->seed));
	pthread_mutex_lock(&s->lock);
	gen = s->gen;
	pthread_mutex_unlock(&s->lock);
	return gen;
}

/* Any generation: cache_put stores unconditionally. */
#define GEN_ANY UINT64_MAX

static void
value_drop(struct cache *c, void *value)
{
	if (c->value_free != NULL && value != NULL)
		c->value_free(value);
}

int
cache_put_if(struct cache *c, const void *key, size_t klen, void *value, int64_t expires,
             uint64_t gen)
{
	struct cache_entry *e, *old, *evicted = NULL;
	struct shard *s;

	if (!c->enabled || (e = malloc(sizeof(*e) + klen)) == NULL) {
		value_drop(c, value);
		return -1;
	}
	e->hash = hash_bytes(key, klen, c->seed);
	e->expires = expires;
	e->value = value;
	e->klen = klen;
	e->prev = e->next = NULL;
	atomic_init(&e->refs, 1);
	memcpy(e->key, key, klen);
	s = shard_of(c, e->hash);
	pthread_mutex_lock(&s->lock);
	if (gen != GEN_ANY && gen != s->gen) {
		/* Invalidated while the value was being fetched: it may predate the event. */
		pthread_mutex_unlock(&s->lock);
		value_drop(c, value);
		free(e);
		return 1;
	}
	old = shard_find(s, e->hash, key, klen);
	if (old != NULL)
		shard_remove(s, old);
	else if (s->count >= s->max && s->tail != NULL) {
		evicted = s->tail;
		shard_remove(s, evicted);
		s->evictions++;
	}
	e->hnext = s->buckets[e->hash & s->mask];
	s->buckets[e->hash & s->mask] = e;
	lru_push_front(s, e);
	s->count++;
	s->inserts++;
	pthread_mutex_unlock(&s->lock);
	if (old != NULL)
		entry_unref(c, old);
	if (evicted != NULL)
		entry_unref(c, evicted);
	return 0;
}

int
cache_put(struct cache *c, const void *key, size_t klen, void *value, int64_t expires)
{
	return cache_put_if(c, key, klen, value, expires, GEN_ANY);
}

void
cache_invalidate(struct cache *c, const void *key, size_t klen)
{
	uint64_t h;
	struct shard *s;
	struct cache_entry *e;

	if (!c->enabled)
		return;
	h = hash_bytes(key, klen, c->seed);
	s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	s->gen = (s->gen + 1) % GEN_ANY;
	e = shard_find(s, h, key, klen);
	if (e != NULL) {
		shard_remove(s, e);
		s->invalidations++;
	}
	pthread_mutex_unlock(&s->lock);
	if (e != NULL)
		entry_unref(c, e);
}

void
cache_flush(struct cache *c)
{
	for (int i = 0; c->enabled && i < CACHE_SHARDS; i++) {
		struct shard *s = &c->shards[i];
		struct cache_entry *list, *e;

		if (s->buckets == NULL)
			continue;
		pthread_mutex_lock(&s->lock);
		s->gen = (s->gen + 1) % GEN_ANY;
		list = s->head;
		s->head = s->tail = NULL;
		s->invalidations += s->count;
		s->count = 0;
		memset(s->buckets, 0, (s->mask + 1) * sizeof(*s->buckets));
		pthread_mutex_unlock(&s->lock);
		while ((e = list) != NULL) {
			list = e->next;
			entry_unref(c, e);
		}
	}
}

void
cache_get_stats(struct cache *c, struct cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < CACHE_SHARDS; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		out->hits += s->hits;
		out->misses += s->misses;
		out->inserts += s->inserts;
		out->evictions += s->evictions;
		out->expirations += s->expirations;
		out->invalidations += s->invalidations;
		out->entries += s->count;
		pthread_mutex_unlock(&s->lock);
	}
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	if (c->enabled)
		cache_flush(c);
	for (int i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_destroy(&c->shards[i].lock);
		free(c->shards[i].buckets);
	}
	free(c);
}
