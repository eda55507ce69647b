/* The SQLite backend's outbound area (outbox_ops.h): the outbox table,
 * outgoing messages, autoreply_log and autoreply_count, state rows. */
#include "compat.h"

#include "backend.h"
#include "message.h"
#include "outbox_ops.h"
#include "store_sqlite.h"
#include "xalloc.h"

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

/* Steps a statement that returns no rows; what is its error. */
static int
step_done(struct store *s, sqlite3_stmt *st, const char *what, struct err *e)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_error(s, e, what);
}

/* One int64 from a statement of one row, 0 when none: 1 row, 0 none. */
static int
step_int(struct store *s, sqlite3_stmt *st, int64_t *v, const char *what, struct err *e)
{
	int rc = sqlite3_step(st);

	*v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, what);
	return rc == SQLITE_ROW;
}

/* ---- the outbox ---- */

static int
sq_queue(struct store *s, int64_t ticket_id, int64_t message_id, const char *kind,
	 const char *env_from, const char *rcpts, const char *data, size_t len, int64_t quote_of,
	 int64_t quote_at, int64_t now, int64_t *id_r, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO outbox (ticket_id, message_id, kind,"
					 " env_from, rcpts, data, next_try, created, quote_of,"
					 " quote_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", e);

	if (!st)
		return -1;
	if (ticket_id > 0)
		sqlite3_bind_int64(st, 1, ticket_id);
	if (message_id > 0)
		sqlite3_bind_int64(st, 2, message_id);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, env_from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, rcpts, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 6, data, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, now);
	if (quote_of > 0) {
		sqlite3_bind_int64(st, 9, quote_of);
		sqlite3_bind_int64(st, 10, quote_at);
	}
	if (step_done(s, st, "cannot queue mail", e) < 0)
		return -1;
	if (id_r)
		*id_r = sqlite3_last_insert_rowid(store_db(s));
	return 0;
}

static int
sq_set_next_try(struct store *s, int64_t id, int64_t when, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE outbox SET next_try = ? WHERE id = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, when);
	sqlite3_bind_int64(st, 2, id);
	return step_done(s, st, "cannot update the outbox", e);
}

static int
sq_due(struct store *s, bool all, int64_t now, int64_t after_id, size_t max, int64_t **ids,
       size_t *n, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT id FROM outbox WHERE status = 'pending'"
					 " AND (?1 OR next_try <= ?2) AND id > ?3"
					 " ORDER BY id LIMIT ?4", e);
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, all);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, after_id);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*ids = xreallocarray(*ids, cap, sizeof(**ids));
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return store_error(s, e, "cannot read the outbox");
	}
	return 0;
}

static void
item_from_row(sqlite3_stmt *st, int64_t id, struct outbox_item *it)
{
	const void *d = sqlite3_column_blob(st, 4);
	int len = sqlite3_column_bytes(st, 4);

	it->id = id;
	it->ticket_id = sqlite3_column_int64(st, 0);
	it->kind = xstrdup(col_text(st, 1));
	it->env_from = xstrdup(col_text(st, 2));
	it->rcpts = xstrdup(col_text(st, 3));
	it->data = xmalloc((size_t)len + 1);
	if (len)
		memcpy(it->data, d, (size_t)len);
	it->data[len] = '\0';
	it->len = (size_t)len;
	it->attempts = sqlite3_column_int(st, 5);
	it->quote_of = sqlite3_column_int64(st, 6);
	it->quote_at = sqlite3_column_int64(st, 7);
}

static int
sq_load(struct store *s, int64_t id, struct outbox_item *it, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT coalesce(ticket_id, 0), kind, env_from,"
					 " rcpts, data, attempts, coalesce(quote_of, 0),"
					 " coalesce(quote_at, 0) FROM outbox"
					 " WHERE id = ? AND status = 'pending'", e);
	int rc;

	memset(it, 0, sizeof(*it));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		item_from_row(st, id, it);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return store_error(s, e, "cannot read the outbox");
}

