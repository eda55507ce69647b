/* MIME out: encoded words, folding, addresses, body encodings, refusals.
 * Round trips decode with libetpan, the library that reads mail in. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libetpan/libetpan.h>

#include "buf.h"
#include "mimeout.h"
#include "xalloc.h"

/* Every line ends in CRLF, is ASCII and at most max characters long. */
static void
assert_lines(const char *s, size_t max)
{
	size_t col = 0;

	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p >= 0x80)
			fail_msg("non-ASCII byte in '%s'", s);
		if (*p == '\r') {
			if (p[1] != '\n')
				fail_msg("bare CR in '%s'", s);
			continue;
		}
		if (*p == '\n') {
			if (p == s || p[-1] != '\r')
				fail_msg("bare LF in '%s'", s);
			col = 0;
			continue;
		}
		if (++col > max)
			fail_msg("line longer than %zu in '%s'", max, s);
	}
}

/* Unfolds "Name: value\r\n ..." and decodes its encoded words. */
static char *
decode_header(const char *h)
{
	struct buf u = BUF_INIT;
	const char *colon = strchr(h, ':');
	char *out = NULL;
	size_t idx = 0;

	for (const char *p = colon + 1; *p; p++)
		if (*p != '\r' && *p != '\n')
			buf_addch(&u, *p);
	while (u.len && u.data[u.len - 1] == ' ')
		u.data[--u.len] = '\0';
	assert_int_equal(mailmime_encoded_phrase_parse("utf-8", u.data, u.len, &idx, "utf-8",
						       &out), MAILIMF_NO_ERROR);
	buf_release(&u);
	return out;
}

static const char *const subjects[] = {
	"A question about the joint call",
	"Frage zur Ausschreibung: Fördermöglichkeiten für Nachwuchsgruppen",
	"Question sur l'appel « médecine personnalisée » — délais et éligibilité des "
	"partenaires étrangers dans le consortium",
	"Вопрос о совместном конкурсе персонализированной медицины и сроках подачи заявок",
	"個別化医療の国際共同公募について質問があります。締め切りはいつですか",
	"=?UTF-8?Q?looks_encoded?= but is plain",
	"x",
	"Emoji 🙂 and ümlauts, a long line that has to be folded somewhere along the way "
	"because it is long",
};

static void
test_subject_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(subjects); i++) {
		struct buf b = BUF_INIT;
		struct err e = ERR_INIT;
		char *dec;

		assert_int_equal(mime_header(&b, "Subject", subjects[i], &e), 0);
		assert_lines(b.data, MIME_LINE_MAX);
		assert_true(strncmp(b.data, "Subject:", 8) == 0);
		dec = decode_header(b.data);
		if (strcmp(dec, subjects[i]) != 0)
			fail_msg("case %zu: '%s' came back as '%s' from %s", i, subjects[i], dec,
				 b.data);
		free(dec);
		buf_release(&b);
	}
}

static void
test_plain_ascii_unchanged(void **state)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(mime_header(&b, "Subject", "Re: [ICPerMed #12] Hello", &e), 0);
	assert_string_equal(b.data, "Subject: Re: [ICPerMed #12] Hello\r\n");
	buf_release(&b);
	assert_int_equal(mime_header(&b, "Subject", "Grüße", &e), 0);
	assert_string_equal(b.data, "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n");
	buf_release(&b);
	/* Only the words that need it are encoded: the tag stays as it is. */
	assert_int_equal(mime_header(&b, "Subject", "Re: Grüße aus Zürich [ICPerMed #2]", &e), 0);
	assert_string_equal(b.data, "Subject: Re: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus "
			    "=?UTF-8?Q?Z=C3=BCrich?= [ICPerMed\r\n #2]\r\n");
	buf_release(&b);
}

static const char *const refused[] = {
	"line\r\nBcc: x@example.org",
	"line\nX-Injected: 1",
	"cr\ronly",
	"nul\x01char",
	"bad utf-8 \xc3\x28",
	"overlong \xc0\xaf",
};

