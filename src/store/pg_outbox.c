/* The PostgreSQL backend's outbound area (outbox_ops.h): the outbox,
 * outgoing messages, the automatic mail's log and counts, state rows,
 * digests, reminders, held mail.
 *
 * Several hosts may run `send` at once. A sender claims a row when it
 * loads it: a session advisory lock on the row's id (taken without
 * waiting), then the row read FOR UPDATE SKIP LOCKED and still pending.
 * A row another sender holds, or one whose mark is being committed, is
 * skipped. The claim outlives the loading statement (the mail goes out
 * between transactions) and is given up once the row's mark is committed:
 * at the next load for the rows no longer due, and at the start of each
 * pass over the outbox for all. A sender that dies loses its connection,
 * and the server releases its claims with it. */
#include "compat.h"

#include "backend.h"
#include "message.h"
#include "outbox_ops.h"
#include "pg_core.h"
#include "pg_run.h"
#include "xalloc.h"

/* The advisory lock class of outbox claims (the key's first half; the
 * second is the row's id). */
#define CLAIM_CLASS "7105311"

/* ---- the outbox ---- */

static const char queue_sql[] =
	"INSERT INTO outbox (ticket_id, message_id, kind, env_from, rcpts, data, next_try,"
	" created, quote_of, quote_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)"
	" RETURNING id";

static int
pg_queue(struct store *s, int64_t ticket_id, int64_t message_id, const char *kind,
	 const char *env_from, const char *rcpts, const char *data, size_t len, int64_t quote_of,
	 int64_t quote_at, int64_t now, int64_t *id_r, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_ref(&q, ticket_id);
	pg_arg_ref(&q, message_id);
	pg_arg_text(&q, kind);
	pg_arg_text(&q, env_from);
	pg_arg_text(&q, rcpts);
	pg_arg_bytes(&q, data, len);
	pg_arg_int(&q, now);
	pg_arg_ref(&q, quote_of);
	if (quote_of > 0)
		pg_arg_int(&q, quote_at);
	else
		pg_arg_text(&q, NULL);
	/* The caller who needs no id does not wait for it. */
	if (!id_r)
		return pg_do_ahead(s, queue_sql, &q, "cannot queue mail", e);
	return pg_first_int(s, queue_sql, &q, id_r, "cannot queue mail", e) < 0 ? -1 : 0;
}

static int
pg_set_next_try(struct store *s, int64_t id, int64_t when, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_int(&q, when);
	pg_arg_int(&q, id);
	return pg_do(s, "UPDATE outbox SET next_try = $1 WHERE id = $2", &q, NULL,
		     "cannot update the outbox", e);
}

/* Gives up this session's claims: all, or those of rows whose mark is
 * committed (no longer due at now). Repeated, since a claim taken twice is
 * held twice. Outside a transaction only: inside one, a mark may not be
 * committed yet. */
static int
release_claims(struct store *s, bool all, int64_t now, struct err *e)
{
	struct pg_args q = { 0 };
	int64_t n = 1;

	if (s->in_txn)
		return 0;
	pg_arg_bool(&q, all);
	pg_arg_int(&q, now);
	for (int i = 0; i < 8 && n > 0; i++)
		if (pg_first_int(s,
				 "SELECT count(pg_advisory_unlock(" CLAIM_CLASS
				 ", l.objid::bigint::int))"
				 " FROM pg_locks l WHERE l.locktype = 'advisory'"
				 " AND l.pid = pg_backend_pid() AND l.classid = " CLAIM_CLASS
				 " AND l.objsubid = 2 AND ($1 OR NOT EXISTS (SELECT 1 FROM outbox o"
				 " WHERE o.id = l.objid::bigint AND o.status = 'pending'"
				 " AND o.next_try <= $2))",
				 &q, &n, "cannot release outbox claims", e) < 0)
			return -1;
	return 0;
}

