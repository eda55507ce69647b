/* The intake loop. Per batch: (1) the raw bytes of every fetched message
 * are committed; (2) they are parsed (in a second thread) and stored as
 * tickets, and committed; (3) only then the source copies are marked done.
 * A crash in (2) leaves the raw bytes pending for the next run, which counts
 * the crash against the message that was being parsed (crashguard.h) and
 * sets a message aside as poison after INTAKE_MAX_ATTEMPTS such crashes.
 *
 * The batches overlap: each round commits batch k+1 staged, then stores
 * batch k and commits it, so the parser thread works on k+1 while k is
 * stored and k+2 fetched; two commits per batch. A commit does not wait for
 * the disk: the WAL is synced in a thread of its own (syncer.h) while the
 * next round is stored, and the copies of a batch are marked done only
 * once the sync that followed its commit is through. Until then they are
 * in the store but not marked, as after a crash between commit and mark.
 *
 * The source's listing goes to a temporary table (on disk, beside the
 * store's page cache) and is read back a window of WINDOW_KEYS keys at a
 * time: memory does not grow with the backlog. */
#include "compat.h"

#include <signal.h>
#include <unistd.h>

#include "clock.h"
#include "crashguard.h"
#include "fetch.h"
#include "log.h"
#include "parse_ahead.h"
#include "search_index.h"
#include "source.h"
#include "source_ahead.h"
#include "syncer.h"
#include "testhook.h"
#include "xalloc.h"

static fetch_progress_fn progress_fn;
static void *progress_arg;

void
fetch_set_progress(fetch_progress_fn fn, void *arg)
{
	progress_fn = fn;
	progress_arg = arg;
}

/* A batch keeps the raw bytes it staged in memory up to this much, so that
 * processing need not read them back; larger batches read them back. Two
 * batches are in flight. */
#define BATCH_KEEP_BYTES ((size_t)8 * 1024 * 1024)
/* After this many rounds, the next one that finds the indexer's
 * checkpoints caught up starts the WAL over; after twice as many, it waits
 * for them. Bounds the WAL to about 16 to 32 batches. */
#define WAL_SYNC_ROUNDS 16

/* Rows staged in this batch: intake.id and raws.id. */
struct staged {
	int64_t intake_id;
	int64_t raw_id;
	char *key;
	char *ref;  /* where the source finds it (source.h), or NULL: the key */
	char *raw;  /* a copy of the bytes, or NULL: read them from the store */
	size_t len;
	long parsed; /* its index in the batch's parse_ahead, or -1 */
	bool stored;        /* stored by process_parsed_row, intake not yet updated */
	int64_t message_id; /* then its message (0: a duplicate) */
};

struct window;

struct batch {
	struct store *s;
	const char *source_id;
	struct window *win; /* the listing's keys being fetched, or NULL */
	struct staged *rows;
	size_t n, cap;
	size_t kept; /* bytes of raw copies held */
	struct parse_ahead *pa; /* parses the kept copies meanwhile, or NULL */
	struct err *e;
	size_t offered;  /* source keys this batch asked for */
	int frc;         /* what the source's fetch returned */
	struct err ferr; /* and why, when it failed */
};

/* The listing (source.h) waits in the temporary table listed; fetch_run
 * reads it WINDOW_KEYS keys at a time, so that a backlog of any size is
 * held in memory only a window at a time. */
#define WINDOW_KEYS 4096

/* The fresh keys read from the listing and not yet fetched. */
struct window {
	struct source_refs fresh;
	size_t off;    /* keys before off were asked for */
	size_t flight, flight_n; /* the fetch on its way: keys [flight, +n) */
	size_t cursor; /* where in it the last message was found */
	char *last_key;   /* the listing was read up to here (by_key)... */
	int64_t last_seq; /* ...or here (in the source's order) */
	bool end;         /* ...or to its end */
};

/* Where the source finds a message it just handed over: the fetch asked
 * for its key. Sources hand messages over in the order asked (some perhaps
 * skipped), so the search starts after the last one found. NULL when the
 * ref is the key. */
static const char *
window_ref(struct window *w, const char *key)
{
	for (size_t k = 0; w && k < w->flight_n; k++) {
		size_t i = w->flight + (w->cursor + k) % w->flight_n;

		if (strcmp(w->fresh.keys.items[i], key) == 0) {
			const char *ref = w->fresh.refs.items[i];

			w->cursor = (i - w->flight + 1) % w->flight_n;
			return strcmp(ref, key) != 0 ? ref : NULL;
		}
	}
	return NULL;
}

/* Stages one fetched message: its raw bytes and its intake row. The batch
 * keeps it->raw (the copy the parser thread reads) while under
 * BATCH_KEEP_BYTES. */
