/* The outbound area on PostgreSQL (a private server, tests/harness/pg.sh)
 * against SQLite: the same operations on the same rows in both stores give
 * the same answers, written down as text and compared. Then what only
 * PostgreSQL has: senders on several hosts claim rows, so that none is
 * sent twice, and a sender that dies gives its claims back. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "outbound.h"
#include "message.h"
#include "outbox.h"
#include "outbox_ops.h"
#include "pg_core.h"
#include "store.h"
#include "store_sqlite.h"
#include "strlist.h"
#include "xalloc.h"

#include "unit.h"
#include "pg_unit.h"
#include "pg_unit_sql.h"

static struct store *lite, *pg;
static char *pg_url;

static const char *const fixture[] = {
	"INSERT INTO tickets (id, status, subject, requester, requester_name, created, updated)"
	" VALUES (1, 'open', 'Budget', 'anna@example.org', 'Anna', 1000, 1000),"
	" (2, 'pending', 'Other', 'bob@example.org', 'Bob', 2000, 2000),"
	" (3, 'closed', 'Done', 'carl@example.org', '', 3000, 3000)",
	"INSERT INTO ticket_tags (ticket_id, tag) VALUES (1, 'b'), (1, 'a'), (1, 'B')",
	"INSERT INTO messages (id, ticket_id, direction, kind, from_addr, to_addrs, cc_addrs,"
	" subject, message_id, refs, body, date, created) VALUES"
	" (1, 1, 'in', 'inquiry', 'anna@example.org', 'desk@example.org', '', 'Budget',"
	"  'm1@example.org', '<r0@example.org> <r1@example.org>', 'Hello body', 1000, 1000),"
	" (2, 2, 'in', 'followup', 'bob@example.org', 'desk@example.org', 'x@example.org',"
	"  'Other', 'm2@example.org', '', 'Second', NULL, 2500),"
	" (3, 1, 'out', 'reply', 'desk@example.org', 'anna@example.org', '', 'Re: Budget',"
	"  'm3@example.org', '', 'Answer', 1500, 1500),"
	" (4, 1, 'in', 'inquiry', 'anna@example.org', '', '', 'Later', 'm4@example.org', '',"
	"  'Again', 1700, 1700)",
	NULL,
};

static void
lite_exec(const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(store_db(lite), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("'%s': %s", sql, msg);
}

static int
group_setup(void **state)
{
	struct err e = ERR_INIT;
	char *path;

	if (pg_unit_setup(state) < 0)
		return -1;
	pg_url = pg_make_db("t_outbox");
	path = xasprintf("%s/outbox.db", unit_dir);
	if (store_open(pg_url, STORE_CREATE, &pg, &e) < 0 ||
	    store_open(path, STORE_CREATE, &lite, &e) < 0) {
		fprintf(stderr, "# %s\n", e.msg);
		return -1;
	}
	free(path);
	for (const char *const *f = fixture; *f; f++) {
		lite_exec(*f);
		free(pg_sql("t_outbox", *f));
	}
	/* Rows given their ids: the sequence goes past them, as db copy does. */
	free(pg_sql("t_outbox", "SELECT setval(pg_get_serial_sequence('messages', 'id'), 4)"));
	return 0;
}

static int
group_teardown(void **state)
{
	store_close(&lite);
	store_close(&pg);
	free(pg_url);
	return pg_unit_teardown(state);
}

static void
ok(int rc, const struct err *e)
{
	if (rc < 0)
		fail_msg("%s", e->msg);
}

static int
list_row(void *arg, const struct outbox_row *r)
{
	buf_addf(arg, "row %lld t%lld %s %s a%d next%lld c%lld s%lld [%s] [%s] %lld [%s] [%s]\n",
		 (long long)r->id, (long long)r->ticket_id, r->kind, r->status, r->attempts,
		 (long long)r->next_try, (long long)r->created, (long long)r->sent_at, r->rcpts,
		 r->last_error, (long long)r->size, r->rejected, r->delivered);
	return 0;
}

