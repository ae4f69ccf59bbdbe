/* test_json_doc.c - strict JSON objects parsed in place */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_doc.h"
#include "testlib.h"

static struct jdoc *doc;
static char text[8192];

static int
setup(void **state)
{
	(void)state;
	doc = jdoc_new();
	return doc == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	jdoc_free(doc);
	return 0;
}

/* Parses json (copied, since parsing writes over it). */
static enum jdoc_err
parse(const char *json)
{
	size_t n = strlen(json);

	assert_true(n < sizeof(text));
	memcpy(text, json, n);
	return jdoc_parse(doc, text, n);
}

static const struct jdoc_val *
get(const char *name)
{
	return jdoc_get(doc, name, strlen(name));
}

static void
assert_string(const char *name, const char *want)
{
	const struct jdoc_val *v = get(name);

	assert_non_null(v);
	assert_int_equal(v->kind, JDOC_STRING);
	assert_int_equal(v->len, strlen(want));
	assert_string_equal(v->str, want);
}

static void
claims_of_a_token(void **state)
{
	const struct jdoc_val *v;

	(void)state;
	assert_int_equal(parse(" {\"iss\":\"https:\\/\\/idp.example.com\\/\",\"exp\":1900000000,"
	                       "\"nbf\":-5,\"iat\":1.7e9,\"groups\":[\"a\",\"b\",\"\"],\"amr\":[],"
	                       "\"email_verified\":true,\"x\":false,\"y\":null,"
	                       "\"address\":{\"street\":\"1 Main\",\"geo\":[1,[2]]}}\r\n"),
	                 JDOC_OK);
	assert_int_equal(jdoc_size(doc), 10);
	assert_string("iss", "https://idp.example.com/");
	v = get("exp");
	assert_int_equal(v->kind, JDOC_INTEGER);
	assert_true(v->integer == 1900000000);
	assert_true(get("nbf")->integer == -5);
	v = get("iat");
	assert_int_equal(v->kind, JDOC_REAL);
	assert_true(v->real == 1.7e9);
	v = get("groups");
	assert_int_equal(v->kind, JDOC_ARRAY);
	assert_int_equal(v->len, 3);
	assert_string_equal(v->items[0].str, "a");
	assert_string_equal(v->items[1].str, "b");
	assert_int_equal(v->items[2].len, 0);
	assert_int_equal(get("amr")->len, 0);
	assert_int_equal(get("email_verified")->kind, JDOC_TRUE);
	assert_int_equal(get("x")->kind, JDOC_FALSE);
	assert_int_equal(get("y")->kind, JDOC_NULL);
	assert_int_equal(get("address")->kind, JDOC_OBJECT);
	assert_null(get("street")); /* nested members are checked, not kept */
	assert_null(get("ISS"));
	assert_null(get(""));
	assert_int_equal(parse("{}"), JDOC_OK);
	assert_int_equal(jdoc_size(doc), 0);
	assert_null(get("iss"));
}

static void
members_are_listed(void **state)
{
	const char *name;
	size_t len, seen = 0;

	(void)state;
	assert_int_equal(parse("{\"b\":1,\"a\":2,\"ab\":3}"), JDOC_OK);
	for (size_t i = 0; i < jdoc_size(doc); i++) {
		const struct jdoc_val *v = jdoc_member(doc, i, &name, &len);

		assert_ptr_equal(v, jdoc_get(doc, name, len));
		seen |= 1u << (v->integer - 1);
	}
	assert_int_equal(seen, 7);
	assert_null(jdoc_member(doc, 3, &name, &len));
}