static int
stage_cb(void *arg, struct source_item *it)
{
	struct batch *b = arg;
	const char *ref = window_ref(b->win, it->key);
	sqlite3_stmt *st;
	int64_t raw_id;

	/* Positive: a store error, distinct from the backends' SRC_* codes. */
	if (ingest_store_raw_hashed(b->s, it->raw, it->len, it->sha256, &raw_id, b->e) < 0)
		return 1;
	st = store_prepare(b->s, "INSERT INTO intake (source, key, raw_id, attempts, created) "
			   "VALUES (?, ?, ?, 0, ?) ON CONFLICT (source, key) DO NOTHING "
			   "RETURNING id", b->e);
	if (!st)
		return 1;
	sqlite3_bind_text(st, 1, b->source_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, it->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, raw_id);
	sqlite3_bind_int64(st, 4, store_now());
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		if (b->n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 64;
			b->rows = xreallocarray(b->rows, b->cap, sizeof(*b->rows));
		}
		b->rows[b->n].intake_id = sqlite3_column_int64(st, 0);
		b->rows[b->n].raw_id = raw_id;
		b->rows[b->n].key = xstrdup(it->key);
		b->rows[b->n].ref = ref ? xstrdup(ref) : NULL;
		b->rows[b->n].raw = NULL;
		b->rows[b->n].len = it->len;
		b->rows[b->n].parsed = -1;
		b->rows[b->n].stored = false;
		b->rows[b->n].message_id = 0;
		if (b->kept + it->len <= BATCH_KEEP_BYTES) {
			b->rows[b->n].raw = it->raw;
			it->raw = NULL;
			b->kept += it->len;
		}
		b->n++;
		break;
	case SQLITE_DONE:
		break; /* already staged by an earlier run */
	default:
		sqlite3_reset(st);
		store_error(b->s, b->e, "cannot record intake");
		return 1;
	}
	sqlite3_reset(st);
	return 0;
}

static void
batch_clear(struct batch *b)
{
	/* The parser thread reads the copies: stop it before freeing them. */
	parse_ahead_finish(&b->pa);
	for (size_t i = 0; i < b->n; i++) {
		free(b->rows[i].key);
		free(b->rows[i].ref);
		free(b->rows[i].raw);
	}
	b->n = 0;
	b->kept = 0;
}

/* Adds the time since *mark to *acc and moves the mark. */
static void
lap(double *acc, double *mark)
{
	double t = clock_mono();

	*acc += t - *mark;
	*mark = t;
}

static void
count(struct fetch_stats *st, const struct ingest_result *r)
{
	if (r->kind == INGEST_DUPLICATE) {
		st->duplicates++;
		return;
	}
	if (r->kind == INGEST_NEW_TICKET)
		st->new_tickets++;
	else
		st->followups++;
	if ((r->msg_flags & (MSG_PARSE_ERROR | MSG_TRUNCATED | MSG_BOUNCE | MSG_AUTOREPLY |
			     MSG_SPAM | MSG_OVERSIZE | MSG_MSGID_REUSED | MSG_DMARC_FAIL)) ||
	    r->problems)
		st->flagged++;
	st->problems += r->problems;
	if (r->msg_flags & MSG_POISON)
		st->poison++;
	st->acks_queued += r->acks_queued;
	st->acks_suppressed += r->acks_suppressed;
	st->notices_queued += r->notices_queued;
	st->template_fallbacks += r->template_fallbacks;
	st->held += r->held;
}

static void
start_parsing(struct ingest *ing, struct batch *b)
{
	b->pa = parse_ahead_start(ing, b->n);
	for (size_t i = 0; i < b->n; i++)
		if (b->rows[i].raw)
			b->rows[i].parsed = (long)parse_ahead_push(b->pa, b->rows[i].raw,
								   b->rows[i].len,
								   b->rows[i].intake_id);
}

/* The intake row is stored (or poison); message_id is its message, 0 for a
 * duplicate. */
static int
mark_stored(struct store *s, int64_t intake_id, int64_t message_id, bool poison, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "UPDATE intake SET state = ?, message_id = ? "
					"WHERE id = ?", e);

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, poison ? "poison" : "stored", -1, SQLITE_STATIC);
	if (message_id > 0)
		sqlite3_bind_int64(q, 2, message_id);
	sqlite3_bind_int64(q, 3, intake_id);
	if (sqlite3_step(q) != SQLITE_DONE) {
		sqlite3_reset(q);
		return store_error(s, e, "cannot update intake");
	}
	sqlite3_reset(q);
	return 0;
}

/* Processes one staged row inside the open transaction. mem, when given,
 * is the row as staged by this process, bytes included. */
static int
process_row(struct ingest *ing, struct store *s, int64_t intake_id, const struct staged *mem,
	    bool poison, struct fetch_stats *st, struct err *e)
{
	struct ingest_result res;
	sqlite3_stmt *q;
	const char *raw;
	char *copy = NULL;
	size_t len;
	int64_t raw_id;
	int rc;

	if (mem && mem->raw) {
		raw_id = mem->raw_id;
		raw = mem->raw;
		len = mem->len;
		goto process;
	}
	q = store_prepare(s, "SELECT r.id, r.data FROM intake i JOIN raws r ON r.id = i.raw_id "
			  "WHERE i.id = ? AND i.state = 'pending'", e);
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, intake_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(q);
		return 0; /* done meanwhile by another process */
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		return store_error(s, e, "cannot read staged message");
	}
	raw_id = sqlite3_column_int64(q, 0);
	raw = sqlite3_column_blob(q, 1);
	len = (size_t)sqlite3_column_bytes(q, 1);
	/* The statement is reused below: keep our own copy of the bytes. */
	copy = xmalloc(len + 1);
	if (len)
		memcpy(copy, raw, len);
	copy[len] = '\0';
	sqlite3_reset(q);
	raw = copy;
