/* Outgoing mail is well-formed whatever came in (issue 15, point 5): a
 * property test over random subjects and display names, up to 100 KB, any
 * Unicode (astral too), CR, LF, NUL, C0 and C1 controls and long runs
 * without a blank. Each inquiry goes in as raw mail (encoded words) through
 * ingest (the real parser, rules, ticket and the composer of the ack and
 * the partner notice), gets a staff reply (outbound_reply), and everything
 * is delivered by the dir: transport. Each delivered file is parsed back
 * with secdesk's parser: every line is at most 78 octets, and the Subject
 * and the To display name read back as the text that came in, where
 * "the same" means: CR, LF and tab became spaces, NUL, the other C0
 * controls and DEL were dropped (by the parser, as for any mail), and runs
 * of blanks are one space, none at either end. A deterministic PRNG gives
 * the cases. */
#include "compat.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "fdio.h"
#include "ingest.h"
#include "message.h"
#include "outbound.h"
#include "parse.h"
#include "store.h"
#include "store_sqlite.h"
#include "ticket.h"
#include "xalloc.h"
#include "unit.h"

#define CASES 2400
#define BATCH 100
#define TEXT_MAX (100 * 1024)
/* What the parser hands to libetpan of the address fields, at most
 * (ADDR_FIELDS_MAX, addresses.h): a From longer than that has no address
 * to answer. */
#define NAME_IN_MAX (40 * 1024)

static uint64_t rng = 0x5ecde5c0ffee1234ull;

