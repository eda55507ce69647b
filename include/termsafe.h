/* termsafe.h - text from mail made safe to print on a terminal.
 *
 * Mail is written by strangers: a subject can carry ESC sequences that
 * rewrite the screen, C1 controls that some terminals obey, or bidi
 * overrides that show "exe.pdf" for "fdp.exe". Every command prints such
 * text through termsafe_escape(), which shows what could steer the terminal
 * as a visible escape and leaves all other text, every script included
 * (emoji, Hebrew, Arabic, CJK), unchanged. --json output keeps the exact
 * text and never goes through here.
 *
 * The escapes, one form for each kind:
 *   \xHH    a byte: a C0 control (U+0000-U+001F), DEL (U+007F), or a byte
 *           that is not part of valid UTF-8 (overlong forms, surrogates,
 *           code points past U+10FFFF, truncated sequences)
 *   \uHHHH  a code point: a C1 control (U+0080-U+009F), a bidi mark
 *           (U+061C, U+200E, U+200F), embedding or override (U+202A-U+202E)
 *           or isolate (U+2066-U+2069)
 * Hex digits are lowercase. A backslash in the text stays as it is. */
#ifndef SECDESK_TERMSAFE_H
#define SECDESK_TERMSAFE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum termsafe_flags {
	/* Text of several lines (a body): newline and tab stay, and so does a
	 * carriage return right before a newline. Without it (a subject, a
	 * name, a table cell) newline, tab and CR are escaped too. */
	TERMSAFE_LINES = 1 << 0,
};

/* Appends s[0..len) to out with the escapes above. Returns 0, or -1 when
 * out's cap would be exceeded (out then holds a prefix of the result). */
int termsafe_escape(struct buf *out, const char *s, size_t len, unsigned flags);

/* Whether s[0..len) would come out of termsafe_escape() unchanged. */
bool termsafe_is_clean(const char *s, size_t len, unsigned flags);

#endif
