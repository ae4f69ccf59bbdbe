/* test_yaml_doc.c - YAML key rows: each kind, its limits, checks and nested maps */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/yaml_doc.h"
#include "testlib.h"

enum colour { COLOUR_RED, COLOUR_GREEN, COLOUR_BLUE };
static const char *const colour_names[] = {"red", "green", "blue", NULL};

struct inner {
	unsigned depth;
	char *label;
};

struct target {
	char *name;
	bool on;
	unsigned count;
	size_t entries;
	unsigned wait_ms;
	uint64_t long_ms;
	enum colour colour;
	struct inner inner;
	int calls;   /* the CALL row's */
	int checked; /* the check's: what it saw of name */
};

/* A check sees the value the typed read wrote: "bad" is refused after it is read. */
static int
check_name(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct target *x = t;

	x->checked = x->name != NULL ? (int)strlen(x->name) : -1;
	if (strcmp(x->name, "bad") == 0)
		return YDOC_ERR(p, v, "name must not be \"bad\"");
	return 0;
}

static int
h_call(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	const char *s = ydoc_scalar(v);

	if (s == NULL || strcmp(s, "ring") != 0)
		return YDOC_ERR(p, v, "call says ring");
	((struct target *)t)->calls++;
	return 0;
}

static const struct ydoc_key inner_keys[] = {
    YDOC_KEY_UNSIGNED("depth", struct inner, depth, 1, 9),
    YDOC_KEY_STRING("label", struct inner, label),
    YDOC_KEY_END,
};

static const struct ydoc_key keys[] = {
    YDOC_KEY_STRING_CHECKED("name", struct target, name, check_name),
    YDOC_KEY_BOOL("on", struct target, on),
    YDOC_KEY_UNSIGNED("count", struct target, count, 1, 10),
    YDOC_KEY_SIZE("entries", struct target, entries, 0, 1000000),
    YDOC_KEY_MS("wait", struct target, wait_ms, 10, 60000),
    YDOC_KEY_MS64("long", struct target, long_ms, 0, UINT64_MAX),
    YDOC_KEY_CHOICE("colour", struct target, colour, colour_names),
    YDOC_KEY_MAP("inner", struct target, inner, inner_keys),
    YDOC_KEY_CALL("call", h_call),
    YDOC_KEY_END,
};

/* Parses text by keys into x: 0, or -1 with the error in err. */
static int
parse(const char *text, struct target *x, char *err, size_t errsz)
{
	struct ydoc *d = ydoc_load_buffer("t.yaml", text, strlen(text), err, errsz);
	struct ydoc_parse p = {d, err, errsz};
	int rc;

	assert_non_null(d);
	rc = ydoc_parse_map(&p, ydoc_root(d), keys, x);
	ydoc_free(d);
	return rc;
}

static void
target_free(struct target *x)
{
	free(x->name);
	free(x->inner.label);
}

static void
expect_error(const char *text, const char *error)
{
	struct target x = {0};
	char err[512];

	if (parse(text, &x, err, sizeof(err)) == 0)
		fail_msg("\"%s\" was accepted", text);
	if (strcmp(err, error) != 0)
		fail_msg("\"%s\": wanted \"%s\", got \"%s\"", text, error, err);
	target_free(&x);
}

