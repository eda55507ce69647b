/* The PostgreSQL backend's ticket operations (ticket_ops.h), as
 * sqlite_ticket.c does them. Every value is a parameter; the only text put
 * into SQL comes from the fixed tables below and ticket.c's field names.
 *
 * Several hosts change tickets at once here, where SQLite serialises every
 * writer: a ticket loaded inside a transaction is locked (FOR NO KEY
 * UPDATE) until it ends, so that what a change reads (the old value of its
 * event) is still true when it writes: no lost update. Taking a ticket is
 * one conditional UPDATE. Text compares as SQLite's does: bytes ("C"),
 * SQLite's NOCASE as lower() in "C" (ASCII letters folded). */
#include "compat.h"

#include "backend.h"
#include "buf.h"
#include "pg_core.h"
#include "pg_run.h"
#include "ticket_ops.h"
#include "xalloc.h"

static int
exec_ids(struct store *s, const char *sql, int64_t a, int64_t b, const char *what,
	 struct err *e)
{
	struct pg_args args = PG_ARGS_INIT;

	pg_arg_int(&args, a);
	pg_arg_int(&args, b);
	return pg_do(s, sql, &args, NULL, what, e);
}

/* The ticket and its tags in one statement (a row per tag, the tag NULL
 * when it has none). */
#define TICKET_COLUMNS "t.id, t.status, t.queue, t.category, t.priority, t.language," \
	" t.subject, t.requester, t.requester_name, t.assignee, t.flags, t.merged_into," \
	" t.related_to, t.created, t.updated, g.tag"
#define TICKET_TAGS "LEFT JOIN ticket_tags g ON g.ticket_id = t.id"
#define TICKET_TAG_COLUMN 15

/* The ticket of row r of res (TICKET_COLUMNS), without its tag. */
static void
ticket_row(const PGresult *res, int r, struct ticket *t)
{
	t->id = pg_int(res, r, 0);
	t->status = xstrdup(pg_text(res, r, 1));
	t->queue = xstrdup(pg_text(res, r, 2));
	t->category = xstrdup(pg_text(res, r, 3));
	t->priority = xstrdup(pg_text(res, r, 4));
	t->language = xstrdup(pg_text(res, r, 5));
	t->subject = xstrdup(pg_text(res, r, 6));
	t->requester = xstrdup(pg_text(res, r, 7));
	t->requester_name = xstrdup(pg_text(res, r, 8));
	t->assignee = xstrdup(pg_text(res, r, 9));
	t->flags = (unsigned)pg_int(res, r, 10);
	t->merged_into = pg_int(res, r, 11);
	t->related_to = pg_int(res, r, 12);
	t->created = pg_int(res, r, 13);
	t->updated = pg_int(res, r, 14);
}

static void
ticket_tag_row(const PGresult *res, int r, struct ticket *t)
{
	if (!PQgetisnull(res, r, TICKET_TAG_COLUMN))
		strlist_add(&t->tags, pg_text(res, r, TICKET_TAG_COLUMN));
}

static int
pg_ticket_load(struct store *s, int64_t id, struct ticket *t, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	bool in_txn = PQtransactionStatus(pg_conn(s)) == PQTRANS_INTRANS;
	PGresult *res;

	pg_arg_int(&a, id);
	res = pg_run(s, in_txn
		? "SELECT " TICKET_COLUMNS " FROM tickets t " TICKET_TAGS " WHERE t.id = $1"
		  " ORDER BY g.tag COLLATE \"C\" FOR NO KEY UPDATE OF t"
		: "SELECT " TICKET_COLUMNS " FROM tickets t " TICKET_TAGS " WHERE t.id = $1"
		  " ORDER BY g.tag COLLATE \"C\"",
		&a, false, "cannot read ticket", e);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 1;
	}
	ticket_row(res, 0, t);
	for (int r = 0; r < PQntuples(res); r++)
		ticket_tag_row(res, r, t);
	PQclear(res);
	return 0;
}

/* Tickets asked for at once, at most, in one statement. */
#define LOAD_BATCH 1000

/* ids[0..n) into out, in one statement: each row says which of ids it is
 * (its ordinality, after TICKET_COLUMNS), a ticket that is not there has
 * no row. */