static int
pg_due(struct store *s, bool all, int64_t now, int64_t after_id, size_t max, int64_t **ids,
       size_t *n, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;

	*ids = NULL;
	*n = 0;
	/* A new pass: what this sender claimed before is recorded. */
	if (after_id == 0 && release_claims(s, true, now, e) < 0)
		return -1;
	pg_arg_bool(&q, all);
	pg_arg_int(&q, now);
	pg_arg_int(&q, after_id);
	pg_arg_int(&q, (int64_t)max);
	r = pg_run(s,
		   "SELECT id FROM outbox WHERE status = 'pending' AND ($1 OR next_try <= $2)"
		   " AND id > $3 ORDER BY id LIMIT $4",
		   &q, false, "cannot read the outbox", e);
	if (!r)
		return -1;
	*n = (size_t)PQntuples(r);
	*ids = *n ? xreallocarray(NULL, *n, sizeof(**ids)) : NULL;
	for (size_t i = 0; i < *n; i++)
		(*ids)[i] = pg_int(r, (int)i, 0);
	PQclear(r);
	return 0;
}

/* The columns of item_from_row. */
#define ITEM_COLUMNS \
	"coalesce(ticket_id, 0), kind, env_from, rcpts, data, attempts, coalesce(quote_of, 0)"

static void
item_from_row(const PGresult *r, int row, int64_t id, int64_t quote_at, struct outbox_item *it)
{
	it->id = id;
	it->ticket_id = pg_int(r, row, 0);
	it->kind = xstrdup(pg_text(r, row, 1));
	it->env_from = xstrdup(pg_text(r, row, 2));
	it->rcpts = xstrdup(pg_text(r, row, 3));
	it->data = pg_unescape_bytes(r, row, 4, &it->len);
	it->attempts = (int)pg_int(r, row, 5);
	it->quote_of = pg_int(r, row, 6);
	it->quote_at = quote_at;
}

static int
unclaim(struct store *s, int64_t id, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_int(&q, id);
	return pg_do(s, "SELECT pg_advisory_unlock(" CLAIM_CLASS ", $1::int)", &q, NULL,
		     "cannot release an outbox claim", e);
}

/* Claims row id for this sender (the file's head comment): 1 when another
 * has it or it is no longer pending. */
static int
pg_load(struct store *s, int64_t id, struct outbox_item *it, struct err *e)
{
	struct pg_args q = { 0 };
	int64_t got = 0;
	PGresult *r;

	memset(it, 0, sizeof(*it));
	if (release_claims(s, false, store_now(), e) < 0)
		return -1;
	pg_arg_int(&q, id);
	if (pg_first_int(s, "SELECT pg_try_advisory_lock(" CLAIM_CLASS ", $1::int)::int", &q, &got,
			 "cannot claim mail of the outbox", e) < 0)
		return -1;
	if (!got)
		return 1;
	r = pg_run(s,
		   "SELECT " ITEM_COLUMNS ", coalesce(quote_at, 0) FROM outbox"
		   " WHERE id = $1 AND status = 'pending' FOR UPDATE SKIP LOCKED",
		   &q, false, "cannot read the outbox", e);
	if (r && PQntuples(r) == 1) {
		item_from_row(r, 0, id, pg_int(r, 0, 7), it);
		PQclear(r);
		return 0;
	}
	PQclear(r);
	if (!r) {
		struct err ignored = ERR_INIT;

		unclaim(s, id, &ignored);
		return -1;
	}
	return unclaim(s, id, e) < 0 ? -1 : 1;
}

static int
pg_attempts(struct store *s, int64_t id, int64_t *ticket_id, int *attempts, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;
	int found;

	*ticket_id = 0;
	*attempts = 0;
	pg_arg_int(&q, id);
	r = pg_run(s, "SELECT coalesce(ticket_id, 0), attempts FROM outbox WHERE id = $1", &q,
		   false, "cannot read the outbox", e);
	if (!r)
		return -1;
	found = PQntuples(r) == 1;
	if (found) {
		*ticket_id = pg_int(r, 0, 0);
		*attempts = (int)pg_int(r, 0, 1);
	}
	PQclear(r);
	return found;
}

