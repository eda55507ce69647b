/* The outbox table (store_schema.c): queue, due, sent, failed. */
#include "compat.h"

#include <stdbool.h>

#include "buf.h"
#include "outbox.h"
#include "ticket.h"
#include "xalloc.h"

#define BACKOFF_MAX (24 * 3600)

void
outbox_item_release(struct outbox_item *it)
{
	free(it->kind);
	free(it->env_from);
	free(it->rcpts);
	free(it->data);
	memset(it, 0, sizeof(*it));
}

int
outbox_queue(struct store *s, int64_t ticket_id, int64_t message_id, const char *kind,
	     const char *env_from, const char *rcpts, const char *data, size_t len,
	     int64_t *id_r, struct err *e)
{
	return outbox_queue_quoting(s, ticket_id, message_id, kind, env_from, rcpts, data, len,
				    0, 0, id_r, e);
}

int
outbox_queue_quoting(struct store *s, int64_t ticket_id, int64_t message_id, const char *kind,
		     const char *env_from, const char *rcpts, const char *data, size_t len,
		     int64_t quote_of, int64_t quote_at, int64_t *id_r, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO outbox (ticket_id, message_id, kind,"
					 " env_from, rcpts, data, next_try, created, quote_of,"
					 " quote_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", e);
	int64_t now = store_now();

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
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot queue mail");
	}
	sqlite3_reset(st);
	if (id_r)
		*id_r = sqlite3_last_insert_rowid(store_db(s));
	return 0;
}

int
outbox_set_next_try(struct store *s, int64_t id, int64_t when, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE outbox SET next_try = ? WHERE id = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, when);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot update the outbox");
	}
	sqlite3_reset(st);
	return 0;
}

int
outbox_due(struct store *s, bool all, int64_t now, int64_t after_id, size_t max,
	   int64_t **ids, size_t *n, struct err *e)
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

static char *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return xstrdup(v ? (const char *)v : "");
}

int
outbox_load(struct store *s, int64_t id, struct outbox_item *it, struct err *e)
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
	if (rc == SQLITE_ROW) {
		const void *d = sqlite3_column_blob(st, 4);
		int len = sqlite3_column_bytes(st, 4);

		it->id = id;
		it->ticket_id = sqlite3_column_int64(st, 0);
		it->kind = col_str(st, 1);
		it->env_from = col_str(st, 2);
		it->rcpts = col_str(st, 3);
		it->data = xmalloc((size_t)len + 1);
		if (len)
			memcpy(it->data, d, (size_t)len);
		it->data[len] = '\0';
		it->len = (size_t)len;
		it->attempts = sqlite3_column_int(st, 5);
		it->quote_of = sqlite3_column_int64(st, 6);
		it->quote_at = sqlite3_column_int64(st, 7);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return store_error(s, e, "cannot read the outbox");
}

int
outbox_mark_sent(struct store *s, int64_t id, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE outbox SET status = 'sent',"
					 " attempts = attempts + 1, sent_at = ?, last_error = NULL"
					 " WHERE id = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, store_now());
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot update the outbox");
	}
	sqlite3_reset(st);
	return 0;
}

int64_t
outbox_backoff(int attempts, int retry_base)
{
	int64_t d = retry_base > 0 ? retry_base : 1;

	for (int i = 1; i < attempts && d < BACKOFF_MAX; i++)
		d *= 2;
	return d < BACKOFF_MAX ? d : BACKOFF_MAX;
}

int
outbox_mark_failed(struct store *s, int64_t id, const char *reply, bool permanent,
		   int max_attempts, int retry_base, struct err *e)
{
	sqlite3_stmt *st;
	int64_t ticket_id = 0, now = store_now();
	int attempts = 0, rc;

	st = store_prepare(s, "SELECT coalesce(ticket_id, 0), attempts FROM outbox WHERE id = ?",
			   e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ticket_id = sqlite3_column_int64(st, 0);
		attempts = sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : store_error(s, e, "cannot read the outbox");
	attempts++;
	if (max_attempts > 0 && attempts >= max_attempts)
		permanent = true;
	st = store_prepare(s, "UPDATE outbox SET status = ?, attempts = ?, next_try = ?,"
			   " last_error = ? WHERE id = ?", e);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, permanent ? "failed" : "pending", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, attempts);
	sqlite3_bind_int64(st, 3, permanent ? now : now + outbox_backoff(attempts, retry_base));
	sqlite3_bind_text(st, 4, reply ? reply : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot update the outbox");
	}
	sqlite3_reset(st);
	if (permanent && ticket_id > 0) {
		char what[64];

		snprintf(what, sizeof(what), "outbox #%lld", (long long)id);
		if (ticket_add_flags(s, ticket_id, TICKET_FLAG_SEND_FAILED, e) < 0 ||
		    store_event(s, ticket_id, "secdesk", "send-failed", what, reply, e) < 0)
			return -1;
	}
	return 0;
}

static int
exec_bound(struct store *s, sqlite3_stmt *st, struct err *e)
{
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot update the outbox");
	}
	sqlite3_reset(st);
	return 0;
}

