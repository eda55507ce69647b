/* The intake area in PostgreSQL (store_intake.h), as sqlite_intake.c keeps
 * it: the tables intake and raws, the listing of a fetch in a temporary
 * table of the session, and the mailbox's advisory lock for hosts that
 * share the store. */
#include "compat.h"

#include "backend.h"
#include "intake_ops.h"
#include "pg_core.h"
#include "pg_run.h"
#include "xalloc.h"

/* The session-level advisory lock of the mailbox (one bigint key below
 * 2^31: pg_locks shows it as objid with classid 0). PG_MIGRATE_LOCK in
 * pg_core.c is another key. */
#define MAILBOX_LOCK_KEY 1590493185

/* The listing is the session's own (a temporary table): filling it takes
 * no lock on the store. Its keys compare as bytes, as SQLite's do; seq is
 * the listing's order. The notice "already exists" is not shown. */
static int
pg_listing_begin(struct store *s, struct err *e)
{
	if (pg_do(s, "BEGIN", NULL, NULL, "cannot begin", e) < 0)
		return -1;
	if (pg_do(s, "SET LOCAL client_min_messages = warning", NULL, NULL,
		  "cannot keep the mailbox's listing", e) < 0 ||
	    pg_do(s, "CREATE TEMP TABLE IF NOT EXISTS listed (seq BIGINT GENERATED ALWAYS AS "
		  "IDENTITY, key TEXT COLLATE \"C\" PRIMARY KEY, loc TEXT)", NULL, NULL,
		  "cannot keep the mailbox's listing", e) < 0 ||
	    pg_do(s, "TRUNCATE pg_temp.listed RESTART IDENTITY", NULL, NULL,
		  "cannot keep the mailbox's listing", e) < 0) {
		pg_store_ops.rollback(s);
		return -1;
	}
	return 0;
}

static int
pg_listing_add(struct store *s, const char *key, const char *where, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_text(&a, key);
	pg_arg_text(&a, where);
	return pg_do_ahead(s, "INSERT INTO pg_temp.listed (key, loc) VALUES ($1, $2) ON CONFLICT "
			   "DO NOTHING", &a, "cannot keep the mailbox's listing", e);
}

static int
pg_listing_end(struct store *s, struct err *e)
{
	return pg_store_ops.commit(s, e);
}

static enum intake_listed
listed_state(const PGresult *res, int r)
{
	if (PQgetisnull(res, r, 2))
		return INTAKE_LISTED_FRESH;
	return pg_int(res, r, 2) == 0 ? INTAKE_LISTED_UNMARKED : INTAKE_LISTED_DONE;
}

static int
pg_listing_read(struct store *s, const char *source_id, bool by_key, const char *after_key,
		int64_t after_seq, size_t limit, store_listed_fn each, void *arg, size_t *read,
		struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int stop = 0;

	*read = 0;
	pg_arg_text(&a, source_id);
	if (by_key)
		pg_arg_text(&a, after_key ? after_key : "");
	else
		pg_arg_int(&a, after_seq);
	pg_arg_int(&a, (int64_t)limit);
	res = pg_run(s, by_key
		? "SELECT l.key, l.loc, i.done, l.seq FROM pg_temp.listed l LEFT JOIN intake i"
		  " ON i.source = $1 AND i.key = l.key WHERE l.key > $2 ORDER BY l.key LIMIT $3"
		: "SELECT l.key, l.loc, i.done, l.seq FROM pg_temp.listed l LEFT JOIN intake i"
		  " ON i.source = $1 AND i.key = l.key WHERE l.seq > $2::bigint ORDER BY l.seq"
		  " LIMIT $3",
		&a, false, "cannot read the mailbox's listing", e);
	if (!res)
		return -1;
	for (int r = 0; !stop && r < PQntuples(res); r++) {
		(*read)++;
		stop = each(arg, pg_text(res, r, 0), pg_text_or_null(res, r, 1),
			    listed_state(res, r), pg_int(res, r, 3));
	}
	PQclear(res);
	return stop;
}

static int
pg_listing_fresh(struct store *s, const char *source_id, size_t *n, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;

	pg_arg_text(&a, source_id);
	res = pg_run(s, "SELECT count(*) FROM pg_temp.listed l WHERE NOT EXISTS (SELECT 1 FROM "
		     "intake i WHERE i.source = $1 AND i.key = l.key)", &a, false,
		     "cannot read the mailbox's listing", e);
	if (!res)
		return -1;
	*n = (size_t)pg_int(res, 0, 0);
	PQclear(res);
	return 0;
}

