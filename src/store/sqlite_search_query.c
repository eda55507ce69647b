/* The SQLite backend's search: an FTS5 query over the index of
 * search_index.h, ranked by bm25 in windows of the newest matches, with
 * snippets made from the stored text. */
#include "compat.h"

#include "backend.h"
#include "buf.h"
#include "search.h"
#include "search_index.h"
#include "search_ops.h"
#include "store_sqlite.h"
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

/* The words of the query, each quoted as an FTS5 string: mail text and
 * staff input are data, so '"', '-', ':' or 'NEAR' never become syntax or a
 * parse error. Words are ANDed; a word ending in '*' is a prefix: the words
 * it stands for when they are few, else a prefix query. */
static void
search_fts_query(struct store *s, char *const *argv, size_t argc, struct buf *q)
{
	for (size_t i = 0; i < argc; i++) {
		const char *p = argv[i];

		while (*p) {
			size_t n;
			bool prefix;

			while (*p == ' ' || *p == '\t' || *p == '\n')
				p++;
			if (!*p)
				break;
			n = strcspn(p, " \t\n");
			prefix = n > 1 && p[n - 1] == '*';
			if (q->len)
				buf_addch(q, ' ');
			if (prefix && search_expand_prefix(s, p, n - 1, q)) {
				p += n;
				continue;
			}
			buf_addch(q, '"');
			for (size_t k = 0; k < n - (prefix ? 1 : 0); k++) {
				if (p[k] == '"')
					buf_addch(q, '"');
				buf_addch(q, p[k]);
			}
			buf_addch(q, '"');
			if (prefix)
				buf_addch(q, '*');
			p += n;
		}
	}
}

/* bm25 costs a few microseconds a row, on top of a count of each word's
 * documents: ranking a word found in nearly every one of 200,000 messages
 * took 300 ms. Such a word's IDF is close to zero, so its bm25 is mostly
 * noise; what staff want from it is the recent tickets. So the ranking runs
 * on the SEARCH_WINDOW newest matching messages first, then on older
 * windows (each twice the one before) only while fewer than --limit tickets
 * were found. A query with fewer matches than the first window is ranked
 * whole, as before. */
#define SEARCH_WINDOW 2000

static bool
hits_have(const struct search_hits *h, int64_t id)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].ticket_id == id)
			return true;
	return false;
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

	if (store_exec(s, "DELETE FROM temp.search_snip", e) < 0 ||
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
		if (!id || hits_have(h, id))
			continue;
		if (h->n == h->cap) {
			h->cap = h->cap ? h->cap * 2 : 16;
			h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
		}
		h->v[h->n].ticket_id = id;
		h->v[h->n].message_id = sqlite3_column_int64(st, 0);
		h->v[h->n].rank = sqlite3_column_double(st, 1);
		h->v[h->n].snippet = NULL;
		h->n++;
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

	if (store_exec(s, "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_snip USING fts5("
		       "subject, body, names, tokenize='unicode61 remove_diacritics 2')", e) < 0)
		return -1;

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

static int
sqlite_search_query(struct store *s, char *const *words, size_t nwords, size_t limit,
		    struct search_hits *out, struct err *e)
{
	struct buf q = BUF_INIT;
	int rc;

	search_fts_query(s, words, nwords, &q);
	if (!q.len) {
		buf_release(&q);
		return err_set(e, EXIT_USAGE, "search: no words to search for");
	}
	rc = search_ranked(s, buf_cstr(&q), limit, out, e);
	buf_release(&q);
	return rc;
}

const struct store_search_ops sqlite_search_ops = {
	.query = sqlite_search_query,
};