process:
	if (poison) {
		rc = ingest_raw(ing, s, raw_id, raw, len, true, &res, e);
	} else {
		struct message m;

		crashguard_enter(intake_id);
		alarm(INTAKE_PARSE_ALARM);
		intake_fault_injection(raw, len);
		rc = ingest_parse(ing, raw, len, &m, e);
		alarm(0);
		crashguard_leave();
		if (rc == 0) {
			rc = ingest_parsed(ing, s, raw_id, &m, NULL, &res, e);
			message_release(&m);
		} else {
			rc = ingest_set_aside(ing, s, raw_id, raw, len, e->msg, &res, e);
		}
	}
	free(copy);
	if (rc < 0)
		return -1;
	count(st, &res);
	st->last = res;
	return mark_stored(s, intake_id, res.kind != INGEST_DUPLICATE ? res.message_id : 0, poison,
			   e);
}

/* A row the parser thread has parsed (or is parsing). */
static int
process_parsed_row(struct ingest *ing, struct store *s, struct batch *b, size_t i,
		   struct fetch_stats *st, struct err *e)
{
	struct ingest_result res;
	struct rule_outcome ro;
	struct message m;
	double mark = clock_mono();
	int rc;

	rc = parse_ahead_take(b->pa, (size_t)b->rows[i].parsed, &m, &ro, e, INTAKE_PARSE_ALARM);
	lap(&st->times.parse_wait, &mark);
	if (rc < 0) {
		/* Not parsed: kept raw, flagged; the batch goes on. */
		rc = ingest_set_aside(ing, s, b->rows[i].raw_id, b->rows[i].raw, b->rows[i].len,
				      e->msg, &res, e);
	} else {
		rc = ingest_parsed(ing, s, b->rows[i].raw_id, &m, &ro, &res, e);
		message_release(&m);
		rule_outcome_release(&ro);
	}
	if (rc < 0)
		return -1;
	count(st, &res);
	st->last = res;
	/* Its intake row is updated with the others' (marks_stored). */
	b->rows[i].stored = true;
	b->rows[i].message_id = res.kind != INGEST_DUPLICATE ? res.message_id : 0;
	return 0;
}

/* MARKS_AT_ONCE rows of intake marked stored by one statement. */
#define MARKS_AT_ONCE 25

static int
marks_run(struct store *s, const char *sql, const struct staged *const *rows, size_t n,
	  struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, sql, e);

	if (!q)
		return -1;
	for (size_t k = 0; k < n; k++) {
		sqlite3_bind_int64(q, (int)(2 * k + 1), rows[k]->intake_id);
		if (rows[k]->message_id > 0)
			sqlite3_bind_int64(q, (int)(2 * k + 2), rows[k]->message_id);
		else
			sqlite3_bind_null(q, (int)(2 * k + 2));
	}
	if (sqlite3_step(q) != SQLITE_DONE) {
		sqlite3_reset(q);
		return store_error(s, e, "cannot update intake");
	}
	sqlite3_reset(q);
	return 0;
}

/* The intake rows process_parsed_row stored, updated MARKS_AT_ONCE at a
 * time: one statement rather than one per mail. */
static int
marks_stored(struct store *s, struct batch *b, struct err *e)
{
	static char sql[64 + MARKS_AT_ONCE * 8 + 160];
	const struct staged *rows[MARKS_AT_ONCE];
	size_t n = 0;

	if (!*sql) {
		size_t o = (size_t)snprintf(sql, sizeof(sql), "UPDATE intake SET state = 'stored',"
					    " message_id = v.column2 FROM (VALUES ");

		for (int k = 0; k < MARKS_AT_ONCE; k++)
			o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s(?,?)", k ? "," : "");
		snprintf(sql + o, sizeof(sql) - o, ") AS v WHERE intake.id = v.column1");
	}
	for (size_t i = 0; i < b->n; i++) {
		if (!b->rows[i].stored)
			continue;
		b->rows[i].stored = false;
		rows[n++] = &b->rows[i];
		if (n == MARKS_AT_ONCE) {
			if (marks_run(s, sql, rows, n, e) < 0)
				return -1;
			n = 0;
		}
	}
	for (size_t k = 0; k < n; k++)
		if (mark_stored(s, rows[k]->intake_id, rows[k]->message_id, false, e) < 0)
			return -1;
	return 0;
}

/* Stores the rows of b inside the open transaction. */
static int
process_rows(struct ingest *ing, struct store *s, struct batch *b, struct fetch_stats *st,
	     struct err *e)
{
	double mark = clock_mono(), waited = st->times.parse_wait;

	for (size_t i = 0; i < b->n; i++) {
		int rc;

		if (b->rows[i].parsed >= 0)
			rc = process_parsed_row(ing, s, b, i, st, e);
		else
			rc = process_row(ing, s, b->rows[i].intake_id, &b->rows[i], false, st, e);
		if (rc < 0)
			return -1;
	}
	if (marks_stored(s, b, e) < 0)
		return -1;
	lap(&st->times.store, &mark);
	st->times.store -= st->times.parse_wait - waited;
	return 0;
}