static int
load_batch(struct store *s, const int64_t *ids, size_t n, struct ticket *out, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	struct buf arr = BUF_INIT;
	bool in_txn = PQtransactionStatus(pg_conn(s)) == PQTRANS_INTRANS;
	PGresult *res;
	int rc = 0;

	buf_addch(&arr, '{');
	for (size_t k = 0; k < n; k++)
		buf_addf(&arr, "%s%lld", k ? "," : "", (long long)ids[k]);
	buf_addch(&arr, '}');
	pg_arg_text(&a, buf_cstr(&arr));
	res = pg_run(s, in_txn
		? "SELECT " TICKET_COLUMNS ", k.n FROM unnest($1::bigint[]) WITH ORDINALITY AS"
		  " k(id, n) JOIN tickets t ON t.id = k.id " TICKET_TAGS " ORDER BY k.n, g.tag"
		  " COLLATE \"C\" FOR NO KEY UPDATE OF t"
		: "SELECT " TICKET_COLUMNS ", k.n FROM unnest($1::bigint[]) WITH ORDINALITY AS"
		  " k(id, n) JOIN tickets t ON t.id = k.id " TICKET_TAGS " ORDER BY k.n, g.tag"
		  " COLLATE \"C\"",
		&a, false, "cannot read tickets", e);
	buf_release(&arr);
	if (!res)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		size_t k = (size_t)pg_int(res, r, TICKET_TAG_COLUMN + 1) - 1;

		if (k >= n)
			continue;
		if (!out[k].status)
			ticket_row(res, r, &out[k]);
		ticket_tag_row(res, r, &out[k]);
	}
	PQclear(res);
	for (size_t k = 0; k < n; k++)
		rc = rc || !out[k].status;
	return rc;
}

static int
pg_ticket_load_many(struct store *s, const int64_t *ids, size_t n, struct ticket *out,
		    struct err *e)
{
	int rc = 0;

	for (size_t k = 0; k < n; k += LOAD_BATCH) {
		int b = load_batch(s, ids + k, n - k < LOAD_BATCH ? n - k : LOAD_BATCH, out + k, e);

		if (b < 0)
			return -1;
		rc = rc || b;
	}
	return rc;
}

static int
pg_ticket_touch(struct store *s, int64_t id, int64_t now, struct err *e)
{
	return exec_ids(s, "UPDATE tickets SET updated = $1 WHERE id = $2", now, id,
			"cannot update ticket", e);
}

static int
pg_ticket_set_field(struct store *s, int64_t id, const char *field, const char *value,
		    int64_t now, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	char sql[128];

	/* field is one of ticket.c's fixed names, never from input. */
	snprintf(sql, sizeof(sql), "UPDATE tickets SET %s = $1, updated = $2 WHERE id = $3",
		 field);
	pg_arg_text(&a, value);
	pg_arg_int(&a, now);
	pg_arg_int(&a, id);
	return pg_do(s, sql, &a, NULL, "cannot update ticket", e);
}

/* The UPDATE decides, and its row count says who won: a second taker's
 * UPDATE waits for the first's commit, then finds the row assigned. */
static int
pg_ticket_claim(struct store *s, int64_t id, const char *who, int64_t now, bool *changed,
		char **holder, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int64_t rows = 0;
	int rc = 1;

	pg_arg_text(&a, who);
	pg_arg_int(&a, now);
	pg_arg_int(&a, id);
	if (pg_do(s, "UPDATE tickets SET assignee = $1, updated = $2 WHERE id = $3 AND assignee "
		  "= ''", &a, &rows, "cannot update ticket", e) < 0)
		return -1;
	*changed = rows == 1;
	if (*changed)
		return 0;
	a = (struct pg_args)PG_ARGS_INIT;
	pg_arg_int(&a, id);
	res = pg_run(s, "SELECT assignee FROM tickets WHERE id = $1", &a, false,
		     "cannot read ticket", e);
	if (!res)
		return -1;
	if (PQntuples(res) == 1 && strcmp(pg_text(res, 0, 0), who) == 0)
		rc = 0;
	else if (PQntuples(res) == 1)
		*holder = xstrdup(pg_text(res, 0, 0));
	PQclear(res);
	return rc;
}

/* Runs sql ($1 the ticket, $2 the tag); *changed when a row changed. */
static int
tag_change(struct store *s, const char *sql, int64_t id, const char *tag, bool *changed,
	   const char *what, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	int64_t rows = 0;

	pg_arg_int(&a, id);
	pg_arg_text(&a, tag);
	if (pg_do(s, sql, &a, &rows, what, e) < 0)
		return -1;
	*changed = rows != 0;
	return 0;
}

