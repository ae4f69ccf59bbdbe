/*
 * fuzz_json.c - libFuzzer target: the claims parser against jansson on the
 * same bytes. Both must accept the same objects with the same members and
 * values, and refuse the same inputs, except where the parser's own bounds
 * (JDOC_LIMIT) refuse first, and where the input holds a NUL byte: jansson
 * skips some of those (after a number, say), which JSON does not allow.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_json: %s\n", what);
		abort();
	}
}

/* jansson's value j and the parser's v say the same, as far as v keeps. */
static void
same(const json_t *j, const struct jdoc_val *v)
{
	check(j != NULL, "a member jansson does not have");
	switch (v->kind) {
	case JDOC_NULL:
		check(json_is_null(j), "null");
		break;
	case JDOC_FALSE:
		check(json_is_false(j), "false");
		break;
	case JDOC_TRUE:
		check(json_is_true(j), "true");
		break;
	case JDOC_INTEGER:
		check(json_is_integer(j) && json_integer_value(j) == v->integer, "integer");
		break;
	case JDOC_REAL:
		check(json_is_real(j) && json_real_value(j) == v->real, "real");
		break;
	case JDOC_STRING:
		check(json_is_string(j) && json_string_length(j) == v->len &&
		          memcmp(json_string_value(j), v->str, v->len) == 0 &&
		          v->str[v->len] == '\0',
		      "string");
		break;
	case JDOC_ARRAY:
		check(json_is_array(j) && json_array_size(j) == v->len, "array");
		for (size_t i = 0; v->items != NULL && i < v->len; i++)
			same(json_array_get(j, i), &v->items[i]);
		break;
	case JDOC_OBJECT:
		check(json_is_object(j), "object");
		break;
	default:
		check(false, "a kind that does not exist");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jdoc *doc;
	char *text = malloc(size + 1);
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	enum jdoc_err e;

	if (doc == NULL)
		doc = jdoc_new();
	check(doc != NULL && text != NULL, "out of memory");
	memcpy(text, data, size);
	e = jdoc_parse(doc, text, size);
	if (e == JDOC_OK) {
		check(json_is_object(j), "accepted what jansson refuses");
		check(json_object_size(j) == jdoc_size(doc), "member count");
		for (size_t i = 0; i < jdoc_size(doc); i++) {
			const char *name;
			size_t len;
			const struct jdoc_val *v = jdoc_member(doc, i, &name, &len);

			check(jdoc_get(doc, name, len) == v, "lookup");
			same(json_object_getn(j, name, len), v);
		}
	} else if (e != JDOC_LIMIT) {
		check(!json_is_object(j) || memchr(data, '\0', size) != NULL,
		      "refused what jansson accepts");
		check(jdoc_size(doc) == 0, "members left after a refusal");
	}
	json_decref(j);
	free(text);
	return 0;
}
