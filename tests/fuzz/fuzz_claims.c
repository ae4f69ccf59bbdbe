/* fuzz_claims.c - libFuzzer target: claim paths and the JSON they are looked up in */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A value's strings are where it says, NUL-terminated; its arrays' items too. */
static void
check_val(const struct jdoc_val *v)
{
	if (v->kind == JDOC_STRING && (strlen(v->str) != v->len))
		abort();
	if (v->kind == JDOC_ARRAY && v->items != NULL) {
		for (uint32_t i = 0; i < v->len; i++) {
			if (v->items[i].kind == JDOC_STRING &&
			    strlen(v->items[i].str) != v->items[i].len)
				abort();
		}
	}
}

/*
 * Input: claim names, one per line, up to an empty line; then a JSON
 * document. Each name is compiled as a path, the document parsed with them.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jdoc *doc;
	struct jdoc_path paths[JDOC_MAX_PATHS];
	size_t n = 0, at = 0;
	char *text;

	if (doc == NULL && (doc = jdoc_new()) == NULL)
		abort();
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	while (at < size && n < JDOC_MAX_PATHS) {
		char *nl = memchr(text + at, '\n', size - at);
		size_t len = nl != NULL ? (size_t)(nl - (text + at)) : size - at;

		if (len == 0) {
			at++;
			break;
		}
		if (jdoc_path_compile(&paths[n], text + at, len) == 0) {
			if (paths[n].n_segs < 1 || paths[n].n_segs > JDOC_MAX_SEGS)
				abort();
			n++;
		}
		at += len + (nl != NULL);
	}
	/* The names must survive the parse: parse a copy of the rest. */
	{
		size_t rest = size - at;
		char *json = malloc(rest + 1);

		if (json != NULL) {
			memcpy(json, text + at, rest);
			if (jdoc_parse_paths(doc, json, rest, paths, n) == JDOC_OK) {
				for (size_t i = 0; i < n; i++) {
					const struct jdoc_val *v = jdoc_found(doc, i);

					if (v != NULL) {
						if (paths[i].n_segs < 2)
							abort();
						check_val(v);
					}
				}
			} else {
				for (size_t i = 0; i < n; i++) {
					if (jdoc_found(doc, i) != NULL)
						abort();
				}
			}
			free(json);
		}
	}
	free(text);
	return 0;
}
