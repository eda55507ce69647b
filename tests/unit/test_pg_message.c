/* The message area (store_message.h, attach.h) on both backends, the same
 * cases: raw bytes once, the threading lookups (an inbound Message-ID is
 * never one the desk sent), merged tickets, watchers, the duplicate
 * lookups, attachments and the per-message savepoint; bytes with NULs
 * and every byte value kept exactly; a statement failing inside the
 * savepoint undone by it, the transaction going on. PostgreSQL runs in a
 * private server (tests/harness/pg.sh); one that cannot start fails the
 * test. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "attach.h"
#include "ingest.h"
#include "parse.h"
#include "sha256.h"
#include "store.h"
#include "store_message.h"
#include "ticket.h"
#include "xalloc.h"

#include "unit.h"
#include "pg_unit.h"
#include "backend.h"
#include "message_ops.h"
#include "store_intake.h"

static const char mail_a[] =
	"From: Ann Example <ann@example.org>\r\n"
	"To: secretariat@icpermed.example\r\n"
	"Cc: Bob <bob@example.org>, carol@example.org\r\n"
	"Subject: Call 2027\r\n"
	"Message-ID: <a1@example.org>\r\n"
	"References: <r1@example.org> <r2@example.org>\r\n"
	"Date: Mon, 7 Dec 2026 08:00:00 +0000\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b\"\r\n"
	"\r\n"
	"--b\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Is my country eligible?\r\n"
	"--b\r\n"
	"Content-Type: application/pdf; name=\"cv.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0xLjQK\r\n"
	"--b--\r\n";

static void
parse_mail(const char *raw, struct message *m)
{
	struct err e = ERR_INIT;

	message_init(m);
	assert_int_equal(parse_message(raw, strlen(raw), &parse_limits_default, m, &e), 0);
}

/* A ticket as intake opens it, for requester addr. */
static int64_t
new_ticket(struct store *s, const char *addr)
{
	struct ticket t;
	struct err e = ERR_INIT;
	int64_t id;

	ticket_init(&t);
	t.status = xstrdup("new");
	t.queue = xstrdup(TICKET_DEFAULT_QUEUE);
	t.category = xstrdup("general");
	t.priority = xstrdup("normal");
	t.language = xstrdup("");
	t.subject = xstrdup("a subject");
	t.requester = xstrdup(addr);
	t.requester_name = xstrdup("");
	t.assignee = xstrdup("");
	t.created = t.updated = store_now();
	assert_int_equal(store_message_create_ticket(s, &t, &e), 0);
	assert_true(t.id > 0);
	id = t.id;
	ticket_release(&t);
	return id;
}

