/* The store: creation, migration, versions, refusal of foreign files, and
 * the capped buffer it is filled through. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "buf.h"
#include "store.h"
#include "store_sqlite.h"
#include "../../src/store/sqlite_schema.h"
#include "ticket.h"
#include "xalloc.h"

#include "unit.h"


static char *
path_of(const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", unit_dir, name) > 0);
	return p;
}

static void
test_create_and_version(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *p = path_of("a.db");

	(void)state;
	/* Without STORE_CREATE a missing store is an error that says what to do. */
	assert_int_equal(store_open(p, 0, &s, &e), -1);
	assert_int_equal(e.code, EXIT_CANTCREAT);
	assert_non_null(strstr(e.msg, "db init"));
	assert_int_equal(store_open(p, STORE_CREATE, &s, &e), 0);
	assert_int_equal(store_file_version(s), store_schema_steps());
	assert_int_equal(store_check(s, &e), 0);
	store_close(&s);
	assert_null(s);
	/* Reopening migrates nothing and keeps the version. */
	assert_int_equal(store_open(p, 0, &s, &e), 0);
	assert_int_equal(store_file_version(s), store_schema_steps());
	store_close(&s);
	free(p);
}

static void
test_foreign_and_newer(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *p = path_of("foreign.db"), *cmd = NULL, *want;

	(void)state;
	assert_true(asprintf(&cmd, "sqlite3 '%s' 'CREATE TABLE t (x)'", p) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(store_open(p, STORE_CREATE, &s, &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	assert_non_null(strstr(e.msg, "not a secdesk store"));
	free(p);

	p = path_of("newer.db");
	assert_true(asprintf(&cmd, "sqlite3 '%s' 'PRAGMA user_version = 999'", p) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(store_open(p, 0, &s, &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	assert_non_null(strstr(e.msg, "newer than this secdesk"));
	/* Both versions named: the store's and this program's. */
	want = xasprintf("version 999, newer than this secdesk (%d)", store_schema_steps());
	assert_non_null(strstr(e.msg, want));
	free(want);
	free(p);

	p = path_of("garbage.db");
	assert_true(asprintf(&cmd, "head -c 8192 /dev/urandom > '%s'", p) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(store_open(p, 0, &s, &e), -1);
	assert_true(e.code == EXIT_DATAERR || e.code == EXIT_SOFTWARE);
	free(p);
}

static void
test_ticket_fields_and_events(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	struct ticket t;
	char *p = path_of("t.db");
	sqlite3_stmt *st;

	(void)state;
	assert_int_equal(store_open(p, STORE_CREATE, &s, &e), 0);
	assert_int_equal(store_exec(s, "INSERT INTO tickets (subject, requester, created, updated)"
				       " VALUES ('Hello', 'a@example.org', 1, 1)", &e), 0);
	assert_int_equal(ticket_set_field(s, 1, "status", "open", "maria", &e), 0);
	assert_int_equal(ticket_set_field(s, 1, "status", "done", "maria", &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	assert_int_equal(ticket_set_field(s, 1, "requester; DROP TABLE x", "v", "m", &e), -1);
	assert_int_equal(ticket_add_tag(s, 1, "call-2027", "maria", &e), 0);
	assert_int_equal(ticket_add_tag(s, 1, "call-2027", "maria", &e), 0); /* no-op */
	assert_int_equal(ticket_add_tag(s, 1, "two words", "maria", &e), -1);
	assert_int_equal(ticket_load(s, 1, &t, &e), 0);
	assert_string_equal(t.status, "open");
	assert_int_equal(t.tags.n, 1);
	ticket_release(&t);
	assert_int_equal(ticket_load(s, 2, &t, &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	/* One event per real change: status and the first tag. */
	st = store_prepare(s, "SELECT count(*) FROM events WHERE ticket_id = 1", &e);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_reset(st);
	store_close(&s);
	free(p);
}

/* ---- the ticket reads of list, show and rules replay (ticket.h) ---- */

static int
hit_ids(const struct ticket_filter *f, struct store *s, char *out, size_t n)
{
	struct ticket_hit *h = NULL;
	struct err e = ERR_INIT;
	size_t nh = 0, off = 0;

	if (ticket_list(s, f, &h, &nh, &e) < 0)
		fail_msg("ticket_list: %s", e.msg);
	out[0] = '\0';
	for (size_t i = 0; i < nh; i++)
		off += (size_t)snprintf(out + off, n - off, "%s%lld%s", i ? " " : "",
					(long long)h[i].id, h[i].answered ? "a" : "");
	free(h);
	return (int)nh;
}

static void
assert_list(struct store *s, const struct ticket_filter *f, const char *want)
{
	char got[256];

	hit_ids(f, s, got, sizeof(got));
	assert_string_equal(got, want);
}

static int
event_line(void *arg, const struct ticket_event *ev, struct err *e)
{
	(void)e;
	buf_addf(arg, "%lld %s %s %s %s|", (long long)ev->at, ev->who, ev->what,
		 ev->old_value ? ev->old_value : "-", ev->new_value ? ev->new_value : "-");
	return 0;
}

static int
message_line(void *arg, const struct ticket_message *m, struct err *e)
{
	(void)e;
	buf_addf(arg, "%lld %s %s %s %s %lld %s|", (long long)m->id, m->direction, m->kind,
		 m->from_addr, m->has_date ? "dated" : "undated", (long long)m->created,
		 m->parse_note ? m->parse_note : "-");
	return 0;
}

static int
message_stop(void *arg, const struct ticket_message *m, struct err *e)
{
	(void)arg;
	(void)m;
	return err_set(e, EXIT_DATAERR, "stopped");
}

static int
raw_line(void *arg, int64_t ticket_id, const char *raw, size_t len, struct err *e)
{
	(void)e;
	buf_addf(arg, "%lld:%.*s|", (long long)ticket_id, (int)len, raw);
	return 0;
}

static struct store *
reads_store(const char *name)
{
	static const char *const rows[] = {
		"INSERT INTO tickets (id, status, queue, priority, requester, created, updated) VALUES"
		" (1, 'new', 'DE', 'high', 'a@example.org', 100, 500),"
		" (2, 'open', 'fr', 'low', 'b@example.org', 200, 400),"
		" (3, 'pending', 'de', 'urgent', 'c@example.org', 300, 300),"
		" (4, 'new', 'IT', 'normal', 'd@example.org', 350, 350)",
		"INSERT INTO raws (id, sha256, size, data) VALUES (1, 'x1', 5, 'raw-1'),"
		" (2, 'x2', 5, 'raw-2'), (4, 'x4', 5, 'raw-4')",
		"INSERT INTO messages (id, ticket_id, direction, kind, from_addr, date, raw_id,"
		" parse_note, created) VALUES"
		" (1, 1, 'in', 'inquiry', 'a@example.org', NULL, 1, NULL, 100),"
		" (2, 1, 'out', 'reply', 'desk@example.org', 150, NULL, NULL, 150),"
		" (3, 2, 'in', 'inquiry', 'b@example.org', 200, 2, 'cut short', 200),"
		" (4, 2, 'out', 'ack', 'desk@example.org', 201, NULL, NULL, 201),"
		" (5, 4, 'in', 'inquiry', 'd@example.org', 350, 4, NULL, 350)",
	};
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *p = path_of(name);

	assert_int_equal(store_open(p, STORE_CREATE, &s, &e), 0);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		if (store_exec(s, rows[i], &e) < 0)
			fail_msg("%s: %s", rows[i], e.msg);
	free(p);
	return s;
}

static void
test_ticket_list_filters(void **state)
{
	struct store *s;
	struct strlist status = STRLIST_INIT;
	struct ticket_filter f = { .sort = TICKET_SORT_UPDATED, .descending = true };

	(void)state;
	setenv("SECDESK_NOW", "1000", 1);
	s = reads_store("list.db");
	assert_list(s, &f, "1 2 4 3");
	f.want_answered = true;
	assert_list(s, &f, "1a 2 4 3");
	f.want_answered = false;
	/* Only a staff reply answers: 2's acknowledgement does not. */
	f.unanswered = true;
	assert_list(s, &f, "2 4 3");
	f.unanswered = false;
	f.queue = "de"; /* in any case */
	assert_list(s, &f, "1 3");
	f.queue = NULL;
	strlist_add(&status, "new");
	strlist_add(&status, "pending");
	f.status = &status;
	assert_list(s, &f, "1 4 3");
	f.status = NULL;
	f.older_than = 750; /* created at 250 or before */
	assert_list(s, &f, "1 2");
	f.older_than = 0;
	f.sort = TICKET_SORT_PRIORITY;
	f.descending = false;
	assert_list(s, &f, "2 4 1 3");
	f.sort = TICKET_SORT_QUEUE;
	assert_list(s, &f, "1 3 2 4");
	f.descending = true;
	f.limit = 2;
	assert_list(s, &f, "4 2");
	f.limit = 0;
	f.sort = (enum ticket_sort)99;
	{
		struct ticket_hit *h = NULL;
		struct err e = ERR_INIT;
		size_t n = 0;

		assert_int_equal(ticket_list(s, &f, &h, &n, &e), -1);
		assert_int_equal(e.code, EXIT_SOFTWARE);
		assert_null(h);
	}
	strlist_release(&status);
	store_close(&s);
	unsetenv("SECDESK_NOW");
}

static void
test_ticket_tags_merge_and_thread(void **state)
{
	struct store *s;
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	struct ticket_filter f = { .sort = TICKET_SORT_ID };
	struct strlist w = STRLIST_INIT;

	(void)state;
	setenv("SECDESK_NOW", "1000", 1);
	s = reads_store("merge.db");
	assert_int_equal(ticket_add_tag(s, 4, "call-2027", "maria", &e), 0);
	assert_int_equal(ticket_remove_tag(s, 4, "absent", "maria", &e), 0); /* no event */
	assert_int_equal(ticket_add_tag(s, 99, "orphan", "maria", &e), 0);    /* no ticket */
	/* 4 goes into 1: its message, tag and requester (who wrote it) move. */
	assert_int_equal(ticket_merge(s, 4, 1, "maria", &e), 0);
	assert_int_equal(ticket_merge(s, 4, 1, "maria", &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	assert_non_null(strstr(e.msg, "already merged into #1"));
	assert_list(s, &f, "1 2 3");
	assert_int_equal(ticket_watchers(s, 1, &w, &e), 0);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.items[0], "d@example.org");
	strlist_release(&w);

	assert_int_equal(ticket_events(s, 4, event_line, &b, &e), 0);
	assert_string_equal(buf_cstr(&b), "1000 maria tag - call-2027|1000 maria status new closed|"
			    "1000 maria merged - 1|");
	buf_reset(&b);
	assert_int_equal(ticket_messages(s, 1, message_line, &b, &e), 0);
	assert_string_equal(buf_cstr(&b), "1 in inquiry a@example.org undated 100 -|"
			    "2 out reply desk@example.org dated 150 -|"
			    "5 in inquiry d@example.org dated 350 -|");
	buf_reset(&b);
	assert_int_equal(ticket_messages(s, 2, message_line, &b, &e), 0);
	assert_non_null(strstr(buf_cstr(&b), "cut short"));
	/* A callback's error ends the walk with it. */
	assert_int_equal(ticket_messages(s, 1, message_stop, NULL, &e), -1);
	assert_string_equal(e.msg, "stopped");
	buf_reset(&b);
	/* What the rules saw first, per ticket: 4's message is now 1's second. */
	assert_int_equal(ticket_first_raws(s, raw_line, &b, &e), 0);
	assert_string_equal(buf_cstr(&b), "1:raw-1|2:raw-2|");
	buf_release(&b);
	store_close(&s);
	unsetenv("SECDESK_NOW");
}

/* How many temporary b-trees the statement sql opens when it runs. */
static int
ephemeral_tables(sqlite3 *db, const char *sql)
{
	char *explain = xasprintf("EXPLAIN %s", sql);
	sqlite3_stmt *st;
	int n = 0;

	assert_int_equal(sqlite3_prepare_v2(db, explain, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(st, 1), "OpenEphemeral") == 0)
			n++;
	sqlite3_finalize(st);
	free(explain);
	return n;
}

/* The statements a fetch runs per mail check their status and state
 * without a temporary b-tree each (schema step 4 -> 5), and the checks
 * still refuse what they refused; a version 4 store gets the same. */
static void
test_checks_without_temporary_tables(void **state)
{
	const char *const stmts[] = {
		"INSERT INTO tickets (created, updated) VALUES (1, 1)",
		"INSERT INTO intake (source, key, raw_id, created) VALUES ('s', 'k', 1, 1)",
		"UPDATE intake SET state = 'stored' WHERE id = 1",
		"INSERT INTO outbox (kind, rcpts, data, next_try, created) VALUES ('ack', 'a', 'd', 1, 1)",
	};
	const char *const bad[] = {
		"INSERT INTO tickets (status, created, updated) VALUES ('gone', 1, 1)",
		"INSERT INTO outbox (kind, rcpts, data, next_try, created, status)"
		" VALUES ('ack', 'a', 'd', 1, 1, 'lost')",
	};
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *fresh = path_of("checks.db"), *old = path_of("v4.db");
	sqlite3 *db;

	(void)state;
	/* A version 4 store, made by the first four steps. */
	assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
	for (int v = 0; v < 4; v++)
		assert_int_equal(sqlite3_exec(db, store_schema_step(v), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 4", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	for (int f = 0; f < 2; f++) {
		assert_int_equal(store_open(f ? old : fresh, STORE_CREATE, &s, &e), 0);
		assert_int_equal(store_file_version(s), store_schema_steps());
		for (size_t i = 0; i < ARRAY_SIZE(stmts); i++)
			assert_int_equal(ephemeral_tables(store_db(s), stmts[i]), 0);
		assert_int_equal(sqlite3_exec(store_db(s), "PRAGMA foreign_keys = OFF", NULL, NULL,
					      NULL), SQLITE_OK);
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			assert_int_equal(sqlite3_exec(store_db(s), bad[i], NULL, NULL, NULL),
					 SQLITE_CONSTRAINT_CHECK);
		assert_int_equal(sqlite3_exec(store_db(s), "INSERT INTO intake (source, key, raw_id,"
					      " created, state) VALUES ('s', 'k', 1, 1, 'eaten')",
					      NULL, NULL, NULL), SQLITE_CONSTRAINT_CHECK);
		assert_int_equal(sqlite3_exec(store_db(s), "INSERT INTO tickets (status, created,"
					      " updated) VALUES ('closed', 1, 1)", NULL, NULL, NULL),
				 SQLITE_OK);
		assert_int_equal(store_check(s, &e), 0);
		store_close(&s);
	}
	free(fresh);
	free(old);
}

/* A store at schema version `version`, made by the shipped steps before
 * it, with rows in every table that a version of that age has. Its foreign
 * keys hold unless `dangling`. */
static void
make_old_store(const char *path, int version, bool dangling)
{
	/* Each row is valid from schema version `since` on. */
	static const struct {
		int since;
		const char *sql;
	} rows[] = {
		{ 1, "INSERT INTO raws VALUES (1, 'aa', 3, x'616263'), (2, 'bb', 1, x'00')" },
		{ 1, "INSERT INTO tickets (id, status, queue, category, priority, language, subject,"
		     " requester, requester_name, assignee, flags, created, updated) VALUES"
		     " (1, 'open', 'grants', 'call', 'high', 'de', 'Frage', 'a@example.org',"
		     " 'Änne', 'maria', 3, 10, 20),"
		     " (2, 'closed', 'secretariat', 'general', 'low', 'en', 'Q', 'b@example.org',"
		     " '', '', 0, 11, 21)" },
		{ 1, "INSERT INTO tickets (id, status, subject, merged_into, related_to, created,"
		     " updated) VALUES (3, 'resolved', 'dup', 1, 2, 12, 22)" },
		{ 1, "INSERT INTO ticket_tags VALUES (1, 'call-2027'), (1, 'urgent'), (3, 'dup')" },
		{ 1, "INSERT INTO watchers VALUES (1, 'C@Example.org')" },
		{ 1, "INSERT INTO messages (id, ticket_id, direction, kind, from_addr, subject,"
		     " date, message_id, body, names, flags, parse_note, raw_id, created) VALUES"
		     " (1, 1, 'in', 'inquiry', 'a@example.org', 'Frage', 9, '<m1@x>',"
		     " 'Fördermittel für 2027', 'Änne a@example.org', 1, 'note', 1, 10),"
		     " (2, 1, 'out', 'ack', 'desk@example.org', 'Re: Frage', 10, '<m2@x>',"
		     " 'Danke', '', 0, NULL, NULL, 11)" },
		{ 1, "INSERT INTO intake (id, source, key, raw_id, state, attempts, message_id,"
		     " done, created) VALUES (1, 'maildir:/m', 'k1', 1, 'stored', 1, 1, 1, 10),"
		     " (2, 'maildir:/m', 'k2', 2, 'poison', 3, NULL, 0, 11),"
		     " (3, 'imap:x', 'k3', 2, 'pending', 0, NULL, 0, 12)" },
		{ 1, "INSERT INTO events (ticket_id, at, who, what, old_value, new_value) VALUES"
		     " (1, 15, 'maria', 'status', 'new', 'open'), (3, 16, 'maria', 'merge', NULL, '1')" },
		{ 1, "INSERT INTO blobs VALUES ('cc', 2, x'4142')" },
		{ 1, "INSERT INTO attachments (message_id, idx, filename, content_type, size, sha256)"
		     " VALUES (1, 0, 'a.pdf', 'application/pdf', 2, 'cc'), (1, 1, 'big', '', 9, NULL)" },
		{ 1, "INSERT INTO outbox (id, ticket_id, message_id, kind, env_from, rcpts, data,"
		     " status, attempts, next_try, last_error, created, sent_at) VALUES"
		     " (1, 1, 2, 'ack', 'desk@example.org', 'a@example.org', x'6869', 'sent', 1, 11,"
		     " NULL, 11, 12),"
		     " (2, 2, NULL, 'notice', '', 'p@example.org', x'00', 'pending', 2, 30, '451 later',"
		     " 12, NULL),"
		     " (3, NULL, NULL, 'remind', '', 'q@example.org', x'01', 'failed', 5, 40, '550 no',"
		     " 13, NULL)" },
		{ 1, "INSERT INTO autoreply_log VALUES ('a@example.org', 600), ('a@example.org', 610),"
		     " ('b@example.org', 700)" },
		{ 1, "INSERT INTO state VALUES ('breaker', 'open'), ('last_remind', '99')" },
		{ 1, "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')" },
		{ 2, "INSERT INTO autoreply_count SELECT at / 60, count(*) FROM autoreply_log"
		     " GROUP BY at / 60" },
		{ 2, "UPDATE outbox SET rejected = 'x@example.org 550 no', delivered = 'y@example.org'"
		     " WHERE id = 2" },
		{ 3, "INSERT INTO state VALUES ('fts_upto', '2')" },
		{ 4, "UPDATE outbox SET quote_of = 1, quote_at = 17 WHERE id = 2" },
	};
	sqlite3 *db;
	char *pragma = xasprintf("PRAGMA user_version = %d", version);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (int v = 0; v < version; v++)
		assert_int_equal(sqlite3_exec(db, store_schema_step(v), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, pragma, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		/* The full-text index lived in the store up to version 3. */
		if (rows[i].since > version || (strstr(rows[i].sql, "fts") && version > 3))
			continue;
		assert_int_equal(sqlite3_exec(db, rows[i].sql, NULL, NULL, NULL), SQLITE_OK);
	}
	if (dangling) {
		assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "INSERT INTO events (ticket_id, at, who, what)"
					      " VALUES (404, 1, 'x', 'y')", NULL, NULL, NULL),
				 SQLITE_OK);
	}
	sqlite3_close(db);
	free(pragma);
}

/* Every row the query returns, one line each, values apart by '|'. */
static char *
query_text(sqlite3 *db, const char *sql)
{
	char *out = xstrdup("");
	sqlite3_stmt *st;
	int rc;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *next;

		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const char *v = (const char *)sqlite3_column_text(st, c);

			next = xasprintf("%s%s%s", out, c ? "|" : "",
					 sqlite3_column_type(st, c) == SQLITE_NULL ? "NULL" : v);
			free(out);
			out = next;
		}
		next = xasprintf("%s\n", out);
		free(out);
		out = next;
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	return out;
}

static char *
file_query_text(const char *path, const char *sql)
{
	sqlite3 *db;
	char *out;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	out = query_text(db, sql);
	sqlite3_close(db);
	return out;
}

/* What a store holds that a migration must keep, each query valid at
 * every schema version from `since` on. */
static const struct {
	int since;
	const char *sql;
} kept[] = {
	{ 1, "SELECT * FROM raws ORDER BY id" },
	{ 1, "SELECT * FROM intake ORDER BY id" },
	{ 1, "SELECT * FROM tickets ORDER BY id" },
	{ 1, "SELECT * FROM ticket_tags ORDER BY 1, 2" },
	{ 1, "SELECT * FROM watchers ORDER BY 1, 2" },
	{ 1, "SELECT * FROM messages ORDER BY id" },
	{ 1, "SELECT * FROM events ORDER BY id" },
	{ 1, "SELECT * FROM blobs ORDER BY 1" },
	{ 1, "SELECT * FROM attachments ORDER BY id" },
	{ 1, "SELECT id, ticket_id, message_id, kind, env_from, rcpts, data, status, attempts,"
	     " next_try, last_error, created, sent_at FROM outbox ORDER BY id" },
	{ 1, "SELECT * FROM autoreply_log ORDER BY rowid" },
	{ 1, "SELECT * FROM state WHERE key <> 'fts_upto' AND key <> 'store_id' ORDER BY key" },
	{ 2, "SELECT rejected, delivered FROM outbox ORDER BY id" },
	{ 2, "SELECT * FROM autoreply_count ORDER BY minute" },
	{ 4, "SELECT quote_of, quote_at FROM outbox ORDER BY id" },
	{ 4, "SELECT value FROM state WHERE key = 'store_id'" },
};

static const char schema_sql[] =
	"SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name";

/* A store at each earlier schema version migrates forward with its rows
 * intact, to the schema a new store has, checks and foreign keys on. */
static void
test_migrate_each_version(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *fresh = path_of("fresh.db"), *fresh_schema;

	(void)state;
	assert_int_equal(store_open(fresh, STORE_CREATE, &s, &e), 0);
	store_close(&s);
	fresh_schema = file_query_text(fresh, schema_sql);
	/* The text of the changed CHECKs, as new stores have had it. */
	assert_non_null(strstr(fresh_schema, "CHECK (status = 'new' OR status = 'open' OR status ="
				" 'pending' OR status = 'resolved' OR status = 'closed')"));
	assert_null(strstr(fresh_schema, "status IN"));
	assert_null(strstr(fresh_schema, "state IN"));
	for (int version = 1; version < store_schema_steps(); version++) {
		char *name = xasprintf("migrate-v%d.db", version), *p = path_of(name);
		char *before[ARRAY_SIZE(kept)] = { NULL }, *after, *schema;

		make_old_store(p, version, false);
		for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
			if (kept[i].since <= version)
				before[i] = file_query_text(p, kept[i].sql);
		assert_int_equal(store_open(p, 0, &s, &e), 0);
		assert_int_equal(store_file_version(s), store_schema_steps());
		assert_int_equal(store_check(s, &e), 0);
		/* Checks and foreign keys hold after it. */
		assert_int_equal(sqlite3_exec(store_db(s), "UPDATE tickets SET status = 'gone'"
					      " WHERE id = 1", NULL, NULL, NULL),
				 SQLITE_CONSTRAINT_CHECK);
		assert_int_equal(sqlite3_exec(store_db(s), "INSERT INTO events (ticket_id, at, who,"
					      " what) VALUES (404, 1, 'x', 'y')", NULL, NULL, NULL),
				 SQLITE_CONSTRAINT_FOREIGNKEY);
		assert_int_equal(sqlite3_exec(store_db(s), "DELETE FROM tickets WHERE id = 1", NULL,
					      NULL, NULL), SQLITE_CONSTRAINT_FOREIGNKEY);
		store_close(&s);
		for (size_t i = 0; i < ARRAY_SIZE(kept); i++) {
			if (!before[i])
				continue;
			after = file_query_text(p, kept[i].sql);
			assert_string_equal(after, before[i]);
			free(after);
			free(before[i]);
		}
		/* What later steps added: defaults and derived rows. */
		after = file_query_text(p, "SELECT count(*) FROM outbox WHERE rejected = '' AND"
					" delivered = '' AND quote_of IS NULL AND quote_at IS NULL");
		assert_string_equal(after, version < 2 ? "3\n" : "2\n");
		free(after);
		after = file_query_text(p, "SELECT * FROM autoreply_count ORDER BY minute");
		assert_string_equal(after, "10|2\n11|1\n");
		free(after);
		after = file_query_text(p, "SELECT length(value) FROM state WHERE key = 'store_id'"
					" OR key = 'fts_upto'");
		assert_string_equal(after, "32\n");
		free(after);
		schema = file_query_text(p, schema_sql);
		assert_string_equal(schema, fresh_schema);
		free(schema);
		free(p);
		free(name);
	}
	free(fresh_schema);
	free(fresh);
}

/* A store whose rows already break a foreign key is not migrated: the
 * check before the commit refuses it, and it stays as it was. */
static void
test_migrate_refuses_broken_keys(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *p = path_of("dangling.db"), *before, *after;

	(void)state;
	make_old_store(p, 4, true);
	before = file_query_text(p, schema_sql);
	assert_int_equal(store_open(p, 0, &s, &e), -1);
	assert_null(s);
	assert_int_equal(e.code, EXIT_DATAERR);
	assert_non_null(strstr(e.msg, "migrating to schema version"));
	assert_non_null(strstr(e.msg, "events"));
	after = file_query_text(p, schema_sql);
	assert_string_equal(after, before);
	free(after);
	after = file_query_text(p, "PRAGMA user_version");
	assert_string_equal(after, "4\n");
	free(after);
	free(before);
	free(p);
}

static void
test_buf_cap(void **state)
{
	struct buf b;
	char *s;
	size_t len;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_addstr(&b, "0123456789"), 0);
	assert_int_equal(buf_addch(&b, 'x'), -1); /* the cap is an error */
	assert_int_equal(b.len, 10);
	assert_string_equal(buf_cstr(&b), "0123456789");
	buf_reset(&b);
	assert_int_equal(buf_addf(&b, "%d-%s", 42, "ab"), 0);
	assert_string_equal(buf_cstr(&b), "42-ab");
	assert_int_equal(buf_addf(&b, "%s", "too long for it"), -1);
	s = buf_detach(&b, &len);
	assert_string_equal(s, "42-ab");
	assert_int_equal(len, 5);
	free(s);
	assert_string_equal(buf_cstr(&b), "");
	/* Grown but empty is still a valid empty string. */
	assert_int_equal(buf_grow(&b, 5), 0);
	s = buf_detach(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	buf_release(&b);
}

/* The store names its files; nothing outside src/store/ knows SQLite's. */
static void
test_files(void **state)
{
	static const char *const want[] = { "/d/s.db", "/d/s.db-wal", "/d/s.db-shm",
					     "/d/s.db-journal", "/d/s.db-search",
					     "/d/s.db-search-wal", "/d/s.db-search-shm",
					     "/d/s.db-search-journal" };
	static const char *const locations[] = { "/d/s.db", "sqlite:/d/s.db" };
	struct strlist files = STRLIST_INIT;

	(void)state;
	for (size_t l = 0; l < ARRAY_SIZE(locations); l++) {
		store_files(locations[l], &files);
		assert_int_equal(files.n, ARRAY_SIZE(want));
		for (size_t i = 0; i < ARRAY_SIZE(want); i++)
			assert_string_equal(files.items[i], want[i]);
		strlist_release(&files);
	}
	/* A server's store, and a location no backend takes: no files. */
	store_files("postgresql://desk@localhost/desk", &files);
	store_files("ftp://x/y", &files);
	store_files("sqlite:", &files);
	assert_int_equal(files.n, 0);
	strlist_release(&files);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_version),
		cmocka_unit_test(test_foreign_and_newer),
		cmocka_unit_test(test_ticket_fields_and_events),
		cmocka_unit_test(test_ticket_list_filters),
		cmocka_unit_test(test_ticket_tags_merge_and_thread),
		cmocka_unit_test(test_checks_without_temporary_tables),
		cmocka_unit_test(test_migrate_each_version),
		cmocka_unit_test(test_migrate_refuses_broken_keys),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
