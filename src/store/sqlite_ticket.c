/* The SQLite backend's ticket operations (ticket_ops.h). Every value is
 * bound; the only text put into SQL comes from the fixed tables below. */
#include "compat.h"

#include "backend.h"
#include "buf.h"
#include "store_sqlite.h"
#include "ticket_ops.h"
#include "xalloc.h"

static const char *
column_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

static const char *
column_text_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : column_text(st, i);
}

/* One statement without results, ?1 and ?2 bound to a and b. */
static int
exec_ids(struct store *s, const char *sql, int64_t a, int64_t b, const char *what,
	 struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, sql, e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		store_error(s, e, what);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
load_tags(struct store *s, int64_t id, struct strlist *tags, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT tag FROM ticket_tags WHERE ticket_id = ?"
					 " ORDER BY tag", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strlist_add(tags, column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read tags");
	return 0;
}

static int
sqlite_ticket_load(struct store *s, int64_t id, struct ticket *t, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	st = store_prepare(s, "SELECT id, status, queue, category, priority, language, subject,"
			   " requester, requester_name, assignee, flags, merged_into, related_to,"
			   " created, updated FROM tickets WHERE id = ?", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		store_error(s, e, "cannot read ticket");
		sqlite3_reset(st);
		return -1;
	}
	t->id = sqlite3_column_int64(st, 0);
	t->status = xstrdup(column_text(st, 1));
	t->queue = xstrdup(column_text(st, 2));
	t->category = xstrdup(column_text(st, 3));
	t->priority = xstrdup(column_text(st, 4));
	t->language = xstrdup(column_text(st, 5));
	t->subject = xstrdup(column_text(st, 6));
	t->requester = xstrdup(column_text(st, 7));
	t->requester_name = xstrdup(column_text(st, 8));
	t->assignee = xstrdup(column_text(st, 9));
	t->flags = (unsigned)sqlite3_column_int64(st, 10);
	t->merged_into = sqlite3_column_int64(st, 11);
	t->related_to = sqlite3_column_int64(st, 12);
	t->created = sqlite3_column_int64(st, 13);
	t->updated = sqlite3_column_int64(st, 14);
	sqlite3_reset(st);
	return load_tags(s, id, &t->tags, e);
}

static int
sqlite_ticket_touch(struct store *s, int64_t id, int64_t now, struct err *e)
{
	return exec_ids(s, "UPDATE tickets SET updated = ?1 WHERE id = ?2", now, id,
			"cannot update ticket", e);
}

static int
sqlite_ticket_set_field(struct store *s, int64_t id, const char *field, const char *value,
			int64_t now, struct err *e)
{
	sqlite3_stmt *st;
	char sql[128];
	int rc;

	/* field is one of ticket.c's fixed names, never from input. */
	snprintf(sql, sizeof(sql), "UPDATE tickets SET %s = ?, updated = ? WHERE id = ?", field);
	st = store_prepare(s, sql, e);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		store_error(s, e, "cannot update ticket");
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A conditional update, then (when it changed nothing) who has it. */
static int
sqlite_ticket_claim(struct store *s, int64_t id, const char *who, int64_t now, bool *changed,
		    char **holder, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE tickets SET assignee = ?1, updated = ?2"
					 " WHERE id = ?3 AND assignee = ''", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, who, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot update ticket");
	*changed = sqlite3_changes(store_db(s)) == 1;
	if (*changed)
		return 0;
	if (!(st = store_prepare(s, "SELECT assignee FROM tickets WHERE id = ?", e)))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && strcmp(column_text(st, 0), who) != 0)
		*holder = xstrdup(column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read ticket");
	return rc == SQLITE_DONE || *holder ? 1 : 0;
}

/* Runs st (bound: ?1 the ticket, ?2 the tag); *changed when a row changed. */
static int
tag_step(struct store *s, sqlite3_stmt *st, int64_t id, const char *tag, bool *changed,
	 const char *what, struct err *e)
{
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(s, e, what);
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	*changed = sqlite3_changes(store_db(s)) != 0;
	return 0;
}

static int
sqlite_ticket_add_tag(struct store *s, int64_t id, const char *tag, bool *changed,
		      struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT OR IGNORE INTO ticket_tags (ticket_id, tag)"
					 " SELECT id, ?2 FROM tickets WHERE id = ?1", e);

	if (!st)
		return -1;
	return tag_step(s, st, id, tag, changed, "cannot tag ticket", e);
}

static int
sqlite_ticket_remove_tag(struct store *s, int64_t id, const char *tag, bool *changed,
			 struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "DELETE FROM ticket_tags WHERE ticket_id = ?1"
					 " AND tag = ?2", e);

	if (!st)
		return -1;
	return tag_step(s, st, id, tag, changed, "cannot untag ticket", e);
}

static int
sqlite_ticket_add_flags(struct store *s, int64_t id, unsigned flags, struct err *e)
{
	return exec_ids(s, "UPDATE tickets SET flags = flags | ?1 WHERE id = ?2", flags, id,
			"cannot flag ticket", e);
}

static int
sqlite_ticket_watchers(struct store *s, int64_t id, struct strlist *out, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT addr FROM watchers WHERE ticket_id = ?"
					 " ORDER BY addr", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strlist_add(out, column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read watchers");
	return 0;
}

/* from's requester becomes a participant (a watcher) of into, for mail
 * they wrote themselves: a bounce's MAILER-DAEMON never becomes a
 * recipient of into's replies. Before the messages move. */
static int
merge_participant(struct store *s, int64_t from, int64_t into, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT OR IGNORE INTO watchers (ticket_id, addr)"
		" SELECT ?2, f.requester FROM tickets f JOIN tickets i ON i.id = ?2"
		" WHERE f.id = ?1 AND f.requester <> '' AND f.requester <> i.requester COLLATE NOCASE"
		" AND EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = ?1"
		" AND m.direction = 'in' AND m.kind IN ('inquiry', 'followup')"
		" AND m.from_addr = f.requester COLLATE NOCASE AND (m.flags & ?3) = 0)", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, into);
	sqlite3_bind_int64(st, 3, TICKET_IMPERSONAL_FLAGS);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot merge");
	return 0;
}

static int
sqlite_ticket_merge(struct store *s, int64_t from, int64_t into, struct err *e)
{
	/* ?1 the merged ticket, ?2 the one it goes into. */
	static const char *const moves[] = {
		"UPDATE messages SET ticket_id = ?2 WHERE ticket_id = ?1",
		"INSERT OR IGNORE INTO ticket_tags (ticket_id, tag)"
		" SELECT ?2, tag FROM ticket_tags WHERE ticket_id = ?1",
		"INSERT OR IGNORE INTO watchers (ticket_id, addr)"
		" SELECT ?2, addr FROM watchers WHERE ticket_id = ?1",
		/* Tickets merged earlier into from follow it. */
		"UPDATE tickets SET merged_into = ?2 WHERE merged_into = ?1",
		"UPDATE tickets SET merged_into = ?2 WHERE id = ?1",
	};

	if (merge_participant(s, from, into, e) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(moves); i++)
		if (exec_ids(s, moves[i], from, into, "cannot merge", e) < 0)
			return -1;
	return 0;
}

/* ---- list ---- */

#define LIST_ANSWERED                                                                  \
	"EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id"                     \
	" AND m.direction = 'out' AND m.kind = 'reply')"

/* The SQL key of each enum ticket_sort, ascending. The priority key is
 * also the expression of the tickets_priority index (sqlite_schema.c):
 * keep them alike. */
static const char *const list_sort_keys[] = {
	[TICKET_SORT_UPDATED] = "t.updated",
	[TICKET_SORT_ID] = "t.id",
	[TICKET_SORT_CREATED] = "t.created",
	[TICKET_SORT_PRIORITY] = "CASE t.priority WHEN 'low' THEN 0 WHEN 'normal' THEN 1"
				 " WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END",
	[TICKET_SORT_QUEUE] = "t.queue COLLATE NOCASE",
	[TICKET_SORT_STATUS] = "CASE t.status WHEN 'new' THEN 0 WHEN 'open' THEN 1"
			       " WHEN 'pending' THEN 2 WHEN 'resolved' THEN 3 ELSE 4 END",
};

static size_t
status_count(const struct ticket_filter *f)
{
	return f->status ? f->status->n : 0;
}

/* The query for f, from fixed pieces for the filters given, so that SQLite
 * plans each combination with its indexes. */
static void
list_sql(const struct ticket_filter *f, struct buf *sql)
{
	const char *dir = f->descending ? "DESC" : "ASC";

	/* answered only when asked: a lookup per row. */
	buf_addf(sql, "SELECT t.id, %s FROM tickets t WHERE t.merged_into IS NULL",
		 f->want_answered ? LIST_ANSWERED : "0");
	/* "+": not by the (status, queue) index, which then sorts every
	 * match; walking tickets_updated stops at the limit. */
	if (status_count(f)) {
		buf_addstr(sql, " AND +t.status IN (");
		for (size_t i = 0; i < status_count(f); i++)
			buf_addstr(sql, i ? ", ?" : "?");
		buf_addstr(sql, ")");
	}
	if (f->queue)
		buf_addstr(sql, " AND t.queue = ? COLLATE NOCASE");
	if (f->assignee)
		buf_addstr(sql, " AND t.assignee = ?");
	if (f->category)
		buf_addstr(sql, " AND t.category = ? COLLATE NOCASE");
	if (f->tag)
		buf_addstr(sql, " AND EXISTS (SELECT 1 FROM ticket_tags g"
				" WHERE g.ticket_id = t.id AND g.tag = ?)");
	if (f->older_than)
		buf_addstr(sql, " AND t.created <= ?");
	if (f->unanswered)
		buf_addstr(sql, " AND NOT " LIST_ANSWERED);
	buf_addf(sql, " ORDER BY %s %s, t.id %s LIMIT ?", list_sort_keys[f->sort], dir, dir);
}

/* Binds f's values in the order list_sql() placed them. */
static void
list_bind(sqlite3_stmt *st, const struct ticket_filter *f, int64_t now)
{
	int p = 1;

	for (size_t i = 0; i < status_count(f); i++)
		sqlite3_bind_text(st, p++, f->status->items[i], -1, SQLITE_STATIC);
	if (f->queue)
		sqlite3_bind_text(st, p++, f->queue, -1, SQLITE_STATIC);
	if (f->assignee)
		sqlite3_bind_text(st, p++, f->assignee, -1, SQLITE_STATIC);
	if (f->category)
		sqlite3_bind_text(st, p++, f->category, -1, SQLITE_STATIC);
	if (f->tag)
		sqlite3_bind_text(st, p++, f->tag, -1, SQLITE_STATIC);
	if (f->older_than)
		sqlite3_bind_int64(st, p++, now - f->older_than);
	sqlite3_bind_int64(st, p, f->limit > 0 ? f->limit : -1);
}

static int
sqlite_ticket_list(struct store *s, const struct ticket_filter *f, int64_t now,
		   int (*each)(void *arg, int64_t id, bool answered), void *arg, struct err *e)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st;
	int rc;

	if ((size_t)f->sort >= ARRAY_SIZE(list_sort_keys))
		return err_set(e, EXIT_SOFTWARE, "no such ticket order %d", (int)f->sort);
	list_sql(f, &sql);
	st = store_prepare(s, buf_cstr(&sql), e);
	buf_release(&sql);
	if (!st)
		return -1;
	list_bind(st, f, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (each(arg, sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1) != 0) < 0)
			break;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_error(s, e, "cannot list tickets");
	return rc == SQLITE_ROW ? -1 : 0;
}

