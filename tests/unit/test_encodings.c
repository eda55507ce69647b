/* encodings, dates, msg-ids and the util byte helpers (ascii, utf8): the
 * pure functions the parser and mimeout share, table-driven, with the
 * inputs that must be skipped, kept as written or refused. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ascii.h"
#include "buf.h"
#include "dates.h"
#include "encodings.h"
#include "msgid.h"
#include "utf8.h"
#include "xalloc.h"

static const struct {
	const char *in;
	enum base64_pad pad;
	const char *want;
} b64[] = {
	{ "Y2Fmw6k=", BASE64_PAD_SKIPPED, "caf\xc3\xa9" },
	{ "Y2Fmw6k=", BASE64_PAD_ENDS, "caf\xc3\xa9" },
	/* line breaks and junk outside the alphabet are skipped */
	{ "Y2Fm\nw6k\r\n=", BASE64_PAD_SKIPPED, "caf\xc3\xa9" },
	{ "Y*2F!m", BASE64_PAD_SKIPPED, "caf" },
	/* missing padding is fine */
	{ "YWI", BASE64_PAD_ENDS, "ab" },
	/* '=' ends an encoded word's data, a body's goes on */
	{ "YQ==YQ==", BASE64_PAD_ENDS, "a" },
	{ "YWJj=YWJj", BASE64_PAD_SKIPPED, "abcabc" },
	{ "", BASE64_PAD_SKIPPED, "" },
	{ "====", BASE64_PAD_SKIPPED, "" },
};

static void
test_base64_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(b64); i++) {
		struct buf out = BUF_INIT;

		buf_init(&out, 0);
		base64_decode(&out, b64[i].in, strlen(b64[i].in), b64[i].pad);
		if (strcmp(buf_cstr(&out), b64[i].want) != 0)
			fail_msg("base64 '%s': got '%s', want '%s'", b64[i].in, buf_cstr(&out), b64[i].want);
		buf_release(&out);
	}
}

static const struct {
	const char *in;
	enum qp_flavour flavour;
	const char *want;
} qp[] = {
	{ "caf=C3=A9", QP_BODY, "caf\xc3\xa9" },
	{ "caf=c3=a9", QP_BODY, "caf\xc3\xa9" },
	/* soft line breaks, also with blanks after the '=' */
	{ "long=\nline", QP_BODY, "longline" },
	{ "long= \t\nline", QP_BODY, "longline" },
	/* trailing blanks of a line are not text */
	{ "a  \nb\t\n", QP_BODY, "a\nb\n" },
	/* a bad escape stays as written */
	{ "a=ZZb", QP_BODY, "a=ZZb" },
	{ "a=4", QP_BODY, "a=4" },
	{ "end=", QP_BODY, "end=" },
	/* '_' is a space only in an encoded word, "=5F" stays '_' there */
	{ "a_b", QP_BODY, "a_b" },
	{ "a_b=5Fc", QP_ENCODED_WORD, "a b_c" },
	{ "J=FCrgen", QP_ENCODED_WORD, "J\xfcrgen" },
	{ "", QP_ENCODED_WORD, "" },
};

static void
test_qp_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(qp); i++) {
		struct buf out = BUF_INIT;

		buf_init(&out, 0);
		qp_decode(&out, qp[i].in, strlen(qp[i].in), qp[i].flavour);
		if (strcmp(buf_cstr(&out), qp[i].want) != 0)
			fail_msg("qp '%s': got '%s', want '%s'", qp[i].in, buf_cstr(&out), qp[i].want);
		buf_release(&out);
	}
}

static void
test_base64_encode(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = { { "", "" }, { "a", "YQ==" }, { "ab", "YWI=" }, { "abc", "YWJj" },
		  { "caf\xc3\xa9", "Y2Fmw6k=" } };
	char out[32];
	struct buf b = BUF_INIT;
	unsigned char data[100];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char *e = base64_encode_to(out, (const unsigned char *)t[i].in, strlen(t[i].in));

		*e = '\0';
		assert_string_equal(out, t[i].want);
		assert_int_equal((size_t)(e - out), BASE64_LEN(strlen(t[i].in)));
	}
	/* a body: 76 characters a line, CRLF after each, the last one too */
	memset(data, 'x', sizeof(data));
	buf_init(&b, 0);
	mime_base64_encode(&b, data, sizeof(data));
	assert_int_equal(b.len, 76 + 2 + BASE64_LEN(100 - 57) + 2);
	assert_memory_equal(b.data + 76, "\r\n", 2);
	assert_memory_equal(b.data + b.len - 2, "\r\n", 2);
	{
		struct buf back = BUF_INIT;

		buf_init(&back, 0);
		base64_decode(&back, b.data, b.len, BASE64_PAD_SKIPPED);
		assert_int_equal(back.len, sizeof(data));
		assert_memory_equal(back.data, data, sizeof(data));
		buf_release(&back);
	}
	buf_release(&b);
}