static int
process_batch(struct ingest *ing, struct store *s, struct batch *b, struct fetch_stats *st,
	      struct err *e)
{
	if (b->n == 0)
		return 0;
	if (store_begin(s, e) < 0)
		return -1;
	if (process_rows(ing, s, b, st, e) < 0) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s, e);
}

/* Reads a pending row into the batch (its bytes kept while they fit). */
static int
recover_row(struct store *s, struct batch *b, int64_t intake_id, int64_t raw_id, size_t len,
	    struct err *e)
{
	struct staged *r;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->rows = xreallocarray(b->rows, b->cap, sizeof(*b->rows));
	}
	r = &b->rows[b->n];
	memset(r, 0, sizeof(*r));
	r->intake_id = intake_id;
	r->raw_id = raw_id;
	r->key = xstrdup("");
	r->len = len;
	r->parsed = -1;
	if (b->kept + len <= BATCH_KEEP_BYTES) {
		sqlite3_stmt *q = store_prepare(s, "SELECT data FROM raws WHERE id = ?", e);

		if (!q)
			return -1;
		sqlite3_bind_int64(q, 1, raw_id);
		if (sqlite3_step(q) != SQLITE_ROW) {
			sqlite3_reset(q);
			return store_error(s, e, "cannot read staged message");
		}
		r->raw = xmalloc(len + 1);
		if (len)
			memcpy(r->raw, sqlite3_column_blob(q, 0), len);
		r->raw[len] = '\0';
		sqlite3_reset(q);
		b->kept += len;
	}
	b->n++;
	return 0;
}

int
intake_recover(struct ingest *ing, struct store *s, const char *source_id,
	       struct fetch_stats *st, struct err *e)
{
	struct batch b = { .s = s, .source_id = source_id, .e = e };
	int64_t *poison = NULL;
	size_t npoison = 0;
	sqlite3_stmt *q;
	int rc;

	if (crashguard_collect(s, e) < 0)
		return -1;
	/* Rows of other sources may be in flight in another process (an MTA's
	 * secdesk ingest): only those older than a minute are leftovers. */
	q = store_prepare(s, "SELECT i.id, i.raw_id, i.attempts, r.size FROM intake i"
			  " JOIN raws r ON r.id = i.raw_id WHERE i.state = 'pending'"
			  " AND (i.source = ? OR i.created < ?) ORDER BY i.id", e);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, source_id ? source_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, store_now() - 60);
	/* Collect first: recover_row reuses the statement cache. */
	{
		struct { int64_t id, raw_id; size_t len; } *rows = NULL;
		size_t n = 0, cap = 0;

		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			if (sqlite3_column_int(q, 2) >= INTAKE_MAX_ATTEMPTS) {
				poison = xreallocarray(poison, npoison + 1, sizeof(*poison));
				poison[npoison++] = sqlite3_column_int64(q, 0);
				continue;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				rows = xreallocarray(rows, cap, sizeof(*rows));
			}
			rows[n].id = sqlite3_column_int64(q, 0);
			rows[n].raw_id = sqlite3_column_int64(q, 1);
			rows[n].len = (size_t)sqlite3_column_int64(q, 3);
			n++;
		}
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			rc = store_error(s, e, "cannot read intake");
		else
			rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = recover_row(s, &b, rows[i].id, rows[i].raw_id, rows[i].len, e);
		free(rows);
	}
	/* Poison first: each alone, never parsed again. */
	for (size_t i = 0; i < npoison && rc == 0; i++) {
		if (store_begin(s, e) < 0) {
			rc = -1;
			break;
		}
		if (process_row(ing, s, poison[i], NULL, true, st, e) < 0) {
			store_rollback(s);
			rc = -1;
			break;
		}
		rc = store_commit(s, e);
	}
	if (rc == 0 && b.n) {
		start_parsing(ing, &b);
		rc = process_batch(ing, s, &b, st, e);
	}
	batch_clear(&b);
	free(b.rows);
	free(poison);
	return rc;
}

int
intake_one(struct ingest *ing, struct store *s, const char *source_id, const char *raw,
	   size_t len, struct ingest_result *res, struct err *e)
{
	struct fetch_stats st = { 0 };
	struct batch b = { .s = s, .source_id = source_id, .e = e };
	char key[65];
	struct source_item it = { key, NULL, len, key };
	int rc = -1, staged;

	memset(res, 0, sizeof(*res));
	ingest_sha256(raw, len, key);
	if (store_begin(s, e) < 0)
		return -1;
	/* stage_cb keeps the copy it is given, for the parser. */
	it.raw = xmalloc(len + 1);
	memcpy(it.raw, raw, len);
	it.raw[len] = '\0';
	staged = stage_cb(&b, &it);
	free(it.raw);
	if (staged != 0) {
		store_rollback(s);
		goto out;
	}
	if (store_commit(s, e) < 0)
		goto out;
	if (b.n == 0) {
		/* Offered before: stored already, or left pending by a crash. */
		rc = intake_recover(ing, s, source_id, &st, e);
		res->kind = INGEST_DUPLICATE;
		goto out;
	}
	rc = process_batch(ing, s, &b, &st, e);
	if (rc == 0)
		*res = st.last;
out:
	batch_clear(&b);
	free(b.rows);
	return rc;
}