static int
pg_settle_unlisted(struct store *s, const char *source_id, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_text(&a, source_id);
	return pg_do(s, "UPDATE intake i SET done = 1 WHERE i.source = $1 AND i.done = 0 AND "
		     "i.state <> 'pending' AND NOT EXISTS (SELECT 1 FROM pg_temp.listed l WHERE "
		     "l.key = i.key)", &a, NULL, "cannot update intake", e);
}

static int
pg_stage(struct store *s, const char *source_id, const char *key, int64_t raw_id,
	 int64_t *intake_id, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int rc = 0;

	pg_arg_text(&a, source_id);
	pg_arg_text(&a, key);
	pg_arg_int(&a, raw_id);
	pg_arg_int(&a, store_now());
	res = pg_run(s, "INSERT INTO intake (source, key, raw_id, attempts, created) VALUES "
		     "($1, $2, $3, 0, $4) ON CONFLICT (source, key) DO NOTHING RETURNING id", &a,
		     false, "cannot record intake", e);
	if (!res)
		return -1;
	if (PQntuples(res) == 1) {
		*intake_id = pg_int(res, 0, 0);
		rc = 1;
	}
	PQclear(res);
	return rc; /* 0: staged by an earlier run */
}

/* pg_message.c's put_raw and pg_stage in one statement. */
static int
pg_stage_raw(struct store *s, const char *source_id, const char *key, const char *raw,
	     size_t len, const char *sha256, int64_t *raw_id, int64_t *intake_id, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	char hex[65];
	PGresult *res;
	int rc = 0;

	snprintf(hex, sizeof(hex), "%.64s", sha256);
	pg_arg_text(&a, hex);
	pg_arg_int(&a, (int64_t)len);
	pg_arg_bytes(&a, raw, len);
	pg_arg_text(&a, source_id);
	pg_arg_text(&a, key);
	pg_arg_int(&a, store_now());
	/* DO UPDATE, not DO NOTHING: the raw row comes back either way. */
	res = pg_run(s, "WITH r AS (INSERT INTO raws (sha256, size, data) VALUES ($1, $2, $3) "
		     "ON CONFLICT (sha256) DO UPDATE SET size = raws.size RETURNING id), "
		     "i AS (INSERT INTO intake (source, key, raw_id, attempts, created) SELECT "
		     "$4, $5, r.id, 0, $6 FROM r ON CONFLICT (source, key) DO NOTHING RETURNING "
		     "id) SELECT r.id, (SELECT id FROM i) FROM r", &a, false,
		     "cannot record intake", e);
	if (!res)
		return -1;
	*raw_id = pg_int(res, 0, 0);
	if (!PQgetisnull(res, 0, 1)) {
		*intake_id = pg_int(res, 0, 1);
		rc = 1;
	}
	PQclear(res);
	return rc; /* 0: staged by an earlier run */
}

static int
pg_stored(struct store *s, int64_t intake_id, int64_t message_id, bool poison, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_text(&a, poison ? "poison" : "stored");
	if (message_id > 0)
		pg_arg_int(&a, message_id);
	else
		pg_arg_text(&a, NULL);
	pg_arg_int(&a, intake_id);
	return pg_do_ahead(s, "UPDATE intake SET state = $1, message_id = $2 WHERE id = $3", &a,
			   "cannot update intake", e);
}

static int
pg_done(struct store *s, const char *source_id, const char *key, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_text(&a, source_id);
	pg_arg_text(&a, key);
	return pg_do(s, "UPDATE intake SET done = 1 WHERE source = $1 AND key = $2 AND state <> "
		     "'pending'", &a, NULL, "cannot update intake", e);
}

static int
pg_done_keys(struct store *s, const char *source_id, const char *const *keys, size_t n,
	     struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	char *list = pg_text_array(keys, n);
	int rc;

	if (!list)
		return err_set(e, EXIT_SOFTWARE, "cannot update intake: too many keys");
	pg_arg_text(&a, source_id);
	pg_arg_text(&a, list);
	rc = pg_do(s, "UPDATE intake SET done = 1 WHERE source = $1 AND key = ANY ($2::text[]) "
		   "AND state <> 'pending'", &a, NULL, "cannot update intake", e);
	free(list);
	return rc;
}

static int
pg_crashed(struct store *s, int64_t intake_id, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_int(&a, intake_id);
	return pg_do(s, "UPDATE intake SET attempts = attempts + 1 WHERE id = $1 AND state = "
		     "'pending'", &a, NULL, "cannot count a parser crash", e);
}