/* ---- a ticket's history and thread ---- */

static int
sqlite_ticket_events(struct store *s, int64_t id, ticket_event_fn *each, void *arg,
		     struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT at, who, what, old_value, new_value"
					 " FROM events WHERE ticket_id = ? ORDER BY at, id", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ticket_event ev = {
			.at = sqlite3_column_int64(st, 0),
			.who = column_text(st, 1),
			.what = column_text(st, 2),
			.old_value = column_text_or_null(st, 3),
			.new_value = column_text_or_null(st, 4),
		};

		if (each(arg, &ev, e) < 0)
			break;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return -1;
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read events");
	return 0;
}

enum { M_ID, M_DIR, M_KIND, M_FROM_NAME, M_FROM, M_TO, M_CC, M_SUBJECT, M_DATE, M_MSGID,
       M_IRT, M_BODY, M_FLAGS, M_NOTE, M_CREATED };

static void
message_row(sqlite3_stmt *st, struct ticket_message *m)
{
	m->id = sqlite3_column_int64(st, M_ID);
	m->direction = column_text(st, M_DIR);
	m->kind = column_text(st, M_KIND);
	m->from_name = column_text(st, M_FROM_NAME);
	m->from_addr = column_text(st, M_FROM);
	m->to_addrs = column_text(st, M_TO);
	m->cc_addrs = column_text(st, M_CC);
	m->subject = column_text(st, M_SUBJECT);
	m->has_date = sqlite3_column_type(st, M_DATE) != SQLITE_NULL;
	m->date = sqlite3_column_int64(st, M_DATE);
	m->message_id = column_text(st, M_MSGID);
	m->in_reply_to = column_text(st, M_IRT);
	m->body = column_text(st, M_BODY);
	m->flags = (unsigned)sqlite3_column_int64(st, M_FLAGS);
	m->parse_note = column_text_or_null(st, M_NOTE);
	m->created = sqlite3_column_int64(st, M_CREATED);
}