/* Appends to the delivered and rejected columns. */
static int
add_outcome(struct store *s, int64_t id, const char *delivered,
	    const struct outbox_refusal *rej, size_t nrej, struct err *e)
{
	struct buf lines = BUF_INIT;
	sqlite3_stmt *st;
	int rc;

	for (size_t i = 0; i < nrej; i++)
		buf_addf(&lines, "%s %s\n", rej[i].addr, rej[i].reply ? rej[i].reply : "");
	st = store_prepare(s, "UPDATE outbox SET delivered = delivered ||"
			   " CASE WHEN delivered = '' OR ?1 = '' THEN '' ELSE ',' END || ?1,"
			   " rejected = rejected || ?2 WHERE id = ?3", e);
	if (!st) {
		buf_release(&lines);
		return -1;
	}
	sqlite3_bind_text(st, 1, delivered ? delivered : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, buf_cstr(&lines), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	rc = exec_bound(s, st, e);
	buf_release(&lines);
	return rc;
}

int
outbox_add_rejected(struct store *s, int64_t id, const struct outbox_refusal *rej, size_t nrej,
		    struct err *e)
{
	return nrej ? add_outcome(s, id, NULL, rej, nrej, e) : 0;
}

int
outbox_mark_partial(struct store *s, int64_t id, const char *delivered,
		    const struct outbox_refusal *rej, size_t nrej, const char *deferred,
		    const char *defer_reply, int max_attempts, int retry_base, struct err *e)
{
	sqlite3_stmt *st;
	int64_t ticket_id;

	bool done = !deferred || !*deferred;

	/* A sent row: rcpts took it on its last attempt, delivered before.
	 * A pending row: rcpts are still to try. */
	if (add_outcome(s, id, done ? NULL : delivered, rej, nrej, e) < 0)
		return -1;
	st = store_prepare(s, "UPDATE outbox SET rcpts = ? WHERE id = ?", e);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, done ? delivered : deferred, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	if (exec_bound(s, st, e) < 0)
		return -1;
	st = store_prepare(s, "SELECT coalesce(ticket_id, 0) FROM outbox WHERE id = ?", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	ticket_id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (nrej && ticket_id > 0) {
		char what[64];

		snprintf(what, sizeof(what), "outbox #%lld", (long long)id);
		if (ticket_add_flags(s, ticket_id, TICKET_FLAG_SEND_FAILED, e) < 0)
			return -1;
		for (size_t i = 0; i < nrej; i++) {
			char *v = xasprintf("%s: %s", rej[i].addr, rej[i].reply ? rej[i].reply : "");
			int rc = store_event(s, ticket_id, "secdesk", "send-rejected", what, v, e);

			free(v);
			if (rc < 0)
				return -1;
		}
	}
	if (done)
		return outbox_mark_sent(s, id, e);
	return outbox_mark_failed(s, id, defer_reply, false, max_attempts, retry_base, e);
}

/* ---- held mail (status 'held') ----
 * STORE HELPER: the three functions below are the SQL of held mail, kept
 * here as small as they go, to move into src/store/ with the rest of the
 * outbox. They need schema version 6 (the 'held' status, store_schema.c). */

int
outbox_hold(struct store *s, int64_t ticket_id, int64_t answers, const char *kind,
	    const char *rcpts, const char *data, const char *why, int64_t *id_r, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO outbox (ticket_id, kind, rcpts, data,"
					 " status, next_try, created, last_error, quote_of)"
					 " VALUES (?, ?, ?, ?, 'held', ?, ?, ?, ?)", e);
	int64_t now = store_now();

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ticket_id);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rcpts, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 4, data, strlen(data), SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_text(st, 7, why, -1, SQLITE_STATIC);
	if (answers > 0)
		sqlite3_bind_int64(st, 8, answers);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot hold mail in the outbox");
	}
	sqlite3_reset(st);
	if (id_r)
		*id_r = sqlite3_last_insert_rowid(store_db(s));
	return 0;
}

int
outbox_held(struct store *s, struct outbox_item **items, size_t *n, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT id, coalesce(ticket_id, 0), kind, rcpts, data,"
					 " coalesce(quote_of, 0) FROM outbox"
					 " WHERE status = 'held' ORDER BY id", e);
	size_t cap = 0;
	int rc;

	*items = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct outbox_item *it;
		int len = sqlite3_column_bytes(st, 4);

		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*items = xreallocarray(*items, cap, sizeof(**items));
		}
		it = &(*items)[(*n)++];
		memset(it, 0, sizeof(*it));
		it->id = sqlite3_column_int64(st, 0);
		it->ticket_id = sqlite3_column_int64(st, 1);
		it->kind = col_str(st, 2);
		it->env_from = xstrdup("");
		it->rcpts = col_str(st, 3);
		it->data = xmalloc((size_t)len + 1);
		if (len)
			memcpy(it->data, sqlite3_column_blob(st, 4), (size_t)len);
		it->data[len] = '\0';
		it->len = (size_t)len;
		it->quote_of = sqlite3_column_int64(st, 5);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the outbox");
	return 0;
}

int
outbox_drop_held(struct store *s, int64_t id, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "DELETE FROM outbox WHERE id = ? AND status = 'held'",
					 e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot update the outbox");
	}
	sqlite3_reset(st);
	return 0;
}