static int
src_fail(int rc, struct err *e)
{
	if (rc == SRC_CONN_BAD && e->code != EXIT_UNAVAILABLE)
		e->code = EXIT_TEMPFAIL;
	else if (rc == SRC_BOX_BAD && !e->code)
		e->code = EXIT_UNAVAILABLE;
	return -1;
}

struct lister {
	struct store *s;
	sqlite3_stmt *insert;
	struct err *e;
};

static int
listed_cb(void *arg, const char *key, const char *where)
{
	struct lister *l = arg;
	int rc;

	sqlite3_bind_text(l->insert, 1, key, -1, SQLITE_STATIC);
	if (where)
		sqlite3_bind_text(l->insert, 2, where, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(l->insert, 2);
	rc = sqlite3_step(l->insert);
	sqlite3_reset(l->insert);
	if (rc != SQLITE_DONE) {
		store_error(l->s, l->e, "cannot keep the mailbox's listing");
		return 1; /* positive: not one of the backends' SRC_* codes */
	}
	return 0;
}

/* The source's listing, into the temporary table listed (a file of its
 * own, not the store's, and only its page cache in memory). A key listed
 * twice (a Maildir file in new/ and cur/) is kept as listed first. Its
 * transaction takes no lock on the store: the listing can take long. */
static int
list_keys(const struct source_ops *ops, struct source *src, struct store *s, struct err *e)
{
	struct lister l = { s, NULL, e };
	int rc;

	if (store_exec(s, "BEGIN", e) < 0)
		return -1;
	if (store_exec(s, "CREATE TEMP TABLE IF NOT EXISTS listed (key TEXT PRIMARY KEY, loc TEXT);"
		       "DELETE FROM temp.listed", e) < 0 ||
	    !(l.insert = store_prepare(s, "INSERT OR IGNORE INTO temp.listed (key, loc) "
				       "VALUES (?, ?)", e))) {
		store_rollback(s);
		return -1;
	}
	rc = ops->list(src, listed_cb, &l, e);
	if (rc != SRC_OK) {
		store_rollback(s);
		return rc > 0 ? -1 : src_fail(rc, e);
	}
	if (store_exec(s, "COMMIT", e) < 0) {
		store_rollback(s);
		return -1;
	}
	return 0;
}

/* Stored messages the source no longer lists were marked done by a run that
 * was stopped before it could record it (or were taken away by hand): either
 * way nothing is left to do for them. */
static int
settle_unlisted(struct store *s, const char *source_id, struct err *e)
{
	sqlite3_stmt *q;

	if (store_begin(s, e) < 0)
		return -1;
	q = store_prepare(s, "UPDATE intake SET done = 1 WHERE source = ? AND done = 0 "
			  "AND state <> 'pending' AND key NOT IN (SELECT key FROM temp.listed)", e);
	if (!q)
		goto fail;
	sqlite3_bind_text(q, 1, source_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		sqlite3_reset(q);
		store_error(s, e, "cannot update intake");
		goto fail;
	}
	sqlite3_reset(q);
	return store_commit(s, e);
fail:
	store_rollback(s);
	return -1;
}

/* The keys of listed this source has not given the store yet; for the
 * progress report. */
static int
count_fresh(struct store *s, const char *source_id, size_t *n, struct err *e)
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

/* Forgets the keys asked for: their fetch was collected (its rows keep
 * copies). */
static void
window_compact(struct window *w)
{
	strlist_drop_front(&w->fresh.keys, w->off);
	strlist_drop_front(&w->fresh.refs, w->off);
	w->off = w->flight = w->flight_n = w->cursor = 0;
}

static void
window_release(struct window *w)
{
	source_refs_release(&w->fresh);
	free(w->last_key);
	memset(w, 0, sizeof(*w));
}

/* Reads the next keys (WINDOW_KEYS) of the listing: those new to the store
 * join w, those stored but not marked done (a run stopped between its
 * commit and the marks) join redo, the others are done with. */
static int
window_load(struct store *s, const char *source_id, bool by_key, size_t keys, struct window *w,
	    struct source_refs *redo, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, by_key
		? "SELECT l.key, l.loc, i.done, l.rowid FROM temp.listed l LEFT JOIN intake i"
		  " ON i.source = ?1 AND i.key = l.key WHERE l.key > ?2 ORDER BY l.key LIMIT ?3"
		: "SELECT l.key, l.loc, i.done, l.rowid FROM temp.listed l LEFT JOIN intake i"
		  " ON i.source = ?1 AND i.key = l.key WHERE l.rowid > ?2 ORDER BY l.rowid LIMIT ?3",
		e);
	size_t read = 0;
	int rc;

	if (!q)
		return -1;
	window_compact(w);
	sqlite3_bind_text(q, 1, source_id, -1, SQLITE_STATIC);
	if (by_key)
		sqlite3_bind_text(q, 2, w->last_key ? w->last_key : "", -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(q, 2, w->last_seq);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)keys);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(q, 0);
		const char *loc = (const char *)sqlite3_column_text(q, 1);

		if (!key)
			continue;
		read++;
		if (sqlite3_column_type(q, 2) == SQLITE_NULL)
			source_refs_add(&w->fresh, key, loc);
		else if (sqlite3_column_int(q, 2) == 0)
			source_refs_add(redo, key, loc);
		w->last_seq = sqlite3_column_int64(q, 3);
		if (by_key) {
			free(w->last_key);
			w->last_key = xstrdup(key);
		}
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the mailbox's listing");
	if (read < keys)
		w->end = true;
	return 0;
}