static void
test_header_injection_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		struct buf b = BUF_INIT;
		struct err e = ERR_INIT;
		struct mime_addr a = { refused[i], "x@example.org" };

		if (mime_header(&b, "Subject", refused[i], &e) != -1)
			fail_msg("case %zu accepted", i);
		assert_int_equal(e.code, EXIT_DATAERR);
		assert_int_equal(mime_header_addrs(&b, "To", &a, 1, &e), -1);
		buf_release(&b);
	}
	assert_false(mime_addr_ok("a@b\r\nBcc: c@d"));
	assert_false(mime_addr_ok("a b@c"));
	assert_false(mime_addr_ok("<a@b>"));
	assert_false(mime_addr_ok("nobody"));
	assert_false(mime_addr_ok("a@b@c"));
	assert_false(mime_addr_ok("müller@example.org"));
	assert_true(mime_addr_ok("a.b+c@example.org"));
}

static void
test_addresses(void **state)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	struct mime_addr a[] = {
		{ "ICPerMed Secretariat", "secretariat@icpermed.example" },
		{ "Müller, Jürgen", "jm@example.de" },
		{ "Doe, \"JD\" John", "jd@example.org" },
		{ NULL, "plain@example.org" },
		{ "Ελένη Παπαδοπούλου", "eleni@example.gr" },
	};
	struct mailimf_address_list *al = NULL;
	size_t idx = 0;
	clistiter *it;
	int i = 0;

	(void)state;
	assert_int_equal(mime_header_addrs(&b, "To", a, ARRAY_SIZE(a), &e), 0);
	assert_lines(b.data, MIME_LINE_MAX);
	assert_true(strncmp(b.data, "To: ICPerMed Secretariat <secretariat@icpermed.example>,",
			    56) == 0);
	/* libetpan reads back every address and name. */
	assert_int_equal(mailimf_address_list_parse(b.data + 3, b.len - 3, &idx, &al),
			 MAILIMF_NO_ERROR);
	for (it = clist_begin(al->ad_list); it; it = clist_next(it), i++) {
		struct mailimf_address *ad = clist_content(it);
		struct mailimf_mailbox *mb = ad->ad_data.ad_mailbox;
		char *name = NULL;
		size_t j = 0;

		assert_int_equal(ad->ad_type, MAILIMF_ADDRESS_MAILBOX);
		assert_string_equal(mb->mb_addr_spec, a[i].addr);
		if (a[i].name) {
			assert_int_equal(mailmime_encoded_phrase_parse("utf-8", mb->mb_display_name,
								       strlen(mb->mb_display_name),
								       &j, "utf-8", &name), 0);
			assert_string_equal(name, a[i].name);
			free(name);
		}
	}
	assert_int_equal(i, (int)ARRAY_SIZE(a));
	mailimf_address_list_free(al);
	buf_release(&b);
}

static char *
decode_body(const char *msg, int mechanism)
{
	const char *body = strstr(msg, "\r\n\r\n") + 4;
	size_t idx = 0, rlen = 0;
	char *res = NULL, *copy;

	assert_int_equal(mailmime_part_parse(body, strlen(body), &idx, mechanism, &res, &rlen),
			 MAILIMF_NO_ERROR);
	copy = xstrndup(res, rlen);
	mailmime_decoded_part_free(res);
	return copy;
}

static const struct {
	const char *text;
	const char *cte;
	int mechanism;
} bodies[] = {
	{ "Dear Ms Smith,\nthank you.\n", "7bit", MAILMIME_MECHANISM_7BIT },
	{ "Sehr geehrte Frau Müller,\nvielen Dank für Ihre Anfrage.\nFrom here on, = signs "
	  "and trailing blanks  \n", "quoted-printable", MAILMIME_MECHANISM_QUOTED_PRINTABLE },
	{ "Уважаемый коллега,\nспасибо за ваше письмо. Мы ответим как можно скорее.\n",
	  "base64", MAILMIME_MECHANISM_BASE64 },
	{ "A long line without any break that goes on and on past the seventy-eighth "
	  "column: legal in 7bit up to 998.\n", "7bit", MAILMIME_MECHANISM_7BIT },
	{ "Zürich and a very long line without any break that goes on and on past the "
	  "seventy-eighth column, and then on some more, so that it must be wrapped softly.\n",
	  "quoted-printable", MAILMIME_MECHANISM_QUOTED_PRINTABLE },
};