static int
pg_pending(struct store *s, const char *source_id, int64_t older_than,
	   struct intake_pending **rows, size_t *n, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int nt;

	pg_arg_text(&a, source_id ? source_id : "");
	pg_arg_int(&a, older_than);
	res = pg_run(s, "SELECT i.id, i.raw_id, i.attempts, r.size FROM intake i JOIN raws r ON "
		     "r.id = i.raw_id WHERE i.state = 'pending' AND (i.source = $1 OR "
		     "i.created < $2) ORDER BY i.id", &a, false, "cannot read intake", e);
	if (!res)
		return -1;
	nt = PQntuples(res);
	if (nt > 0)
		*rows = xreallocarray(*rows, *n + (size_t)nt, sizeof(**rows));
	for (int r = 0; r < nt; r++)
		(*rows)[(*n)++] = (struct intake_pending){
			.id = pg_int(res, r, 0),
			.raw_id = pg_int(res, r, 1),
			.attempts = (int)pg_int(res, r, 2),
			.size = (size_t)pg_int(res, r, 3),
		};
	PQclear(res);
	return 0;
}

static int
pg_raw(struct store *s, int64_t raw_id, char **raw, size_t *len, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;

	pg_arg_int(&a, raw_id);
	res = pg_run(s, "SELECT data FROM raws WHERE id = $1", &a, true,
		     "cannot read staged message", e);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(e, EXIT_SOFTWARE, "store '%s': cannot read staged message: no raw "
			       "message %lld", pg_name(s), (long long)raw_id);
	}
	*raw = pg_copy_bytes(res, 0, 0, len);
	PQclear(res);
	return 0;
}

static int
pg_pending_raw(struct store *s, int64_t intake_id, int64_t *raw_id, char **raw, size_t *len,
	       struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;

	pg_arg_int(&a, intake_id);
	/* Binary results: the id as text, which is the same in both forms. */
	res = pg_run(s, "SELECT r.id::text, r.data FROM intake i JOIN raws r ON r.id = i.raw_id "
		     "WHERE i.id = $1 AND i.state = 'pending'", &a, true,
		     "cannot read staged message", e);
	if (!res)
		return -1;
	if (PQntuples(res) == 1) {
		*raw_id = pg_int(res, 0, 0);
		*raw = pg_copy_bytes(res, 0, 1, len);
	}
	PQclear(res);
	return 0;
}

/* Names the session holding the mailbox, for the message: "pid N on
 * HOST" ("" when the server does not show it to this role). */
static void
mailbox_holder(struct store *s, char *out, size_t size)
{
	struct pg_args a = PG_ARGS_INIT;
	struct err ignored = ERR_INIT;
	PGresult *res;

	out[0] = '\0';
	pg_arg_int(&a, MAILBOX_LOCK_KEY);
	res = pg_run(s, "SELECT l.pid, coalesce(host(a.client_addr), 'the server''s socket') "
		     "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE "
		     "l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objsubid = 1 "
		     "AND l.objid = $1::bigint::oid AND l.database = (SELECT oid FROM pg_database "
		     "WHERE datname = current_database()) LIMIT 1", &a, false,
		     "cannot read locks", &ignored);
	if (res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		snprintf(out, size, " (server process %s, client %s)", pg_text(res, 0, 0),
			 pg_text(res, 0, 1));
	PQclear(res);
}

/* A session-level lock: it outlives the transactions of the run and goes
 * with the session, so a run killed on its host frees the mailbox. */
static int
pg_mailbox_lock(struct store *s, bool take, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	char holder[160];
	bool got;

	pg_arg_int(&a, MAILBOX_LOCK_KEY);
	if (!take)
		return pg_do(s, "SELECT pg_advisory_unlock($1::bigint)", &a, NULL,
			     "cannot release the mailbox", e);
	res = pg_run(s, "SELECT pg_try_advisory_lock($1::bigint)", &a, false,
		     "cannot lock the mailbox", e);
	if (!res)
		return -1;
	got = strcmp(pg_text(res, 0, 0), "t") == 0;
	PQclear(res);
	if (got)
		return 0;
	mailbox_holder(s, holder, sizeof(holder));
	return err_set(e, EXIT_TEMPFAIL, "another secdesk run is in progress%s (the mailbox's "
		       "lock in store '%s'); try again later", holder, pg_name(s));
}

const struct store_intake_ops pg_intake_ops = {
	.listing_begin = pg_listing_begin,
	.listing_add = pg_listing_add,
	.listing_end = pg_listing_end,
	.listing_read = pg_listing_read,
	.listing_fresh = pg_listing_fresh,
	.settle_unlisted = pg_settle_unlisted,
	.stage = pg_stage,
	.stage_raw = pg_stage_raw,
	.stored = pg_stored,
	.done = pg_done,
	.done_keys = pg_done_keys,
	.crashed = pg_crashed,
	.pending = pg_pending,
	.raw = pg_raw,
	.pending_raw = pg_pending_raw,
	.mailbox_lock = pg_mailbox_lock,
};
