/* Outbound mail: the acknowledgement (RFC 3834) and the partner
 * notification, queued in the ingest transaction; staff replies; and the
 * delivery of the outbox through a transport (outbound.h). */
#include "compat.h"

#include <limits.h>
#include <pthread.h>
#include <strings.h>

#include "autoreply.h"
#include "buf.h"
#include "clock.h"
#include "mimeout.h"
#include "outbound.h"
#include "outbox.h"
#include "send.h"
#include "syncer.h"
#include "testhook.h"
#include "ticket.h"
#include "tmpl.h"
#include "verp.h"
#include "xalloc.h"

/* How much of an inquiry a partner notification quotes. */
#define NOTICE_BODY_MAX (64 * 1024)
/* Over a transport whose resend replaces (dir:), delivery marks are
 * committed in groups, after the transport's sync; over the others each
 * mail's mark is committed before the next mail goes, without waiting for
 * the disk, and the disk is synced for a group in the background. A group
 * is at most this many mails or this many milliseconds. */
#define SEND_GROUP_MAX 64
#define SEND_GROUP_MS 250

/* The variables of outbound_template_vars[], in its order: a template's
 * needs are a mask of them, so that only what it shows is computed (the
 * inquiry's body, whole or quoted, costs a copy and a pass over up to
 * NOTICE_BODY_MAX bytes; every value a copy). */
enum {
	V_ID, V_TAG, V_REF, V_SUBJECT, V_REQUESTER, V_REQUESTER_NAME, V_REQUESTER_ADDRESS,
	V_QUEUE, V_QUEUE_NAME, V_LANGUAGE, V_CATEGORY, V_PRIORITY, V_STATUS, V_DESK_NAME,
	V_DESK_ADDRESS, V_RECEIVED, V_BODY, V_QUOTED, V_TEXT, V_STAFF, V_FOLLOWUP,
	V_MESSAGE_SUBJECT, V_COUNT
};
#define NEED(v) (1u << (v))
#define NEED_CACHE 64
/* Queues whose partner notice is planned (notice_prepare). */
#define PLAN_MAX 64

/* Who a queue's partner notice goes to, which template it uses and what
 * that shows: the same for every ticket of the queue, so made once per
 * queue and run (notice_prepare runs for most inquiries). nto is 0 when
 * the queue has no one to tell. */
struct notice_plan {
	char *queue; /* the ticket's queue, as the ticket names it */
	const char *queue_id;
	struct mime_addr *to;
	size_t nto;
	const struct tmpl *t;
	const struct tmpl *broken; /* the queue's own template, passed by */
	unsigned need;
};

/* A set of mail addresses, compared as SQLite's NOCASE and strcasecmp in
 * the C locale do (ASCII letters only), held in ASCII lower case. Open
 * addressing; cap is a power of two. */
struct addrset {
	char **v;
	size_t n, cap;
};

static void addrset_release(struct addrset *set);

/* What compose_build makes of a struct compose, for compose_record. Its
 * buffers are kept from one mail to the next (built_reset): a notice is
 * some 12 KB, allocated and grown once per run rather than per mail. */
struct built {
	struct buf msg;  /* the mail; by_ref: its text around the quote, unencoded */
	struct buf refs; /* References */
	struct buf subject;
	struct buf body; /* the ticket's copy of the text */
	/* The values compose_record binds, made here so that the thread
	 * that records the mail only binds them: the recipients as the
	 * messages row lists them, as the outbox row does, and the names the
	 * search index finds the mail by. */
	struct buf to, cc, rcpts, names;
	char msgid[256];
	bool by_ref;
	size_t quote_at;
};

static void
built_init(struct built *b)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->msg, 8 * 1024 * 1024);
	buf_init(&b->refs, 0);
	buf_init(&b->subject, 0);
	buf_init(&b->body, 0);
	buf_init(&b->to, 0);
	buf_init(&b->cc, 0);
	buf_init(&b->rcpts, 0);
	buf_init(&b->names, 0);
}

/* The memory of a rare large mail is given back. */
static void
scratch_done(struct buf *b)
{
	if (b->cap > 1024 * 1024)
		buf_release(b);
	else
		buf_reset(b);
}

static void
built_reset(struct built *b)
{
	scratch_done(&b->msg);
	buf_reset(&b->refs);
	buf_reset(&b->subject);
	scratch_done(&b->body);
	buf_reset(&b->to);
	buf_reset(&b->cc);
	buf_reset(&b->rcpts);
	buf_reset(&b->names);
	b->by_ref = false;
	b->quote_at = 0;
}

static void
built_release(struct built *b)
{
	buf_release(&b->msg);
	buf_release(&b->refs);
	buf_release(&b->subject);
	buf_release(&b->body);
	buf_release(&b->to);
	buf_release(&b->cc);
	buf_release(&b->rcpts);
	buf_release(&b->names);
}

struct outbound {
	const struct config *cfg;
	const struct ruleset *rules;
	struct tmpl_set *set;
	/* compose_queue's buffers: the rendered template, the message. */
	struct buf rendered;
	struct built built;
	char *domain;
	char *ref_open; /* "[TAG #" */
	/* The needs of the templates rendered so far in this run. */
	struct {
		const struct tmpl *t;
		unsigned need;
	} needs[NEED_CACHE];
	size_t nneeds;
	struct pipeline *pipe; /* building off the storing thread, or NULL */
	struct notice_plan *plans; /* PLAN_MAX of them */
	size_t nplans;
	/* The queues' contacts, for the check of each sender. */
	struct addrset contacts;
	bool contacts_made;
};

static unsigned
template_needs(struct outbound *ob, const struct tmpl *t)
{
	unsigned need = 0;

	if (!t)
		return 0;
	for (size_t i = 0; i < ob->nneeds; i++)
		if (ob->needs[i].t == t)
			return ob->needs[i].need;
	for (unsigned v = 0; v < V_COUNT; v++)
		if (tmpl_set_uses(ob->set, t, outbound_template_vars[v]))
			need |= NEED(v);
	if (ob->nneeds < NEED_CACHE) {
		ob->needs[ob->nneeds].t = t;
		ob->needs[ob->nneeds++].need = need;
	}
	return need;
}

const char *const outbound_template_vars[] = {
	"id", "tag", "ref", "subject", "requester", "requester_name", "requester_address",
	"queue", "queue_name", "language", "category", "priority", "status", "desk_name",
	"desk_address", "received", "body", "quoted", "text", "staff", "followup",
	"message_subject", NULL,
};
_Static_assert(ARRAY_SIZE(outbound_template_vars) == V_COUNT + 1,
	       "outbound_template_vars and the V_ names differ");

int
outbound_open(const struct config *cfg, const struct ruleset *rules, struct outbound **out,
	      struct err *e)
{
	struct outbound *ob;
	const char *at = cfg->desk.address ? strrchr(cfg->desk.address, '@') : NULL;

	*out = NULL;
	if (!cfg->desk.address || !mime_addr_ok(cfg->desk.address))
		return err_set(e, EXIT_CONFIG, "[desk] address '%s' is not a mail address",
			       cfg->desk.address ? cfg->desk.address : "");
	ob = xcalloc(1, sizeof(*ob));
	ob->cfg = cfg;
	ob->rules = rules;
	buf_init(&ob->rendered, TMPL_MAX_OUTPUT);
	built_init(&ob->built);
	ob->domain = xstrdup(at + 1);
	ob->plans = xcalloc(PLAN_MAX, sizeof(*ob->plans));
	ob->ref_open = xasprintf("[%s #", cfg->desk.tag);
	if (tmpl_set_load(cfg->templates.dir, outbound_template_vars, &ob->set, e) < 0) {
		outbound_free(&ob);
		return -1;
	}
	*out = ob;
	return 0;
}

const char *
outbound_template_problems(const struct outbound *ob, int *count)
{
	return tmpl_set_problems(ob->set, count);
}

void
outbound_free(struct outbound **obp)
{
	struct outbound *ob = *obp;

	if (!ob)
		return;
	tmpl_set_free(&ob->set);
	buf_release(&ob->rendered);
	built_release(&ob->built);
	free(ob->domain);
	free(ob->ref_open);
	for (size_t i = 0; i < ob->nplans; i++) {
		free(ob->plans[i].queue);
		free(ob->plans[i].to);
	}
	free(ob->plans);
	addrset_release(&ob->contacts);
	free(ob);
	*obp = NULL;
}

/* ---- small store helpers ---- */

static int64_t
query_int(struct store *s, const char *sql, const char *text, int64_t n, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, sql, e);
	int64_t v = 0;
	int rc;

	if (!st)
		return -1;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot query");
	return v;
}

/* What the storing thread keeps of the open transaction in a fetch (the
 * pipeline below): the store's answers it asks again and again, read once,
 * and the automatic mails it logged, written at the end in a few
 * statements. While it holds the write lock (BEGIN IMMEDIATE) only this
 * thread writes autoreply_log, autoreply_count and the breaker's state
 * row, so what it read plus what it wrote is what the store would say. A
 * commit (pipe_finish) or a rollback (pipe_drop) ends it: the next
 * transaction reads afresh, and a rollback takes back what was kept. */
struct minute_n {
	int64_t minute, n;
};

struct txn_memo {
	/* The rows of autoreply_count of minute > hourly_from. */
	bool hourly_read;
	int64_t hourly_from;
	struct minute_n *rows;
	size_t nrows, caprows;
	/* The state row ack_breaker as a number (0: none). */
	bool breaker_read;
	int64_t breaker;
	/* Not written yet: autoreply_log rows (their addresses in addrs, at
	 * offsets), in order, and the counts to add to autoreply_count. */
	struct {
		size_t addr;
		int64_t at;
	} *log;
	size_t nlog, caplog;
	struct buf addrs;
	struct minute_n *adds;
	size_t nadds, capadds;
	/* The addresses (ASCII lower case) of autoreply_log's rows after
	 * senders_since when read, and of every row logged since: an address
	 * not among them has no row in the per-sender window, and its count
	 * needs no query. Kept from one transaction to the next and checked
	 * once in each against the table's last rowid (senders_max): rows
	 * another process logged make it read again. */
	struct addrset senders;
	bool senders_read;
	bool senders_checked; /* in this transaction */
	int64_t senders_since, senders_max;
};

static uint64_t
addr_hash(const char *addr)
{
	uint64_t h = 1469598103934665603ull;

	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		h = (h ^ (unsigned char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p)) * 1099511628211ull;
	return h;
}

static bool nocase_eq(const char *a, const char *b);

static bool
addrset_has(const struct addrset *set, const char *addr)
{
	if (!addr || set->cap == 0)
		return false;
	for (size_t i = addr_hash(addr) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		if (!set->v[i])
			return false;
		if (nocase_eq(set->v[i], addr))
			return true;
	}
}

static void
addrset_put(struct addrset *set, char *low)
{
	size_t i = addr_hash(low) & (set->cap - 1);

	while (set->v[i])
		i = (i + 1) & (set->cap - 1);
	set->v[i] = low;
}

static void
addrset_add(struct addrset *set, const char *addr)
{
	char *low;

	if (!addr || addrset_has(set, addr))
		return;
	if (2 * (set->n + 1) > set->cap) {
		char **old = set->v;
		size_t oldcap = set->cap;

		set->cap = oldcap ? 2 * oldcap : 64;
		set->v = xcalloc(set->cap, sizeof(*set->v));
		for (size_t k = 0; k < oldcap; k++)
			if (old[k])
				addrset_put(set, old[k]);
		free(old);
	}
	low = xstrdup(addr);
	for (char *p = low; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	addrset_put(set, low);
	set->n++;
}

/* Empties set; its memory stays for the next. */
static void
addrset_clear(struct addrset *set)
{
	for (size_t i = 0; i < set->cap; i++) {
		free(set->v[i]);
		set->v[i] = NULL;
	}
	set->n = 0;
}

static void
addrset_release(struct addrset *set)
{
	addrset_clear(set);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

static void
senders_clear(struct txn_memo *mm)
{
	addrset_clear(&mm->senders);
	mm->senders_read = false;
}

static void
minute_add(struct minute_n **v, size_t *n, size_t *cap, int64_t minute, int64_t k)
{
	for (size_t i = *n; i > 0; i--) {
		if ((*v)[i - 1].minute == minute) {
			(*v)[i - 1].n += k;
			return;
		}
	}
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[*n].minute = minute;
	(*v)[(*n)++].n = k;
}

static void
memo_reset(struct txn_memo *mm)
{
	mm->hourly_read = false;
	mm->nrows = 0;
	mm->breaker_read = false;
	mm->breaker = 0;
	mm->nlog = 0;
	scratch_done(&mm->addrs);
	mm->nadds = 0;
	mm->senders_checked = false;
}

static void
memo_release(struct txn_memo *mm)
{
	addrset_release(&mm->senders);
	free(mm->rows);
	free(mm->log);
	buf_release(&mm->addrs);
	free(mm->adds);
	memset(mm, 0, sizeof(*mm));
}

/* SQLite's NOCASE, autoreply_log.addr's collation: ASCII letters only. */
static bool
nocase_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

/* The automatic mails of one inbound message (its ack, its notices) are
 * logged together at its end: the per-sender log and the count of its
 * minute, in the caller's transaction, in two statements rather than two
 * per mail. A limit set to 0 is off and keeps no records: turned on later,
 * it counts from then. An entry is a recipient, or a counter key (a
 * partner's notices, "notice:QUEUE", in the same log under that name): a
 * key is logged for its own limit and is no mail of the hourly count. The
 * addresses must live until the flush. */
#define AUTOLOG_MAX 4
struct autolog {
	const char *addr[AUTOLOG_MAX];
	bool key[AUTOLOG_MAX];
	size_t n;
	struct txn_memo *defer; /* not NULL: kept there, written at commit */
};

/* Is entry i of l logged in autoreply_log? */
static bool
autolog_logged(const struct config *cfg, const struct autolog *l, size_t i)
{
	return l->key[i] ? cfg->notice.hourly_limit_per_partner > 0 : cfg->ack.per_sender_limit > 0;
}

/* The mails among l's entries. */
static int64_t
autolog_mails(const struct autolog *l)
{
	int64_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += !l->key[i];
	return n;
}

/* What autolog_flush writes, kept in mm instead (struct txn_memo). */
static void
autolog_defer(const struct config *cfg, struct txn_memo *mm, const struct autolog *l,
	      int64_t now)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!autolog_logged(cfg, l, i))
			continue;
		if (mm->nlog == mm->caplog) {
			mm->caplog = mm->caplog ? 2 * mm->caplog : 64;
			mm->log = xreallocarray(mm->log, mm->caplog, sizeof(*mm->log));
		}
		mm->log[mm->nlog].addr = mm->addrs.len;
		mm->log[mm->nlog++].at = now;
		buf_add(&mm->addrs, l->addr[i], strlen(l->addr[i]) + 1);
		if (mm->senders_read)
			addrset_add(&mm->senders, l->addr[i]);
	}
	if (cfg->ack.hourly_limit > 0 && autolog_mails(l))
		minute_add(&mm->adds, &mm->nadds, &mm->capadds, now / 60, autolog_mails(l));
}

