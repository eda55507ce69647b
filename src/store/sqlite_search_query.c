/* The SQLite backend's search: an FTS5 query over the index of
 * search_index.h, ranked by bm25 in windows of the newest matches, with
 * snippets made from the stored text. */
#include "compat.h"

#include "backend.h"
#include "buf.h"
#include "fold.h"
#include "search.h"
#include "search_index.h"
#include "search_ops.h"
#include "sqlite_tokenizer.h"
#include "store_sqlite.h"
#include "strlist.h"
#include "xalloc.h"

#define PREFIX_TERMS_MAX 16

/* The indexed words that begin with prefix (ASCII, lowercased as the
 * tokenizer does), as an FTS5 "(w1 OR w2 ...)" into q; false when there are
 * none or too many, or the prefix is not plain ASCII: then the prefix query
 * stays. bm25 over a prefix query counts the documents of the whole prefix
 * (FTS5 merges its doclists) at each query; over words it does not merge. */
static bool
search_expand_prefix(struct store *s, const char *p, size_t n, struct buf *q)
{
	char lo[64], hi[64];
	sqlite3_stmt *st;
	struct buf alt = BUF_INIT;
	struct err ignored = ERR_INIT; /* no vocabulary: the prefix query stays */
	int rc, found = 0;

	if (n < 3 || n >= sizeof(lo))
		return false;
	for (size_t k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)p[k];

		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9'))
			return false;
		lo[k] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	/* The index holds folded words (fold.h). */
	n = fold_word(lo, n, lo);
	lo[n] = '\0';
	memcpy(hi, lo, n + 1);
	hi[n - 1]++; /* the first string after every word with the prefix */
	if (store_exec(s, "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab"
		       " USING fts5vocab(" SEARCH_SCHEMA ", messages_fts, 'row')", &ignored) < 0 ||
	    !(st = store_prepare(s, "SELECT term FROM temp.search_vocab"
				 " WHERE term >= ?1 AND term < ?2 LIMIT ?3", &ignored)))
		return false;
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, PREFIX_TERMS_MAX + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *term = (const char *)sqlite3_column_text(st, 0);

		buf_addstr(&alt, found++ ? " OR \"" : "(\"");
		for (; term && *term; term++) {
			if (*term == '"')
				buf_addch(&alt, '"');
			buf_addch(&alt, *term);
		}
		buf_addch(&alt, '"');
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE && found > 0 && found <= PREFIX_TERMS_MAX) {
		buf_addch(&alt, ')');
		buf_addstr(q, buf_cstr(&alt));
	} else {
		found = 0;
	}
	buf_release(&alt);
	return found > 0;
}

/* The FTS5 columns a text field is looked for in; NULL: all. From and To
 * are both in "names" (names and addresses of the message's people). */
static const char *
fts_column(enum search_text_in in)
{
	switch (in) {
	case SEARCH_IN_SUBJECT: return "subject";
	case SEARCH_IN_BODY: return "body";
	case SEARCH_IN_FROM:
	case SEARCH_IN_TO: return "names";
	default: return NULL;
	}
}

/* Can n be one FTS5 expression? FTS5's NOT is binary (a NOT b), so a NOT
 * must stand beside a positive part of an AND. */
static bool
fts_able(const struct search_node *n)
{
	const struct search_node *l = n->left, *r = n->right;

	switch (n->kind) {
	case SEARCH_TEXT:
		return true;
	case SEARCH_OR:
		return fts_able(l) && fts_able(r);
	case SEARCH_AND:
		if (l->kind == SEARCH_NOT && r->kind == SEARCH_NOT)
			return false;
		if (l->kind == SEARCH_NOT)
			return fts_able(l->left) && fts_able(r);
		if (r->kind == SEARCH_NOT)
			return fts_able(l) && fts_able(r->left);
		return fts_able(l) && fts_able(r);
	default:
		return false;
	}
}

