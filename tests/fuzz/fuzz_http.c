/* fuzz_http.c - libFuzzer target: HTTP/1.1 requests of the HTTP front from any bytes, in any pieces
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_grow.h"
#include "transport/http_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *envp[HTTP_PROTO_MAX_PARAMS + 1];
static char env[HTTP_PROTO_ENV_BYTES];

/* Every param lies in env, is NUL-terminated there, is NAME=value with a name, and none twice. */
static void
check_request(const struct http_proto *h)
{
	const char *lo = env, *hi = env + sizeof(env);

	if (h->parsed > HTTP_PROTO_MAX_HEADER || h->parsed > h->len || h->len > h->cap)
		abort();
	for (size_t i = 0; envp[i] != NULL; i++) {
		const char *e = envp[i], *eq;

		if (i >= HTTP_PROTO_MAX_PARAMS || e < lo || e >= hi ||
		    memchr(e, '\0', (size_t)(hi - e)) == NULL)
			abort();
		if ((eq = strchr(e, '=')) == NULL || eq == e)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strncmp(envp[j], e, (size_t)(eq - e) + 1) == 0)
				abort();
		for (const char *v = eq + 1; *v != '\0'; v++)
			if ((unsigned char)*v < 0x20 && *v != '\t')
				abort();
	}
}

/*
 * The first byte picks the piece size (1..256 bytes): the rest arrives in
 * pieces as a socket might deliver it, into a buffer that grows as the event
 * loop grows it, from 4 KiB up to the most it allows. Every request is
 * answered (the answer framed) before the next is read, as the loop does.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t piece, at = 1, cap = 4096;
	static struct response rs;
	struct http_proto h;
	unsigned char *buf;

	if (size < 1)
		return 0;
	piece = (size_t)data[0] + 1;
	if ((buf = malloc(cap)) == NULL)
		return 0;
	http_proto_init(&h, buf, cap);
	while (at < size) {
		size_t n = size - at < piece ? size - at : piece;
		enum http_step step;
		bool done = false;

		if (n > h.cap - h.len)
			n = h.cap - h.len;
		memcpy(h.buf + h.len, data + at, n);
		h.len += n;
		at += n;
		while ((step = http_proto_feed(&h, envp, env)) == HTTP_STEP_REQUEST) {
			struct iovec iov[HTTP_PROTO_ANSWER_IOVS];
			bool close = http_proto_closes(&h);

			check_request(&h);
			response_deny(&rs, "p", envp[0] != NULL ? envp[0] : "-");
			if (http_proto_answer(&rs, close, iov) != HTTP_PROTO_ANSWER_IOVS ||
			    memcmp(iov[0].iov_base, "HTTP/1.1 ", 9) != 0)
				abort();
			if (!http_proto_next(&h)) {
				done = true;
				break;
			}
		}
		if (done)
			break;
		if (step == HTTP_STEP_REFUSE) {
			if (h.why == NULL || !http_proto_closes(&h) || http_proto_next(&h))
				abort();
			break;
		}
		if (h.len == h.cap) {
			unsigned char *big = fuzz_grow(&cap, HTTP_PROTO_MAX_BUFFER);

			if (big == NULL)
				break;
			http_proto_move(&h, big, cap);
			free(buf);
			buf = big;
		}
	}
	free(buf);
	return 0;
}