static uint64_t
next_rand(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static unsigned
below(unsigned n)
{
	return (unsigned)(next_rand() % n);
}

static void
put_utf8(struct buf *b, unsigned cp)
{
	if (cp < 0x80) {
		buf_addch(b, (int)cp);
	} else if (cp < 0x800) {
		buf_addch(b, (int)(0xc0 | cp >> 6));
		buf_addch(b, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addch(b, (int)(0xe0 | cp >> 12));
		buf_addch(b, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addch(b, (int)(0x80 | (cp & 0x3f)));
	} else {
		buf_addch(b, (int)(0xf0 | cp >> 18));
		buf_addch(b, (int)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addch(b, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addch(b, (int)(0x80 | (cp & 0x3f)));
	}
}

/* One random code point; blanks only when spaced. */
static unsigned
random_cp(bool spaced)
{
	static const char special[] = "=?_\"\\()<>,;:@[]#.!*+-/'";
	static const unsigned controls[] = { 0, 1, 8, '\t', '\n', '\r', 0x1b, 0x1f, 0x7f };
	unsigned k = below(100), cp;

	if (k < 35)
		return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[below(62)];
	if (k < 47)
		return spaced ? ' ' : 'x';
	if (k < 53)
		return controls[below(ARRAY_SIZE(controls))];
	if (k < 56)
		return 0x80 + below(0x20); /* C1 */
	if (k < 64)
		return (unsigned)special[below(sizeof(special) - 1)];
	if (k < 72)
		return 0xa0 + below(0x60);
	if (k < 90) {
		do
			cp = 0x100 + below(0xfffe - 0x100);
		while (cp >= 0xd800 && cp <= 0xdfff);
		return cp;
	}
	return 0x10000 + below(0x100000); /* astral, up to U+10FFFF */
}

/* Random text of up to max bytes: mostly short, now and then long, with
 * words or with long runs without a blank. */
static void
random_text(struct buf *b, size_t max)
{
	unsigned k = below(100);
	size_t len = k < 55 ? below(80) : k < 85 ? below(2000) : k < 97 ? below(20000) : below(
		(unsigned)max);
	bool spaced = below(3) != 0;

	if (len > max - 4)
		len = max - 4;
	while (b->len < len)
		put_utf8(b, random_cp(spaced));
}

/* What the text reads as once through the parser and the composer (the
 * top of this file); with all_blank, every C0 control and DEL counts as a
 * blank, as the composer takes them in a name that did not come through
 * the parser. */
static char *
expected_as(const char *s, size_t n, bool all_blank)
{
	struct buf o = BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n' || c == '\t' || c == ' ' ||
		    (all_blank && (c < 0x20 || c == 0x7f))) {
			if (o.len && o.data[o.len - 1] != ' ')
				buf_addch(&o, ' ');
		} else if (c >= 0x20 && c != 0x7f) {
			buf_addch(&o, c);
		}
	}
	while (o.len && o.data[o.len - 1] == ' ')
		o.len--;
	buf_addch(&o, 0);
	return buf_detach(&o, NULL);
}

static char *
expected_text(const char *s, size_t n)
{
	return expected_as(s, n, false);
}

/* Blanks single, none at the ends. */
static char *
single_spaced(const char *s)
{
	return expected_text(s, strlen(s));
}

/* The text as encoded words of up to 45 bytes each, folded. */
static void
encode_words(struct buf *b, const char *s, size_t n)
{
	static const char c64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t at = 0; at < n; at += 45) {
		size_t take = n - at < 45 ? n - at : 45;
		const unsigned char *p = (const unsigned char *)s + at;

		buf_addstr(b, at ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
		for (size_t j = 0; j < take; j += 3) {
			unsigned v = (unsigned)p[j] << 16;
			size_t r = take - j;

			if (r > 1)
				v |= (unsigned)p[j + 1] << 8;
			if (r > 2)
				v |= p[j + 2];
			buf_addch(b, c64[(v >> 18) & 63]);
			buf_addch(b, c64[(v >> 12) & 63]);
			buf_addch(b, r > 1 ? c64[(v >> 6) & 63] : '=');
			buf_addch(b, r > 2 ? c64[v & 63] : '=');
		}
		buf_addstr(b, "?=");
	}
}

struct fixture {
	struct config cfg;
	struct store *s;
	struct ingest *ing;
	struct outbound *ob;
	char *out;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err e = ERR_INIT;
	char *p;

	if (unit_dir_setup(state) < 0)
		return -1;
	p = xasprintf("%s/rules", unit_dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/templates", unit_dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/in", unit_dir);
	mkdir(p, 0700);
	free(p);
	unit_write_file("rules/00-queues.rules",
			"queue secretariat \"Secretariat\" language en\n"
			"queue DE \"Germany\" language en contact de1@example.org\n"
			"rule \"all\"\nthen\n\troute DE\nend\n");
	unit_write_file("templates/ack.en.txt", "Subject: Re: {{subject}} {{ref}}\n\n"
			"Dear {{requester_name}},\nthank you.\n");
	unit_write_file("templates/partner.en.txt",
			"Subject: New inquiry from {{requester}}: {{subject}} {{ref}}\n\n"
			"{{quoted}}\n");
	unit_write_file("templates/reply.en.txt", "Subject: Re: {{subject}} {{ref}}\n\n{{text}}\n");
	unit_write_file("secdesk.conf",
			"[desk]\nname = Test \"Desk\" (fold)\naddress = desk@example.org\n"
			"tag = T\n[mailbox]\nurl = maildir:in\n[store]\npath = s.db\n"
			"[send]\nurl = dir:out\n[rules]\ndir = rules\n[templates]\n"
			"dir = templates\n[ack]\nper_sender_limit = 0\nhourly_limit = 0\n"
			"[notice]\nhourly_limit_per_partner = 0\n");
	p = xasprintf("%s/secdesk.conf", unit_dir);
	assert_int_equal(config_load(&f->cfg, p, &e), 0);
	free(p);
	p = xasprintf("%s/s.db", unit_dir);
	assert_int_equal(store_open(p, STORE_CREATE, &f->s, &e), 0);
	free(p);
	assert_int_equal(ingest_open(&f->cfg, &f->ing, &e), 0);
	assert_int_equal(outbound_open(&f->cfg, NULL, &f->ob, &e), 0);
	f->out = xasprintf("%s/out", unit_dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	outbound_free(&f->ob);
	ingest_free(&f->ing);
	store_close(&f->s);
	config_release(&f->cfg);
	free(f->out);
	free(f);
	return unit_dir_teardown(state);
}

/* What the mails of one ticket must read back as. */
struct expect {
	int64_t ticket;
	char *subject;   /* the ticket's subject as templates show it */
	char *name;      /* the To name of the ack */
	char *requester; /* {{requester}}: the name, or the address, as stored */
	char *reply_name; /* the To name of the reply */
};

static void
expect_release(struct expect *x)
{
	free(x->subject);
	free(x->name);
	free(x->requester);
	free(x->reply_name);
	memset(x, 0, sizeof(*x));
}

/* Every line of the file ends in CRLF (LF in the two envelope lines the
 * dir: transport puts on top) and is at most max octets. */
static void
assert_short_lines(const char *data, size_t len, size_t max, const char *file)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			col = 0;
			continue;
		}
		if (data[i] != '\r' && ++col > max)
			fail_msg("%s: a line longer than %zu octets", file, max);
	}
}

static int64_t
ticket_of(const char *subject)
{
	const char *p = strstr(subject, "[T #");

	return p ? strtoll(p + 4, NULL, 10) : 0;
}

/* Fails saying where got and want part, in bytes. */
static void
assert_same(const char *what, const char *path, const char *got, const char *want)
{
	size_t i = 0;
	char g[64] = "", w[64] = "";

	if (strcmp(got, want) == 0)
		return;
	while (got[i] && got[i] == want[i])
		i++;
	for (size_t k = 0; k < 8 && got[i + k]; k++)
		snprintf(g + 3 * k, sizeof(g) - 3 * k, "%02x ", (unsigned char)got[i + k]);
	for (size_t k = 0; k < 8 && want[i + k]; k++)
		snprintf(w + 3 * k, sizeof(w) - 3 * k, "%02x ", (unsigned char)want[i + k]);
	fail_msg("%s: %s differs at byte %zu of %zu/%zu: got %s, want %s", path, what, i,
		 strlen(got), strlen(want), g, w);
}

/* Reads back one delivered file: header lines, then Subject and To name
 * as the kind of mail (by its subject) says they must be. */
static void
check_file(const char *path, const struct expect *xs, size_t nx, int *seen)
{
	struct message m;
	struct err e = ERR_INIT;
	struct buf fb;
	char *data, *want = NULL;
	size_t len;
	const char *kind;
	int64_t id;
	const struct expect *x = NULL;

	buf_init(&fb, 64 * 1024 * 1024);
	assert_int_equal(file_read_all(path, &fb), 0);
	len = fb.len;
	data = buf_detach(&fb, NULL);
	/* The header block: 78 at most (RFC 5322 2.1.1's SHOULD); the body
	 * 998 (7bit) or 76 (encoded). */
	{
		const char *sep = memmem(data, len, "\r\n\r\n", 4);

		assert_non_null(sep);
		assert_short_lines(data, (size_t)(sep - data) + 2, 78, path);
		assert_short_lines(data, len, 998, path);
	}
	message_init(&m);
	assert_int_equal(parse_message(data, len, NULL, &m, &e), 0);
	id = ticket_of(m.subject);
	for (size_t i = 0; i < nx && !x; i++)
		if (xs[i].ticket == id)
			x = &xs[i];
	if (!x)
		fail_msg("%s: no ticket known for subject '%.200s'", path, m.subject);
	kind = strncmp(m.subject, "New inquiry", 11) == 0 ? "notice"
	       : message_header(&m, "Auto-Submitted")    ? "ack"
							  : "reply";
	if (strcmp(kind, "notice") == 0) {
		char *raw = xasprintf("New inquiry from %s: %s [T #%lld]", x->requester,
				      x->subject, (long long)id);

		/* The template's text around the values: blanks single too. */
		want = single_spaced(raw);
		free(raw);
		seen[x - xs] |= 2;
	} else {
		want = xasprintf("Re: %s [T #%lld]", x->subject, (long long)id);
		seen[x - xs] |= strcmp(kind, "ack") == 0 ? 1 : 4;
		assert_true(m.nto == 1);
			assert_same(strcmp(kind, "ack") == 0 ? "ack To name" : "reply To name", path,
			    m.to[0].name, strcmp(kind, "ack") == 0 ? x->name : x->reply_name);
	}
	assert_same(kind, path, m.subject, want);
	free(want);
	message_release(&m);
	free(data);
}

/* Delivers the outbox and checks each file, then removes it. */
static void
deliver_and_check(struct fixture *f, const struct expect *xs, size_t nx)
{
	struct send_stats st;
	struct err e = ERR_INIT;
	DIR *dir;
	struct dirent *de;
	int *seen = xcalloc(nx, sizeof(*seen)), files = 0;

	assert_int_equal(outbound_send(&f->cfg, f->s, true, &st, &e), 0);
	assert_int_equal(st.failed + st.deferred, 0);
	dir = opendir(f->out);
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", f->out, de->d_name);
		check_file(path, xs, nx, seen);
		assert_int_equal(unlink(path), 0);
		free(path);
		files++;
	}
	closedir(dir);
	/* An ack, a notice and a reply per ticket. */
	assert_int_equal(files, 3 * (int)nx);
	for (size_t i = 0; i < nx; i++)
		if (seen[i] != 7)
			fail_msg("ticket #%lld: mails seen %d of 7", (long long)xs[i].ticket, seen[i]);
	free(seen);
}

