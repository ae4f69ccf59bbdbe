/* epoch.h - readers mark the generation they read under; a writer waits them out to free */
#ifndef PDP_EPOCH_H
#define PDP_EPOCH_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

/*
 * Safe freeing of what readers may still hold, without a lock for them: a
 * reader marks the generation it starts under and clears the mark when done
 * (two atomic stores); a writer publishes a new pointer, then
 * epoch_synchronize moves the generation on and waits until no reader still
 * marks an older one, after which the old pointer is the writer's to free.
 */
struct epoch_mark {
	alignas(64) _Atomic(uint64_t) generation; /* in use, 0 when idle; a line per reader */
};

struct epoch {
	atomic_uint_fast64_t generation;
	unsigned n_readers;
	struct epoch_mark *active; /* one per reader */
};

/* n_readers: one slot per thread that reads (0: one slot, for the calling thread). 0 or -1. */
int epoch_init(struct epoch *e, unsigned n_readers);
void epoch_fini(struct epoch *e);

static inline void
epoch_enter(struct epoch *e, unsigned reader)
{
	/* Sequentially consistent: the mark is visible before the reader loads a pointer. */
	atomic_store(&e->active[reader].generation, atomic_load(&e->generation));
}

static inline void
epoch_exit(struct epoch *e, unsigned reader)
{
	atomic_store_explicit(&e->active[reader].generation, 0, memory_order_release);
}

/*
 * Call after publishing (a sequentially consistent store or exchange):
 * returns once every reader that could have loaded the old pointer is done.
 * One writer at a time.
 */
void epoch_synchronize(struct epoch *e);

#endif
