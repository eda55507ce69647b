/* The CLI's pure helpers: text wrapping (quote markers, links, list items,
 * carrying words into the next line of a paragraph), durations, counts,
 * and the plain-argument check. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli.h"

static const struct {
	const char *in;
	int width;
	const char *indent;
	const char *out;
} wraps[] = {
	/* short lines stay as they are */
	{ "short\n", 30, "", "short\n" },
	{ "a\n\nb", 30, "  ", "  a\n\n  b\n" },
	/* a long line breaks at spaces */
	{ "one two three four five six seven eight nine ten eleven twelve", 20, "",
	  "one two three four\nfive six seven eight\nnine ten eleven\ntwelve\n" },
	/* the indent counts in the width */
	{ "one two three four five six seven eight nine ten eleven twelve", 22, "  ",
	  "  one two three four\n  five six seven eight\n  nine ten eleven\n  twelve\n" },
	/* quote markers on every piece; ">text" goes on as "> " */
	{ "> one two three four five six seven eight", 20, "",
	  "> one two three four\n> five six seven\n> eight\n" },
	{ ">> one two three four five six seven eight", 20, "",
	  ">> one two three\n>> four five six\n>> seven eight\n" },
	{ ">one two three four five six seven eight", 20, "",
	  ">one two three four\n> five six seven\n> eight\n" },
	{ "> > one two three four five six seven", 20, "",
	  "> > one two three\n> > four five six\n> > seven\n" },
	/* a blank quoted line keeps its marker */
	{ ">\n", 20, "  ", "  >\n" },
	/* a word longer than the width stays whole */
	{ "see https://example.org/a/very/long/link/that/is/long now", 20, "",
	  "see\nhttps://example.org/a/very/long/link/that/is/long\nnow\n" },
	/* list items hang */
	{ "- one two three four five six seven", 20, "", "- one two three four\n  five six seven\n" },
	/* the writer's lines are kept: what a long line leaves over stays on
	 * a line of its own, never joined to the next (issue 18, point 5) */
	{ "one two three four five six\nseven eight", 20, "",
	  "one two three four\nfive six\nseven eight\n" },
	{ "one two three four five six\n- seven", 20, "", "one two three four\nfive six\n- seven\n" },
	{ "> one two three four five six\n>> seven", 20, "",
	  "> one two three four\n> five six\n>> seven\n" },
	{ "> one two three four five six\n> seven", 20, "",
	  "> one two three four\n> five six\n> seven\n" },
	{ "one two three four five six\n\nseven", 20, "", "one two three four\nfive six\n\nseven\n" },
	/* short lines one after another: a list without markers, a signature */
	{ "Point 1: yes\nPoint 2: no\nPoint 3: maybe", 20, "",
	  "Point 1: yes\nPoint 2: no\nPoint 3: maybe\n" },
	{ "Point 1: the budget is one two three\nPoint 2: no\nPoint 3: maybe", 20, "  ",
	  "  Point 1: the budget\n  is one two three\n  Point 2: no\n  Point 3: maybe\n" },
	{ "I look forward to hearing from you soon.\nThank you,\nAhmet Yilmaz", 20, "",
	  "I look forward to\nhearing from you\nsoon.\nThank you,\nAhmet Yilmaz\n" },
	/* a line of exactly the width stays whole; one column more breaks */
	{ "abcde fghij klmno pq", 20, "", "abcde fghij klmno pq\n" },
	{ "abcde fghij klmno pqr", 20, "", "abcde fghij klmno\npqr\n" },
	/* a flowed paragraph (one line after flowed_decode()) flows to the width */
	{ "Dear desk, this paragraph was sent as format=flowed and is one line now.\n"
	  "Kind regards", 30, "",
	  "Dear desk, this paragraph was\nsent as format=flowed and is\none line now.\n"
	  "Kind regards\n" },
	/* the signature separator stays as it is */
	{ "-- \nAhmet", 20, "", "-- \nAhmet\n" },
	/* no newline at the end, a carriage return there */
	{ "one\r", 20, "", "one\n" },
	/* UTF-8 counts by characters */
	{ "äää ööö üüü äää ööö üüü", 20, "", "äää ööö üüü äää ööö\nüüü\n" },
	/* carriage returns go */
	{ "a\r\nb\r\n", 20, "", "a\nb\n" },
	{ "", 20, "", "" },
};

static void
test_wrap(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(wraps); i++) {
		struct buf b = BUF_INIT;

		/* width under 20 is raised to 20 by cli_wrap; the cases above
		 * under 20 test exactly that floor. */
		cli_wrap(wraps[i].in, wraps[i].width, wraps[i].indent, &b);
		if (strcmp(buf_cstr(&b), wraps[i].out) != 0)
			fail_msg("case %zu: got\n%s\nexpected\n%s", i, buf_cstr(&b), wraps[i].out);
		buf_release(&b);
	}
}

static void
test_duration(void **state)
{
	static const struct {
		const char *in;
		int64_t secs;
	} cases[] = {
		{ "30m", 1800 }, { "12h", 43200 }, { "7d", 604800 }, { "2w", 1209600 },
		{ "1m", 60 },    { "0d", -1 },     { "7", -1 },      { "7y", -1 },
		{ "d", -1 },     { "-7d", -1 },    { "7dd", -1 },    { "", -1 },
		{ " 7d", -1 },   { "99999999999999999w", -1 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (cli_parse_duration(cases[i].in) != cases[i].secs)
			fail_msg("'%s': got %lld, expected %lld", cases[i].in,
				 (long long)cli_parse_duration(cases[i].in), (long long)cases[i].secs);
	assert_int_equal(cli_parse_duration(NULL), -1);
}

static void
test_count(void **state)
{
	(void)state;
	assert_int_equal(cli_parse_count("50"), 50);
	assert_int_equal(cli_parse_count("0"), -1);
	assert_int_equal(cli_parse_count("-3"), -1);
	assert_int_equal(cli_parse_count("3x"), -1);
	assert_int_equal(cli_parse_count(""), -1);
	assert_int_equal(cli_parse_count(NULL), -1);
}

static void
test_plain_args(void **state)
{
	char a0[] = "tag", a1[] = "1", a2[] = "--", a3[] = "-x", b2[] = "--bogus", c2[] = "-";
	char *ok[] = { a0, a1, a2, a3, NULL };
	char *bad[] = { a0, a1, b2, NULL };
	char *dash[] = { a0, a1, c2, NULL };
	int n;

	(void)state;
	n = 4;
	assert_int_equal(cli_plain_args(&n, ok), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ok[2], "-x");
	assert_null(ok[3]);
	n = 3;
	assert_int_equal(cli_plain_args(&n, bad), -1);
	n = 3;
	assert_int_equal(cli_plain_args(&n, dash), 0);
	assert_int_equal(n, 3);
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_plain_args),
	};

	return cmocka_run_group_tests(t, NULL, NULL);
}
