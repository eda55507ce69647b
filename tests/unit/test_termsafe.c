/* termsafe_escape: every class of character that could steer a terminal
 * comes out as a visible escape, in one-line and in multi-line mode; text
 * of every script (emoji, Hebrew, Arabic, CJK, accents) stays as it is;
 * invalid UTF-8 is escaped byte by byte. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "termsafe.h"

enum { ONE = 0, LINES = TERMSAFE_LINES };

static const struct {
	const char *what;
	const char *in;
	size_t len; /* 0: strlen(in) */
	unsigned flags;
	const char *out;
} cases[] = {
	/* valid text is untouched, in both modes */
	{ "empty", "", 0, ONE, "" },
	{ "ascii", "Funding call 2026: deadline?", 0, ONE, "Funding call 2026: deadline?" },
	{ "backslash stays", "C:\\temp\\x1b", 0, ONE, "C:\\temp\\x1b" },
	{ "accents", "D\xc3\xa9j\xc3\xa0 vu \xc3\xbc\xc3\x9f", 0, ONE,
	  "D\xc3\xa9j\xc3\xa0 vu \xc3\xbc\xc3\x9f" },
	{ "hebrew", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", 0, ONE, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" },
	{ "arabic", "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7", 0, LINES,
	  "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7" },
	{ "cjk", "\xe4\xb8\xad\xe6\x96\x87", 0, ONE, "\xe4\xb8\xad\xe6\x96\x87" },
	{ "emoji (4 bytes)", "ok \xf0\x9f\x98\x80 \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 0, ONE,
	  "ok \xf0\x9f\x98\x80 \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd" },
	{ "emoji with ZWJ and variation selector", "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x94\xac\xef\xb8\x8f",
	  0, ONE, "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x94\xac\xef\xb8\x8f" },
	{ "U+00A0 and U+00FF are text", "a\xc2\xa0" "b\xc3\xbf", 0, ONE, "a\xc2\xa0" "b\xc3\xbf" },
	{ "U+2028 and U+2070 are not bidi controls", "\xe2\x80\xa8\xe2\x81\xb0", 0, ONE,
	  "\xe2\x80\xa8\xe2\x81\xb0" },
	{ "U+10FFFF is valid", "\xf4\x8f\xbf\xbf", 0, ONE, "\xf4\x8f\xbf\xbf" },

	/* C0 controls */
	{ "ESC sequence", "a\x1b[2Jb", 0, ONE, "a\\x1b[2Jb" },
	{ "ESC in lines mode", "a\x1b]0;title\x07", 0, LINES, "a\\x1b]0;title\\x07" },
	{ "NUL inside", "a\0b", 3, ONE, "a\\x00b" },
	{ "BEL BS VT FF", "\x07\x08\x0b\x0c", 0, LINES, "\\x07\\x08\\x0b\\x0c" },
	{ "0x01 and 0x1f", "\x01\x1f", 0, ONE, "\\x01\\x1f" },
	{ "DEL", "a\x7f" "b", 0, ONE, "a\\x7fb" },
	/* newline, tab, CR: kept in lines mode (CR only before a newline) */
	{ "newline one-line", "a\nb", 0, ONE, "a\\x0ab" },
	{ "tab one-line", "a\tb", 0, ONE, "a\\x09b" },
	{ "CR one-line", "a\r\nb", 0, ONE, "a\\x0d\\x0ab" },
	{ "newline and tab kept in lines mode", "a\n\tb\n", 0, LINES, "a\n\tb\n" },
	{ "CRLF kept in lines mode", "a\r\nb", 0, LINES, "a\r\nb" },
	{ "lone CR escaped in lines mode", "paid\rUNPAID", 0, LINES, "paid\\x0dUNPAID" },
	{ "CR at the end escaped", "a\r", 0, LINES, "a\\x0d" },

	/* C1 controls U+0080..U+009F */
	{ "U+0080", "\xc2\x80", 0, ONE, "\\u0080" },
	{ "CSI U+009B", "x\xc2\x9b" "31mred", 0, LINES, "x\\u009b31mred" },
	{ "U+009F", "\xc2\x9f", 0, ONE, "\\u009f" },
	{ "raw 0x9b byte is invalid UTF-8", "\x9b" "31m", 0, ONE, "\\x9b31m" },

	/* bidi marks, embeddings, overrides, isolates */
	{ "ALM U+061C", "\xd8\x9c", 0, ONE, "\\u061c" },
	{ "LRM U+200E", "\xe2\x80\x8e", 0, ONE, "\\u200e" },
	{ "RLM U+200F", "\xe2\x80\x8f", 0, ONE, "\\u200f" },
	{ "LRE U+202A", "\xe2\x80\xaa", 0, ONE, "\\u202a" },
	{ "RLE U+202B", "\xe2\x80\xab", 0, ONE, "\\u202b" },
	{ "PDF U+202C", "\xe2\x80\xac", 0, ONE, "\\u202c" },
	{ "LRO U+202D", "\xe2\x80\xad", 0, ONE, "\\u202d" },
	{ "RLO U+202E in a file name", "invoice\xe2\x80\xaegpj.exe", 0, LINES,
	  "invoice\\u202egpj.exe" },
	{ "LRI U+2066", "\xe2\x81\xa6", 0, ONE, "\\u2066" },
	{ "RLI U+2067", "\xe2\x81\xa7", 0, ONE, "\\u2067" },
	{ "FSI U+2068", "\xe2\x81\xa8", 0, ONE, "\\u2068" },
	{ "PDI U+2069", "\xe2\x81\xa9", 0, ONE, "\\u2069" },
	{ "Hebrew with an override inside", "\xd7\xa9\xe2\x80\xae\xd7\x9d", 0, ONE,
	  "\xd7\xa9\\u202e\xd7\x9d" },

	/* invalid UTF-8: each bad byte escaped, the rest kept */
	{ "lone continuation", "a\x80" "b", 0, ONE, "a\\x80b" },
	{ "latin-1 byte", "caf\xe9", 0, ONE, "caf\\xe9" },
	{ "overlong slash", "\xc0\xaf", 0, ONE, "\\xc0\\xaf" },
	{ "overlong 3 bytes", "\xe0\x80\xaf", 0, ONE, "\\xe0\\x80\\xaf" },
	{ "surrogate", "\xed\xa0\x80", 0, ONE, "\\xed\\xa0\\x80" },
	{ "past U+10FFFF", "\xf4\x90\x80\x80", 0, ONE, "\\xf4\\x90\\x80\\x80" },
	{ "F5 lead", "\xf5\x80\x80\x80", 0, ONE, "\\xf5\\x80\\x80\\x80" },
	{ "FF byte", "\xff", 0, ONE, "\\xff" },
	{ "truncated at the end", "ab\xe2\x80", 0, ONE, "ab\\xe2\\x80" },
	{ "truncated before text", "\xe2\x80z\xc3\xa9", 0, ONE, "\\xe2\\x80z\xc3\xa9" },
	{ "len cuts a valid sequence", "\xc3\xa9", 1, ONE, "\\xc3" },
	{ "overlong-encoded ESC", "\xc0\x9b", 0, ONE, "\\xc0\\x9b" },
};

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf out = BUF_INIT;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		bool same = strlen(cases[i].out) == len && memcmp(cases[i].in, cases[i].out, len) == 0;

		assert_int_equal(termsafe_escape(&out, cases[i].in, len, cases[i].flags), 0);
		if (strcmp(buf_cstr(&out), cases[i].out) != 0)
			fail_msg("%s: got '%s', expected '%s'", cases[i].what, buf_cstr(&out),
				 cases[i].out);
		if (termsafe_is_clean(cases[i].in, len, cases[i].flags) != same)
			fail_msg("%s: termsafe_is_clean says %d", cases[i].what, !same);
		buf_release(&out);
	}
}