static int
sqlite_ticket_messages(struct store *s, int64_t id, ticket_message_fn *each, void *arg,
		       struct err *e)
{
	sqlite3_stmt *st = store_prepare(s,
		"SELECT id, direction, kind, from_name, from_addr, to_addrs, cc_addrs, subject,"
		" date, message_id, in_reply_to, body, flags, parse_note, created"
		" FROM messages WHERE ticket_id = ? ORDER BY created, id", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ticket_message m;

		message_row(st, &m);
		if (each(arg, &m, e) < 0)
			break;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return -1;
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read messages");
	return 0;
}

static int
sqlite_ticket_first_raws(struct store *s, ticket_raw_fn *each, void *arg, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s,
		"SELECT m.ticket_id, r.data FROM messages m JOIN raws r ON r.id = m.raw_id"
		" WHERE m.direction = 'in' AND m.id = (SELECT min(id) FROM messages"
		" WHERE ticket_id = m.ticket_id AND direction = 'in') ORDER BY m.ticket_id", e);
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *raw = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);

		if (each(arg, sqlite3_column_int64(st, 0), raw ? (const char *)raw : "", len, e) < 0)
			break;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return -1;
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read messages");
	return 0;
}

const struct store_ticket_ops sqlite_ticket_ops = {
	.load = sqlite_ticket_load,
	.touch = sqlite_ticket_touch,
	.set_field = sqlite_ticket_set_field,
	.claim = sqlite_ticket_claim,
	.add_tag = sqlite_ticket_add_tag,
	.remove_tag = sqlite_ticket_remove_tag,
	.add_flags = sqlite_ticket_add_flags,
	.watchers = sqlite_ticket_watchers,
	.merge = sqlite_ticket_merge,
	.list = sqlite_ticket_list,
	.events = sqlite_ticket_events,
	.messages = sqlite_ticket_messages,
	.first_raws = sqlite_ticket_first_raws,
};