/* Records, inside the caller's transaction, that the source copies of
 * keys were marked done. */
static int
record_done(struct store *s, const char *source_id, const struct strlist *keys, struct err *e)
{
	for (size_t i = 0; i < keys->n; i++) {
		sqlite3_stmt *q = store_prepare(s, "UPDATE intake SET done = 1 WHERE source = ? "
						"AND key = ? AND state <> 'pending'", e);

		if (!q)
			return -1;
		sqlite3_bind_text(q, 1, source_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, keys->items[i], -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE) {
			sqlite3_reset(q);
			return store_error(s, e, "cannot update intake");
		}
		sqlite3_reset(q);
	}
	return 0;
}

/* The same in a transaction of its own, at the end of a run. A failure
 * here loses nothing: the next run finds the copies done and says so. */
static int
record_done_now(struct store *s, const char *source_id, struct strlist *keys, struct err *e)
{
	if (keys->n == 0)
		return 0;
	if (store_begin(s, e) < 0)
		return -1;
	if (record_done(s, source_id, keys, e) < 0) {
		store_rollback(s);
		return -1;
	}
	strlist_release(keys);
	return store_commit(s, e);
}

/* Stages the messages the source thread fetched for b, inside the open
 * transaction. Source failures are kept in b (handled once b is stored);
 * -1 only for a store error. */
static int
stage_batch(struct source_ahead *sa, struct batch *b, struct fetch_stats *st)
{
	double mark = clock_mono();

	err_clear(&b->ferr);
	b->frc = source_ahead_collect(sa, stage_cb, b, &b->ferr);
	lap(&st->times.source, &mark);
	if (b->frc > 0)
		return -1; /* stage_cb's store error, in b->e */
	st->fetched += (int)b->n;
	return 0;
}

/* The source is still there after b's fetch: it went through, one message
 * perhaps unreadable. */
static bool
source_went_on(const struct batch *b)
{
	return b->frc == SRC_OK || b->frc == SRC_MSG_BAD;
}

/* After b is stored: 0 to go on, -1 when its fetch failed so that the run
 * must stop (e filled). */
static int
source_outcome(struct batch *b, struct fetch_stats *st, struct err *e)
{
	if (b->frc == SRC_OK)
		return 0;
	if (b->frc == SRC_MSG_BAD) {
		st->skipped++;
		snprintf(st->skip_note, sizeof(st->skip_note), "%s", b->ferr.msg);
		b->frc = SRC_OK;
		return 0;
	}
	*e = b->ferr;
	return src_fail(b->frc, e);
}

/* Waits for the source thread's mark_done of the messages in marking; on
 * success their keys move to done_keys, to be recorded in the store. */
static int
marked(struct source_ahead *sa, struct source_refs *marking, struct strlist *done_keys,
       struct fetch_stats *st, struct err *e)
{
	int rc;

	if (marking->keys.n == 0)
		return 0;
	rc = source_ahead_marked(sa, e);
	if (rc != SRC_OK) {
		source_refs_release(marking);
		return src_fail(rc, e);
	}
	st->marked_done += (int)marking->keys.n;
	for (size_t i = 0; i < marking->keys.n; i++) {
		strlist_add_owned(done_keys, marking->keys.items[i]);
		marking->keys.items[i] = NULL;
	}
	source_refs_release(marking);
	return 0;
}

/* Queues the source thread's mark_done of the messages in marking (empty:
 * nothing); they stay there until marked() has its answer. */
static void
mark_ahead(struct source_ahead *sa, const struct source_refs *marking)
{
	if (marking->refs.n)
		source_ahead_mark_done(sa, (const char *const *)marking->refs.items,
				       marking->refs.n);
}

/* What a fetch works through: the listing, a window at a time, and the
 * stored messages met there whose source copies are still to be marked. */
struct backlog {
	struct store *s;
	const char *source_id;
	bool by_key;
	size_t batch_size;
	size_t window_keys; /* WINDOW_KEYS, but for tests */
	struct window win;
	struct source_refs redo; /* stored, their copies not marked done */
};

/* Queues the fetch of the next batch of fresh keys, reading the listing
 * further while fewer are left; *ahead is how many (0: none for now, when
 * the listing is at its end or redo is full; see backlog_done). */
static int
fetch_ahead(struct source_ahead *sa, struct backlog *bl, size_t *ahead, struct err *e)
{
	struct window *w = &bl->win;
	size_t n;

	while (w->fresh.keys.n - w->off < bl->batch_size && !w->end &&
	       bl->redo.keys.n < bl->window_keys)
		if (window_load(bl->s, bl->source_id, bl->by_key, bl->window_keys, w, &bl->redo,
				e) < 0)
			return -1;
	n = w->fresh.keys.n - w->off < bl->batch_size ? w->fresh.keys.n - w->off : bl->batch_size;
	if (n)
		source_ahead_fetch(sa, (const char *const *)w->fresh.refs.items + w->off, n);
	w->flight = w->off;
	w->flight_n = n;
	w->cursor = 0;
	w->off += n;
	*ahead = n;
	return 0;
}

