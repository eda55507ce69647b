/* The store's outbound area (outbox.h) on a real SQLite store: the queue's
 * states and back-off, partial deliveries, the log and counts of automatic
 * mail, state rows, bounce-address look-ups, lazy commits, held mail, and
 * the errors of a store that cannot be written. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "outbox.h"
#include "store_sqlite.h"
#include "ticket.h"
#include "xalloc.h"

#define NOW 2000000000LL

struct fixture {
	char dir[64];
	char *path;
	struct store *s;
};

static void
sql(struct store *s, const char *q)
{
	struct err e = ERR_INIT;

	if (store_exec(s, q, &e) < 0)
		fail_msg("%s: %s", q, e.msg);
}

static int64_t
sql_int(struct store *s, const char *q)
{
	struct err e = ERR_INIT;
	sqlite3_stmt *st = store_prepare(s, q, &e);
	int64_t v;

	if (!st)
		fail_msg("%s: %s", q, e.msg);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err e = ERR_INIT;

	setenv("SECDESK_NOW", "2000000000", 1);
	snprintf(f->dir, sizeof(f->dir), "/tmp/secdesk-outbox.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->path = xasprintf("%s/secdesk.db", f->dir);
	if (store_open(f->path, STORE_CREATE, &f->s, &e) < 0)
		fail_msg("%s", e.msg);
	sql(f->s, "INSERT INTO tickets (id, status, queue, subject, requester, created, updated)"
		  " VALUES (7, 'open', 'DE', 'A question', 'r@x.org', 0, 0)");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);

	store_close(&f->s);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->path);
	free(f);
	unsetenv("SECDESK_NOW");
	return 0;
}

static int64_t
queue(struct store *s, int64_t ticket, const char *rcpts)
{
	struct err e = ERR_INIT;
	int64_t id = 0;

	if (outbox_queue(s, ticket, 0, "notice", "", rcpts, "x", 1, &id, &e) < 0)
		fail_msg("%s", e.msg);
	assert_true(id > 0);
	return id;
}

/* The row id as `secdesk outbox --all` lists it. */
struct found {
	int64_t id;
	struct outbox_row row;
	char status[16], rejected[256], delivered[256], rcpts[256], last_error[256];
};

static int
find_row(void *arg, const struct outbox_row *r)
{
	struct found *f = arg;

	if (r->id != f->id)
		return 0;
	f->row = *r;
	snprintf(f->status, sizeof(f->status), "%s", r->status);
	snprintf(f->rejected, sizeof(f->rejected), "%s", r->rejected);
	snprintf(f->delivered, sizeof(f->delivered), "%s", r->delivered);
	snprintf(f->rcpts, sizeof(f->rcpts), "%s", r->rcpts);
	snprintf(f->last_error, sizeof(f->last_error), "%s", r->last_error);
	return 1;
}

static struct found
row_of(struct store *s, int64_t id)
{
	struct err e = ERR_INIT;
	struct found f = { .id = id };

	assert_int_equal(outbox_list(s, true, find_row, &f, &e), 1);
	return f;
}

