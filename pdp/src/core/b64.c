/* b64.c - strict base64url (RFC 4648 §5, no padding) as JOSE uses it */
#include "core/b64.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63 for alphabet characters, 0xff for everything else. */
static const uint8_t decode_table[256] = {
#define X 0xff
    /* clang-format off */
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, 62, X, X,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, 63,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
/* clang-format on */
#undef X
};

long
b64url_decode(unsigned char *dst, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t full = n / 4, rest = n % 4, o = 0;
	uint32_t v;

	if (rest == 1)
		return -1;
	for (size_t i = 0; i < full; i++, s += 4) {
		uint8_t a = decode_table[s[0]], b = decode_table[s[1]];
		uint8_t c = decode_table[s[2]], d = decode_table[s[3]];

		if ((a | b | c | d) & 0xc0)
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
		dst[o++] = (unsigned char)(v >> 16);
		dst[o++] = (unsigned char)(v >> 8);
		dst[o++] = (unsigned char)v;
	}
	if (rest == 2) {
		uint8_t a = decode_table[s[0]], b = decode_table[s[1]];

		if ((a | b) & 0xc0 || (b & 0x0f) != 0)
			return -1;
		dst[o++] = (unsigned char)(a << 2 | b >> 4);
	} else if (rest == 3) {
		uint8_t a = decode_table[s[0]], b = decode_table[s[1]], c = decode_table[s[2]];

		if ((a | b | c) & 0xc0 || (c & 0x03) != 0)
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		dst[o++] = (unsigned char)(v >> 16);
		dst[o++] = (unsigned char)(v >> 8);
	}
	return (long)o;
}

size_t
b64url_encode(char *dst, const unsigned char *src, size_t n)
{
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];

		dst[o++] = alphabet[v >> 18];
		dst[o++] = alphabet[(v >> 12) & 63];
		dst[o++] = alphabet[(v >> 6) & 63];
		dst[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)src[i] << 16;

		dst[o++] = alphabet[v >> 18];
		dst[o++] = alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;

		dst[o++] = alphabet[v >> 18];
		dst[o++] = alphabet[(v >> 12) & 63];
		dst[o++] = alphabet[(v >> 6) & 63];
	}
	dst[o] = '\0';
	return o;
}
