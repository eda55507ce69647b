/* The SQLite backend's message area: raws, messages, attachments and blobs,
 * the lookups threading asks, watchers, the ticket intake opens, the
 * per-message savepoint. Every value is bound, never formatted. */
#include "compat.h"

#include "attach.h"
#include "backend.h"
#include "message_ops.h"
#include "store_sqlite.h"
#include "ticket.h"
#include "xalloc.h"

static int
sqlite_put_raw(struct store *s, const char *raw, size_t len, const char *sha256,
	       int64_t *raw_id, struct err *e)
{
	sqlite3_stmt *st;

	st = store_prepare(s, "INSERT INTO raws (sha256, size, data) VALUES (?, ?, ?) "
			   "ON CONFLICT (sha256) DO UPDATE SET size = size RETURNING id", e);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sha256, 64, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)len);
	sqlite3_bind_blob64(st, 3, raw, len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_error(s, e, "cannot store message");
		sqlite3_reset(st);
		return -1;
	}
	*raw_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* Does a query bound with text a (and b unless NULL) give a row? */
static int
row_exists(struct store *s, const char *sql, const char *a, const char *b, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, sql, e);
	int r;

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
	r = sqlite3_step(q);
	sqlite3_reset(q);
	if (r == SQLITE_ROW)
		return 1;
	if (r == SQLITE_DONE)
		return 0;
	return store_error(s, e, "cannot read the store");
}

static int
sqlite_raw_known(struct store *s, const char *sha256, struct err *e)
{
	return row_exists(s, "SELECT 1 FROM raws WHERE sha256 = ?", sha256, NULL, e);
}

static int
sqlite_intake_known(struct store *s, const char *source, const char *key, struct err *e)
{
	return row_exists(s, "SELECT 1 FROM intake WHERE source = ? AND key = ?", source, key, e);
}

static int
sqlite_each_undone_intake(struct store *s, const char *source,
			  int (*each)(void *arg, const char *key, const char *state), void *arg,
			  struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "SELECT key, state FROM intake WHERE source = ? "
					"AND done = 0 ORDER BY id", e);
	int r, stop = 0;

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
	while (stop == 0 && (r = sqlite3_step(q)) == SQLITE_ROW)
		stop = each(arg, (const char *)sqlite3_column_text(q, 0),
			    (const char *)sqlite3_column_text(q, 1));
	sqlite3_reset(q);
	if (stop)
		return stop;
	if (r != SQLITE_DONE)
		return store_error(s, e, "cannot read intake");
	return 0;
}

/* The first row's integer of a one-column query, 0 when none, -1 on error.
 * Binds: ?1 text1 unless NULL, ?2 int2 unless 0. */
static int64_t
query_id(struct store *s, const char *sql, const char *text1, int64_t int2, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, sql, e);
	int64_t id = 0;
	int rc;

	if (!st)
		return -1;
	if (text1)
		sqlite3_bind_text(st, 1, text1, -1, SQLITE_STATIC);
	if (int2)
		sqlite3_bind_int64(st, 2, int2);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		id = store_error(s, e, "cannot query");
	sqlite3_reset(st);
	return id;
}

static int64_t
sqlite_ticket_by_msgid(struct store *s, const char *msgid, bool desk_sent, struct err *e)
{
	if (desk_sent)
		return query_id(s, "SELECT ticket_id FROM messages WHERE message_id = ? "
				"AND direction = 'out' ORDER BY id LIMIT 1", msgid, 0, e);
	return query_id(s, "SELECT ticket_id FROM messages WHERE message_id = ? "
			"ORDER BY id LIMIT 1", msgid, 0, e);
}

static int64_t
sqlite_merged_into(struct store *s, int64_t id, struct err *e)
{
	return query_id(s, "SELECT coalesce(merged_into, 0) FROM tickets WHERE id = ?2", NULL,
			id, e);
}

static int64_t
sqlite_ticket_exists(struct store *s, int64_t id, struct err *e)
{
	return query_id(s, "SELECT id FROM tickets WHERE id = ?2", NULL, id, e);
}

static int
sqlite_is_watcher(struct store *s, int64_t id, const char *addr, struct err *e)
{
	int64_t w = query_id(s, "SELECT 1 FROM watchers WHERE addr = ? AND ticket_id = ?", addr,
			     id, e);

	return w < 0 ? -1 : w > 0;
}

