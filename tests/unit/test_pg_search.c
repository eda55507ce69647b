/* Search on both backends with the same results: the desk of seven tickets
 * of tests/e2e/search_language.sh, written row for row into a SQLite store
 * and into a PostgreSQL one (a private server, tests/harness/pg.sh), and
 * every query of the shared table (tests/e2e/search_language.table) run
 * on each. Then what is PostgreSQL's own: the index's bookkeeping (pending,
 * rebuild, automatic mail left out), snippets, merged tickets, and the
 * newest-first windows over a word in thousands of messages. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "buf.h"
#include "search.h"
#include "search_index.h"
#include "store.h"
#include "store_sqlite.h"
#include "xalloc.h"

#include "unit.h"
#include "pg_core.h"
#include "pg_unit.h"
#include "pg_unit_sql.h"

static struct store *lite, *pg;

struct mail {
	int id;
	const char *name, *addr, *subject, *body;
	long long created;
	const char *cc;
};

/* As search_language.sh ingests them. */
static const struct mail desk[] = {
	{ 1, "Anna Schmidt", "anna@charite.de", "Call eligibility question",
	  "Is a hospital eligible for funding in the joint call?", 1793620800, "" },
	{ 2, "Marco Rossi", "marco@unimi.it", "Membership of Italy",
	  "We ask about membership and the annual meeting.", 1794312000, "giulia@unimi.it" },
	{ 3, "Jan de Vries", "jan@umcg.nl", "Spam filter complaint",
	  "Your spam filter blocked our call application.", 1795176000, "" },
	{ 4, "Laura Perez", "laura@isciii.es", "Budget rules",
	  "What budget rules apply to partners in the joint call?", 1796126400, "" },
	{ 5, "Pierre Martin", "pierre@inserm.fr", "Conference registration",
	  "I want to register for the conference in Paris, not the call.", 1796472000, "" },
	{ 6, "Press Desk", "press@journal.example", "Interview request",
	  "A journalist asking about the award of the consortium.", 1796558400, "" },
	{ 7, "Paweł Żółć", "pawel@uw.edu.pl", "Zgłoszenie do konkursu",
	  "Chcę zgłosić wniosek. Viele Grüße, Förderfähigkeit der Kosten; Ærø, Đakovo, "
	  "Þórshöfn.", 1796558400, "" },
};

/* The routing, statuses, tags and categories the e2e test sets, and an
 * acknowledgement (automatic mail: never searched). */
static const char *const desk_updates[] = {
	"UPDATE tickets SET queue = 'IT' WHERE id = 2",
	"UPDATE tickets SET queue = 'ES' WHERE id = 4",
	"UPDATE tickets SET status = 'closed' WHERE id = 3",
	"INSERT INTO ticket_tags (ticket_id, tag) VALUES (1, 'urgent'), (4, 'Urgent')",
	"UPDATE tickets SET assignee = 'bob' WHERE id = 5",
	"UPDATE tickets SET category = 'general'",
	"UPDATE tickets SET category = 'membership' WHERE id = 2",
	"UPDATE tickets SET category = 'press' WHERE id = 6",
	"UPDATE tickets SET category = 'funding' WHERE id IN (1, 4)",
	"INSERT INTO messages (id, ticket_id, direction, kind, subject, body, names, created)"
	" VALUES (100, 1, 'out', 'ack', 'Re: Call', 'This automatic confirmation', '', 1793620800)",
	NULL,
};

static const char ticket_sql[] =
	"INSERT INTO tickets (id, subject, requester, requester_name, created, updated)"
	" VALUES ($1, $2, $3, $4, $5, $6)";
static const char message_sql[] =
	"INSERT INTO messages (id, ticket_id, direction, kind, from_name, from_addr, to_addrs,"
	" cc_addrs, subject, message_id, body, names, created)"
	" VALUES ($1, $2, 'in', 'inquiry', $3, $4, 'secretariat@icpermed.example', $5, $6, $7,"
	" $8, $9, $10)";

/* The values of a mail's ticket (6) and message (10), as text. */
static void
mail_values(const struct mail *m, char *id, char *at, char **body, char **names, char **msgid,
	    const char *tv[6], const char *mv[10])
{
	snprintf(id, 16, "%d", m->id);
	snprintf(at, 24, "%lld", m->created);
	*body = xasprintf("Dear secretariat,\n%s\nKind regards\n", m->body);
	*names = xasprintf("%s %s secretariat@icpermed.example %s", m->name, m->addr, m->cc);
	*msgid = xasprintf("<search-%d@example.org>", m->id);
	tv[0] = id, tv[1] = m->subject, tv[2] = m->addr, tv[3] = m->name, tv[4] = at, tv[5] = at;
	mv[0] = id, mv[1] = id, mv[2] = m->name, mv[3] = m->addr, mv[4] = m->cc;
	mv[5] = m->subject, mv[6] = *msgid, mv[7] = *body, mv[8] = *names, mv[9] = at;
}

