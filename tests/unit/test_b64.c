/* test_b64.c - strict base64url */
#include <string.h>

#include "core/b64.h"
#include "testlib.h"

static void
roundtrip(void **state)
{
	unsigned char in[64], out[B64URL_DECODED_MAX(100)];
	char text[B64URL_ENCODED_LEN(64) + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		size_t tl = b64url_encode(text, in, n);

		assert_int_equal(tl, B64URL_ENCODED_LEN(n));
		assert_int_equal(b64url_decode(out, text, tl), (long)n);
		assert_memory_equal(out, in, n);
	}
}

static void
known_values(void **state)
{
	unsigned char out[16];

	(void)state;
	assert_int_equal(b64url_decode(out, "-_8", 3), 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(b64url_decode(out, "eyJ9", 4), 3);
	assert_memory_equal(out, "{\"}", 3);
}

static void
rejects_non_url_alphabet_and_padding(void **state)
{
	unsigned char out[16];

	(void)state;
	assert_int_equal(b64url_decode(out, "+/8", 3), -1);  /* standard alphabet */
	assert_int_equal(b64url_decode(out, "YQ==", 4), -1); /* padding */
	assert_int_equal(b64url_decode(out, "Y Q", 3), -1);
	assert_int_equal(b64url_decode(out, "Y\0Q", 3), -1);
	assert_int_equal(b64url_decode(out, "YWJjZ", 5), -1); /* impossible length */
}

static void
rejects_non_canonical_trailing_bits(void **state)
{
	unsigned char out[16];

	(void)state;
	assert_int_equal(b64url_decode(out, "YQ", 2), 1);
	assert_int_equal(b64url_decode(out, "YR", 2), -1);
	assert_int_equal(b64url_decode(out, "YWI", 3), 2);
	assert_int_equal(b64url_decode(out, "YWJ", 3), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(roundtrip),
	    cmocka_unit_test(known_values),
	    cmocka_unit_test(rejects_non_url_alphabet_and_padding),
	    cmocka_unit_test(rejects_non_canonical_trailing_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
