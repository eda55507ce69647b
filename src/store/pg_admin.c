/* The PostgreSQL backend's administration and figures (admin_ops.h).
 *
 * A backup is pg_dump's (its custom format, for pg_restore): a consistent
 * snapshot while others write, as SQLite's online backup is. The checks
 * are PostgreSQL's own: an index or constraint left invalid, rows whose
 * reference points nowhere (none while the foreign keys hold), the search
 * index's GIN index. */
#include "compat.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin_ops.h"
#include "backend.h"
#include "buf.h"
#include "filemode.h"
#include "pg_core.h"
#include "pg_run.h"
#include "xalloc.h"

/* ---- backup: pg_dump ---- */

/* The connection's parameters as a conninfo string for pg_dump (its
 * password apart, for the environment: an argument shows in ps). */
static char *
dump_conninfo(struct store *s, char **password)
{
	PQconninfoOption *opts = PQconninfo(pg_conn(s));
	struct buf ci = BUF_INIT;

	*password = NULL;
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (strcmp(o->keyword, "password") == 0) {
			*password = xstrdup(o->val);
			continue;
		}
		buf_addf(&ci, "%s%s='", ci.len ? " " : "", o->keyword);
		for (const char *v = o->val; *v; v++) {
			if (*v == '\'' || *v == '\\')
				buf_addch(&ci, '\\');
			buf_addch(&ci, *v);
		}
		buf_addch(&ci, '\'');
	}
	PQconninfoFree(opts);
	return buf_detach(&ci, NULL);
}