/* No escaped output holds a byte below 0x20 (but newline and tab in lines
 * mode), DEL, or a C1 or bidi control: checked for every byte value and
 * every code point of the BMP and some beyond. */
static void
test_every_code_point(void **state)
{
	(void)state;
	for (unsigned cp = 0; cp < 0x20000; cp++) {
		unsigned char in[4];
		size_t n;
		struct buf out = BUF_INIT;
		bool steer = cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c ||
			     cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
			     (cp >= 0x2066 && cp <= 0x2069);

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		if (cp < 0x80) {
			in[0] = (unsigned char)cp;
			n = 1;
		} else if (cp < 0x800) {
			in[0] = (unsigned char)(0xc0 | cp >> 6);
			in[1] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			in[0] = (unsigned char)(0xe0 | cp >> 12);
			in[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			in[2] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			in[0] = (unsigned char)(0xf0 | cp >> 18);
			in[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
			in[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			in[3] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		assert_int_equal(termsafe_escape(&out, (const char *)in, n, 0), 0);
		if (steer) {
			char want[16];

			snprintf(want, sizeof(want), cp < 0x80 ? "\\x%02x" : "\\u%04x", cp);
			if (strcmp(buf_cstr(&out), want) != 0)
				fail_msg("U+%04X: got '%s', expected '%s'", cp, buf_cstr(&out), want);
		} else if (out.len != n || memcmp(out.data, in, n) != 0) {
			fail_msg("U+%04X changed to '%s'", cp, buf_cstr(&out));
		}
		buf_release(&out);
	}
}

/* Appending keeps what the buffer held; hitting its cap is an error. */
static void
test_append_and_cap(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 16);
	buf_addstr(&out, "> ");
	assert_int_equal(termsafe_escape(&out, "a\x1b", 2, 0), 0);
	assert_string_equal(buf_cstr(&out), "> a\\x1b");
	assert_int_equal(termsafe_escape(&out, "\x1b\x1b\x1b", 3, 0), -1);
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_every_code_point),
		cmocka_unit_test(test_append_and_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