static int
sq_attempts(struct store *s, int64_t id, int64_t *ticket_id, int *attempts, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT coalesce(ticket_id, 0), attempts FROM outbox"
					 " WHERE id = ?", e);
	int rc;

	*ticket_id = 0;
	*attempts = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ticket_id = sqlite3_column_int64(st, 0);
		*attempts = sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the outbox");
	return rc == SQLITE_ROW;
}

static int
sq_mark_sent(struct store *s, int64_t id, int64_t now, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE outbox SET status = 'sent',"
					 " attempts = attempts + 1, sent_at = ?, last_error = NULL"
					 " WHERE id = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	return step_done(s, st, "cannot update the outbox", e);
}

static int
sq_mark_attempt(struct store *s, int64_t id, bool failed, int attempts, int64_t next_try,
		const char *reply, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE outbox SET status = ?, attempts = ?,"
					 " next_try = ?, last_error = ? WHERE id = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, failed ? "failed" : "pending", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, attempts);
	sqlite3_bind_int64(st, 3, next_try);
	sqlite3_bind_text(st, 4, reply ? reply : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	return step_done(s, st, "cannot update the outbox", e);
}

static int
sq_add_outcome(struct store *s, int64_t id, const char *delivered, const char *rejected,
	       struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE outbox SET delivered = delivered ||"
					 " CASE WHEN delivered = '' OR ?1 = '' THEN '' ELSE ',' END"
					 " || ?1, rejected = rejected || ?2 WHERE id = ?3", e);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, delivered ? delivered : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rejected ? rejected : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	return step_done(s, st, "cannot update the outbox", e);
}

static int
sq_set_rcpts(struct store *s, int64_t id, const char *rcpts, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE outbox SET rcpts = ? WHERE id = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, rcpts, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	return step_done(s, st, "cannot update the outbox", e);
}

static int
sq_list(struct store *s, bool all, int (*each)(void *, const struct outbox_row *), void *arg,
	struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT id, coalesce(ticket_id, 0), kind, status,"
					 " attempts, next_try, rcpts, coalesce(last_error, ''),"
					 " created, coalesce(sent_at, 0), length(data), rejected,"
					 " delivered FROM outbox WHERE ?1 OR status <> 'sent'"
					 " OR rejected <> '' ORDER BY id", e);
	int rc, stop = 0;

	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, all);
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct outbox_row r = {
			.id = sqlite3_column_int64(st, 0),
			.ticket_id = sqlite3_column_int64(st, 1),
			.kind = col_text(st, 2),
			.status = col_text(st, 3),
			.attempts = sqlite3_column_int(st, 4),
			.next_try = sqlite3_column_int64(st, 5),
			.rcpts = col_text(st, 6),
			.last_error = col_text(st, 7),
			.created = sqlite3_column_int64(st, 8),
			.sent_at = sqlite3_column_int64(st, 9),
			.size = sqlite3_column_int64(st, 10),
			.rejected = col_text(st, 11),
			.delivered = col_text(st, 12),
		};

		stop = each(arg, &r);
	}
	sqlite3_reset(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : store_error(s, e, "cannot read the outbox");
}

static int
sq_lookup(struct store *s, int64_t id, struct outbox_ref *ref, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT coalesce(o.ticket_id, 0), o.kind, o.rcpts,"
					 " m.message_id FROM outbox o LEFT JOIN messages m"
					 " ON m.id = o.message_id WHERE o.id = ?", e);
	int rc;

	memset(ref, 0, sizeof(*ref));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ref->ticket_id = sqlite3_column_int64(st, 0);
		ref->kind = xstrdup(col_text(st, 1));
		ref->rcpts = xstrdup(col_text(st, 2));
		ref->message_id = xstrdup(col_text(st, 3));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the outbox");
	return rc == SQLITE_ROW;
}

