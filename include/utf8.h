/* utf8.h - reading UTF-8 strictly (RFC 3629): no overlong forms, no
 * surrogates, nothing past U+10FFFF. Pure functions, safe from any thread. */
#ifndef SECDESK_UTF8_H
#define SECDESK_UTF8_H

#include <stddef.h>

/* The length (1 to 4) of the valid UTF-8 sequence at s, which has n > 0
 * bytes, and its code point in *cp (cp may be NULL); 0 when the bytes there
 * are not valid UTF-8 or the sequence runs past n. */
size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp);

#endif
