/* The search area on PostgreSQL (search_ops.h): each message's words in
 * messages.search_words, a 'simple' tsvector made here from the words
 * SQLite's index holds (sqlite_tokenize: the same tokenizer, the same
 * folding), so that a query finds the same messages on both backends.
 * Subject, body and names (people and addresses) carry the weights A, B
 * and C, which the fields subject:, body:, from: and to: ask for; a word's
 * positions run on through the three with a gap between them, so that no
 * phrase spans two. A message not yet indexed has NULL there. */
#include "compat.h"

#include "backend.h"
#include "buf.h"
#include "pg_core.h"
#include "pg_run.h"
#include "pg_search.h"
#include "search.h"
#include "search_ops.h"
#include "sqlite_tokenizer.h"
#include "strlist.h"
#include "xalloc.h"

/* The desk's own automatic mail is not indexed (search_index.h). */
/* The predicate of pg_schema.c's index messages_unindexed and of
 * pg_search_indexes too: keep them one. */
#define INDEXED_KINDS "kind NOT IN ('ack', 'notice', 'remind')"
/* Messages indexed per transaction (also in index_batch's SQL). */
#define INDEX_BATCH 200

/* tsvector's limits: positions up to 16383, 256 per word, words up to
 * 2047 bytes, and the whole under 1 MB. A message past them keeps its
 * first words and positions (FTS5 has no such limits). */
#define POS_MAX 16383
#define POSITIONS_PER_WORD 255
#define WORD_BYTES_MAX 2047
#define VECTOR_BYTES_MAX 900000

/* ---- words ---- */

struct word {
	char *text;
	int start, end; /* byte offsets of its spelling */
};

struct words {
	struct word *v;
	size_t n, cap;
};

static int
word_add(void *arg, const char *w, int len, int start, int end)
{
	struct words *ws = arg;

	if (ws->n == ws->cap) {
		ws->cap = ws->cap ? ws->cap * 2 : 32;
		ws->v = xreallocarray(ws->v, ws->cap, sizeof(*ws->v));
	}
	ws->v[ws->n++] = (struct word){ xstrndup(w, (size_t)len), start, end };
	return 0;
}

static void
words_release(struct words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->v[i].text);
	free(ws->v);
	*ws = (struct words){ 0 };
}

static int
words_of(const char *text, struct words *ws, struct err *e)
{
	*ws = (struct words){ 0 };
	if (sqlite_tokenize(text, strlen(text), word_add, ws) < 0) {
		words_release(ws);
		return err_set(e, EXIT_SOFTWARE, "search: the tokenizer cannot run");
	}
	return 0;
}

/* ---- the index: a message's tsvector ---- */

struct entry {
	const char *word;
	int pos;
	char weight;
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->word, y->word);

	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static void
add_lexeme(struct buf *out, const char *w)
{
	buf_addch(out, '\'');
	for (; *w; w++) {
		if (*w == '\'' || *w == '\\')
			buf_addch(out, *w);
		buf_addch(out, *w);
	}
	buf_addch(out, '\'');
}

/* The entries sorted into tsvector's text form: 'word':1A,5B ... */
static void
vector_text(struct entry *v, size_t n, struct buf *out)
{
	size_t bytes = 0;

	qsort(v, n, sizeof(*v), entry_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		int last = 0, npos = 0;

		bytes += strlen(v[i].word) + 8;
		if (bytes > VECTOR_BYTES_MAX)
			break;
		if (out->len)
			buf_addch(out, ' ');
		add_lexeme(out, v[i].word);
		for (; j < n && strcmp(v[j].word, v[i].word) == 0; j++) {
			if (v[j].pos == last || npos >= POSITIONS_PER_WORD)
				continue;
			buf_addf(out, "%c%d%c", npos ? ',' : ':', v[j].pos, v[j].weight);
			last = v[j].pos;
			npos++;
			bytes += 2;
		}
		i = j;
	}
}

