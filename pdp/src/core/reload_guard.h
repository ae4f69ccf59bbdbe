/* reload_guard.h - whether a reload that would drop much of what is enforced waits for a confirm */
#ifndef PDP_RELOAD_GUARD_H
#define PDP_RELOAD_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/* What a reload returns: done, failed (a bad file), or refused by the guard. */
enum reload_result { RELOAD_FAILED = -1, RELOAD_OK = 0, RELOAD_REFUSED = 1 };

/*
 * How a reload reads its files and treats what it would drop: a reload that a
 * file change triggered is not confirmed; SIGHUP and `pdp reload` are.
 */
struct reload_guard {
	unsigned max_drop_pct; /* config reload.max_drop: 0..100 */
	bool confirmed;
	unsigned reread_ms; /* read again this much later until two reads agree */
	unsigned max_reads; /* at most this many reads; < 2: read once */
};

/*
 * Whether a reload must be refused: it is not confirmed, and of before
 * entries (enforced policies, revocations, disabled users) dropped would be
 * gone: every one of them, or more than max_drop_pct percent.
 */
bool reload_guard_refuses(const struct reload_guard *g, size_t before, size_t dropped);

/*
 * Appends name to the comma list in buf (bufsz bytes, NUL-terminated), for a
 * log line of what would be dropped; a list too long for buf ends in "...".
 * name is escaped (it came from a file).
 */
void reload_guard_note(char *buf, size_t bufsz, const char *name);

#endif