static int
autolog_flush(const struct config *cfg, struct store *s, struct autolog *l, struct err *e)
{
	/* One statement per number of rows: each stays prepared. */
	static const char *const log_sql[AUTOLOG_MAX] = {
		"INSERT INTO autoreply_log (addr, at) VALUES (?2, ?1)",
		"INSERT INTO autoreply_log (addr, at) VALUES (?2, ?1), (?3, ?1)",
		"INSERT INTO autoreply_log (addr, at) VALUES (?2, ?1), (?3, ?1), (?4, ?1)",
		"INSERT INTO autoreply_log (addr, at) VALUES (?2, ?1), (?3, ?1), (?4, ?1), (?5, ?1)",
	};
	sqlite3_stmt *st;
	int64_t now = store_now(), mails = autolog_mails(l);
	size_t nlogged = 0;

	if (l->n == 0)
		return 0;
	if (l->defer) {
		autolog_defer(cfg, l->defer, l, now);
		l->n = 0;
		return 0;
	}
	for (size_t i = 0; i < l->n; i++)
		nlogged += autolog_logged(cfg, l, i);
	if (nlogged) {
		int k = 2;

		st = store_prepare(s, log_sql[nlogged - 1], e);
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, now);
		for (size_t i = 0; i < l->n; i++)
			if (autolog_logged(cfg, l, i))
				sqlite3_bind_text(st, k++, l->addr[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_reset(st);
			l->n = 0;
			return store_error(s, e, "cannot log automatic mail");
		}
		sqlite3_reset(st);
	}
	l->n = 0;
	if (cfg->ack.hourly_limit <= 0 || mails == 0)
		return 0;
	st = store_prepare(s, "INSERT INTO autoreply_count (minute, n) VALUES (?, ?)"
			   " ON CONFLICT (minute) DO UPDATE SET n = n + excluded.n", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now / 60);
	sqlite3_bind_int64(st, 2, mails);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot count automatic mail");
	}
	sqlite3_reset(st);
	return 0;
}

/* One automatic mail to addr (or, with key, one count under the key addr),
 * logged at the next flush. */
static int
autolog_add(const struct config *cfg, struct store *s, struct autolog *l, const char *addr,
	    bool key, struct err *e)
{
	if (l->n == AUTOLOG_MAX && autolog_flush(cfg, s, l, e) < 0)
		return -1;
	l->key[l->n] = key;
	l->addr[l->n++] = addr;
	return 0;
}

/* Automatic mail of the last hour, to the minute: at most 60 rows of
 * autoreply_count read, whatever the limit or the burst. */
static int64_t
hourly_count(struct store *s, struct err *e)
{
	return query_int(s, "SELECT coalesce(sum(n), 0) FROM autoreply_count WHERE minute > ?2",
			 NULL, (store_now() - 3600) / 60, e);
}

/* hourly_count with what mm kept: its rows read once per transaction. */
static int64_t
memo_hourly(struct store *s, struct txn_memo *mm, struct err *e)
{
	int64_t from = (store_now() - 3600) / 60, v = 0;

	if (!mm->hourly_read) {
		sqlite3_stmt *st = store_prepare(s, "SELECT minute, n FROM autoreply_count"
						 " WHERE minute > ?", e);
		int rc;

		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, from);
		mm->nrows = 0;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			minute_add(&mm->rows, &mm->nrows, &mm->caprows, sqlite3_column_int64(st, 0),
				   sqlite3_column_int64(st, 1));
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_error(s, e, "cannot query");
		mm->hourly_read = true;
		mm->hourly_from = from;
	}
	if (from >= mm->hourly_from) {
		for (size_t i = 0; i < mm->nrows; i++)
			if (mm->rows[i].minute > from)
				v += mm->rows[i].n;
	} else {
		/* The clock went back past what was read: ask the store. */
		v = hourly_count(s, e);
		if (v < 0)
			return -1;
	}
	for (size_t i = 0; i < mm->nadds; i++)
		if (mm->adds[i].minute > from)
			v += mm->adds[i].n;
	return v;
}

/* The autoreply_log rows to addr after since that mm holds unwritten. */
static int64_t
memo_sender(const struct txn_memo *mm, const char *addr, int64_t since)
{
	int64_t v = 0;

	if (!mm || !addr)
		return 0;
	for (size_t i = 0; i < mm->nlog; i++)
		if (mm->log[i].at > since && nocase_eq(mm->addrs.data + mm->log[i].addr, addr))
			v++;
	return v;
}

/* 1 when mm's senders tell which addresses have log rows after since, 0
 * when the store must be asked (the clock went back past what was read). */
static int
memo_senders_ok(struct store *s, struct txn_memo *mm, int64_t since, struct err *e)
{
	int64_t max;

	if (mm->senders_read && since < mm->senders_since)
		return 0;
	if (mm->senders_checked)
		return 1;
	max = query_int(s, "SELECT coalesce(max(rowid), 0) FROM autoreply_log WHERE ?2 >= 0",
			NULL, 0, e);
	if (max < 0)
		return -1;
	if (!mm->senders_read || max != mm->senders_max) {
		sqlite3_stmt *st = store_prepare(s, "SELECT addr FROM autoreply_log WHERE at > ?",
						 e);
		int rc;

		if (!st)
			return -1;
		senders_clear(mm);
		sqlite3_bind_int64(st, 1, since);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			addrset_add(&mm->senders, (const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_error(s, e, "cannot query");
		/* And the rows logged here, not written yet. */
		for (size_t i = 0; i < mm->nlog; i++)
			addrset_add(&mm->senders, mm->addrs.data + mm->log[i].addr);
		mm->senders_read = true;
		mm->senders_since = since;
		mm->senders_max = max;
	}
	mm->senders_checked = true;
	return 1;
}

/* Writes what mm holds (struct txn_memo) and forgets what it read. */
static int
memo_write(struct store *s, struct txn_memo *mm, struct err *e)
{
	/* Rows per statement, largest first; each statement stays prepared.
	 * OR FAIL: an INSERT of many rows that may abort (NOT NULL) makes
	 * SQLite keep a statement journal, a temporary file once it holds
	 * more than a few pages, to undo the statement's rows; FAIL keeps
	 * them, and the error rolls the whole transaction back anyway. No
	 * NULL is ever bound here. */
	static const char *const log_sql[] = {
#define R2 "(?,?),"
#define R8 R2 R2 R2 R2 R2 R2 R2 R2
		"INSERT OR FAIL INTO autoreply_log (addr, at) VALUES "
		R8 R8 R8 R8 R8 R8 R8 R2 R2 R2 R2 R2 R2 R2 "(?,?)",
		"INSERT OR FAIL INTO autoreply_log (addr, at) VALUES " R2 R2 R2 R2 R2 R2 R2 "(?,?)",
		"INSERT INTO autoreply_log (addr, at) VALUES (?,?)",
#undef R8
#undef R2
	};
	static const size_t log_rows[] = { 64, 8, 1 };
	sqlite3_stmt *st;
	size_t i = 0;
	int rc = 0;

	while (rc == 0 && i < mm->nlog) {
		size_t k = 0;

		while (mm->nlog - i < log_rows[k])
			k++;
		st = store_prepare(s, log_sql[k], e);
		if (!st) {
			rc = -1;
			break;
		}
		for (size_t r = 0; r < log_rows[k]; r++, i++) {
			sqlite3_bind_text(st, (int)(2 * r + 1), mm->addrs.data + mm->log[i].addr, -1,
					  SQLITE_STATIC);
			sqlite3_bind_int64(st, (int)(2 * r + 2), mm->log[i].at);
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = store_error(s, e, "cannot log automatic mail");
		sqlite3_reset(st);
	}
	/* The set knew every row of the table when checked in this
	 * transaction, and ours were added as they were logged. */
	if (rc == 0 && mm->nlog && mm->senders_read && mm->senders_checked)
		mm->senders_max = sqlite3_last_insert_rowid(store_db(s));
	for (size_t a = 0; rc == 0 && a < mm->nadds; a++) {
		st = store_prepare(s, "INSERT INTO autoreply_count (minute, n) VALUES (?, ?)"
				   " ON CONFLICT (minute) DO UPDATE SET n = n + excluded.n", e);
		if (!st) {
			rc = -1;
			break;
		}
		sqlite3_bind_int64(st, 1, mm->adds[a].minute);
		sqlite3_bind_int64(st, 2, mm->adds[a].n);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = store_error(s, e, "cannot count automatic mail");
		sqlite3_reset(st);
	}
	memo_reset(mm);
	return rc;
}

static int
state_set(struct store *s, const char *key, int64_t value, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO state (key, value) VALUES (?, ?) "
					 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", e);
	char v[32];

	if (!st)
		return -1;
	snprintf(v, sizeof(v), "%lld", (long long)value);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot save state");
	}
	sqlite3_reset(st);
	return 0;
}

int64_t
outbound_breaker_since(struct store *s)
{
	struct err e = ERR_INIT;
	int64_t t = query_int(s, "SELECT CAST(value AS INTEGER) FROM state WHERE key = ?1 "
			      "AND ?2 >= 0", "ack_breaker", 0, &e);

	if (t <= 0 || t < store_now() - 3600)
		return 0;
	return t;
}

/* outbound_breaker_since, its state row read once per transaction when mm
 * is not NULL. */
static int64_t
breaker_since(struct store *s, struct txn_memo *mm)
{
	int64_t t;

	if (!mm)
		return outbound_breaker_since(s);
	if (!mm->breaker_read) {
		struct err e = ERR_INIT;

		t = query_int(s, "SELECT CAST(value AS INTEGER) FROM state WHERE key = ?1 "
			      "AND ?2 >= 0", "ack_breaker", 0, &e);
		if (t < 0)
			return 0; /* as outbound_breaker_since; not kept */
		mm->breaker = t;
		mm->breaker_read = true;
	}
	t = mm->breaker;
	if (t <= 0 || t < store_now() - 3600)
		return 0;
	return t;
}

/* ---- the template context ---- */

static void
ctx_int(struct tmpl_ctx *c, const char *name, int64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	tmpl_ctx_set(c, name, b);
}

/* The body quoted with "> ", at most max bytes of it. */
static char *
quote(const char *body, size_t max, size_t *len_r)
{
	size_t n = strnlen(body, max + 1);
	const char *p = body, *end;
	char *out, *o;
	bool cut = n > max;

	if (cut) {
		/* Cut at a character boundary. */
		while (max > 0 && ((unsigned char)body[max] & 0xc0) == 0x80)
			max--;
		n = max;
	}
	end = body + n;
	/* A line of l bytes and its LF become at most l + 3 bytes: twice the
	 * text at most, and the closing mark. Written in place, line by line
	 * (a quote is up to NOTICE_BODY_MAX, once per notice). */
	out = o = xmalloc(2 * n + 16);
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);

		*o++ = '>';
		if (l)
			*o++ = ' ';
		memcpy(o, p, l);
		o += l;
		*o++ = '\n';
		p += l + (eol ? 1 : 0);
	}
	if (cut) {
		memcpy(o, "> [...]\n", 8);
		o += 8;
	}
	*o = '\0';
	*len_r = (size_t)(o - out);
	return out;
}

/* Puts the quoted text of a stored message back into a mail queued by
 * reference (struct outbox_item in outbox.h), and encodes its body: the
 * bytes composing the mail whole would have given, since stored messages
 * never change. EXIT_DATAERR when it cannot be built (the mail then fails
 * for good); store errors otherwise. */
static int
build_quoting(struct store *s, struct outbox_item *it, struct err *e)
{
	const char *sep = memmem(it->data, it->len, "\r\n\r\n", 4);
	struct buf text = BUF_INIT, out = BUF_INIT;
	size_t head_len, text_len, qlen;
	const char *text0;
	char *quoted;
	sqlite3_stmt *st;
	int rc;

	if (!sep)
		return err_set(e, EXIT_DATAERR, "queued mail #%lld has no body", (long long)it->id);
	head_len = (size_t)(sep - it->data) + 2;
	text0 = sep + 4;
	text_len = it->len - head_len - 2;
	if (it->quote_at < 0 || (size_t)it->quote_at > text_len)
		return err_set(e, EXIT_DATAERR, "queued mail #%lld: its quote is out of place",
			       (long long)it->id);
	st = store_prepare(s, "SELECT body FROM messages WHERE id = ?", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, it->quote_of);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			return err_set(e, EXIT_DATAERR, "queued mail #%lld: the message it quotes"
				       " (#%lld) is gone", (long long)it->id, (long long)it->quote_of);
		return store_error(s, e, "cannot read the message a mail quotes");
	}
	quoted = quote(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "",
		       NOTICE_BODY_MAX, &qlen);
	sqlite3_reset(st);
	buf_grow(&text, text_len + qlen + 1);
	buf_add(&text, text0, (size_t)it->quote_at);
	buf_add(&text, quoted, qlen);
	buf_add(&text, text0 + it->quote_at, text_len - (size_t)it->quote_at);
	free(quoted);
	buf_grow(&out, head_len + text.len + text.len / 8 + 256);
	buf_add(&out, it->data, head_len);
	rc = mime_text_body(&out, buf_cstr(&text), e);
	buf_release(&text);
	if (rc < 0) {
		buf_release(&out);
		return -1;
	}
	free(it->data);
	it->len = out.len;
	it->data = buf_detach(&out, NULL);
	return 0;
}

/* The values of ticket t and message m that need (template_needs) says
 * the template shows. */
