/* topk.h - the most frequent keys of a stream in bounded memory (Space-Saving) */
#ifndef PDP_EVIDENCE_TOPK_H
#define PDP_EVIDENCE_TOPK_H

#include <stddef.h>
#include <stdint.h>

/* Keys are kept up to this many bytes; a longer key is counted by its first TOPK_KEY_MAX. */
#define TOPK_KEY_MAX 264

struct topk;

struct topk_item {
	const char *key; /* NUL-terminated (len bytes before); valid until the next topk_add */
	size_t len;
	uint64_t count; /* at most error above the key's true count, never below it */
	uint64_t error;
};

/*
 * A Space-Saving summary (Metwally, Agrawal, El Abbadi, 2005) of capacity
 * keys: every key whose true count exceeds total/capacity is held, and each
 * held count overestimates by at most its error (at most total/capacity).
 * Memory is fixed at creation. NULL when out of memory; free with topk_free.
 */
struct topk *topk_new(size_t capacity);

/* Counts one occurrence of key (len bytes). */
void topk_add(struct topk *t, const char *key, size_t len);

/*
 * The held keys, most frequent first, at most max of them, into out;
 * returns how many. Keys point into t until its next topk_add.
 */
size_t topk_list(const struct topk *t, struct topk_item *out, size_t max);

/* Occurrences counted in all. */
uint64_t topk_total(const struct topk *t);

void topk_free(struct topk *t);

#endif