/* The tsvector of a message, as text, into out. */
static int
message_vector(const char *const cols[3], struct buf *out, struct err *e)
{
	static const char weights[3] = { 'A', 'B', 'C' };
	struct words ws[3];
	struct entry *v;
	size_t n = 0, total = 0;
	int pos = 0;

	for (int c = 0; c < 3; c++) {
		if (words_of(cols[c], &ws[c], e) < 0) {
			while (c-- > 0)
				words_release(&ws[c]);
			return -1;
		}
		total += ws[c].n;
	}
	v = xreallocarray(NULL, total ? total : 1, sizeof(*v));
	for (int c = 0; c < 3; c++) {
		for (size_t i = 0; i < ws[c].n; i++) {
			pos++;
			if (strlen(ws[c].v[i].text) > WORD_BYTES_MAX || !*ws[c].v[i].text)
				continue;
			v[n++] = (struct entry){ ws[c].v[i].text, pos < POS_MAX ? pos : POS_MAX,
						 weights[c] };
		}
		pos++; /* the gap: no phrase runs from one column into the next */
	}
	buf_reset(out);
	vector_text(v, n, out);
	free(v);
	for (int c = 0; c < 3; c++)
		words_release(&ws[c]);
	return 0;
}

bool
pg_search_indexes(const char *kind)
{
	return strcmp(kind, "ack") != 0 && strcmp(kind, "notice") != 0 &&
	       strcmp(kind, "remind") != 0;
}

int
pg_search_words(const char *subject, const char *body, const char *names, struct buf *out)
{
	const char *cols[3] = { subject ? subject : "", body ? body : "", names ? names : "" };
	struct err ignored = ERR_INIT;

	return message_vector(cols, out, &ignored);
}

/* Indexes one batch of the messages not yet indexed, in one statement;
 * *n how many. Rows another indexer is at are skipped (it indexes them). */
static int
index_batch(struct store *s, int64_t *n, struct err *e)
{
	struct buf vec = BUF_INIT, ids = BUF_INIT;
	struct strlist vecs = { 0 };
	struct pg_args q = { 0 };
	char *vec_array = NULL;
	PGresult *r;
	int rc = 0;

	r = pg_run(s,
		   "SELECT id, subject, body, names FROM messages WHERE search_words IS NULL"
		   " AND " INDEXED_KINDS " ORDER BY id LIMIT 200"
		   " FOR UPDATE SKIP LOCKED",
		   NULL, false, "cannot read the messages", e);
	if (!r)
		return -1;
	*n = PQntuples(r);
	buf_addch(&ids, '{');
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		const char *cols[3] = { pg_text(r, i, 1), pg_text(r, i, 2), pg_text(r, i, 3) };

		rc = message_vector(cols, &vec, e);
		buf_addf(&ids, "%s%s", i ? "," : "", PQgetvalue(r, i, 0));
		strlist_add(&vecs, buf_cstr(&vec));
	}
	buf_addch(&ids, '}');
	PQclear(r);
	if (rc == 0 && !(vec_array = pg_text_array((const char *const *)vecs.items, vecs.n)))
		rc = err_set(e, EXIT_SOFTWARE, "cannot index messages: too many words");
	pg_arg_text(&q, buf_cstr(&ids));
	pg_arg_text(&q, vec_array);
	if (rc == 0 && *n > 0)
		rc = pg_do(s,
			   "UPDATE messages m SET search_words = v.words::tsvector FROM"
			   " unnest($1::bigint[], $2::text[]) AS v(id, words) WHERE m.id = v.id",
			   &q, NULL, "cannot index messages", e);
	buf_release(&vec);
	buf_release(&ids);
	strlist_release(&vecs);
	free(vec_array);
	return rc;
}

static int
pg_index_attach(struct store *s, struct err *e)
{
	(void)s;
	(void)e;
	return 0;
}

static int
pg_index_update(struct store *s, int wait_ms, bool reset, int64_t *added, struct err *e)
{
	bool own = !s->in_txn;
	int64_t n = 0;

	(void)wait_ms; /* rows another indexer holds are skipped, not waited for */
	if (added)
		*added = 0;
	if (reset &&
	    pg_do(s,
		  "UPDATE messages SET search_words = NULL WHERE search_words IS NOT"
		  " NULL",
		  NULL, NULL, "cannot empty the search index", e) < 0)
		goto fail;
	do {
		if (own && pg_do(s, "BEGIN", NULL, NULL, "cannot begin", e) < 0)
			goto fail;
		if (index_batch(s, &n, e) < 0 ||
		    (own && pg_do(s, "COMMIT", NULL, NULL, "cannot commit", e) < 0))
			goto fail;
		if (added)
			*added += n;
	} while (n == INDEX_BATCH);
	return 0;
fail:
	if (own)
		pg_rollback(s);
	err_prefix(e, "search index");
	return -1;
}