static void
lite_exec(const char *sql, int n, const char *const *v)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(store_db(lite), sql, -1, &st, NULL), SQLITE_OK);
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		fail_msg("'%s': %s", sql, sqlite3_errmsg(store_db(lite)));
	sqlite3_finalize(st);
}

static void
load_desk(PGconn *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(desk); i++) {
		char id[16], at[24], *body, *names, *msgid;
		const char *tv[6], *mv[10];

		mail_values(&desk[i], id, at, &body, &names, &msgid, tv, mv);
		lite_exec(ticket_sql, 6, tv);
		lite_exec(message_sql, 10, mv);
		free(pg_sql_on(c, ticket_sql, 6, tv));
		free(pg_sql_on(c, message_sql, 10, mv));
		free(body);
		free(names);
		free(msgid);
	}
	for (const char *const *u = desk_updates; *u; u++) {
		lite_exec(*u, 0, NULL);
		free(pg_sql_on(c, *u, 0, NULL));
	}
}

static int
group_setup(void **state)
{
	struct err e = ERR_INIT;
	char *url, *path;
	PGconn *c;

	if (pg_unit_setup(state) < 0)
		return -1;
	setenv("TZ", "UTC", 1);
	tzset();
	url = pg_make_db("t_search");
	path = xasprintf("%s/search.db", unit_dir);
	if (store_open(url, STORE_CREATE, &pg, &e) < 0 ||
	    store_open(path, STORE_CREATE, &lite, &e) < 0) {
		fprintf(stderr, "# %s\n", e.msg);
		return -1;
	}
	free(url);
	free(path);
	c = pg_admin("t_search");
	load_desk(c);
	PQfinish(c);
	return 0;
}

static int
group_teardown(void **state)
{
	store_close(&lite);
	store_close(&pg);
	return pg_unit_teardown(state);
}

/* The ticket ids q finds on s, sorted, as "1 3 4"; hits (may be NULL)
 * gets the hits. */
static char *
found(struct store *s, const char *query, struct search_hits *hits)
{
	struct search_node *q = NULL;
	struct search_hits h = { 0 };
	struct err e = ERR_INIT;
	int64_t ids[64];
	size_t n = 0;
	struct buf out = BUF_INIT;

	if (search_index_update(s, -1, NULL, &e) < 0 || search_parse(query, 1796601600, &q, &e) < 0 ||
	    store_search(s, q, 100, &h, &e) < 0)
		fail_msg("%s: '%s': %s", store_backend(s), query, e.msg);
	search_node_free(q);
	for (size_t i = 0; i < h.n && n < ARRAY_SIZE(ids); i++)
		ids[n++] = h.v[i].ticket_id;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			int64_t t = ids[j];

			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		buf_addf(&out, "%s%lld", i ? " " : "", (long long)ids[i]);
	if (hits)
		*hits = h;
	else
		search_hits_release(&h);
	return out.data ? buf_detach(&out, NULL) : xstrdup("");
}

/* Runs the shared table on s: each row's tickets, and how many rows. */
static int
run_table(struct store *s)
{
	char *path = xasprintf("%s/tests/e2e/search_language.table",
			       getenv("TOP") ? getenv("TOP") : ".");
	FILE *f = fopen(path, "r");
	char line[512];
	int rows = 0, wrong = 0;

	if (!f)
		fail_msg("cannot read %s", path);
	while (fgets(line, sizeof(line), f)) {
		char *tab, *want, *got;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0' || !(tab = strchr(line, '\t')))
			continue;
		*tab = '\0';
		want = tab + 1;
		got = found(s, line, NULL);
		if (strcmp(got, want) != 0) {
			print_message("# %s: '%s': expected '%s', got '%s'\n", store_backend(s),
				      line, want, got);
			wrong++;
		}
		free(got);
		rows++;
	}
	fclose(f);
	free(path);
	assert_int_equal(wrong, 0);
	return rows;
}

static void
test_table_sqlite(void **state)
{
	(void)state;
	assert_true(run_table(lite) >= 55);
}

static void
test_table_postgresql(void **state)
{
	(void)state;
	assert_true(run_table(pg) >= 55);
}