static void
test_backoff(void **state)
{
	static const struct {
		int attempts, base;
		int64_t want;
	} t[] = {
		{ 1, 60, 60 }, { 2, 60, 120 }, { 5, 60, 960 }, { 30, 60, 86400 },
		{ 1, 0, 1 }, { 3, -5, 4 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_int_equal(outbox_backoff(t[i].attempts, t[i].base), t[i].want);
}

static void
test_due_load_sent(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	struct outbox_item it;
	int64_t a = queue(f->s, 7, "p@x.org"), b = queue(f->s, 0, "q@x.org"), *ids;
	size_t n;

	assert_int_equal(outbox_set_next_try(f->s, b, NOW + 100, &e), 0);
	assert_int_equal(outbox_due(f->s, false, NOW, 0, 10, &ids, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], a);
	free(ids);
	assert_int_equal(outbox_due(f->s, true, NOW, 0, 10, &ids, &n, &e), 0);
	assert_int_equal(n, 2);
	free(ids);
	assert_int_equal(outbox_due(f->s, true, NOW, a, 10, &ids, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], b);
	free(ids);

	assert_int_equal(outbox_load(f->s, a, &it, &e), 0);
	assert_int_equal(it.ticket_id, 7);
	assert_string_equal(it.kind, "notice");
	assert_string_equal(it.rcpts, "p@x.org");
	assert_int_equal(it.len, 1);
	outbox_item_release(&it);
	assert_int_equal(outbox_mark_sent(f->s, a, &e), 0);
	assert_int_equal(outbox_load(f->s, a, &it, &e), 1);
	assert_string_equal(row_of(f->s, a).status, "sent");
	assert_int_equal(row_of(f->s, a).row.sent_at, NOW);
	assert_int_equal(outbox_load(f->s, 999, &it, &e), 1);
}

static void
test_failed(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	int64_t id = queue(f->s, 7, "p@x.org");
	struct found r;

	/* Temporary: pending again after the back-off. */
	assert_int_equal(outbox_mark_failed(f->s, id, "451 later", false, 3, 60, &e), 0);
	r = row_of(f->s, id);
	assert_string_equal(r.status, "pending");
	assert_int_equal(r.row.attempts, 1);
	assert_int_equal(r.row.next_try, NOW + 60);
	assert_string_equal(r.last_error, "451 later");
	assert_int_equal(sql_int(f->s, "SELECT flags FROM tickets WHERE id = 7") &
			 TICKET_FLAG_SEND_FAILED, 0);
	/* The last allowed attempt fails for good and flags the ticket. */
	assert_int_equal(outbox_mark_failed(f->s, id, "451 again", false, 2, 60, &e), 0);
	r = row_of(f->s, id);
	assert_string_equal(r.status, "failed");
	assert_int_equal(r.row.attempts, 2);
	assert_int_not_equal(sql_int(f->s, "SELECT flags FROM tickets WHERE id = 7") &
			     TICKET_FLAG_SEND_FAILED, 0);
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM events WHERE ticket_id = 7"
				       " AND what = 'send-failed'"), 1);
	/* A row that is gone is nothing to do. */
	assert_int_equal(outbox_mark_failed(f->s, 999, "x", true, 3, 60, &e), 0);
}

static void
test_partial(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	int64_t id = queue(f->s, 7, "a@x.org,b@x.org,c@x.org");
	struct outbox_refusal rej[] = { { "c@x.org", "550 no such user" } };
	struct found r;

	assert_int_equal(outbox_mark_partial(f->s, id, "a@x.org", rej, 1, "b@x.org",
					     "RCPT TO:<b@x.org>: 451 later", 5, 60, &e), 0);
	r = row_of(f->s, id);
	assert_string_equal(r.status, "pending");
	assert_string_equal(r.rcpts, "b@x.org");
	assert_string_equal(r.delivered, "a@x.org");
	assert_string_equal(r.rejected, "c@x.org 550 no such user\n");
	assert_int_equal(sql_int(f->s, "SELECT count(*) FROM events WHERE ticket_id = 7"
				       " AND what = 'send-rejected'"), 1);
	/* The rest takes it: sent, every recipient in delivered. */
	assert_int_equal(outbox_mark_partial(f->s, id, "b@x.org", NULL, 0, "", NULL, 5, 60, &e),
			 0);
	r = row_of(f->s, id);
	assert_string_equal(r.status, "sent");
	assert_string_equal(r.rcpts, "b@x.org");
	assert_string_equal(r.delivered, "a@x.org");
	assert_int_equal(outbox_add_rejected(f->s, id, rej, 1, &e), 0);
	assert_string_equal(row_of(f->s, id).rejected,
			    "c@x.org 550 no such user\nc@x.org 550 no such user\n");
}

