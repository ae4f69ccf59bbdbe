/* epoch.c - readers mark the generation they read under; a writer waits them out to free */
#include "core/epoch.h"

#include <sched.h>
#include <stdlib.h>

int
epoch_init(struct epoch *e, unsigned n_readers)
{
	size_t slots = n_readers ? n_readers : 1;

	atomic_init(&e->generation, 1);
	e->n_readers = n_readers;
	e->active = aligned_alloc(alignof(struct epoch_mark), slots * sizeof(*e->active));
	if (e->active == NULL)
		return -1;
	for (size_t i = 0; i < slots; i++)
		atomic_init(&e->active[i].generation, 0);
	return 0;
}

void
epoch_fini(struct epoch *e)
{
	free(e->active);
	e->active = NULL;
}

void
epoch_synchronize(struct epoch *e)
{
	uint64_t gen = atomic_load(&e->generation) + 1;

	atomic_store(&e->generation, gen);
	/* A reader that may hold the old pointer marked a generation below gen before loading it.
	 */
	for (unsigned i = 0; i < e->n_readers; i++) {
		uint64_t a;

		while ((a = atomic_load(&e->active[i].generation)) != 0 && a < gen)
			sched_yield();
	}
}