static int
pg_mark_sent(struct store *s, int64_t id, int64_t now, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_int(&q, now);
	pg_arg_int(&q, id);
	return pg_do(s,
		     "UPDATE outbox SET status = 'sent', attempts = attempts + 1,"
		     " sent_at = $1, last_error = NULL WHERE id = $2",
		     &q, NULL, "cannot update the outbox", e);
}

static int
pg_mark_attempt(struct store *s, int64_t id, bool failed, int attempts, int64_t next_try,
		const char *reply, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_text(&q, failed ? "failed" : "pending");
	pg_arg_int(&q, attempts);
	pg_arg_int(&q, next_try);
	pg_arg_text(&q, reply ? reply : "");
	pg_arg_int(&q, id);
	return pg_do(s,
		     "UPDATE outbox SET status = $1, attempts = $2, next_try = $3,"
		     " last_error = $4 WHERE id = $5",
		     &q, NULL, "cannot update the outbox", e);
}

static int
pg_add_outcome(struct store *s, int64_t id, const char *delivered, const char *rejected,
	       struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_text(&q, delivered ? delivered : "");
	pg_arg_text(&q, rejected ? rejected : "");
	pg_arg_int(&q, id);
	return pg_do(s,
		     "UPDATE outbox SET delivered = delivered || CASE WHEN delivered = ''"
		     " OR $1 = '' THEN '' ELSE ',' END || $1, rejected = rejected || $2"
		     " WHERE id = $3",
		     &q, NULL, "cannot update the outbox", e);
}

static int
pg_set_rcpts(struct store *s, int64_t id, const char *rcpts, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_text(&q, rcpts);
	pg_arg_int(&q, id);
	return pg_do(s, "UPDATE outbox SET rcpts = $1 WHERE id = $2", &q, NULL,
		     "cannot update the outbox", e);
}

static int
pg_list(struct store *s, bool all, int (*each)(void *, const struct outbox_row *), void *arg,
	struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;
	int stop = 0;

	pg_arg_bool(&q, all);
	r = pg_run(s,
		   "SELECT id, coalesce(ticket_id, 0), kind, status, attempts, next_try,"
		   " rcpts, coalesce(last_error, ''), created, coalesce(sent_at, 0),"
		   " length(data), rejected, delivered FROM outbox WHERE $1 OR status <> 'sent'"
		   " OR rejected <> '' ORDER BY id",
		   &q, false, "cannot read the outbox", e);
	if (!r)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct outbox_row row = {
			.id = pg_int(r, i, 0),
			.ticket_id = pg_int(r, i, 1),
			.kind = pg_text(r, i, 2),
			.status = pg_text(r, i, 3),
			.attempts = (int)pg_int(r, i, 4),
			.next_try = pg_int(r, i, 5),
			.rcpts = pg_text(r, i, 6),
			.last_error = pg_text(r, i, 7),
			.created = pg_int(r, i, 8),
			.sent_at = pg_int(r, i, 9),
			.size = pg_int(r, i, 10),
			.rejected = pg_text(r, i, 11),
			.delivered = pg_text(r, i, 12),
		};

		stop = each(arg, &row);
	}
	PQclear(r);
	return stop;
}

static int
pg_lookup(struct store *s, int64_t id, struct outbox_ref *ref, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;
	int found;

	memset(ref, 0, sizeof(*ref));
	pg_arg_int(&q, id);
	r = pg_run(s,
		   "SELECT coalesce(o.ticket_id, 0), o.kind, o.rcpts, m.message_id"
		   " FROM outbox o LEFT JOIN messages m ON m.id = o.message_id WHERE o.id = $1",
		   &q, false, "cannot read the outbox", e);
	if (!r)
		return -1;
	found = PQntuples(r) == 1;
	if (found) {
		ref->ticket_id = pg_int(r, 0, 0);
		ref->kind = xstrdup(pg_text(r, 0, 1));
		ref->rcpts = xstrdup(pg_text(r, 0, 2));
		ref->message_id = xstrdup(pg_text(r, 0, 3));
	}
	PQclear(r);
	return found;
}

