/* timefmt.h - RFC 3339 times as the decision log writes them, and the report's time arguments */
#ifndef PDP_EVIDENCE_TIMEFMT_H
#define PDP_EVIDENCE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-23T04:33:14.820Z" and its NUL. */
#define TIMEFMT_SIZE 25

/*
 * Parses an RFC 3339 date-time of n bytes ("2026-11-23T04:33:14Z", with an
 * optional fraction, "Z" or a "+hh:mm"/"-hh:mm" offset; "t" and "z" as the
 * RFC allows) into milliseconds since the epoch, UTC. Returns 0, or -1 for
 * anything else (a field out of range included).
 */
int timefmt_parse(const char *s, size_t n, int64_t *ms);

/* ms as "2026-11-23T04:33:14.820Z" into buf (TIMEFMT_SIZE bytes); returns buf. */
char *timefmt_format(int64_t ms, char *buf);

/*
 * A --since/--until argument: an RFC 3339 date-time, or a span before now_ms
 * written as digits and a unit, s, m, h, d or w ("7d", "24h", "90m").
 * Returns 0, or -1 when arg is neither.
 */
int timefmt_arg(const char *arg, int64_t now_ms, int64_t *ms);

#endif