static int
digest_row(void *arg, const struct digest_entry *d)
{
	buf_addf(arg, "digest %lld %s %s %s\n", (long long)d->ticket_id, d->subject,
		 d->requester_name ? d->requester_name : "(null)", d->requester);
	return 0;
}

static int
waiting_row(void *arg, const struct waiting_ticket *t)
{
	buf_addf(arg, "waiting %lld %s %s %s %s [%s] %s %lld %lld\n", (long long)t->id, t->subject,
		 t->queue, t->status, t->priority, t->assignee, t->requester,
		 (long long)t->created, (long long)t->last_reply);
	return 0;
}

static bool
pick_cc(void *arg, const char *from, const char *to, const char *cc)
{
	buf_addf(arg, "pick? %s %s %s\n", from, to, cc);
	return *cc != '\0';
}

static void
item(struct buf *log, const struct outbox_item *it)
{
	buf_addf(log, "item %lld t%lld %s [%s] [%s] %zu [%.*s] a%d q%lld@%lld\n",
		 (long long)it->id, (long long)it->ticket_id, it->kind, it->env_from, it->rcpts,
		 it->len, (int)it->len, it->data, it->attempts, (long long)it->quote_of,
		 (long long)it->quote_at);
}

/* The queue, its marks and what the lists say. */
static void
exercise_outbox(struct store *s, struct buf *log)
{
	struct err e = ERR_INIT;
	static const char binary[] = "To: a\r\n\r\nbody\0with\xff nul";
	int64_t id1, id2, id3, *ids = NULL, tid;
	struct outbox_item it;
	struct outbox_ref ref;
	size_t n;
	int att;

	ok(store_begin(s, &e), &e);
	ok(outbox_queue(s, 1, 3, "reply", "desk@example.org", "anna@example.org,x@example.org",
			binary, sizeof(binary) - 1, &id1, &e), &e);
	ok(outbox_queue_quoting(s, 2, 0, "reply", "", "bob@example.org", "To: b\r\n\r\nq", 10, 1,
				4, &id2, &e), &e);
	ok(outbox_queue(s, 0, 0, "notice", "", "p@example.org", "N", 1, &id3, &e), &e);
	ok(store_commit(s, &e), &e);
	buf_addf(log, "ids %lld %lld %lld\n", (long long)id1, (long long)id2, (long long)id3);
	ok(outbox_set_next_try(s, id3, 99999, &e), &e);
	ok(outbox_due(s, false, 5000, 0, 10, &ids, &n, &e), &e);
	buf_addf(log, "due %zu:", n);
	for (size_t i = 0; i < n; i++)
		buf_addf(log, " %lld", (long long)ids[i]);
	free(ids);
	ok(outbox_due(s, true, 5000, id1, 1, &ids, &n, &e), &e);
	buf_addf(log, "\ndue all after %zu: %lld\n", n, n ? (long long)ids[0] : 0LL);
	free(ids);
	buf_addf(log, "load %d\n", outbox_load(s, id1, &it, &e));
	item(log, &it);
	outbox_item_release(&it);
	buf_addf(log, "load %d\n", outbox_load(s, id2, &it, &e));
	item(log, &it);
	outbox_item_release(&it);
	ok(store_begin(s, &e), &e);
	ok(outbox_mark_sent(s, id1, &e), &e);
	ok(outbox_mark_failed(s, id2, "451 later", false, 5, 60, &e), &e);
	ok(outbox_mark_partial(s, id3, "p@example.org", NULL, 0, "q@example.org", "452 full", 5,
			       60, &e), &e);
	ok(outbox_add_rejected(s, id1, &(struct outbox_refusal){ "x@example.org", "550 no" }, 1,
			       &e), &e);
	ok(store_commit(s, &e), &e);
	buf_addf(log, "load sent %d\n", outbox_load(s, id1, &it, &e));
	outbox_item_release(&it);
	buf_addf(log, "attempts %d", s->ops->outbox->attempts(s, id2, &tid, &att, &e));
	buf_addf(log, " t%lld a%d\n", (long long)tid, att);
	buf_addf(log, "attempts gone %d\n", s->ops->outbox->attempts(s, 999, &tid, &att, &e));
	ok(outbox_list(s, true, list_row, log, &e), &e);
	ok(outbox_list(s, false, list_row, log, &e), &e);
	buf_addf(log, "lookup %d", outbox_lookup(s, id1, &ref, &e));
	buf_addf(log, " t%lld %s %s %s\n", (long long)ref.ticket_id, ref.kind, ref.rcpts,
		 ref.message_id);
	outbox_ref_release(&ref);
	buf_addf(log, "lookup none %d\n", outbox_lookup(s, 999, &ref, &e));
	outbox_ref_release(&ref);
	ok(outbox_set_lazy_commits(s, true, &e), &e);
	ok(outbox_set_lazy_commits(s, false, &e), &e);
}