/* SQLite's synchronous = NORMAL: the commit returns before its WAL is
 * flushed; a crash of the server loses at most the last marks, whose mails
 * then go again, never a mark of a mail not sent. */
static int
pg_set_lazy_commits(struct store *s, bool lazy, struct err *e)
{
	return pg_do(s, lazy ? "SET synchronous_commit = off" : "RESET synchronous_commit", NULL,
		     NULL, "cannot set the commit mode", e);
}

/* ---- outgoing messages ---- */

static int
pg_ticket_acked(struct store *s, int64_t ticket_id, bool *acked, struct err *e)
{
	struct pg_args q = { 0 };
	int64_t v;
	int rc;

	pg_arg_int(&q, ticket_id);
	rc = pg_first_int(s,
			  "SELECT 1 FROM messages WHERE ticket_id = $1 AND direction = 'out'"
			  " AND kind = 'ack' LIMIT 1",
			  &q, &v, "cannot query", e);
	*acked = rc > 0;
	return rc < 0 ? -1 : 0;
}

static int
pg_message_body(struct store *s, int64_t id, char **body, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;
	int found;

	*body = NULL;
	pg_arg_int(&q, id);
	r = pg_run(s, "SELECT body FROM messages WHERE id = $1", &q, false,
		   "cannot read the message a mail quotes", e);
	if (!r)
		return -1;
	found = PQntuples(r) == 1;
	if (found)
		*body = xstrdup(pg_text(r, 0, 0));
	PQclear(r);
	return found;
}

static int
pg_pick_message(struct store *s, int64_t ticket_id, unsigned skip_flags,
		bool (*pick)(void *, const char *, const char *, const char *), void *arg,
		int64_t *id_r, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;

	*id_r = 0;
	pg_arg_int(&q, ticket_id);
	pg_arg_int(&q, skip_flags);
	r = pg_run(s,
		   "SELECT id, from_addr, to_addrs, cc_addrs FROM messages WHERE ticket_id = $1"
		   " AND direction = 'in' AND kind IN ('inquiry', 'followup')"
		   " AND (flags & $2::int) = 0 ORDER BY id DESC",
		   &q, false, "cannot read the ticket's messages", e);
	if (!r)
		return -1;
	for (int i = 0; *id_r == 0 && i < PQntuples(r); i++)
		if (pick(arg, pg_text(r, i, 1), pg_text(r, i, 2), pg_text(r, i, 3)))
			*id_r = pg_int(r, i, 0);
	PQclear(r);
	return 0;
}

static int
pg_load_message(struct store *s, int64_t id, struct message *m, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;

	pg_arg_int(&q, id);
	r = pg_run(s, "SELECT message_id, refs, subject, body, date FROM messages WHERE id = $1",
		   &q, false, "cannot read the ticket's messages", e);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return err_set(e, EXIT_SOFTWARE, "cannot read the ticket's messages: no message "
			       "#%lld", (long long)id);
	}
	free(m->message_id);
	m->message_id = xstrdup(pg_text(r, 0, 0));
	outbox_add_refs(m, pg_text(r, 0, 1));
	free(m->subject);
	m->subject = xstrdup(pg_text(r, 0, 2));
	free(m->body);
	m->body = xstrdup(pg_text(r, 0, 3));
	m->has_date = !PQgetisnull(r, 0, 4);
	m->date = (time_t)pg_int(r, 0, 4);
	PQclear(r);
	return 0;
}

/* ---- automatic mail ---- */

static int
pg_auto_log(struct store *s, const char *const *addrs, size_t n, int64_t at, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		struct pg_args q = { 0 };

		pg_arg_text(&q, addrs[i]);
		pg_arg_int(&q, at);
		if (pg_do(s, "INSERT INTO autoreply_log (addr, at) VALUES ($1, $2)", &q, NULL,
			  "cannot log automatic mail", e) < 0)
			return -1;
	}
	return 0;
}