static bool
backlog_done(const struct backlog *bl)
{
	return bl->win.end && bl->win.off == bl->win.fresh.keys.n && bl->redo.keys.n == 0;
}

static void
backlog_release(struct backlog *bl)
{
	window_release(&bl->win);
	source_refs_release(&bl->redo);
}

/* The search index and the WAL checkpoints go to a thread of their own
 * (search_index.h). Without it (it could not open the index), the store
 * checkpoints as usual and search catches up later. */
static struct search_indexer *
indexer_start(struct store *s)
{
	struct search_indexer *ix;
	struct err e = ERR_INIT;

	if (search_indexer_start(store_path(s), &ix, &e) < 0) {
		log_warn("%s; search will catch up", e.msg);
		return NULL;
	}
	if (store_exec(s, "PRAGMA wal_autocheckpoint = 0", &e) < 0) {
		log_warn("%s", e.msg);
		search_indexer_stop(&ix, &e);
		return NULL;
	}
	return ix;
}

/* Commits stop waiting for the disk (see the top of this file); without
 * the sync thread, each commit syncs (synchronous=FULL) as before. */
static struct syncer *
syncer_begin(struct store *s)
{
	struct err e = ERR_INIT;
	struct syncer *sy = store_sync_begin(s, &e);

	if (!sy)
		log_warn("%s; each commit syncs", e.msg);
	return sy;
}

static void
indexer_stop(struct store *s, struct search_indexer **ix)
{
	struct err e = ERR_INIT;

	if (!*ix)
		return;
	if (search_indexer_stop(ix, &e) < 0)
		log_warn("%s; search will catch up", e.msg);
	e = (struct err)ERR_INIT;
	if (store_exec(s, "PRAGMA wal_autocheckpoint = 1000", &e) < 0)
		log_warn("%s", e.msg);
}

/* Acks and notices are built on a thread of their own (outbound.h); without
 * it, where it could not start, the storing thread builds them. */
static void
pipeline_start(struct ingest *ing, struct store *s)
{
	struct err e = ERR_INIT;

	if (ingest_pipeline_start(ing, s, &e) < 0)
		log_warn("%s; building mail in line", e.msg);
}

static void
pipeline_stop(struct ingest *ing, struct fetch_stats *st)
{
	struct ingest_result tally = { 0 };

	ingest_pipeline_stop(ing, &tally, &st->times.compose_wait);
	st->acks_queued += tally.acks_queued;
	st->acks_suppressed += tally.acks_suppressed;
	st->notices_queued += tally.notices_queued;
	st->template_fallbacks += tally.template_fallbacks;
	st->held += tally.held;
	/* An ack or notice that could not be built flags its ticket. */
	st->flagged += tally.problems;
	st->problems += tally.problems;
}

int
fetch_run(const struct config *cfg, struct store *s, struct ingest *ing,
	  struct fetch_stats *st, struct err *e)
{
	const struct source_ops *ops = NULL;
	struct strlist done_keys = STRLIST_INIT;
	struct source_refs marking = SOURCE_REFS_INIT;
	/* Stored by the last round; marked once its commit is synced. */
	struct source_refs unsynced = SOURCE_REFS_INIT;
	uint64_t unsynced_ticket = 0;
	struct syncer *sy = NULL;
	struct backlog bl = { .s = s, .batch_size = (size_t)cfg->mailbox.batch };
	struct batch pair[2] = { { .s = s, .e = e, .win = &bl.win },
				 { .s = s, .e = e, .win = &bl.win } };
	struct batch *cur = &pair[0], *next = &pair[1];
	struct source_ahead *sa = NULL;
	struct search_indexer *ix = NULL;
	struct source *src = NULL;
	size_t handled = 0, total = 0, ahead;
	unsigned rounds = 0; /* since the WAL last started over */
	int rc;

	if (config_need_mailbox(cfg, e) < 0)
		return -1;
	ops = source_find(cfg->mailbox.conn.url);
	if (!ops)
		return err_set(e, EXIT_CONFIG, "[mailbox] url: no mail source for '%s'",
			       cfg->mailbox.conn.url);
	rc = ops->open(cfg, &src, e);
	if (rc != SRC_OK)
		return src_fail(rc, e);
	pair[0].source_id = pair[1].source_id = bl.source_id = ops->id(src);
	bl.by_key = ops->by_key;
	bl.window_keys = testhook_size("SECDESK_TEST_WINDOW", WINDOW_KEYS);
	if (intake_recover(ing, s, bl.source_id, st, e) < 0 ||
	    list_keys(ops, src, s, e) < 0 || settle_unlisted(s, bl.source_id, e) < 0 ||
	    (progress_fn && count_fresh(s, bl.source_id, &total, e) < 0))
		goto fail;

