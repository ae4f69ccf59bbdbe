/* swap.c - the live policy set: lock-free reads, atomic replacement on reload */
#include "policy/swap.h"

#include "policy/load.h"

int
policy_swap_init(struct policy_swap *sw, struct policy_set *set, unsigned n_readers)
{
	sw->serial = 1;
	set->serial = sw->serial;
	atomic_init(&sw->current, set);
	return epoch_init(&sw->readers, n_readers);
}

void
policy_swap_fini(struct policy_swap *sw)
{
	policy_set_free(atomic_load(&sw->current));
	epoch_fini(&sw->readers);
}

const struct policy_set *
policy_swap_read_begin(struct policy_swap *sw, unsigned reader)
{
	epoch_enter(&sw->readers, reader);
	return atomic_load(&sw->current);
}

void
policy_swap_read_end(struct policy_swap *sw, unsigned reader)
{
	epoch_exit(&sw->readers, reader);
}

void
policy_swap_replace(struct policy_swap *sw, struct policy_set *set)
{
	struct policy_set *old;

	/* Stamped before it is published: readers see the serial with the set. */
	set->serial = ++sw->serial;
	old = atomic_exchange(&sw->current, set);
	epoch_synchronize(&sw->readers);
	policy_set_free(old);
}