static struct tmpl_ctx *
ticket_ctx(const struct outbound *ob, const struct ticket *t, const struct message *m,
	   unsigned need)
{
	struct tmpl_ctx *c = tmpl_ctx_new();
	const struct queue *q = ob->rules ? rules_queue(ob->rules, t->queue) : NULL;
	char ref[128], date[64];
	const char *body = m && m->body ? m->body : "";
	char *quoted, *cut;
	size_t qlen;

	snprintf(ref, sizeof(ref), "[%s #%lld]", ob->cfg->desk.tag, (long long)t->id);
	if (need & NEED(V_ID))
		ctx_int(c, "id", t->id);
	if (need & NEED(V_TAG))
		tmpl_ctx_set_borrowed(c, "tag", ob->cfg->desk.tag);
	if (need & NEED(V_REF))
		tmpl_ctx_set(c, "ref", ref);
	if (need & NEED(V_SUBJECT)) {
		/* The subject without our own tag: templates place the tag. */
		struct buf sb = BUF_INIT;
		const char *sub = t->subject, *hit = strstr(sub, ref);

		if (hit) {
			buf_add(&sb, sub, (size_t)(hit - sub));
			buf_addstr(&sb, hit + strlen(ref));
		} else {
			buf_addstr(&sb, sub);
		}
		{
			const char *v = buf_cstr(&sb);
			size_t l;

			v += strspn(v, " \t");
			l = strlen(v);
			while (l && (v[l - 1] == ' ' || v[l - 1] == '\t'))
				l--;
			if (l) {
				char *x = xstrndup(v, l);

				tmpl_ctx_set(c, "subject", x);
				free(x);
			} else {
				tmpl_ctx_set(c, "subject", "(no subject)");
			}
		}
		buf_release(&sb);
	}
	if (need & NEED(V_REQUESTER))
		tmpl_ctx_set_borrowed(c, "requester",
				      *t->requester_name ? t->requester_name : t->requester);
	if (need & NEED(V_REQUESTER_NAME))
		tmpl_ctx_set_borrowed(c, "requester_name", t->requester_name);
	if (need & NEED(V_REQUESTER_ADDRESS))
		tmpl_ctx_set_borrowed(c, "requester_address", t->requester);
	if (need & NEED(V_QUEUE))
		tmpl_ctx_set_borrowed(c, "queue", t->queue);
	if (need & NEED(V_QUEUE_NAME))
		tmpl_ctx_set_borrowed(c, "queue_name", q && q->name && *q->name ? q->name : t->queue);
	if (need & NEED(V_LANGUAGE))
		tmpl_ctx_set_borrowed(c, "language", t->language);
	if (need & NEED(V_CATEGORY))
		tmpl_ctx_set_borrowed(c, "category", t->category);
	if (need & NEED(V_PRIORITY))
		tmpl_ctx_set_borrowed(c, "priority", t->priority);
	if (need & NEED(V_STATUS))
		tmpl_ctx_set_borrowed(c, "status", t->status);
	if (need & NEED(V_DESK_NAME))
		tmpl_ctx_set_borrowed(c, "desk_name", ob->cfg->desk.name);
	if (need & NEED(V_DESK_ADDRESS))
		tmpl_ctx_set_borrowed(c, "desk_address", ob->cfg->desk.address);
	if (need & NEED(V_RECEIVED)) {
		mime_date(m && m->has_date ? (int64_t)m->date : t->created, date, sizeof(date));
		tmpl_ctx_set(c, "received", date);
	}
	if (need & NEED(V_MESSAGE_SUBJECT))
		tmpl_ctx_set_borrowed(c, "message_subject", m ? m->subject : t->subject);
	if ((need & NEED(V_BODY)) && strlen(body) > NOTICE_BODY_MAX) {
		size_t n = NOTICE_BODY_MAX;

		while (n > 0 && ((unsigned char)body[n] & 0xc0) == 0x80)
			n--;
		cut = xasprintf("%.*s\n[...]", (int)n, body);
		tmpl_ctx_set(c, "body", cut);
		free(cut);
	} else if (need & NEED(V_BODY)) {
		tmpl_ctx_set_borrowed(c, "body", body);
	}
	if (need & NEED(V_QUOTED)) {
		/* Handed over, not copied: a quote is up to NOTICE_BODY_MAX. */
		quoted = quote(body, NOTICE_BODY_MAX, &qlen);
		tmpl_ctx_set_owned(c, "quoted", quoted, qlen);
	}
	return c;
}

/* ---- composing one mail ---- */

struct compose {
	const char *kind;          /* ack, notice, reply */
	int64_t ticket_id;
	const char *ref;           /* "[TAG #ID]" */
	const struct tmpl *t;
	const struct tmpl_ctx *ctx;
	const struct mime_addr *to;
	size_t nto;
	const struct mime_addr *cc;
	size_t ncc;
	bool automatic;            /* RFC 3834 headers, null envelope sender */
	bool reply_to_desk;
	const char *in_reply_to;   /* without brackets; "" or NULL for none */
	const struct strlist *refs;
	bool index;                /* add to the full-text index */
	/* The variable of ctx whose text the ticket's copy of the mail
	 * leaves out (a partner notice's quote of the inquiry, which the
	 * ticket holds already); the outbox keeps the whole mail. NULL: keep
	 * everything. */
	const char *elide;
	/* The stored message whose text elide quotes (0: none): the outbox
	 * then keeps the mail without the quote, which delivery puts back
	 * (outbound_build), so the inquiry's text is stored once. */
	int64_t quote_of;
};

static bool
msgid_ok(const char *id)
{
	if (!id || !*id || strlen(id) > 250)
		return false;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>')
			return false;
	return strchr(id, '@') != NULL;
}

/* Splits rendered template output into its header fields and the body.
 * The header part is unfolded; names are checked by templates check. */
struct tmpl_header {
	char *name;
	char *value;
};

static size_t
split_rendered(char *text, struct tmpl_header *h, size_t max, char **body)
{
	size_t n = 0;
	char *p = text;

	*body = NULL;
	while (*p) {
		char *eol = strchr(p, '\n'), *colon;
		size_t l = eol ? (size_t)(eol - p) : strlen(p);

		if (l && p[l - 1] == '\r')
			p[--l] = '\0';
		if (eol)
			*eol = '\0';
		if (l == 0) {
			*body = eol ? eol + 1 : p + l;
			break;
		}
		if ((*p == ' ' || *p == '\t') && n > 0) {
			char *joined = xasprintf("%s %s", h[n - 1].value, p + strspn(p, " \t"));

			free(h[n - 1].value);
			h[n - 1].value = joined;
		} else if ((colon = strchr(p, ':')) && n < max) {
			*colon = '\0';
			h[n].name = xstrdup(p);
			h[n].value = xstrdup(colon + 1 + strspn(colon + 1, " \t"));
			n++;
		}
		if (!eol) {
			*body = p + l;
			break;
		}
		p = eol + 1;
	}
	if (!*body)
		*body = p;
	return n;
}