/* One inquiry as raw mail: its subject and display name as encoded words. */
static void
inquiry(struct buf *raw, int n, const struct buf *subject, const struct buf *name)
{
	buf_reset(raw);
	buf_addstr(raw, "From: ");
	if (name->len) {
		encode_words(raw, name->data, name->len);
		buf_addch(raw, ' ');
	}
	buf_addf(raw, "<req%d@example.org>\r\nTo: desk@example.org\r\nSubject: ", n);
	encode_words(raw, subject->data, subject->len);
	buf_addf(raw, "\r\nMessage-ID: <fold-%d@example.org>\r\n"
		 "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nA question.\r\n", n);
}

/* A name straight into the ticket, past what the parser takes in a From:
 * the reply's composer gets it as it is. */
static char *
set_requester_name(struct fixture *f, int64_t ticket, size_t max)
{
	struct buf name = BUF_INIT;
	sqlite3_stmt *st;
	struct err e = ERR_INIT;

	random_text(&name, max);
	for (size_t i = 0; i < name.len; i++)
		if (name.data[i] == 0)
			name.data[i] = '\r';
	buf_addch(&name, 0);
	st = store_prepare(f->s, "UPDATE tickets SET requester_name = ? WHERE id = ?", &e);
	assert_non_null(st);
	sqlite3_bind_text(st, 1, name.data, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ticket);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
	return buf_detach(&name, NULL);
}

