/* utf8.h - UTF-8 sequences checked and written, for the JSON readers */
#ifndef PDP_UTF8_H
#define PDP_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length (2..4) of the valid UTF-8 sequence at s, whose first byte is
 * 0x80 or above, within end; 0 when it is not one (overlong forms,
 * surrogates and code points past U+10FFFF included).
 */
size_t utf8_sequence(const unsigned char *s, const unsigned char *end);

/* Writes code point cp (at most U+10FFFF) as UTF-8 at o (4 bytes of room); returns its length. */
size_t utf8_put(char *o, uint32_t cp);

#endif