/* text as one FTS5 string: mail text and staff input are data, so '"',
 * '-', ':' or 'NEAR' never become syntax. */
static void
fts_string(const char *text, struct buf *q)
{
	buf_addch(q, '"');
	for (; *text; text++) {
		if (*text == '"')
			buf_addch(q, '"');
		buf_addch(q, *text);
	}
	buf_addch(q, '"');
}

static void
fts_text(struct store *s, const struct search_node *n, struct buf *q)
{
	const char *column = fts_column(n->in);

	if (column)
		buf_addf(q, "%s : (", column);
	if (!n->prefix || !search_expand_prefix(s, n->value, strlen(n->value), q)) {
		fts_string(n->value, q);
		if (n->prefix)
			buf_addstr(q, " *");
	}
	if (column)
		buf_addch(q, ')');
}

/* n (fts_able) as an FTS5 expression, fully parenthesised. */
static void
fts_expr(struct store *s, const struct search_node *n, struct buf *q)
{
	const struct search_node *pos = n->left, *neg = n->right;

	if (n->kind == SEARCH_TEXT) {
		fts_text(s, n, q);
		return;
	}
	if (n->kind == SEARCH_AND && (pos->kind == SEARCH_NOT || neg->kind == SEARCH_NOT)) {
		if (pos->kind == SEARCH_NOT) {
			pos = n->right;
			neg = n->left;
		}
		buf_addch(q, '(');
		fts_expr(s, pos, q);
		buf_addstr(q, ") NOT (");
		fts_expr(s, neg->left, q);
		buf_addch(q, ')');
		return;
	}
	buf_addch(q, '(');
	fts_expr(s, n->left, q);
	buf_addstr(q, n->kind == SEARCH_AND ? ") AND (" : ") OR (");
	fts_expr(s, n->right, q);
	buf_addch(q, ')');
}

/* bm25 costs time for every matching row, on top of a count of each
 * word's documents, so a word found in nearly every message is slow to
 * rank. Such a word's IDF is close to zero, so its bm25 is mostly
 * noise; what staff want from it is the recent tickets. So the ranking runs
 * on the SEARCH_WINDOW newest matching messages first, then on older
 * windows (each twice the one before) only while fewer than --limit tickets
 * were found. A query with fewer matches than the first window is ranked
 * whole, as before. */
#define SEARCH_WINDOW 2000

/* A query of fields and dates alone marks no words. */
static int
no_snippets(struct search_hits *h)
{
	for (size_t i = 0; i < h->n; i++)
		if (!h->v[i].snippet)
			h->v[i].snippet = xstrdup("");
	return 0;
}

/* The rowid of the window-th newest match below upper, or 0 when there
 * are fewer (then the window reaches the oldest match). */
static int
search_window_floor(struct store *s, const char *q, int64_t upper, int window,
		    int64_t *floor_r, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	st = store_prepare(s, "SELECT rowid FROM " SEARCH_SCHEMA ".messages_fts"
			   " WHERE messages_fts MATCH ?1"
			   " AND rowid < ?2 ORDER BY rowid DESC LIMIT 1 OFFSET ?3", e);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, upper);
	sqlite3_bind_int(st, 3, window - 1);
	rc = sqlite3_step(st);
	*floor_r = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot search");
	return 0;
}

/* The ticket a message counts for: a merged ticket's messages count for
 * the ticket it was merged into. */
static int
search_ticket_of(struct store *s, int64_t msg, int64_t *id_r, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	st = store_prepare(s, "SELECT COALESCE(t.merged_into, t.id) FROM messages m"
			   " JOIN tickets t ON t.id = m.ticket_id WHERE m.id = ?1", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, msg);
	rc = sqlite3_step(st);
	*id_r = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot search");
	return 0;
}

/* The snippets of the hits' messages: the index keeps no text, so FTS5
 * makes them from the stored text, in a temporary table of those messages
 * with the same tokenizer (the same words are marked as in the index): one
 * insert and one query for all hits. */
