/* topk.c - the most frequent keys of a stream in bounded memory (Space-Saving) */
#include "evidence/topk.h"

#include <stdlib.h>
#include <string.h>

#include "evidence/hash.h"

/*
 * The counters sit in a min-heap on count, so the key to replace is the
 * root; a chained hash over the same slots finds a key's counter. An
 * increment moves its counter down the heap (counts only grow); a new key's
 * counter, added as a leaf, moves up past every parent counted more.
 */
struct counter {
	uint64_t count, error, hash;
	uint32_t heap_pos; /* where in heap[] this counter is */
	int32_t next;      /* the next counter in its hash chain, -1: none */
	uint16_t len;
	char key[TOPK_KEY_MAX + 1];
};

struct topk {
	struct counter *c;
	uint32_t *heap; /* counter indexes, a min-heap on count */
	int32_t *buckets;
	size_t n, cap, n_buckets;
	uint64_t total;
};

struct topk *
topk_new(size_t capacity)
{
	struct topk *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->cap = capacity > 0 ? capacity : 1;
	for (t->n_buckets = 16; t->n_buckets < 2 * t->cap; t->n_buckets *= 2)
		;
	t->c = calloc(t->cap, sizeof(*t->c));
	t->heap = calloc(t->cap, sizeof(*t->heap));
	t->buckets = malloc(t->n_buckets * sizeof(*t->buckets));
	if (t->c == NULL || t->heap == NULL || t->buckets == NULL) {
		topk_free(t);
		return NULL;
	}
	memset(t->buckets, 0xff, t->n_buckets * sizeof(*t->buckets));
	return t;
}

static void
heap_swap(struct topk *t, uint32_t a, uint32_t b)
{
	uint32_t x = t->heap[a];

	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->c[t->heap[a]].heap_pos = a;
	t->c[t->heap[b]].heap_pos = b;
}

static void
sift_down(struct topk *t, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < t->n && t->c[t->heap[l]].count < t->c[t->heap[m]].count)
			m = l;
		if (r < t->n && t->c[t->heap[r]].count < t->c[t->heap[m]].count)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void
sift_up(struct topk *t, uint32_t i)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (t->c[t->heap[parent]].count <= t->c[t->heap[i]].count)
			return;
		heap_swap(t, i, parent);
		i = parent;
	}
}

static void
chain_remove(struct topk *t, int32_t idx)
{
	int32_t *p = &t->buckets[t->c[idx].hash & (t->n_buckets - 1)];

	while (*p != idx)
		p = &t->c[*p].next;
	*p = t->c[idx].next;
}

void
topk_add(struct topk *t, const char *key, size_t len)
{
	uint64_t h;
	int32_t idx;
	struct counter *c;

	if (len > TOPK_KEY_MAX)
		len = TOPK_KEY_MAX;
	h = evidence_hash(key, len);
	t->total++;
	for (idx = t->buckets[h & (t->n_buckets - 1)]; idx >= 0; idx = t->c[idx].next) {
		c = &t->c[idx];
		if (c->hash == h && c->len == len && memcmp(c->key, key, len) == 0) {
			c->count++;
			sift_down(t, c->heap_pos);
			return;
		}
	}
	if (t->n < t->cap) {
		idx = (int32_t)t->n;
		c = &t->c[idx];
		c->count = 1;
		c->error = 0;
		c->heap_pos = (uint32_t)t->n;
		t->heap[t->n++] = (uint32_t)idx;
	} else {
		/* Replace the least counted key; the newcomer inherits its count as error. */
		idx = (int32_t)t->heap[0];
		c = &t->c[idx];
		chain_remove(t, idx);
		c->error = c->count;
		c->count++;
	}
	c->hash = h;
	c->len = (uint16_t)len;
	memcpy(c->key, key, len);
	c->key[len] = '\0';
	c->next = t->buckets[h & (t->n_buckets - 1)];
	t->buckets[h & (t->n_buckets - 1)] = idx;
	sift_up(t, c->heap_pos);
	sift_down(t, c->heap_pos);
}

static int
by_count_desc(const void *a, const void *b)
{
	const struct topk_item *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	/* Ties in a fixed order (by key), so the report reads the same every run. */
	{
		size_t n = x->len < y->len ? x->len : y->len;
		int c = memcmp(x->key, y->key, n);

		if (c != 0)
			return c;
	}
	return x->len < y->len ? -1 : x->len > y->len;
}

size_t
topk_list(const struct topk *t, struct topk_item *out, size_t max)
{
	struct topk_item *all = malloc((t->n > 0 ? t->n : 1) * sizeof(*all));
	size_t n = 0;

	if (all == NULL)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		all[i] = (struct topk_item){t->c[i].key, t->c[i].len, t->c[i].count, t->c[i].error};
	qsort(all, t->n, sizeof(*all), by_count_desc);
	n = t->n < max ? t->n : max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

uint64_t
topk_total(const struct topk *t)
{
	return t->total;
}

void
topk_free(struct topk *t)
{
	if (t == NULL)
		return;
	free(t->c);
	free(t->heap);
	free(t->buckets);
	free(t);
}