static void
test_fold_property(void **state)
{
	struct fixture *f = *state;
	struct buf raw = BUF_INIT, subject = BUF_INIT, name = BUF_INIT;
	struct expect xs[BATCH];
	int done = 0;

	memset(xs, 0, sizeof(xs));
	while (done < CASES) {
		struct err e = ERR_INIT;
		size_t nx = 0;

		assert_int_equal(store_begin(f->s, &e), 0);
		for (int k = 0; k < BATCH && done < CASES; k++, done++) {
			struct ingest_result res;
			struct expect *x = &xs[nx++];
			char *in_subject, *in_name, *direct = NULL;
			struct ticket t;
			int64_t obid;

			buf_reset(&subject);
			buf_reset(&name);
			random_text(&subject, TEXT_MAX);
			random_text(&name, NAME_IN_MAX);
			inquiry(&raw, done, &subject, &name);
			memset(&res, 0, sizeof(res));
			if (ingest_message(f->ing, f->s, raw.data, raw.len, &res, &e) < 0)
				fail_msg("case %d: %s", done, e.msg);
			assert_int_equal(res.kind, INGEST_NEW_TICKET);
			assert_int_equal(res.acks_queued, 1);
			assert_int_equal(res.notices_queued, 1);
			x->ticket = res.ticket_id;
			ticket_init(&t);
			assert_int_equal(ticket_load(f->s, res.ticket_id, &t, &e), 0);
			/* What came in is what the property says. */
			in_subject = expected_text(subject.data, subject.len);
			in_name = expected_text(name.data, name.len);
			{
				char *got = single_spaced(t.subject);

				assert_same("the subject that came in", "ingest", got, in_subject);
				free(got);
			}
			x->subject = *in_subject ? xstrdup(in_subject) : xstrdup("(no subject)");
			x->name = single_spaced(t.requester_name);
			assert_same("the name that came in", "ingest", x->name, in_name);
			x->requester = xstrdup(*t.requester_name ? t.requester_name : t.requester);
			if (done % 4 == 0) {
				direct = set_requester_name(f, res.ticket_id, NAME_IN_MAX);
				x->reply_name = expected_as(direct, strlen(direct), true);
			} else {
				x->reply_name = xstrdup(x->name);
			}
			if (outbound_reply(f->ob, f->s, res.ticket_id, NULL, "Thank you.", "staff",
					   &obid, &e) < 0)
				fail_msg("case %d: reply: %s", done, e.msg);
			free(direct);
			free(in_subject);
			free(in_name);
			ticket_release(&t);
		}
		assert_int_equal(store_commit(f->s, &e), 0);
		deliver_and_check(f, xs, nx);
		for (size_t i = 0; i < nx; i++)
			expect_release(&xs[i]);
	}
	buf_release(&raw);
	buf_release(&subject);
	buf_release(&name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_property),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
