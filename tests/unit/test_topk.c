/* test_topk.c - Space-Saving against a brute-force count of the same stream */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/topk.h"
#include "testlib.h"

#define KEYS 500

/* A Zipf-like stream over KEYS keys: key i about 1/(i+1) as often as key 0. */
static size_t
next_key(unsigned *seed)
{
	double u = (double)rand_r(seed) / RAND_MAX, sum = 0, h = 0;

	for (size_t i = 0; i < KEYS; i++)
		h += 1.0 / (double)(i + 1);
	for (size_t i = 0; i < KEYS; i++) {
		sum += 1.0 / (double)(i + 1) / h;
		if (u <= sum)
			return i;
	}
	return KEYS - 1;
}

static void
finds_the_true_top_with_bounded_error(void **state)
{
	static uint64_t truth[KEYS];
	struct topk *t = topk_new(64);
	struct topk_item items[64];
	unsigned seed = 7;
	size_t n, stream = 50000;

	(void)state;
	memset(truth, 0, sizeof(truth));
	assert_non_null(t);
	for (size_t i = 0; i < stream; i++) {
		size_t k = next_key(&seed);
		char key[32];

		snprintf(key, sizeof(key), "reason-%zu", k);
		truth[k]++;
		topk_add(t, key, strlen(key));
	}
	assert_int_equal(topk_total(t), stream);
	n = topk_list(t, items, 64);
	assert_int_equal(n, 64);
	for (size_t i = 0; i < n; i++) {
		size_t k;

		assert_int_equal(sscanf(items[i].key, "reason-%zu", &k), 1);
		/* Never under the truth, over it by at most its error, which is <= total/capacity.
		 */
		assert_true(items[i].count >= truth[k]);
		assert_true(items[i].count - items[i].error <= truth[k]);
		assert_true(items[i].error <= stream / 64);
		if (i > 0)
			assert_true(items[i - 1].count >= items[i].count);
	}
	/* Every key more frequent than total/capacity is held; the true top 10 come first. */
	for (size_t k = 0; k < KEYS; k++) {
		bool held = false;

		for (size_t i = 0; i < n && !held; i++) {
			char key[32];

			snprintf(key, sizeof(key), "reason-%zu", k);
			held = items[i].len == strlen(key) &&
			       memcmp(items[i].key, key, items[i].len) == 0;
		}
		if (truth[k] > stream / 64)
			assert_true(held);
	}
	for (size_t i = 0; i < 10; i++) {
		size_t k;

		assert_int_equal(sscanf(items[i].key, "reason-%zu", &k), 1);
		assert_true(k < 10);
	}
	topk_free(t);
}

/*
 * A new key is added as a leaf counted 1 under parents counted more: it must
 * move up, or the least counted key is not the one replaced and a key that
 * returns is counted under its truth.
 */
static void
never_under_the_truth_with_few_counters(void **state)
{
	static const char stream[] = "aabca";
	struct topk *t = topk_new(2);
	struct topk_item items[2];
	size_t n;

	(void)state;
	for (const char *k = stream; *k != '\0'; k++)
		topk_add(t, k, 1);
	n = topk_list(t, items, 2);
	assert_int_equal(n, 2);
	assert_memory_equal(items[0].key, "a", 1);
	assert_true(items[0].count >= 3);
	topk_free(t);

	/* The same guarantee on many small random streams. */
	for (unsigned seed = 1; seed <= 200; seed++) {
		uint64_t truth[16] = {0};
		unsigned r = seed;

		t = topk_new(4);
		assert_non_null(t);
		for (int i = 0; i < 200; i++) {
			char key = (char)('a' + rand_r(&r) % 16);

			truth[key - 'a']++;
			topk_add(t, &key, 1);
		}
		n = topk_list(t, items, 2);
		for (size_t i = 0; i < n; i++) {
			assert_true(items[i].count >= truth[items[i].key[0] - 'a']);
			assert_true(items[i].count - items[i].error <=
			            truth[items[i].key[0] - 'a']);
		}
		topk_free(t);
	}
}

static void
exact_while_under_capacity(void **state)
{
	struct topk *t = topk_new(8);
	struct topk_item items[8];
	size_t n;

	(void)state;
	for (int i = 0; i < 5; i++)
		topk_add(t, "b", 1);
	for (int i = 0; i < 3; i++)
		topk_add(t, "a", 1);
	topk_add(t, "c", 1);
	n = topk_list(t, items, 2);
	assert_int_equal(n, 2);
	assert_int_equal(items[0].count, 5);
	assert_int_equal(items[0].error, 0);
	assert_memory_equal(items[0].key, "b", 1);
	assert_int_equal(items[1].count, 3);
	assert_memory_equal(items[1].key, "a", 1);
	topk_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(finds_the_true_top_with_bounded_error),
	    cmocka_unit_test(never_under_the_truth_with_few_counters),
	    cmocka_unit_test(exact_while_under_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