static int64_t
record_message(struct store *s, const struct compose *c, const struct outbound *ob,
	       const struct built *b, struct err *e)
{
	sqlite3_stmt *st;
	int64_t now = store_now();

	st = store_prepare(s, "INSERT INTO messages (ticket_id, direction, kind, from_name,"
			   " from_addr, to_addrs, cc_addrs, subject, date, message_id, in_reply_to,"
			   " refs, body, names, created) VALUES"
			   " (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, c->ticket_id);
	sqlite3_bind_text(st, 2, c->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ob->cfg->desk.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ob->cfg->desk.address, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, buf_cstr(&b->to), (int)b->to.len, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, buf_cstr(&b->cc), (int)b->cc.len, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, buf_cstr(&b->subject), (int)b->subject.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	sqlite3_bind_text(st, 9, b->msgid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, c->in_reply_to ? c->in_reply_to : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, buf_cstr(&b->refs), (int)b->refs.len, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, buf_cstr(&b->body), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, buf_cstr(&b->names), (int)b->names.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot record outgoing mail");
	}
	sqlite3_reset(st);
	/* Full-text indexing happens at commit (store_commit): an FTS5 insert
	 * in the middle of a transaction is flushed by every later statement. */
	(void)c->index;
	return sqlite3_last_insert_rowid(store_db(s));
}

/* The values record_message and outbox_queue bind for c (struct built). */
static void
built_values(const struct outbound *ob, const struct compose *c, struct built *b)
{
	for (size_t i = 0; i < c->nto; i++) {
		if (i)
			buf_add(&b->to, ", ", 2);
		buf_addstr(&b->to, c->to[i].addr);
	}
	for (size_t i = 0; i < c->ncc; i++) {
		if (i)
			buf_add(&b->cc, ", ", 2);
		buf_addstr(&b->cc, c->cc[i].addr);
	}
	/* "NAME ADDRESS TO CC": the names the search index finds it by. */
	buf_addstr(&b->names, ob->cfg->desk.name);
	buf_addch(&b->names, ' ');
	buf_addstr(&b->names, ob->cfg->desk.address);
	buf_addch(&b->names, ' ');
	buf_addstr(&b->names, buf_cstr(&b->to));
	buf_addch(&b->names, ' ');
	buf_addstr(&b->names, buf_cstr(&b->cc));
	for (size_t i = 0; i < c->nto + c->ncc; i++) {
		if (b->rcpts.len)
			buf_addch(&b->rcpts, ',');
		buf_addstr(&b->rcpts, i < c->nto ? c->to[i].addr : c->cc[i - c->nto].addr);
	}
}

/* body with the copy of elide that the template wrote at offset at of the
 * rendered text (rendered_len bytes from body on) replaced by a pointer to
 * the ticket's inquiry, into out; false when there is nothing to leave out. The
 * renderer says where the value went: no search for it, one copy of the
 * rest (the quote is most of a notice). */
static bool
elided(struct buf *out, const char *body, size_t body_len, size_t at, const char *elide,
       size_t n, int64_t ticket_id)
{
	char mid[96];
	int ml;

	if (!elide || n < 256 || at > body_len || body_len - at < n ||
	    memcmp(body + at, elide, n) != 0)
		return false;
	ml = snprintf(mid, sizeof(mid), "> [the inquiry's text, quoted here: see inquiry #%lld]",
		      (long long)ticket_id);
	buf_grow(out, body_len - n + (size_t)ml);
	buf_add(out, body, at);
	buf_add(out, mid, (size_t)ml);
	buf_add(out, body + at + n, body_len - at - n);
	return true;
}

/* Renders c (rendered: scratch space) and builds the MIME message into b.
 * No store: it runs on the composer thread too. EXIT_DATAERR when the
 * mail cannot be built from this data. */
static int
compose_build(const struct outbound *ob, struct buf *rendered, const struct compose *c,
	      struct built *b, struct err *e)
{
	struct buf *msg = &b->msg;
	struct tmpl_header h[32];
	size_t nh = 0;
	char *body, date[64];
	struct mime_addr from = { ob->cfg->desk.name, ob->cfg->desk.address };
	bool kept = false, have_subject = false, have_lang = false;
	size_t elide_at = SIZE_MAX, body_len, quote_len = 0;
	int rc = -1;

	memset(h, 0, sizeof(h));
	buf_reset(rendered);
	if (tmpl_set_render_mark(ob->set, c->t, c->ctx, c->elide, &elide_at, rendered, e) < 0)
		goto out;
	nh = split_rendered(rendered->data ? rendered->data : (char *)"", h, ARRAY_SIZE(h), &body);
	/* The header lines, encoded, take a few hundred bytes; the body grows
	 * by its line ends or its encoding: one allocation, not a doubling
	 * series. */
	body_len = rendered->len - (size_t)(body - (rendered->data ? rendered->data : body));
	buf_grow(msg, body_len + body_len / 8 + 2048);
	for (size_t i = 0; i < nh && !have_subject; i++) {
		if (strcasecmp(h[i].name, "Subject") == 0) {
			buf_addstr(&b->subject, h[i].value);
			have_subject = true;
		}
	}
	/* The tag is what threads an answer back: it is always there. */
	if (!strstr(buf_cstr(&b->subject), c->ref)) {
		if (b->subject.len)
			buf_addch(&b->subject, ' ');
		buf_addstr(&b->subject, c->ref);
	}
	mime_message_id(ob->domain, b->msgid, sizeof(b->msgid));
	mime_date(store_now(), date, sizeof(date));
	if (c->in_reply_to && msgid_ok(c->in_reply_to)) {
		for (size_t i = 0; c->refs && i < c->refs->n; i++)
			if (msgid_ok(c->refs->items[i]) &&
			    strcmp(c->refs->items[i], c->in_reply_to) != 0)
				buf_addf(&b->refs, "<%s> ", c->refs->items[i]);
		buf_addch(&b->refs, '<');
		buf_addstr(&b->refs, c->in_reply_to);
		buf_addch(&b->refs, '>');
	}

	if (mime_header_addrs(msg, "From", &from, 1, e) < 0 ||
	    mime_header_addrs(msg, "To", c->to, c->nto, e) < 0 ||
	    (c->ncc && mime_header_addrs(msg, "Cc", c->cc, c->ncc, e) < 0) ||
	    (c->reply_to_desk && mime_header_addrs(msg, "Reply-To", &from, 1, e) < 0) ||
	    mime_header(msg, "Subject", buf_cstr(&b->subject), e) < 0 ||
	    mime_header_raw(msg, "Date", date, e) < 0)
		goto out;
	buf_addstr(msg, "Message-ID: <");
	buf_addstr(msg, b->msgid);
	buf_addstr(msg, ">\r\n");
	if (b->refs.len) {
		buf_addstr(msg, "In-Reply-To: <");
		buf_addstr(msg, c->in_reply_to);
		buf_addstr(msg, ">\r\n");
		if (mime_header_raw(msg, "References", b->refs.data, e) < 0)
			goto out;
	}
	if (c->automatic)
		buf_addstr(msg, "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n");
	for (size_t i = 0; i < nh; i++) {
		if (strcasecmp(h[i].name, "Content-Language") == 0)
			have_lang = true;
		if (strcasecmp(h[i].name, "Subject") == 0 ||
		    (c->reply_to_desk && strcasecmp(h[i].name, "Reply-To") == 0))
			continue;
		if (mime_header(msg, h[i].name, h[i].value, e) < 0)
			goto out;
	}
	/* The language the mail is written in (RFC 3282), from its template. */
	if (!have_lang && mime_header(msg, "Content-Language", tmpl_lang(c->t), e) < 0)
		goto out;
	if (c->elide && elide_at != SIZE_MAX && elide_at >= (size_t)(body - rendered->data)) {
		const char *v = tmpl_ctx_get(c->ctx, c->elide);

		b->quote_at = elide_at - (size_t)(body - rendered->data);
		quote_len = v ? strlen(v) : 0;
		kept = elided(&b->body, body, body_len, b->quote_at, v, quote_len,
			      c->ticket_id);
	}
	if (kept && c->quote_of > 0) {
		/* By reference: the text around the quote, not yet encoded.
		 * Encoding it here checks it (the quote was checked when the
		 * inquiry was stored) and costs little: it is short. */
		struct buf check = BUF_INIT;
		size_t head_len = msg->len;

		buf_add(msg, "\r\n", 2);
		buf_add(msg, body, b->quote_at);
		buf_add(msg, body + b->quote_at + quote_len, body_len - b->quote_at - quote_len);
		if (mime_text_body(&check, buf_cstr(msg) + head_len + 2, e) < 0) {
			buf_release(&check);
			goto out;
		}
		buf_release(&check);
		b->by_ref = true;
	} else if (mime_text_body(msg, body, e) < 0) {
		goto out;
	}
	if (!kept)
		buf_addstr(&b->body, body);
	built_values(ob, c, b);
	rc = 0;
out:
	for (size_t i = 0; i < nh; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	scratch_done(rendered);
	return rc;
}

/* Records the mail b built from c on the ticket and queues it. */
static int
compose_record(const struct outbound *ob, struct store *s, const struct compose *c,
	       const struct built *b, int64_t *outbox_id, struct err *e)
{
	int64_t mid = record_message(s, c, ob, b, e);

	if (mid < 0)
		return -1;
	return outbox_queue_quoting(s, c->ticket_id, mid, c->kind,
				    c->automatic ? "" : ob->cfg->desk.address, b->rcpts.data,
				    b->msg.data, b->msg.len, b->by_ref ? c->quote_of : 0,
				    b->by_ref ? (int64_t)b->quote_at : 0, outbox_id, e);
}

/* Renders c, builds the MIME message, records it on the ticket and queues
 * it. EXIT_DATAERR when the mail cannot be built from this data (nothing
 * is stored then); other codes are store errors. */
static int
compose_queue(struct outbound *ob, struct store *s, const struct compose *c,
	      int64_t *outbox_id, struct err *e)
{
	int rc = compose_build(ob, &ob->rendered, c, &ob->built, e);

	if (rc == 0)
		rc = compose_record(ob, s, c, &ob->built, outbox_id, e);
	built_reset(&ob->built);
	return rc;
}

/* A display name from mail, with anything that could break a header
 * turned into spaces. The address itself is never cleaned: it is checked. */
static char *
clean_name(const char *name)
{
	char *n = xstrdup(name ? name : "");

	for (unsigned char *p = (unsigned char *)n; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return n;
}

/* ---- acknowledgement and notification ---- */

/* One automatic mail about an inquiry: what to build (c, whose ctx whoever
 * builds it makes), then what was built, to be recorded. */
struct item {
	bool used;
	struct compose c;
	unsigned need;        /* the variables its template uses */
	bool followup;        /* an ack of a follow-up */
	const char *queue_id; /* a notice's queue, for its event */
	struct mime_addr *to; /* c.to */
	bool to_shared;       /* to is a notice plan's (ob->plans), not own */
	char *to_name;        /* an ack's recipient's display name */
	char *count_key;      /* a notice's counter for its partner's limit */
	/* The template passed by because it is broken: c.t is the fallback,
	 * or NULL when none works and the mail is held (hold_item). */
	const struct tmpl *broken;
	int64_t inquiry_id;   /* the stored message it answers or quotes */
	const char *queue;    /* the queue it was made for (ack: the ticket's) */
	char ref[128];        /* c.ref */
	struct built b;
	int rc;
	struct err e;
};

static void
item_init(struct item *it)
{
	memset(it, 0, sizeof(*it));
	built_init(&it->b);
}

/* Empties it for the next mail; its buffers stay. */
static void
item_clear(struct item *it)
{
	struct built b = it->b;

	if (!it->to_shared)
		free(it->to);
	free(it->to_name);
	free(it->count_key);
	built_reset(&b);
	memset(it, 0, sizeof(*it));
	it->b = b;
}

static void
item_release(struct item *it)
{
	item_clear(it);
	built_release(&it->b);
}

static void
plan_make(struct outbound *ob, const char *queue, struct notice_plan *pl)
{
	const struct queue *q = ob->rules ? rules_queue(ob->rules, queue) : NULL;

	memset(pl, 0, sizeof(*pl));
	if (!q || q->contacts.n == 0)
		return;
	pl->to = xcalloc(q->contacts.n, sizeof(*pl->to));
	for (size_t i = 0; i < q->contacts.n; i++)
		if (mime_addr_ok(q->contacts.items[i]) && !config_is_desk(ob->cfg, q->contacts.items[i]))
			pl->to[pl->nto++].addr = q->contacts.items[i];
	if (pl->nto == 0) {
		free(pl->to);
		pl->to = NULL;
		return;
	}
	pl->queue_id = q->id;
	pl->t = tmpl_set_find_checked(ob->set, "partner", queue, q->language, &pl->broken);
	pl->need = template_needs(ob, pl->t);
}

/* The partner notice of t, quoting stored message quote_of; false when its
 * queue has no one to tell. c.t is NULL when no partner template is
 * shipped. */
/* The notice plan of queue, made once per run; own is filled and given
 * back when there are more queues than a run should see (the caller then
 * owns own.to). */
static struct notice_plan *
plan_find(struct outbound *ob, const char *queue, struct notice_plan *own)
{
	struct notice_plan *pl = NULL;

	for (size_t i = 0; i < ob->nplans && !pl; i++)
		if (strcmp(ob->plans[i].queue, queue) == 0)
			pl = &ob->plans[i];
	if (!pl && ob->nplans < PLAN_MAX) {
		pl = &ob->plans[ob->nplans++];
		plan_make(ob, queue, pl);
		pl->queue = xstrdup(queue);
	}
	if (!pl) {
		plan_make(ob, queue, own);
		pl = own;
	}
	return pl;
}

static bool
notice_prepare(struct outbound *ob, const struct ticket *t, int64_t quote_of, struct item *it)
{
	struct notice_plan own, *pl = plan_find(ob, t->queue, &own);

	if (pl->nto == 0)
		return false;
	it->to = pl->to;
	it->to_shared = pl != &own;
	it->queue_id = pl->queue_id;
	it->queue = pl->queue_id;
	it->broken = pl->broken;
	it->inquiry_id = quote_of;
	it->count_key = xasprintf("notice:%s", pl->queue_id);
	it->c = (struct compose){
		.kind = "notice",
		.ticket_id = t->id,
		.ref = it->ref,
		.t = pl->t,
		.to = it->to,
		.nto = pl->nto,
		.automatic = true,
		.reply_to_desk = true,
		.elide = "quoted",
		.quote_of = quote_of,
	};
	it->need = pl->need;
	it->used = true;
	return true;
}

/* The acknowledgement of m (stored as message_id), on ticket t; t and m
 * must outlive it. */
static void
ack_prepare(struct outbound *ob, const struct ticket *t, const struct message *m,
	    int64_t message_id, bool followup, struct item *it)
{
	it->to_name = clean_name(m->from.name);
	it->to = xcalloc(1, sizeof(*it->to));
	it->to[0].name = it->to_name;
	it->to[0].addr = m->from.addr;
	it->followup = followup;
	it->c = (struct compose){
		.kind = "ack",
		.ticket_id = t->id,
		.ref = it->ref,
		.t = tmpl_set_find_checked(ob->set, "ack", t->queue, t->language, &it->broken),
		.to = it->to,
		.nto = 1,
		.automatic = true,
		.in_reply_to = m->message_id,
		.refs = &m->references,
	};
	it->inquiry_id = message_id;
	it->queue = t->queue;
	it->need = template_needs(ob, it->c.t);
	it->used = true;
}

/* Builds it from t and m (templates, MIME), into it->b and it->rc. No
 * store: the composer thread runs it too. */
static void
item_build(const struct outbound *ob, struct buf *rendered, const struct ticket *t,
	   const struct message *m, struct item *it)
{
	struct tmpl_ctx *ctx;

	it->rc = 0;
	if (!it->c.t)
		return; /* recorded as skipped or held */
	/* c.ref, made here rather than on the storing thread. */
	snprintf(it->ref, sizeof(it->ref), "[%s #%lld]", ob->cfg->desk.tag,
		 (long long)it->c.ticket_id);
	ctx = ticket_ctx(ob, t, m, it->need);
	if (strcmp(it->c.kind, "ack") == 0)
		tmpl_ctx_set(ctx, "followup", it->followup ? "yes" : "");
	it->c.ctx = ctx;
	it->e = (struct err)ERR_INIT;
	it->rc = testhook_step_fails(it->c.kind, m->message_id, &it->e)
			 ? -1
			 : compose_build(ob, rendered, &it->c, &it->b, &it->e);
	it->c.ctx = NULL;
	tmpl_ctx_free(&ctx);
}

/* ---- mail whose template is broken ---- */

/* A mail sent with a fallback template because its own is broken: told in
 * the ticket's history and counted. */
static int
fallback_note(struct store *s, const struct item *it, struct ingest_result *tally,
	      struct err *e)
{
	char *note;
	int rc;

	if (!it->broken)
		return 0;
	note = xasprintf("%s; sent with %s", tmpl_problem(it->broken), tmpl_file(it->c.t));
	rc = store_event(s, it->c.ticket_id, "secdesk", "template-fallback", it->c.kind, note, e);
	free(note);
	tally->template_fallbacks++;
	return rc;
}

/* it, for which no template works, goes into the outbox held (outbox_hold)
 * with what outbound_release_held needs to render it once one does: the
 * ticket, the message it answers, its recipients, and in data the lines
 * "queue=ID" and "followup=yes|". It counts for the RFC 3834 limits as
 * the mail itself would have. */
static int
hold_item(struct outbound *ob, struct store *s, const struct item *it, const char *tmpl_kind,
	  struct autolog *log, struct ingest_result *tally, struct err *e)
{
	struct buf rcpts = BUF_INIT;
	const struct tmpl *en = NULL;
	char *reason, *why;
	char *data = xasprintf("queue=%s\nfollowup=%s\n", it->queue ? it->queue : "",
			       it->followup ? "yes" : "");
	char *what = NULL;
	int64_t id = 0;
	int rc = -1;

	/* The English one is broken too (or missing): both are named. */
	(void)tmpl_set_find_checked(ob->set, tmpl_kind, it->queue, "en", &en);
	if (!it->broken)
		reason = xasprintf("no template '%s' (expected %s/%s.en.txt)", tmpl_kind,
				   ob->cfg->templates.dir, tmpl_kind);
	else if (en && en != it->broken)
		reason = xasprintf("%s; %s", tmpl_problem(it->broken), tmpl_problem(en));
	else
		reason = xstrdup(tmpl_problem(it->broken));
	why = xasprintf("held: template error: %s", reason);
	for (size_t i = 0; i < it->c.nto; i++) {
		if (i)
			buf_addch(&rcpts, ',');
		buf_addstr(&rcpts, it->c.to[i].addr);
	}
	if (outbox_hold(s, it->c.ticket_id, it->inquiry_id, it->c.kind, buf_cstr(&rcpts), data,
			why, &id, e) < 0)
		goto out;
	what = xasprintf("%s, outbox #%lld", it->c.kind, (long long)id);
	if (store_event(s, it->c.ticket_id, "secdesk", "template-held", what, reason, e) < 0)
		goto out;
	for (size_t i = 0; i < it->c.nto; i++)
		if (autolog_add(ob->cfg, s, log, it->c.to[i].addr, false, e) < 0)
			goto out;
	if (it->count_key && autolog_add(ob->cfg, s, log, it->count_key, true, e) < 0)
		goto out;
	tally->held++;
	rc = 0;
out:
	buf_release(&rcpts);
	free(reason);
	free(why);
	free(data);
	free(what);
	return rc;
}

/* Records the built acknowledgement it, or that it could not be built
 * (counted in tally). */
static int
ack_record(struct outbound *ob, struct store *s, const struct item *it, struct autolog *log,
	   struct ingest_result *tally, struct err *e)
{
	struct err ce = it->e;
	int rc = it->rc;

	if (!it->c.t)
		return hold_item(ob, s, it, "ack", log, tally, e);
	if (rc == 0)
		rc = compose_record(ob, s, &it->c, &it->b, NULL, &ce);
	if (rc < 0) {
		/* Building touches no store: its failure is this mail's. */
		if (it->rc == 0 && ce.code != EXIT_DATAERR) {
			*e = ce;
			return -1;
		}
		/* Mail we cannot answer well is not answered at all. */
		tally->acks_suppressed++;
		tally->problems++;
		return ticket_flag_problem(s, it->c.ticket_id, "ack-failed", ce.msg, e);
	}
	if (autolog_add(ob->cfg, s, log, it->to[0].addr, false, e) < 0 ||
	    fallback_note(s, it, tally, e) < 0)
		return -1;
	tally->acks_queued++;
	return 0;
}

/* Records the built partner notice it, or why there is none. */
static int
notice_record(struct outbound *ob, struct store *s, const struct item *it, struct autolog *log,
	      struct ingest_result *tally, struct err *e)
{
	struct err ce = it->e;
	int rc = it->rc;

	if (!it->c.t && it->broken)
		return hold_item(ob, s, it, "partner", log, tally, e);
	if (!it->c.t) {
		/* No partner template shipped: staff see it in the history. */
		return store_event(s, it->c.ticket_id, "secdesk", "notice-skipped", NULL,
				   "no partner template", e);
	}
	if (rc == 0)
		rc = compose_record(ob, s, &it->c, &it->b, NULL, &ce);
	if (rc < 0) {
		if (it->rc == 0 && ce.code != EXIT_DATAERR) {
			*e = ce;
			return -1;
		}
		tally->problems++;
		return ticket_flag_problem(s, it->c.ticket_id, "notice-failed", ce.msg, e);
	}
	for (size_t i = 0; i < it->c.nto; i++)
		if (autolog_add(ob->cfg, s, log, it->to[i].addr, false, e) < 0)
			return -1;
	if (autolog_add(ob->cfg, s, log, it->count_key, true, e) < 0)
		return -1;
	if (store_event(s, it->c.ticket_id, "secdesk", "notified", NULL, it->queue_id, e) < 0 ||
	    fallback_note(s, it, tally, e) < 0)
		return -1;
	tally->notices_queued++;
	return 0;
}

/* Without the composer thread: build and record at once. */
static int
queue_ack(struct outbound *ob, struct store *s, const struct ticket *t, const struct message *m,
	  int64_t message_id, bool followup, struct ingest_result *tally, struct autolog *log,
	  struct err *e)
{
	struct item it;
	int rc;

	item_init(&it);
	ack_prepare(ob, t, m, message_id, followup, &it);
	item_build(ob, &ob->rendered, t, m, &it);
	rc = ack_record(ob, s, &it, log, tally, e);
	item_release(&it);
	return rc;
}

static int
queue_notice(struct outbound *ob, struct store *s, const struct ticket *t,
	     const struct message *m, int64_t quote_of, struct ingest_result *tally,
	     struct autolog *log, struct err *e)
{
	struct item it;
	int rc = 0;

	item_init(&it);
	if (notice_prepare(ob, t, quote_of, &it)) {
		item_build(ob, &ob->rendered, t, m, &it);
		rc = notice_record(ob, s, &it, log, tally, e);
		/* The log holds the item's counter key: written before it goes. */
		if (rc == 0)
			rc = autolog_flush(ob->cfg, s, log, e);
	}
	item_release(&it);
	return rc;
}

/* Mails queued but not recorded yet (the composer thread's, below), which
 * the RFC 3834 checks count as the store's own: see decide_ack. */
struct unrecorded {
	int mails;        /* automatic mails, for the hourly limit */
	int to_sender;    /* of them, to the sender being decided */
	bool ticket_acked; /* an ack of the ticket being decided */
};

/* rules_contact_queue(ob->rules, addr) != NULL, from a set made once: it
 * compares with every contact of every queue, for each inquiry. */
static bool
is_contact(struct outbound *ob, const char *addr)
{
	if (!ob->rules || !addr || !*addr)
		return false;
	if (!ob->contacts_made) {
		for (size_t i = 0; i < rules_queue_count(ob->rules); i++) {
			const struct queue *q = rules_queue_at(ob->rules, i);

			for (size_t k = 0; k < q->contacts.n; k++)
				addrset_add(&ob->contacts, q->contacts.items[k]);
		}
		ob->contacts_made = true;
	}
	return addrset_has(&ob->contacts, addr);
}

/* Counts what the RFC 3834 decision needs and asks it. */
static int
decide_ack(struct outbound *ob, struct store *s, const struct message *m,
	   const struct ingest_result *res, const struct unrecorded *u, struct txn_memo *mm,
	   enum autoreply_reason *why, struct err *e)
{
	struct autoreply_ctx c = { 0 };
	int64_t now = store_now(), v;

	c.enabled = ob->cfg->ack.enabled;
	c.desk_address = ob->cfg->desk.address;
	c.desk_aliases = &ob->cfg->desk.aliases;
	c.rules_no_ack = res->no_ack;
	c.from_partner = res->partner || is_contact(ob, m->from.addr);
	c.per_sender_limit = ob->cfg->ack.per_sender_limit;
	c.hourly_limit = ob->cfg->ack.hourly_limit;
	/* The cheap checks first: most mail that gets no ack stops here. */
	*why = autoreply_decide(m, &c);
	if (*why != AR_YES)
		return 0;
	/* A ticket opened by this very message has had no ack yet. */
	if (res->kind != INGEST_NEW_TICKET) {
		v = u->ticket_acked ? 1
				    : query_int(s, "SELECT 1 FROM messages WHERE ticket_id = ?2"
						   " AND direction = 'out' AND kind = 'ack' LIMIT 1",
						NULL, res->ticket_id, e);
		if (v < 0)
			return -1;
		c.already_acked = v > 0;
	}
	if (c.per_sender_limit > 0) {
		int64_t since = now - ob->cfg->ack.per_sender_window;
		int known = mm ? memo_senders_ok(s, mm, since, e) : 0;

		if (known < 0)
			return -1;
		if (known && !addrset_has(&mm->senders, m->from.addr))
			v = 0; /* no row to count */
		else
			v = query_int(s, "SELECT count(*) FROM autoreply_log WHERE addr = ?1"
				      " AND at > ?2", m->from.addr, since, e);
		if (v < 0)
			return -1;
		v += u->to_sender + memo_sender(mm, m->from.addr,
						now - ob->cfg->ack.per_sender_window);
		c.sender_recent = v > INT_MAX ? INT_MAX : (int)v;
	}
	if (c.hourly_limit > 0) {
		v = mm ? memo_hourly(s, mm, e) : hourly_count(s, e);
		if (v < 0)
			return -1;
		v += u->mails;
		c.hourly_recent = v > INT_MAX ? INT_MAX : (int)v;
	}
	*why = autoreply_decide_counts(&c);
	return 0;
}

/* ---- building off the storing thread ---- */

/* In a fetch, the acknowledgements and notices of the inquiries are built
 * (templates, MIME: a fifth of the storing thread's work) by a thread of
 * their own while the storing thread goes on with the next inquiries. Up
 * to PIPE_DEPTH inquiries' mails are on their way; they are recorded in
 * their order when the ring is full and before the transaction commits (a
 * store hook); a rollback drops them. Meanwhile the checks of RFC 3834
 * (sent already, per sender, per hour) count them as if recorded. The ring
 * absorbs the composer thread's wait for a core; a job it has not started
 * when its turn to be recorded comes, the storing thread builds itself.
 * The composer makes everything the rows bind; recording a mail is its
 * INSERTs. Its autoreply_log and autoreply_count rows wait for the commit
 * (struct txn_memo), and the order of ids does not change: a job is
 * recorded at the same point of the transaction as before (when the ring
 * is full), and those two tables have no other writer in it. */
#define PIPE_DEPTH 16

enum job_state { JOB_FREE, JOB_QUEUED, JOB_BUILDING, JOB_BUILT };

struct job {
	/* Copies of the inquiry's ticket and of the fields of its message
	 * that the mails use. Their strings are in in, one buffer kept from
	 * one job to the next, rather than a dozen allocated and freed per
	 * inquiry on the storing thread; m's references are its own. */
	struct ticket t;
	struct message m;
	struct buf in;
	struct item ack, notice;
	enum job_state state; /* under mu */
};

/* Composer threads. In a fetch the machine's other threads keep the cores
 * busy, and a composer woken may wait for one longer than the ring lasts:
 * with two, that leaves a job to the storing thread half as often. */
#define PIPE_COMPOSERS 2

struct composer {
	const struct outbound *ob;
	pthread_t thread;
	struct buf rendered; /* its scratch space */
};

/* Jobs are numbered as submitted; job k is in jobs[k % PIPE_DEPTH]. The
 * storing thread fills job submitted and records them from recorded on;
 * the composers build them from their cursor on. */
struct pipeline {
	struct store *s;
	struct composer comp[PIPE_COMPOSERS];
	size_t ncomp; /* started */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	uint64_t submitted; /* under mu */
	uint64_t cursor;    /* the next job a composer looks at; under mu */
	uint64_t recorded;  /* under mu */
	bool stop;          /* under mu */
	int idle;           /* composers waiting for work; under mu */
	struct job jobs[PIPE_DEPTH];
	struct txn_memo memo; /* the storing thread's */
	struct ingest_result tally;
	double waited; /* seconds the storing thread waited for the composer */
};

/* The storing thread's memo of the open transaction; NULL outside one
 * (then every answer comes from the store and every row goes at once). */
static struct txn_memo *
pipe_memo(struct pipeline *p)
{
	return sqlite3_get_autocommit(store_db(p->s)) ? NULL : &p->memo;
}

static void
job_clear(struct job *j)
{
	strlist_release(&j->m.references);
	memset(&j->t, 0, sizeof(j->t));
	memset(&j->m, 0, sizeof(j->m));
	scratch_done(&j->in);
	/* An item not used was not touched. */
	if (j->ack.used)
		item_clear(&j->ack);
	if (j->notice.used)
		item_clear(&j->notice);
}

/* t and the fields of m that ticket_ctx and the ack use, into j. A
 * ticket's NULL stays NULL (as ticket_copy keeps it); a message's is "". */
static void
job_fill(struct job *j, const struct ticket *t, const struct message *m)
{
	const char *src[] = {
		t->status, t->queue, t->category, t->priority, t->language, t->subject,
		t->requester, t->requester_name, t->assignee,
		m->message_id, m->subject, m->from.name, m->from.addr, m->body,
	};
	char **dst[ARRAY_SIZE(src)] = {
		&j->t.status, &j->t.queue, &j->t.category, &j->t.priority, &j->t.language,
		&j->t.subject, &j->t.requester, &j->t.requester_name, &j->t.assignee,
		&j->m.message_id, &j->m.subject, &j->m.from.name, &j->m.from.addr, &j->m.body,
	};
	const size_t nticket = 9;
	size_t off[ARRAY_SIZE(src)], len[ARRAY_SIZE(src)], total = 0;

	buf_reset(&j->in);
	for (size_t i = 0; i < ARRAY_SIZE(src); i++) {
		len[i] = src[i] ? strlen(src[i]) : 0;
		total += len[i] + 1;
	}
	buf_grow(&j->in, total);
	/* Offsets first, pointers once the buffer is filled: it may move. */
	for (size_t i = 0; i < ARRAY_SIZE(src); i++) {
		if (!src[i] && i < nticket) {
			off[i] = SIZE_MAX;
			continue;
		}
		off[i] = j->in.len;
		buf_add(&j->in, src[i] ? src[i] : "", len[i] + 1);
	}
	j->t = *t;
	j->t.tags = (struct strlist)STRLIST_INIT;
	memset(&j->m, 0, sizeof(j->m));
	for (size_t i = 0; i < ARRAY_SIZE(src); i++)
		*dst[i] = off[i] == SIZE_MAX ? NULL : j->in.data + off[i];
	j->m.date = m->date;
	j->m.has_date = m->has_date;
	for (size_t i = 0; i < m->references.n; i++)
		strlist_add(&j->m.references, m->references.items[i]);
}

static void
job_build(const struct outbound *ob, struct buf *rendered, struct job *j)
{
	if (j->ack.used)
		item_build(ob, rendered, &j->t, &j->m, &j->ack);
	if (j->notice.used)
		item_build(ob, rendered, &j->t, &j->m, &j->notice);
}

static void *
composer_main(void *arg)
{
	struct composer *c = arg;
	const struct outbound *ob = c->ob;
	struct pipeline *p = ob->pipe;

	(void)pthread_setname_np(pthread_self(), "secdesk-compose");
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j;

		if (p->cursor < p->recorded)
			p->cursor = p->recorded;
		/* Skip what the storing thread took over. */
		while (p->cursor < p->submitted &&
		       p->jobs[p->cursor % PIPE_DEPTH].state != JOB_QUEUED)
			p->cursor++;
		if (p->cursor == p->submitted) {
			if (p->stop)
				break;
			p->idle++;
			pthread_cond_wait(&p->cond, &p->mu);
			p->idle--;
			continue;
		}
		j = &p->jobs[p->cursor++ % PIPE_DEPTH];
		j->state = JOB_BUILDING;
		pthread_mutex_unlock(&p->mu);
		job_build(ob, &c->rendered, j);
		pthread_mutex_lock(&p->mu);
		j->state = JOB_BUILT;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Job k built, by the composer, or here when the composer has not started
 * it. */
static void
pipe_job_ready(struct outbound *ob, uint64_t k)
{
	struct pipeline *p = ob->pipe;
	struct job *j = &p->jobs[k % PIPE_DEPTH];

	pthread_mutex_lock(&p->mu);
	if (j->state == JOB_QUEUED) {
		j->state = JOB_BUILDING;
		pthread_mutex_unlock(&p->mu);
		job_build(ob, &ob->rendered, j);
		pthread_mutex_lock(&p->mu);
		j->state = JOB_BUILT;
	} else if (j->state == JOB_BUILDING) {
		double t0 = clock_mono();

		while (j->state != JOB_BUILT)
			pthread_cond_wait(&p->cond, &p->mu);
		p->waited += clock_mono() - t0;
	}
	pthread_mutex_unlock(&p->mu);
}

/* An idle composer is woken once PIPE_WAKE jobs wait for it rather than for
 * each: a wake-up is a system call on the storing thread, and the oldest
 * of them is recorded only PIPE_DEPTH jobs later. */
#define PIPE_WAKE 4

static void
pipe_submit(struct pipeline *p)
{
	pthread_mutex_lock(&p->mu);
	p->jobs[p->submitted % PIPE_DEPTH].state = JOB_QUEUED;
	p->submitted++;
	if (p->idle && p->submitted - p->cursor >= PIPE_WAKE)
		pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
}

/* Before the jobs are recorded at a commit: the composer takes its share. */
static void
pipe_wake(struct pipeline *p)
{
	pthread_mutex_lock(&p->mu);
	if (p->idle && p->cursor < p->submitted)
		pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
}

/* Records the oldest job, once built. */
static int
pipe_record_one(struct outbound *ob, struct err *e)
{
	struct pipeline *p = ob->pipe;
	struct job *j = &p->jobs[p->recorded % PIPE_DEPTH];
	struct autolog log = { .n = 0, .defer = pipe_memo(p) };
	int rc = 0;

	pipe_job_ready(ob, p->recorded);
	if (j->ack.used)
		rc = ack_record(ob, p->s, &j->ack, &log, &p->tally, e);
	if (rc == 0 && j->notice.used)
		rc = notice_record(ob, p->s, &j->notice, &log, &p->tally, e);
	if (rc == 0)
		rc = autolog_flush(ob->cfg, p->s, &log, e);
	job_clear(j);
	pthread_mutex_lock(&p->mu);
	j->state = JOB_FREE;
	p->recorded++;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Records every job submitted (before a commit). On error the caller rolls
 * back, which drops the rest. */
static int
pipe_finish(void *arg, struct err *e)
{
	struct outbound *ob = arg;
	struct pipeline *p = ob->pipe;

	if (p->recorded < p->submitted)
		pipe_wake(p);
	while (p->recorded < p->submitted)
		if (pipe_record_one(ob, e) < 0)
			return -1;
	return memo_write(p->s, &p->memo, e);
}

/* The transaction they belonged to is gone: so are they. */
static void
pipe_drop(void *arg)
{
	struct outbound *ob = arg;
	struct pipeline *p = ob->pipe;

	memo_reset(&p->memo);
	/* It may hold addresses of rows rolled back. */
	senders_clear(&p->memo);
	pthread_mutex_lock(&p->mu);
	/* What the composer has not started it never will; what it has, it
	 * finishes first. */
	for (uint64_t k = p->recorded; k < p->submitted; k++) {
		struct job *j = &p->jobs[k % PIPE_DEPTH];

		if (j->state == JOB_QUEUED)
			j->state = JOB_BUILT;
		while (j->state == JOB_BUILDING)
			pthread_cond_wait(&p->cond, &p->mu);
		job_clear(j);
		j->state = JOB_FREE;
	}
	p->recorded = p->submitted;
	pthread_mutex_unlock(&p->mu);
}

/* What the jobs not recorded yet mean to the decision on m (ticket_id). */
static void
pipe_unrecorded(const struct pipeline *p, const struct message *m, int64_t ticket_id,
		struct unrecorded *u)
{
	memset(u, 0, sizeof(*u));
	if (!p)
		return;
	for (uint64_t k = p->recorded; k < p->submitted; k++) {
		const struct job *j = &p->jobs[k % PIPE_DEPTH];
		const struct item *its[2] = { &j->ack, &j->notice };

		for (size_t n = 0; n < 2; n++) {
			const struct item *it = its[n];

			if (!it->used || !it->c.t)
				continue;
			u->mails += (int)it->c.nto;
			for (size_t i = 0; i < it->c.nto; i++)
				if (m->from.addr && nocase_eq(it->to[i].addr, m->from.addr))
					u->to_sender++;
		}
		if (j->ack.used && j->t.id == ticket_id)
			u->ticket_acked = true;
	}
}

/* ---- partner notices past their limits: the hourly digest ---- */

/* A digest takes no more inquiries this long before it is due: longer than
 * a transaction that adds one may take, so that none is added after the
 * digest was read for delivery. */
#define DIGEST_CLOSE 300
#define DIGEST_HOUR 3600

/* Opens the hourly breaker (acks and notices stop): staff hear of it once
 * an hour, by the state row that 'secdesk send' and 'outbox' report. */
static int
breaker_trip(struct store *s, struct txn_memo *memo, struct err *e)
{
	int64_t now = store_now();

	if (breaker_since(s, memo) != 0)
		return 0;
	if (state_set(s, "ack_breaker", now, e) < 0)
		return -1;
	if (memo) {
		memo->breaker = now;
		memo->breaker_read = true;
	}
	return 0;
}

/* The notices to queue_id of the jobs not recorded yet. */
static int64_t
pipe_queue_notices(const struct pipeline *p, const char *queue_id)
{
	int64_t n = 0;

	for (uint64_t k = p ? p->recorded : 0; p && k < p->submitted; k++) {
		const struct item *it = &p->jobs[k % PIPE_DEPTH].notice;

		if (it->used && it->c.t && it->queue_id && strcmp(it->queue_id, queue_id) == 0)
			n++;
	}
	return n;
}

/* 1 when a notice to pl's partner waits for the digest: the partner had
 * [notice] hourly_limit_per_partner notices in the last hour, or the
 * hourly limit of automatic mail is reached (the breaker then opens); 0
 * when it goes. acked: an ack of this inquiry is queued, not counted yet. */
static int
notice_over_limit(struct outbound *ob, struct store *s, const struct notice_plan *pl,
		  struct txn_memo *mm, const struct unrecorded *u, bool acked, struct err *e)
{
	int limit = ob->cfg->notice.hourly_limit_per_partner;
	int64_t since = store_now() - DIGEST_HOUR, v;

	if (limit > 0) {
		char *key = xasprintf("notice:%s", pl->queue_id);

		v = query_int(s, "SELECT count(*) FROM autoreply_log WHERE addr = ?1 AND at > ?2",
			      key, since, e);
		if (v >= 0)
			v += memo_sender(mm, key, since) + pipe_queue_notices(ob->pipe, pl->queue_id);
		free(key);
		if (v < 0)
			return -1;
		if (v >= limit)
			return 1;
	}
	if (ob->cfg->ack.hourly_limit > 0) {
		v = mm ? memo_hourly(s, mm, e) : hourly_count(s, e);
		if (v < 0)
			return -1;
		if (v + u->mails + (acked ? 1 : 0) + (int64_t)pl->nto > ob->cfg->ack.hourly_limit)
			return breaker_trip(s, mm, e) < 0 ? -1 : 1;
	}
	return 0;
}

/* The header block and opening text of pl's digest (without the list of
 * inquiries, which delivery adds: build_digest). */
static int
digest_head(const struct outbound *ob, const struct notice_plan *pl, struct buf *msg,
	    struct err *e)
{
	const struct queue *q = ob->rules ? rules_queue(ob->rules, pl->queue_id) : NULL;
	const char *qname = q && q->name && *q->name ? q->name : pl->queue_id;
	struct mime_addr from = { ob->cfg->desk.name, ob->cfg->desk.address };
	char msgid[256], date[64], *subject;
	int rc;

	mime_message_id(ob->domain, msgid, sizeof(msgid));
	mime_date(store_now(), date, sizeof(date));
	subject = xasprintf("[%s] New inquiries for %s (hourly digest)", ob->cfg->desk.tag, qname);
	rc = mime_header_addrs(msg, "From", &from, 1, e) < 0 ||
	     mime_header_addrs(msg, "To", pl->to, pl->nto, e) < 0 ||
	     mime_header_addrs(msg, "Reply-To", &from, 1, e) < 0 ||
	     mime_header(msg, "Subject", subject, e) < 0 || mime_header_raw(msg, "Date", date, e) < 0
		     ? -1 : 0;
	free(subject);
	if (rc < 0)
		return -1;
	buf_addf(msg, "Message-ID: <%s>\r\n", msgid);
	buf_addstr(msg, "Auto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\n");
	buf_addf(msg, "\r\nDear colleagues,\n\nmore new inquiries were routed to you (%s) in the "
		 "last hour than\nthe desk sends notices for one by one. These are the others:\n\n",
		 qname);
	return 0;
}

/* The digest of pl's partner that still takes inquiries, or a new one,
 * due in an hour: its outbox id in *id_r. */
static int
digest_find(struct outbound *ob, struct store *s, const struct notice_plan *pl,
	    struct autolog *log, int64_t *id_r, struct err *e)
{
	char *key = xasprintf("digest:%s", pl->queue_id);
	struct buf msg = BUF_INIT, rcpts = BUF_INIT;
	int64_t id;
	int rc = -1;

	id = query_int(s, "SELECT o.id FROM state st JOIN outbox o"
		       " ON o.id = CAST(st.value AS INTEGER) WHERE st.key = ?1"
		       " AND o.status = 'pending' AND o.kind = 'digest' AND o.next_try > ?2",
		       key, store_now() + DIGEST_CLOSE, e);
	if (id < 0)
		goto out;
	if (id > 0) {
		*id_r = id;
		rc = 0;
		goto out;
	}
	if (digest_head(ob, pl, &msg, e) < 0)
		goto out;
	for (size_t i = 0; i < pl->nto; i++)
		buf_addf(&rcpts, "%s%s", i ? "," : "", pl->to[i].addr);
	if (outbox_queue(s, 0, 0, "digest", "", rcpts.data, msg.data, msg.len, &id, e) < 0 ||
	    outbox_set_next_try(s, id, store_now() + DIGEST_HOUR, e) < 0 ||
	    state_set(s, key, id, e) < 0)
		goto out;
	for (size_t i = 0; i < pl->nto; i++)
		if (autolog_add(ob->cfg, s, log, pl->to[i].addr, false, e) < 0)
			goto out;
	*id_r = id;
	rc = 0;
out:
	free(key);
	buf_release(&msg);
	buf_release(&rcpts);
	return rc;
}

/* The notice of new ticket t, when over its partner's limit or the hourly
 * one: held for the partner's digest, which lists the ticket (an event
 * 'notice-held' names the digest). 1 when held, 0 when it goes, -1 on
 * store errors; a digest that cannot be built is told in the ticket's
 * history and the notice goes as usual. */
static int
notice_maybe_hold(struct outbound *ob, struct store *s, const struct ticket *t,
		  struct txn_memo *mm, const struct unrecorded *u, bool acked, struct autolog *log,
		  struct err *e)
{
	struct notice_plan own, *pl = plan_find(ob, t->queue, &own);
	int64_t digest = 0;
	char what[64];
	int rc = 0;

	if (pl->nto == 0)
		goto out;
	rc = notice_over_limit(ob, s, pl, mm, u, acked, e);
	if (rc <= 0)
		goto out;
	if (digest_find(ob, s, pl, log, &digest, e) < 0) {
		rc = -1;
		if (e->code == EXIT_DATAERR)
			rc = store_event(s, t->id, "secdesk", "notice-failed", NULL, e->msg, e);
		goto out;
	}
	snprintf(what, sizeof(what), "outbox #%lld", (long long)digest);
	rc = store_event(s, t->id, "secdesk", "notice-held", what, pl->queue_id, e) < 0 ? -1 : 1;
out:
	if (pl == &own)
		free(own.to);
	return rc;
}

/* For automatic mail made outside ingest (reminders): 1 when one more
 * mail to addr is within [ack] hourly_limit, and it is counted; 0 when
 * not (the breaker opens); -1 on store errors. */
int
outbound_auto_take(const struct config *cfg, struct store *s, const char *addr, struct err *e)
{
	struct autolog log = { .n = 0 };

	if (cfg->ack.hourly_limit > 0) {
		int64_t v = hourly_count(s, e);

		if (v < 0)
			return -1;
		if (v >= cfg->ack.hourly_limit)
			return breaker_trip(s, NULL, e) < 0 ? -1 : 0;
	}
	if (autolog_add(cfg, s, &log, addr, false, e) < 0 || autolog_flush(cfg, s, &log, e) < 0)
		return -1;
	return 1;
}

/* Puts the list of the inquiries held for digest it (events 'notice-held'
 * naming it) after its opening text, and encodes its body. EXIT_DATAERR
 * when it cannot be built. */
static int
build_digest(struct store *s, struct outbox_item *it, struct err *e)
{
	const char *sep = memmem(it->data, it->len, "\r\n\r\n", 4);
	struct buf text = BUF_INIT, out = BUF_INIT;
	char what[64];
	size_t head_len;
	sqlite3_stmt *st;
	int rc, n = 0;

	if (!sep)
		return err_set(e, EXIT_DATAERR, "queued digest #%lld has no body", (long long)it->id);
	head_len = (size_t)(sep - it->data) + 2;
	buf_add(&text, sep + 4, it->len - head_len - 2);
	snprintf(what, sizeof(what), "outbox #%lld", (long long)it->id);
	st = store_prepare(s, "SELECT t.id, t.subject, t.requester_name, t.requester FROM events e"
			   " JOIN tickets t ON t.id = e.ticket_id WHERE e.what = 'notice-held'"
			   " AND e.old_value = ? ORDER BY e.id", e);
	if (!st) {
		buf_release(&text);
		return -1;
	}
	sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 2);

		buf_addf(&text, "  Inquiry #%lld: %s\n    from %s%s<%s>\n\n",
			 (long long)sqlite3_column_int64(st, 0),
			 (const char *)sqlite3_column_text(st, 1), name ? name : "",
			 name && *name ? " " : "", (const char *)sqlite3_column_text(st, 3));
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		buf_release(&text);
		return store_error(s, e, "cannot read the inquiries of a digest");
	}
	buf_addf(&text, "%d inquir%s. To answer one, reply to the desk with its number in the "
		 "subject.\n", n, n == 1 ? "y" : "ies");
	buf_add(&out, it->data, head_len);
	rc = mime_text_body(&out, buf_cstr(&text), e);
	buf_release(&text);
	if (rc < 0) {
		buf_release(&out);
		return -1;
	}
	free(it->data);
	it->len = out.len;
	it->data = buf_detach(&out, NULL);
	return 0;
}

int
outbound_pipeline_start(struct outbound *ob, struct store *s, struct err *e)
{
	struct pipeline *p;

	if (ob->pipe)
		return err_set(e, EXIT_SOFTWARE, "outbound pipeline started twice");
	p = xcalloc(1, sizeof(*p));
	p->s = s;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	for (size_t i = 0; i < PIPE_DEPTH; i++) {
		buf_init(&p->jobs[i].in, 0);
		item_init(&p->jobs[i].ack);
		item_init(&p->jobs[i].notice);
	}
	for (size_t i = 0; i < PIPE_COMPOSERS; i++) {
		p->comp[i].ob = ob;
		buf_init(&p->comp[i].rendered, TMPL_MAX_OUTPUT);
	}
	buf_init(&p->memo.addrs, 0);
	ob->pipe = p;
	/* One composer at least; a second that cannot start is done without. */
	while (p->ncomp < PIPE_COMPOSERS &&
	       pthread_create(&p->comp[p->ncomp].thread, NULL, composer_main,
			      &p->comp[p->ncomp]) == 0)
		p->ncomp++;
	if (p->ncomp == 0) {
		struct ingest_result ignored = { 0 };
		double waited = 0;

		p->stop = true; /* no thread to stop */
		outbound_pipeline_stop(ob, &ignored, &waited);
		return err_set(e, EXIT_TEMPFAIL, "cannot start the composer thread");
	}
	store_set_txn_hooks(s, pipe_finish, pipe_drop, ob);
	return 0;
}

void
outbound_pipeline_stop(struct outbound *ob, struct ingest_result *tally, double *waited)
{
	struct pipeline *p = ob->pipe;
	bool running;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	running = !p->stop;
	pthread_mutex_unlock(&p->mu);
	if (running) {
		/* Stopped inside a transaction: the mails recorded stay in it,
		 * their log rows too. */
		if (pipe_memo(p) && (p->memo.nlog || p->memo.nadds)) {
			struct err ignored = ERR_INIT;

			(void)memo_write(p->s, &p->memo, &ignored);
		}
		pipe_drop(ob);
		store_set_txn_hooks(p->s, NULL, NULL, NULL);
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->mu);
		for (size_t i = 0; i < p->ncomp; i++)
			pthread_join(p->comp[i].thread, NULL);
	}
	tally->acks_queued += p->tally.acks_queued;
	tally->acks_suppressed += p->tally.acks_suppressed;
	tally->notices_queued += p->tally.notices_queued;
	tally->problems += p->tally.problems;
	tally->template_fallbacks += p->tally.template_fallbacks;
	tally->held += p->tally.held;
	*waited += p->waited;
	for (size_t i = 0; i < PIPE_DEPTH; i++) {
		job_clear(&p->jobs[i]);
		buf_release(&p->jobs[i].in);
		item_release(&p->jobs[i].ack);
		item_release(&p->jobs[i].notice);
	}
	for (size_t i = 0; i < PIPE_COMPOSERS; i++)
		buf_release(&p->comp[i].rendered);
	memo_release(&p->memo);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cond);
	free(p);
	ob->pipe = NULL;
}

int
outbound_after_ingest(struct outbound *ob, struct store *s, const struct message *m,
		      const struct ticket *given, struct ingest_result *res, struct err *e)
{
	struct pipeline *p = ob->pipe;
	struct job *j = NULL;
	struct ticket own;
	const struct ticket *t = given;
	struct txn_memo *memo = NULL;
	struct unrecorded u;
	enum autoreply_reason why;
	struct autolog log = { .n = 0 };
	bool notice_due;
	int rc = -1;

	if (res->kind == INGEST_DUPLICATE)
		return 0;
	if (p) {
		/* A free place in the ring for this inquiry's mails. */
		if (p->submitted - p->recorded == PIPE_DEPTH && pipe_record_one(ob, e) < 0)
			return -1;
		j = &p->jobs[p->submitted % PIPE_DEPTH];
		memo = pipe_memo(p);
		/* What the store was read for in this transaction stays true. */
		log.defer = memo;
	}
	ticket_init(&own);
	pipe_unrecorded(p, m, res->ticket_id, &u);
	if (decide_ack(ob, s, m, res, &u, memo, &why, e) < 0)
		goto out;
	if (!given) {
		if (ticket_load(s, res->ticket_id, &own, e) < 0)
			goto out;
		t = &own;
	}
	if (why == AR_YES && !mime_addr_ok(m->from.addr))
		why = AR_NO_ADDRESS;
	/* The desk's own mail come back opens no loop through a partner. */
	notice_due = res->kind == INGEST_NEW_TICKET && res->routed &&
		     strcmp(t->queue, TICKET_DEFAULT_QUEUE) != 0 &&
		     !(m->flags & (MSG_SPAM | MSG_POISON)) && !config_is_desk(ob->cfg, m->from.addr);
	if (j && (why == AR_YES || notice_due)) {
		job_fill(j, t, m);
		t = &j->t;
	}
	if (why == AR_YES) {
		if (j)
			ack_prepare(ob, t, &j->m, res->message_id, res->kind == INGEST_FOLLOWUP,
				    &j->ack);
		else if (queue_ack(ob, s, t, m, res->message_id, res->kind == INGEST_FOLLOWUP, res,
				   &log, e) < 0)
			goto out;
	} else {
		res->acks_suppressed++;
		if (why == AR_BREAKER && breaker_trip(s, memo, e) < 0)
			goto out;
		if (res->kind == INGEST_NEW_TICKET &&
		    store_event(s, t->id, "secdesk", "no-ack", NULL, autoreply_reason_str(why),
				e) < 0)
			goto out;
	}
	if (notice_due) {
		int held = notice_maybe_hold(ob, s, t, memo, &u, why == AR_YES, &log, e);

		if (held < 0)
			goto out;
		if (held)
			; /* in the partner's digest */
		else if (j)
			notice_prepare(ob, t, res->message_id, &j->notice);
		else if (queue_notice(ob, s, t, m, res->message_id, res, &log, e) < 0)
			goto out;
	}
	if (autolog_flush(ob->cfg, s, &log, e) < 0)
		goto out;
	if (j && (j->ack.used || j->notice.used)) {
		pipe_submit(p);
		j = NULL;
	}
	rc = 0;
out:
	if (j)
		job_clear(j); /* nothing handed over */
	ticket_release(&own);
	return rc;
}

/* ---- what a mail may quote ---- */

/* Which stored message a mail may quote or answer: the newest one that a
 * person wrote to the desk themselves (kind inquiry or followup, none of
 * TICKET_IMPERSONAL_FLAGS), written by author, or else by one of rcpts.
 * With shared, only a message that every other address of rcpts had
 * already (in its To or Cc): what one person wrote privately never
 * reaches another through a quote. */
struct quote_rule {
	const char *author;
	const struct mime_addr *rcpts;
	size_t nrcpts;
	bool shared;
};

/* Is addr one of the addresses of list, as ingest stores them
 * ("Name <a@b>, c@d")? A display name that spells an address can only
 * widen who may see the text of the mail whose author wrote that name. */
static bool
addr_listed(const char *list, const char *addr)
{
	size_t n = strlen(addr);

	if (!n)
		return false;
	for (const char *p = list; (p = strcasestr(p, addr)); p++) {
		char before = p == list ? ' ' : p[-1], after = p[n];

		if ((before == ' ' || before == '<' || before == ',') &&
		    (after == '\0' || after == '>' || after == ','))
			return true;
	}
	return false;
}

static bool
quote_allowed(const struct quote_rule *r, const char *from, const char *to, const char *cc)
{
	bool author = r->author && strcasecmp(from, r->author) == 0;

	for (size_t i = 0; !author && !r->author && i < r->nrcpts; i++)
		author = strcasecmp(from, r->rcpts[i].addr) == 0;
	if (!author)
		return false;
	for (size_t i = 0; r->shared && i < r->nrcpts; i++) {
		const char *a = r->rcpts[i].addr;

		if (strcasecmp(a, from) != 0 && !addr_listed(to, a) && !addr_listed(cc, a))
			return false;
	}
	return true;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

/* Stored message id into m (initialised): ids, references, subject, body,
 * date. */
static int
load_quoted(struct store *s, int64_t id, struct message *m, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT message_id, refs, subject, body, date"
					 " FROM messages WHERE id = ?", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *refs = col_text(st, 1);

		free(m->message_id);
		m->message_id = xstrdup(col_text(st, 0));
		for (const char *p = refs; *p;) {
			size_t l = strcspn(p, " ");

			if (l)
				strlist_add_owned(&m->references, xstrndup(p, l));
			p += l;
			p += strspn(p, " ");
		}
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

/* The newest message of ticket_id that r allows, into m (initialised,
 * empty); *id_r (may be NULL) its id. 1, 0 when there is none (m left
 * as it was), -1 on a store error. */
static int
quotable_message(struct store *s, int64_t ticket_id, const struct quote_rule *r,
		 struct message *m, int64_t *id_r, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT id, from_addr, to_addrs, cc_addrs FROM messages"
					 " WHERE ticket_id = ? AND direction = 'in'"
					 " AND kind IN ('inquiry', 'followup') AND (flags & ?) = 0"
					 " ORDER BY id DESC", e);
	int64_t id = 0;
	int rc = SQLITE_DONE;

	if (id_r)
		*id_r = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ticket_id);
	sqlite3_bind_int64(st, 2, TICKET_IMPERSONAL_FLAGS);
	while (id == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (quote_allowed(r, col_text(st, 1), col_text(st, 2), col_text(st, 3)))
			id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the ticket's messages");
	if (id == 0)
		return 0;
	if (load_quoted(s, id, m, e) < 0)
		return -1;
	if (id_r)
		*id_r = id;
	return 1;
}

int
outbound_on_route(struct outbound *ob, struct store *s, int64_t ticket_id, struct err *e)
{
	struct ticket t;
	struct message m;
	struct autolog log = { .n = 0 };
	struct ingest_result tally = { 0 };
	struct quote_rule from_requester = { 0 };
	int64_t inquiry = 0;
	int rc = -1;

	ticket_init(&t);
	message_init(&m);
	if (ticket_load_live(s, ticket_id, &t, e) < 0)
		goto out;
	/* A partner sees the inquiry: what the requester wrote, never
	 * another partner's answer. */
	from_requester.author = t.requester;
	if (quotable_message(s, ticket_id, &from_requester, &m, &inquiry, e) < 0)
		goto out;
	rc = queue_notice(ob, s, &t, &m, inquiry, &tally, &log, e);
	if (rc == 0)
		rc = autolog_flush(ob->cfg, s, &log, e);
out:
	message_release(&m);
	ticket_release(&t);
	return rc;
}

/* ---- held mail released ---- */

/* The value of "key=value" in the lines of a held mail's data, a copy ("" when
 * missing). */
static char *
held_value(const char *data, size_t len, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = data, *end = data + len; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);

		if (l > kl && memcmp(p, key, kl) == 0 && p[kl] == '=')
			return xstrndup(p + kl + 1, l - kl - 1);
		p += l + 1;
	}
	return xstrdup("");
}

/* The recipients of held mail row (its rcpts, split in place), into it:
 * the requester by name. */
static void
held_rcpts(struct outbox_item *row, const struct ticket *t, struct item *it)
{
	size_t n = 1;

	for (const char *p = row->rcpts; *p; p++)
		n += *p == ',';
	it->to = xcalloc(n, sizeof(*it->to));
	it->c.nto = 0;
	for (char *p = row->rcpts, *comma; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (!*p)
			continue;
		if (!it->to_name && strcasecmp(p, t->requester) == 0) {
			it->to_name = clean_name(t->requester_name);
			it->to[it->c.nto].name = it->to_name;
		}
		it->to[it->c.nto++].addr = p;
	}
	it->c.to = it->to;
}

/* Renders and queues held mail row when a template works for it now: 1
 * when released, 0 when it stays held; -1 on store errors. */
static int
release_one(struct outbound *ob, struct store *s, struct outbox_item *row, struct err *e)
{
	struct ticket t;
	struct message m;
	struct item it;
	struct err ce = ERR_INIT;
	char *queue = held_value(row->data, row->len, "queue");
	char *followup = held_value(row->data, row->len, "followup");
	bool ack = strcmp(row->kind, "ack") == 0;
	char *what = NULL, *now = NULL;
	int64_t id = 0;
	int rc = -1;

	ticket_init(&t);
	message_init(&m);
	item_init(&it);
	if (ticket_load(s, row->ticket_id, &t, e) < 0 ||
	    (row->quote_of > 0 && load_quoted(s, row->quote_of, &m, e) < 0))
		goto out;
	if (!ack && *queue) {
		/* A notice is about the queue it was made for. */
		free(t.queue);
		t.queue = xstrdup(queue);
	}
	it.c = (struct compose){
		.kind = ack ? "ack" : "notice",
		.ticket_id = t.id,
		.ref = it.ref,
		.automatic = true,
		.reply_to_desk = !ack,
		.in_reply_to = ack ? m.message_id : NULL,
		.refs = ack ? &m.references : NULL,
		.elide = ack ? NULL : "quoted",
		.quote_of = ack ? 0 : row->quote_of,
	};
	if (ack) {
		it.c.t = tmpl_set_find_checked(ob->set, "ack", t.queue, t.language, &it.broken);
	} else {
		const struct queue *q = ob->rules ? rules_queue(ob->rules, t.queue) : NULL;

		it.c.t = tmpl_set_find_checked(ob->set, "partner", t.queue,
					       q ? q->language : NULL, &it.broken);
	}
	if (!it.c.t) {
		rc = 0;
		goto out;
	}
	held_rcpts(row, &t, &it);
	it.followup = *followup != '\0';
	it.need = template_needs(ob, it.c.t);
	it.used = true;
	item_build(ob, &ob->rendered, &t, &m, &it);
	if (it.rc < 0) {
		/* This mail cannot be built from its data: as when it was new. */
		rc = ticket_flag_problem(s, t.id, ack ? "ack-failed" : "notice-failed", it.e.msg, e);
	} else {
		if (compose_record(ob, s, &it.c, &it.b, &id, &ce) < 0) {
			*e = ce;
			goto out;
		}
		now = xasprintf("outbox #%lld", (long long)id);
		rc = 0;
	}
	what = xasprintf("%s, outbox #%lld", it.c.kind, (long long)row->id);
	if (rc < 0 || outbox_drop_held(s, row->id, e) < 0 ||
	    store_event(s, t.id, "secdesk", "template-released", what, now, e) < 0 ||
	    (id && it.broken && fallback_note(s, &it, &(struct ingest_result){ 0 }, e) < 0)) {
		rc = -1;
		goto out;
	}
	rc = 1;
out:
	free(queue);
	free(followup);
	free(what);
	free(now);
	item_release(&it);
	message_release(&m);
	ticket_release(&t);
	return rc;
}

int
outbound_release_held(struct outbound *ob, struct store *s, int *released, int *held,
		      struct err *e)
{
	struct outbox_item *rows = NULL;
	size_t n = 0;
	int rc = 0;

	*released = *held = 0;
	if (outbox_held(s, &rows, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int r = release_one(ob, s, &rows[i], e);

		if (r < 0)
			rc = -1;
		else if (r)
			(*released)++;
		else
			(*held)++;
	}
	for (size_t i = 0; i < n; i++)
		outbox_item_release(&rows[i]);
	free(rows);
	return rc;
}

/* The reply's recipients: the requester (rcpts[0]), then the ticket's
 * watchers that are addresses to write to and not the desk (Cc). The strings of
 * rcpts[1..] are owned; free with free_rcpts(). */
static int
reply_rcpts(struct outbound *ob, struct store *s, const struct ticket *t, const char *name,
	    struct mime_addr **out, size_t *n_out, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT addr FROM watchers WHERE ticket_id = ?"
					 " ORDER BY addr", e);
	struct mime_addr *r = xcalloc(1, sizeof(*r));
	size_t n = 1;
	int rc;

	r[0].name = name;
	r[0].addr = t->requester;
	*out = r;
	*n_out = n;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, t->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *a = col_text(st, 0);

		if (!mime_addr_ok(a) || strcasecmp(a, t->requester) == 0 || config_is_desk(ob->cfg, a))
			continue;
		r = xreallocarray(r, n + 1, sizeof(*r));
		r[n].name = NULL;
		r[n++].addr = xstrdup(a);
	}
	sqlite3_reset(st);
	*out = r;
	*n_out = n;
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read watchers");
	return 0;
}