static int
pg_index_status(struct store *s, int64_t *upto, int64_t *pending, struct err *e)
{
	PGresult *r = pg_run(s,
			     "SELECT coalesce(max(id) FILTER (WHERE search_words IS NOT"
			     " NULL), 0), count(*) FILTER (WHERE search_words IS NULL) FROM"
			     " messages WHERE " INDEXED_KINDS,
			     NULL, false, "cannot read the search index", e);

	if (!r)
		return -1;
	*upto = pg_int(r, 0, 0);
	*pending = pg_int(r, 0, 1);
	PQclear(r);
	return 0;
}

/* ---- the query ---- */

/* A text of the query as FTS5 sees it: a phrase of words, its last word a
 * prefix or not, looked for in some columns (bit 0 subject, 1 body, 2
 * names). The snippets mark where they are found. */
struct phrase {
	struct words words;
	bool prefix;
	int columns;
};

struct phrases {
	struct phrase *v;
	size_t n, cap;
};

static void
phrases_release(struct phrases *p)
{
	for (size_t i = 0; i < p->n; i++)
		words_release(&p->v[i].words);
	free(p->v);
	*p = (struct phrases){ 0 };
}

struct pg_query_text {
	struct buf where;      /* over messages m, the ticket t it counts for */
	struct strlist params; /* $1 ... in order */
	struct buf ranked;     /* the tsquery that ranks; empty: none */
	struct phrases terms;  /* the ranking texts, marked in snippets */
	bool tickets;          /* where names the ticket t */
	struct err *e;
};

#define COL_ANY 7

static int
columns_of(enum search_text_in in)
{
	switch (in) {
	case SEARCH_IN_SUBJECT: return 1;
	case SEARCH_IN_BODY: return 2;
	case SEARCH_IN_FROM:
	case SEARCH_IN_TO: return 4;
	default: return COL_ANY;
	}
}

static const char *
weights_of(enum search_text_in in)
{
	switch (in) {
	case SEARCH_IN_SUBJECT: return "A";
	case SEARCH_IN_BODY: return "B";
	case SEARCH_IN_FROM:
	case SEARCH_IN_TO: return "C";
	default: return "";
	}
}

/* A text node as a tsquery (a phrase of its words, the last a prefix
 * when asked): false when it has no words, which matches nothing. */
static int
text_tsquery(const struct search_node *n, struct buf *out, struct phrases *terms,
	     struct err *e)
{
	struct words ws;
	bool any;

	if (words_of(n->value, &ws, e) < 0)
		return -1;
	any = ws.n > 0;
	if (any)
		buf_addch(out, '(');
	for (size_t i = 0; i < ws.n; i++) {
		bool prefix = n->prefix && i + 1 == ws.n;

		if (i)
			buf_addstr(out, " <-> ");
		add_lexeme(out, ws.v[i].text);
		if (prefix || *weights_of(n->in))
			buf_addf(out, ":%s%s", prefix ? "*" : "", weights_of(n->in));
	}
	if (any)
		buf_addch(out, ')');
	if (any && terms) {
		if (terms->n == terms->cap) {
			terms->cap = terms->cap ? terms->cap * 2 : 8;
			terms->v = xreallocarray(terms->v, terms->cap, sizeof(*terms->v));
		}
		terms->v[terms->n++] = (struct phrase){ ws, n->prefix, columns_of(n->in) };
		return 1;
	}
	words_release(&ws);
	return any ? 1 : 0;
}

/* Is n words and operators only, each text with words? Then it is one
 * tsquery, which the index answers at once. */
static bool
text_only(const struct search_node *n)
{
	struct words ws;
	struct err ignored = ERR_INIT;
	bool yes;

	switch (n->kind) {
	case SEARCH_TEXT:
		if (words_of(n->value, &ws, &ignored) < 0)
			return false;
		yes = ws.n > 0;
		words_release(&ws);
		return yes;
	case SEARCH_NOT: return text_only(n->left);
	case SEARCH_AND:
	case SEARCH_OR: return text_only(n->left) && text_only(n->right);
	default: return false;
	}
}

/* n (text_only) as one tsquery. terms (may be NULL) gets its words that
 * are not under a NOT. */
static int
tsquery_of(const struct search_node *n, struct buf *out, struct phrases *terms,
	   struct err *e)
{
	switch (n->kind) {
	case SEARCH_TEXT:
		return text_tsquery(n, out, terms, e) < 0 ? -1 : 0;
	case SEARCH_NOT:
		buf_addstr(out, "!(");
		if (tsquery_of(n->left, out, NULL, e) < 0)
			return -1;
		buf_addch(out, ')');
		return 0;
	default:
		buf_addch(out, '(');
		if (tsquery_of(n->left, out, terms, e) < 0)
			return -1;
		buf_addstr(out, n->kind == SEARCH_AND ? ") & (" : ") | (");
		if (tsquery_of(n->right, out, terms, e) < 0)
			return -1;
		buf_addch(out, ')');
		return 0;
	}
}

