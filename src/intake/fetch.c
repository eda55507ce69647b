/* The intake loop, on one thread. Each round parses the messages whose raw
 * bytes the round before committed, then, in one transaction, (1) stores
 * them, (2) records which source copies were marked done, and (3) fetches
 * the next batch and stages its raw bytes. The commit returns only once it
 * is on disk (synchronous=FULL); then the search index takes what it
 * stored, and only then the source copies of (1) are marked done. So a raw
 * message is committed before it is parsed: a parser crash finds it in the
 * store on the next run, which counts the crash against it (crashguard.h)
 * and sets it aside as poison after INTAKE_MAX_ATTEMPTS such crashes; and
 * parsing holds no lock on the store.
 *
 * The source's listing goes to the store's temporary space and is read
 * back a window of WINDOW_KEYS keys at a time: memory does not grow with
 * the backlog. */
#include "compat.h"

#include <unistd.h>

#include "clock.h"
#include "crashguard.h"
#include "fetch.h"
#include "index_thread.h"
#include "log.h"
#include "rules.h"
#include "search_index.h"
#include "sha256.h"
#include "source.h"
#include "store_intake.h"
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
 * processing need not read them back; the rest is read back. */
#define BATCH_KEEP_BYTES ((size_t)8 * 1024 * 1024)
/* The listing is read this many keys at a time. */
#define WINDOW_KEYS 4096

/* A row's parse, done before the transaction that stores it, so that the
 * store's write lock is not held while mail is parsed. */
struct parsed {
	int rc;                 /* what parse_guarded returned */
	struct message m;       /* when rc is 0 */
	struct rule_outcome ro; /* when rc is 0 */
	struct err err;         /* when rc is -1 */
};

/* A row staged and not yet processed. */
struct staged {
	int64_t intake_id;
	int64_t raw_id;
	char *key;
	char *ref; /* where the source finds it (source.h), or NULL: the key */
	char *raw; /* a copy of the bytes, or NULL: read them from the store */
	size_t len;
	struct parsed *parsed; /* or NULL: parse it when it is stored */
};

struct batch {
	struct staged *rows;
	size_t n, cap;
	size_t kept; /* bytes of raw copies held */
};

/* What one intake works with. */
struct intake {
	struct ingest *ing;
	struct store *s;
	const char *source_id;
	struct fetch_stats *st;
	struct err *e;
	struct index_thread *indexer; /* or NULL: fetch_rounds indexes */
	/* intake_one's mail, offered again while pending: its result when the
	 * recovery finishes it (own_raw_id: its raws row). */
	struct ingest_result *own;
	int64_t own_raw_id;
};

/* The fresh keys read from the listing and not yet fetched. */
struct window {
	struct source_refs fresh;
	size_t off;               /* keys before off were asked for */
	size_t flight, flight_n;  /* the batch being fetched: keys [flight, +n) */
	size_t cursor;            /* where in it the last message was found */
	char *last_key;           /* the listing was read up to here (by_key)... */
	int64_t last_seq;         /* ...or here (in the source's order) */
	bool end;                 /* ...or to its end */
};

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

static int src_fail(int rc, struct err *e);

/* Adds the time since *mark to *acc and moves the mark. */
static void
add_elapsed(double *acc, double *mark)
{
	double t = clock_mono();

	*acc += t - *mark;
	*mark = t;
}

static void
batch_add(struct batch *b, int64_t intake_id, int64_t raw_id, const char *key, const char *ref,
	  const char *raw, size_t len)
{
	struct staged *r;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->rows = xreallocarray(b->rows, b->cap, sizeof(*b->rows));
	}
	r = &b->rows[b->n++];
	*r = (struct staged){ intake_id, raw_id, xstrdup(key), ref ? xstrdup(ref) : NULL, NULL,
			      len, NULL };
	if (raw && b->kept + len <= BATCH_KEEP_BYTES) {
		r->raw = xmalloc(len + 1);
		memcpy(r->raw, raw, len);
		r->raw[len] = '\0';
		b->kept += len;
	}
}

static void
parsed_release(struct parsed *p)
{
	if (p && p->rc == 0) {
		message_release(&p->m);
		rule_outcome_release(&p->ro);
	}
}

static void
batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		parsed_release(b->rows[i].parsed);
		free(b->rows[i].parsed);
		free(b->rows[i].key);
		free(b->rows[i].ref);
		free(b->rows[i].raw);
	}
	b->n = 0;
	b->kept = 0;
}