static int
pg_auto_count(struct store *s, int64_t minute, int64_t n, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_int(&q, minute);
	pg_arg_int(&q, n);
	return pg_do(s,
		     "INSERT INTO autoreply_count (minute, n) VALUES ($1, $2) ON CONFLICT"
		     " (minute) DO UPDATE SET n = autoreply_count.n + excluded.n",
		     &q, NULL, "cannot count automatic mail", e);
}

/* SQLite compares the address without case (COLLATE NOCASE): lower() on
 * both sides, which the index on lower(addr) serves. */
static int
pg_auto_logged(struct store *s, const char *addr, int64_t since, int64_t *n, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_text(&q, addr);
	pg_arg_int(&q, since);
	return pg_first_int(s,
			    "SELECT count(*) FROM autoreply_log WHERE lower(addr) = lower($1)"
			    " AND at > $2",
			    &q, n, "cannot query", e) < 0
		? -1
		: 0;
}

static int
pg_auto_counted(struct store *s, int64_t minute, int64_t *n, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_int(&q, minute);
	return pg_first_int(s, "SELECT coalesce(sum(n), 0) FROM autoreply_count WHERE minute > $1",
			    &q, n, "cannot query", e) < 0
		? -1
		: 0;
}

/* The log and the minute's count in one statement; mails 0 counts
 * nothing. */
static int
pg_auto_record(struct store *s, const char *const *addrs, size_t n, int64_t at,
	       int64_t minute, int64_t mails, struct err *e)
{
	struct pg_args q = { 0 };
	char *list = pg_text_array(addrs, n);
	int rc;

	if (!list)
		return err_set(e, EXIT_SOFTWARE, "cannot log automatic mail: too many addresses");
	pg_arg_text(&q, list);
	pg_arg_int(&q, at);
	pg_arg_int(&q, minute);
	pg_arg_int(&q, mails);
	rc = pg_do_ahead(s,
			 "WITH logged AS (INSERT INTO autoreply_log (addr, at) SELECT a, $2"
			 " FROM unnest($1::text[]) a) INSERT INTO autoreply_count (minute, n)"
			 " SELECT $3::bigint, $4::bigint WHERE $4::bigint > 0 ON CONFLICT (minute)"
			 " DO UPDATE SET n = autoreply_count.n + excluded.n",
			 &q, "cannot log automatic mail", e);
	free(list);
	return rc;
}

/* Both counts in one statement; addr NULL or counted NULL: not asked. */
static int
pg_auto_recent(struct store *s, const char *addr, int64_t since, int64_t minute,
	       int64_t *logged, int64_t *counted, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;

	pg_arg_text(&q, addr);
	pg_arg_int(&q, since);
	pg_arg_int(&q, minute);
	pg_arg_bool(&q, counted != NULL);
	r = pg_run(s,
		   "SELECT (SELECT count(*) FROM autoreply_log WHERE $1::text IS NOT NULL AND"
		   " lower(addr) = lower($1) AND at > $2),"
		   " (SELECT coalesce(sum(n), 0) FROM autoreply_count WHERE $4::boolean AND"
		   " minute > $3)",
		   &q, false, "cannot query", e);
	if (!r)
		return -1;
	*logged = pg_int(r, 0, 0);
	if (counted)
		*counted = pg_int(r, 0, 1);
	PQclear(r);
	return 0;
}

static int
pg_auto_prune(struct store *s, int64_t log_before, int64_t count_before, struct err *e)
{
	struct pg_args q = { 0 }, q2 = { 0 };

	pg_arg_int(&q, log_before);
	pg_arg_int(&q2, count_before);
	if (pg_do(s, "DELETE FROM autoreply_log WHERE at < $1", &q, NULL,
		  "cannot prune the automatic mail log", e) < 0)
		return -1;
	return pg_do(s, "DELETE FROM autoreply_count WHERE minute < $1", &q2, NULL,
		     "cannot prune the automatic mail count", e);
}

/* ---- state rows ---- */

/* The advisory lock class of state keys (a key's lock: this and hashtext). */
#define STATE_LOCK_CLASS "7105312"