static void
where_param(struct pg_query_text *qt, const char *value, const char *cast)
{
	strlist_add(&qt->params, value);
	buf_addf(&qt->where, "$%zu%s", qt->params.n, cast);
}

static const char *const ticket_columns[] = {
	[SEARCH_QUEUE] = "t.queue", [SEARCH_STATUS] = "t.status",
	[SEARCH_CATEGORY] = "t.category", [SEARCH_ASSIGNEE] = "t.assignee",
};

static void
where_field(struct pg_query_text *qt, const struct search_node *n)
{
	char num[32];

	qt->tickets = true;
	switch (n->attr) {
	case SEARCH_TAG:
		buf_addstr(&qt->where, "EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id"
				       " AND lower(g.tag) = lower(");
		where_param(qt, n->value, "");
		buf_addstr(&qt->where, "))");
		return;
	case SEARCH_ID:
		snprintf(num, sizeof(num), "%lld", strtoll(n->value, NULL, 10));
		buf_addstr(&qt->where, "t.id = ");
		where_param(qt, num, "::bigint");
		return;
	default:
		buf_addf(&qt->where, "lower(%s) = lower(", ticket_columns[n->attr]);
		where_param(qt, n->value, "");
		buf_addch(&qt->where, ')');
		return;
	}
}

static void
where_date(struct pg_query_text *qt, const struct search_node *n)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", (long long)n->from);
	buf_addstr(&qt->where, "(m.created >= ");
	where_param(qt, num, "::bigint");
	/* until 0: the range is open at its end. */
	if (n->until) {
		snprintf(num, sizeof(num), "%lld", (long long)n->until);
		buf_addstr(&qt->where, " AND m.created < ");
		where_param(qt, num, "::bigint");
	}
	buf_addch(&qt->where, ')');
}

static int
where_of(struct pg_query_text *qt, const struct search_node *n)
{
	struct buf tsq = BUF_INIT;

	if (text_only(n)) {
		if (tsquery_of(n, &tsq, NULL, qt->e) < 0) {
			buf_release(&tsq);
			return -1;
		}
		buf_addstr(&qt->where, "m.search_words @@ ");
		where_param(qt, buf_cstr(&tsq), "::tsquery");
		buf_release(&tsq);
		return 0;
	}
	switch (n->kind) {
	case SEARCH_TEXT: /* no words: nothing matches */
		buf_addstr(&qt->where, "false");
		return 0;
	case SEARCH_FIELD:
		where_field(qt, n);
		return 0;
	case SEARCH_DATE:
		where_date(qt, n);
		return 0;
	case SEARCH_NOT:
		buf_addstr(&qt->where, "NOT coalesce((");
		if (where_of(qt, n->left) < 0)
			return -1;
		buf_addstr(&qt->where, "), false)");
		return 0;
	default:
		buf_addch(&qt->where, '(');
		if (where_of(qt, n->left) < 0)
			return -1;
		buf_addstr(&qt->where, n->kind == SEARCH_AND ? ") AND (" : ") OR (");
		if (where_of(qt, n->right) < 0)
			return -1;
		buf_addch(&qt->where, ')');
		return 0;
	}
}

/* The conjuncts of the top AND that are positive text rank the query
 * (as on SQLite), and their words are marked in the snippets. */
static int
collect_ranking(struct pg_query_text *qt, const struct search_node *n)
{
	if (n->kind == SEARCH_AND)
		return collect_ranking(qt, n->left) < 0 ? -1 : collect_ranking(qt, n->right);
	if (n->kind == SEARCH_NOT || !text_only(n))
		return 0;
	if (qt->ranked.len)
		buf_addstr(&qt->ranked, " & ");
	buf_addch(&qt->ranked, '(');
	if (tsquery_of(n, &qt->ranked, &qt->terms, qt->e) < 0)
		return -1;
	buf_addch(&qt->ranked, ')');
	return 0;
}

/* ---- ranking in windows of the newest matches ---- */

/* As on SQLite (sqlite_search_query.c): the ranking runs on the
 * SEARCH_WINDOW newest matching messages first, then on older windows,
 * each twice the one before, while fewer than limit tickets were found. */
