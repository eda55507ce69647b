/* The PostgreSQL backend's message area, as sqlite_message.c keeps it: raws,
 * messages, attachments and blobs (bytea), the lookups threading asks,
 * watchers, the ticket intake opens, the per-message savepoint. Every
 * value is a parameter. A sender's address compares as SQLite's NOCASE
 * does (ASCII letters folded): lower() of the text in the "C" collation. */
#include "compat.h"

#include "attach.h"
#include "backend.h"
#include "message_ops.h"
#include "pg_core.h"
#include "pg_run.h"
#include "pg_search.h"
#include "ticket.h"
#include "xalloc.h"

static int
pg_put_raw(struct store *s, const char *raw, size_t len, const char *sha256, int64_t *raw_id,
	   struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	char hex[65];
	PGresult *res;

	/* Its 64 hex digits, as SQLite binds them. */
	snprintf(hex, sizeof(hex), "%.64s", sha256);
	pg_arg_text(&a, hex);
	pg_arg_int(&a, (int64_t)len);
	pg_arg_bytes(&a, raw, len);
	/* DO UPDATE, not DO NOTHING: the row comes back either way. */
	res = pg_run(s, "INSERT INTO raws (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT "
		     "(sha256) DO UPDATE SET size = raws.size RETURNING id", &a, false,
		     "cannot store message", e);
	if (!res)
		return -1;
	*raw_id = pg_int(res, 0, 0);
	PQclear(res);
	return 0;
}

/* Does sql with text parameters a (and b unless NULL) give a row? */
static int
row_exists(struct store *s, const char *sql, const char *a, const char *b, struct err *e)
{
	struct pg_args args = PG_ARGS_INIT;
	PGresult *res;
	int yes;

	pg_arg_text(&args, a);
	if (b)
		pg_arg_text(&args, b);
	res = pg_run(s, sql, &args, false, "cannot read the store", e);
	if (!res)
		return -1;
	yes = PQntuples(res) > 0;
	PQclear(res);
	return yes;
}

static int
pg_raw_known(struct store *s, const char *sha256, struct err *e)
{
	return row_exists(s, "SELECT 1 FROM raws WHERE sha256 = $1", sha256, NULL, e);
}

static int
pg_intake_known(struct store *s, const char *source, const char *key, struct err *e)
{
	return row_exists(s, "SELECT 1 FROM intake WHERE source = $1 AND key = $2", source, key,
			  e);
}

static int
pg_each_undone_intake(struct store *s, const char *source,
		      int (*each)(void *arg, const char *key, const char *state), void *arg,
		      struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int stop = 0;

	pg_arg_text(&a, source);
	res = pg_run(s, "SELECT key, state FROM intake WHERE source = $1 AND done = 0 ORDER BY "
		     "id", &a, false, "cannot read intake", e);
	if (!res)
		return -1;
	for (int r = 0; stop == 0 && r < PQntuples(res); r++)
		stop = each(arg, pg_text_or_null(res, r, 0), pg_text_or_null(res, r, 1));
	PQclear(res);
	return stop;
}

/* The first row's number of a one-column query with parameters a, 0 when
 * none, -1 on error. */
static int64_t
query_id(struct store *s, const char *sql, const struct pg_args *a, struct err *e)
{
	PGresult *res = pg_run(s, sql, a, false, "cannot query", e);
	int64_t id;

	if (!res)
		return -1;
	id = PQntuples(res) > 0 ? pg_int(res, 0, 0) : 0;
	PQclear(res);
	return id;
}

static int64_t
query_id_text(struct store *s, const char *sql, const char *text, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_text(&a, text);
	return query_id(s, sql, &a, e);
}

static int64_t
query_id_int(struct store *s, const char *sql, int64_t n, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_int(&a, n);
	return query_id(s, sql, &a, e);
}

static int64_t
pg_ticket_by_msgid(struct store *s, const char *msgid, bool desk_sent, struct err *e)
{
	if (desk_sent)
		return query_id_text(s, "SELECT ticket_id FROM messages WHERE message_id = $1 "
				     "AND direction = 'out' ORDER BY id LIMIT 1", msgid, e);
	return query_id_text(s, "SELECT ticket_id FROM messages WHERE message_id = $1 ORDER BY "
			     "id LIMIT 1", msgid, e);
}