/* Stages one message inside the open transaction: its raw bytes (their
 * row into *raw_id) and its intake row, joining b unless an earlier run
 * staged it. */
static int
stage_message(struct intake *in, struct batch *b, const char *key, const char *ref,
	      const char *raw, size_t len, int64_t *raw_id)
{
	int64_t intake_id;
	char hex[65];
	int rc;

	sha256_hex(raw, len, hex);
	rc = store_intake_stage_raw(in->s, in->source_id, key, raw, len, hex, raw_id,
				    &intake_id, in->e);
	if (rc > 0)
		batch_add(b, intake_id, *raw_id, key, ref, raw, len);
	return rc < 0 ? -1 : 0;
}

static void
tally_result(struct fetch_stats *st, const struct ingest_result *r)
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

/* Parses and classifies raw under the crash guard: a crash or a hang
 * (INTAKE_PARSE_ALARM) names intake_id to the next run. */
static int
parse_guarded(struct ingest *ing, int64_t intake_id, const char *raw, size_t len,
	      struct message *m, struct rule_outcome *ro, struct err *e)
{
	int rc;

	rule_outcome_init(ro);
	crashguard_enter(intake_id);
	alarm(INTAKE_PARSE_ALARM);
	intake_fault_injection(raw, len);
	rc = ingest_parse(ing, raw, len, m, e);
	if (rc == 0 && ingest_classify(ing, m, ro, e) < 0) {
		message_release(m);
		rc = -1;
	}
	alarm(0);
	crashguard_leave();
	if (rc < 0)
		rule_outcome_release(ro);
	return rc;
}

/* Parses the rows of b whose bytes are in memory, before their
 * transaction (their raw bytes are committed already). */
static void
parse_batch(struct intake *in, struct batch *b)
{
	double mark = clock_mono();

	for (size_t i = 0; i < b->n; i++) {
		struct staged *r = &b->rows[i];

		if (!r->raw || r->parsed)
			continue;
		r->parsed = xcalloc(1, sizeof(*r->parsed));
		r->parsed->err = (struct err)ERR_INIT;
		r->parsed->rc = parse_guarded(in->ing, r->intake_id, r->raw, r->len, &r->parsed->m,
					      &r->parsed->ro, &r->parsed->err);
	}
	add_elapsed(&in->st->times.parse_wait, &mark);
}

/* Stores one staged message inside the open transaction (poison: set
 * aside unparsed) and marks its intake row. pre is its parse, or NULL:
 * parsed here. */
static int
process_row(struct intake *in, int64_t intake_id, int64_t raw_id, const char *raw, size_t len,
	    bool poison, struct parsed *pre)
{
	struct ingest_result res;
	struct parsed own;
	double mark = clock_mono();
	int rc;

	if (poison) {
		rc = ingest_raw(in->ing, in->s, raw_id, raw, len, true, &res, in->e);
	} else {
		if (!pre) {
			own.err = (struct err)ERR_INIT;
			own.rc = parse_guarded(in->ing, intake_id, raw, len, &own.m, &own.ro,
					       &own.err);
			add_elapsed(&in->st->times.parse_wait, &mark);
			pre = &own;
		}
		if (pre->rc == 0)
			rc = ingest_parsed(in->ing, in->s, raw_id, &pre->m, &pre->ro, &res, in->e);
		else /* Not parsed: kept raw, flagged; the batch goes on. */
			rc = ingest_set_aside(in->ing, in->s, raw_id, raw, len, pre->err.msg, &res,
					      in->e);
		if (pre == &own)
			parsed_release(&own);
	}
	if (rc < 0)
		return -1;
	tally_result(in->st, &res);
	in->st->last = res;
	if (in->own && raw_id == in->own_raw_id)
		*in->own = res;
	return store_intake_stored(in->s, intake_id,
				   res.kind != INGEST_DUPLICATE ? res.message_id : 0, poison, in->e);
}

/* A staged row whose bytes are in memory, or else read back (and skipped
 * when another process has processed it meanwhile). */
static int
process_staged(struct intake *in, const struct staged *r, bool poison)
{
	int64_t raw_id = r->raw_id;
	char *copy = NULL;
	size_t len;
	int rc;

	if (r->raw)
		return process_row(in, r->intake_id, raw_id, r->raw, r->len, poison, r->parsed);
	if (store_intake_pending_raw(in->s, r->intake_id, &raw_id, &copy, &len, in->e) < 0)
		return -1;
	if (!copy)
		return 0;
	rc = process_row(in, r->intake_id, raw_id, copy, len, poison, NULL);
	free(copy);
	return rc;
}