#define SEARCH_WINDOW 2000

static PGresult *
run_query(struct store *s, struct pg_query_text *qt, const char *sql, const char *extra[],
	  int nextra)
{
	size_t n = qt->params.n + (size_t)nextra;
	const char **values = xreallocarray(NULL, n ? n : 1, sizeof(*values));
	PGresult *r;

	for (size_t i = 0; i < qt->params.n; i++)
		values[i] = qt->params.items[i];
	for (int i = 0; i < nextra; i++)
		values[qt->params.n + (size_t)i] = extra[i];
	r = PQexecParams(pg_conn(s), sql, (int)n, NULL, values, NULL, NULL, 0);
	free(values);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_fail(s, r, "cannot search", qt->e);
		PQclear(r);
		return NULL;
	}
	return r;
}

/* How many ids the first probe of window_floor spans, in windows; each
 * next probe spans four times the one before (few probes for a rare word,
 * each a pass over its index entries). */
#define PROBE_WINDOWS 4

/* A match of a window: its message, the ticket it counts for, its rank
 * (negated ts_rank: lower is better, as SQLite's bm25). */
struct ranked {
	int64_t message_id;
	int64_t ticket_id;
	double rank;
};

struct ranked_list {
	struct ranked *v;
	size_t n, cap;
};

static void
ranked_add(struct ranked_list *l, const struct ranked *r)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *r;
}

/* The numbers of probe_range's parameters after the query's own. */
struct probe_params {
	size_t lower, upper, want, span, rank; /* 0: not in the query */
};

static struct probe_params
probe_params_of(const struct pg_query_text *qt, bool first)
{
	size_t k = qt->params.n;
	struct probe_params p = { k + 1, k + 2, k + 3, 0, 0 };

	k += 3;
	if (first)
		p.span = ++k;
	if (qt->ranked.len)
		p.rank = ++k;
	return p;
}

/* The SQL of probe_range: the newest matches up to want with ids in
 * [lower, upper), each with its ticket and rank. In a first probe the
 * messages are read newest-first from the primary key, stopping at want
 * (the inner LIMIT, the range's size, holds the planner to that order):
 * a common word fills its window there from a few thousand rows, where
 * the word index would list every message that has it. A later probe (a
 * rarer word) lets the planner take the word index. */
static char *
probe_sql(const struct pg_query_text *qt, const struct probe_params *p)
{
	char *from, *rank, *sql;

	if (p->span)
		from = xasprintf(" FROM (SELECT * FROM messages WHERE id >= $%zu::bigint"
				 " AND id < $%zu::bigint ORDER BY id DESC LIMIT $%zu::bigint) m",
				 p->lower, p->upper, p->span);
	else
		from = xstrdup(" FROM messages m");
	/* The rank is taken as a row is read: a sort of the rows would carry
	 * their words. */
	rank = p->rank ? xasprintf("-ts_rank(m.search_words, $%zu::tsquery, 1)", p->rank)
		       : xstrdup("0::float8");
	/* Without the ticket in the query, the ticket a message counts for is
	 * looked up for the window's rows only. */
	sql = xasprintf("SELECT w.id, %s, w.rank FROM (SELECT m.id, m.ticket_id, %s AS rank%s%s%s"
			" WHERE m." INDEXED_KINDS " AND (%s) AND m.id >= $%zu::bigint"
			" AND m.id < $%zu::bigint ORDER BY m.id DESC LIMIT $%zu::bigint) w",
			qt->tickets ? "w.counts_for"
				    : "(SELECT COALESCE(t.merged_into, t.id) FROM tickets t"
				      " WHERE t.id = w.ticket_id)",
			rank, qt->tickets ? ", t.id AS counts_for" : "", from,
			qt->tickets ? " JOIN tickets t0 ON t0.id = m.ticket_id"
				      " JOIN tickets t ON t.id = COALESCE(t0.merged_into, t0.id)"
				    : "",
			buf_cstr(&qt->where), p->lower, p->upper, p->want);
	free(from);
	free(rank);
	return sql;
}

/* Of the matches with ids in [lower, upper), the newest up to want, added
 * to rows: how many (*found) and the id of the oldest of them (*oldest).
 * A bounded range keeps either plan to no more than the range: the
 * planner's estimate of a word's matches (a prefix's above all) can be
 * far off. */
