/* The PostgreSQL backend's core against a real server: a private one
 * started by tests/harness/pg.sh in this test's folder (a server that
 * cannot be started fails the test; it is never skipped). Shown: a fresh
 * database gets the schema and its version, reopening changes nothing, a
 * newer schema and a foreign database are refused, transactions and
 * events, least privilege, and each connection failure's exit code with
 * its reason on one line. */
#include "compat.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pg_core.h"
#include "pq.h"
#include "store.h"
#include "xalloc.h"

#include "unit.h"
#include "pg_unit.h"

static void
write_secret(const char *name, const char *text, mode_t mode)
{
	char *p = xasprintf("%s/%s", unit_dir, name);

	unit_write_file(name, text);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static int
server_setup(void **state)
{
	if (pg_unit_setup(state) < 0)
		return -1;
	write_secret("staff.pw", pg_env("PG_STAFF_PASS"), 0600);
	write_secret("wrong.pw", "not-the-password\n", 0600);
	write_secret("open.pw", pg_env("PG_RUN_PASS"), 0644);
	store_set_busy_timeout(5000);
	return 0;
}

static void
admin_do(const char *db, const char *sql)
{
	free(pg_admin_sql(db, sql));
}

static void
assert_sql(const char *db, const char *sql, const char *want)
{
	char *got = pg_admin_sql(db, sql);

	if (strcmp(got, want) != 0)
		fail_msg("'%s': expected '%s', got '%s'", sql, want, got);
	free(got);
}

/* A fresh database owned by the run role. */
static void
make_db(const char *name)
{
	char *sql = xasprintf("CREATE DATABASE %s OWNER %s", name, pg_env("PG_RUN_USER"));

	admin_do("postgres", sql);
	free(sql);
}

/* The run role's URL to db, as config.c makes it, with more parameters. */
static char *
url_as(const char *user, const char *pwfile, const char *db, const char *more)
{
	return xasprintf("postgresql://%s@127.0.0.1:%s/%s?password_file=%s/%s%s", user,
			 pg_env("PG_PORT"), db, unit_dir, pwfile, more);
}

static char *
url_for(const char *db, const char *more)
{
	return url_as(pg_env("PG_RUN_USER"), "run.pw", db, more);
}

/* store_open fails with code, and its message, one line, has want in it. */
static void
assert_open_fails(const char *url, unsigned flags, int code, const char *want)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;

	assert_int_equal(store_open(url, flags, &s, &e), -1);
	assert_null(s);
	if (e.code != code || !strstr(e.msg, want) || strchr(e.msg, '\n'))
		fail_msg("expected exit %d with '%s', got %d: %s", code, want, e.code, e.msg);
}