static void
test_bodies(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		struct buf b = BUF_INIT, want = BUF_INIT;
		struct err e = ERR_INIT;
		char *dec, *cte;

		assert_int_equal(mime_text_body(&b, bodies[i].text, &e), 0);
		assert_lines(b.data, strcmp(bodies[i].cte, "7bit") ? 76 : 998);
		cte = xasprintf("Content-Transfer-Encoding: %s\r\n", bodies[i].cte);
		if (!strstr(b.data, cte))
			fail_msg("case %zu: wanted %s in %s", i, bodies[i].cte, b.data);
		free(cte);
		assert_non_null(strstr(b.data, "Content-Type: text/plain; charset=utf-8\r\n"));
		dec = decode_body(b.data, bodies[i].mechanism);
		for (const char *p = bodies[i].text; *p; p++)
			buf_addstr(&want, *p == '\n' ? "\r\n" : (char[2]){ *p, 0 });
		assert_string_equal(dec, want.data);
		free(dec);
		buf_release(&want);
		buf_release(&b);
	}
}

/* CRs in the text are dropped, line ends become CRLF, a final one is
 * added; the longest line decides 7bit, counted without the CRs. */
static void
test_body_line_ends(void **state)
{
	static const struct {
		const char *text;
		const char *want;  /* what follows the header */
	} cases[] = {
		{ "a\r\nb\r\n", "a\r\nb\r\n" },
		{ "a\nb", "a\r\nb\r\n" },
		{ "a\rb\n\n", "ab\r\n\r\n" },
		{ "", "\r\n" },
		{ "\n", "\r\n" },
		{ "x\r", "x\r\n" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf b = BUF_INIT;
		struct err e = ERR_INIT;
		const char *body;

		assert_int_equal(mime_text_body(&b, cases[i].text, &e), 0);
		assert_non_null(strstr(b.data, "Content-Transfer-Encoding: 7bit\r\n"));
		body = strstr(b.data, "\r\n\r\n") + 4;
		if (strcmp(body, cases[i].want) != 0)
			fail_msg("case %zu: got '%s'", i, body);
		buf_release(&b);
	}
	{
		/* 998 characters and CRs: still 7bit; 999: quoted-printable. */
		struct buf t = BUF_INIT, b = BUF_INIT;
		struct err e = ERR_INIT;

		for (int i = 0; i < 998; i++)
			buf_addstr(&t, i % 100 ? "x" : "x\r");
		assert_int_equal(mime_text_body(&b, t.data, &e), 0);
		assert_non_null(strstr(b.data, "Content-Transfer-Encoding: 7bit\r\n"));
		buf_reset(&b);
		buf_addch(&t, 'y');
		assert_int_equal(mime_text_body(&b, t.data, &e), 0);
		assert_non_null(strstr(b.data, "Content-Transfer-Encoding: quoted-printable\r\n"));
		buf_release(&b);
		buf_release(&t);
	}
}

static void
test_qp_from_and_invalid_body(void **state)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	mime_qp_encode(&b, "From me\nx=y \n", 13);
	assert_string_equal(b.data, "=46rom me\r\nx=3Dy=20\r\n");
	buf_release(&b);
	assert_int_equal(mime_text_body(&b, "bad \xff byte", &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	buf_release(&b);
}

/* ---- the encoders as they were, one byte at a time: the fast ones must
 * give the same bytes ---- */

static void
ref_qp_encode(struct buf *b, const char *text, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)text;
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		char enc[4];
		size_t el;
		bool eol;

		if (c == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		if (c == '\n') {
			buf_addstr(b, "\r\n");
			col = 0;
			continue;
		}
		eol = i + 1 == len || p[i + 1] == '\n' || (p[i + 1] == '\r' && i + 2 < len &&
							     p[i + 2] == '\n');
		/* "From " at a line start is mangled by mbox writers: encode it. */
		if ((c >= 33 && c <= 126 && c != '=' && !(col == 0 && c == 'F' &&
							  strncmp((const char *)p + i, "From ", 5) == 0 )) ||
		    ((c == ' ' || c == '\t') && !eol)) {
			enc[0] = (char)c;
			el = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			el = 3;
		}
		/* Encoded lines stay within 76 characters, "=" included. */
		if (col + el > 75 && !(eol && col + el <= 76)) {
			buf_addstr(b, "=\r\n");
			col = 0;
		}
		if (el == 1)
			buf_addch(b, enc[0]);
		else
			buf_add(b, enc, el);
		col += el;
	}
}

static int
ref_text_body(struct buf *b, const char *text)
{
	size_t high = 0, longest = 0, cur = 0;
	struct buf norm = BUF_INIT;
	const char *cte;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n') {
			buf_addstr(&norm, "\r\n");
			if (cur > longest)
				longest = cur;
			cur = 0;
			continue;
		}
		if (*p >= 0x80 || (*p < 0x20 && *p != '\t'))
			high++;
		cur++;
		buf_addch(&norm, *p);
	}
	if (cur > longest)
		longest = cur;
	if (norm.len == 0 || norm.data[norm.len - 1] != '\n')
		buf_addstr(&norm, "\r\n");
	if (high == 0 && longest <= 998)
		cte = "7bit";
	else if (high * 5 <= norm.len)
		cte = "quoted-printable";
	else
		cte = "base64";
	buf_addf(b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		 "Content-Transfer-Encoding: %s\r\n\r\n", cte);
	if (cte[0] == '7')
		buf_add(b, norm.data, norm.len);
	else if (cte[0] == 'q')
		ref_qp_encode(b, norm.data, norm.len);
	else
		mime_base64_encode(b, (const unsigned char *)norm.data, norm.len);
	buf_release(&norm);
	return 0;
}