static int
process_batch(struct intake *in, const struct batch *b)
{
	double mark = clock_mono(), parsing = in->st->times.parse_wait;

	for (size_t i = 0; i < b->n; i++)
		if (process_staged(in, &b->rows[i], false) < 0)
			return -1;
	add_elapsed(&in->st->times.store, &mark);
	in->st->times.store -= in->st->times.parse_wait - parsing;
	return 0;
}

/* One transaction of its own around process_batch. */
static int
process_batch_now(struct intake *in, struct batch *b)
{
	if (b->n == 0)
		return 0;
	parse_batch(in, b);
	if (store_begin(in->s, in->e) < 0)
		return -1;
	if (process_batch(in, b) < 0) {
		store_rollback(in->s);
		return -1;
	}
	return store_commit(in->s, in->e);
}

/* Sets each poison row aside, each in a transaction of its own. */
static int
set_poison_aside(struct intake *in, const struct batch *poison)
{
	for (size_t i = 0; i < poison->n; i++) {
		if (store_begin(in->s, in->e) < 0)
			return -1;
		if (process_staged(in, &poison->rows[i], true) < 0) {
			store_rollback(in->s);
			return -1;
		}
		if (store_commit(in->s, in->e) < 0)
			return -1;
	}
	return 0;
}

static int
recover(struct intake *in)
{
	struct batch b = { 0 }, poison = { 0 };
	struct intake_pending *rows = NULL;
	size_t n = 0;
	int rc;

	if (crashguard_collect(in->s, in->e) < 0)
		return -1;
	/* Rows of other sources may be in flight in another process (an MTA's
	 * secdesk ingest): only those older than a minute are leftovers. */
	if (store_intake_pending(in->s, in->source_id, store_now() - 60, &rows, &n, in->e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		batch_add(rows[i].attempts >= INTAKE_MAX_ATTEMPTS ? &poison : &b, rows[i].id,
			  rows[i].raw_id, "", NULL, NULL, rows[i].size);
	free(rows);
	/* Poison first: each alone, never parsed again. */
	rc = set_poison_aside(in, &poison);
	if (rc == 0)
		rc = process_batch_now(in, &b);
	batch_clear(&b);
	batch_clear(&poison);
	free(b.rows);
	free(poison.rows);
	return rc;
}

int
intake_recover(struct ingest *ing, struct store *s, const char *source_id,
	       struct fetch_stats *st, struct err *e)
{
	struct intake in = { ing, s, source_id, st, e, NULL, NULL, 0 };

	return recover(&in);
}

int
intake_one(struct ingest *ing, struct store *s, const char *source_id, const char *raw,
	   size_t len, struct ingest_result *res, struct err *e)
{
	struct fetch_stats st = { 0 };
	struct intake in = { ing, s, source_id, &st, e, NULL, NULL, 0 };
	struct batch b = { 0 };
	char key[65];
	int rc = -1;

	memset(res, 0, sizeof(*res));
	sha256_hex(raw, len, key);
	if (store_begin(s, e) < 0)
		return -1;
	if (stage_message(&in, &b, key, NULL, raw, len, &in.own_raw_id) < 0) {
		store_rollback(s);
		goto out;
	}
	if (store_commit(s, e) < 0)
		goto out;
	if (b.n == 0) {
		/* Offered before: stored already, or left pending by a crash,
		 * which the recovery finishes now (and says so in res). */
		res->kind = INGEST_DUPLICATE;
		in.own = res;
		rc = recover(&in);
		goto out;
	}
	rc = process_batch_now(&in, &b);
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
	struct err *e;
};

static int
listed_cb(void *arg, const char *key, const char *where)
{
	struct lister *l = arg;

	/* Positive: not one of the backends' SRC_* codes. */
	return store_intake_listing_add(l->s, key, where, l->e) < 0 ? 1 : 0;
}

/* The source's listing, into the store's temporary space. */
static int
list_keys(const struct source_ops *ops, struct source *src, struct store *s, struct err *e)
{
	struct lister l = { s, e };
	int rc;

	if (store_intake_listing_begin(s, e) < 0)
		return -1;
	rc = ops->list(src, listed_cb, &l, e);
	if (rc != SRC_OK) {
		store_rollback(s);
		return rc > 0 ? -1 : src_fail(rc, e);
	}
	return store_intake_listing_end(s, e);
}

/* Stored messages the source no longer lists were marked done by a run that
 * was stopped before it could record it (or were taken away by hand): either
 * way nothing is left to do for them. */
static int
settle_unlisted(struct store *s, const char *source_id, struct err *e)
{
	if (store_begin(s, e) < 0)
		return -1;
	if (store_intake_settle_unlisted(s, source_id, e) < 0) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s, e);
}

/* Forgets the keys asked for: their fetch is over (its rows keep copies). */
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

/* Where the source finds a message it just handed over: the fetch asked
 * for its key. Sources hand messages over in the order asked (some perhaps
 * skipped), so the search starts after the last one found. NULL when the
 * ref is the key. */
static const char *
window_ref(struct window *w, const char *key)
{
	for (size_t k = 0; k < w->flight_n; k++) {
		size_t i = w->flight + (w->cursor + k) % w->flight_n;

		if (strcmp(w->fresh.keys.items[i], key) == 0) {
			const char *ref = w->fresh.refs.items[i];

			w->cursor = (i - w->flight + 1) % w->flight_n;
			return strcmp(ref, key) != 0 ? ref : NULL;
		}
	}
	return NULL;
}

/* A key of the listing: new ones join the window, stored ones whose copies
 * are not marked done join redo. */
static int
window_take(void *arg, const char *key, const char *where, enum intake_listed state,
	    int64_t seq)
{
	struct backlog *bl = arg;

	if (state == INTAKE_LISTED_FRESH)
		source_refs_add(&bl->win.fresh, key, where);
	else if (state == INTAKE_LISTED_UNMARKED)
		source_refs_add(&bl->redo, key, where);
	bl->win.last_seq = seq;
	if (bl->by_key) {
		free(bl->win.last_key);
		bl->win.last_key = xstrdup(key);
	}
	return 0;
}

/* Reads the next window_keys keys of the listing. */
static int
window_load(struct backlog *bl, struct err *e)
{
	struct window *w = &bl->win;
	size_t read;

	window_compact(w);
	if (store_intake_listing_read(bl->s, bl->source_id, bl->by_key, w->last_key, w->last_seq,
				      bl->window_keys, window_take, bl, &read, e) < 0)
		return -1;
	if (read < bl->window_keys)
		w->end = true;
	return 0;
}

/* The next batch of fresh keys, reading the listing further while fewer
 * are left: refs w->fresh.refs.items[w->flight, +w->flight_n); none when
 * the listing is at its end or redo is full. */
static int
window_next(struct backlog *bl, struct err *e)
{
	struct window *w = &bl->win;
	size_t n;

	while (w->fresh.keys.n - w->off < bl->batch_size && !w->end &&
	       bl->redo.keys.n < bl->window_keys)
		if (window_load(bl, e) < 0)
			return -1;
	n = w->fresh.keys.n - w->off;
	if (n > bl->batch_size)
		n = bl->batch_size;
	w->flight = w->off;
	w->flight_n = n;
	w->cursor = 0;
	w->off += n;
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

/* The source's fetch of one batch, staged as it arrives. */
struct stager {
	struct intake *in;
	struct batch *b;
	struct window *win;
};

static int
stage_cb(void *arg, const char *key, const char *raw, size_t len)
{
	struct stager *sg = arg;
	int64_t raw_id;

	/* Positive: a store error, distinct from the backends' SRC_* codes. */
	return stage_message(sg->in, sg->b, key, window_ref(sg->win, key), raw, len, &raw_id) < 0
		       ? 1 : 0;
}

/* Fetches the batch window_next chose and stages it into b, inside the open
 * transaction: what the source's fetch returned (SRC_*, ferr filled), or 1
 * for a store error (in->e filled). */
static int
fetch_batch(const struct source_ops *ops, struct source *src, struct intake *in,
	    struct window *w, struct batch *b, struct err *ferr)
{
	struct stager sg = { in, b, w };
	double mark = clock_mono();
	int rc;

	if (w->flight_n == 0)
		return SRC_OK;
	rc = ops->fetch(src, (const char *const *)w->fresh.refs.items + w->flight, w->flight_n,
			stage_cb, &sg, ferr);
	add_elapsed(&in->st->times.source, &mark);
	in->st->fetched += (int)b->n;
	return rc;
}

/* Records, inside the open transaction, that the source copies of keys
 * were marked done; empties keys. */
static int
record_done(struct intake *in, struct strlist *keys, struct err *e)
{
	if (store_intake_done_keys(in->s, in->source_id, (const char *const *)keys->items,
				   keys->n, e) < 0)
		return -1;
	strlist_release(keys);
	return 0;
}

/* The same in a transaction of its own, at the end of a run. A failure
 * here loses nothing: the next run finds the copies done and says so. */
static int
record_done_now(struct intake *in, struct strlist *keys, struct err *e)
{
	if (keys->n == 0)
		return 0;
	if (store_begin(in->s, e) < 0)
		return -1;
	if (record_done(in, keys, e) < 0) {
		store_rollback(in->s);
		return -1;
	}
	return store_commit(in->s, e);
}

/* A test's stand-in for a commit that fails to reach the disk: it never
 * returns, the round is rolled back. */
static bool
commit_fault(struct intake *in)
{
	static unsigned long commits;

	if (!testhook_nth("SECDESK_FAULT_COMMIT", &commits))
		return false;
	err_set(in->e, EXIT_IOERR, "store '%s': cannot commit: disk I/O error (test fault)",
		store_path(in->s));
	return true;
}

/* One round's transaction: stores cur, records done_keys, stages next.
 * What the source's fetch returned is in *frc (ferr filled). */
static int
round_commit(const struct source_ops *ops, struct source *src, struct intake *in,
	     struct backlog *bl, struct batch *cur, struct batch *next, struct strlist *done_keys,
	     int *frc, struct err *ferr)
{
	double mark;

	parse_batch(in, cur);
	if (store_begin(in->s, in->e) < 0)
		return -1;
	if (process_batch(in, cur) < 0 || record_done(in, done_keys, in->e) < 0)
		goto fail;
	/* Whatever was staged before a connection dropped is kept. */
	*frc = fetch_batch(ops, src, in, &bl->win, next, ferr);
	if (*frc > 0 || commit_fault(in))
		goto fail;
	mark = clock_mono();
	if (store_commit(in->s, in->e) < 0)
		return -1;
	add_elapsed(&in->st->times.commit, &mark);
	return 0;
fail:
	store_rollback(in->s);
	return -1;
}

/* Without the helper thread (index_thread = no), the search index takes
 * what the commits stored, on the same connection, every
 * INDEX_EVERY_ROUNDS rounds and at the end: fewer, larger index segments.
 * Another process indexing is not waited for, and a failure stops only the
 * indexing: search catches up later. */
#define INDEX_EVERY_ROUNDS 8

static void
index_committed(struct intake *in, bool *indexing, unsigned *rounds, bool last)
{
	struct err e = ERR_INIT;
	double mark = clock_mono();

	if (!*indexing || (++*rounds < INDEX_EVERY_ROUNDS && !last))
		return;
	*rounds = 0;
	if (search_index_update(in->s, 0, NULL, &e) < 0 && e.code != EXIT_TEMPFAIL) {
		log_warn("%s; search will catch up", e.msg);
		*indexing = false;
	}
	add_elapsed(&in->st->times.index_wait, &mark);
}

/* Marks done the source copies of cur and of redo (their commit is on
 * disk); on success their keys join done_keys, to be recorded. */
static int
mark_committed(const struct source_ops *ops, struct source *src, struct intake *in,
	       struct batch *cur, struct source_refs *redo, struct strlist *done_keys)
{
	double mark = clock_mono();
	int rc;

	for (size_t i = 0; i < cur->n; i++)
		source_refs_add(redo, cur->rows[i].key, cur->rows[i].ref);
	if (redo->keys.n == 0)
		return 0;
	rc = ops->mark_done(src, (const char *const *)redo->refs.items, redo->refs.n, in->e);
	add_elapsed(&in->st->times.mark_done, &mark);
	if (rc != SRC_OK) {
		source_refs_release(redo);
		return src_fail(rc, in->e);
	}
	in->st->marked_done += (int)redo->keys.n;
	for (size_t i = 0; i < redo->keys.n; i++) {
		strlist_add_owned(done_keys, redo->keys.items[i]);
		redo->keys.items[i] = NULL;
	}
	source_refs_release(redo);
	return 0;
}

/* After a batch's fetch: 0 to go on, -1 when the run must stop (e
 * filled). One unreadable message is left in the source and said. */
static int
source_outcome(int frc, struct err *ferr, struct fetch_stats *st, struct err *e)
{
	if (frc == SRC_OK)
		return 0;
	if (frc == SRC_MSG_BAD) {
		st->skipped++;
		snprintf(st->skip_note, sizeof(st->skip_note), "%s", ferr->msg);
		return 0;
	}
	*e = *ferr;
	return src_fail(frc, e);
}

/* The rounds, until the listing is worked through. */
static int
fetch_rounds(const struct source_ops *ops, struct source *src, struct intake *in,
	     struct backlog *bl)
{
	struct strlist done_keys = STRLIST_INIT;
	struct batch pair[2] = { { 0 }, { 0 } };
	struct batch *cur = &pair[0], *next = &pair[1];
	size_t handled = 0, total = 0;
	bool indexing = !in->indexer;
	unsigned unindexed = 0;
	int rc = -1;

	if (progress_fn && store_intake_listing_fresh(in->s, in->source_id, &total, in->e) < 0)
		goto out;
	if (window_next(bl, in->e) < 0)
		goto out;
	while (cur->n > 0 || bl->win.flight_n > 0 || !backlog_done(bl)) {
		struct err ferr = ERR_INIT;
		size_t asked = bl->win.flight_n;
		int frc = SRC_OK;

		if (round_commit(ops, src, in, bl, cur, next, &done_keys, &frc, &ferr) < 0)
			goto out;
		if (in->indexer)
			index_thread_poke(in->indexer);
		index_committed(in, &indexing, &unindexed, false);
		/* A failure leaves the copies to the next run, which finds
		 * them stored and marks them. */
		if (mark_committed(ops, src, in, cur, &bl->redo, &done_keys) < 0)
			goto out;
		batch_clear(cur);
		handled += asked;
		if (progress_fn && asked)
			progress_fn(progress_arg, handled, total);
		if (source_outcome(frc, &ferr, in->st, in->e) < 0)
			goto out;
		cur = cur == &pair[0] ? &pair[1] : &pair[0];
		next = cur == &pair[0] ? &pair[1] : &pair[0];
		if (window_next(bl, in->e) < 0)
			goto out;
	}
	rc = 0;
out:
	index_committed(in, &indexing, &unindexed, true);
	if (rc == 0) {
		rc = record_done_now(in, &done_keys, in->e);
	} else {
		struct err ignored = ERR_INIT;

		/* After a failure, the marks made are still worth recording. */
		record_done_now(in, &done_keys, &ignored);
	}
	strlist_release(&done_keys);
	for (int i = 0; i < 2; i++) {
		batch_clear(&pair[i]);
		free(pair[i].rows);
	}
	return rc;
}

/* With [store] index_thread, the index and the checkpoints go to a helper
 * thread; when it cannot start, the fetch indexes as without it. */
static void
start_index_thread(const struct config *cfg, struct intake *in)
{
	struct err e = ERR_INIT;

	if (!cfg->store.index_thread)
		return;
	if (index_thread_start(cfg->store.location, in->s, &in->indexer, &e) < 0)
		log_warn("%s; indexing on the fetch's thread", e.msg);
	else
		log_debug("indexing and checkpoints on a helper thread ([store] index_thread)");
}

int
fetch_run(const struct config *cfg, struct store *s, struct ingest *ing,
	  struct fetch_stats *st, struct err *e)
{
	const struct source_ops *ops;
	struct backlog bl = { .s = s, .batch_size = (size_t)cfg->mailbox.batch };
	struct intake in = { ing, s, NULL, st, e, NULL, NULL, 0 };
	struct source *src = NULL;
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
	in.source_id = bl.source_id = ops->id(src);
	bl.by_key = ops->by_key;
	bl.window_keys = testhook_size("SECDESK_TEST_WINDOW", WINDOW_KEYS);
	rc = -1;
	if (intake_recover(ing, s, bl.source_id, st, e) == 0 && list_keys(ops, src, s, e) == 0 &&
	    settle_unlisted(s, bl.source_id, e) == 0) {
		start_index_thread(cfg, &in);
		rc = fetch_rounds(ops, src, &in, &bl);
		st->times.index_wait += index_thread_finish(in.indexer, s);
	}
	backlog_release(&bl);
	ops->close(src);
	return rc;
}