static void
test_fresh_database(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *url;

	(void)state;
	make_db("t_fresh");
	url = url_for("t_fresh", "");
	/* Without STORE_CREATE an empty database says what to run. */
	assert_open_fails(url, 0, EXIT_CANTCREAT, "db init");
	assert_sql("t_fresh", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", "0");
	assert_int_equal(store_open(url, STORE_CREATE, &s, &e), 0);
	assert_string_equal(store_backend(s), "postgresql");
	assert_int_equal(store_file_version(s), store_schema_version(s));
	assert_true(store_schema_version(s) >= 1);
	assert_int_equal(store_check(s, &e), 0);
	store_close(&s);
	assert_null(s);
	assert_sql("t_fresh", "SELECT string_agg(version::text, ',') FROM schema_version", "3");
	assert_sql("t_fresh", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", "14");
	assert_sql("t_fresh", "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
		   "attrelid = 'messages'::regclass AND attname = 'search_words'", "tsvector");
	assert_sql("t_fresh", "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = "
		   "c.relam WHERE c.relname = 'messages_search'", "gin");
	assert_sql("t_fresh", "SELECT length(value) FROM state WHERE key = 'store_id'", "32");
	/* The constraints hold. */
	assert_sql("t_fresh", "SELECT count(*) FROM pg_constraint WHERE contype = 'c' AND "
		   "conrelid IN ('tickets'::regclass, 'intake'::regclass, 'outbox'::regclass, "
		   "'messages'::regclass)", "4");
	/* Reopening migrates nothing. */
	assert_int_equal(store_open(url, 0, &s, &e), 0);
	assert_int_equal(store_file_version(s), store_schema_version(s));
	store_close(&s);
	assert_sql("t_fresh", "SELECT count(*) FROM schema_version", "1");
	free(url);
}

static void
test_newer_and_foreign_refused(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *url, *want;

	(void)state;
	make_db("t_newer");
	url = url_for("t_newer", "");
	assert_int_equal(store_open(url, STORE_CREATE, &s, &e), 0);
	want = xasprintf("schema version 99, newer than this secdesk (%d)",
			 store_schema_version(s));
	store_close(&s);
	admin_do("t_newer", "UPDATE schema_version SET version = 99");
	assert_open_fails(url, 0, EXIT_DATAERR, want);
	assert_open_fails(url, STORE_CREATE, EXIT_DATAERR, want);
	free(url);
	free(want);

	make_db("t_foreign");
	admin_do("t_foreign", "CREATE TABLE somebody_elses (i int)");
	url = url_for("t_foreign", "");
	assert_open_fails(url, STORE_CREATE, EXIT_DATAERR, "not a secdesk store");
	assert_sql("t_foreign", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
		   "1");
	free(url);
}

static void
test_transactions_and_events(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *url = url_for("t_txn", ""), *id, *bad;

	(void)state;
	make_db("t_txn");
	assert_int_equal(store_open(url, STORE_CREATE, &s, &e), 0);
	id = pg_admin_sql("t_txn", "INSERT INTO tickets (created, updated) VALUES (1, 1) "
		       "RETURNING id");
	setenv("SECDESK_NOW", "1234567890", 1);
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "alice", "status", "new", "open", &e), 0);
	/* Not seen by another connection before the commit. */
	assert_sql("t_txn", "SELECT count(*) FROM events", "0");
	assert_int_equal(store_commit(s, &e), 0);
	assert_sql("t_txn", "SELECT concat_ws('|', ticket_id, at, who, what, old_value, "
		   "new_value) FROM events", "1|1234567890|alice|status|new|open");
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "bob", "assign", NULL, "bob", &e), 0);
	store_rollback(s);
	assert_sql("t_txn", "SELECT count(*) FROM events", "1");
	/* Outside a transaction an event stands alone; NULL stays NULL. */
	assert_int_equal(store_event(s, atoll(id), "carol", "note", NULL, NULL, &e), 0);
	assert_sql("t_txn", "SELECT count(*) FROM events WHERE who = 'carol' AND old_value IS "
		   "NULL AND new_value IS NULL", "1");
	/* A ticket that does not exist: the foreign key refuses (an event is
	 * sent ahead: it shows at the commit), the transaction rolls back,
	 * the next one works. */
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_event(s, 999999, "dave", "x", NULL, NULL, &e), 0);
	assert_int_equal(store_commit(s, &e), -1);
	assert_int_equal(e.code, EXIT_SOFTWARE);
	assert_non_null(strstr(e.msg, "cannot record event"));
	assert_null(strchr(e.msg, '\n'));
	store_rollback(s);
	/* Committing after a failed statement fails, and keeps nothing of
	 * the transaction (PostgreSQL answers such a COMMIT with a rollback). */
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "frank", "x", NULL, NULL, &e), 0);
	assert_int_equal(store_event(s, 999999, "dave", "x", NULL, NULL, &e), 0);
	assert_int_equal(store_message_by_raw(s, 1, &e), -1);
	assert_int_equal(store_commit(s, &e), -1);
	assert_non_null(strstr(e.msg, "cannot commit"));
	assert_sql("t_txn", "SELECT count(*) FROM events WHERE who = 'frank'", "0");
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "erin", "tag", NULL, "x", &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	assert_sql("t_txn", "SELECT string_agg(who, ',' ORDER BY id) FROM events",
		   "alice,carol,erin");
	/* Text is bound, never spliced into SQL. */
	bad = xstrdup("o'hara\"; DROP TABLE events; --");
	assert_int_equal(store_event(s, atoll(id), bad, "x", NULL, NULL, &e), 0);
	assert_sql("t_txn", "SELECT count(*) FROM events WHERE who = 'o''hara\"; DROP TABLE "
		   "events; --'", "1");
	unsetenv("SECDESK_NOW");
	store_close(&s);
	free(bad);
	free(id);
	free(url);
}