static int
search_snippets(struct store *s, const char *q, struct search_hits *h, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_exec(s, "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_snip USING fts5("
		       "subject, body, names, tokenize='" SQLITE_TOKENIZER_NAME "')", e) < 0 ||
	    store_exec(s, "DELETE FROM temp.search_snip", e) < 0 ||
	    !(st = store_prepare(s, "INSERT INTO temp.search_snip (rowid, subject, body,"
				 " names) SELECT id, subject, body, names FROM main.messages"
				 " WHERE id = ?1", e)))
		return -1;
	for (size_t i = 0; i < h->n; i++) {
		sqlite3_bind_int64(st, 1, h->v[i].message_id);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_error(s, e, "cannot search");
	}
	st = store_prepare(s, "SELECT rowid, snippet(search_snip, -1, '[', ']', '...', 12)"
			   " FROM temp.search_snip WHERE search_snip MATCH ?1", e);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *snip = (const char *)sqlite3_column_text(st, 1);
		int64_t msg = sqlite3_column_int64(st, 0);

		for (size_t i = 0; i < h->n; i++)
			if (h->v[i].message_id == msg && !h->v[i].snippet)
				h->v[i].snippet = xstrdup(snip ? snip : "");
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot search");
	for (size_t i = 0; i < h->n; i++)
		if (!h->v[i].snippet)
			h->v[i].snippet = xstrdup("");
	return 0;
}

/* Adds the tickets of the matches in [lower, upper) in rank order, each
 * once, until there are limit; the first hit of a ticket is its best. The
 * query reads messages_fts alone so that FTS5 sorts by rank itself and
 * makes the snippet only for the rows stepped through, not for every
 * match (a join sorts whole result rows, snippets included). */
static int
search_rank_window(struct store *s, const char *q, int64_t lower, int64_t upper,
		   size_t limit, struct search_hits *h, struct err *e)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;

	st = store_prepare(s, "SELECT rowid, rank FROM " SEARCH_SCHEMA ".messages_fts"
			   " WHERE messages_fts MATCH ?1"
			   " AND rowid >= ?2 AND rowid < ?3 ORDER BY rank", e);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lower);
	sqlite3_bind_int64(st, 3, upper);
	while (h->n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id;

		if (search_ticket_of(s, sqlite3_column_int64(st, 0), &id, e) < 0) {
			sqlite3_reset(st);
			return -1;
		}
		if (!id || search_hits_have(h, id))
			continue;
		search_hits_add(h, id, sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1));
	}
	if (h->n >= limit)
		rc = SQLITE_DONE;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot search");
	return 0;
}

static int
search_ranked(struct store *s, const char *q, size_t limit, struct search_hits *h,
	      struct err *e)
{
	int64_t upper = INT64_MAX, lower;
	int window = SEARCH_WINDOW;

	for (;;) {
		if (search_window_floor(s, q, upper, window, &lower, e) < 0 ||
		    search_rank_window(s, q, lower, upper, limit, h, e) < 0)
			return -1;
		if (h->n >= limit || lower == 0)
			break;
		upper = lower;
		/* Each window costs a fixed bm25 setup: a large --limit
		 * takes few, growing windows rather than many small ones. */
		if (window < 1 << 20)
			window *= 2;
	}
	return search_snippets(s, q, h, e);
}

/* A query with ticket fields, dates or a NOT on its own: one SQL query
 * over the messages the index holds (the desk's own automatic mail is not
 * searched), each text part of it an FTS5 match. Ranked by the positive
 * text part when it has one, else newest first. */
struct sql_query {
	struct buf sql;
	struct strlist text; /* the values bound, in order */
	int64_t ints[64];    /* bound after them, in order */
	size_t nints;
	struct buf ranked;   /* the FTS5 expression that ranks; empty: none */
};

#define BIND_TEXT 't'
#define BIND_INT 'i'