static void
test_cte_kind(void **state)
{
	(void)state;
	assert_int_equal(cte_kind(NULL), CTE_IDENTITY);
	assert_int_equal(cte_kind("base64"), CTE_BASE64);
	assert_int_equal(cte_kind(" \"Base64\" ; x"), CTE_BASE64);
	assert_int_equal(cte_kind("Quoted-Printable"), CTE_QP);
	assert_int_equal(cte_kind("8bit"), CTE_IDENTITY);
	assert_int_equal(cte_kind("base64x"), CTE_IDENTITY);
	assert_int_equal(cte_kind(""), CTE_IDENTITY);
}

static void
test_ascii(void **state)
{
	(void)state;
	assert_int_equal(ascii_hexval('0'), 0);
	assert_int_equal(ascii_hexval('9'), 9);
	assert_int_equal(ascii_hexval('a'), 10);
	assert_int_equal(ascii_hexval('F'), 15);
	assert_int_equal(ascii_hexval('g'), -1);
	assert_int_equal(ascii_hexval('G'), -1);
	assert_int_equal(ascii_hexval(' '), -1);
	assert_int_equal(ascii_hexval(0xc3), -1);
	assert_true(ascii_eq_ci("From", 4, "from"));
	assert_true(ascii_eq_ci("CONTENT-TYPE: x", 12, "content-type"));
	assert_false(ascii_eq_ci("From", 3, "from"));  /* shorter */
	assert_false(ascii_eq_ci("Fromx", 5, "from")); /* longer */
	assert_false(ascii_eq_ci("Frum", 4, "from"));
	assert_false(ascii_eq_ci("Fr\0m", 4, "from"));
	assert_true(ascii_eq_ci("", 0, ""));
}

