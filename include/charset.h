/* charset.h - bytes in any charset to valid UTF-8.
 *
 * Every function returns a new NUL-terminated string (the caller frees it)
 * that is valid UTF-8 without NUL bytes and without control characters other
 * than tab and newline. Nothing here fails: unknown charsets are detected
 * from the bytes, invalid bytes become U+FFFD. */
#ifndef SECDESK_CHARSET_H
#define SECDESK_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

/* Cleans bytes that should be UTF-8: invalid sequences become U+FFFD, NULs
 * and control characters other than tab and newline are dropped, a CR not
 * followed by LF becomes LF. */
char *charset_clean(const char *s, size_t len);

/* Is s[0..len) valid UTF-8 (NULs allowed)? */
bool charset_is_utf8(const char *s, size_t len);

/* Does s hold a byte >= 0x80 or an ISO-2022 escape? */
bool charset_is_8bit(const char *s, size_t len);

/* The iconv name secdesk uses for a MIME charset label: supersets for the
 * labels mail clients mislabel (ISO-8859-1 -> WINDOWS-1252, GB2312 ->
 * GB18030, KS_C_5601-1987 -> CP949, Shift_JIS -> CP932, ...). NULL for
 * labels that say nothing (unknown-8bit, x-unknown, default, ""): the caller
 * detects. The result is static or label itself. */
const char *charset_canonical(const char *label);

/* Converts from the charset named label (a MIME label, aliases applied) to
 * UTF-8. An absent, unknown or meaningless label: the charset is detected
 * (valid UTF-8, else uchardet, else windows-1252). */
char *charset_to_utf8(const char *label, const char *s, size_t len);

/* Detects the charset of undeclared text and converts it. */
char *charset_detect_to_utf8(const char *s, size_t len);

#endif
