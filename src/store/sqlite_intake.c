/* The intake area in SQLite (store_intake.h): the tables intake and raws,
 * and the listing of a fetch in the temporary table temp.listed. */
#include "compat.h"

#include "backend.h"
#include "intake_ops.h"
#include "store_sqlite.h"
#include "xalloc.h"

/* Steps a statement that returns no rows; resets it either way. */
static int
step_done(struct store *s, sqlite3_stmt *st, const char *what, struct err *e)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, what);
	return 0;
}

/* A deferred BEGIN: the temporary table is the connection's own, so
 * writing it takes no lock on the store. */
static int
sqlite_listing_begin(struct store *s, struct err *e)
{
	if (store_exec(s, "BEGIN", e) < 0)
		return -1;
	if (store_exec(s, "CREATE TEMP TABLE IF NOT EXISTS listed (key TEXT PRIMARY KEY, loc TEXT);"
		       "DELETE FROM temp.listed", e) < 0) {
		sqlite3_exec(store_db(s), "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int
sqlite_listing_add(struct store *s, const char *key, const char *where, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT OR IGNORE INTO temp.listed (key, loc) "
					 "VALUES (?, ?)", e);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (where)
		sqlite3_bind_text(st, 2, where, -1, SQLITE_STATIC);
	return step_done(s, st, "cannot keep the mailbox's listing", e);
}

static int
sqlite_listing_end(struct store *s, struct err *e)
{
	return store_exec(s, "COMMIT", e);
}

static enum intake_listed
listed_state(sqlite3_stmt *q)
{
	if (sqlite3_column_type(q, 2) == SQLITE_NULL)
		return INTAKE_LISTED_FRESH;
	return sqlite3_column_int(q, 2) == 0 ? INTAKE_LISTED_UNMARKED : INTAKE_LISTED_DONE;
}

static int
sqlite_listing_read(struct store *s, const char *source_id, bool by_key, const char *after_key,
		    int64_t after_seq, size_t limit, store_listed_fn each, void *arg,
		    size_t *read, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, by_key
		? "SELECT l.key, l.loc, i.done, l.rowid FROM temp.listed l LEFT JOIN intake i"
		  " ON i.source = ?1 AND i.key = l.key WHERE l.key > ?2 ORDER BY l.key LIMIT ?3"
		: "SELECT l.key, l.loc, i.done, l.rowid FROM temp.listed l LEFT JOIN intake i"
		  " ON i.source = ?1 AND i.key = l.key WHERE l.rowid > ?2 ORDER BY l.rowid LIMIT ?3",
		e);
	int rc, stop = 0;

	*read = 0;
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, source_id, -1, SQLITE_STATIC);
	if (by_key)
		sqlite3_bind_text(q, 2, after_key ? after_key : "", -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(q, 2, after_seq);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)limit);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(q, 0);

		if (!key)
			continue;
		(*read)++;
		stop = each(arg, key, (const char *)sqlite3_column_text(q, 1), listed_state(q),
			    sqlite3_column_int64(q, 3));
	}
	sqlite3_reset(q);
	if (stop)
		return stop;
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the mailbox's listing");
	return 0;
}

static int
sqlite_listing_fresh(struct store *s, const char *source_id, size_t *n, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "SELECT count(*) FROM temp.listed l WHERE NOT EXISTS "
					"(SELECT 1 FROM intake i WHERE i.source = ? AND i.key = l.key)",
					e);

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, source_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return store_error(s, e, "cannot read the mailbox's listing");
	}
	*n = (size_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

static int
sqlite_settle_unlisted(struct store *s, const char *source_id, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "UPDATE intake SET done = 1 WHERE source = ? AND done = 0"
					" AND state <> 'pending' AND key NOT IN"
					" (SELECT key FROM temp.listed)", e);

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, source_id, -1, SQLITE_STATIC);
	return step_done(s, q, "cannot update intake", e);
}

