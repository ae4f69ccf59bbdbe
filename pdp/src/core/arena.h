/* arena.h - bump allocator: many small allocations freed together */
#ifndef PDP_ARENA_H
#define PDP_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head; /* chunk being carved */
	struct arena_chunk *first;
	size_t chunk_size;
	size_t max_bytes; /* cap on all chunks together: a hostile file cannot grow it past this */
	size_t total;
};

/* Prepares an empty arena; nothing is allocated until the first arena_alloc. */
void arena_init(struct arena *a, size_t chunk_size, size_t max_bytes);

/* Returns size bytes aligned for any type, or NULL when the cap is reached or malloc fails. */
void *arena_alloc(struct arena *a, size_t size);

/* Copies n bytes of s into the arena and NUL-terminates; NULL on failure. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* Frees every chunk. */
void arena_free(struct arena *a);

#endif