/* A statement run again is prepared on the connection (pg_prepare): it
 * still sees a table changed under it, and when preparing fails its error
 * is the statement's own. */
static void
test_prepared_statements(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *url = url_for("t_prep", ""), *id;

	(void)state;
	make_db("t_prep");
	assert_int_equal(store_open(url, STORE_CREATE, &s, &e), 0);
	id = pg_admin_sql("t_prep", "INSERT INTO tickets (created, updated) VALUES (1, 1) "
		       "RETURNING id");
	for (int i = 0; i < 4; i++)
		assert_int_equal(store_event(s, atoll(id), "alice", "note", NULL, "x", &e), 0);
	admin_do("t_prep", "ALTER TABLE events ADD COLUMN extra TEXT DEFAULT 'y'");
	assert_int_equal(store_event(s, atoll(id), "bob", "note", NULL, "x", &e), 0);
	assert_sql("t_prep", "SELECT count(*) || ' ' || min(extra) FROM events", "5 y");
	/* Inside a transaction, then rolled back: still prepared after. */
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_event(s, 999999, "dave", "x", NULL, NULL, &e), 0);
	assert_int_equal(store_commit(s, &e), -1);
	assert_non_null(strstr(e.msg, "cannot record event"));
	store_rollback(s);
	assert_int_equal(store_event(s, atoll(id), "carol", "note", NULL, "x", &e), 0);
	assert_sql("t_prep", "SELECT string_agg(who, ',' ORDER BY id) FROM events",
		   "alice,alice,alice,alice,bob,carol");
	store_close(&s);
	/* A fresh session: the first use runs unnamed, the second is prepared,
	 * and preparing fails on a table gone: the statement's error. */
	assert_int_equal(store_open(url, 0, &s, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "erin", "note", NULL, "x", &e), 0);
	admin_do("t_prep", "ALTER TABLE events RENAME TO events_gone");
	e = (struct err)ERR_INIT;
	assert_int_equal(store_event(s, atoll(id), "erin", "note", NULL, "x", &e), -1);
	if (!strstr(e.msg, "cannot record event") || !strstr(e.msg, "events"))
		fail_msg("unexpected error: %s", e.msg);
	admin_do("t_prep", "ALTER TABLE events_gone RENAME TO events");
	assert_int_equal(store_event(s, atoll(id), "frank", "note", NULL, "x", &e), 0);
	assert_int_equal(store_event(s, atoll(id), "frank", "note", NULL, "x", &e), 0);
	assert_sql("t_prep", "SELECT count(*) FROM events WHERE who IN ('erin', 'frank')", "3");
	store_close(&s);
	free(id);
	free(url);
}

/* Statements sent ahead of their results (an event, a savepoint): in a
 * transaction a failure among them shows, under its own words, at the next
 * statement that waits or at the commit, and nothing after it is run;
 * outside a transaction, at once. */