static const char *const ticket_columns[] = {
	[SEARCH_QUEUE] = "t.queue", [SEARCH_STATUS] = "t.status",
	[SEARCH_CATEGORY] = "t.category", [SEARCH_ASSIGNEE] = "t.assignee",
};

static int sql_cond(struct store *s, const struct search_node *n, struct sql_query *sq,
		    struct buf *order, struct err *e);

static int
sql_bind_int(struct sql_query *sq, int64_t v, struct buf *order, struct err *e)
{
	if (sq->nints == ARRAY_SIZE(sq->ints))
		return err_set(e, EXIT_USAGE, "search: too many dates and ids in one query");
	sq->ints[sq->nints++] = v;
	buf_addch(order, BIND_INT);
	buf_addch(&sq->sql, '?');
	return 0;
}

static void
sql_bind_text(struct sql_query *sq, const char *v, struct buf *order)
{
	strlist_add(&sq->text, v);
	buf_addch(order, BIND_TEXT);
	buf_addch(&sq->sql, '?');
}

static int
sql_field(const struct search_node *n, struct sql_query *sq, struct buf *order, struct err *e)
{
	switch (n->attr) {
	case SEARCH_TAG:
		buf_addstr(&sq->sql, "EXISTS (SELECT 1 FROM main.ticket_tags g WHERE"
				     " g.ticket_id = t.id AND g.tag = ");
		sql_bind_text(sq, n->value, order);
		buf_addstr(&sq->sql, " COLLATE NOCASE)");
		return 0;
	case SEARCH_ID:
		buf_addstr(&sq->sql, "t.id = ");
		return sql_bind_int(sq, strtoll(n->value, NULL, 10), order, e);
	default:
		buf_addf(&sq->sql, "%s = ", ticket_columns[n->attr]);
		sql_bind_text(sq, n->value, order);
		buf_addstr(&sq->sql, " COLLATE NOCASE");
		return 0;
	}
}

static int
sql_date(const struct search_node *n, struct sql_query *sq, struct buf *order, struct err *e)
{
	buf_addstr(&sq->sql, "(m.created >= ");
	if (sql_bind_int(sq, n->from, order, e) < 0)
		return -1;
	/* until 0: the range is open at its end. */
	if (n->until) {
		buf_addstr(&sq->sql, " AND m.created < ");
		if (sql_bind_int(sq, n->until, order, e) < 0)
			return -1;
	}
	buf_addch(&sq->sql, ')');
	return 0;
}

static int
sql_cond(struct store *s, const struct search_node *n, struct sql_query *sq, struct buf *order,
	 struct err *e)
{
	struct buf fts = BUF_INIT;

	if (fts_able(n)) {
		fts_expr(s, n, &fts);
		buf_addstr(&sq->sql, "m.id IN (SELECT rowid FROM " SEARCH_SCHEMA ".messages_fts"
				     " WHERE messages_fts MATCH ");
		sql_bind_text(sq, buf_cstr(&fts), order);
		buf_addch(&sq->sql, ')');
		buf_release(&fts);
		return 0;
	}
	switch (n->kind) {
	case SEARCH_FIELD:
		return sql_field(n, sq, order, e);
	case SEARCH_DATE:
		return sql_date(n, sq, order, e);
	case SEARCH_NOT:
		buf_addstr(&sq->sql, "NOT (");
		if (sql_cond(s, n->left, sq, order, e) < 0)
			return -1;
		buf_addch(&sq->sql, ')');
		return 0;
	default:
		buf_addch(&sq->sql, '(');
		if (sql_cond(s, n->left, sq, order, e) < 0)
			return -1;
		buf_addstr(&sq->sql, n->kind == SEARCH_AND ? ") AND (" : ") OR (");
		if (sql_cond(s, n->right, sq, order, e) < 0)
			return -1;
		buf_addch(&sq->sql, ')');
		return 0;
	}
}