/* A deterministic generator (xorshift), so that a failure repeats. */
static uint32_t rnd_state = 2463534242u;

static uint32_t
rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

/* Text made to hit the corners of quoted-printable: lines around 76
 * characters, blanks before line ends, '=', "From ", control characters,
 * CRLF and lone CRs, UTF-8 (valid when utf8 is set, any byte otherwise). */
static void
random_text(struct buf *t, bool utf8)
{
	static const char *const pieces[] = {
		" ", "\t", "=", "From ", "F", "\n", "\r\n", "\r", "x", "\xc3\xa9",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "  \n", "\t\r\n", "=\n", ".", "\x01", "~",
	};
	size_t n = 1 + rnd(600);

	buf_reset(t);
	while (t->len < n) {
		uint32_t k = rnd(4);

		if (k == 0) {
			/* A run of letters that ends at or near column 76. */
			size_t l = 60 + rnd(30);

			for (size_t i = 0; i < l; i++)
				buf_addch(t, 'a' + (int)rnd(26));
		} else if (k == 1 && !utf8) {
			buf_addch(t, 1 + (int)rnd(255));
		} else {
			buf_addstr(t, pieces[rnd(ARRAY_SIZE(pieces))]);
		}
	}
}

static void
assert_same_qp(const char *text, size_t len, size_t max)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	buf_init(&a, max);
	buf_init(&b, max);
	buf_addstr(&a, "x");
	buf_addstr(&b, "x");
	mime_qp_encode(&a, text, len);
	ref_qp_encode(&b, text, len);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		fail_msg("QP differs for '%s':\n%s\n-- expected --\n%s", text, a.data, b.data);
	buf_release(&a);
	buf_release(&b);
}

static void
test_qp_same_as_before(void **state)
{
	struct buf t = BUF_INIT, line = BUF_INIT;
	static const char *const tails[] = { "", " ", "\t", "=", "\xc3\xa9", "  ", "= ", "F" };
	static const char *const ends[] = { "", "\n", "\r\n", "\r", "\nFrom x\n", "\n\n" };

	(void)state;
	/* Lines of 70 to 80 characters, each ending in each way. */
	for (size_t l = 70; l <= 80; l++)
		for (size_t i = 0; i < ARRAY_SIZE(tails); i++)
			for (size_t j = 0; j < ARRAY_SIZE(ends); j++) {
				buf_reset(&line);
				for (size_t k = 0; k < l; k++)
					buf_addch(&line, 'A' + (int)(k % 26));
				buf_addstr(&line, tails[i]);
				buf_addstr(&line, ends[j]);
				buf_addstr(&line, "From the line after, a long one with = signs and \xe2\x82\xac"
					   " and again and again and again and again and again.\n");
				assert_same_qp(line.data, line.len, 0);
			}
	/* A character to encode (3 columns) at every column near the break. */
	for (size_t l = 68; l <= 78; l++) {
		buf_reset(&line);
		for (size_t k = 0; k < l; k++)
			buf_addch(&line, 'b');
		buf_addstr(&line, "\xc3\xa9=\xc3\xa9 tail \n");
		assert_same_qp(line.data, line.len, 0);
	}
	assert_same_qp("", 0, 0);
	assert_same_qp("From", 4, 0);
	assert_same_qp("From ", 5, 0);
	for (int i = 0; i < 3000; i++) {
		random_text(&t, i % 2 == 0);
		assert_same_qp(t.data, t.len, 0);
		/* Under a cap it cannot meet: the same partial output. */
		assert_same_qp(t.data, t.len, t.len / 2 + 1);
	}
	buf_release(&t);
	buf_release(&line);
}

