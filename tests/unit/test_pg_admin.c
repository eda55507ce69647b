/* Administration and figures on PostgreSQL (a private server,
 * tests/harness/pg.sh) against SQLite: the counts the figures are drawn
 * from are the same on the same rows; the checks find an invalid index, a
 * reference that points nowhere and a missing search index; a backup is a
 * dump pg_restore reads. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "buf.h"
#include "store.h"
#include "store_admin.h"
#include "store_sqlite.h"
#include "xalloc.h"

#include "unit.h"
#include "pg_unit.h"
#include "pg_unit_sql.h"

static struct store *lite, *pg;

static const char *const fixture[] = {
	"INSERT INTO tickets (id, status, queue, created, updated) VALUES"
	" (1, 'new', 'IT', 1000, 1000), (2, 'open', 'IT', 90000, 90000),"
	" (3, 'pending', 'ES', 700000, 700000), (4, 'closed', 'ES', 1000, 1000),"
	" (5, 'resolved', 'secretariat', 2000000, 2000000), (6, 'open', 'ES', 3000000, 3000000),"
	" (7, 'open', 'IT', 5000, 5000), (8, 'new', 'Zed', 9999999, 9999999)",
	"UPDATE tickets SET merged_into = 2 WHERE id = 7",
	"INSERT INTO messages (id, ticket_id, direction, kind, created) VALUES"
	" (1, 1, 'in', 'inquiry', 1000), (2, 1, 'out', 'reply', 4600), (3, 1, 'out', 'reply', 9000),"
	" (4, 3, 'out', 'reply', 600000), (5, 2, 'out', 'ack', 90000)",
	NULL,
};

static int
group_setup(void **state)
{
	struct err e = ERR_INIT;
	char *url, *path, *msg = NULL;

	if (pg_unit_setup(state) < 0)
		return -1;
	url = pg_make_db("t_admin");
	path = xasprintf("%s/admin.db", unit_dir);
	if (store_open(url, STORE_CREATE, &pg, &e) < 0 ||
	    store_open(path, STORE_CREATE, &lite, &e) < 0) {
		fprintf(stderr, "# %s\n", e.msg);
		return -1;
	}
	for (const char *const *f = fixture; *f; f++) {
		if (sqlite3_exec(store_db(lite), *f, NULL, NULL, &msg) != SQLITE_OK) {
			fprintf(stderr, "# %s: %s\n", *f, msg);
			return -1;
		}
		free(pg_sql("t_admin", *f));
	}
	free(url);
	free(path);
	return 0;
}

static int
group_teardown(void **state)
{
	store_close(&lite);
	store_close(&pg);
	return pg_unit_teardown(state);
}

static int
count_line(void *arg, const char *key, int64_t n)
{
	buf_addf(arg, "%s=%lld ", key, (long long)n);
	return 0;
}

static int
queue_status_line(void *arg, const char *queue, const char *status, int64_t n)
{
	buf_addf(arg, "%s/%s=%lld ", queue, status, (long long)n);
	return 0;
}

static int
delay_line(void *arg, const char *queue, int64_t seconds)
{
	buf_addf(arg, "%s:%lld ", queue, (long long)seconds);
	return 0;
}

static void
figures(struct store *s, struct buf *out)
{
	static const int64_t upto[STORE_AGE_BUCKETS - 1] = { 86400, 604800, 2592000, 7776000 };
	int64_t ages[STORE_AGE_BUCKETS], weeks[6];
	struct err e = ERR_INIT;

	assert_int_equal(store_count_by_status(s, count_line, out, &e), 0);
	buf_addstr(out, "| ");
	assert_int_equal(store_count_by_queue(s, false, count_line, out, &e), 0);
	buf_addstr(out, "| ");
	assert_int_equal(store_count_by_queue(s, true, count_line, out, &e), 0);
	buf_addstr(out, "| ");
	assert_int_equal(store_count_waiting_by_age(s, 3000000, upto, ages, &e), 0);
	for (int i = 0; i < STORE_AGE_BUCKETS; i++)
		buf_addf(out, "%lld ", (long long)ages[i]);
	buf_addstr(out, "| ");
	assert_int_equal(store_first_answer_delays(s, delay_line, out, &e), 0);
	buf_addstr(out, "| ");
	assert_int_equal(store_count_created(s, 0, 604800, 6, weeks, &e), 0);
	for (int i = 0; i < 6; i++)
		buf_addf(out, "%lld ", (long long)weeks[i]);
}

/* The counts that are sorted by the store: the same text on both; the
 * waiting pairs, in no promised order, compared as sets. */