static void
free_rcpts(struct mime_addr *r, size_t n)
{
	for (size_t i = 1; i < n; i++)
		free((char *)r[i].addr);
	free(r);
}

/* What a reply to rcpts quotes and answers, into m (initialised, empty):
 * the newest message
 * one of them wrote that all of them had (quote_rule); without one, the
 * requester's newest message for In-Reply-To alone, its text and its
 * References left out. */
static int
reply_answers(struct store *s, const struct ticket *t, const struct mime_addr *rcpts,
	      size_t nrcpts, struct message *m, struct err *e)
{
	struct quote_rule shared = { .rcpts = rcpts, .nrcpts = nrcpts, .shared = true };
	struct quote_rule from_requester = { .author = t->requester };
	int have = quotable_message(s, t->id, &shared, m, NULL, e);

	if (have != 0)
		return have < 0 ? -1 : 0;
	if (quotable_message(s, t->id, &from_requester, m, NULL, e) < 0)
		return -1;
	free(m->body);
	m->body = xstrdup("");
	strlist_release(&m->references);
	return 0;
}

int
outbound_reply(struct outbound *ob, struct store *s, int64_t ticket_id, const char *tmpl_kind,
	       const char *text, const char *who, int64_t *outbox_id, struct err *e)
{
	const char *kind = tmpl_kind ? tmpl_kind : "reply";
	const struct tmpl *broken = NULL;
	struct ticket t;
	struct message m;
	struct tmpl_ctx *ctx = NULL;
	struct mime_addr *rcpts = NULL;
	size_t nrcpts = 0;
	char ref[128];
	char *name = NULL;
	int rc = -1;

	ticket_init(&t);
	message_init(&m);
	if (ticket_load_live(s, ticket_id, &t, e) < 0)
		goto out;
	if (!mime_addr_ok(t.requester)) {
		err_set(e, EXIT_DATAERR, "ticket #%lld: the requester '%s' is not an address to "
			"write to", (long long)ticket_id, t.requester);
		goto out;
	}
	name = clean_name(t.requester_name);
	if (reply_rcpts(ob, s, &t, name, &rcpts, &nrcpts, e) < 0 ||
	    reply_answers(s, &t, rcpts, nrcpts, &m, e) < 0)
		goto out;
	snprintf(ref, sizeof(ref), "[%s #%lld]", ob->cfg->desk.tag, (long long)t.id);
	{
		struct compose c = {
			.kind = "reply",
			.ticket_id = t.id,
			.ref = ref,
			.t = tmpl_set_find_checked(ob->set, kind, t.queue, t.language, &broken),
			.to = rcpts,
			.nto = 1,
			.cc = rcpts + 1,
			.ncc = nrcpts - 1,
			.automatic = false,
			.in_reply_to = m.message_id,
			.refs = &m.references,
			.index = true,
		};

		/* Staff are there to fix it: no reply in another template. */
		if (broken) {
			err_set(e, EXIT_CONFIG, "template '%s' cannot be used: %s", kind,
				tmpl_problem(broken));
			goto out;
		}
		if (!c.t) {
			err_set(e, EXIT_USAGE, "no template '%s' (expected %s/%s.en.txt)", kind,
				ob->cfg->templates.dir, kind);
			goto out;
		}
		ctx = ticket_ctx(ob, &t, &m, template_needs(ob, c.t));
		tmpl_ctx_set(ctx, "text", text);
		tmpl_ctx_set(ctx, "staff", who);
		c.ctx = ctx;
		if (compose_queue(ob, s, &c, outbox_id, e) < 0)
			goto out;
	}
	if (store_event(s, t.id, who, "reply", NULL, t.requester, e) < 0 ||
	    ticket_set_field(s, t.id, "status", "pending", who, e) < 0 || ticket_touch(s, t.id, e) < 0)
		goto out;
	rc = 0;
out:
	free_rcpts(rcpts, nrcpts);
	free(name);
	tmpl_ctx_free(&ctx);
	message_release(&m);
	ticket_release(&t);
	return rc;
}