static int
run_pg_dump(const char *conninfo, const char *password, const char *tmp, struct err *e)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return err_set(e, EXIT_SOFTWARE, "cannot run pg_dump: %s", strerror(errno));
	if (pid == 0) {
		if (password)
			setenv("PGPASSWORD", password, 1);
		execlp("pg_dump", "pg_dump", "--format=custom", "--no-owner", "--file", tmp,
		       "--dbname", conninfo, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_set(e, EXIT_SOFTWARE, "pg_dump: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return err_set(e, EXIT_UNAVAILABLE, "cannot run pg_dump (the postgresql-client "
			       "package)");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_set(e, EXIT_IOERR, "pg_dump failed (its message above)");
	return 0;
}

/* Into path.tmp (made with the desk's mode first: it holds the mail),
 * renamed when pg_dump finished. */
static int
pg_backup(struct store *s, const char *path, struct err *e)
{
	char *tmp = xasprintf("%s.tmp", path), *password = NULL, *conninfo;
	int fd, rc = -1;

	unlink(tmp);
	fd = filemode_create(AT_FDCWD, tmp, O_WRONLY);
	if (fd < 0) {
		err_set(e, EXIT_CANTCREAT, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	close(fd);
	conninfo = dump_conninfo(s, &password);
	if (run_pg_dump(conninfo, password, tmp, e) == 0) {
		if (rename(tmp, path) < 0)
			err_set(e, EXIT_CANTCREAT, "cannot rename to %s: %s", path, strerror(errno));
		else
			rc = 0;
	}
	if (rc < 0)
		unlink(tmp);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	free(conninfo);
	free(tmp);
	return rc;
}

/* ---- checks ---- */

static int
pg_integrity_problems(struct store *s, int (*each)(void *arg, const char *problem), void *arg,
		      struct err *e)
{
	PGresult *r = pg_run(s,
			     "SELECT 'invalid index ' || c.relname FROM pg_catalog.pg_index i"
			     " JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid"
			     " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			     " WHERE n.nspname = current_schema() AND NOT (i.indisvalid AND"
			     " i.indisready) UNION ALL SELECT 'constraint not validated ' ||"
			     " conname FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_namespace"
			     " n ON n.oid = c.connamespace WHERE n.nspname = current_schema() AND"
			     " NOT c.convalidated",
			     NULL, false, "cannot check", e);
	int rc = 0;

	if (!r)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = each(arg, PQgetvalue(r, i, 0)) < 0 ? -1 : 0;
	PQclear(r);
	return rc;
}

/* The schema's references, as SQLite's foreign_key_check numbers them
 * (ref: which of the table's references, from 0). */
static const struct {
	const char *table, *column, *parent, *key, *rowid;
	int ref;
} references[] = {
	{ "tickets", "merged_into", "tickets", "id", "c.id", 0 },
	{ "tickets", "related_to", "tickets", "id", "c.id", 1 },
	{ "ticket_tags", "ticket_id", "tickets", "id", "0", 0 },
	{ "watchers", "ticket_id", "tickets", "id", "0", 0 },
	{ "messages", "ticket_id", "tickets", "id", "c.id", 0 },
	{ "messages", "raw_id", "raws", "id", "c.id", 1 },
	{ "intake", "raw_id", "raws", "id", "c.id", 0 },
	{ "intake", "message_id", "messages", "id", "c.id", 1 },
	{ "events", "ticket_id", "tickets", "id", "c.id", 0 },
	{ "attachments", "message_id", "messages", "id", "c.id", 0 },
	{ "attachments", "sha256", "blobs", "sha256", "c.id", 1 },
	{ "outbox", "ticket_id", "tickets", "id", "c.id", 0 },
	{ "outbox", "message_id", "messages", "id", "c.id", 1 },
	{ "outbox", "quote_of", "messages", "id", "c.id", 2 },
};

static int
pg_dangling_refs(struct store *s, int (*each)(void *arg, const struct store_dangling_ref *ref),
		 void *arg, struct err *e)
{
	for (size_t k = 0; k < ARRAY_SIZE(references); k++) {
		char *sql = xasprintf("SELECT %s FROM %s c WHERE c.%s IS NOT NULL AND NOT EXISTS"
				      " (SELECT 1 FROM %s p WHERE p.%s = c.%s)", references[k].rowid,
				      references[k].table, references[k].column,
				      references[k].parent, references[k].key,
				      references[k].column);
		PGresult *r = pg_run(s, sql, NULL, false, "cannot check", e);
		int rc = 0;

		free(sql);
		if (!r)
			return -1;
		for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
			struct store_dangling_ref ref = {
				.table = references[k].table,
				.rowid = pg_int(r, i, 0),
				.parent = references[k].parent,
				.ref = references[k].ref,
			};

			rc = each(arg, &ref) < 0 ? -1 : 0;
		}
		PQclear(r);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The search index is a column and its GIN index: sound when the index
 * is there and valid. */
static int
pg_search_index_check(struct store *s, struct err *e)
{
	int64_t ok = 0;

	if (pg_first_int(s,
			 "SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c"
			 " ON c.oid = i.indexrelid WHERE c.oid = to_regclass('messages_search')"
			 " AND i.indisvalid AND i.indisready",
			 NULL, &ok, "cannot check", e) < 0)
		return -1;
	return ok == 1 ? 0
		       : err_set(e, EXIT_DATAERR, "the index messages_search is missing or "
				 "invalid");
}

/* ---- counts ---- */

/* The creation window of store_set_count_period() (sqlite_admin.c's
 * :since and :until), as parameters $A and $B of a statement; period_args()
 * appends their values. */
#define PERIOD(a, b) " AND created >= $" #a " AND created < $" #b

static void
period_args(struct store *s, struct pg_args *q)
{
	pg_arg_int(q, s->period_since);
	pg_arg_int(q, s->period_until ? s->period_until : INT64_MAX);
}

/* A two-column (key, count) query whose parameters $1, $2 are the window. */
static int
count_rows(struct store *s, const char *sql, store_count_fn *each, void *arg, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;

	period_args(s, &q);
	r = pg_run(s, sql, &q, false, "cannot count tickets", e);
	int rc = 0;

	if (!r)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = each(arg, PQgetvalue(r, i, 0), pg_int(r, i, 1)) < 0 ? -1 : 0;
	PQclear(r);
	return rc;
}

static int
pg_count_by_status(struct store *s, store_count_fn *each, void *arg, struct err *e)
{
	return count_rows(s, "SELECT v.s, (SELECT count(*) FROM tickets WHERE status = v.s"
			  " AND merged_into IS NULL" PERIOD(1, 2) ") FROM (VALUES (1, 'new'), (2, 'open'),"
			  " (3, 'pending'), (4, 'resolved'), (5, 'closed')) v(i, s) ORDER BY v.i",
			  each, arg, e);
}

/* COLLATE "C": SQLite's order of names, by bytes. */
static int
pg_count_by_queue(struct store *s, bool waiting_only, store_count_fn *each, void *arg,
		  struct err *e)
{
	if (waiting_only)
		return count_rows(s, "SELECT queue, count(*) FROM tickets WHERE merged_into IS NULL"
				  " AND status IN ('new','open','pending')" PERIOD(1, 2) " GROUP BY queue"
				  " ORDER BY count(*) DESC, queue COLLATE \"C\"", each, arg, e);
	return count_rows(s, "SELECT queue, count(*) FROM tickets WHERE merged_into IS NULL"
			  PERIOD(1, 2) " GROUP BY queue ORDER BY count(*) DESC, queue COLLATE \"C\"", each, arg,
			  e);
}

static int
pg_count_waiting_by_queue_status(struct store *s,
				 int (*each)(void *arg, const char *queue, const char *status,
					     int64_t n),
				 void *arg, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;
	int rc = 0;

	period_args(s, &q);
	r = pg_run(s,
		   "SELECT queue, status, count(*) FROM tickets WHERE merged_into IS NULL"
		   " AND status IN ('new','open','pending')" PERIOD(
			   1, 2) " GROUP BY queue,"
				 " status ORDER BY queue COLLATE \"C\", status COLLATE \"C\"",
		   &q, false, "cannot count tickets", e);

	if (!r)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = each(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), pg_int(r, i, 2)) < 0 ? -1
											      : 0;
	PQclear(r);
	return rc;
}

static int
pg_count_waiting_by_age(struct store *s, int64_t now, const int64_t upto[STORE_AGE_BUCKETS - 1],
			int64_t counts[STORE_AGE_BUCKETS], struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;

	_Static_assert(STORE_AGE_BUCKETS == 5, "the query has five buckets");
	for (int i = 0; i < STORE_AGE_BUCKETS; i++)
		counts[i] = 0;
	pg_arg_int(&q, now);
	for (int i = 0; i < STORE_AGE_BUCKETS - 1; i++)
		pg_arg_int(&q, upto[i]);
	period_args(s, &q);
	r = pg_run(s,
		   "SELECT CASE WHEN $1 - created < $2 THEN 0 WHEN $1 - created < $3 THEN 1"
		   " WHEN $1 - created < $4 THEN 2 WHEN $1 - created < $5 THEN 3 ELSE 4 END,"
		   " count(*) FROM tickets WHERE merged_into IS NULL"
		   " AND status IN ('new','open','pending')" PERIOD(6, 7) " GROUP BY 1",
		   &q, false, "cannot count tickets", e);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		int64_t b = pg_int(r, i, 0);

		if (b >= 0 && b < STORE_AGE_BUCKETS)
			counts[b] = pg_int(r, i, 1);
	}
	PQclear(r);
	return 0;
}

static int
pg_first_answer_delays(struct store *s, int (*each)(void *arg, const char *queue, int64_t seconds),
		       void *arg, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;
	int rc = 0;

	period_args(s, &q);
	r = pg_run(s,
		   "SELECT t.queue, greatest(0, min(m.created) - t.created)"
		   " FROM tickets t JOIN messages m ON m.ticket_id = t.id"
		   " WHERE t.merged_into IS NULL AND m.direction = 'out' AND m.kind = 'reply'"
		   " AND t.created >= $1 AND t.created < $2"
		   " GROUP BY t.id ORDER BY t.queue COLLATE \"C\", 2",
		   &q, false, "cannot measure first answers", e);

	if (!r)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = each(arg, PQgetvalue(r, i, 0), pg_int(r, i, 1)) < 0 ? -1 : 0;
	PQclear(r);
	return rc;
}

static int
pg_count_created(struct store *s, int64_t first, int64_t len, size_t n, int64_t *counts,
		 struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;

	for (size_t i = 0; i < n; i++)
		counts[i] = 0;
	pg_arg_int(&q, first);
	pg_arg_int(&q, len);
	pg_arg_int(&q, (int64_t)n);
	period_args(s, &q);
	r = pg_run(s,
		   "SELECT (created - $1) / $2, count(*) FROM tickets WHERE merged_into IS NULL"
		   " AND created >= $1 AND created < $1 + $2 * $3" PERIOD(4, 5) " GROUP BY 1",
		   &q, false, "cannot count tickets per week", e);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		int64_t w = pg_int(r, i, 0);

		if (w >= 0 && w < (int64_t)n)
			counts[w] = pg_int(r, i, 1);
	}
	PQclear(r);
	return 0;
}

const struct store_admin_ops pg_admin_ops = {
	.backup = pg_backup,
	.integrity_problems = pg_integrity_problems,
	.dangling_refs = pg_dangling_refs,
	.search_index_check = pg_search_index_check,
	.count_by_status = pg_count_by_status,
	.count_by_queue = pg_count_by_queue,
	.count_waiting_by_queue_status = pg_count_waiting_by_queue_status,
	.count_waiting_by_age = pg_count_waiting_by_age,
	.first_answer_delays = pg_first_answer_delays,
	.count_created = pg_count_created,
};
