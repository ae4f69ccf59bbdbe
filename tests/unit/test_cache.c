/* test_cache.c - bounded TTL + LRU cache */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cache.h"
#include "testlib.h"

static int freed;

static void
count_free(void *v)
{
	freed++;
	free(v);
}

static char *
value(const char *s)
{
	return strdup(s);
}

/* Whether key has a live entry at now; the lookup's hold is released at once. */
static bool
present(struct cache *c, const char *key, int64_t now)
{
	const struct cache_entry *e = cache_get(c, key, strlen(key), now);

	cache_release(c, e);
	return e != NULL;
}

static void
hit_and_miss(void **state)
{
	struct cache *c = cache_new(64, count_free);
	const struct cache_entry *e;

	(void)state;
	assert_int_equal(cache_put(c, "token-a", 7, value("A"), 100), 0);
	e = cache_get(c, "token-a", 7, 10);
	assert_non_null(e);
	assert_string_equal(cache_entry_value(e), "A");
	cache_release(c, e);
	/* A prefix, an extension and a one-byte change are all different keys. */
	assert_null(cache_get(c, "token-", 6, 10));
	assert_null(cache_get(c, "token-ab", 8, 10));
	assert_null(cache_get(c, "token-b", 7, 10));
	cache_free(c);
}

static void
entries_expire(void **state)
{
	struct cache *c = cache_new(64, count_free);
	struct cache_stats st;

	(void)state;
	freed = 0;
	cache_put(c, "k", 1, value("v"), 50);
	assert_true(present(c, "k", 49));
	assert_false(present(c, "k", 50));
	assert_int_equal(freed, 1);
	cache_get_stats(c, &st);
	assert_int_equal(st.expirations, 1);
	assert_int_equal(st.entries, 0);
	cache_free(c);
}

static void
size_is_bounded_and_lru_keeps_recent(void **state)
{
	struct cache *c = cache_new(64, count_free);
	struct cache_stats st;
	char key[32];

	(void)state;
	freed = 0;
	cache_put(c, "hot", 3, value("hot"), 1000);
	cache_put(c, "cold", 4, value("cold"), 1000);
	for (int i = 0; i < 5000; i++) {
		const struct cache_entry *e = cache_get(c, "hot", 3, 1);

		assert_non_null(e);
		cache_release(c, e);
		snprintf(key, sizeof(key), "key-%d", i);
		assert_int_equal(cache_put(c, key, strlen(key), value(key), 1000), 0);
	}
	cache_get_stats(c, &st);
	assert_true(st.entries <= 64);
	assert_int_equal(st.evictions, st.inserts - st.entries);
	assert_int_equal((uint64_t)freed, st.evictions);
	/* "hot" was used before every insert so it never was the least recent. */
	assert_true(present(c, "hot", 1));
	assert_false(present(c, "cold", 1));
	cache_free(c);
}

static void
held_entry_survives_eviction(void **state)
{
	struct cache *c = cache_new(16, count_free);
	const struct cache_entry *e;
	char key[32];

	(void)state;
	freed = 0;
	cache_put(c, "held", 4, value("held"), 1000);
	e = cache_get(c, "held", 4, 1);
	assert_non_null(e);
	cache_invalidate(c, "held", 4);
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		cache_put(c, key, strlen(key), value(key), 1000);
	}
	/* Out of the cache, yet still readable by the holder until released. */
	assert_null(cache_get(c, "held", 4, 1));
	assert_string_equal(cache_entry_value(e), "held");
	int before = freed;
	cache_release(c, e);
	assert_int_equal(freed, before + 1);
	cache_free(c);
}

/* A value with its own reference count, as the context store keeps them. */
struct counted {
	int refs;
	char text[8];
};

static void
counted_hold(void *v)
{
	((struct counted *)v)->refs++;
}

static void
counted_unref(void *v)
{
	struct counted *cv = v;

	if (--cv->refs == 0) {
		freed++;
		free(cv);
	}
}

static void
held_value_outlives_its_entry(void **state)
{
	struct cache *c = cache_new(16, counted_unref);
	struct counted *v = calloc(1, sizeof(*v)), *got;

	(void)state;
	freed = 0;
	v->refs = 1; /* the cache's */
	strcpy(v->text, "dev");
	cache_put(c, "dev", 3, v, 1000);
	assert_null(cache_get_held(c, "other", 5, 1, counted_hold));
	assert_null(cache_get_held(c, "dev", 3, 1000, counted_hold)); /* expired: dropped */
	assert_int_equal(freed, 1);
	v = calloc(1, sizeof(*v));
	v->refs = 1;
	strcpy(v->text, "dev2");
	cache_put(c, "dev", 3, v, 1000);
	got = cache_get_held(c, "dev", 3, 1, counted_hold);
	assert_ptr_equal(got, v);
	assert_int_equal(got->refs, 2);
	/* Dropped from the cache, the value stays with its holder until released. */
	cache_invalidate(c, "dev", 3);
	assert_int_equal(freed, 1);
	assert_string_equal(got->text, "dev2");
	counted_unref(got);
	assert_int_equal(freed, 2);
	cache_free(c);
}