/* ---- delivery ---- */

/* Each mail's mark is committed without waiting for the disk
 * (synchronous=NORMAL: a kill loses nothing committed, a power cut at
 * most the last marks, whose mails then go again) and the WAL synced by a
 * thread of its own; NULL, and each commit syncs, when that thread cannot
 * start. */
static struct syncer *
send_syncer_begin(struct store *s)
{
	struct err ignored = ERR_INIT;

	return store_sync_begin(s, &ignored);
}

/* Splits "a,b" in place into rcpts. */
static size_t
split_rcpts(char *list, const char **rcpts, size_t max)
{
	size_t n = 0;

	for (char *p = list; *p && n < max;) {
		char *end;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		end = p + strcspn(p, ",");
		rcpts[n++] = p;
		if (*end)
			*end++ = '\0';
		p = end;
	}
	return n;
}

/* The outcome of one mail, recorded with its group. A partial delivery
 * (some recipients refused or deferred) has delivered and deferred set;
 * rej holds the recipients refused for good, for either kind. */
struct mark {
	int64_t id;
	enum send_status st;
	char *reply;
	bool partial;
	char *delivered;
	char *deferred;
	struct outbox_refusal *rej;
	size_t nrej;
	int ndeferred;
};

static void
mark_release(struct mark *m)
{
	free(m->reply);
	free(m->delivered);
	free(m->deferred);
	for (size_t i = 0; i < m->nrej; i++) {
		free((char *)m->rej[i].addr);
		free((char *)m->rej[i].reply);
	}
	free(m->rej);
	memset(m, 0, sizeof(*m));
}