/* The index on PostgreSQL: what waits, what is left out, a rebuild. */
static void
test_index_bookkeeping(void **state)
{
	struct err e = ERR_INIT;
	int64_t upto, pending, added;

	(void)state;
	assert_int_equal(search_index_status(pg, &upto, &pending, &e), 0);
	assert_int_equal(pending, 0);
	assert_int_equal(upto, 7);
	/* The acknowledgement is never indexed, so never found. */
	pg_assert_sql("t_search", "SELECT count(*) FROM messages WHERE search_words IS NULL", "1");
	free(found(pg, "automatic", NULL));
	{
		char *got = found(pg, "automatic", NULL), *lgot = found(lite, "automatic", NULL);

		assert_string_equal(got, "");
		assert_string_equal(lgot, "");
		free(got);
		free(lgot);
	}
	assert_int_equal(search_index_rebuild(pg, &added, &e), 0);
	assert_int_equal(added, 7);
	/* The words are folded as SQLite's tokenizer folds them. */
	pg_assert_sql("t_search", "SELECT search_words @@ 'forderfahigkeit'::tsquery AND"
		      " search_words @@ 'grusse'::tsquery AND search_words @@ 'thorshofn'::tsquery"
		      " FROM messages WHERE id = 7", "t");
	/* Subject words weigh A, body B, names C. */
	pg_assert_sql("t_search", "SELECT search_words @@ 'membership:A'::tsquery AND"
		      " search_words @@ 'annual:B'::tsquery AND search_words @@ 'giulia:C'::tsquery"
		      " AND NOT search_words @@ 'annual:A'::tsquery FROM messages WHERE id = 2", "t");
	/* A new message waits for the next update. */
	pg_assert_sql("t_search", "INSERT INTO messages (id, ticket_id, direction, kind, subject,"
		      " body, names, created) VALUES (8, 6, 'in', 'followup', 'Deadline', 'zebrafish',"
		      " '', 1796558401) RETURNING id", "8");
	assert_int_equal(search_index_status(pg, &upto, &pending, &e), 0);
	assert_int_equal(pending, 1);
	{
		char *got = found(pg, "zebrafish", NULL);

		assert_string_equal(got, "6");
		free(got);
	}
	assert_int_equal(search_index_status(pg, &upto, &pending, &e), 0);
	assert_int_equal(pending, 0);
	assert_int_equal(upto, 8);
	pg_assert_sql("t_search", "DELETE FROM messages WHERE id = 8 RETURNING id", "8");
}

/* Snippets in SQLite's form: the words found in brackets, "..." where the
 * text is cut; the same on both backends for these. */
static void
test_snippets(void **state)
{
	static const char *const queries[] = { "budget", "joint call", "memb*", "subject:call",
					       "zglosic", "\"joint call\"", "call -budget",
					       "kind regards", "from:anna call" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(queries); i++) {
		struct search_hits hp, hl;
		char *a = found(pg, queries[i], &hp), *b = found(lite, queries[i], &hl);

		assert_string_equal(a, b);
		assert_true(hp.n > 0);
		for (size_t k = 0; k < hp.n; k++) {
			size_t j = 0;

			while (j < hl.n && hl.v[j].ticket_id != hp.v[k].ticket_id)
				j++;
			assert_true(j < hl.n);
			assert_string_equal(hp.v[k].snippet, hl.v[j].snippet);
			assert_non_null(strchr(hp.v[k].snippet, '['));
		}
		search_hits_release(&hp);
		search_hits_release(&hl);
		free(a);
		free(b);
	}
	{
		struct search_hits h;
		char *a = found(pg, "budget", &h);

		assert_string_equal(h.v[0].snippet, "Dear secretariat,\nWhat [budget] rules apply to"
						    " partners in the joint call...");
		search_hits_release(&h);
		free(a);
		a = found(pg, "queue:IT", &h);
		assert_string_equal(h.v[0].snippet, "");
		search_hits_release(&h);
		free(a);
	}
}

/* A merged ticket's messages count for the ticket it went into. */
static void
test_merged(void **state)
{
	char *got;

	(void)state;
	free(pg_sql("t_search", "UPDATE tickets SET merged_into = 4 WHERE id = 6"));
	got = found(pg, "journalist", NULL);
	assert_string_equal(got, "4");
	free(got);
	free(pg_sql("t_search", "UPDATE tickets SET merged_into = NULL WHERE id = 6"));
}

/* The probes' setting (no parallel workers) is their transaction's: the
 * session keeps the server's after a search, and no transaction is left
 * open. */