/* Outgoing messages, automatic mail, state, digests, reminders, held. */
static void
exercise_rest(struct store *s, struct buf *log)
{
	struct err e = ERR_INIT;
	struct outgoing_message om = { 2, "ack", "Desk", "desk@example.org", "bob@example.org", "",
				       "Re: Other", "ack2@example.org", "", "<m2@example.org>",
				       "Thanks", "Desk desk@example.org", 2600 };
	static const char *const odd[] = { "q\"\\@example.org", "r,{x}@example.org" };
	static const char *const addrs[] = { "A@Example.org", "b@example.org", "c@example.org",
					     "d@example.org", "e@example.org" };
	struct strlist st = STRLIST_INIT, tags = STRLIST_INIT;
	struct message m;
	struct outbox_item *held = NULL;
	int64_t id, v, w, hid;
	bool acked;
	char *body = NULL;
	size_t n;

	ok(outbox_record_message(s, &om, &id, &e), &e);
	ok(outbox_ticket_acked(s, 2, &acked, &e), &e);
	buf_addf(log, "message %lld acked %d", (long long)id, acked);
	ok(outbox_ticket_acked(s, 1, &acked, &e), &e);
	buf_addf(log, " %d body %d", acked, outbox_message_body(s, 1, &body, &e));
	buf_addf(log, " %s", body);
	free(body);
	buf_addf(log, " none %d\n", outbox_message_body(s, 999, &body, &e));
	ok(outbox_pick_message(s, 1, 0, pick_cc, log, &id, &e), &e);
	buf_addf(log, "picked %lld\n", (long long)id);
	ok(outbox_pick_message(s, 2, 0, pick_cc, log, &id, &e), &e);
	buf_addf(log, "picked %lld\n", (long long)id);
	message_init(&m);
	ok(outbox_load_message(s, 1, &m, &e), &e);
	buf_addf(log, "loaded %s %s %s %d %lld refs %zu %s\n", m.message_id, m.subject, m.body,
		 m.has_date, (long long)m.date, m.references.n, m.references.items[1]);
	message_release(&m);
	message_init(&m);
	ok(outbox_load_message(s, 2, &m, &e), &e);
	buf_addf(log, "loaded %d refs %zu\n", m.has_date, m.references.n);
	message_release(&m);
	ok(outbox_auto_log(s, addrs, 5, 100, &e), &e);
	ok(outbox_auto_count(s, 7, 2, &e), &e);
	ok(outbox_auto_count(s, 7, 3, &e), &e);
	ok(outbox_auto_count(s, 9, 1, &e), &e);
	ok(outbox_auto_logged(s, "a@EXAMPLE.org", 50, &v, &e), &e);
	buf_addf(log, "logged %lld", (long long)v);
	ok(outbox_auto_logged(s, "a@example.org", 100, &v, &e), &e);
	buf_addf(log, " %lld", (long long)v);
	ok(outbox_auto_counted(s, 6, &v, &e), &e);
	buf_addf(log, " counted %lld", (long long)v);
	ok(outbox_auto_prune(s, 101, 8, &e), &e);
	ok(outbox_auto_counted(s, 0, &v, &e), &e);
	buf_addf(log, " pruned %lld", (long long)v);
	ok(outbox_auto_logged(s, "b@example.org", 0, &v, &e), &e);
	buf_addf(log, " %lld\n", (long long)v);
	/* The log and count in one step, the two counts in one: quotes and
	 * backslashes in an address survive the server's text[]. */
	ok(outbox_auto_record(s, odd, 2, 200, 20, 4, &e), &e);
	ok(outbox_auto_record(s, odd, 1, 201, 21, 0, &e), &e);
	ok(outbox_auto_recent(s, "Q\"\\@example.org", 150, 19, &v, &w, &e), &e);
	buf_addf(log, "recent %lld %lld", (long long)v, (long long)w);
	ok(outbox_auto_recent(s, "r,{x}@example.org", 150, 19, &v, NULL, &e), &e);
	buf_addf(log, " %lld", (long long)v);
	ok(outbox_auto_recent(s, NULL, 150, 20, &v, &w, &e), &e);
	buf_addf(log, " %lld %lld\n", (long long)v, (long long)w);
	buf_addf(log, "state none %d", outbox_state_get(s, "k", &v, &e));
	ok(outbox_state_set(s, "k", -42, &e), &e);
	ok(outbox_state_set(s, "k", 43, &e), &e);
	buf_addf(log, " %d", outbox_state_get(s, "k", &v, &e));
	buf_addf(log, " %lld\n", (long long)v);
	ok(outbox_hold(s, 1, 1, "notice", "p@example.org", "held text", "partner paused", &hid,
		       &e), &e);
	ok(outbox_hold(s, 0, 0, "digest", "q@example.org", "D", "why", &id, &e), &e);
	ok(outbox_state_set(s, "digest:p", hid, &e), &e);
	ok(outbox_set_next_try(s, hid, 7777, &e), &e);
	/* A held row is no digest that is open: that needs pending. */
	ok(outbox_open_digest(s, "digest:p", 100, &v, &e), &e);
	buf_addf(log, "digest open %lld", (long long)v);
	ok(outbox_queue(s, 0, 0, "digest", "", "q@example.org", "D", 1, &id, &e), &e);
	ok(outbox_set_next_try(s, id, 7777, &e), &e);
	ok(outbox_state_set(s, "digest:q", id, &e), &e);
	ok(outbox_open_digest(s, "digest:q", 100, &v, &e), &e);
	buf_addf(log, " %lld", v == id ? 1LL : 0LL);
	ok(outbox_open_digest(s, "digest:q", 7777, &v, &e), &e);
	buf_addf(log, " %lld\n", (long long)v);
	{
		char what[32];

		snprintf(what, sizeof(what), "outbox #%lld", (long long)hid);
		ok(store_event(s, 1, "secdesk", "notice-held", what, NULL, &e), &e);
		ok(store_event(s, 3, "secdesk", "notice-held", what, NULL, &e), &e);
	}
	ok(outbox_digest_entries(s, hid, digest_row, log, &e), &e);
	ok(outbox_held(s, &held, &n, &e), &e);
	for (size_t i = 0; i < n; i++) {
		item(log, &held[i]);
		outbox_item_release(&held[i]);
	}
	free(held);
	ok(outbox_drop_held(s, id, &e), &e);
	ok(outbox_held(s, &held, &n, &e), &e);
	buf_addf(log, "held after drop %zu\n", n);
	for (size_t i = 0; i < n; i++)
		outbox_item_release(&held[i]);
	free(held);
	strlist_add(&st, "open");
	strlist_add(&st, "pending");
	ok(outbox_waiting_tickets(s, &st, 0, waiting_row, log, &e), &e);
	strlist_release(&st);
	ok(outbox_first_word_after(s, 1, 1000, &v, &e), &e);
	buf_addf(log, "first word %lld", (long long)v);
	ok(outbox_first_word_after(s, 1, 1700, &v, &e), &e);
	buf_addf(log, " %lld\n", (long long)v);
	ok(outbox_ticket_tags(s, 1, &tags, &e), &e);
	for (size_t i = 0; i < tags.n; i++)
		buf_addf(log, "tag %s\n", tags.items[i]);
	strlist_release(&tags);
}