/* Fills m from the per-recipient outcome of a delivery. */
static void
mark_recipients(struct mark *m, const struct send_mail *sm)
{
	struct buf del = BUF_INIT, def = BUF_INIT;

	for (size_t i = 0; i < sm->nrcpts; i++) {
		switch (sm->rcpt_status[i]) {
		case SEND_OK:
			buf_addf(&del, "%s%s", del.len ? "," : "", sm->rcpts[i]);
			break;
		case SEND_DEFER:
			buf_addf(&def, "%s%s", def.len ? "," : "", sm->rcpts[i]);
			if (!m->reply)
				m->reply = xasprintf("RCPT TO:<%s>: %s", sm->rcpts[i],
						     sm->rcpt_reply[i] ? sm->rcpt_reply[i] : "");
			m->ndeferred++;
			break;
		default:
			m->rej = xreallocarray(m->rej, m->nrej + 1, sizeof(*m->rej));
			m->rej[m->nrej].addr = xstrdup(sm->rcpts[i]);
			m->rej[m->nrej].reply = xstrdup(sm->rcpt_reply[i] ? sm->rcpt_reply[i] : "");
			m->nrej++;
			break;
		}
	}
	if (m->st == SEND_OK && (m->nrej || m->ndeferred)) {
		m->partial = true;
		m->delivered = buf_detach(&del, NULL);
		m->deferred = buf_detach(&def, NULL);
	}
	buf_release(&del);
	buf_release(&def);
}