/* In WAL mode synchronous=NORMAL syncs the WAL at checkpoints only, and
 * FULL at every commit: a FULL commit syncs the frames of the NORMAL ones
 * before it. */
static int
sq_set_lazy_commits(struct store *s, bool lazy, struct err *e)
{
	return store_exec(s, lazy ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL", e);
}

/* ---- outgoing messages (recorded through the message area) ---- */

static int
sq_ticket_acked(struct store *s, int64_t ticket_id, bool *acked, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT 1 FROM messages WHERE ticket_id = ?"
					 " AND direction = 'out' AND kind = 'ack' LIMIT 1", e);
	int64_t v;
	int rc;

	*acked = false;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ticket_id);
	rc = step_int(s, st, &v, "cannot query", e);
	*acked = rc > 0;
	return rc < 0 ? -1 : 0;
}

static int
sq_message_body(struct store *s, int64_t id, char **body, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT body FROM messages WHERE id = ?", e);
	int rc;

	*body = NULL;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*body = xstrdup(col_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the message a mail quotes");
	return rc == SQLITE_ROW;
}

static int
sq_pick_message(struct store *s, int64_t ticket_id, unsigned skip_flags,
		bool (*pick)(void *, const char *, const char *, const char *), void *arg,
		int64_t *id_r, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT id, from_addr, to_addrs, cc_addrs FROM messages"
					 " WHERE ticket_id = ? AND direction = 'in'"
					 " AND kind IN ('inquiry', 'followup') AND (flags & ?) = 0"
					 " ORDER BY id DESC", e);
	int rc = SQLITE_DONE;

	*id_r = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ticket_id);
	sqlite3_bind_int64(st, 2, skip_flags);
	while (*id_r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (pick(arg, col_text(st, 1), col_text(st, 2), col_text(st, 3)))
			*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the ticket's messages");
	return 0;
}

static int
sq_load_message(struct store *s, int64_t id, struct message *m, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT message_id, refs, subject, body, date"
					 " FROM messages WHERE id = ?", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		free(m->message_id);
		m->message_id = xstrdup(col_text(st, 0));
		outbox_add_refs(m, col_text(st, 1));
		free(m->subject);
		m->subject = xstrdup(col_text(st, 2));
		free(m->body);
		m->body = xstrdup(col_text(st, 3));
		m->has_date = sqlite3_column_type(st, 4) != SQLITE_NULL;
		m->date = (time_t)sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_error(s, e, "cannot read the ticket's messages");
	return 0;
}

/* ---- automatic mail ---- */

#define AUTO_LOG_MAX 4

static int
sq_auto_log(struct store *s, const char *const *addrs, size_t n, int64_t at, struct err *e)
{
	/* One statement per number of rows: each stays prepared. */
	static const char *const log_sql[AUTO_LOG_MAX] = {
		"INSERT INTO autoreply_log (addr, at) VALUES (?2, ?1)",
		"INSERT INTO autoreply_log (addr, at) VALUES (?2, ?1), (?3, ?1)",
		"INSERT INTO autoreply_log (addr, at) VALUES (?2, ?1), (?3, ?1), (?4, ?1)",
		"INSERT INTO autoreply_log (addr, at) VALUES (?2, ?1), (?3, ?1), (?4, ?1), (?5, ?1)",
	};

	while (n > 0) {
		size_t k = n < AUTO_LOG_MAX ? n : AUTO_LOG_MAX;
		sqlite3_stmt *st = store_prepare(s, log_sql[k - 1], e);

		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, at);
		for (size_t i = 0; i < k; i++)
			sqlite3_bind_text(st, (int)i + 2, addrs[i], -1, SQLITE_STATIC);
		if (step_done(s, st, "cannot log automatic mail", e) < 0)
			return -1;
		addrs += k;
		n -= k;
	}
	return 0;
}

static int
sq_auto_count(struct store *s, int64_t minute, int64_t n, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO autoreply_count (minute, n) VALUES (?, ?)"
					 " ON CONFLICT (minute) DO UPDATE SET n = n + excluded.n", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, minute);
	sqlite3_bind_int64(st, 2, n);
	return step_done(s, st, "cannot count automatic mail", e);
}

