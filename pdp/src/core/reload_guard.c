/* reload_guard.c - whether a reload that would drop much of what is enforced waits for a confirm */
#include "core/reload_guard.h"

#include <stdio.h>
#include <string.h>

bool
reload_guard_refuses(const struct reload_guard *g, size_t before, size_t dropped)
{
	if (g->confirmed || before == 0 || dropped == 0)
		return false;
	if (dropped >= before)
		return true; /* to zero: refused whatever the fraction allows */
	/* dropped / before > max_drop_pct / 100, without overflow for any count. */
	return (double)dropped * 100.0 > (double)g->max_drop_pct * (double)before;
}

void
reload_guard_note(char *buf, size_t bufsz, const char *name)
{
	size_t o = strlen(buf);

	if (bufsz < 8 || o + 4 >= bufsz || (o >= 3 && strcmp(buf + o - 3, "...") == 0))
		return;
	if (o > 0) {
		buf[o++] = ',';
		buf[o++] = ' ';
	}
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		char esc[5];
		size_t n = 1;

		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
		else
			esc[0] = (char)*p;
		if (o + n + 4 >= bufsz) {
			memcpy(buf + o, "...", 4); /* o + 4 < bufsz still holds */
			return;
		}
		memcpy(buf + o, esc, n);
		o += n;
	}
	buf[o] = '\0';
}