static int
pg_ticket_add_tag(struct store *s, int64_t id, const char *tag, bool *changed, struct err *e)
{
	return tag_change(s, "INSERT INTO ticket_tags (ticket_id, tag) SELECT id, $2 FROM "
			  "tickets WHERE id = $1 ON CONFLICT DO NOTHING", id, tag, changed,
			  "cannot tag ticket", e);
}

static int
pg_ticket_remove_tag(struct store *s, int64_t id, const char *tag, bool *changed,
		     struct err *e)
{
	return tag_change(s, "DELETE FROM ticket_tags WHERE ticket_id = $1 AND tag = $2", id,
			  tag, changed, "cannot untag ticket", e);
}

static int
pg_ticket_add_flags(struct store *s, int64_t id, unsigned flags, struct err *e)
{
	return exec_ids(s, "UPDATE tickets SET flags = flags | $1::integer WHERE id = $2", flags,
			id, "cannot flag ticket", e);
}

/* Ordered as SQLite orders its NOCASE column. */
static int
pg_ticket_watchers(struct store *s, int64_t id, struct strlist *out, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;

	pg_arg_int(&a, id);
	res = pg_run(s, "SELECT addr FROM watchers WHERE ticket_id = $1 ORDER BY lower(addr "
		     "COLLATE \"C\"), addr COLLATE \"C\"", &a, false, "cannot read watchers", e);
	if (!res)
		return -1;
	for (int r = 0; r < PQntuples(res); r++)
		strlist_add(out, pg_text(res, r, 0));
	PQclear(res);
	return 0;
}

/* from's requester becomes a participant (a watcher) of into, for mail
 * they wrote themselves (see sqlite_ticket.c). Before the messages move. */
static int
merge_participant(struct store *s, int64_t from, int64_t into, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_int(&a, from);
	pg_arg_int(&a, into);
	pg_arg_int(&a, TICKET_IMPERSONAL_FLAGS);
	return pg_do(s, "INSERT INTO watchers (ticket_id, addr)"
		     " SELECT $2, f.requester FROM tickets f JOIN tickets i ON i.id = $2"
		     " WHERE f.id = $1 AND f.requester <> '' AND lower(f.requester COLLATE \"C\")"
		     " <> lower(i.requester COLLATE \"C\")"
		     " AND EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = $1"
		     " AND m.direction = 'in' AND m.kind IN ('inquiry', 'followup')"
		     " AND lower(m.from_addr COLLATE \"C\") = lower(f.requester COLLATE \"C\")"
		     " AND (m.flags & $3::integer) = 0) ON CONFLICT DO NOTHING", &a, NULL,
		     "cannot merge", e);
}