static void
test_utf8_decode(void **state)
{
	static const struct {
		const char *s;
		size_t want;
		unsigned cp;
	} t[] = {
		{ "a", 1, 'a' },
		{ "\xc3\xa9", 2, 0xe9 },
		{ "\xe2\x82\xac", 3, 0x20ac },
		{ "\xf0\x9f\x98\x80", 4, 0x1f600 },
		{ "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
		/* refused: overlong forms, surrogates, past U+10FFFF, cut,
		 * stray continuation bytes */
		{ "\xc0\xaf", 0, 0 },
		{ "\xc1\xbf", 0, 0 },
		{ "\xe0\x9f\xbf", 0, 0 },
		{ "\xed\xa0\x80", 0, 0 },
		{ "\xf0\x8f\xbf\xbf", 0, 0 },
		{ "\xf4\x90\x80\x80", 0, 0 },
		{ "\xf5\x80\x80\x80", 0, 0 },
		{ "\xe2\x82", 0, 0 },
		{ "\x80", 0, 0 },
		{ "\xc3" "a", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		unsigned cp = 0;
		size_t got = utf8_decode((const unsigned char *)t[i].s, strlen(t[i].s), &cp);

		if (got != t[i].want || (got && cp != t[i].cp))
			fail_msg("utf8 case %zu: got %zu U+%04X", i, got, cp);
		assert_int_equal(utf8_decode((const unsigned char *)t[i].s, strlen(t[i].s), NULL),
				 t[i].want);
	}
}

static const struct {
	const char *in;
	long long want; /* -1: refused */
} dates[] = {
	{ "Mon, 02 Nov 2026 10:00:00 +0000", 1793613600 },
	{ "2 Nov 2026 10:00 +0100", 1793610000 },
	{ "Mon, 2 Nov 26 10:00:00 GMT", 1793613600 },
	{ "Mon (Monday), 2 Nov 2026 10:00:00 -0500 (EST)", 1793631600 },
	{ "2-Nov-2026 10:00:00.123 +05:30", 1793593800 },
	{ "Mon, 2 Nov 2026 10:00:00 PST", 1793642400 },
	/* an unknown zone counts as UTC */
	{ "Mon, 2 Nov 2026 10:00:00 XYZ", 1793613600 },
	{ "2026-11-02 10:00:00", 1793613600 },
	{ "2026-11-02T10:00:00Z", 1793613600 },
	/* a leap second is read as :59 */
	{ "Thu, 31 Dec 2026 23:59:60 +0000", 1798761599 },
	/* refused */
	{ "", -1 },
	{ "yesterday", -1 },
	{ "Mon, 2 Foo 2026 10:00:00 +0000", -1 },
	{ "Mon, 2 Nov 2026", -1 },
	{ "Mon, 32 Nov 2026 10:00:00 +0000", -1 },
	{ "Mon, 2 Nov 2026 24:00:00 +0000", -1 },
	{ "Mon, 2 Nov 1969 10:00:00 +0000", -1 },
	{ "2026-13-02 10:00:00", -1 },
	{ "2026-11-02", -1 },
};

static void
test_dates(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(dates); i++) {
		time_t t = 42;
		bool ok = dates_parse(dates[i].in, &t);

		if (dates[i].want < 0) {
			if (ok || t != 42)
				fail_msg("date '%s' was read as %lld", dates[i].in, (long long)t);
		} else if (!ok || (long long)t != dates[i].want) {
			fail_msg("date '%s': got %d %lld, want %lld", dates[i].in, ok, (long long)t,
				 dates[i].want);
		}
	}
}

/* The Date a backlog's age counts from, and the receipt it falls back to. */
static void
test_dates_written(void **state)
{
	static const struct {
		bool has_date;
		time_t date, received, want;
	} cases[] = {
		{ true, 1000000, 1000000, 1000000 },             /* written as received */
		{ true, 1000000 - 5 * 86400, 1000000, 1000000 - 5 * 86400 }, /* a backlog */
		{ true, 1000000 - DATES_WRITTEN_MAX_AGE, 1000000, 1000000 - DATES_WRITTEN_MAX_AGE },
		{ true, 1000000 - DATES_WRITTEN_MAX_AGE - 1, 1000000, 1000000 }, /* too old */
		{ true, 1000001, 1000000, 1000000 },             /* in the future */
		{ true, 0, 1000000 + DATES_WRITTEN_MAX_AGE, 1000000 + DATES_WRITTEN_MAX_AGE },
		{ false, 999000, 1000000, 1000000 },             /* no Date: */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t got = dates_written(cases[i].has_date, cases[i].date, cases[i].received);

		if (got != cases[i].want)
			fail_msg("case %zu: got %lld, want %lld", i, (long long)got,
				 (long long)cases[i].want);
	}
}

static void
test_msgids(void **state)
{
	struct strlist l = STRLIST_INIT;
	char *id = xstrdup("old"), *rp;

	(void)state;
	msgid_list("<a@b> <c@d>, <e@f>", &l, 2);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0], "a@b");
	assert_string_equal(l.items[1], "c@d");
	strlist_release(&l);
	/* bare words with an '@', the others skipped */
	msgid_list("a@b junk c@d", &l, 10);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[1], "c@d");
	strlist_release(&l);
	/* an unclosed last id ends at a blank */
	msgid_list("<a@b> <c@d x", &l, 10);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[1], "c@d");
	strlist_release(&l);
	msgid_first(&id, NULL);
	assert_string_equal(id, "old");
	msgid_first(&id, "<x@y>");
	assert_string_equal(id, "x@y");
	msgid_first(&id, "one-word");
	assert_string_equal(id, "one-word");
	msgid_first(&id, "two words");
	assert_string_equal(id, "one-word");
	free(id);
	rp = msgid_return_path("<>");
	assert_string_equal(rp, "");
	free(rp);
	rp = msgid_return_path(" <bounce@ex.org>");
	assert_string_equal(rp, "bounce@ex.org");
	free(rp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_decode), cmocka_unit_test(test_qp_decode),
		cmocka_unit_test(test_base64_encode), cmocka_unit_test(test_cte_kind),
		cmocka_unit_test(test_ascii),         cmocka_unit_test(test_utf8_decode),
		cmocka_unit_test(test_dates),         cmocka_unit_test(test_dates_written),
		cmocka_unit_test(test_msgids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