static int
sq_auto_logged(struct store *s, const char *addr, int64_t since, int64_t *n, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT count(*) FROM autoreply_log WHERE addr = ?1"
					 " AND at > ?2", e);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	return step_int(s, st, n, "cannot query", e) < 0 ? -1 : 0;
}

static int
sq_auto_counted(struct store *s, int64_t minute, int64_t *n, struct err *e)
{
	/* At most 60 rows read, whatever the limit or the burst. */
	sqlite3_stmt *st = store_prepare(s, "SELECT coalesce(sum(n), 0) FROM autoreply_count"
					 " WHERE minute > ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, minute);
	return step_int(s, st, n, "cannot query", e) < 0 ? -1 : 0;
}

static int
sq_auto_prune(struct store *s, int64_t log_before, int64_t count_before, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "DELETE FROM autoreply_log WHERE at < ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, log_before);
	if (step_done(s, st, "cannot prune the automatic mail log", e) < 0)
		return -1;
	st = store_prepare(s, "DELETE FROM autoreply_count WHERE minute < ?", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, count_before);
	return step_done(s, st, "cannot prune the automatic mail count", e);
}

/* ---- state rows ---- */

static int
sq_state_get(struct store *s, const char *key, int64_t *value, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT CAST(value AS INTEGER) FROM state"
					 " WHERE key = ?", e);

	*value = 0;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return step_int(s, st, value, "cannot read state", e);
}

static int
sq_state_set(struct store *s, const char *key, int64_t value, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO state (key, value) VALUES (?, ?) "
					 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", e);
	char v[32];

	if (!st)
		return -1;
	snprintf(v, sizeof(v), "%lld", (long long)value);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "cannot save state", e);
}

/* ---- digests ---- */

static int
sq_open_digest(struct store *s, const char *key, int64_t due_after, int64_t *id_r,
	       struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT o.id FROM state st JOIN outbox o"
					 " ON o.id = CAST(st.value AS INTEGER) WHERE st.key = ?1"
					 " AND o.status = 'pending' AND o.kind = 'digest'"
					 " AND o.next_try > ?2", e);

	*id_r = 0;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, due_after);
	return step_int(s, st, id_r, "cannot query", e) < 0 ? -1 : 0;
}

static int
sq_digest_entries(struct store *s, int64_t outbox_id,
		  int (*each)(void *, const struct digest_entry *), void *arg, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT t.id, t.subject, t.requester_name,"
					 " t.requester FROM events e JOIN tickets t"
					 " ON t.id = e.ticket_id WHERE e.what = 'notice-held'"
					 " AND e.old_value = ? ORDER BY e.id", e);
	char what[64];
	int rc, stop = 0;

	if (!st)
		return -1;
	snprintf(what, sizeof(what), "outbox #%lld", (long long)outbox_id);
	sqlite3_bind_text(st, 1, what, -1, SQLITE_TRANSIENT);
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct digest_entry d = {
			.ticket_id = sqlite3_column_int64(st, 0),
			.subject = col_text(st, 1),
			.requester_name = (const char *)sqlite3_column_text(st, 2),
			.requester = col_text(st, 3),
		};

		stop = each(arg, &d);
	}
	sqlite3_reset(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : store_error(s, e, "cannot read the inquiries of a digest");
}

/* ---- reminders ---- */