static int
sqlite_add_watcher(struct store *s, int64_t id, const char *addr, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT OR IGNORE INTO watchers (ticket_id, addr) "
					 "VALUES (?, ?)", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot add watcher");
	}
	sqlite3_reset(st);
	return 0;
}

static int
sqlite_create_ticket(struct store *s, struct ticket *t, struct err *e)
{
	sqlite3_stmt *st;

	st = store_prepare(s, "INSERT INTO tickets (status, queue, category, priority, language,"
			   " subject, requester, requester_name, assignee, flags, related_to,"
			   " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", e);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, t->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->queue, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->priority, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t->language, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, t->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, t->requester, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, t->requester_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, t->assignee, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, t->flags);
	if (t->related_to)
		sqlite3_bind_int64(st, 11, t->related_to);
	sqlite3_bind_int64(st, 12, t->created);
	sqlite3_bind_int64(st, 13, t->updated);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot create ticket");
	}
	sqlite3_reset(st);
	t->id = sqlite3_last_insert_rowid(store_db(s));
	return 0;
}

static int
sqlite_add_message(struct store *s, const struct store_message_row *row, int64_t *id,
		   struct err *e)
{
	sqlite3_stmt *st;

	st = store_prepare(s, "INSERT INTO messages (ticket_id, direction, kind, from_name,"
			   " from_addr, to_addrs, cc_addrs, subject, date, message_id, in_reply_to,"
			   " refs, body, names, flags, parse_note, raw_id, created) VALUES"
			   " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, row->ticket_id);
	sqlite3_bind_text(st, 2, row->direction, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, row->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, row->from_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, row->from_addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, row->to_addrs, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, row->cc_addrs, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, row->subject, -1, SQLITE_STATIC);
	if (row->has_date)
		sqlite3_bind_int64(st, 9, row->date);
	sqlite3_bind_text(st, 10, row->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, row->in_reply_to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, row->refs, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, row->body, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, row->names, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 15, row->flags);
	sqlite3_bind_text(st, 16, row->parse_note, -1, SQLITE_STATIC);
	if (row->raw_id > 0) /* else NULL: mail the desk wrote has no raw bytes */
		sqlite3_bind_int64(st, 17, row->raw_id);
	sqlite3_bind_int64(st, 18, row->created);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, strcmp(row->direction, "out") == 0
						 ? "cannot record outgoing mail"
						 : "cannot store message");
	}
	sqlite3_reset(st);
	*id = sqlite3_last_insert_rowid(store_db(s));
	return 0;
}

static int64_t
sqlite_message_by_raw(struct store *s, int64_t raw_id, struct err *e)
{
	return query_id(s, "SELECT id FROM messages WHERE raw_id = ?2 LIMIT 1", NULL, raw_id, e);
}

static const char *
text_or_empty(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	return t ? t : "";
}

static int
sqlite_each_same_sender(struct store *s, const char *msgid, const char *from_addr,
			int (*each)(void *arg, int64_t row_id, const char *subject,
				    const char *body),
			void *arg, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT id, subject, body FROM messages WHERE "
					 "message_id = ? AND direction = 'in' AND from_addr = ? "
					 "COLLATE NOCASE", e);
	int rc = SQLITE_DONE, stop = 0;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, msgid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from_addr, -1, SQLITE_STATIC);
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = each(arg, sqlite3_column_int64(st, 0), text_or_empty(st, 1),
			    text_or_empty(st, 2));
	sqlite3_reset(st);
	if (stop)
		return stop;
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot query");
	return 0;
}

static int
sqlite_put_blob(struct store *s, const char *sha256, const void *data, size_t size,
		struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT OR IGNORE INTO blobs (sha256, size, data) "
					 "VALUES (?1, ?2, ?3)", e);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
	sqlite3_bind_blob64(st, 3, data, size, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(s, e, "cannot store an attachment");
	return 0;
}