/* SQLite's CAST(value AS INTEGER): the leading number of the text, 0 when
 * there is none. A state row is read to decide a write (a reminder's rate
 * limit): in a transaction, the key's lock makes a second writer wait for
 * the first's commit and then read what it wrote, as SQLite's one writer
 * at a time does. */
static int
pg_state_get(struct store *s, const char *key, int64_t *value, struct err *e)
{
	struct pg_args q = PG_ARGS_INIT;

	pg_arg_text(&q, key);
	if (pg_do_ahead(s, "SELECT pg_advisory_xact_lock(" STATE_LOCK_CLASS ", hashtext($1))", &q,
			"cannot lock state", e) < 0)
		return -1;
	return pg_first_int(s,
			    "SELECT coalesce(substring(value FROM '^\\s*[-+]?[0-9]+')::bigint, 0)"
			    " FROM state WHERE key = $1",
			    &q, value, "cannot read state", e);
}

static int
pg_state_set(struct store *s, const char *key, int64_t value, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_text(&q, key);
	pg_arg_int(&q, value);
	return pg_do(s,
		     "INSERT INTO state (key, value) VALUES ($1, $2) ON CONFLICT (key)"
		     " DO UPDATE SET value = excluded.value",
		     &q, NULL, "cannot save state", e);
}

/* ---- digests ---- */

static int
pg_open_digest(struct store *s, const char *key, int64_t due_after, int64_t *id_r,
	       struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_text(&q, key);
	pg_arg_int(&q, due_after);
	return pg_first_int(s,
			    "SELECT o.id FROM state st JOIN outbox o ON o.id::text = st.value"
			    " WHERE st.key = $1 AND o.status = 'pending' AND o.kind = 'digest'"
			    " AND o.next_try > $2",
			    &q, id_r, "cannot query", e) < 0
		? -1
		: 0;
}

static int
pg_digest_entries(struct store *s, int64_t outbox_id,
		  int (*each)(void *, const struct digest_entry *), void *arg, struct err *e)
{
	struct pg_args q = { 0 };
	char what[64];
	PGresult *r;
	int stop = 0;

	snprintf(what, sizeof(what), "outbox #%lld", (long long)outbox_id);
	pg_arg_text(&q, what);
	r = pg_run(s,
		   "SELECT t.id, t.subject, t.requester_name, t.requester FROM events e"
		   " JOIN tickets t ON t.id = e.ticket_id WHERE e.what = 'notice-held'"
		   " AND e.old_value = $1 ORDER BY e.id",
		   &q, false, "cannot read the inquiries of a digest", e);
	if (!r)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct digest_entry d = {
			.ticket_id = pg_int(r, i, 0),
			.subject = pg_text(r, i, 1),
			.requester_name = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2),
			.requester = pg_text(r, i, 3),
		};

		stop = each(arg, &d);
	}
	PQclear(r);
	return stop;
}

/* ---- reminders ---- */

static int
pg_waiting_tickets(struct store *s, const struct strlist *statuses, unsigned skip_flags,
		   int (*each)(void *, const struct waiting_ticket *), void *arg, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;
	int stop = 0;

	/* Unused places stay NULL, which no status equals. */
	for (size_t i = 0; i < 5; i++)
		pg_arg_text(&q, i < statuses->n ? statuses->items[i] : NULL);
	pg_arg_int(&q, skip_flags);
	r = pg_run(s,
		   "SELECT t.id, t.subject, t.queue, t.status, t.priority, t.assignee,"
		   " t.requester, t.created, (SELECT max(m.created) FROM messages m"
		   " WHERE m.ticket_id = t.id AND m.direction = 'out' AND m.kind = 'reply')"
		   " FROM tickets t WHERE t.merged_into IS NULL AND (t.flags & $6::int) = 0"
		   " AND t.status IN ($1, $2, $3, $4, $5) ORDER BY t.id",
		   &q, false, "cannot read tickets", e);
	if (!r)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct waiting_ticket t = {
			.id = pg_int(r, i, 0),
			.subject = pg_text(r, i, 1),
			.queue = pg_text(r, i, 2),
			.status = pg_text(r, i, 3),
			.priority = pg_text(r, i, 4),
			.assignee = pg_text(r, i, 5),
			.requester = pg_text(r, i, 6),
			.created = pg_int(r, i, 7),
			.last_reply = pg_int(r, i, 8),
		};

		stop = each(arg, &t);
	}
	PQclear(r);
	return stop;
}