static int64_t
pg_merged_into(struct store *s, int64_t id, struct err *e)
{
	return query_id_int(s, "SELECT coalesce(merged_into, 0) FROM tickets WHERE id = $1", id,
			    e);
}

static int64_t
pg_ticket_exists(struct store *s, int64_t id, struct err *e)
{
	return query_id_int(s, "SELECT id FROM tickets WHERE id = $1", id, e);
}

/* lower(addr) as the watchers_key index has it (pg_schema.c). */
static int
pg_is_watcher(struct store *s, int64_t id, const char *addr, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	int64_t w;

	pg_arg_text(&a, addr);
	pg_arg_int(&a, id);
	w = query_id(s, "SELECT 1 FROM watchers WHERE lower(addr) = lower($1) AND ticket_id = $2",
		     &a, e);
	return w < 0 ? -1 : w > 0;
}

static int
pg_add_watcher(struct store *s, int64_t id, const char *addr, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_int(&a, id);
	pg_arg_text(&a, addr);
	return pg_do(s, "INSERT INTO watchers (ticket_id, addr) VALUES ($1, $2) ON CONFLICT DO "
		     "NOTHING", &a, NULL, "cannot add watcher", e);
}

static int
pg_create_ticket(struct store *s, struct ticket *t, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;

	pg_arg_text(&a, t->status);
	pg_arg_text(&a, t->queue);
	pg_arg_text(&a, t->category);
	pg_arg_text(&a, t->priority);
	pg_arg_text(&a, t->language);
	pg_arg_text(&a, t->subject);
	pg_arg_text(&a, t->requester);
	pg_arg_text(&a, t->requester_name);
	pg_arg_text(&a, t->assignee);
	pg_arg_int(&a, t->flags);
	if (t->related_to)
		pg_arg_int(&a, t->related_to);
	else
		pg_arg_text(&a, NULL);
	pg_arg_int(&a, t->created);
	pg_arg_int(&a, t->updated);
	res = pg_run(s, "INSERT INTO tickets (status, queue, category, priority, language, "
		     "subject, requester, requester_name, assignee, flags, related_to, created, "
		     "updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
		     "RETURNING id", &a, false, "cannot create ticket", e);
	if (!res)
		return -1;
	t->id = pg_int(res, 0, 0);
	PQclear(res);
	return 0;
}

static int
pg_add_message(struct store *s, const struct store_message_row *row, int64_t *id,
	       struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	struct buf words = BUF_INIT;
	bool indexed = pg_search_indexes(row->kind) &&
		       pg_search_words(row->subject, row->body, row->names, &words) == 0;
	PGresult *res;

	pg_arg_int(&a, row->ticket_id);
	pg_arg_text(&a, row->direction);
	pg_arg_text(&a, row->kind);
	pg_arg_text(&a, row->from_name);
	pg_arg_text(&a, row->from_addr);
	pg_arg_text(&a, row->to_addrs);
	pg_arg_text(&a, row->cc_addrs);
	pg_arg_text(&a, row->subject);
	if (row->has_date)
		pg_arg_int(&a, row->date);
	else
		pg_arg_text(&a, NULL);
	pg_arg_text(&a, row->message_id);
	pg_arg_text(&a, row->in_reply_to);
	pg_arg_text(&a, row->refs);
	pg_arg_text(&a, row->body);
	pg_arg_text(&a, row->names);
	pg_arg_int(&a, row->flags);
	pg_arg_text(&a, row->parse_note);
	if (row->raw_id > 0)
		pg_arg_int(&a, row->raw_id);
	else
		pg_arg_text(&a, NULL); /* outgoing mail: no raw */
	pg_arg_int(&a, row->created);
	/* Its search words too (NULL: the index pass takes it). */
	pg_arg_text(&a, indexed ? buf_cstr(&words) : NULL);
	res = pg_run(s, "INSERT INTO messages (ticket_id, direction, kind, from_name, from_addr, "
		     "to_addrs, cc_addrs, subject, date, message_id, in_reply_to, refs, body, "
		     "names, flags, parse_note, raw_id, created, search_words) VALUES ($1, $2, "
		     "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
		     "$19::tsvector) RETURNING id", &a, false, "cannot store message", e);
	buf_release(&words);
	if (!res)
		return -1;
	*id = pg_int(res, 0, 0);
	PQclear(res);
	return 0;
}