/* The conjuncts of the top AND that are positive text rank the query. */
static void
collect_ranking(struct store *s, const struct search_node *n, struct buf *ranked)
{
	if (n->kind == SEARCH_AND) {
		collect_ranking(s, n->left, ranked);
		collect_ranking(s, n->right, ranked);
	} else if (n->kind != SEARCH_NOT && fts_able(n)) {
		if (ranked->len)
			buf_addstr(ranked, " AND ");
		buf_addch(ranked, '(');
		fts_expr(s, n, ranked);
		buf_addch(ranked, ')');
	}
}

static int
sql_prepare(struct store *s, const struct search_node *q, struct sql_query *sq,
	    sqlite3_stmt **out, struct err *e)
{
	struct buf order = BUF_INIT;
	size_t text_i = 0, int_i = 0;
	int rc = -1, col = 1;

	collect_ranking(s, q, &sq->ranked);
	buf_addstr(&sq->sql, "SELECT m.id, t.id, ");
	if (sq->ranked.len) {
		buf_addstr(&sq->sql, "f.rank FROM " SEARCH_SCHEMA ".messages_fts f"
				     " JOIN main.messages m ON m.id = f.rowid");
	} else {
		buf_addstr(&sq->sql, "0.0 FROM main.messages m");
	}
	buf_addstr(&sq->sql, " JOIN main.tickets t0 ON t0.id = m.ticket_id"
			     " JOIN main.tickets t ON t.id = COALESCE(t0.merged_into, t0.id)"
			     " WHERE m.kind NOT IN ('ack', 'notice', 'remind') AND ");
	if (sq->ranked.len) {
		buf_addstr(&sq->sql, "f.messages_fts MATCH ");
		sql_bind_text(sq, buf_cstr(&sq->ranked), &order);
		buf_addstr(&sq->sql, " AND ");
	}
	buf_addch(&sq->sql, '(');
	if (sql_cond(s, q, sq, &order, e) < 0)
		goto out;
	buf_addstr(&sq->sql, sq->ranked.len ? ") ORDER BY f.rank" : ") ORDER BY m.id DESC");
	if (sqlite3_prepare_v2(store_db(s), buf_cstr(&sq->sql), -1, out, NULL) != SQLITE_OK) {
		store_error(s, e, "cannot search");
		goto out;
	}
	for (const char *o = buf_cstr(&order); *o; o++, col++) {
		if (*o == BIND_TEXT)
			sqlite3_bind_text(*out, col, sq->text.items[text_i++], -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(*out, col, sq->ints[int_i++]);
	}
	rc = 0;
out:
	buf_release(&order);
	return rc;
}

static int
search_by_sql(struct store *s, const struct search_node *q, size_t limit,
	      struct search_hits *h, struct err *e)
{
	struct sql_query sq = { .sql = BUF_INIT, .text = STRLIST_INIT, .ranked = BUF_INIT };
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_DONE, status = -1;

	if (sql_prepare(s, q, &sq, &st, e) < 0)
		goto out;
	while (h->n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 1);

		if (search_hits_have(h, id))
			continue;
		search_hits_add(h, id, sqlite3_column_int64(st, 0), sqlite3_column_double(st, 2));
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_error(s, e, "cannot search");
		goto out;
	}
	status = sq.ranked.len ? search_snippets(s, buf_cstr(&sq.ranked), h, e)
			       : no_snippets(h);
out:
	sqlite3_finalize(st);
	buf_release(&sq.sql);
	buf_release(&sq.ranked);
	strlist_release(&sq.text);
	return status;
}

int
sqlite_search_query(struct store *s, const struct search_node *q, size_t limit,
		    struct search_hits *out, struct err *e)
{
	struct buf fts = BUF_INIT;
	int rc;

	if (!fts_able(q))
		return search_by_sql(s, q, limit, out, e);
	fts_expr(s, q, &fts);
	rc = search_ranked(s, buf_cstr(&fts), limit, out, e);
	buf_release(&fts);
	return rc;
}