static void
test_lookup(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	struct outbox_ref ref;
	int64_t id = queue(f->s, 7, "p@x.org");

	assert_int_equal(outbox_lookup(f->s, id, &ref, &e), 1);
	assert_int_equal(ref.ticket_id, 7);
	assert_string_equal(ref.kind, "notice");
	assert_string_equal(ref.message_id, "");
	outbox_ref_release(&ref);
	assert_int_equal(outbox_lookup(f->s, id + 100, &ref, &e), 0);
	outbox_ref_release(&ref);
}

static void
test_autolog(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	const char *addrs[] = { "a@x.org", "A@X.org", "b@x.org", "notice:DE", "a@x.org" };
	int64_t n;

	/* More than one statement holds. */
	assert_int_equal(outbox_auto_log(f->s, addrs, ARRAY_SIZE(addrs), NOW - 10, &e), 0);
	assert_int_equal(outbox_auto_log(f->s, addrs, 1, NOW - 5000, &e), 0);
	assert_int_equal(outbox_auto_logged(f->s, "a@X.ORG", NOW - 3600, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(outbox_auto_logged(f->s, "a@x.org", NOW - 9000, &n, &e), 0);
	assert_int_equal(n, 4);
	assert_int_equal(outbox_auto_logged(f->s, "notice:DE", NOW - 3600, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(outbox_auto_logged(f->s, "nobody@x.org", 0, &n, &e), 0);
	assert_int_equal(n, 0);

	assert_int_equal(outbox_auto_count(f->s, NOW / 60, 2, &e), 0);
	assert_int_equal(outbox_auto_count(f->s, NOW / 60, 3, &e), 0);
	assert_int_equal(outbox_auto_count(f->s, NOW / 60 - 120, 7, &e), 0);
	assert_int_equal(outbox_auto_counted(f->s, (NOW - 3600) / 60, &n, &e), 0);
	assert_int_equal(n, 5);
	assert_int_equal(outbox_auto_counted(f->s, 0, &n, &e), 0);
	assert_int_equal(n, 12);

	assert_int_equal(outbox_auto_prune(f->s, NOW - 3600, NOW / 60 - 60, &e), 0);
	assert_int_equal(outbox_auto_logged(f->s, "a@x.org", 0, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(outbox_auto_counted(f->s, 0, &n, &e), 0);
	assert_int_equal(n, 5);
}

static void
test_state(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	int64_t v = 99;

	assert_int_equal(outbox_state_get(f->s, "ack_breaker", &v, &e), 0);
	assert_int_equal(v, 0);
	assert_int_equal(outbox_state_set(f->s, "ack_breaker", NOW, &e), 0);
	assert_int_equal(outbox_state_set(f->s, "ack_breaker", NOW + 1, &e), 0);
	assert_int_equal(outbox_state_get(f->s, "ack_breaker", &v, &e), 1);
	assert_int_equal(v, NOW + 1);
}

static void
test_lazy_commits(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;

	assert_int_equal(outbox_set_lazy_commits(f->s, true, &e), 0);
	assert_int_equal(sql_int(f->s, "PRAGMA synchronous"), 1);
	assert_int_equal(outbox_set_lazy_commits(f->s, false, &e), 0);
	assert_int_equal(sql_int(f->s, "PRAGMA synchronous"), 2);
	/* Not inside a transaction: SQLite refuses, and says so. */
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(outbox_set_lazy_commits(f->s, true, &e), -1);
	assert_non_null(strstr(e.msg, "store '"));
	store_rollback(f->s);
}

/* A recorded outgoing message of ticket 7, for held mail to answer. */
static int64_t
record_message(struct store *s)
{
	struct err e = ERR_INIT;
	struct outgoing_message m = {
		.ticket_id = 7, .kind = "reply", .from_name = "Desk", .from_addr = "d@x.org",
		.to = "r@x.org", .cc = "", .subject = "Re: A question", .message_id = "m1@x.org",
		.in_reply_to = "", .refs = "", .body = "text", .names = "", .date = NOW,
	};
	int64_t id = 0;

	if (outbox_record_message(s, &m, &id, &e) < 0)
		fail_msg("%s", e.msg);
	return id;
}

/* Held mail is never due nor loaded for delivery, comes back whole from
 * outbox_held, oldest first, and only a held row is dropped. */
static void
test_held(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	struct outbox_item it, *rows;
	int64_t mid = record_message(f->s), a = 0, b = 0, c, *ids;
	size_t n;

	assert_int_equal(outbox_hold(f->s, 7, mid, "ack", "r@x.org", "queue=DE\nfollowup=\n",
				     "held: template error: ack.en.txt:3: x", &a, &e), 0);
	assert_int_equal(outbox_hold(f->s, 7, 0, "notice", "p@x.org,q@x.org", "queue=DE\n",
				     "held: b", &b, &e), 0);
	assert_true(a > 0 && b > a);
	c = queue(f->s, 7, "p@x.org");
	assert_int_equal(outbox_due(f->s, true, NOW + 86400, 0, 10, &ids, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], c);
	free(ids);
	assert_int_equal(outbox_load(f->s, a, &it, &e), 1);
	assert_string_equal(row_of(f->s, a).status, "held");
	assert_string_equal(row_of(f->s, a).last_error, "held: template error: ack.en.txt:3: x");

	assert_int_equal(outbox_held(f->s, &rows, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].id, a);
	assert_int_equal(rows[0].ticket_id, 7);
	assert_string_equal(rows[0].kind, "ack");
	assert_string_equal(rows[0].rcpts, "r@x.org");
	assert_string_equal(rows[0].env_from, "");
	assert_string_equal(rows[0].data, "queue=DE\nfollowup=\n");
	assert_int_equal(rows[0].len, strlen("queue=DE\nfollowup=\n"));
	assert_int_equal(rows[0].quote_of, mid);
	assert_int_equal(rows[1].id, b);
	assert_string_equal(rows[1].rcpts, "p@x.org,q@x.org");
	assert_int_equal(rows[1].quote_of, 0);
	for (size_t i = 0; i < n; i++)
		outbox_item_release(&rows[i]);
	free(rows);

	/* A pending row is not held mail: it stays. */
	assert_int_equal(outbox_drop_held(f->s, c, &e), 0);
	assert_string_equal(row_of(f->s, c).status, "pending");
	assert_int_equal(outbox_drop_held(f->s, a, &e), 0);
	assert_int_equal(outbox_held(f->s, &rows, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, b);
	outbox_item_release(&rows[0]);
	free(rows);
}

/* A store opened read-only refuses every write with the store's error. */
static void
test_readonly(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	struct store *ro = NULL;
	const char *addr = "a@x.org";
	int64_t id = 0;

	if (store_open(f->path, STORE_READONLY, &ro, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(outbox_queue(ro, 0, 0, "ack", "", "a@x.org", "x", 1, &id, &e), -1);
	assert_non_null(strstr(e.msg, "cannot queue mail"));
	assert_non_null(strstr(e.msg, f->path));
	e = (struct err)ERR_INIT;
	assert_int_equal(outbox_auto_log(ro, &addr, 1, NOW, &e), -1);
	assert_non_null(strstr(e.msg, "cannot log automatic mail"));
	e = (struct err)ERR_INIT;
	assert_int_equal(outbox_state_set(ro, "k", 1, &e), -1);
	assert_non_null(strstr(e.msg, "cannot save state"));
	e = (struct err)ERR_INIT;
	assert_int_equal(outbox_hold(ro, 7, 0, "ack", "a@x.org", "", "held: x", &id, &e), -1);
	assert_non_null(strstr(e.msg, "cannot hold mail in the outbox"));
	store_close(&ro);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test_setup_teardown(test_due_load_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_autolog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