static int64_t
pg_message_by_raw(struct store *s, int64_t raw_id, struct err *e)
{
	return query_id_int(s, "SELECT id FROM messages WHERE raw_id = $1 ORDER BY id LIMIT 1",
			    raw_id, e);
}

static int
pg_each_same_sender(struct store *s, const char *msgid, const char *from_addr,
		    int (*each)(void *arg, int64_t row_id, const char *subject, const char *body),
		    void *arg, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int stop = 0;

	pg_arg_text(&a, msgid);
	pg_arg_text(&a, from_addr);
	res = pg_run(s, "SELECT id, subject, body FROM messages WHERE message_id = $1 AND "
		     "direction = 'in' AND lower(from_addr COLLATE \"C\") = lower($2::text "
		     "COLLATE \"C\") ORDER BY id", &a, false, "cannot query", e);
	if (!res)
		return -1;
	for (int r = 0; stop == 0 && r < PQntuples(res); r++)
		stop = each(arg, pg_int(res, r, 0), pg_text(res, r, 1), pg_text(res, r, 2));
	PQclear(res);
	return stop;
}

/* The raw bytes' message first (a row of its own: 1), else the same
 * sender's mails, in one statement. */
static int
pg_find_stored(struct store *s, int64_t raw_id, const char *msgid, const char *from_addr,
	       int (*each)(void *arg, int64_t row_id, const char *subject, const char *body),
	       void *arg, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int stop = 0;

	pg_arg_int(&a, raw_id);
	pg_arg_text(&a, msgid);
	pg_arg_text(&a, from_addr);
	res = pg_run(s, "WITH b AS (SELECT id FROM messages WHERE raw_id = $1 ORDER BY id LIMIT 1) "
		     "SELECT 1, id, NULL, NULL FROM b UNION ALL SELECT 0, * FROM (SELECT id, "
		     "subject, body FROM messages WHERE $2::text <> '' AND message_id = $2 AND "
		     "direction = 'in' AND lower(from_addr COLLATE \"C\") = lower($3::text "
		     "COLLATE \"C\") AND NOT EXISTS (SELECT 1 FROM b) ORDER BY id) same",
		     &a, false, "cannot query", e);
	if (!res)
		return -1;
	if (PQntuples(res) > 0 && pg_int(res, 0, 0) == 1)
		stop = 1;
	for (int r = 0; stop == 0 && r < PQntuples(res); r++)
		stop = each(arg, pg_int(res, r, 1), pg_text(res, r, 2), pg_text(res, r, 3));
	PQclear(res);
	return stop;
}

static int
pg_put_blob(struct store *s, const char *sha256, const void *data, size_t size, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_text(&a, sha256);
	pg_arg_int(&a, (int64_t)size);
	pg_arg_bytes(&a, data, size);
	return pg_do(s, "INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT "
		     "DO NOTHING", &a, NULL, "cannot store an attachment", e);
}

static int
pg_add_attachment(struct store *s, int64_t message_row_id, size_t idx, const char *filename,
		  const char *content_type, size_t size, const char *sha256, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_int(&a, message_row_id);
	pg_arg_int(&a, (int64_t)idx);
	pg_arg_text(&a, filename);
	pg_arg_text(&a, content_type);
	pg_arg_int(&a, (int64_t)size);
	pg_arg_text(&a, sha256);
	return pg_do(s, "INSERT INTO attachments (message_id, idx, filename, content_type, size, "
		     "sha256) VALUES ($1, $2, $3, $4, $5, $6)", &a, NULL,
		     "cannot record an attachment", e);
}

static int
pg_each_message_attachment(struct store *s, int64_t message_row_id,
			   int (*each)(void *arg, int64_t size, const char *sha256), void *arg,
			   struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int stop = 0;

	pg_arg_int(&a, message_row_id);
	res = pg_run(s, "SELECT size, coalesce(sha256, '') FROM attachments WHERE message_id = "
		     "$1 ORDER BY idx", &a, false, "cannot query", e);
	if (!res)
		return -1;
	for (int r = 0; stop == 0 && r < PQntuples(res); r++)
		stop = each(arg, pg_int(res, r, 0), pg_text(res, r, 1));
	PQclear(res);
	return stop;
}

