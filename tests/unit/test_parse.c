/* parse: each limit of struct parse_limits cuts and flags, attachments
 * carry their SHA-256, the returned headers of a bounce are found, and a
 * message never fails to parse. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "parse.h"

static const char multi[] =
	"From: a@b.example\nSubject: parts\nMIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"o\"\n\n"
	"--o\nContent-Type: text/plain\n\nbody\n"
	"--o\nContent-Type: application/octet-stream; name=a.bin\n\nhello world\n"
	"--o\nContent-Type: multipart/mixed; boundary=\"i\"\n\n"
	"--i\nContent-Type: application/octet-stream; name=b.bin\n\nx\n--i--\n"
	"--o\nContent-Type: application/octet-stream; name=c.bin\n\nyy\n"
	"--o--\n";

static void
parse_with(const char *raw, const struct parse_limits *lim, struct message *m)
{
	struct err e = ERR_INIT;

	message_init(m);
	assert_int_equal(parse_message(raw, strlen(raw), lim, m, &e), 0);
}

static void
test_no_limits_hit(void **state)
{
	struct message m;

	(void)state;
	parse_with(multi, &parse_limits_default, &m);
	assert_int_equal(m.flags, 0);
	assert_null(m.parse_note);
	assert_string_equal(m.body, "body");
	assert_int_equal(m.natts, 3);
	assert_string_equal(m.atts[0].filename, "a.bin");
	assert_int_equal(m.atts[0].size, 11);
	assert_string_equal(m.atts[0].sha256,
			    "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
	assert_memory_equal(m.atts[0].data, "hello world", 11);
	assert_string_equal(m.atts[1].filename, "b.bin");
	assert_string_equal(m.atts[2].filename, "c.bin");
	message_release(&m);
}

static void
test_limits(void **state)
{
	struct parse_limits lim;
	struct message m;

	(void)state;
	/* parts: the root and the first two parts only */
	lim = parse_limits_default;
	lim.max_parts = 3;
	parse_with(multi, &lim, &m);
	assert_true(m.flags & MSG_TRUNCATED);
	assert_non_null(m.parse_note);
	assert_non_null(strstr(m.parse_note, "parts"));
	assert_int_equal(m.natts, 1);
	message_release(&m);

	/* depth: the nested multipart is not read, the rest is */
	lim = parse_limits_default;
	lim.max_depth = 1;
	parse_with(multi, &lim, &m);
	assert_true(m.flags & MSG_TRUNCATED);
	assert_int_equal(m.natts, 2);
	assert_string_equal(m.atts[1].filename, "c.bin");
	message_release(&m);

	/* size: a part that does not fit is listed, not kept */
	lim = parse_limits_default;
	lim.max_message_size = 5;
	parse_with(multi, &lim, &m);
	assert_true(m.flags & MSG_OVERSIZE);
	assert_false(m.flags & MSG_TRUNCATED);
	assert_int_equal(m.natts, 3);
	assert_null(m.atts[0].data);
	assert_string_equal(m.atts[0].sha256, "");
	assert_int_equal(m.atts[0].size, 11);
	assert_non_null(m.atts[1].data);
	assert_non_null(m.atts[2].data);
	message_release(&m);

	/* header block: Subject beyond the cap is not read */
	lim = parse_limits_default;
	lim.max_header_size = 20;
	parse_with("From: a@b.example\nX-Pad: 0123456789\nSubject: late\n\nbody\n", &lim, &m);
	assert_true(m.flags & MSG_TRUNCATED);
	assert_string_equal(m.subject, "");
	assert_string_equal(m.from.addr, "a@b.example");
	message_release(&m);

	/* line length: a long field is cut to the limit */
	lim = parse_limits_default;
	lim.max_line_length = 10;
	parse_with("Subject: 0123456789abcdef\n\nbody\n", &lim, &m);
	assert_true(m.flags & MSG_TRUNCATED);
	assert_true(strlen(m.subject) <= 10);
	message_release(&m);
}

static void
test_never_fails(void **state)
{
	static const char *const junk[] = {
		"", "\n", "\r\r\r", "From ", "From x\n", ":\n\n", "no header at all",
		"Content-Type: multipart/mixed\n\nno boundary",
		"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n",
		"Content-Type: multipart/mixed; boundary=x\n\n--x--",
		"Content-Type: text/plain; charset=\"\n\nx",
		"Content-Type: message/rfc822\n\n",
		"Content-Type: application/ms-tnef\nContent-Transfer-Encoding: base64\n\neJ8+Ig==\n",
		"Subject: =?\n\n", "Subject: =?utf-8?b?\n\n", "Date: Mon, 99 Foo 99999 99:99:99\n\n",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		struct message m;

		parse_with(junk[i], &parse_limits_default, &m);
		assert_non_null(m.body);
		assert_non_null(m.subject);
		message_release(&m);
	}
}