static void
test_figures_same_as_sqlite(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	figures(lite, &a);
	figures(pg, &b);
	assert_string_equal(buf_cstr(&b), buf_cstr(&a));
	assert_string_equal(buf_cstr(&b), "new=2 open=2 pending=1 resolved=1 closed=1 | ES=3 IT=2 "
			    "Zed=1 secretariat=1 | ES=2 IT=2 Zed=1 | 2 0 1 2 0 | ES:0 IT:3600 | "
			    "3 1 0 1 1 0 ");
	buf_reset(&a);
	buf_reset(&b);
	assert_int_equal(store_count_waiting_by_queue_status(pg, queue_status_line, &b, &e), 0);
	assert_string_equal(buf_cstr(&b), "ES/open=1 ES/pending=1 IT/new=1 IT/open=1 Zed/new=1 ");
	buf_release(&a);
	buf_release(&b);
}

/* stats and report --since/--until: every count takes only the tickets
 * created in the window, as on SQLite; 0 on a side is no bound. */
static void
test_figures_in_period(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	(void)state;
	store_set_count_period(lite, 1000, 700000);
	store_set_count_period(pg, 1000, 700000);
	figures(lite, &a);
	figures(pg, &b);
	assert_string_equal(buf_cstr(&b), buf_cstr(&a));
	assert_string_equal(buf_cstr(&b), "new=1 open=1 pending=0 resolved=0 closed=1 | IT=2 ES=1 "
			    "| IT=2 | 0 0 0 2 0 | IT:3600 | 3 0 0 0 0 0 ");
	buf_reset(&a);
	buf_reset(&b);
	store_set_count_period(lite, 600000, 0);
	store_set_count_period(pg, 600000, 0);
	figures(lite, &a);
	figures(pg, &b);
	assert_string_equal(buf_cstr(&b), buf_cstr(&a));
	store_set_count_period(lite, 0, 0);
	store_set_count_period(pg, 0, 0);
	buf_release(&a);
	buf_release(&b);
}

static int
problem_line(void *arg, const char *problem)
{
	buf_addf(arg, "%s;", problem);
	return 0;
}

static int
dangling_line(void *arg, const struct store_dangling_ref *r)
{
	buf_addf(arg, "%s#%lld->%s(%lld);", r->table, (long long)r->rowid, r->parent,
		 (long long)r->ref);
	return 0;
}

static void
test_checks(void **state)
{
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(store_integrity_problems(pg, problem_line, &out, &e), 0);
	assert_int_equal(store_dangling_refs(pg, dangling_line, &out, &e), 0);
	assert_int_equal(store_search_index_check(pg, &e), 0);
	assert_string_equal(buf_cstr(&out), "");
	/* A reference the server was told not to check: found. */
	free(pg_sql("t_admin", "ALTER TABLE messages DROP CONSTRAINT messages_ticket_id_fkey"));
	free(pg_sql("t_admin", "INSERT INTO messages (id, ticket_id, direction, kind, created)"
		    " VALUES (99, 4242, 'in', 'inquiry', 1)"));
	free(pg_sql("t_admin", "ALTER TABLE messages ADD CONSTRAINT messages_ticket_id_fkey"
		    " FOREIGN KEY (ticket_id) REFERENCES tickets(id) NOT VALID"));
	if (store_dangling_refs(pg, dangling_line, &out, &e) < 0)
		fail_msg("%s", e.msg);
	assert_string_equal(buf_cstr(&out), "messages#99->tickets(0);");
	buf_reset(&out);
	assert_int_equal(store_integrity_problems(pg, problem_line, &out, &e), 0);
	assert_string_equal(buf_cstr(&out), "constraint not validated messages_ticket_id_fkey;");
	assert_int_equal(store_check(pg, &e), -1);
	free(pg_sql("t_admin", "DELETE FROM messages WHERE id = 99"));
	free(pg_sql("t_admin", "ALTER TABLE messages VALIDATE CONSTRAINT messages_ticket_id_fkey"));
	/* The search index gone. */
	free(pg_sql("t_admin", "DROP INDEX messages_search"));
	e = (struct err)ERR_INIT;
	assert_int_equal(store_search_index_check(pg, &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	assert_non_null(strstr(e.msg, "messages_search"));
	free(pg_sql("t_admin", "CREATE INDEX messages_search ON messages USING gin (search_words)"));
	assert_int_equal(store_check(pg, &e), 0);
	buf_release(&out);
}

static void
test_backup(void **state)
{
	struct err e = ERR_INIT;
	char *path = xasprintf("%s/pg.dump", unit_dir), *cmd;
	struct stat sb;

	(void)state;
	assert_int_equal(store_backup(pg, path, &e), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 077, 0);
	cmd = xasprintf("pg_restore --list '%s' | grep -q 'TABLE DATA public tickets'", path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(path);
	/* Nowhere to write: refused before pg_dump runs. */
	path = xasprintf("%s/no/such/dir/pg.dump", unit_dir);
	assert_int_equal(store_backup(pg, path, &e), -1);
	assert_int_equal(e.code, EXIT_CANTCREAT);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_figures_same_as_sqlite),
		cmocka_unit_test(test_figures_in_period),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_backup),
	};

	/* pg_unit.h's per-backend cases: these groups run both backends in
	 * each case. */
	(void)unit_backend_sqlite;
	(void)unit_backend_pg;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