static void
invalidate_replace_flush(void **state)
{
	struct cache *c = cache_new(64, count_free);
	const struct cache_entry *e;
	struct cache_stats st;

	(void)state;
	freed = 0;
	cache_put(c, "a", 1, value("1"), 100);
	cache_put(c, "a", 1, value("2"), 100);
	assert_int_equal(freed, 1);
	e = cache_get(c, "a", 1, 1);
	assert_string_equal(cache_entry_value(e), "2");
	cache_release(c, e);
	cache_invalidate(c, "a", 1);
	assert_null(cache_get(c, "a", 1, 1));
	cache_put(c, "b", 1, value("b"), 100);
	cache_put(c, "c", 1, value("c"), 100);
	cache_put(c, "neg", 3, NULL, 100); /* a negative entry: present, no value */
	e = cache_get(c, "neg", 3, 1);
	assert_non_null(e);
	assert_null(cache_entry_value(e));
	cache_release(c, e);
	cache_flush(c);
	assert_null(cache_get(c, "b", 1, 1));
	assert_null(cache_get(c, "c", 1, 1));
	cache_get_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(freed, 4);
	cache_free(c);
}

static void
disabled_cache_owns_and_frees(void **state)
{
	struct cache *c = cache_new(0, count_free);

	(void)state;
	freed = 0;
	assert_int_equal(cache_put(c, "a", 1, value("a"), 100), -1);
	assert_int_equal(freed, 1);
	assert_null(cache_get(c, "a", 1, 1));
	cache_free(c);
}

struct hammer {
	struct cache *c;
	int id;
};

static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;
	char key[32];

	for (int i = 0; i < 20000; i++) {
		const struct cache_entry *e;

		snprintf(key, sizeof(key), "k%d", (i * 7 + h->id) % 300);
		e = cache_get(h->c, key, strlen(key), 1);
		if (e != NULL) {
			if (strcmp(cache_entry_value(e), key) != 0)
				abort();
			cache_release(h->c, e);
		} else {
			cache_put(h->c, key, strlen(key), strdup(key), 1000);
		}
		if (i % 97 == 0)
			cache_invalidate(h->c, key, strlen(key));
		if (i % 5000 == 0)
			cache_flush(h->c);
	}
	return NULL;
}

/* A value with an atomic count, shared by threads as the context store shares its records. */
struct shared {
	atomic_int refs;
	char key[32];
};

static void
shared_hold(void *v)
{
	atomic_fetch_add(&((struct shared *)v)->refs, 1);
}

static void
shared_unref(void *v)
{
	if (atomic_fetch_sub(&((struct shared *)v)->refs, 1) == 1)
		free(v);
}

static void *
hammer_held_main(void *arg)
{
	struct hammer *h = arg;
	char key[32];

	for (int i = 0; i < 20000; i++) {
		struct shared *v;

		snprintf(key, sizeof(key), "k%d", (i * 7 + h->id) % 50);
		v = cache_get_held(h->c, key, strlen(key), 1, shared_hold);
		if (v != NULL) {
			if (strcmp(v->key, key) != 0)
				abort();
			shared_unref(v);
		} else if ((v = calloc(1, sizeof(*v))) != NULL) {
			atomic_init(&v->refs, 1);
			strcpy(v->key, key);
			cache_put(h->c, key, strlen(key), v, 1000);
		}
		if (i % 3 == 0)
			cache_invalidate(h->c, key, strlen(key));
	}
	return NULL;
}

/* Runs fn in four threads on c, each with its own id, and waits for them. */
static void
hammer(struct cache *c, void *(*fn)(void *))
{
	pthread_t t[4];
	struct hammer h[4];

	for (int i = 0; i < 4; i++) {
		h[i].c = c;
		h[i].id = i;
		pthread_create(&t[i], NULL, fn, &h[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
}

/* Values taken by cache_get_held outlive invalidations racing them (run under ASan). */
static void
held_values_survive_racing_invalidations(void **state)
{
	struct cache *c = cache_new(32, shared_unref);

	(void)state;
	hammer(c, hammer_held_main);
	cache_free(c);
}

static void
threads_share_safely(void **state)
{
	struct cache *c = cache_new(128, free);
	struct cache_stats st;

	(void)state;
	hammer(c, hammer_main);
	cache_get_stats(c, &st);
	assert_int_equal(st.hits + st.misses, 4 * 20000);
	assert_true(st.entries <= 128);
	cache_free(c);
}

static void
put_if_loses_to_an_invalidation(void **state)
{
	struct cache *c = cache_new(64, count_free);
	uint64_t gen = cache_generation(c, "dev", 3);

	(void)state;
	/* Unchanged: stored. */
	assert_int_equal(cache_put_if(c, "dev", 3, value("v1"), 100, gen), 0);
	assert_true(present(c, "dev", 1));
	/* An invalidation between reading gen and storing wins, even of an absent key. */
	gen = cache_generation(c, "other", 5);
	cache_invalidate(c, "other", 5);
	freed = 0;
	assert_int_equal(cache_put_if(c, "other", 5, value("stale"), 100, gen), 1);
	assert_int_equal(freed, 1);
	assert_false(present(c, "other", 1));
	/* So does a flush. */
	gen = cache_generation(c, "dev", 3);
	cache_flush(c);
	assert_int_equal(cache_put_if(c, "dev", 3, value("v2"), 100, gen), 1);
	assert_false(present(c, "dev", 1));
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hit_and_miss),
	    cmocka_unit_test(entries_expire),
	    cmocka_unit_test(size_is_bounded_and_lru_keeps_recent),
	    cmocka_unit_test(held_entry_survives_eviction),
	    cmocka_unit_test(held_value_outlives_its_entry),
	    cmocka_unit_test(invalidate_replace_flush),
	    cmocka_unit_test(disabled_cache_owns_and_frees),
	    cmocka_unit_test(threads_share_safely),
	    cmocka_unit_test(held_values_survive_racing_invalidations),
	    cmocka_unit_test(put_if_loses_to_an_invalidation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
