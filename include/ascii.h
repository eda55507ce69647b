/* ascii.h - byte tests for protocol text (header names, hex escapes): ASCII
 * only, the same whatever the locale. Pure functions, safe from any thread. */
#ifndef SECDESK_ASCII_H
#define SECDESK_ASCII_H

#include <stdbool.h>
#include <stddef.h>

/* The value of hex digit ch (either case), 0..15; -1 for any other byte. */
int ascii_hexval(int ch);

/* Does s[0..n) (not NUL-terminated) equal the string lit, ignoring ASCII
 * case? A shorter or longer s is not equal. */
bool ascii_eq_ci(const char *s, size_t n, const char *lit);

/* Is ch an RFC 2045 token character: printable ASCII but SPACE and the
 * tspecials? */
bool ascii_is_token_char(char ch);

/* Is s a non-empty RFC 2045 token of at most max_len bytes? false for
 * NULL. */
bool ascii_is_token(const char *s, size_t max_len);

#endif
