/* arena.c - bump allocator: many small allocations freed together */
#include "core/arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

void
arena_init(struct arena *a, size_t chunk_size, size_t max_bytes)
{
	a->head = NULL;
	a->first = NULL;
	a->chunk_size = chunk_size;
	a->max_bytes = max_bytes;
	a->total = 0;
}

void *
arena_alloc(struct arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct arena_chunk *c = a->head;
	size_t need;

	if (size > a->max_bytes)
		return NULL;
	size = (size + align - 1) & ~(align - 1);
	if (c != NULL && c->size - c->used >= size) {
		void *p = c->data + c->used;
		c->used += size;
		return p;
	}
	need = size > a->chunk_size ? size : a->chunk_size;
	if (a->total + need > a->max_bytes)
		return NULL;
	c = malloc(sizeof(*c) + need);
	if (c == NULL)
		return NULL;
	c->size = need;
	c->used = size;
	a->total += need;
	c->next = NULL;
	if (a->head == NULL)
		a->first = c;
	else
		a->head->next = c;
	a->head = c;
	return c->data;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->first; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->first = a->head = NULL;
	a->total = 0;
}