/* Records the outcomes of a group in one transaction, once the transport
 * made the mails durable. */
static int
flush_marks(const struct config *cfg, struct store *s, struct transport *tr, struct mark *marks,
	    size_t *n, struct send_stats *stats, struct err *e)
{
	int rc = 0;

	if (*n == 0)
		return 0;
	if (send_sync(tr, e) < 0 || store_begin(s, e) < 0) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < *n && rc == 0; i++) {
		struct mark *m = &marks[i];

		if (m->partial)
			rc = outbox_mark_partial(s, m->id, m->delivered, m->rej, m->nrej,
						 m->deferred, m->reply, cfg->send.max_attempts,
						 cfg->send.retry_base, e);
		else if (m->st == SEND_OK)
			rc = outbox_mark_sent(s, m->id, e);
		else {
			/* A deferred mail is tried again whole: its refusals are
			 * recorded when it ends. */
			if (m->st == SEND_REJECT)
				rc = outbox_add_rejected(s, m->id, m->rej, m->nrej, e);
			if (rc == 0)
				rc = outbox_mark_failed(s, m->id, m->reply, m->st == SEND_REJECT,
							cfg->send.max_attempts,
							cfg->send.retry_base, e);
		}
	}
	if (rc < 0 || store_commit(s, e) < 0) {
		store_rollback(s);
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < *n; i++) {
		if (marks[i].st == SEND_OK)
			stats->sent++;
		else if (marks[i].st == SEND_REJECT)
			stats->failed++;
		else
			stats->deferred++;
		if (marks[i].partial) {
			stats->rcpts_rejected += (int)marks[i].nrej;
			stats->rcpts_deferred += marks[i].ndeferred;
		}
	}
out:
	for (size_t i = 0; i < *n; i++)
		mark_release(&marks[i]);
	*n = 0;
	return rc;
}

/* Notices and replies go out with the desk's bounce address (verp.h) so
 * that a dead partner address bounces back onto the ticket; the others
 * keep the envelope sender they were queued with. */
static int
use_bounce_address(const struct config *cfg, struct store *s, struct outbox_item *it,
		   struct err *e)
{
	struct err ve = ERR_INIT;
	char *verp;

	if (!verp_kind(it->kind))
		return 0;
	verp = verp_sender(s, cfg->desk.address, it->id, &ve);
	if (!verp) {
		if (ve.code)
			*e = ve;
		return ve.code ? -1 : 0;
	}
	free(it->env_from);
	it->env_from = verp;
	return 0;
}

int
outbound_send(const struct config *cfg, struct store *s, bool all, struct send_stats *st,
	      struct err *e)
{
	struct transport *tr = NULL;
	struct mark marks[SEND_GROUP_MAX];
	size_t nmarks = 0, n = 0;
	int64_t *ids = NULL, last = 0;
	double group_start = 0;
	int rc = 0;
	const char **rcpts = NULL;
	enum send_status *rstat = NULL;
	char **rreply = NULL;
	bool grouped = false;
	struct syncer *sy = NULL;
	int unsynced = 0;

	memset(st, 0, sizeof(*st));
	for (;;) {
		free(ids);
		ids = NULL;
		if (outbox_due(s, all, store_now(), last, 500, &ids, &n, e) < 0)
			goto fail;
		if (n == 0)
			break;
		if (!tr) {
			if (send_open(cfg, &tr, e) < 0)
				goto fail;
			grouped = send_resend_replaces(tr);
			if (!grouped)
				sy = send_syncer_begin(s);
		}
		for (size_t i = 0; i < n; i++) {
			struct outbox_item it;
			struct send_mail sm;
			struct err de = ERR_INIT;
			int built;
			enum send_status ss;
			struct mark *mk;
			size_t maxr;
			int lr;

			last = ids[i];
			lr = outbox_load(s, ids[i], &it, e);
			if (lr < 0)
				goto fail;
			if (lr > 0)
				continue;
			if (use_bounce_address(cfg, s, &it, e) < 0) {
				outbox_item_release(&it);
				goto fail;
			}
			maxr = strlen(it.rcpts) / 2 + 1;
			rcpts = xreallocarray(rcpts, maxr, sizeof(*rcpts));
			rstat = xreallocarray(rstat, maxr, sizeof(*rstat));
			rreply = xreallocarray(rreply, maxr, sizeof(*rreply));
			memset(&sm, 0, sizeof(sm));
			sm.id = it.id;
			sm.env_from = it.env_from;
			sm.rcpts = rcpts;
			sm.nrcpts = split_rcpts(it.rcpts, rcpts, maxr);
			built = it.quote_of > 0		       ? build_quoting(s, &it, &de)
				: strcmp(it.kind, "digest") == 0 ? build_digest(s, &it, &de)
								 : 0;
			if (built < 0 && de.code != EXIT_DATAERR) {
				*e = de;
				outbox_item_release(&it);
				goto fail;
			}
			sm.data = it.data;
			sm.len = it.len;
			for (size_t r = 0; r < sm.nrcpts; r++) {
				rstat[r] = SEND_OK;
				rreply[r] = NULL;
			}
			sm.rcpt_status = rstat;
			sm.rcpt_reply = rreply;
			if (built < 0) {
				ss = SEND_REJECT;
			} else if (sm.nrcpts == 0) {
				ss = SEND_REJECT;
				err_set(&de, EXIT_DATAERR, "no recipient");
			} else {
				ss = send_deliver(tr, &sm, &de);
			}
			if (ss == SEND_CONN) {
				for (size_t r = 0; r < sm.nrcpts; r++)
					free(rreply[r]);
				outbox_item_release(&it);
				/* Everything stays queued; what went out is recorded. */
				err_set(e, EXIT_TEMPFAIL, "%s", de.msg);
				if (flush_marks(cfg, s, tr, marks, &nmarks, st, e) < 0)
					goto fail;
				goto fail;
			}
			if (nmarks == 0)
				group_start = clock_mono();
			mk = &marks[nmarks++];
			memset(mk, 0, sizeof(*mk));
			mk->id = ids[i];
			mk->st = ss;
			mark_recipients(mk, &sm);
			if (ss != SEND_OK) {
				/* The mail's own reason, not a recipient's. */
				free(mk->reply);
				mk->reply = xstrdup(de.msg);
			}
			for (size_t r = 0; r < sm.nrcpts; r++)
				free(rreply[r]);
			outbox_item_release(&it);
			/* Failures and partial deliveries are recorded at once. */
			if (!grouped || nmarks == SEND_GROUP_MAX || ss != SEND_OK || mk->partial ||
			    (clock_mono() - group_start) * 1000 >= SEND_GROUP_MS) {
				if (flush_marks(cfg, s, tr, marks, &nmarks, st, e) < 0)
					goto fail;
				if (sy && ++unsynced >= SEND_GROUP_MAX) {
					(void)syncer_request(sy);
					unsynced = 0;
				}
			}
		}
	}
	if (flush_marks(cfg, s, tr, marks, &nmarks, st, e) < 0)
		goto fail;
	goto out;
fail:
	rc = -1;
	for (size_t i = 0; i < nmarks; i++)
		mark_release(&marks[i]);
out:
	free(rcpts);
	free(rstat);
	free(rreply);
	free(ids);
	send_close(&tr);
	if (store_sync_end(s, &sy, rc == 0, e) < 0)
		rc = -1;
	/* The rate-limit log only needs its last day. */
	if (rc == 0) {
		struct err pe = ERR_INIT;
		sqlite3_stmt *ps;

		if (store_begin(s, &pe) == 0) {
			ps = store_prepare(s, "DELETE FROM autoreply_log WHERE at < ?", &pe);
			if (ps) {
				sqlite3_bind_int64(ps, 1, store_now() - 2 * 86400 -
						   (int64_t)cfg->ack.per_sender_window);
				sqlite3_step(ps);
				sqlite3_reset(ps);
				ps = store_prepare(s, "DELETE FROM autoreply_count WHERE minute < ?",
						   &pe);
			}
			if (ps) {
				sqlite3_bind_int64(ps, 1, (store_now() - 2 * 3600) / 60);
				sqlite3_step(ps);
				sqlite3_reset(ps);
			}
			if (!ps || store_commit(s, &pe) < 0)
				store_rollback(s);
		}
	}
	return rc;
}
