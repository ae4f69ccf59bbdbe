/* fuzz_grow.h - a connection buffer grown as the event loop grows it, for the transport targets */
#ifndef PDP_FUZZ_GROW_H
#define PDP_FUZZ_GROW_H

#include <stdlib.h>

/*
 * A new buffer for a full one of *cap bytes: twice as large, up to max (the
 * new size in *cap); the caller moves the bytes and frees the old one. NULL
 * when out of memory. A full buffer already at max must have been refused by
 * the parser: that aborts.
 */
static inline unsigned char *
fuzz_grow(size_t *cap, size_t max)
{
	if (*cap >= max)
		abort();
	*cap = *cap * 2 < max ? *cap * 2 : max;
	return malloc(*cap);
}

#endif