static void
assert_session_as_before(void)
{
	PGresult *r = PQexec(pg_conn(pg), "SELECT current_setting(name) = reset_val FROM"
					  " pg_settings WHERE name = 'max_parallel_workers_per_gather'");

	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	assert_int_equal(PQtransactionStatus(pg_conn(pg)), PQTRANS_IDLE);
}

/* A word in more messages than the first window: the newest tickets
 * first, and every one when the limit asks for them all. */
static void
test_windows(void **state)
{
	struct err e = ERR_INIT;
	struct search_node *q = NULL;
	struct search_hits h = { 0 };
	int64_t added;

	(void)state;
	free(pg_sql("t_search", "INSERT INTO tickets (id, subject, created, updated)"
		    " SELECT 1000 + i, 'common', i, i FROM generate_series(1, 4500) i"));
	free(pg_sql("t_search", "INSERT INTO messages (id, ticket_id, direction, kind, subject,"
		    " body, names, created) SELECT 1000 + i, 1000 + i, 'in', 'inquiry', 'common',"
		    " 'a common word', '', i FROM generate_series(1, 4500) i"));
	assert_int_equal(search_index_update(pg, -1, &added, &e), 0);
	assert_int_equal(added, 4500);
	assert_int_equal(search_parse("common", 0, &q, &e), 0);
	assert_int_equal(store_search(pg, q, 3, &h, &e), 0);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.v[0].ticket_id, 5500);
	assert_int_equal(h.v[1].ticket_id, 5499);
	assert_int_equal(h.v[2].ticket_id, 5498);
	search_hits_release(&h);
	assert_session_as_before();
	assert_int_equal(store_search(pg, q, 10000, &h, &e), 0);
	assert_int_equal(h.n, 4500);
	assert_int_equal(h.v[4499].ticket_id, 1001);
	search_hits_release(&h);
	/* Inside the caller's transaction, which it leaves open. */
	assert_int_equal(store_begin(pg, &e), 0);
	assert_int_equal(store_search(pg, q, 3, &h, &e), 0);
	assert_int_equal(h.n, 3);
	assert_int_equal(PQtransactionStatus(pg_conn(pg)), PQTRANS_INTRANS);
	assert_int_equal(store_commit(pg, &e), 0);
	search_hits_release(&h);
	assert_session_as_before();
	search_node_free(q);
}

/* A word in one message in twenty ids, older than the rest: the window
 * of its 2,000 newest matches spans more ids than the first probes, and
 * the next window reaches its oldest. Equal ranks: newest first. */
static void
test_sparse_windows(void **state)
{
	struct err e = ERR_INIT;
	struct search_node *q = NULL;
	struct search_hits h = { 0 };
	int64_t added;

	(void)state;
	free(pg_sql("t_search", "INSERT INTO tickets (id, subject, created, updated)"
		    " SELECT 10000 + i, 'sparse', i, i FROM generate_series(1, 2500) i"));
	free(pg_sql("t_search", "INSERT INTO messages (id, ticket_id, direction, kind, subject,"
		    " body, names, created) SELECT 100000 + 20 * i, 10000 + i, 'in', 'inquiry',"
		    " 'sparse', 'a sparse word', '', i FROM generate_series(1, 2500) i"));
	assert_int_equal(search_index_update(pg, -1, &added, &e), 0);
	assert_int_equal(added, 2500);
	assert_int_equal(search_parse("sparse", 0, &q, &e), 0);
	assert_int_equal(store_search(pg, q, 3, &h, &e), 0);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.v[0].ticket_id, 12500);
	assert_int_equal(h.v[2].ticket_id, 12498);
	search_hits_release(&h);
	assert_int_equal(store_search(pg, q, 10000, &h, &e), 0);
	assert_int_equal(h.n, 2500);
	for (size_t i = 0; i < h.n; i++)
		assert_int_equal(h.v[i].ticket_id, 12500 - (int64_t)i);
	search_hits_release(&h);
	search_node_free(q);
	/* A ticket's field in the query: the probes join the tickets. */
	assert_int_equal(search_parse("sparse id:10007", 0, &q, &e), 0);
	assert_int_equal(store_search(pg, q, 10, &h, &e), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.v[0].ticket_id, 10007);
	search_hits_release(&h);
	search_node_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_sqlite),
		cmocka_unit_test(test_table_postgresql),
		cmocka_unit_test(test_index_bookkeeping),
		cmocka_unit_test(test_snippets),
		cmocka_unit_test(test_merged),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_sparse_windows),
	};

	/* pg_unit.h's per-backend cases: these groups run both backends in
	 * each case. */
	(void)unit_backend_sqlite;
	(void)unit_backend_pg;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