static int
sq_waiting_tickets(struct store *s, const struct strlist *statuses, unsigned skip_flags,
		   int (*each)(void *, const struct waiting_ticket *), void *arg, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT t.id, t.subject, t.queue, t.status, t.priority,"
					 " t.assignee, t.requester, t.created, (SELECT max(m.created)"
					 " FROM messages m WHERE m.ticket_id = t.id AND m.direction ="
					 " 'out' AND m.kind = 'reply') FROM tickets t"
					 " WHERE t.merged_into IS NULL AND (t.flags & ?6) = 0"
					 " AND t.status IN (?1, ?2, ?3, ?4, ?5) ORDER BY t.id", e);
	int rc, stop = 0;

	if (!st)
		return -1;
	/* Unused places stay NULL, which no status equals. */
	for (size_t i = 0; i < statuses->n && i < 5; i++)
		sqlite3_bind_text(st, (int)i + 1, statuses->items[i], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, skip_flags);
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct waiting_ticket t = {
			.id = sqlite3_column_int64(st, 0),
			.subject = col_text(st, 1),
			.queue = col_text(st, 2),
			.status = col_text(st, 3),
			.priority = col_text(st, 4),
			.assignee = col_text(st, 5),
			.requester = col_text(st, 6),
			.created = sqlite3_column_int64(st, 7),
			.last_reply = sqlite3_column_int64(st, 8),
		};

		/* each may step other statements (other texts): this one
		 * stays where it is. */
		stop = each(arg, &t);
	}
	sqlite3_reset(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : store_error(s, e, "cannot read tickets");
}

static int
sq_first_word_after(struct store *s, int64_t ticket_id, int64_t after, int64_t *since,
		    struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT min(created) FROM messages WHERE ticket_id = ?"
					 " AND direction = 'in' AND kind IN ('inquiry','followup')"
					 " AND created > ?", e);
	int rc;

	*since = after;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ticket_id);
	sqlite3_bind_int64(st, 2, after);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*since = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_error(s, e, "cannot read messages");
	return 0;
}

static int
sq_ticket_tags(struct store *s, int64_t ticket_id, struct strlist *out, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT tag FROM ticket_tags WHERE ticket_id = ?"
					 " ORDER BY tag", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ticket_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strlist_add(out, col_text(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_error(s, e, "cannot read tags");
}

/* ---- held mail ---- */

/* A held row has no message yet (message_id NULL), is never due and keeps
 * why it is held in last_error; quote_of is what it will answer. */
static int
sq_hold(struct store *s, int64_t ticket_id, int64_t answers, const char *kind,
	const char *rcpts, const char *data, const char *why, int64_t now, int64_t *id_r,
	struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO outbox (ticket_id, kind, rcpts, data,"
					 " status, next_try, created, last_error, quote_of)"
					 " VALUES (?, ?, ?, ?, 'held', ?, ?, ?, ?)", e);

	if (!st)
		return -1;
	if (ticket_id > 0)
		sqlite3_bind_int64(st, 1, ticket_id);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rcpts, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 4, data, strlen(data), SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_text(st, 7, why, -1, SQLITE_STATIC);
	if (answers > 0)
		sqlite3_bind_int64(st, 8, answers);
	if (step_done(s, st, "cannot hold mail in the outbox", e) < 0)
		return -1;
	if (id_r)
		*id_r = sqlite3_last_insert_rowid(store_db(s));
	return 0;
}

static int
sq_held(struct store *s, struct outbox_item **items, size_t *n, struct err *e)
{
	/* The columns of item_from_row, then the id. */
	sqlite3_stmt *st = store_prepare(s, "SELECT coalesce(ticket_id, 0), kind, env_from,"
					 " rcpts, data, attempts, coalesce(quote_of, 0), 0, id"
					 " FROM outbox WHERE status = 'held' AND message_id IS NULL"
					 " ORDER BY id", e);
	size_t cap = 0;
	int rc;

	*items = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*items = xreallocarray(*items, cap, sizeof(**items));
		}
		item_from_row(st, sqlite3_column_int64(st, 8), &(*items)[(*n)++]);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	for (size_t i = 0; i < *n; i++)
		outbox_item_release(&(*items)[i]);
	free(*items);
	*items = NULL;
	*n = 0;
	return store_error(s, e, "cannot read the outbox");
}

static int
sq_drop_held(struct store *s, int64_t id, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "DELETE FROM outbox WHERE id = ? AND status = 'held'",
					 e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return step_done(s, st, "cannot update the outbox", e);
}

/* ---- staff's hands on queued mail ---- */

static int
sq_row_state(struct store *s, int64_t id, struct outbox_state *out, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT coalesce(ticket_id, 0), kind, status,"
					 " message_id IS NOT NULL FROM outbox WHERE id = ?", e);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->ticket_id = sqlite3_column_int64(st, 0);
		snprintf(out->kind, sizeof(out->kind), "%s", col_text(st, 1));
		snprintf(out->status, sizeof(out->status), "%s", col_text(st, 2));
		out->has_message = sqlite3_column_int(st, 3) != 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the outbox");
	return rc == SQLITE_ROW;
}