static char *
dup_or_null(const char *t)
{
	return t ? xstrdup(t) : NULL;
}

static int
pg_ticket_attachments(struct store *s, int64_t ticket_id, struct attach_info **list, size_t *n,
		      struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int nt;

	pg_arg_int(&a, ticket_id);
	res = pg_run(s, "SELECT a.message_id, a.idx, a.filename, a.content_type, a.size, a.sha256 "
		     "FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.ticket_id "
		     "= $1 ORDER BY a.message_id, a.idx", &a, false, "cannot list attachments",
		     e);
	if (!res)
		return -1;
	nt = PQntuples(res);
	if (nt > 0)
		*list = xreallocarray(*list, *n + (size_t)nt, sizeof(**list));
	for (int r = 0; r < nt; r++)
		(*list)[(*n)++] = (struct attach_info){
			.message_row_id = pg_int(res, r, 0),
			.idx = (int)pg_int(res, r, 1),
			.filename = xstrdup(pg_text(res, r, 2)),
			.content_type = xstrdup(pg_text(res, r, 3)),
			.size = pg_int(res, r, 4),
			.sha256 = dup_or_null(pg_text_or_null(res, r, 5)),
		};
	PQclear(res);
	return 0;
}

static int
pg_read_blob(struct store *s, const char *sha256, unsigned char **data, size_t *len,
	     struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int found;

	pg_arg_text(&a, sha256);
	res = pg_run(s, "SELECT data FROM blobs WHERE sha256 = $1", &a, true,
		     "cannot read an attachment", e);
	if (!res)
		return -1;
	found = PQntuples(res) == 1;
	if (found)
		*data = pg_copy_bytes(res, 0, 0, len);
	PQclear(res);
	return found;
}

static int
pg_savepoint(struct store *s, enum store_savepoint_step step, struct err *e)
{
	static const char *const sql[] = {
		[STORE_SAVEPOINT_BEGIN] = "SAVEPOINT ingest_message",
		[STORE_SAVEPOINT_RELEASE] = "RELEASE ingest_message",
		[STORE_SAVEPOINT_ROLLBACK] = "ROLLBACK TO ingest_message",
	};

	/* A rollback discards what was sent ahead: a failure among it is
	 * what is being rolled back. */
	if (step == STORE_SAVEPOINT_ROLLBACK) {
		struct err discarded = ERR_INIT;

		pg_settle(s, &discarded);
		return pg_do(s, sql[step], NULL, NULL, "cannot set a savepoint", e);
	}
	return pg_do_ahead(s, sql[step], NULL, "cannot set a savepoint", e);
}

/* A failed statement leaves PostgreSQL's transaction open but refusing
 * all but a rollback (to the savepoint): still open. A lost connection
 * ends it. */
static bool
pg_txn_active(struct store *s)
{
	PGTransactionStatusType st = PQtransactionStatus(pg_conn(s));

	return st == PQTRANS_INTRANS || st == PQTRANS_INERROR;
}

const struct store_message_ops pg_message_ops = {
	.put_raw = pg_put_raw,
	.raw_known = pg_raw_known,
	.intake_known = pg_intake_known,
	.each_undone_intake = pg_each_undone_intake,
	.ticket_by_msgid = pg_ticket_by_msgid,
	.merged_into = pg_merged_into,
	.ticket_exists = pg_ticket_exists,
	.is_watcher = pg_is_watcher,
	.add_watcher = pg_add_watcher,
	.create_ticket = pg_create_ticket,
	.add_message = pg_add_message,
	.message_by_raw = pg_message_by_raw,
	.each_same_sender = pg_each_same_sender,
	.find_stored = pg_find_stored,
	.put_blob = pg_put_blob,
	.add_attachment = pg_add_attachment,
	.each_message_attachment = pg_each_message_attachment,
	.ticket_attachments = pg_ticket_attachments,
	.read_blob = pg_read_blob,
	.savepoint = pg_savepoint,
	.txn_active = pg_txn_active,
};
