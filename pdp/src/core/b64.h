/* b64.h - strict base64url (RFC 4648 §5, no padding) as JOSE uses it */
#ifndef PDP_B64_H
#define PDP_B64_H

#include <stddef.h>

/* Bytes needed to decode n characters (an upper bound). */
#define B64URL_DECODED_MAX(n) (((n) / 4) * 3 + 3)
/* Characters needed to encode n bytes, without the NUL. */
#define B64URL_ENCODED_LEN(n) (((n) / 3) * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))

/*
 * Decodes n characters of src into dst (room for B64URL_DECODED_MAX(n)).
 * Rejects padding, characters outside the url-safe alphabet, an impossible
 * length and non-zero trailing bits, so every byte string has exactly one
 * accepted encoding. Returns the decoded length, or -1.
 */
long b64url_decode(unsigned char *dst, const char *src, size_t n);

/* Encodes n bytes into dst (room for B64URL_ENCODED_LEN(n) + 1); returns the length. */
size_t b64url_encode(char *dst, const unsigned char *src, size_t n);

#endif