static int
sq_staff_hold(struct store *s, int64_t id, bool hold, const char *why, int64_t now,
	      bool *changed, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, hold
		? "UPDATE outbox SET status = 'held', last_error = ?1 WHERE id = ?3"
		  " AND status = 'pending' AND message_id IS NOT NULL"
		: "UPDATE outbox SET status = 'pending', last_error = NULL, next_try = ?2"
		  " WHERE id = ?3 AND status = 'held' AND message_id IS NOT NULL", e);

	*changed = false;
	if (!st)
		return -1;
	if (hold)
		sqlite3_bind_text(st, 1, why, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, id);
	if (step_done(s, st, "cannot update the outbox", e) < 0)
		return -1;
	*changed = sqlite3_changes(store_db(s)) > 0;
	return 0;
}

static int
sq_cancel(struct store *s, int64_t id, bool *changed, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "DELETE FROM outbox WHERE id = ?"
					 " AND status IN ('pending', 'held')", e);

	*changed = false;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (step_done(s, st, "cannot update the outbox", e) < 0)
		return -1;
	*changed = sqlite3_changes(store_db(s)) > 0;
	return 0;
}

static int
sq_message_raw(struct store *s, int64_t message_id, char **raw, size_t *len, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT r.data FROM messages m JOIN raws r"
					 " ON r.id = m.raw_id WHERE m.id = ?", e);
	int rc;

	*raw = NULL;
	*len = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		const void *d = sqlite3_column_blob(st, 0);

		*raw = xmalloc((size_t)n + 1);
		if (n)
			memcpy(*raw, d, (size_t)n);
		(*raw)[n] = '\0';
		*len = (size_t)n;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read a stored message");
	return rc == SQLITE_ROW;
}

const struct store_outbox_ops sqlite_outbox_ops = {
	.queue = sq_queue,
	.set_next_try = sq_set_next_try,
	.due = sq_due,
	.load = sq_load,
	.attempts = sq_attempts,
	.mark_sent = sq_mark_sent,
	.mark_attempt = sq_mark_attempt,
	.add_outcome = sq_add_outcome,
	.set_rcpts = sq_set_rcpts,
	.list = sq_list,
	.lookup = sq_lookup,
	.set_lazy_commits = sq_set_lazy_commits,
	.ticket_acked = sq_ticket_acked,
	.message_body = sq_message_body,
	.pick_message = sq_pick_message,
	.load_message = sq_load_message,
	.auto_log = sq_auto_log,
	.auto_count = sq_auto_count,
	.auto_logged = sq_auto_logged,
	.auto_counted = sq_auto_counted,
	.auto_prune = sq_auto_prune,
	.state_get = sq_state_get,
	.state_set = sq_state_set,
	.open_digest = sq_open_digest,
	.digest_entries = sq_digest_entries,
	.waiting_tickets = sq_waiting_tickets,
	.first_word_after = sq_first_word_after,
	.ticket_tags = sq_ticket_tags,
	.hold = sq_hold,
	.held = sq_held,
	.drop_held = sq_drop_held,
	.row_state = sq_row_state,
	.staff_hold = sq_staff_hold,
	.cancel = sq_cancel,
	.message_raw = sq_message_raw,
};