static void
test_raw_once(void **state)
{
	struct store *s = unit_store_open(state, "msg_raw", NULL);
	struct err e = ERR_INIT;
	static const char *const raws[] = { "one", "two", "one" };
	int64_t ids[3];
	char hex[65];

	assert_int_equal(store_begin(s, &e), 0);
	for (size_t i = 0; i < 3; i++) {
		sha256_hex(raws[i], strlen(raws[i]), hex);
		assert_int_equal(store_message_put_raw(s, raws[i], strlen(raws[i]), hex, &ids[i],
						       &e), 0);
	}
	assert_true(ids[0] > 0 && ids[1] > 0);
	assert_true(ids[0] != ids[1]);
	/* The same bytes give the same row. */
	assert_true(ids[0] == ids[2]);
	sha256_hex("two", 3, hex);
	assert_int_equal(store_message_raw_known(s, hex, &e), 1);
	sha256_hex("three", 5, hex);
	assert_int_equal(store_message_raw_known(s, hex, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	store_close(&s);
}

/* Counts the rows an iteration gives, and stops at stop_at (0: never). */
struct counter {
	int n;
	int stop_at;
	int64_t last_size;
	char last_sha[65];
};

static int
count_same_sender(void *arg, int64_t row_id, const char *subject, const char *body)
{
	struct counter *c = arg;

	assert_true(row_id > 0);
	assert_string_equal(subject, "Call 2027");
	assert_non_null(strstr(body, "eligible"));
	return ++c->n == c->stop_at ? 7 : 0;
}

static int
count_attachment(void *arg, int64_t size, const char *sha256)
{
	struct counter *c = arg;

	c->n++;
	c->last_size = size;
	snprintf(c->last_sha, sizeof(c->last_sha), "%s", sha256);
	return 0;
}

static void
test_message_lookups(void **state)
{
	struct store *s = unit_store_open(state, "msg_lookups", NULL);
	struct err e = ERR_INIT;
	struct message m;
	struct counter c = { 0 };
	int64_t t1, t2, raw, row = 0, row2 = 0;
	char hex[65];

	parse_mail(mail_a, &m);
	assert_int_equal(store_begin(s, &e), 0);
	sha256_hex(mail_a, strlen(mail_a), hex);
	assert_int_equal(store_message_put_raw(s, mail_a, strlen(mail_a), hex, &raw, &e), 0);
	t1 = new_ticket(s, "ann@example.org");
	assert_int_equal(store_message_add_inbound(s, t1, raw, "inquiry", &m, &row, &e), 0);
	assert_true(row > 0);
	assert_int_equal(store_message_by_raw(s, raw, &e), row);
	assert_int_equal(store_message_by_raw(s, raw + 1, &e), 0);

	/* Threading: any stored Message-ID, but only the desk's for automatic mail. */
	assert_int_equal(store_message_ticket_by_msgid(s, "a1@example.org", false, &e), t1);
	assert_int_equal(store_message_ticket_by_msgid(s, "a1@example.org", true, &e), 0);
	assert_int_equal(store_message_ticket_by_msgid(s, "", false, &e), 0);
	assert_int_equal(store_message_ticket_by_msgid(s, NULL, false, &e), 0);
	assert_int_equal(store_message_ticket_by_msgid(s, "r1@example.org", false, &e), 0);

	/* The same Message-ID again, from the same sender in another case. */
	t2 = new_ticket(s, "ann@example.org");
	free(m.from.addr);
	m.from.addr = xstrdup("ANN@example.org");
	assert_int_equal(store_message_add_inbound(s, t2, raw, "inquiry", &m, &row2, &e), 0);
	assert_int_equal(store_message_each_same_sender(s, "a1@example.org", "ann@EXAMPLE.org",
							 count_same_sender, &c, &e), 0);
	assert_int_equal(c.n, 2);
	c = (struct counter){ .stop_at = 1 };
	/* A non-zero return stops the rows and is what the iteration gives. */
	assert_int_equal(store_message_each_same_sender(s, "a1@example.org", "ann@example.org",
							 count_same_sender, &c, &e), 7);
	assert_int_equal(c.n, 1);
	c = (struct counter){ 0 };
	assert_int_equal(store_message_each_same_sender(s, "a1@example.org", "eve@example.org",
							 count_same_sender, &c, &e), 0);
	assert_int_equal(c.n, 0);

	/* Attachments: listed per message and per ticket, content by hash. */
	assert_int_equal(m.natts, 1);
	assert_int_equal(attach_store(s, row, &m, &e), 0);
	c = (struct counter){ 0 };
	assert_int_equal(store_message_each_attachment(s, row, count_attachment, &c, &e), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.last_size, (int64_t)m.atts[0].size);
	assert_string_equal(c.last_sha, m.atts[0].sha256);
	c = (struct counter){ 0 };
	assert_int_equal(store_message_each_attachment(s, row2, count_attachment, &c, &e), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_commit(s, &e), 0);
	{
		struct attach_info *list;
		unsigned char *data;
		size_t n, len;

		assert_int_equal(attach_list(s, t1, &list, &n, &e), 0);
		assert_int_equal(n, 1);
		assert_string_equal(list[0].filename, "cv.pdf");
		assert_string_equal(list[0].content_type, "application/pdf");
		assert_int_equal(attach_read(s, list[0].sha256, &data, &len, &e), 0);
		assert_int_equal(len, m.atts[0].size);
		assert_memory_equal(data, m.atts[0].data, len);
		free(data);
		attach_list_free(list, n);
		assert_int_equal(attach_list(s, t2, &list, &n, &e), 0);
		assert_int_equal(n, 0);
		attach_list_free(list, n);
		assert_int_equal(attach_read(s, hex, &data, &len, &e), -1);
		assert_int_equal(e.code, EXIT_DATAERR);
		assert_non_null(strstr(e.msg, "is not in the store"));
		assert_null(data);
	}
	message_release(&m);
	store_close(&s);
}

static void
test_tickets_and_watchers(void **state)
{
	struct store *s = unit_store_open(state, "msg_watch", NULL);
	struct err e = ERR_INIT;
	struct strlist w = STRLIST_INIT;
	int64_t a, b, c;

	assert_int_equal(store_begin(s, &e), 0);
	a = new_ticket(s, "ann@example.org");
	b = new_ticket(s, "bob@example.org");
	c = new_ticket(s, "carol@example.org");
	assert_int_equal(store_message_ticket_exists(s, a, &e), a);
	assert_int_equal(store_message_ticket_exists(s, c + 100, &e), 0);

	/* Merges are followed to the ticket that lives on. */
	assert_int_equal(store_message_live_ticket(s, a, &e), a);
	assert_int_equal(ticket_merge(s, a, b, "staff", &e), 0);
	assert_int_equal(ticket_merge(s, b, c, "staff", &e), 0);
	assert_int_equal(store_message_live_ticket(s, a, &e), c);
	assert_int_equal(store_message_live_ticket(s, b, &e), c);
	assert_int_equal(store_message_live_ticket(s, 0, &e), 0);

	/* A watcher once, however often added. */
	assert_int_equal(store_message_add_watcher(s, c, "dave@example.org", &e), 0);
	assert_int_equal(store_message_add_watcher(s, c, "dave@example.org", &e), 0);
	assert_int_equal(store_message_is_watcher(s, c, "dave@example.org", &e), 1);
	/* An address is one watcher in any case (SQLite's NOCASE). */
	assert_int_equal(store_message_add_watcher(s, c, "Dave@Example.ORG", &e), 0);
	assert_int_equal(store_message_is_watcher(s, c, "DAVE@example.org", &e), 1);
	assert_int_equal(store_message_is_watcher(s, c, "eve@example.org", &e), 0);
	assert_int_equal(store_message_is_watcher(s, a, "dave@example.org", &e), 0);
	assert_int_equal(ticket_watchers(s, c, &w, &e), 0);
	assert_int_equal(strlist_contains(&w, "dave@example.org"), 1);
	assert_int_equal(w.n, 1);
	strlist_release(&w);
	assert_int_equal(store_commit(s, &e), 0);
	store_close(&s);
}

static void
test_savepoint(void **state)
{
	struct store *s = unit_store_open(state, "msg_savepoint", NULL);
	struct err e = ERR_INIT;
	int64_t kept, undone, again;

	assert_int_equal(store_begin(s, &e), 0);
	assert_true(store_txn_active(s));
	kept = new_ticket(s, "ann@example.org");
	assert_int_equal(store_savepoint_begin(s, &e), 0);
	undone = new_ticket(s, "bob@example.org");
	assert_int_equal(store_savepoint_rollback(s, &e), 0);
	assert_int_equal(store_message_ticket_exists(s, undone, &e), 0);
	/* After a rollback the savepoint still holds: the message is retried. */
	again = new_ticket(s, "bob@example.org");
	assert_int_equal(store_savepoint_release(s, &e), 0);
	assert_true(store_txn_active(s));
	assert_int_equal(store_commit(s, &e), 0);
	assert_false(store_txn_active(s));
	assert_int_equal(store_message_ticket_exists(s, kept, &e), kept);
	assert_int_equal(store_message_ticket_exists(s, again, &e), again);

	/* Without a savepoint there is nothing to release: refused at once,
	 * or (PostgreSQL, which sends a release ahead) at the commit. */
	assert_int_equal(store_begin(s, &e), 0);
	if (store_savepoint_release(s, &e) == 0)
		assert_int_equal(store_commit(s, &e), -1);
	assert_non_null(strstr(e.msg, "cannot set a savepoint"));
	store_rollback(s);
	store_close(&s);
}

/* Contents by hash, as attach_store() puts them. */
static int
put_blob(struct store *s, const char *sha256, const void *data, size_t size, struct err *e)
{
	return s->ops->message->put_blob(s, sha256, data, size, e);
}

/* Every byte value, NULs among them, comes back as it went in: raw
 * messages and attachment contents. */
static void
test_binary_exact(void **state)
{
	struct store *s = unit_store_open(state, "msg_binary", NULL);
	struct err e = ERR_INIT;
	unsigned char bytes[512], *data = NULL;
	char hex[65], *raw = NULL;
	int64_t raw_id, again;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 7);
	sha256_hex((const char *)bytes, sizeof(bytes), hex);
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_message_put_raw(s, (const char *)bytes, sizeof(bytes), hex,
					       &raw_id, &e), 0);
	assert_int_equal(store_message_put_raw(s, (const char *)bytes, sizeof(bytes), hex, &again,
					       &e), 0);
	assert_int_equal(again, raw_id);
	assert_int_equal(put_blob(s, hex, bytes, sizeof(bytes), &e), 0);
	/* A second put of the same content is a no-op. */
	assert_int_equal(put_blob(s, hex, bytes, sizeof(bytes), &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(store_intake_raw(s, raw_id, &raw, &len, &e), 0);
	assert_int_equal(len, sizeof(bytes));
	assert_memory_equal(raw, bytes, len);
	assert_int_equal(raw[len], '\0');
	free(raw);
	assert_int_equal(attach_read(s, hex, &data, &len, &e), 0);
	assert_int_equal(len, sizeof(bytes));
	assert_memory_equal(data, bytes, len);
	free(data);
	/* Empty contents are contents. */
	sha256_hex("", 0, hex);
	assert_int_equal(put_blob(s, hex, "", 0, &e), 0);
	assert_int_equal(attach_read(s, hex, &data, &len, &e), 0);
	assert_int_equal(len, 0);
	free(data);
	store_close(&s);
}

/* A statement that fails inside the savepoint (a part recorded twice) is
 * undone by rolling back to it; the transaction goes on and commits. */
static void
test_savepoint_after_error(void **state)
{
	struct store *s = unit_store_open(state, "msg_sp_error", NULL);
	struct err e = ERR_INIT;
	struct message m;
	int64_t t, raw, row = 0;
	char hex[65];

	parse_mail(mail_a, &m);
	sha256_hex(mail_a, strlen(mail_a), hex);
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_message_put_raw(s, mail_a, strlen(mail_a), hex, &raw, &e), 0);
	t = new_ticket(s, "ann@example.org");
	assert_int_equal(store_message_add_inbound(s, t, raw, "inquiry", &m, &row, &e), 0);
	assert_int_equal(store_savepoint_begin(s, &e), 0);
	assert_int_equal(attach_store(s, row, &m, &e), 0);
	assert_int_equal(attach_store(s, row, &m, &e), -1);
	assert_non_null(strstr(e.msg, "cannot record an attachment"));
	assert_null(strchr(e.msg, '\n'));
	assert_true(store_txn_active(s));
	err_clear(&e);
	assert_int_equal(store_savepoint_rollback(s, &e), 0);
	assert_int_equal(store_savepoint_release(s, &e), 0);
	assert_int_equal(store_message_ticket_exists(s, t, &e), t);
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(store_message_ticket_by_msgid(s, "a1@example.org", false, &e), t);
	{
		struct attach_info *list;
		size_t n;

		/* The attachments of the savepoint are gone with it. */
		assert_int_equal(attach_list(s, t, &list, &n, &e), 0);
		assert_int_equal(n, 0);
		attach_list_free(list, n);
	}
	message_release(&m);
	store_close(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_raw_once),
		BOTH(test_message_lookups),
		BOTH(test_tickets_and_watchers),
		BOTH(test_savepoint),
		BOTH(test_binary_exact),
		BOTH(test_savepoint_after_error),
	};

	return cmocka_run_group_tests(tests, pg_unit_setup, pg_unit_teardown);
}
