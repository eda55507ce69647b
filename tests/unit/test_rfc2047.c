/* rfc2047, rfc2231, charset, flowed, html: the pure decoders, table-driven,
 * with the inputs that must be kept as written or degrade to U+FFFD. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "charset.h"
#include "flowed.h"
#include "html.h"
#include "parse.h"
#include "rfc2047.h"

static const struct {
	const char *in, *want;
} words[] = {
	{ "plain text", "plain text" },
	{ "=?utf-8?q?caf=C3=A9?=", "café" },
	{ "=?UTF-8?Q?caf=C3=A9?=", "café" },
	{ "=?utf-8?b?Y2Fmw6k=?=", "café" },
	/* a character split across two adjacent words */
	{ "=?utf-8?b?8J+Y?= =?utf-8?b?gA==?=", "\xf0\x9f\x98\x80" },
	{ "=?utf-8?q?=C3?= =?utf-8?q?=A9t=C3=A9?=", "été" },
	/* whitespace between encoded words dropped, kept around text */
	{ "=?iso-8859-1?q?J=FCrgen?= =?iso-8859-1?q?_M=FCller?=", "Jürgen Müller" },
	{ "a =?iso-8859-1?q?=E9?= b", "a é b" },
	{ "=?utf-8?q?a?=\n\t=?utf-8?q?b?=", "ab" },
	/* a Latin-1 label is read as windows-1252 */
	{ "=?iso-8859-1?q?=93hi=94?=", "\xe2\x80\x9chi\xe2\x80\x9d" },
	/* gb2312 read as GB18030 */
	{ "=?gb2312?B?1tC5+g==?=", "中国" },
	/* RFC 2231 language in an encoded word */
	{ "=?utf-8*en?q?hello?=", "hello" },
	/* an unknown charset: the bytes are still read */
	{ "=?x-bogus?q?abc?=", "abc" },
	/* invalid bytes become U+FFFD, never a failure */
	{ "=?utf-8?q?a=FFb?=", "a\xc3\xbf" "b" },
	/* malformed words stay as written */
	{ "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
	{ "=?utf-8?x?bad-encoding?=", "=?utf-8?x?bad-encoding?=" },
	{ "=??q?no-charset?=", "=??q?no-charset?=" },
	{ "=?utf-8?q?with space?=", "=?utf-8?q?with space?=" },
	/* raw UTF-8 and raw Latin-1 in a header */
	{ "Gr\xc3\xbc\xc3\x9f" "e", "Grüße" },
	{ "Gr\xfc\xdf" "e aus M\xfcnchen", "Grüße aus München" },
	/* controls go, tabs and line breaks become spaces, NULs vanish */
	{ "a\tb", "a b" },
	{ "=?utf-8?q?a=00b=0Ac?=", "ab c" },
	{ "", "" },
};

static void
test_rfc2047_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		char *got = rfc2047_decode(words[i].in, strlen(words[i].in));

		if (strcmp(got, words[i].want) != 0)
			fail_msg("case %zu: '%s' gave '%s', wanted '%s'", i, words[i].in, got, words[i].want);
		free(got);
	}
}

static const struct {
	const char *value, *name, *want; /* want NULL: absent */
} params[] = {
	{ "attachment; filename=\"a b.pdf\"", "filename", "a b.pdf" },
	{ "attachment; filename=plain.txt", "filename", "plain.txt" },
	{ "attachment; FILENAME=\"x.txt\"", "filename", "x.txt" },
	{ "attachment; filename*=utf-8''%E2%82%AC%20rate.pdf", "filename", "€ rate.pdf" },
	{ "attachment; filename*=iso-8859-1'de'M%FCller.doc", "filename", "Müller.doc" },
	{ "attachment; filename*0=\"long \"; filename*1=\"name.txt\"", "filename", "long name.txt" },
	{ "attachment; filename*1=\"b.txt\"; filename*0=\"a\"", "filename", "ab.txt" },
	{ "attachment; filename*0*=utf-8''%C3%9C; filename*1=ber.pdf", "filename", "Über.pdf" },
	/* the extended form wins over the plain one */
	{ "attachment; filename=\"fallback\"; filename*=utf-8''real", "filename", "real" },
	/* a gap ends the continuation */
	{ "attachment; filename*0=a; filename*2=c", "filename", "a" },
	/* Outlook's RFC 2047 inside a quoted value */
	{ "application/pdf; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"", "name", "résumé.pdf" },
	/* quoted-pairs, junk after the quote, unquoted spaces */
	{ "a; filename=\"a\\\"b\"", "filename", "a\"b" },
	{ "a; filename=\"x\"junk; other=1", "filename", "x" },
	{ "a; filename=my file.pdf", "filename", "my file.pdf" },
	{ "text/plain; charset=utf-8", "filename", NULL },
	{ "text/plain", "charset", NULL },
	{ "a; filename", "filename", NULL },
	{ "a; filename*0*=utf-8''%ZZ", "filename", "%ZZ" },
	{ "a; filename=\"unterminated", "filename", "unterminated" },
};

static void
test_rfc2231_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
		char *got = rfc2231_param(params[i].value, params[i].name);

		if (!params[i].want) {
			if (got)
				fail_msg("case %zu: wanted nothing, got '%s'", i, got);
		} else if (!got || strcmp(got, params[i].want) != 0) {
			fail_msg("case %zu: '%s' gave '%s', wanted '%s'", i, params[i].value,
				 got ? got : "(null)", params[i].want);
		}
		free(got);
	}
	{
		char *b = rfc2231_param_raw("multipart/mixed; boundary=\"\\\"\"", "boundary");

		assert_non_null(b);
		assert_string_equal(b, "\"");
		free(b);
	}
}