static int
sqlite_stage(struct store *s, const char *source_id, const char *key, int64_t raw_id,
	     int64_t *intake_id, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO intake (source, key, raw_id, attempts,"
					 " created) VALUES (?, ?, ?, 0, ?)"
					 " ON CONFLICT (source, key) DO NOTHING RETURNING id", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, source_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, raw_id);
	sqlite3_bind_int64(st, 4, store_now());
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*intake_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0; /* staged by an earlier run */
	return store_error(s, e, "cannot record intake");
}

static int
sqlite_stored(struct store *s, int64_t intake_id, int64_t message_id, bool poison,
	      struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "UPDATE intake SET state = ?, message_id = ? "
					"WHERE id = ?", e);

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, poison ? "poison" : "stored", -1, SQLITE_STATIC);
	if (message_id > 0)
		sqlite3_bind_int64(q, 2, message_id);
	sqlite3_bind_int64(q, 3, intake_id);
	return step_done(s, q, "cannot update intake", e);
}

static int
sqlite_done(struct store *s, const char *source_id, const char *key, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "UPDATE intake SET done = 1 WHERE source = ? "
					"AND key = ? AND state <> 'pending'", e);

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, source_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	return step_done(s, q, "cannot update intake", e);
}

static int
sqlite_crashed(struct store *s, int64_t intake_id, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "UPDATE intake SET attempts = attempts + 1 "
					"WHERE id = ? AND state = 'pending'", e);

	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, intake_id);
	return step_done(s, q, "cannot count a parser crash", e);
}

static int
sqlite_pending(struct store *s, const char *source_id, int64_t older_than,
	       struct intake_pending **rows, size_t *n, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "SELECT i.id, i.raw_id, i.attempts, r.size FROM intake i"
					" JOIN raws r ON r.id = i.raw_id WHERE i.state = 'pending'"
					" AND (i.source = ? OR i.created < ?) ORDER BY i.id", e);
	size_t cap = 0;
	int rc;

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, source_id ? source_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, older_than);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*rows = xreallocarray(*rows, cap, sizeof(**rows));
		}
		(*rows)[*n] = (struct intake_pending){
			.id = sqlite3_column_int64(q, 0),
			.raw_id = sqlite3_column_int64(q, 1),
			.attempts = sqlite3_column_int(q, 2),
			.size = (size_t)sqlite3_column_int64(q, 3),
		};
		(*n)++;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read intake");
	return 0;
}

/* Column col of q's row as a NUL-terminated copy. */
static void
copy_blob(sqlite3_stmt *q, int col, char **raw, size_t *len)
{
	*len = (size_t)sqlite3_column_bytes(q, col);
	*raw = xmalloc(*len + 1);
	if (*len)
		memcpy(*raw, sqlite3_column_blob(q, col), *len);
	(*raw)[*len] = '\0';
}

static int
sqlite_raw(struct store *s, int64_t raw_id, char **raw, size_t *len, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "SELECT data FROM raws WHERE id = ?", e);

	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, raw_id);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return store_error(s, e, "cannot read staged message");
	}
	copy_blob(q, 0, raw, len);
	sqlite3_reset(q);
	return 0;
}

static int
sqlite_pending_raw(struct store *s, int64_t intake_id, int64_t *raw_id, char **raw, size_t *len,
		   struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "SELECT r.id, r.data FROM intake i JOIN raws r"
					" ON r.id = i.raw_id WHERE i.id = ? AND i.state = 'pending'",
					e);
	int rc;

	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, intake_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*raw_id = sqlite3_column_int64(q, 0);
		copy_blob(q, 1, raw, len);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read staged message");
	return 0;
}

const struct store_intake_ops sqlite_intake_ops = {
	.listing_begin = sqlite_listing_begin,
	.listing_add = sqlite_listing_add,
	.listing_end = sqlite_listing_end,
	.listing_read = sqlite_listing_read,
	.listing_fresh = sqlite_listing_fresh,
	.settle_unlisted = sqlite_settle_unlisted,
	.stage = sqlite_stage,
	.stored = sqlite_stored,
	.done = sqlite_done,
	.crashed = sqlite_crashed,
	.pending = sqlite_pending,
	.raw = sqlite_raw,
	.pending_raw = sqlite_pending_raw,
};
