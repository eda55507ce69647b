/* The SQLite backend's administration and figures (admin_ops.h). */
#include "compat.h"

#include <fcntl.h>
#include <unistd.h>

#include "admin_ops.h"
#include "backend.h"
#include "buf.h"
#include "filemode.h"
#include "search_index.h"
#include "store_sqlite.h"

/* With SQLite's online backup API, a few pages at a time so that ingest
 * and staff keep writing meanwhile; into path.tmp, renamed when whole. */
static int
backup_copy(struct store *s, const char *tmp, const char *path, struct err *e)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int rc;

	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		err_set(e, EXIT_CANTCREAT, "cannot open %s: %s", tmp,
			dst ? sqlite3_errmsg(dst) : "out of memory");
		goto fail;
	}
	b = sqlite3_backup_init(dst, "main", store_db(s), "main");
	if (!b) {
		err_set(e, EXIT_IOERR, "cannot back up to %s: %s", path, sqlite3_errmsg(dst));
		goto fail;
	}
	do {
		rc = sqlite3_backup_step(b, 1024);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		err_set(e, EXIT_IOERR, "cannot back up to %s: %s", path, sqlite3_errstr(rc));
		goto fail;
	}
	if (sqlite3_close(dst) != SQLITE_OK)
		return err_set(e, EXIT_IOERR, "cannot finish %s", tmp);
	return 0;
fail:
	if (dst)
		sqlite3_close(dst);
	return -1;
}

static int
sqlite_backup(struct store *s, const char *path, struct err *e)
{
	struct buf tmp = BUF_INIT;
	int fd;

	buf_addf(&tmp, "%s.tmp", path);
	unlink(buf_cstr(&tmp));
	fd = filemode_create(AT_FDCWD, buf_cstr(&tmp), O_WRONLY);
	if (fd < 0) {
		err_set(e, EXIT_CANTCREAT, "cannot create %s: %s", buf_cstr(&tmp), strerror(errno));
		goto fail;
	}
	close(fd);
	if (backup_copy(s, buf_cstr(&tmp), path, e) < 0)
		goto fail;
	if (rename(buf_cstr(&tmp), path) < 0) {
		err_set(e, EXIT_CANTCREAT, "cannot rename to %s: %s", path, strerror(errno));
		goto fail;
	}
	buf_release(&tmp);
	return 0;
fail:
	if (tmp.data)
		unlink(buf_cstr(&tmp));
	buf_release(&tmp);
	return -1;
}

/* The database's own message, without the store's prefix: the caller
 * shows it as what the check said. */
static int
check_error(struct store *s, struct err *e)
{
	return err_set(e, EXIT_SOFTWARE, "%s", sqlite3_errmsg(store_db(s)));
}

static int
sqlite_integrity_problems(struct store *s, int (*each)(void *arg, const char *problem),
			  void *arg, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	/* Not the statement cache: a pragma's rows are read once. */
	if (sqlite3_prepare_v2(store_db(s), "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
		return check_error(s, e);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (t && strcmp(t, "ok") == 0)
			continue;
		if (each(arg, t ? t : "?") < 0)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		check_error(s, e);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sqlite_dangling_refs(struct store *s, int (*each)(void *arg, const struct store_dangling_ref *ref),
		     void *arg, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(store_db(s), "PRAGMA foreign_key_check", -1, &st, NULL) !=
	    SQLITE_OK)
		return check_error(s, e);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_dangling_ref ref = {
			.table = (const char *)sqlite3_column_text(st, 0),
			.rowid = sqlite3_column_int64(st, 1),
			.parent = (const char *)sqlite3_column_text(st, 2),
			.ref = sqlite3_column_int64(st, 3),
		};

		if (each(arg, &ref) < 0)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		check_error(s, e);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sqlite_search_index_check(struct store *s, struct err *e)
{
	sqlite3_stmt *q;
	const char *t;
	int rc = 0;

	if (sqlite3_prepare_v2(store_db(s), "PRAGMA " SEARCH_SCHEMA ".quick_check", -1, &q,
			       NULL) != SQLITE_OK)
		return check_error(s, e);
	if (sqlite3_step(q) != SQLITE_ROW || !sqlite3_column_text(q, 0) ||
	    strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0) {
		t = (const char *)sqlite3_column_text(q, 0);
		rc = t ? err_set(e, EXIT_DATAERR, "%s", t) : check_error(s, e);
	}
	sqlite3_finalize(q);
	return rc;
}

/* ---- counts ---- */

/* The creation window of store_set_count_period(), as :since and :until
 * in a statement that has them. */
#define PERIOD " AND created >= :since AND created < :until"

static void
bind_period(struct store *s, sqlite3_stmt *st)
{
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":since"), s->period_since);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":until"),
			   s->period_until ? s->period_until : INT64_MAX);
}

/* Runs a two-column (key, count) query, in its order. */
static int
count_rows(struct store *s, const char *sql, store_count_fn *each, void *arg, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, sql, e);
	int rc;

	if (!st)
		return -1;
	bind_period(s, st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (each(arg, (const char *)sqlite3_column_text(st, 0),
			 sqlite3_column_int64(st, 1)) < 0)
			break;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return -1;
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot count tickets");
	return 0;
}