static void
test_bounce(void **state)
{
	struct message m;

	(void)state;
	parse_with("From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\n"
		   "Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n"
		   "--r\n\nfailed\n--r\nContent-Type: message/delivery-status\n\nAction: failed\n"
		   "--r\nContent-Type: message/rfc822\n\nSubject: =?utf-8?q?caf=C3=A9?=\n"
		   "Message-ID: <ours@desk.example>\n\nbody\n--r--\n",
		   &parse_limits_default, &m);
	assert_true(m.flags & MSG_BOUNCE);
	assert_string_equal(m.returned_message_id, "ours@desk.example");
	assert_string_equal(m.returned_subject, "café");
	assert_string_equal(m.body, "failed");
	message_release(&m);
	/* a feedback report is automatic mail, not a bounce */
	parse_with("From: abuse@x.example\nSubject: complaint\n"
		   "Content-Type: multipart/report; report-type=feedback-report; boundary=r\n\n"
		   "--r\n\nspam\n--r--\n",
		   &parse_limits_default, &m);
	assert_false(m.flags & MSG_BOUNCE);
	assert_true(m.flags & MSG_AUTOREPLY);
	message_release(&m);
}

/* Address fields: the plain ones are read without libetpan, the others by
 * it; either way the result is what libetpan makes of them (a name as
 * written, runs of spaces folded, a broken encoded word failing the whole
 * block, which leaves To empty and From read leniently). */
static const struct {
	const char *fields;
	const char *from_name, *from_addr;
	size_t nto;
	const char *to0_name, *to0_addr;
	const char *reply_to;
	const char *note;
} addr_cases[] = {
	{ "From: Anna Schmidt <a@b.example>\nTo: ICPerMed Secretariat <s@x.example>, b@c.example\n",
	  "Anna Schmidt", "a@b.example", 2, "ICPerMed Secretariat", "s@x.example", "", NULL },
	{ "From: \"  Anna   S \" <a@b.example>\n", " Anna S ", "a@b.example", 0, NULL, NULL, "", NULL },
	{ "From: \"=?utf-8?q?J=C3=BCrgen?=\" <j@x.example>\n", "\"J\xc3\xbcrgen\"", "j@x.example", 0, NULL, NULL,
	  "", NULL },
	{ "From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <j@x.example>\nTo: s@x.example\n",
	  "J\xc3\xbcrgen M\xc3\xbcller", "j@x.example", 1, "", "s@x.example", "", NULL },
	{ "From: =?iso-8859-1?q?J=FCrgen?= =?iso-8859-1?<jm@example.de>\nTo: s@x.example\n",
	  "J\xc3\xbcrgen =?iso-8859-1?", "jm@example.de", 0, NULL, NULL, "", "a malformed From was read leniently" },
	{ "From: a@b.example (Name)\n", "", "a@b.example", 0, NULL, NULL, "", NULL },
	{ "From: x@y.example\nTo: undisclosed-recipients:;\n", "", "x@y.example", 0, NULL, NULL, "", NULL },
	{ "From: Anna  Schmidt <a@b.example>\n", "Anna Schmidt", "a@b.example", 0, NULL, NULL, "", NULL },
	{ "From: x@y.example\nReply-To: A <a@b.example>, B <b@c.example>\n", "", "x@y.example", 0, NULL, NULL,
	  "a@b.example", NULL },
	{ "From: x@y.example\nTo: a@b.example,\n\tC <c@d.example>\n", "", "x@y.example", 2, "", "a@b.example", "",
	  NULL },
	{ "From: A <a@b.example>,\n", "A", "a@b.example", 0, NULL, NULL, "", "a malformed From was read leniently" },
	{ "From: \"O'Neil, Pat\" <p@o.example>\n", "O'Neil, Pat", "p@o.example", 0, NULL, NULL, "", NULL },
};

static void
test_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(addr_cases); i++) {
		struct message m;
		char raw[512];

		snprintf(raw, sizeof(raw), "%sSubject: s\n\nbody\n", addr_cases[i].fields);
		parse_with(raw, &parse_limits_default, &m);
		assert_string_equal(m.from.name, addr_cases[i].from_name);
		assert_string_equal(m.from.addr, addr_cases[i].from_addr);
		assert_int_equal(m.nto, addr_cases[i].nto);
		if (addr_cases[i].nto) {
			assert_string_equal(m.to[0].name, addr_cases[i].to0_name);
			assert_string_equal(m.to[0].addr, addr_cases[i].to0_addr);
		}
		assert_string_equal(m.reply_to.addr, addr_cases[i].reply_to);
		assert_string_equal(m.sender.addr, "");
		if (addr_cases[i].note)
			assert_string_equal(m.parse_note, addr_cases[i].note);
		else
			assert_null(m.parse_note);
		message_release(&m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_limits_hit),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_never_fails),
		cmocka_unit_test(test_bounce),
		cmocka_unit_test(test_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