static void
escapes_are_decoded(void **state)
{
	(void)state;
	assert_int_equal(
	    parse("{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"u\":\"\\u0041\\u00e9\\u20AC\","
	          "\"pair\":\"\\ud83d\\ude00\",\"raw\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98"
	          "\x80\",\"\\u006Bey\":1}"),
	    JDOC_OK);
	assert_string("s", "\"\\/\b\f\n\r\t");
	assert_string("u", "A\xc3\xa9\xe2\x82\xac");
	assert_string("pair", "\xf0\x9f\x98\x80");
	assert_string("raw", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_non_null(get("key"));
}

static void
only_objects(void **state)
{
	(void)state;
	assert_int_equal(parse("[]"), JDOC_NOT_OBJECT);
	assert_int_equal(parse("\"s\""), JDOC_NOT_OBJECT);
	assert_int_equal(parse("1"), JDOC_NOT_OBJECT);
	assert_int_equal(parse(""), JDOC_NOT_OBJECT);
	assert_int_equal(parse("  "), JDOC_NOT_OBJECT);
	assert_int_equal(parse("\xef\xbb\xbf{}"), JDOC_NOT_OBJECT); /* a BOM is not JSON */
}

static void
syntax_errors(void **state)
{
	static const char *const bad[] = {
	    "{",
	    "{\"a\"}",
	    "{\"a\":}",
	    "{\"a\":1,}",
	    "{,}",
	    "{\"a\":1}x",
	    "{\"a\":1}{}",
	    "{a:1}",
	    "{'a':1}",
	    "{\"a\":[1,]}",
	    "{\"a\":[,1]}",
	    "{\"a\":[1 2]}",
	    "{\"a\":01}",
	    "{\"a\":-}",
	    "{\"a\":1.}",
	    "{\"a\":.5}",
	    "{\"a\":1e}",
	    "{\"a\":1e+}",
	    "{\"a\":+1}",
	    "{\"a\":0x10}",
	    "{\"a\":NaN}",
	    "{\"a\":tru}",
	    "{\"a\":nul}",
	    "{\"a\":True}",
	    "{\"a\":\"x}",
	    "{\"a\":\"\\x\"}",
	    "{\"a\":\"\\u12\"}",
	    "{\"a\":\"\\u12G4\"}",
	    "{\"a\":\"tab\there\"}",
	    "{\"a\":\"\\\"}",
	    "{\"a\" 1}",
	    "{\"a\":1 \"b\":2}",
	    "{\"a\":{\"b\":1}",
	    "{\"a\":[}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum jdoc_err e = parse(bad[i]);

		if (e != JDOC_SYNTAX)
			fail_msg("%s: %s", bad[i], jdoc_strerror(e));
		assert_int_equal(jdoc_size(doc), 0);
	}
	/* A NUL byte in the text, in or out of a string. */
	memcpy(text, "{\"a\":\"x\0y\"}", 11);
	assert_int_equal(jdoc_parse(doc, text, 11), JDOC_SYNTAX);
	memcpy(text, "{\"a\":1}\0", 8);
	assert_int_equal(jdoc_parse(doc, text, 8), JDOC_SYNTAX);
	/* The length given bounds the read: a number cut at the end of the text. */
	memcpy(text, "{\"a\":12345}", 11);
	assert_int_equal(jdoc_parse(doc, text, 7), JDOC_SYNTAX);
}

static void
text_that_is_not_unicode(void **state)
{
	static const char *const bad[] = {
	    "{\"a\":\"\\u0000\"}",        /* NUL */
	    "{\"a\":\"\\ud800\"}",        /* lone high surrogate */
	    "{\"a\":\"\\ud800x\"}",       /* high surrogate, then no escape */
	    "{\"a\":\"\\udc00\"}",        /* lone low surrogate */
	    "{\"a\":\"\\ud800\\u0041\"}", /* high surrogate, then no low one */
	    "{\"a\":\"\\ud800\\ud800\"}",   "{\"a\":\"\x80\"}", /* continuation byte first */
	    "{\"a\":\"\xc0\xaf\"}",                             /* overlong '/' */
	    "{\"a\":\"\xe0\x80\xaf\"}",                         /* overlong, three bytes */
	    "{\"a\":\"\xed\xa0\x80\"}",                         /* an encoded surrogate */
	    "{\"a\":\"\xf4\x90\x80\x80\"}",                     /* past U+10FFFF */
	    "{\"a\":\"\xf5\x80\x80\x80\"}", "{\"a\":\"\xc3\"}", /* cut short */
	    "{\"a\":\"\xe2\x82\"}",         "{\"\xff\":1}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum jdoc_err e = parse(bad[i]);

		if (e != JDOC_TEXT)
			fail_msg("case %zu: %s", i, jdoc_strerror(e));
	}
	assert_int_equal(parse("{\"a\":\"\xf4\x8f\xbf\xbf\\udbff\\udfff\\u0001\x7f\"}"), JDOC_OK);
}

static void
duplicates_anywhere(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"a\":1,\"b\":2,\"a\":3}"), JDOC_DUPLICATE);
	assert_int_equal(jdoc_size(doc), 0);
	/* The same name spelt with an escape is the same name. */
	assert_int_equal(parse("{\"iss\":\"x\",\"\\u0069ss\":\"y\"}"), JDOC_DUPLICATE);
	assert_int_equal(parse("{\"o\":{\"k\":1,\"j\":2,\"k\":3}}"), JDOC_DUPLICATE);
	assert_int_equal(parse("{\"l\":[{\"k\":1,\"k\":1}]}"), JDOC_DUPLICATE);
	/* Names in different objects are not duplicates of each other. */
	assert_int_equal(
	    parse("{\"k\":{\"k\":{\"k\":1},\"j\":{\"k\":2}},\"j\":[{\"k\":1},{\"k\":2}]}"),
	    JDOC_OK);
	assert_int_equal(parse("{\"a\":1,\"ab\":2,\"b\":3,\"\":4}"), JDOC_OK);
}

