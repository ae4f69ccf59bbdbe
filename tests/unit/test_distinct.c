/* test_distinct.c - HyperLogLog within its stated error on known cardinalities */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "evidence/distinct.h"
#include "testlib.h"

static void
within_error_on_known_counts(void **state)
{
	static const uint64_t counts[] = {1, 10, 100, 1000, 10000, 50000, 200000};

	(void)state;
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		struct distinct *d = distinct_new(14);
		uint64_t est;
		double err;

		assert_non_null(d);
		/* Each key twice: repeats change nothing. */
		for (int rep = 0; rep < 2; rep++) {
			for (uint64_t i = 0; i < counts[c]; i++) {
				char key[40];

				snprintf(key, sizeof(key), "user-%llu@example.com",
				         (unsigned long long)i);
				distinct_add(d, key, strlen(key));
			}
		}
		est = distinct_count(d);
		err = fabs((double)est - (double)counts[c]) / (double)counts[c];
		/* 1.04/sqrt(2^14) = 0.81%: three standard errors, and exact-ish while small. */
		if (counts[c] <= 100)
			assert_int_equal(est, counts[c]);
		else if (err > 0.025)
			fail_msg("%llu distinct estimated %llu (%.2f%%)",
			         (unsigned long long)counts[c], (unsigned long long)est, err * 100);
		distinct_free(d);
	}
}

/* Keys whose hashes share a register are still counted apart while few. */
static void
exact_while_few_even_in_one_register(void **state)
{
	struct distinct *d = distinct_new(12);

	(void)state;
	assert_non_null(d);
	for (uint64_t i = 1; i <= DISTINCT_EXACT; i++) {
		/* One register (the low 12 bits), distinct hashes. */
		distinct_add_hash(d, (i << 12) | 5);
		distinct_add_hash(d, (i << 12) | 5);
		assert_int_equal(distinct_count(d), i);
	}
	distinct_free(d);
}

static void
bad_precision_is_refused(void **state)
{
	(void)state;
	assert_null(distinct_new(3));
	assert_null(distinct_new(17));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(within_error_on_known_counts),
	    cmocka_unit_test(exact_while_few_even_in_one_register),
	    cmocka_unit_test(bad_precision_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