static int
pg_ticket_merge(struct store *s, int64_t from, int64_t into, struct err *e)
{
	/* $1 the merged ticket, $2 the one it goes into. */
	static const char *const moves[] = {
		"UPDATE messages SET ticket_id = $2 WHERE ticket_id = $1",
		"INSERT INTO ticket_tags (ticket_id, tag) SELECT $2, tag FROM ticket_tags"
		" WHERE ticket_id = $1 ON CONFLICT DO NOTHING",
		"INSERT INTO watchers (ticket_id, addr) SELECT $2, addr FROM watchers"
		" WHERE ticket_id = $1 ON CONFLICT DO NOTHING",
		/* Tickets merged earlier into from follow it. */
		"UPDATE tickets SET merged_into = $2 WHERE merged_into = $1",
		"UPDATE tickets SET merged_into = $2 WHERE id = $1",
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
 * also the expression of the tickets_priority_id index (pg_schema.c): keep
 * them alike. */
static const char *const list_sort_keys[] = {
	[TICKET_SORT_UPDATED] = "t.updated",
	[TICKET_SORT_ID] = "t.id",
	[TICKET_SORT_CREATED] = "t.created",
	[TICKET_SORT_PRIORITY] = "CASE t.priority WHEN 'low' THEN 0 WHEN 'normal' THEN 1"
				 " WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END",
	[TICKET_SORT_QUEUE] = "lower(t.queue COLLATE \"C\")",
	[TICKET_SORT_STATUS] = "CASE t.status WHEN 'new' THEN 0 WHEN 'open' THEN 1"
			       " WHEN 'pending' THEN 2 WHEN 'resolved' THEN 3 ELSE 4 END",
};

/* Appends " AND " cond with the next parameter's number for each %d. */
static void
list_cond(struct buf *sql, const char *cond, struct pg_args *a)
{
	buf_addstr(sql, " AND ");
	buf_addf(sql, cond, a->n);
}

/* The query for f and its parameters, in the order they are placed. */
static void
list_sql(const struct ticket_filter *f, int64_t now, struct buf *sql, struct pg_args *a)
{
	const char *dir = f->descending ? "DESC" : "ASC";
	size_t nstatus = f->status ? f->status->n : 0;

	buf_addf(sql, "SELECT t.id, %s FROM tickets t WHERE t.merged_into IS NULL",
		 f->want_answered ? LIST_ANSWERED : "false");
	if (nstatus) {
		buf_addstr(sql, " AND t.status IN (");
		for (size_t i = 0; i < nstatus; i++) {
			pg_arg_text(a, f->status->items[i]);
			buf_addf(sql, "%s$%d", i ? ", " : "", a->n);
		}
		buf_addstr(sql, ")");
	}
	if (f->queue) {
		pg_arg_text(a, f->queue);
		list_cond(sql, "lower(t.queue COLLATE \"C\") = lower($%d::text COLLATE \"C\")", a);
	}
	if (f->assignee) {
		pg_arg_text(a, f->assignee);
		list_cond(sql, "t.assignee = $%d", a);
	}
	if (f->category) {
		pg_arg_text(a, f->category);
		list_cond(sql, "lower(t.category COLLATE \"C\") = lower($%d::text COLLATE \"C\")",
			  a);
	}
	if (f->tag) {
		pg_arg_text(a, f->tag);
		list_cond(sql, "EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND "
			  "g.tag = $%d)", a);
	}
	if (f->older_than) {
		pg_arg_int(a, now - f->older_than);
		list_cond(sql, "t.created <= $%d", a);
	}
	if (f->unanswered)
		buf_addstr(sql, " AND NOT " LIST_ANSWERED);
	if (f->limit > 0)
		pg_arg_int(a, f->limit);
	else
		pg_arg_text(a, NULL); /* LIMIT NULL: all */
	buf_addf(sql, " ORDER BY %s %s, t.id %s LIMIT $%d", list_sort_keys[f->sort], dir, dir,
		 a->n);
}

static int
pg_ticket_list(struct store *s, const struct ticket_filter *f, int64_t now,
	       int (*each)(void *arg, int64_t id, bool answered), void *arg, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	struct buf sql = BUF_INIT;
	PGresult *res;
	int rc = 0;

	if ((size_t)f->sort >= ARRAY_SIZE(list_sort_keys))
		return err_set(e, EXIT_SOFTWARE, "no such ticket order %d", (int)f->sort);
	list_sql(f, now, &sql, &a);
	res = pg_run(s, buf_cstr(&sql), &a, false, "cannot list tickets", e);
	buf_release(&sql);
	if (!res)
		return -1;
	for (int r = 0; rc == 0 && r < PQntuples(res); r++)
		if (each(arg, pg_int(res, r, 0), strcmp(pg_text(res, r, 1), "t") == 0) < 0)
			rc = -1;
	PQclear(res);
	return rc;
}

/* ---- a ticket's history and thread ---- */

static int
pg_ticket_events(struct store *s, int64_t id, ticket_event_fn *each, void *arg, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int rc = 0;

	pg_arg_int(&a, id);
	res = pg_run(s, "SELECT at, who, what, old_value, new_value FROM events WHERE ticket_id "
		     "= $1 ORDER BY at, id", &a, false, "cannot read events", e);
	if (!res)
		return -1;
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		struct ticket_event ev = {
			.at = pg_int(res, r, 0),
			.who = pg_text(res, r, 1),
			.what = pg_text(res, r, 2),
			.old_value = pg_text_or_null(res, r, 3),
			.new_value = pg_text_or_null(res, r, 4),
		};

		if (each(arg, &ev, e) < 0)
			rc = -1;
	}
	PQclear(res);
	return rc;
}

enum { M_ID, M_DIR, M_KIND, M_FROM_NAME, M_FROM, M_TO, M_CC, M_SUBJECT, M_DATE, M_MSGID,
       M_IRT, M_BODY, M_FLAGS, M_NOTE, M_CREATED };

static void
message_row(const PGresult *res, int r, struct ticket_message *m)
{
	m->id = pg_int(res, r, M_ID);
	m->direction = pg_text(res, r, M_DIR);
	m->kind = pg_text(res, r, M_KIND);
	m->from_name = pg_text(res, r, M_FROM_NAME);
	m->from_addr = pg_text(res, r, M_FROM);
	m->to_addrs = pg_text(res, r, M_TO);
	m->cc_addrs = pg_text(res, r, M_CC);
	m->subject = pg_text(res, r, M_SUBJECT);
	m->has_date = !PQgetisnull(res, r, M_DATE);
	m->date = pg_int(res, r, M_DATE);
	m->message_id = pg_text(res, r, M_MSGID);
	m->in_reply_to = pg_text(res, r, M_IRT);
	m->body = pg_text(res, r, M_BODY);
	m->flags = (unsigned)pg_int(res, r, M_FLAGS);
	m->parse_note = pg_text_or_null(res, r, M_NOTE);
	m->created = pg_int(res, r, M_CREATED);
}

static int
pg_ticket_messages(struct store *s, int64_t id, ticket_message_fn *each, void *arg,
		   struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	int rc = 0;

	pg_arg_int(&a, id);
	res = pg_run(s, "SELECT id, direction, kind, from_name, from_addr, to_addrs, cc_addrs, "
		     "subject, date, message_id, in_reply_to, body, flags, parse_note, created "
		     "FROM messages WHERE ticket_id = $1 ORDER BY created, id", &a, false,
		     "cannot read messages", e);
	if (!res)
		return -1;
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		struct ticket_message m;

		message_row(res, r, &m);
		if (each(arg, &m, e) < 0)
			rc = -1;
	}
	PQclear(res);
	return rc;
}