static void
test_same_as_sqlite(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	(void)state;
	setenv("SECDESK_NOW", "4000", 1);
	exercise_outbox(lite, &a);
	exercise_outbox(pg, &b);
	exercise_rest(lite, &a);
	exercise_rest(pg, &b);
	unsetenv("SECDESK_NOW");
	for (const char *l = buf_cstr(&b); *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0))
		fprintf(stderr, "# %.*s\n", (int)strcspn(l, "\n"), l);
	assert_string_equal(buf_cstr(&b), buf_cstr(&a));
	assert_non_null(strstr(buf_cstr(&a), "row 1 t1 reply sent a1"));
	buf_release(&a);
	buf_release(&b);
}

/* Two senders at once: a row one of them loaded is not the other's to
 * send, until it is recorded (then it is no longer pending) or the first
 * sender is gone. */
static void
test_senders_claim(void **state)
{
	struct store *a = NULL, *b = NULL;
	struct err e = ERR_INIT;
	struct outbox_item it;
	int64_t r1, r2, r3, *ids = NULL;
	size_t n;
	char *pid;

	(void)state;
	ok(store_open(pg_url, 0, &a, &e), &e);
	ok(store_open(pg_url, 0, &b, &e), &e);
	ok(outbox_queue(a, 0, 0, "notice", "", "x@example.org", "1", 1, &r1, &e), &e);
	ok(outbox_queue(a, 0, 0, "notice", "", "x@example.org", "2", 1, &r2, &e), &e);
	ok(outbox_queue(a, 0, 0, "notice", "", "x@example.org", "3", 1, &r3, &e), &e);
	ok(outbox_due(a, false, store_now(), r1 - 1, 10, &ids, &n, &e), &e);
	free(ids);
	assert_int_equal(n, 3);
	assert_int_equal(outbox_load(a, r1, &it, &e), 0);
	outbox_item_release(&it);
	/* b passes over what a holds, and takes the next. */
	assert_int_equal(outbox_load(b, r1, &it, &e), 1);
	assert_int_equal(outbox_load(b, r2, &it, &e), 0);
	outbox_item_release(&it);
	assert_int_equal(outbox_load(a, r2, &it, &e), 1);
	/* Recorded: no longer pending for anyone. */
	ok(store_begin(a, &e), &e);
	ok(outbox_mark_sent(a, r1, &e), &e);
	ok(store_commit(a, &e), &e);
	assert_int_equal(outbox_load(b, r1, &it, &e), 1);
	/* A new pass gives up what is recorded; a's load released r1. */
	pg_assert_sql("t_outbox", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
		      " AND classid = 7105311", "2");
	ok(outbox_due(a, false, store_now(), 0, 10, &ids, &n, &e), &e);
	free(ids);
	pg_assert_sql("t_outbox", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
		      " AND classid = 7105311", "1");
	/* a takes r3 and dies: its claim goes with its connection. */
	assert_int_equal(outbox_load(a, r3, &it, &e), 0);
	outbox_item_release(&it);
	assert_int_equal(outbox_load(b, r3, &it, &e), 1);
	pid = pg_sql("t_outbox", "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND"
		     " classid = 7105311 AND objid = (SELECT max(id) FROM outbox)::oid");
	{
		char *sql = xasprintf("SELECT pg_terminate_backend(%s)", pid);

		free(pg_sql("t_outbox", sql));
		free(sql);
	}
	free(pid);
	for (int i = 0; i < 200; i++) {
		char *left = pg_sql("t_outbox", "SELECT count(*) FROM pg_locks WHERE locktype ="
				    " 'advisory' AND classid = 7105311 AND objid = (SELECT max(id)"
				    " FROM outbox)::oid");
		bool gone = strcmp(left, "0") == 0;

		free(left);
		if (gone)
			break;
		usleep(20000);
	}
	assert_int_equal(outbox_load(b, r3, &it, &e), 0);
	outbox_item_release(&it);
	/* The dead connection's next statement is a transient failure. */
	assert_int_equal(outbox_load(a, r2, &it, &e), -1);
	assert_int_equal(e.code, EXIT_TEMPFAIL);
	store_close(&a);
	store_close(&b);
}

