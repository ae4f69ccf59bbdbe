/* caller.c - a verified caller as the token cache keeps it, with its view of the policy set */
#include "service/caller.h"

#include <stdlib.h>

struct caller *
caller_new(struct subject *s)
{
	size_t cap = s->groups.n + s->roles.n;
	struct caller *c = malloc(sizeof(*c) + cap * sizeof(c->ids[0]));

	if (c == NULL)
		return NULL;
	c->subject = s;
	c->cap = cap;
	store_memo_init(&c->memo);
	atomic_init(&c->seq, 0);
	atomic_init(&c->serial, 0);
	return c;
}

void
caller_free(void *v)
{
	struct caller *c = v;

	store_memo_fini(&c->memo);
	free(c->subject);
	free(c);
}

bool
caller_view_read(struct caller *c, uint64_t serial, uint32_t *buf, size_t bufn,
                 struct subject_ids *ids)
{
	uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
	size_t ng, nr;

	if ((seq & 1) || serial == 0 ||
	    atomic_load_explicit(&c->serial, memory_order_relaxed) != serial)
		return false;
	ng = atomic_load_explicit(&c->n_groups, memory_order_relaxed);
	nr = atomic_load_explicit(&c->n_roles, memory_order_relaxed);
	if (ng + nr > bufn || ng + nr > c->cap)
		return false;
	for (size_t i = 0; i < ng + nr; i++)
		buf[i] = atomic_load_explicit(&c->ids[i], memory_order_relaxed);
	ids->user = atomic_load_explicit(&c->user, memory_order_relaxed);
	ids->client = atomic_load_explicit(&c->client, memory_order_relaxed);
	ids->amr = atomic_load_explicit(&c->amr, memory_order_relaxed);
	ids->users_filter = atomic_load_explicit(&c->users_filter, memory_order_relaxed);
	ids->groups = buf;
	ids->n_groups = ng;
	ids->roles = buf + ng;
	ids->n_roles = nr;
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&c->seq, memory_order_relaxed) == seq;
}

void
caller_view_write(struct caller *c, uint64_t serial, const struct subject_ids *ids)
{
	uint64_t seq = atomic_load(&c->seq);

	if (serial == 0 || (seq & 1) || ids->n_groups + ids->n_roles > c->cap ||
	    !atomic_compare_exchange_strong(&c->seq, &seq, seq + 1))
		return;
	for (size_t i = 0; i < ids->n_groups; i++)
		atomic_store_explicit(&c->ids[i], ids->groups[i], memory_order_relaxed);
	for (size_t i = 0; i < ids->n_roles; i++)
		atomic_store_explicit(&c->ids[ids->n_groups + i], ids->roles[i],
		                      memory_order_relaxed);
	atomic_store_explicit(&c->n_groups, (uint32_t)ids->n_groups, memory_order_relaxed);
	atomic_store_explicit(&c->n_roles, (uint32_t)ids->n_roles, memory_order_relaxed);
	atomic_store_explicit(&c->user, ids->user, memory_order_relaxed);
	atomic_store_explicit(&c->client, ids->client, memory_order_relaxed);
	atomic_store_explicit(&c->amr, ids->amr, memory_order_relaxed);
	atomic_store_explicit(&c->users_filter, ids->users_filter, memory_order_relaxed);
	atomic_store_explicit(&c->serial, serial, memory_order_relaxed);
	atomic_store_explicit(&c->seq, seq + 2, memory_order_release);
}