static int
probe_range(struct store *s, struct pg_query_text *qt, int64_t lower, int64_t upper, int want,
	    bool first, struct ranked_list *rows, int *found, int64_t *oldest)
{
	struct probe_params p = probe_params_of(qt, first);
	char lo[32], up[32], lim[32], span[32];
	const char *extra[5] = { lo, up, lim };
	int nextra = 3;
	char *sql = probe_sql(qt, &p);
	PGresult *r;

	snprintf(lo, sizeof(lo), "%lld", (long long)lower);
	snprintf(up, sizeof(up), "%lld", (long long)upper);
	snprintf(lim, sizeof(lim), "%d", want);
	snprintf(span, sizeof(span), "%lld", (long long)(upper - lower));
	if (p.span)
		extra[nextra++] = span;
	if (p.rank)
		extra[nextra++] = buf_cstr(&qt->ranked);
	r = run_query(s, qt, sql, extra, nextra);
	free(sql);
	if (!r)
		return -1;
	*found = PQntuples(r);
	for (int i = 0; i < *found; i++) {
		struct ranked row = { pg_int(r, i, 0), pg_int(r, i, 1),
				      strtod(PQgetvalue(r, i, 2), NULL) };

		ranked_add(rows, &row);
		*oldest = row.message_id;
	}
	PQclear(r);
	return 0;
}

/* The id above every message's; 1 when there are none. */
static int
id_ceiling(struct store *s, struct pg_query_text *qt, int64_t *ceiling)
{
	if (pg_first_int(s, "SELECT coalesce(max(id), 0) + 1 FROM messages", NULL, ceiling,
			 "cannot search", qt->e) < 0)
		return -1;
	return 0;
}

/* The id of the window-th newest match below upper, 0 when fewer, and
 * the matches from there to upper into rows: looked for in ranges of ids
 * going back from upper, each wider than the one before. */
static int
window_floor(struct store *s, struct pg_query_text *qt, int64_t upper, int window,
	     int64_t *floor_r, struct ranked_list *rows)
{
	int64_t span = (int64_t)window * PROBE_WINDOWS, oldest = 0;
	int want = window, found = 0;
	bool first = true;

	if (upper == INT64_MAX && id_ceiling(s, qt, &upper) < 0)
		return -1;
	while (upper > 1) {
		int64_t lower = upper > span ? upper - span : 1;

		if (probe_range(s, qt, lower, upper, want, first, rows, &found, &oldest) < 0)
			return -1;
		if (found == want) {
			*floor_r = oldest;
			return 0;
		}
		first = false;
		want -= found;
		upper = lower;
		if (span < INT64_MAX / 4)
			span *= 4;
	}
	*floor_r = 0;
	return 0;
}

/* Best first (rank, then the newest), as SQLite orders its matches. */
static int
ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->message_id > y->message_id ? -1 : x->message_id < y->message_id;
}

/* Adds the tickets of a window's matches, best first, until limit. */
static void
rank_window(struct ranked_list *rows, size_t limit, struct search_hits *h)
{
	if (rows->n > 1) /* v is NULL for no rows */
		qsort(rows->v, rows->n, sizeof(*rows->v), ranked_cmp);
	for (size_t i = 0; h->n < limit && i < rows->n; i++)
		if (!search_hits_have(h, rows->v[i].ticket_id))
			search_hits_add(h, rows->v[i].ticket_id, rows->v[i].message_id,
					rows->v[i].rank);
}

/* The probes start no parallel workers: a worker is a new server process,
 * dearer to start than the few thousand rows a probe reads. Set for their
 * transaction only: the server's setting stays for the rest (a long scan
 * of list gains by it). */
static int
probes_begin(struct store *s, bool own, struct err *e)
{
	if (!own)
		return 0;
	if (pg_do(s, "BEGIN", NULL, NULL, "cannot search", e) < 0)
		return -1;
	return pg_do_ahead(s, "SET LOCAL max_parallel_workers_per_gather = 0", NULL,
			   "cannot search", e);
}

static int
search_windows(struct store *s, struct pg_query_text *qt, size_t limit, struct search_hits *h)
{
	int64_t upper = INT64_MAX, lower;
	int window = SEARCH_WINDOW;
	struct ranked_list rows = { 0 };
	bool own = !s->in_txn;
	int rc = 0;

	if (probes_begin(s, own, qt->e) < 0) {
		if (own)
			pg_rollback(s);
		return -1;
	}
	for (;;) {
		rows.n = 0;
		if (window_floor(s, qt, upper, window, &lower, &rows) < 0) {
			rc = -1;
			break;
		}
		rank_window(&rows, limit, h);
		if (h->n >= limit || lower == 0)
			break;
		upper = lower;
		if (window < 1 << 20)
			window *= 2;
	}
	free(rows.v);
	/* Nothing was written: the end of a failed search is its rollback. */
	if (own && (rc < 0 || pg_do(s, "COMMIT", NULL, NULL, "cannot search", qt->e) < 0)) {
		pg_rollback(s);
		rc = -1;
	}
	return rc;
}