static void
test_text_body_same_as_before(void **state)
{
	struct buf t = BUF_INIT, a = BUF_INIT, b = BUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	for (int i = -8; i < 3000; i++) {
		random_text(&t, true);
		/* The edges first: no text, only CRs, no final line end, a line
		 * too long for 7bit (ASCII, so quoted-printable with no 8-bit). */
		if (i < 0) {
			static const char *const edge[] = { "", "\r", "\r\r", "a\r", "\n", "x\r\n\r" };

			buf_reset(&t);
			if (i + 8 < (int)ARRAY_SIZE(edge)) {
				buf_addstr(&t, edge[i + 8]);
			} else {
				for (int k = 0; k < 999; k++)
					buf_addch(&t, 'a' + k % 26);
				buf_addstr(&t, i == -1 ? "\r\nCaf\xc3\xa9\n" : "\n");
			}
		}
		/* Mostly plain text too, as mail is: long runs for the word scan. */
		if (i % 3 == 0) {
			buf_reset(&t);
			for (int k = 0; k < 40; k++)
				buf_addstr(&t, "Dear secretariat, I am writing about data sharing rules.\n");
			if (i % 2)
				buf_addstr(&t, "Caf\xc3\xa9\t=\r\n");
		}
		buf_reset(&a);
		buf_reset(&b);
		assert_int_equal(mime_text_body(&a, t.data, &e), 0);
		ref_text_body(&b, t.data);
		if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			fail_msg("body differs for '%s':\n%s\n-- expected --\n%s", t.data, a.data,
				 b.data);
	}
	buf_release(&t);
	buf_release(&a);
	buf_release(&b);
}