static void
test_charset(void **state)
{
	char *s;

	(void)state;
	assert_null(charset_canonical("unknown-8bit"));
	assert_string_equal(charset_canonical("ISO-8859-1"), "WINDOWS-1252");
	assert_string_equal(charset_canonical("ks_c_5601-1987"), "CP949");
	assert_string_equal(charset_canonical("koi8-r"), "koi8-r");
	s = charset_to_utf8("windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", 6);
	assert_string_equal(s, "Привет");
	free(s);
	s = charset_to_utf8("shift_jis", "\x93\xfa\x96\x7b", 4);
	assert_string_equal(s, "日本");
	free(s);
	/* ISO-2022-JP without a label */
	s = charset_detect_to_utf8("\x1b$B$3$s$K$A$O\x1b(B", 16);
	assert_string_equal(s, "こんにちは");
	free(s);
	/* truncated multibyte at the end: U+FFFD, nothing lost before */
	s = charset_to_utf8("utf-8", "ok\xe2\x82", 4);
	assert_true(charset_is_utf8(s, strlen(s)));
	assert_memory_equal(s, "ok", 2);
	free(s);
	s = charset_clean("a\0b\rc\r\nd\x7f", 9);
	assert_string_equal(s, "ab\nc\nd");
	free(s);
	/* overlong and surrogate encodings are invalid */
	s = charset_clean("\xc0\xaf\xed\xa0\x80", 5);
	assert_true(charset_is_utf8(s, strlen(s)));
	assert_null(strchr(s, '/'));
	free(s);
}

static void
test_flowed(void **state)
{
	static const struct {
		const char *in;
		bool delsp;
		const char *want;
	} t[] = {
		{ "one \ntwo\n", false, "one two\n" },
		{ "one \ntwo\n", true, "onetwo\n" },
		{ "> a \n> b\nc\n", false, "> a b\nc\n" },
		{ "a \n> b\n", false, "a \n> b\n" },
		{ "-- \nsig\n", false, "-- \nsig\n" },
		{ " From stuffed\n", false, "From stuffed\n" },
		{ "trailing \n", false, "trailing " },
		{ "", false, "" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char *got = flowed_decode(t[i].in, strlen(t[i].in), t[i].delsp);

		if (strcmp(got, t[i].want) != 0)
			fail_msg("case %zu: got '%s', wanted '%s'", i, got, t[i].want);
		free(got);
	}
}

static void
test_html(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "<p>a</p><p>b</p>", "a\n\nb\n" },
		{ "a<br>b<br><br>c", "a\nb\n\nc\n" },
		{ "<script>x()</script><style>p{}</style>text", "text\n" },
		{ "<ul><li>one<li>two</ul>", "- one\n- two\n" },
		{ "<a href=\"https://x.example/\">site</a>", "site <https://x.example/>\n" },
		{ "<a href=\"https://x.example/\">https://x.example/</a>", "https://x.example/\n" },
		{ "<a href=\"javascript:evil()\">click</a>", "click\n" },
		{ "caf&eacute; &amp; &#x263A;", "café & ☺\n" },
		{ "<pre>  keep   spaces</pre>", "keep   spaces\n" },
		{ "unclosed <b>bold <i>and", "unclosed bold and\n" },
		{ "<!-- comment -->visible", "visible\n" },
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		bool cut = true;
		char *got = html_to_text(t[i].in, strlen(t[i].in), 0, 0, &cut);

		if (strcmp(got, t[i].want) != 0)
			fail_msg("case %zu: got '%s', wanted '%s'", i, got, t[i].want);
		assert_false(cut);
		free(got);
	}
	{
		/* the output cap stops the parse and says so */
		bool cut = false;
		char *got = html_to_text("<p>aaaa bbbb cccc dddd</p>", 26, 0, 8, &cut);

		assert_true(cut);
		assert_true(strlen(got) <= 9);
		free(got);
	}
}

static void
test_dates(void **state)
{
	static const struct {
		const char *date;
		time_t want; /* 0: unparsable */
	} t[] = {
		{ "Mon, 2 Nov 2026 10:00:00 +0000", 1793613600 },
		{ "Mon, 2 Nov 2026 11:00:00 +0100", 1793613600 },
		{ "2 Nov 2026 05:00:00 EST", 1793613600 },
		{ "Mon, 02 Nov 26 10:00 GMT", 1793613600 },
		{ "Mon,  2 Nov 2026 10:00:00 +0000 (UTC)", 1793613600 },
		{ "2 November 2026 10:00", 1793613600 },
		{ "2026-11-02 10:00:00", 1793613600 },
		{ "2026-11-02T10:00:00Z", 1793613600 },
		{ "not a date", 0 },
		{ "32 Nov 2026 10:00:00 +0000", 0 },
		{ "2 Nov 2026 25:00:00 +0000", 0 },
		{ "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char raw[256];
		struct message m;
		struct err e = ERR_INIT;
		int n = snprintf(raw, sizeof(raw), "From: a@b.example\nDate: %s\n\nx\n", t[i].date);

		message_init(&m);
		assert_int_equal(parse_message(raw, (size_t)n, &parse_limits_default, &m, &e), 0);
		if (t[i].want) {
			if (!m.has_date || m.date != t[i].want)
				fail_msg("case %zu '%s': got %lld", i, t[i].date, (long long)m.date);
		} else if (m.has_date) {
			fail_msg("case %zu '%s': parsed as %lld", i, t[i].date, (long long)m.date);
		}
		message_release(&m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2047_table), cmocka_unit_test(test_rfc2231_table),
		cmocka_unit_test(test_charset),       cmocka_unit_test(test_flowed),
		cmocka_unit_test(test_html),          cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
