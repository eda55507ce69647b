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
#include "store_schema.h"
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
	assert_int_equal(store_file_version(s), store_schema_version());
	assert_int_equal(store_check(s, &e), 0);
	store_close(&s);
	assert_null(s);
	/* Reopening migrates nothing and keeps the version. */
	assert_int_equal(store_open(p, 0, &s, &e), 0);
	assert_int_equal(store_file_version(s), store_schema_version());
	store_close(&s);
	free(p);
}

static void
test_foreign_and_newer(void **state)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *p = path_of("foreign.db"), *cmd = NULL;

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
		assert_int_equal(store_file_version(s), store_schema_version());
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_version),
		cmocka_unit_test(test_foreign_and_newer),
		cmocka_unit_test(test_ticket_fields_and_events),
		cmocka_unit_test(test_checks_without_temporary_tables),
		cmocka_unit_test(test_buf_cap),
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