static void
test_ids_and_dates(void **state)
{
	char a[128], b[128], d[64];

	(void)state;
	mime_message_id("icpermed.example", a, sizeof(a));
	mime_message_id("icpermed.example", b, sizeof(b));
	assert_string_not_equal(a, b);
	assert_non_null(strstr(a, "@icpermed.example"));
	assert_true(mime_addr_ok(a));
	mime_date(1795851000, d, sizeof(d));
	assert_string_equal(d, "Sat, 28 Nov 2026 07:30:00 +0000");
	/* Built by hand: the same as the format it replaced, for any time. */
	for (int i = -200; i < 5000; i++) {
		static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
		static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
						  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
		int64_t t = i < 0 ? (int64_t)i * 86399 * 37 : (int64_t)rnd(0x7fffffff) * 117 / 10;
		time_t tt = (time_t)t;
		struct tm tm;
		char want[64];

		gmtime_r(&tt, &tm);
		snprintf(want, sizeof(want), "%s, %d %s %d %02d:%02d:%02d +0000", wd[tm.tm_wday],
			 tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
		mime_date(t, d, sizeof(d));
		assert_string_equal(d, want);
	}
	mime_date(1795851000, d, 9);
	assert_string_equal(d, "Sat, 28 ");
	/* TIME.24-HEX.secdesk@DOMAIN, cut as snprintf cuts. */
	mime_message_id(NULL, a, sizeof(a));
	{
		char *dot = strchr(a, '.');

		assert_non_null(dot);
		assert_true(dot > a && strspn(a, "0123456789") == (size_t)(dot - a));
		assert_int_equal(strspn(dot + 1, "0123456789abcdef"), 24);
		assert_string_equal(dot + 25, ".secdesk@localhost");
	}
	mime_message_id("", a, sizeof(a));
	assert_non_null(strstr(a, ".secdesk@localhost"));
	mime_message_id("icpermed.example", a, 6);
	assert_int_equal(strlen(a), 5);
}

/* multipart/mixed: the frame as replies and notices always wrote it, the
 * parts as libetpan reads them, a boundary that RFC 2046 allows from any
 * seed, and a refused file that leaves nothing behind. */
static void
test_multipart(void **state)
{
	static const unsigned char pdf[] = { 0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0x10 };
	const struct mime_file files[] = {
		{ "/tmp/x/Projektskizze.pdf", "application/pdf", pdf, sizeof(pdf) },
		{ "Budget Übersicht.xlsx", "application/octet-stream", (const unsigned char *)"abc",
		  3 },
	};
	const struct mime_file bad = { "line\nbreak.txt", "text/plain",
				       (const unsigned char *)"x", 1 };
	struct buf b = BUF_INIT;
	struct mime_multipart mp;
	struct err e = ERR_INIT;
	struct mailmime *mime = NULL, *body;
	clistiter *it;
	size_t idx = 0, len, nparts = 0;
	const char *seed = "1795851000.0123456789abcdef01234567.secdesk@icpermed.example";

	(void)state;
	assert_int_equal(mime_multipart_begin(&b, &mp, seed, &e), 0);
	assert_string_equal(mp.boundary, "=_secdesk_1795851000.0123456789abcdef01234567.secd");
	assert_string_equal(b.data, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\""
			    "=_secdesk_1795851000.0123456789abcdef01234567.secd\"\r\n\r\nThis is a "
			    "message in several parts (MIME).\r\n--=_secdesk_1795851000.0123456789"
			    "abcdef01234567.secd\r\n");
	assert_int_equal(mime_text_part(&b, "Hello,\nthe outline.\n", 0, &e), 0);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		assert_int_equal(mime_multipart_file(&b, &mp, &files[i], &e), 0);
	len = b.len;
	assert_int_equal(mime_multipart_file(&b, &mp, &bad, &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	assert_int_equal(b.len, len);
	assert_int_equal(b.data[len], '\0');
	assert_int_equal(mime_multipart_end(&b, &mp, &e), 0);
	assert_lines(b.data, 998);
	assert_non_null(strstr(b.data, "\r\n--=_secdesk_1795851000.0123456789abcdef01234567.secd"
				"--\r\n"));
	assert_int_equal(mailmime_parse(b.data, b.len, &idx, &mime), MAILIMF_NO_ERROR);
	/* A message of headers whose body is the multipart. */
	assert_int_equal(mime->mm_type, MAILMIME_MESSAGE);
	body = mime->mm_data.mm_message.mm_msg_mime;
	assert_non_null(body);
	assert_int_equal(body->mm_type, MAILMIME_MULTIPLE);
	for (it = clist_begin(body->mm_data.mm_multipart.mm_mp_list); it; it = clist_next(it))
		nparts++;
	assert_int_equal(nparts, 3);
	mailmime_free(mime);
	assert_non_null(strstr(b.data, "name=\"Projektskizze.pdf\""));
	assert_non_null(strstr(b.data, "filename*=utf-8''Budget%20%C3%9Cbersicht.xlsx"));
	buf_release(&b);

	/* Whatever the seed, a boundary of bchars (RFC 2046) under 70. */
	buf_init(&b, 0);
	assert_int_equal(mime_multipart_begin(&b, &mp, "a b\"c@d;e<f>\x01ü" "0123456789012345678901"
					      "234567890123456789", &e), 0);
	assert_true(strlen(mp.boundary) <= 70);
	assert_string_equal(mp.boundary, "=_secdesk_a_b_c_d_e_f____0123456789012345678901234");
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subject_round_trip),
		cmocka_unit_test(test_plain_ascii_unchanged),
		cmocka_unit_test(test_header_injection_refused),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_body_line_ends),
		cmocka_unit_test(test_qp_from_and_invalid_body),
		cmocka_unit_test(test_qp_same_as_before),
		cmocka_unit_test(test_text_body_same_as_before),
		cmocka_unit_test(test_ids_and_dates),
		cmocka_unit_test(test_multipart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