#define SENDS 120

/* One sender (a child process, as on another host): the whole outbox
 * through a sendmail program that logs each mail's first line. */
static int
sender(const char *conf)
{
	struct config cfg;
	struct store *s = NULL;
	struct send_stats st;
	struct err e = ERR_INIT;
	int rc;

	if (config_load(&cfg, conf, &e) < 0 ||
	    store_open(cfg.store.location, 0, &s, &e) < 0) {
		fprintf(stderr, "# sender: %s\n", e.msg);
		return 1;
	}
	rc = outbound_send(&cfg, s, false, &st, &e);
	if (rc < 0)
		fprintf(stderr, "# sender: %s\n", e.msg);
	store_close(&s);
	config_release(&cfg);
	return rc < 0;
}

/* send on two hosts at once: every mail goes out once, none twice, and
 * each is recorded as sent. */
static void
test_two_senders(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *url = pg_make_db("t_send"), *conf, *text, *log, *cmd;
	pid_t pids[2];
	int status;

	(void)state;
	ok(store_open(url, STORE_CREATE, &s, &e), &e);
	ok(store_begin(s, &e), &e);
	for (int i = 0; i < SENDS; i++) {
		char data[64];

		snprintf(data, sizeof(data), "X-Id: %d\r\n\r\nbody\r\n", i);
		ok(outbox_queue(s, 0, 0, "ack", "desk@example.org", "r@example.org", data,
				strlen(data), NULL, &e), &e);
	}
	ok(store_commit(s, &e), &e);
	log = xasprintf("%s/sent.log", unit_dir);
	text = xasprintf("#!/bin/sh\nhead -n 1 | tr -d '\\r' >>'%s'\n", log);
	unit_write_file("sm.sh", text);
	free(text);
	cmd = xasprintf("%s/sm.sh", unit_dir);
	assert_int_equal(chmod(cmd, 0755), 0);
	text = xasprintf("[desk]\nname = Desk\naddress = desk@example.org\n[store]\n"
			 "url = postgresql://%s@127.0.0.1:%s/t_send\npassword_file = %s/run.pw\n"
			 "[send]\nurl = sendmail:%s\n[rules]\ndir = %s\n[templates]\ndir = %s\n",
			 pg_env("PG_RUN_USER"), pg_env("PG_PORT"), unit_dir, cmd, unit_dir, unit_dir);
	unit_write_file("send.conf", text);
	free(text);
	free(cmd);
	conf = xasprintf("%s/send.conf", unit_dir);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(sender(conf));
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	cmd = xasprintf("test $(wc -l <'%s') -eq %d && test $(sort -u '%s' | wc -l) -eq %d", log,
			SENDS, log, SENDS);
	if (system(cmd) != 0) {
		free(cmd);
		cmd = xasprintf("wc -l <'%s'; sort '%s' | uniq -d | head -5", log, log);
		(void)system(cmd);
		fail_msg("not every mail sent exactly once");
	}
	free(cmd);
	pg_assert_sql("t_send", "SELECT count(*) FILTER (WHERE status = 'sent' AND attempts = 1)"
		      " FROM outbox", "120");
	store_close(&s);
	free(conf);
	free(log);
	free(url);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_sqlite),
		cmocka_unit_test(test_senders_claim),
		cmocka_unit_test(test_two_senders),
	};

	/* pg_unit.h's per-backend cases: these groups run both backends in
	 * each case. */
	(void)unit_backend_sqlite;
	(void)unit_backend_pg;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