static void
test_sent_ahead(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *url = url_for("t_ahead", ""), *id;

	(void)state;
	make_db("t_ahead");
	assert_int_equal(store_open(url, STORE_CREATE, &s, &e), 0);
	id = pg_admin_sql("t_ahead", "INSERT INTO tickets (created, updated) VALUES (1, 1) "
		       "RETURNING id");
	/* The failure shows at the commit, which keeps nothing. */
	assert_int_equal(store_begin(s, &e), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_event(s, atoll(id), "alice", "note", NULL, "x", &e), 0);
	assert_int_equal(store_event(s, 999999, "dave", "x", NULL, NULL, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "bob", "note", NULL, "x", &e), 0);
	assert_int_equal(store_commit(s, &e), -1);
	if (!strstr(e.msg, "cannot record event") || !strstr(e.msg, "foreign key"))
		fail_msg("unexpected error: %s", e.msg);
	store_rollback(s);
	assert_sql("t_ahead", "SELECT count(*) FROM events", "0");
	/* At the next statement that waits, in the failed statement's words. */
	e = (struct err)ERR_INIT;
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_event(s, 999999, "dave", "x", NULL, NULL, &e), 0);
	assert_int_equal(store_message_by_raw(s, 1, &e), -1);
	if (!strstr(e.msg, "cannot record event"))
		fail_msg("unexpected error: %s", e.msg);
	store_rollback(s);
	/* A message's savepoint: a failure sent ahead inside it is rolled back
	 * with it; what came before it and after it is kept. */
	e = (struct err)ERR_INIT;
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "carol", "before", NULL, NULL, &e), 0);
	assert_int_equal(store_savepoint_begin(s, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "carol", "inside", NULL, NULL, &e), 0);
	assert_int_equal(store_event(s, 999999, "dave", "x", NULL, NULL, &e), 0);
	assert_int_equal(store_savepoint_rollback(s, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "carol", "after", NULL, NULL, &e), 0);
	assert_int_equal(store_savepoint_begin(s, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "carol", "kept", NULL, NULL, &e), 0);
	assert_int_equal(store_savepoint_release(s, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	assert_sql("t_ahead", "SELECT string_agg(what, ',' ORDER BY id) FROM events",
		   "before,after,kept");
	/* Outside a transaction: at once. */
	assert_int_equal(store_event(s, 999999, "dave", "x", NULL, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "cannot record event"));
	assert_int_equal(store_event(s, atoll(id), "erin", "alone", NULL, NULL, &e), 0);
	assert_sql("t_ahead", "SELECT count(*) FROM events WHERE who = 'erin'", "1");
	store_close(&s);
	/* A fresh session whose first prepared statement is prepared inside a
	 * pipeline that fails before it: prepared again at its next use. */
	assert_int_equal(store_open(url, 0, &s, &e), 0);
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_event(s, 999999, "dave", "x", NULL, NULL, &e), 0);
	assert_int_equal(store_event(s, atoll(id), "frank", "x", NULL, NULL, &e), 0);
	assert_int_equal(store_commit(s, &e), -1);
	store_rollback(s);
	e = (struct err)ERR_INIT;
	assert_int_equal(store_begin(s, &e), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_event(s, atoll(id), "frank", "x", NULL, NULL, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	assert_sql("t_ahead", "SELECT count(*) FROM events WHERE who = 'frank'", "3");
	store_close(&s);
	free(id);
	free(url);
}

/* Least privilege (issue 17): the staff role opens the store the run role
 * made and writes rows, but cannot make the schema. */
static void
test_staff_role(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	const char *db = pg_env("PG_DB");
	char *run = url_for(db, ""), *staff = url_as(pg_env("PG_STAFF_USER"), "staff.pw", db, "");
	char *id;

	(void)state;
	assert_open_fails(staff, STORE_CREATE, EXIT_CANTCREAT, "permission denied");
	assert_int_equal(store_open(run, STORE_CREATE, &s, &e), 0);
	store_close(&s);
	assert_int_equal(store_open(staff, 0, &s, &e), 0);
	id = pg_admin_sql(db, "INSERT INTO tickets (created, updated) VALUES (1, 1) RETURNING id");
	assert_int_equal(store_event(s, atoll(id), "staff", "status", "new", "open", &e), 0);
	assert_int_equal(store_check(s, &e), 0);
	store_close(&s);
	assert_sql(db, "SELECT count(*) FROM events WHERE who = 'staff'", "1");
	free(id);
	free(run);
	free(staff);
}

static int
closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void
test_connection_failures(void **state)
{
	const char *port = pg_env("PG_PORT"), *db = pg_env("PG_DB");
	char *url;

	(void)state;
	/* Nobody listening: transient. */
	url = xasprintf("postgresql://desk_run@127.0.0.1:%d/%s?password_file=%s/run.pw",
			closed_port(), db, unit_dir);
	assert_open_fails(url, 0, EXIT_TEMPFAIL, "Connection refused");
	free(url);
	/* Refused logins: configuration. */
	url = url_as(pg_env("PG_RUN_USER"), "wrong.pw", db, "");
	assert_open_fails(url, 0, EXIT_CONFIG, "password authentication failed");
	free(url);
	url = xasprintf("postgresql://desk_run@127.0.0.1:%s/%s", port, db);
	assert_open_fails(url, 0, EXIT_CONFIG, "asks for a password");
	free(url);
	url = url_for(db, "");
	{
		char *open_pw = xasprintf("%s/open.pw", unit_dir), *u;

		u = xasprintf("postgresql://desk_run@127.0.0.1:%s/%s?password_file=%s", port, db,
			      open_pw);
		assert_open_fails(u, 0, EXIT_CONFIG, "0600");
		free(u);
		free(open_pw);
	}
	free(url);
	url = xasprintf("postgresql://desk_run:hunter2@127.0.0.1:%s/%s", port, db);
	assert_open_fails(url, 0, EXIT_CONFIG, "password_file");
	{
		struct store *s = NULL;
		struct err e = ERR_INIT;

		assert_int_equal(store_open(url, 0, &s, &e), -1);
		assert_null(strstr(e.msg, "hunter2"));
	}
	free(url);
	url = url_for("no_such_db", "");
	assert_open_fails(url, 0, EXIT_CONFIG, "does not exist");
	free(url);
	url = url_for(db, "&bogus=1");
	assert_open_fails(url, 0, EXIT_CONFIG, "bogus");
	free(url);
	/* TLS asked of a server without it: configuration. */
	url = url_for(db, "&sslmode=require");
	assert_open_fails(url, 0, EXIT_CONFIG, "SSL");
	free(url);
}

/* A host that is not this machine gets sslmode=verify-full by default:
 * a name with hostaddr=127.0.0.1 (no lookup, loopback traffic only). */
static void
test_remote_host_requires_tls(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	const char *db = pg_env("PG_DB");
	char *url = xasprintf("postgresql://desk_run@db.example.org:%s/%s?hostaddr=127.0.0.1"
			      "&password_file=%s/run.pw", pg_env("PG_PORT"), db, unit_dir);
	char *plain = xasprintf("%s&sslmode=disable", url);

	(void)state;
	assert_open_fails(url, 0, EXIT_CONFIG, "SSL");
	/* Said explicitly, plain text is allowed: the refusal above was the default. */
	assert_int_equal(store_open(plain, STORE_CREATE, &s, &e), 0);
	store_close(&s);
	free(url);
	free(plain);
}

/* The setting name has in the store's session. */
static void
assert_setting(struct store *s, const char *name, const char *want)
{
	char *sql = xasprintf("SELECT current_setting('%s')", name);
	PGresult *r = PQexec(pg_conn(s), sql);

	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	if (strcmp(PQgetvalue(r, 0, 0), want) != 0)
		fail_msg("%s: expected '%s', got '%s'", name, want, PQgetvalue(r, 0, 0));
	PQclear(r);
	free(sql);
}

/* The session's settings come with the connection (no statements of
 * their own): UTF-8 whatever the URL says, the lock timeout, and the
 * URL's options or else PGOPTIONS kept beside them. */
static void
test_session_settings(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	const char *db = pg_env("PG_DB");
	char *url = url_for(db, "&client_encoding=LATIN1&options=-c%20statement_timeout%3D4321");
	char *plain = url_for(db, "");

	(void)state;
	assert_int_equal(store_open(url, STORE_CREATE, &s, &e), 0);
	assert_setting(s, "client_encoding", "UTF8");
	assert_setting(s, "lock_timeout", "5s");
	assert_setting(s, "statement_timeout", "4321ms");
	store_close(&s);
	assert_int_equal(setenv("PGOPTIONS", "-c statement_timeout=1234", 1), 0);
	assert_int_equal(store_open(plain, 0, &s, &e), 0);
	assert_int_equal(unsetenv("PGOPTIONS"), 0);
	assert_setting(s, "statement_timeout", "1234ms");
	assert_setting(s, "lock_timeout", "5s");
	store_close(&s);
	/* A bad option is the server's refusal, a mistake of the configuration. */
	free(url);
	url = url_for(db, "&options=-c%20no_such_setting%3D1");
	assert_open_fails(url, 0, EXIT_CONFIG, "no_such_setting");
	free(url);
	free(plain);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_database),
		cmocka_unit_test(test_newer_and_foreign_refused),
		cmocka_unit_test(test_transactions_and_events),
		cmocka_unit_test(test_prepared_statements),
		cmocka_unit_test(test_sent_ahead),
		cmocka_unit_test(test_staff_role),
		cmocka_unit_test(test_connection_failures),
		cmocka_unit_test(test_remote_host_requires_tls),
		cmocka_unit_test(test_session_settings),
	};

	return cmocka_run_group_tests(tests, server_setup, pg_unit_teardown);
}