static void
numbers_in_range(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"max\":9223372036854775807,\"min\":-9223372036854775808,"
	                       "\"zero\":-0,\"r\":-0.5e-3,\"tiny\":1e-400,\"e\":1E+2}"),
	                 JDOC_OK);
	assert_true(get("max")->integer == INT64_MAX);
	assert_true(get("min")->integer == INT64_MIN);
	assert_true(get("zero")->integer == 0);
	assert_true(get("r")->real == -0.5e-3);
	assert_int_equal(get("tiny")->kind, JDOC_REAL);
	assert_true(get("e")->real == 100.0);
	assert_int_equal(parse("{\"a\":9223372036854775808}"), JDOC_RANGE);
	assert_int_equal(parse("{\"a\":-9223372036854775809}"), JDOC_RANGE);
	assert_int_equal(parse("{\"a\":123456789012345678901234567890}"), JDOC_RANGE);
	assert_int_equal(parse("{\"a\":1e400}"), JDOC_RANGE);
	assert_int_equal(parse("{\"a\":-1e400}"), JDOC_RANGE);
}

static void
bounds(void **state)
{
	char *p = text;

	(void)state;
	/* Nesting: JDOC_MAX_DEPTH levels parse, one more does not. */
	for (int extra = 0; extra <= 1; extra++) {
		p = text;
		*p++ = '{';
		p += sprintf(p, "\"a\":");
		for (int i = 1; i < JDOC_MAX_DEPTH + extra; i++)
			*p++ = '[';
		for (int i = 1; i < JDOC_MAX_DEPTH + extra; i++)
			*p++ = ']';
		*p++ = '}';
		assert_int_equal(jdoc_parse(doc, text, (size_t)(p - text)),
		                 extra ? JDOC_LIMIT : JDOC_OK);
	}
	/* Members: JDOC_MAX_MEMBERS parse, one more does not. */
	for (int extra = 0; extra <= 1; extra++) {
		p = text;
		*p++ = '{';
		for (int i = 0; i < JDOC_MAX_MEMBERS + extra; i++)
			p += sprintf(p, "%s\"%x\":0", i ? "," : "", i);
		*p++ = '}';
		assert_true(p < text + sizeof(text));
		assert_int_equal(jdoc_parse(doc, text, (size_t)(p - text)),
		                 extra ? JDOC_LIMIT : JDOC_OK);
	}
	assert_int_equal(jdoc_size(doc), 0);
}

/* Arrays past the item table are checked and counted, but their items are not kept. */
static void
item_table_overflow(void **state)
{
	size_t size = 16 * JDOC_MAX_ITEMS;
	char *big = malloc(size), *p = big;
	const struct jdoc_val *v;

	(void)state;
	assert_non_null(big);
	p += sprintf(p, "{\"first\":[\"a\"],\"big\":[");
	for (int i = 0; i < JDOC_MAX_ITEMS; i++)
		p += sprintf(p, "%s\"x\"", i ? "," : "");
	p += sprintf(p, "],\"after\":[\"b\",\"c\"]}");
	assert_true(p < big + size);
	assert_int_equal(jdoc_parse(doc, big, (size_t)(p - big)), JDOC_OK);
	v = jdoc_get(doc, "big", 3);
	assert_int_equal(v->len, JDOC_MAX_ITEMS);
	assert_null(v->items);
	v = jdoc_get(doc, "first", 5);
	assert_string_equal(v->items[0].str, "a");
	v = jdoc_get(doc, "after", 5);
	assert_int_equal(v->len, 2);
	assert_string_equal(v->items[1].str, "c");
	free(big);
}

/* A failed parse leaves nothing to find, and the next parse starts clean. */
static void
state_between_parses(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"a\":[\"x\"]}"), JDOC_OK);
	assert_int_equal(parse("{\"b\":1,\"c\":}"), JDOC_SYNTAX);
	assert_null(get("a"));
	assert_null(get("b"));
	assert_int_equal(parse("{\"o\":{\"k\":1,\"k\":2}}"), JDOC_DUPLICATE);
	assert_int_equal(parse("{\"o\":{\"k\":1}}"), JDOC_OK);
	assert_int_equal(get("o")->kind, JDOC_OBJECT);
	assert_string_equal(jdoc_strerror(JDOC_DUPLICATE), "a member is named twice");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(claims_of_a_token),
	    cmocka_unit_test(members_are_listed),
	    cmocka_unit_test(escapes_are_decoded),
	    cmocka_unit_test(only_objects),
	    cmocka_unit_test(syntax_errors),
	    cmocka_unit_test(text_that_is_not_unicode),
	    cmocka_unit_test(duplicates_anywhere),
	    cmocka_unit_test(numbers_in_range),
	    cmocka_unit_test(bounds),
	    cmocka_unit_test(item_table_overflow),
	    cmocka_unit_test(state_between_parses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