	/* From here on the source belongs to its thread. Each round commits
	 * next (fetched during the last round) staged and hands it to the
	 * parser, then stores cur (staged the round before, parsed meanwhile)
	 * and commits; cur's source copies are marked done once that commit
	 * is synced. The batch after next is fetched as soon as next is
	 * staged. */
	sa = source_ahead_start(ops, src);
	ix = indexer_start(s);
	sy = syncer_begin(s);
	pipeline_start(ing, s);
	if (fetch_ahead(sa, &bl, &ahead, e) < 0)
		goto fail;
	for (;;) {
		size_t asked = ahead; /* the fetch on its way, for next */
		bool more = asked > 0;
		struct source_refs *stored;
		struct err merr;
		uint64_t ticket = 0;
		double mark;
		int mrc;

		if (cur->n == 0 && cur->offered == 0 && !more && marking.keys.n == 0 &&
		    unsynced.keys.n == 0 && backlog_done(&bl))
			break;
		/* The WAL starts over only when a write begins with all of it
		 * checkpointed: now and then, when the indexer has caught up,
		 * or else, later, after waiting for it. */
		if (ix && ++rounds >= WAL_SYNC_ROUNDS) {
			if (search_indexer_synced(ix)) {
				rounds = 0;
			} else if (rounds >= 2 * WAL_SYNC_ROUNDS) {
				double w = clock_mono();

				search_indexer_sync(ix);
				lap(&st->times.index_wait, &w);
				rounds = 0;
			}
		}
		ahead = 0;
		if (more) {
			/* Staged in a commit of its own, so that the parser can
			 * start on next while cur is stored. */
			next->offered = asked;
			if (store_begin(s, e) < 0)
				goto fail;
			if (stage_batch(sa, next, st) < 0 ||
			    (source_went_on(next) && fetch_ahead(sa, &bl, &ahead, e) < 0)) {
				store_rollback(s);
				goto fail;
			}
			mark = clock_mono();
			if (store_commit(s, e) < 0)
				goto fail;
			lap(&st->times.commit, &mark);
			/* Parsing starts only now that the raw bytes are in
			 * the store: a parser crash must find them there on
			 * the next run. */
			start_parsing(ing, next);
		}
		if (store_begin(s, e) < 0)
			goto fail;
		if (process_rows(ing, s, cur, st, e) < 0) {
			store_rollback(s);
			goto fail;
		}
		/* The last batch's copies were marked done meanwhile. If that
		 * failed (the connection went away), what this round stored is
		 * still committed: the copies are marked again by the next run. */
		mark = clock_mono();
		merr = (struct err)ERR_INIT;
		mrc = marked(sa, &marking, &done_keys, st, &merr);
		lap(&st->times.mark_done, &mark);
		if (record_done(s, cur->source_id, &done_keys, e) < 0) {
			store_rollback(s);
			goto fail;
		}
		/* Whatever was staged before a connection dropped is kept. */
		if (store_commit(s, e) < 0)
			goto fail;
		lap(&st->times.commit, &mark);
		if (sy)
			ticket = syncer_request(sy);
		if (ix)
			search_indexer_kick(ix);
		if (mrc < 0) {
			*e = merr;
			goto fail;
		}
		strlist_release(&done_keys);
		/* The last round's copies: their sync ran while this round was
		 * stored. (marked() has emptied marking.) */
		if (unsynced.keys.n) {
			double w = clock_mono();

			if (syncer_wait(sy, unsynced_ticket, e) < 0)
				goto fail;
			lap(&st->times.sync_wait, &w);
			marking = unsynced;
			unsynced = (struct source_refs)SOURCE_REFS_INIT;
		}
		/* Copies stored by an earlier run that was killed may not be
		 * synced either: they wait for this round's sync too. */
		stored = sy ? &unsynced : &marking;
		unsynced_ticket = ticket;
		for (size_t i = 0; i < cur->n; i++)
			source_refs_add(stored, cur->rows[i].key, cur->rows[i].ref);
		for (size_t i = 0; i < bl.redo.keys.n; i++)
			source_refs_add(stored, bl.redo.keys.items[i], bl.redo.refs.items[i]);
		source_refs_release(&bl.redo);
		/* Nothing was on its way (the listing gave only copies to
		 * mark): read on. Before the marks are queued, since the source
		 * thread answers in the order asked. */
		if (!more && source_went_on(cur) && fetch_ahead(sa, &bl, &ahead, e) < 0)
			goto fail;
		mark_ahead(sa, &marking);
		handled += cur->offered;
		batch_clear(cur);
		if (progress_fn && cur->offered)
			progress_fn(progress_arg, handled, total);
		if (source_outcome(cur, st, e) < 0)
			goto fail;
		cur->offered = 0;
		cur = cur == &pair[0] ? &pair[1] : &pair[0];
		next = cur == &pair[0] ? &pair[1] : &pair[0];
	}
	rc = record_done_now(s, cur->source_id, &done_keys, e);
	if (store_sync_end(s, &sy, rc == 0, e) < 0)
		rc = -1;
	goto out;
fail:
	rc = -1;
	{
		struct err ignored = ERR_INIT;

		/* Marks still under way are left to the next run, which finds
		 * those copies gone or done and settles them. */
		record_done_now(s, cur->source_id, &done_keys, &ignored);
	}
out:
	{
		struct err ignored = ERR_INIT;

		store_sync_end(s, &sy, false, &ignored);
	}
	source_ahead_stop(&sa);
	pipeline_stop(ing, st);
	indexer_stop(s, &ix);
	strlist_release(&done_keys);
	source_refs_release(&marking);
	source_refs_release(&unsynced);
	for (int i = 0; i < 2; i++) {
		batch_clear(&pair[i]);
		free(pair[i].rows);
	}
	backlog_release(&bl);
	ops->close(src);
	return rc;
}