/* ---- snippets ---- */

/* FTS5's snippet(..., '[', ']', '...', 12), as SQLite makes them: of the
 * windows of 12 words that begin at a match (or at the start of the
 * sentence before it, which gains a little), the one with the most
 * different texts of the query; the texts found in brackets, "..." where
 * the column's text is cut. */
#define SNIPPET_WORDS 12

struct instance {
	size_t phrase, pos, len;
};

static bool
phrase_at(const struct phrase *ph, const struct words *ws, size_t pos)
{
	if (pos + ph->words.n > ws->n)
		return false;
	for (size_t j = 0; j < ph->words.n; j++) {
		const char *want = ph->words.v[j].text, *got = ws->v[pos + j].text;
		bool last = j + 1 == ph->words.n;

		if (last && ph->prefix ? strncmp(got, want, strlen(want)) != 0
				       : strcmp(got, want) != 0)
			return false;
	}
	return true;
}

/* The matches of the phrases in column c, in order of position. */
static size_t
instances_of(const struct phrases *terms, const struct words *ws, int c, struct instance **out)
{
	size_t n = 0, cap = 0;

	*out = NULL;
	for (size_t pos = 0; pos < ws->n; pos++)
		for (size_t p = 0; p < terms->n; p++) {
			if (!(terms->v[p].columns & (1 << c)) || !phrase_at(&terms->v[p], ws, pos))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				*out = xreallocarray(*out, cap, sizeof(**out));
			}
			(*out)[n++] = (struct instance){ p, pos, terms->v[p].words.n };
		}
	return n;
}

/* fts5SnippetScore: 1000 for each phrase first seen in the window at pos,
 * 1 for each repeat; *adj, the window moved to centre its matches. */
static long
window_score(const struct instance *in, size_t nin, size_t nphrases, size_t ndoc, size_t pos,
	     size_t *adj)
{
	bool *seen = xcalloc(nphrases ? nphrases : 1, sizeof(*seen));
	long score = 0, first = -1, last = 0, a;

	for (size_t i = 0; i < nin; i++) {
		if (in[i].pos < pos || in[i].pos >= pos + SNIPPET_WORDS)
			continue;
		score += seen[in[i].phrase] ? 1 : 1000;
		seen[in[i].phrase] = true;
		if (first < 0)
			first = (long)in[i].pos;
		last = (long)(in[i].pos + in[i].len);
	}
	free(seen);
	a = first - (SNIPPET_WORDS - (last - first)) / 2;
	if (a + SNIPPET_WORDS > (long)ndoc)
		a = (long)ndoc - SNIPPET_WORDS;
	if (adj)
		*adj = a < 0 ? 0 : (size_t)a;
	return score;
}

/* Does a sentence begin at word k: the first, or one after '.' or ':'
 * and a space. */
static bool
sentence_start(const char *text, const struct words *ws, size_t k)
{
	int i = ws->v[k].start - 1;

	if (k == 0)
		return true;
	while (i >= 0 && strchr(" \t\n\r", text[i]))
		i--;
	return i != ws->v[k].start - 1 && i >= 0 && (text[i] == '.' || text[i] == ':');
}

struct best_window {
	long score;
	int column;
	size_t start;
};

static void
best_in_column(const char *text, const struct words *ws, const struct instance *in, size_t nin,
	       size_t nphrases, int c, struct best_window *best)
{
	for (size_t i = 0; i < nin; i++) {
		size_t adj, first = 0;
		long sc = window_score(in, nin, nphrases, ws->n, in[i].pos, &adj);

		if (sc > best->score)
			*best = (struct best_window){ sc, c, adj };
		if (ws->n <= SNIPPET_WORDS)
			continue;
		for (size_t k = 0; k <= in[i].pos; k++)
			if (sentence_start(text, ws, k))
				first = k;
		if (first < in[i].pos) {
			sc = window_score(in, nin, nphrases, ws->n, first, NULL) +
			     (first == 0 ? 120 : 100);
			if (sc > best->score)
				*best = (struct best_window){ sc, c, first };
		}
	}
}