static int
sqlite_count_by_status(struct store *s, store_count_fn *each, void *arg, struct err *e)
{
	return count_rows(s, "SELECT s, (SELECT count(*) FROM tickets WHERE status = s"
			  "  AND merged_into IS NULL" PERIOD ") FROM (SELECT 'new' AS s UNION ALL"
			  "  SELECT 'open' UNION ALL SELECT 'pending' UNION ALL"
			  "  SELECT 'resolved' UNION ALL SELECT 'closed')", each, arg, e);
}

static int
sqlite_count_by_queue(struct store *s, bool waiting_only, store_count_fn *each, void *arg,
		      struct err *e)
{
	if (waiting_only)
		return count_rows(s, "SELECT queue, count(*) FROM tickets WHERE merged_into IS NULL"
				  " AND status IN ('new','open','pending')" PERIOD
				  " GROUP BY queue ORDER BY count(*) DESC, queue", each, arg, e);
	return count_rows(s, "SELECT queue, count(*) FROM tickets WHERE merged_into IS NULL"
			  PERIOD " GROUP BY queue ORDER BY count(*) DESC, queue", each, arg, e);
}

static int
sqlite_count_waiting_by_queue_status(struct store *s,
				     int (*each)(void *arg, const char *queue,
						 const char *status, int64_t n),
				     void *arg, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT queue, status, count(*) FROM tickets"
					 " WHERE merged_into IS NULL"
					 " AND status IN ('new','open','pending')" PERIOD
					 " GROUP BY queue, status", e);
	int rc;

	if (!st)
		return -1;
	bind_period(s, st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (each(arg, (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2)) < 0)
			break;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return -1;
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot count tickets");
	return 0;
}

static int
sqlite_count_waiting_by_age(struct store *s, int64_t now,
			    const int64_t upto[STORE_AGE_BUCKETS - 1],
			    int64_t counts[STORE_AGE_BUCKETS], struct err *e)
{
	/* One scan: each waiting ticket's bucket. */
	sqlite3_stmt *st = store_prepare(s, "SELECT CASE WHEN ?1 - created < ?2 THEN 0"
					 " WHEN ?1 - created < ?3 THEN 1 WHEN ?1 - created < ?4 THEN 2"
					 " WHEN ?1 - created < ?5 THEN 3 ELSE 4 END, count(*)"
					 " FROM tickets WHERE merged_into IS NULL"
					 " AND status IN ('new','open','pending')" PERIOD " GROUP BY 1", e);
	int rc;

	_Static_assert(STORE_AGE_BUCKETS == 5, "the query has five buckets");
	for (int i = 0; i < STORE_AGE_BUCKETS; i++)
		counts[i] = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	for (int i = 0; i < STORE_AGE_BUCKETS - 1; i++)
		sqlite3_bind_int64(st, i + 2, upto[i]);
	bind_period(s, st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t b = sqlite3_column_int64(st, 0);

		if (b >= 0 && b < STORE_AGE_BUCKETS)
			counts[b] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot count tickets");
	return 0;
}

static int
sqlite_first_answer_delays(struct store *s,
			   int (*each)(void *arg, const char *queue, int64_t seconds), void *arg,
			   struct err *e)
{
	/* Per ticket: its first staff reply, minus its creation. */
	sqlite3_stmt *st = store_prepare(s, "SELECT t.queue, max(0, min(m.created) - t.created)"
					 " FROM tickets t JOIN messages m ON m.ticket_id = t.id"
					 " WHERE t.merged_into IS NULL AND m.direction = 'out'"
					 " AND m.kind = 'reply' AND t.created >= :since"
					 " AND t.created < :until GROUP BY t.id ORDER BY 1, 2", e);
	int rc;

	if (!st)
		return -1;
	bind_period(s, st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (each(arg, (const char *)sqlite3_column_text(st, 0),
			 sqlite3_column_int64(st, 1)) < 0)
			break;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return -1;
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot measure first answers");
	return 0;
}

static int
sqlite_count_created(struct store *s, int64_t first, int64_t len, size_t n, int64_t *counts,
		     struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT (created - ?1) / ?2, count(*) FROM tickets"
					 " WHERE merged_into IS NULL AND created >= ?1"
					 " AND created < ?1 + ?2 * ?3" PERIOD " GROUP BY 1", e);
	int rc;

	for (size_t i = 0; i < n; i++)
		counts[i] = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, len);
	sqlite3_bind_int64(st, 3, (int64_t)n);
	bind_period(s, st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t w = sqlite3_column_int64(st, 0);

		if (w >= 0 && w < (int64_t)n)
			counts[w] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot count tickets per week");
	return 0;
}

const struct store_admin_ops sqlite_admin_ops = {
	.backup = sqlite_backup,
	.integrity_problems = sqlite_integrity_problems,
	.dangling_refs = sqlite_dangling_refs,
	.search_index_check = sqlite_search_index_check,
	.count_by_status = sqlite_count_by_status,
	.count_by_queue = sqlite_count_by_queue,
	.count_waiting_by_queue_status = sqlite_count_waiting_by_queue_status,
	.count_waiting_by_age = sqlite_count_waiting_by_age,
	.first_answer_delays = sqlite_first_answer_delays,
	.count_created = sqlite_count_created,
};
