/* cache.h - bounded, sharded, thread-safe cache: TTL plus LRU, refcounted values */
#ifndef PDP_CACHE_H
#define PDP_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache;
struct cache_entry;

struct cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t inserts;
	uint64_t evictions;   /* pushed out by the size bound */
	uint64_t expirations; /* found dead at lookup */
	uint64_t invalidations;
	uint64_t entries;
};

/*
 * Creates a cache of at most max_entries, rounded up to a multiple of 16
 * (the shard count); 0 disables it: every lookup misses. Keys are byte strings compared in full, so
 * distinct keys never share an entry. value_free (may be NULL) frees a value once its entry has
 * left the cache and the last reader has released it. Free with cache_free.
 */
struct cache *cache_new(size_t max_entries, void (*value_free)(void *));

/*
 * Looks key up at time now (any monotonic or wall unit the caller uses
 * consistently for expiry). On a live hit returns the entry, held for the
 * caller until cache_release; an expired entry is dropped and NULL returned.
 */
const struct cache_entry *cache_get(struct cache *c, const void *key, size_t klen, int64_t now);

/*
 * As cache_get, for values with a reference count of their own: on a live
 * hit calls hold(value) while the entry is still in the cache, and returns
 * the value, which the caller then releases its own way (the entry itself is
 * not held). NULL: a miss, or a NULL value.
 */
void *cache_get_held(struct cache *c, const void *key, size_t klen, int64_t now,
                     void (*hold)(void *));

/* The value stored with the entry (NULL for a negative entry). */
void *cache_entry_value(const struct cache_entry *e);

void cache_release(struct cache *c, const struct cache_entry *e);

/*
 * Stores value under key until expires (same unit as now), replacing any
 * entry for key and evicting the least recently used past the bound. The
 * cache owns value from here on, also on failure (then it is freed). Returns
 * 0, or -1 when out of memory or the cache is disabled.
 */
int cache_put(struct cache *c, const void *key, size_t klen, void *value, int64_t expires);

/*
 * A value for cache_put_if, read before fetching what will be stored under
 * key: it moves whenever key (or a key sharing its shard) is invalidated or
 * the cache is flushed.
 */
uint64_t cache_generation(struct cache *c, const void *key, size_t klen);

/*
 * As cache_put, unless key was invalidated (or the cache flushed) since gen
 * was read: then value is freed, nothing stored, and 1 returned. So a value
 * fetched before an invalidation arrived never outlives it.
 */
int cache_put_if(struct cache *c, const void *key, size_t klen, void *value, int64_t expires,
                 uint64_t gen);

/* Drops key's entry, if any. */
void cache_invalidate(struct cache *c, const void *key, size_t klen);

/* Drops every entry. */
void cache_flush(struct cache *c);

void cache_get_stats(struct cache *c, struct cache_stats *out);

void cache_free(struct cache *c);

#endif