struct first_raws {
	ticket_raw_fn *each;
	void *arg;
	struct err *e;
};

static int
first_raw_row(void *arg, const PGresult *row)
{
	struct first_raws *fr = arg;

	return fr->each(fr->arg, pg_int(row, 0, 0), PQgetvalue(row, 0, 1),
			(size_t)PQgetlength(row, 0, 1), fr->e) < 0 ? -1 : 0;
}

/* Row by row: every ticket's first mail does not fit in memory at once.
 * Binary results (the raw bytes): the ticket id as text. */
static int
pg_ticket_first_raws(struct store *s, ticket_raw_fn *each, void *arg, struct err *e)
{
	struct first_raws fr = { each, arg, e };

	return pg_each_row(s, "SELECT m.ticket_id::text, r.data FROM messages m JOIN raws r ON "
			   "r.id = m.raw_id WHERE m.direction = 'in' AND m.id = (SELECT min(id) "
			   "FROM messages WHERE ticket_id = m.ticket_id AND direction = 'in') "
			   "ORDER BY m.ticket_id", NULL, true, first_raw_row, &fr,
			   "cannot read messages", e) < 0 ? -1 : 0;
}

int
pg_event(struct store *s, int64_t ticket_id, const char *who, const char *what,
	 const char *old_value, const char *new_value, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_int(&a, ticket_id);
	pg_arg_int(&a, store_now());
	pg_arg_text(&a, who);
	pg_arg_text(&a, what);
	pg_arg_text(&a, old_value);
	pg_arg_text(&a, new_value);
	/* Read with the transaction's next statement that waits, or its commit. */
	return pg_do_ahead(s, "INSERT INTO events (ticket_id, at, who, what, old_value, "
			   "new_value) VALUES ($1, $2, $3, $4, $5, $6)", &a, "cannot record event",
			   e);
}

const struct store_ticket_ops pg_ticket_ops = {
	.load = pg_ticket_load,
	.load_many = pg_ticket_load_many,
	.touch = pg_ticket_touch,
	.set_field = pg_ticket_set_field,
	.claim = pg_ticket_claim,
	.add_tag = pg_ticket_add_tag,
	.remove_tag = pg_ticket_remove_tag,
	.add_flags = pg_ticket_add_flags,
	.watchers = pg_ticket_watchers,
	.merge = pg_ticket_merge,
	.list = pg_ticket_list,
	.events = pg_ticket_events,
	.messages = pg_ticket_messages,
	.first_raws = pg_ticket_first_raws,
};