static int
pg_first_word_after(struct store *s, int64_t ticket_id, int64_t after, int64_t *since,
		    struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;

	*since = after;
	pg_arg_int(&q, ticket_id);
	pg_arg_int(&q, after);
	r = pg_run(s,
		   "SELECT min(created) FROM messages WHERE ticket_id = $1"
		   " AND direction = 'in' AND kind IN ('inquiry','followup') AND created > $2",
		   &q, false, "cannot read messages", e);
	if (!r)
		return -1;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		*since = pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int
pg_ticket_tags(struct store *s, int64_t ticket_id, struct strlist *out, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;

	pg_arg_int(&q, ticket_id);
	/* COLLATE "C": SQLite's order, by bytes. */
	r = pg_run(s, "SELECT tag FROM ticket_tags WHERE ticket_id = $1 ORDER BY tag COLLATE \"C\"",
		   &q, false, "cannot read tags", e);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		strlist_add(out, pg_text(r, i, 0));
	PQclear(r);
	return 0;
}

/* ---- held mail ---- */

static int
pg_hold(struct store *s, int64_t ticket_id, int64_t answers, const char *kind,
	const char *rcpts, const char *data, const char *why, int64_t now, int64_t *id_r,
	struct err *e)
{
	struct pg_args q = { 0 };
	int64_t id;

	pg_arg_ref(&q, ticket_id);
	pg_arg_text(&q, kind);
	pg_arg_text(&q, rcpts);
	pg_arg_bytes(&q, data, strlen(data));
	pg_arg_int(&q, now);
	pg_arg_text(&q, why);
	pg_arg_ref(&q, answers);
	if (pg_first_int(
		    s,
		    "INSERT INTO outbox (ticket_id, kind, rcpts, data, status, next_try,"
		    " created, last_error, quote_of) VALUES ($1, $2, $3, $4, 'held', $5, $5, $6,"
		    " $7) RETURNING id",
		    &q, &id, "cannot hold mail in the outbox", e) < 0)
		return -1;
	if (id_r)
		*id_r = id;
	return 0;
}

static int
pg_held(struct store *s, struct outbox_item **items, size_t *n, struct err *e)
{
	PGresult *r;

	*items = NULL;
	*n = 0;
	/* Held for a template error: unrendered, no message yet (staff's holds
	 * have one and wait for release instead). */
	r = pg_run(s,
		   "SELECT " ITEM_COLUMNS ", id FROM outbox WHERE status = 'held'"
		   " AND message_id IS NULL ORDER BY id",
		   NULL, false, "cannot read the outbox", e);
	if (!r)
		return -1;
	*n = (size_t)PQntuples(r);
	*items = *n ? xcalloc(*n, sizeof(**items)) : NULL;
	for (size_t i = 0; i < *n; i++)
		item_from_row(r, (int)i, pg_int(r, (int)i, 7), 0, &(*items)[i]);
	PQclear(r);
	return 0;
}

static int
pg_drop_held(struct store *s, int64_t id, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_int(&q, id);
	return pg_do(s, "DELETE FROM outbox WHERE id = $1 AND status = 'held'", &q, NULL,
		     "cannot update the outbox", e);
}

/* ---- staff's hands on queued mail ---- */

static int
pg_row_state(struct store *s, int64_t id, struct outbox_state *out, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;
	int found;

	memset(out, 0, sizeof(*out));
	pg_arg_int(&q, id);
	r = pg_run(s,
		   "SELECT coalesce(ticket_id, 0), kind, status, message_id IS NOT NULL"
		   " FROM outbox WHERE id = $1",
		   &q, false, "cannot read the outbox", e);
	if (!r)
		return -1;
	found = PQntuples(r) > 0;
	if (found) {
		out->ticket_id = pg_int(r, 0, 0);
		snprintf(out->kind, sizeof(out->kind), "%s", pg_text(r, 0, 1));
		snprintf(out->status, sizeof(out->status), "%s", pg_text(r, 0, 2));
		out->has_message = strcmp(pg_text(r, 0, 3), "t") == 0;
	}
	PQclear(r);
	return found;
}

/* Runs a change and sets *changed when it touched a row. */
static int
change_rows(struct store *s, const char *sql, const struct pg_args *q, bool *changed, struct err *e)
{
	PGresult *r = pg_run(s, sql, q, false, "cannot update the outbox", e);

	*changed = false;
	if (!r)
		return -1;
	*changed = strtol(PQcmdTuples(r), NULL, 10) > 0;
	PQclear(r);
	return 0;
}

static int
pg_staff_hold(struct store *s, int64_t id, bool hold, const char *why, int64_t now,
	      bool *changed, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_int(&q, id);
	if (hold) {
		pg_arg_text(&q, why);
		return change_rows(s, "UPDATE outbox SET status = 'held', last_error = $2"
				   " WHERE id = $1 AND status = 'pending' AND message_id IS NOT NULL",
				   &q, changed, e);
	}
	pg_arg_int(&q, now);
	return change_rows(s, "UPDATE outbox SET status = 'pending', last_error = NULL,"
			   " next_try = $2 WHERE id = $1 AND status = 'held'"
			   " AND message_id IS NOT NULL", &q, changed, e);
}

static int
pg_cancel(struct store *s, int64_t id, bool *changed, struct err *e)
{
	struct pg_args q = { 0 };

	pg_arg_int(&q, id);
	return change_rows(s, "DELETE FROM outbox WHERE id = $1 AND status IN ('pending', 'held')",
			   &q, changed, e);
}

static int
pg_message_raw(struct store *s, int64_t message_id, char **raw, size_t *len, struct err *e)
{
	struct pg_args q = { 0 };
	PGresult *r;
	int found;

	*raw = NULL;
	*len = 0;
	pg_arg_int(&q, message_id);
	r = pg_run(s,
		   "SELECT r.data FROM messages m JOIN raws r ON r.id = m.raw_id"
		   " WHERE m.id = $1",
		   &q, false, "cannot read a stored message", e);
	if (!r)
		return -1;
	found = PQntuples(r) > 0;
	if (found)
		*raw = pg_unescape_bytes(r, 0, 0, len);
	PQclear(r);
	return found;
}

const struct store_outbox_ops pg_outbox_ops = {
	.queue = pg_queue,
	.set_next_try = pg_set_next_try,
	.due = pg_due,
	.load = pg_load,
	.attempts = pg_attempts,
	.mark_sent = pg_mark_sent,
	.mark_attempt = pg_mark_attempt,
	.add_outcome = pg_add_outcome,
	.set_rcpts = pg_set_rcpts,
	.list = pg_list,
	.lookup = pg_lookup,
	.set_lazy_commits = pg_set_lazy_commits,
	.ticket_acked = pg_ticket_acked,
	.message_body = pg_message_body,
	.pick_message = pg_pick_message,
	.load_message = pg_load_message,
	.auto_log = pg_auto_log,
	.auto_count = pg_auto_count,
	.auto_logged = pg_auto_logged,
	.auto_counted = pg_auto_counted,
	.auto_prune = pg_auto_prune,
	.auto_record = pg_auto_record,
	.auto_recent = pg_auto_recent,
	.state_get = pg_state_get,
	.state_set = pg_state_set,
	.open_digest = pg_open_digest,
	.digest_entries = pg_digest_entries,
	.waiting_tickets = pg_waiting_tickets,
	.first_word_after = pg_first_word_after,
	.ticket_tags = pg_ticket_tags,
	.hold = pg_hold,
	.held = pg_held,
	.drop_held = pg_drop_held,
	.row_state = pg_row_state,
	.staff_hold = pg_staff_hold,
	.cancel = pg_cancel,
	.message_raw = pg_message_raw,
};
