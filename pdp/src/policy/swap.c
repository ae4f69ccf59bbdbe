/* swap.c - the live policy set: lock-free reads, atomic replacement on reload */
#include "policy/swap.h"

#include <sched.h>
#include <stdlib.h>

#include "policy/load.h"

int
policy_swap_init(struct policy_swap *sw, struct policy_set *set, unsigned n_readers)
{
	size_t slots = n_readers ? n_readers : 1;

	set->serial = 1;
	atomic_init(&sw->current, set);
	atomic_init(&sw->generation, 1);
	sw->n_readers = n_readers;
	sw->active = aligned_alloc(alignof(struct policy_swap_mark), slots * sizeof(*sw->active));
	if (sw->active == NULL)
		return -1;
	for (size_t i = 0; i < slots; i++)
		atomic_init(&sw->active[i].generation, 0);
	return 0;
}

void
policy_swap_fini(struct policy_swap *sw)
{
	policy_set_free(atomic_load(&sw->current));
	free(sw->active);
	sw->active = NULL;
}

const struct policy_set *
policy_swap_read_begin(struct policy_swap *sw, unsigned reader)
{
	/* Sequentially consistent: the mark is visible before the pointer is read. */
	atomic_store(&sw->active[reader].generation, atomic_load(&sw->generation));
	return atomic_load(&sw->current);
}

void
policy_swap_read_end(struct policy_swap *sw, unsigned reader)
{
	atomic_store_explicit(&sw->active[reader].generation, 0, memory_order_release);
}

void
policy_swap_replace(struct policy_swap *sw, struct policy_set *set)
{
	uint64_t gen = atomic_load(&sw->generation) + 1;
	struct policy_set *old;

	/* Stamped before it is published: readers see the serial with the set. */
	set->serial = gen;
	old = atomic_exchange(&sw->current, set);
	atomic_store(&sw->generation, gen);

	/* A reader that may hold old marked a generation below gen before reading it. */
	for (unsigned i = 0; i < sw->n_readers; i++) {
		uint64_t a;

		while ((a = atomic_load(&sw->active[i].generation)) != 0 && a < gen)
			sched_yield();
	}
	policy_set_free(old);
}