static void
each_kind_reads_a_good_value(void **state)
{
	struct target x = {0};
	char err[512];

	(void)state;
	if (parse("name: alice\non: yes\ncount: 10\nentries: 1000000\nwait: 1m\nlong: 100d\n"
	          "colour: blue\ninner: { depth: 3, label: deep }\ncall: ring\n",
	          &x, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(x.name, "alice");
	assert_true(x.on);
	assert_int_equal(x.count, 10);
	assert_int_equal(x.entries, 1000000);
	assert_int_equal(x.wait_ms, 60000);
	/* Past what an unsigned holds: the 64-bit kind keeps it. */
	assert_true(x.long_ms == UINT64_C(8640000000));
	assert_int_equal(x.colour, COLOUR_BLUE);
	assert_int_equal(x.inner.depth, 3);
	assert_string_equal(x.inner.label, "deep");
	assert_int_equal(x.calls, 1);
	target_free(&x);
	/* The limits themselves are in range; a bare number of seconds is a duration. */
	memset(&x, 0, sizeof(x));
	if (parse("count: 1\nentries: 0\nwait: 10ms\nlong: 0\ncolour: red\n", &x, err,
	          sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(x.count, 1);
	assert_int_equal(x.wait_ms, 10);
	assert_int_equal(x.colour, COLOUR_RED);
	memset(&x, 0, sizeof(x));
	if (parse("wait: 2\n", &x, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(x.wait_ms, 2000);
}

static void
wrong_types_and_ranges_say_where(void **state)
{
	(void)state;
	expect_error("on: maybe\n", "t.yaml:1:5: expected true or false");
	expect_error("on: 'yes'\n", "t.yaml:1:5: expected true or false");
	expect_error("count: 0\n", "t.yaml:1:8: must be between 1 and 10");
	expect_error("count: 11\n", "t.yaml:1:8: must be between 1 and 10");
	expect_error("count: -1\n", "t.yaml:1:8: expected a whole number");
	expect_error("count: [1]\n", "t.yaml:1:8: expected a whole number");
	expect_error("entries: 1000001\n", "t.yaml:1:10: must be between 0 and 1000000");
	expect_error("entries: 99999999999999999999999\n", "t.yaml:1:10: expected a whole number");
	expect_error("wait: 9ms\n", "t.yaml:1:7: wait must be between 10ms and 1m");
	expect_error("wait: 61s\n", "t.yaml:1:7: wait must be between 10ms and 1m");
	expect_error("wait: soon\n",
	             "t.yaml:1:7: expected a duration such as 250ms, 60s, 5m, 4h or 1d");
	expect_error("long: 5 years\n",
	             "t.yaml:1:7: expected a duration such as 250ms, 60s, 5m, 4h or 1d");
	expect_error("colour: pink\n", "t.yaml:1:9: colour is red, green or blue, not \"pink\"");
	expect_error("colour: [red]\n", "t.yaml:1:9: colour is red, green or blue, not \"a list\"");
	expect_error("name: ''\n", "t.yaml:1:7: must not be empty");
	expect_error("name: [a]\n", "t.yaml:1:7: expected a string");
	expect_error("name: ~\n", "t.yaml:1:7: expected a string");
	expect_error("call: knock\n", "t.yaml:1:7: call says ring");
}

static void
unknown_keys_list_the_known_ones(void **state)
{
	(void)state;
	expect_error("on: true\nnmae: x\n",
	             "t.yaml:2:1: unknown key \"nmae\" (expected one of: name, on, count, entries, "
	             "wait, long, colour, inner, call)");
	expect_error("inner: { depth: 1, lable: x }\n",
	             "t.yaml:1:20: unknown key \"lable\" (expected one of: depth, label)");
	expect_error("- a\n", "t.yaml:1:1: expected a mapping");
}

static void
check_runs_after_the_typed_read(void **state)
{
	struct target x = {0};
	char err[512];

	(void)state;
	if (parse("name: alice\n", &x, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(x.checked, 5); /* it saw the string written */
	target_free(&x);
	expect_error("name: bad\n", "t.yaml:1:7: name must not be \"bad\"");
	/* A value the kind refuses never reaches the check. */
	memset(&x, 0, sizeof(x));
	assert_int_equal(parse("name: ''\n", &x, err, sizeof(err)), -1);
	assert_int_equal(x.checked, 0);
}

static void
nested_maps_read_into_their_struct(void **state)
{
	struct target x = {0};
	char err[512];

	(void)state;
	if (parse("inner:\n  label: a\n  depth: 9\n", &x, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(x.inner.depth, 9);
	assert_string_equal(x.inner.label, "a");
	assert_null(x.name);
	target_free(&x);
	expect_error("inner:\n  depth: 10\n", "t.yaml:2:10: must be between 1 and 9");
	expect_error("inner: 3\n", "t.yaml:1:8: expected a mapping");
}

/* A call row's check runs after its reader; a row without a kind or reader is refused. */
static int
check_calls(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	struct target *x = t;

	x->checked = x->calls;
	return 0;
}

static void
rows_without_a_reader_are_refused(void **state)
{
	static const struct ydoc_key rows[] = {
	    {.name = "call", .kind = YDOC_CALL, .fn = h_call, .check = check_calls},
	    {.name = "nokind"},
	    {.name = "nofn", .kind = YDOC_CALL},
	    {.name = "noslot", .kind = YDOC_SLOT},
	    YDOC_KEY_END,
	};
	static const char *const texts[] = {"nokind: 1\n", "nofn: 1\n", "noslot: 1\n"};
	struct target x = {0};
	char err[512];
	struct ydoc *d;
	struct ydoc_parse p;

	(void)state;
	d = ydoc_load_buffer("t.yaml", "call: ring\n", 11, err, sizeof(err));
	assert_non_null(d);
	p = (struct ydoc_parse){d, err, sizeof(err)};
	assert_int_equal(ydoc_parse_map(&p, ydoc_root(d), rows, &x), 0);
	assert_int_equal(x.checked, 1); /* the check saw what the call wrote */
	ydoc_free(d);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		d = ydoc_load_buffer("t.yaml", texts[i], strlen(texts[i]), err, sizeof(err));
		assert_non_null(d);
		p = (struct ydoc_parse){d, err, sizeof(err)};
		assert_int_equal(ydoc_parse_map(&p, ydoc_root(d), rows, &x), -1);
		if (strstr(err, "internal error: no reader for key") == NULL)
			fail_msg("\"%s\": %s", texts[i], err);
		ydoc_free(d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(each_kind_reads_a_good_value),
	    cmocka_unit_test(wrong_types_and_ranges_say_where),
	    cmocka_unit_test(unknown_keys_list_the_known_ones),
	    cmocka_unit_test(check_runs_after_the_typed_read),
	    cmocka_unit_test(nested_maps_read_into_their_struct),
	    cmocka_unit_test(rows_without_a_reader_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