static int
sqlite_add_attachment(struct store *s, int64_t message_row_id, size_t idx,
		      const char *filename, const char *content_type, size_t size,
		      const char *sha256, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO attachments (message_id, idx, filename,"
					 " content_type, size, sha256) VALUES (?1, ?2, ?3, ?4,"
					 " ?5, ?6)", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, message_row_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)idx);
	sqlite3_bind_text(st, 3, filename, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, content_type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)size);
	if (sha256)
		sqlite3_bind_text(st, 6, sha256, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(s, e, "cannot record an attachment");
	return 0;
}

static int
sqlite_each_message_attachment(struct store *s, int64_t message_row_id,
			       int (*each)(void *arg, int64_t size, const char *sha256),
			       void *arg, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT size, coalesce(sha256, '') FROM attachments "
					 "WHERE message_id = ? ORDER BY idx", e);
	int rc = SQLITE_DONE, stop = 0;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, message_row_id);
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = each(arg, sqlite3_column_int64(st, 0), text_or_empty(st, 1));
	sqlite3_reset(st);
	if (stop)
		return stop;
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot query");
	return 0;
}

static char *
col_text_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static void
attach_info_from_row(sqlite3_stmt *st, struct attach_info *a)
{
	a->message_row_id = sqlite3_column_int64(st, 0);
	a->idx = sqlite3_column_int(st, 1);
	a->filename = col_text_dup(st, 2);
	a->content_type = col_text_dup(st, 3);
	a->size = sqlite3_column_int64(st, 4);
	a->sha256 = col_text_dup(st, 5);
	if (!a->filename)
		a->filename = xstrdup("");
	if (!a->content_type)
		a->content_type = xstrdup("");
}

static int
sqlite_ticket_attachments(struct store *s, int64_t ticket_id, struct attach_info **list,
			  size_t *n, struct err *e)
{
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT a.message_id, a.idx, a.filename, a.content_type, a.size, a.sha256"
		" FROM attachments a JOIN messages m ON m.id = a.message_id"
		" WHERE m.ticket_id = ?1 ORDER BY a.message_id, a.idx",
		e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ticket_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*list = xreallocarray(*list, *n + 1, sizeof(**list));
		attach_info_from_row(st, &(*list)[(*n)++]);
	}
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot list attachments");
	return 0;
}

static int
sqlite_read_blob(struct store *s, const char *sha256, unsigned char **data, size_t *len,
		 struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT data FROM blobs WHERE sha256 = ?1", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);

		*data = xmalloc(n + 1);
		if (n)
			memcpy(*data, b, n);
		*len = n;
		sqlite3_reset(st);
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	return store_error(s, e, "cannot read an attachment");
}

static int
sqlite_savepoint(struct store *s, enum store_savepoint_step step, struct err *e)
{
	static const char *const sql[] = {
		[STORE_SAVEPOINT_BEGIN] = "SAVEPOINT ingest_message",
		[STORE_SAVEPOINT_RELEASE] = "RELEASE ingest_message",
		[STORE_SAVEPOINT_ROLLBACK] = "ROLLBACK TO ingest_message",
	};
	sqlite3_stmt *st = store_prepare(s, sql[step], e);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_error(s, e, "cannot set a savepoint");
}

static bool
sqlite_txn_active(struct store *s)
{
	return !sqlite3_get_autocommit(store_db(s));
}

const struct store_message_ops sqlite_message_ops = {
	.put_raw = sqlite_put_raw,
	.raw_known = sqlite_raw_known,
	.intake_known = sqlite_intake_known,
	.each_undone_intake = sqlite_each_undone_intake,
	.ticket_by_msgid = sqlite_ticket_by_msgid,
	.merged_into = sqlite_merged_into,
	.ticket_exists = sqlite_ticket_exists,
	.is_watcher = sqlite_is_watcher,
	.add_watcher = sqlite_add_watcher,
	.create_ticket = sqlite_create_ticket,
	.add_message = sqlite_add_message,
	.message_by_raw = sqlite_message_by_raw,
	.each_same_sender = sqlite_each_same_sender,
	.put_blob = sqlite_put_blob,
	.add_attachment = sqlite_add_attachment,
	.each_message_attachment = sqlite_each_message_attachment,
	.ticket_attachments = sqlite_ticket_attachments,
	.read_blob = sqlite_read_blob,
	.savepoint = sqlite_savepoint,
	.txn_active = sqlite_txn_active,
};