static char *
snippet_text(const char *text, const struct words *ws, const struct instance *in, size_t nin,
	     size_t start)
{
	size_t end = start + SNIPPET_WORDS < ws->n ? start + SNIPPET_WORDS : ws->n;
	size_t at = start > 0 ? (size_t)ws->v[start].start : 0, close = 0;
	struct buf out = BUF_INIT;
	bool open = false;

	buf_addstr(&out, start > 0 ? "..." : "");
	for (size_t i = start; i < end; i++) {
		buf_add(&out, text + at, (size_t)ws->v[i].start - at);
		for (size_t k = 0; k < nin && !open; k++)
			if (in[k].pos == i) {
				buf_addch(&out, '[');
				open = true;
				close = i + in[k].len - 1;
			}
		buf_add(&out, text + ws->v[i].start, (size_t)(ws->v[i].end - ws->v[i].start));
		if (open && (i == close || i + 1 == end)) {
			buf_addch(&out, ']');
			open = false;
		}
		at = (size_t)ws->v[i].end;
	}
	buf_addstr(&out, end < ws->n ? "..." : text + at);
	return buf_detach(&out, NULL);
}

static int
message_snippet(const char *const cols[3], const struct phrases *terms, char **out,
		struct err *e)
{
	struct best_window best = { 0, 0, 0 };
	struct words ws[3];
	struct instance *in[3];
	size_t nin[3];
	int c;

	for (c = 0; c < 3; c++) {
		if (words_of(cols[c], &ws[c], e) < 0)
			break;
		nin[c] = instances_of(terms, &ws[c], c, &in[c]);
		best_in_column(cols[c], &ws[c], in[c], nin[c], terms->n, c, &best);
	}
	if (c == 3)
		*out = snippet_text(cols[best.column], &ws[best.column], in[best.column],
				    nin[best.column], best.start);
	while (c-- > 0) {
		words_release(&ws[c]);
		free(in[c]);
	}
	return *out ? 0 : -1;
}

static int
make_snippets(struct store *s, struct pg_query_text *qt, struct search_hits *h)
{
	struct buf ids = BUF_INIT;
	const char *values[1];
	PGresult *r;
	int rc = 0;

	buf_addch(&ids, '{');
	for (size_t i = 0; i < h->n; i++)
		buf_addf(&ids, "%s%lld", i ? "," : "", (long long)h->v[i].message_id);
	buf_addch(&ids, '}');
	values[0] = buf_cstr(&ids);
	r = PQexecParams(pg_conn(s), "SELECT id, subject, body, names FROM messages"
			 " WHERE id = ANY($1::bigint[])", 1, NULL, values, NULL, NULL, 0);
	buf_release(&ids);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_fail(s, r, "cannot search", qt->e);
		PQclear(r);
		return -1;
	}
	for (int row = 0; rc == 0 && row < PQntuples(r); row++) {
		const char *cols[3] = { pg_text(r, row, 1), pg_text(r, row, 2),
					pg_text(r, row, 3) };
		int64_t msg = pg_int(r, row, 0);
		char *snip = NULL;

		rc = message_snippet(cols, &qt->terms, &snip, qt->e);
		for (size_t i = 0; rc == 0 && i < h->n; i++)
			if (h->v[i].message_id == msg && !h->v[i].snippet)
				h->v[i].snippet = xstrdup(snip);
		free(snip);
	}
	PQclear(r);
	return rc;
}

static int
pg_search_query(struct store *s, const struct search_node *q, size_t limit,
		struct search_hits *out, struct err *e)
{
	struct pg_query_text qt = { .where = BUF_INIT, .params = STRLIST_INIT,
				    .ranked = BUF_INIT, .e = e };
	int rc = -1;

	if (collect_ranking(&qt, q) < 0 || where_of(&qt, q) < 0 ||
	    search_windows(s, &qt, limit, out) < 0)
		goto out;
	if (qt.ranked.len && out->n && make_snippets(s, &qt, out) < 0)
		goto out;
	for (size_t i = 0; i < out->n; i++)
		if (!out->v[i].snippet)
			out->v[i].snippet = xstrdup("");
	rc = 0;
out:
	buf_release(&qt.where);
	buf_release(&qt.ranked);
	strlist_release(&qt.params);
	phrases_release(&qt.terms);
	return rc;
}

const struct store_search_ops pg_search_ops = {
	.index_attach = pg_index_attach,
	.index_update = pg_index_update,
	.index_status = pg_index_status,
	.query = pg_search_query,
};
