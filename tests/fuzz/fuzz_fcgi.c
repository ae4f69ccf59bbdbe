/* fuzz_fcgi.c - libFuzzer target: FastCGI records from any bytes, arriving in any pieces */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_grow.h"
#include "transport/fcgi_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *envp[FCGI_PROTO_MAX_PARAMS + 1];

/* Every param a request gives lies in the buffer, is NUL-terminated there and has a name. */
static void
check_request(const struct fcgi_proto *p)
{
	const char *lo = (const char *)p->buf, *hi = lo + p->cap;

	for (size_t i = 0; envp[i] != NULL; i++) {
		const char *e = envp[i], *nul;

		if (i >= FCGI_PROTO_MAX_PARAMS || e < lo || e >= hi)
			abort();
		nul = memchr(e, '\0', (size_t)(hi - e));
		if (nul == NULL || strchr(e, '=') == NULL || e[0] == '=')
			abort();
	}
}

/*
 * The first byte picks the piece size (1..256 bytes): the rest arrives in
 * pieces as a socket might deliver it, into a buffer that grows as the event
 * loop grows it, from 4 KiB up to the most it allows.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t piece, at = 1, cap = 4096;
	struct fcgi_proto p;
	unsigned char *buf;

	if (size < 1)
		return 0;
	piece = (size_t)data[0] + 1;
	if ((buf = malloc(cap)) == NULL)
		return 0;
	fcgi_proto_init(&p, buf, cap);
	while (at < size) {
		size_t n = size - at < piece ? size - at : piece;
		enum fcgi_step step;

		if (n > p.cap - p.len)
			n = p.cap - p.len;
		memcpy(p.buf + p.len, data + at, n);
		p.len += n;
		at += n;
		do {
			step = fcgi_proto_feed(&p, envp, FCGI_PROTO_MAX_PARAMS);
			if (p.reply_len > sizeof(p.reply) || p.raw > p.len || p.params > p.raw ||
			    p.len > p.cap)
				abort();
			p.reply_len = 0;
			if (step == FCGI_STEP_REQUEST) {
				check_request(&p);
				if (!fcgi_proto_next(&p))
					step = FCGI_STEP_CLOSE;
			}
		} while (step == FCGI_STEP_REPLIES || (step == FCGI_STEP_REQUEST));
		if (step == FCGI_STEP_CLOSE || step == FCGI_STEP_REFUSE)
			break;
		if (p.len == p.cap) {
			unsigned char *big = fuzz_grow(&cap, FCGI_PROTO_MAX_BUFFER);

			if (big == NULL)
				break;
			fcgi_proto_move(&p, big, cap);
			free(buf);
			buf = big;
		}
	}
	free(buf);
	return 0;
}
