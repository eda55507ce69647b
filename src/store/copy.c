/* Copying a desk from one store into an empty one (store_copy.h). The two
 * backends' schemas match table for table (pg_schema.c's step 1 is
 * SQLite's schema), so a desk moves as rows: each table in the order of its
 * references, the columns both have, read from one backend and written to
 * the other (SQLite by prepared inserts, PostgreSQL by COPY), in one
 * transaction on the target. The backend-specific reading and writing of
 * rows is here rather than behind store_ops: it is this one operation's,
 * and it needs both backends at once. */
#include "compat.h"

#include "backend.h"
#include "buf.h"
#include "pg_core.h"
#include "pg_run.h"
#include "pg_schema.h"
#include "pq.h"
#include "search_index.h"
#include "store_copy.h"
#include "store_sqlite.h"
#include "xalloc.h"

/* The rows that make a desk: a target with any of them is not empty. */
static const char *const desk_tables[] = { "tickets", "messages", "raws", "events", "outbox" };
/* Tables whose id PostgreSQL gives: their sequences go past the copied. */
static const char *const id_tables[] = { "raws", "tickets", "messages", "intake", "events",
					 "attachments", "outbox" };

static bool
is_pg(const struct store *s)
{
	return strcmp(store_backend(s), "postgresql") == 0;
}

/* ---- columns ---- */

struct column {
	char *name;
	bool bytes; /* BLOB / bytea */
};

struct columns {
	struct column *v;
	size_t n;
};

static void
columns_add(struct columns *c, const char *name, const char *type)
{
	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = (struct column){ xstrdup(name), strcasecmp(type, "blob") == 0 ||
							    strcmp(type, "bytea") == 0 };
}

static void
columns_release(struct columns *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	*c = (struct columns){ 0 };
}

static int
columns_of(struct store *s, const char *table, struct columns *c, struct err *e)
{
	*c = (struct columns){ 0 };
	if (is_pg(s)) {
		struct pg_args q = { 0 };
		PGresult *r;

		pg_arg_text(&q, table);
		r = pg_run(s,
			   "SELECT column_name, data_type FROM information_schema.columns"
			   " WHERE table_schema = current_schema() AND table_name = $1"
			   " ORDER BY ordinal_position",
			   &q, false, "cannot read the schema", e);
		if (!r)
			return -1;
		for (int i = 0; i < PQntuples(r); i++)
			columns_add(c, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		PQclear(r);
	} else {
		sqlite3_stmt *st = store_prepare(s, "SELECT name, type FROM pragma_table_info(?1)", e);
		int rc;

		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			columns_add(c, (const char *)sqlite3_column_text(st, 0),
				    (const char *)sqlite3_column_text(st, 1));
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			columns_release(c);
			return store_error(s, e, "cannot read the schema");
		}
	}
	if (c->n == 0)
		return err_set(e, EXIT_DATAERR, "store '%s' has no table %s", store_path(s), table);
	return 0;
}

/* The target's columns that the source has too, in the target's order. */
static void
columns_shared(const struct columns *from, const struct columns *to, struct columns *out)
{
	*out = (struct columns){ 0 };
	for (size_t i = 0; i < to->n; i++)
		for (size_t j = 0; j < from->n; j++)
			if (strcmp(to->v[i].name, from->v[j].name) == 0) {
				columns_add(out, to->v[i].name, to->v[i].bytes ? "blob" : "text");
				break;
			}
}

/* "a, b, c" */
static void
column_list(const struct columns *c, struct buf *out)
{
	for (size_t i = 0; i < c->n; i++)
		buf_addf(out, "%s%s", i ? ", " : "", c->v[i].name);
}

/* ---- reading rows ---- */

enum cell_kind { CELL_NULL, CELL_INT, CELL_TEXT, CELL_BYTES };

struct cell {
	enum cell_kind kind;
	int64_t i;
	const char *p;
	size_t len;
};

struct reader {
	struct store *s;
	sqlite3_stmt *st;  /* SQLite */
	PGresult *row;     /* PostgreSQL, one row at a time */
	unsigned char **bytes;
	size_t n;
	struct cell *cells;
};

static int
reader_open(struct reader *r, struct store *s, const char *table, const struct columns *c,
	    struct err *e)
{
	struct buf sql = BUF_INIT;
	int rc = 0;

	*r = (struct reader){ .s = s, .n = c->n };
	r->cells = xcalloc(c->n, sizeof(*r->cells));
	r->bytes = xcalloc(c->n, sizeof(*r->bytes));
	buf_addstr(&sql, "SELECT ");
	column_list(c, &sql);
	buf_addf(&sql, " FROM %s", table);
	/* The target keeps its own store id. */
	if (strcmp(table, "state") == 0)
		buf_addstr(&sql, " WHERE key <> 'store_id'");
	if (is_pg(s)) {
		if (!PQsendQueryParams(pg_conn(s), buf_cstr(&sql), 0, NULL, NULL, NULL, NULL, 0) ||
		    !PQsetSingleRowMode(pg_conn(s)))
			rc = pg_fail(s, NULL, "cannot read the store", e);
	} else if (sqlite3_prepare_v2(store_db(s), buf_cstr(&sql), -1, &r->st, NULL) !=
		   SQLITE_OK) {
		rc = store_error(s, e, "cannot read the store");
	}
	buf_release(&sql);
	return rc;
}

static void
reader_clear_row(struct reader *r)
{
	for (size_t i = 0; i < r->n; i++) {
		PQfreemem(r->bytes[i]);
		r->bytes[i] = NULL;
	}
	PQclear(r->row);
	r->row = NULL;
}

static void
cells_from_pg(struct reader *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct cell *c = &r->cells[i];
		Oid type = PQftype(r->row, (int)i);

		if (PQgetisnull(r->row, 0, (int)i)) {
			*c = (struct cell){ CELL_NULL, 0, NULL, 0 };
		} else if (type == 17) { /* bytea */
			r->bytes[i] = PQunescapeBytea(
				(const unsigned char *)PQgetvalue(r->row, 0, (int)i), &c->len);
			*c = (struct cell){ CELL_BYTES, 0, (const char *)r->bytes[i], c->len };
		} else if (type == 20 || type == 21 || type == 23) { /* int8, int2, int4 */
			*c = (struct cell){ CELL_INT, strtoll(PQgetvalue(r->row, 0, (int)i), NULL, 10),
					    NULL, 0 };
		} else {
			*c = (struct cell){ CELL_TEXT, 0, PQgetvalue(r->row, 0, (int)i),
					    (size_t)PQgetlength(r->row, 0, (int)i) };
		}
	}
}

static void
cells_from_sqlite(struct reader *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct cell *c = &r->cells[i];

		switch (sqlite3_column_type(r->st, (int)i)) {
		case SQLITE_NULL:
			*c = (struct cell){ CELL_NULL, 0, NULL, 0 };
			break;
		case SQLITE_INTEGER:
			*c = (struct cell){ CELL_INT, sqlite3_column_int64(r->st, (int)i), NULL, 0 };
			break;
		case SQLITE_BLOB:
			c->p = sqlite3_column_blob(r->st, (int)i);
			*c = (struct cell){ CELL_BYTES, 0, c->p ? c->p : "",
					    (size_t)sqlite3_column_bytes(r->st, (int)i) };
			break;
		default:
			c->p = (const char *)sqlite3_column_text(r->st, (int)i);
			*c = (struct cell){ CELL_TEXT, 0, c->p ? c->p : "",
					    (size_t)sqlite3_column_bytes(r->st, (int)i) };
			break;
		}
	}
}

/* The next row into r->cells: 1, 0 at the end, -1 on errors. */
static int
reader_next(struct reader *r, struct err *e)
{
	if (is_pg(r->s)) {
		reader_clear_row(r);
		r->row = PQgetResult(pg_conn(r->s));
		if (PQresultStatus(r->row) == PGRES_SINGLE_TUPLE) {
			cells_from_pg(r);
			return 1;
		}
		if (PQresultStatus(r->row) == PGRES_TUPLES_OK)
			return 0;
		return pg_fail(r->s, r->row, "cannot read the store", e);
	}
	switch (sqlite3_step(r->st)) {
	case SQLITE_ROW:
		cells_from_sqlite(r);
		return 1;
	case SQLITE_DONE:
		return 0;
	default:
		return store_error(r->s, e, "cannot read the store");
	}
}

static void
reader_close(struct reader *r)
{
	if (is_pg(r->s)) {
		PGresult *rest;

		reader_clear_row(r);
		while ((rest = PQgetResult(pg_conn(r->s))))
			PQclear(rest);
	}
	sqlite3_finalize(r->st);
	free(r->bytes);
	free(r->cells);
}

/* ---- writing rows ---- */

struct writer {
	struct store *s;
	const struct columns *c;
	const char *table;
	sqlite3_stmt *st; /* SQLite; PostgreSQL: COPY, or one upsert a row for state */
	struct buf copy;
	bool upsert;
};

#define COPY_CHUNK (256 * 1024)

static int
writer_open(struct writer *w, struct store *s, const char *table, const struct columns *c,
	    struct err *e)
{
	struct buf sql = BUF_INIT;
	int rc = 0;

	*w = (struct writer){ .s = s, .c = c, .table = table, .copy = BUF_INIT,
			      .upsert = strcmp(table, "state") == 0 };
	if (is_pg(s)) {
		if (!w->upsert) {
			buf_addf(&sql, "COPY %s (", table);
			column_list(c, &sql);
			buf_addstr(&sql, ") FROM STDIN");
			PGresult *r = PQexec(pg_conn(s), buf_cstr(&sql));

			if (PQresultStatus(r) != PGRES_COPY_IN)
				rc = pg_fail(s, r, "cannot write the store", e);
			PQclear(r);
		}
	} else {
		buf_addf(&sql, "INSERT %sINTO %s (", w->upsert ? "OR REPLACE " : "", table);
		column_list(c, &sql);
		buf_addstr(&sql, ") VALUES (");
		for (size_t i = 0; i < c->n; i++)
			buf_addstr(&sql, i ? ", ?" : "?");
		buf_addch(&sql, ')');
		if (sqlite3_prepare_v2(store_db(s), buf_cstr(&sql), -1, &w->st, NULL) != SQLITE_OK)
			rc = store_error(s, e, "cannot write the store");
	}
	buf_release(&sql);
	return rc;
}

/* A value in COPY's text format. */
static void
copy_value(struct buf *b, const struct cell *c, bool bytes)
{
	static const char hex[] = "0123456789abcdef";

	if (c->kind == CELL_NULL) {
		buf_addstr(b, "\\N");
	} else if (c->kind == CELL_INT) {
		buf_addf(b, "%lld", (long long)c->i);
	} else if (bytes || c->kind == CELL_BYTES) {
		buf_addstr(b, "\\\\x");
		for (size_t k = 0; k < c->len; k++) {
			buf_addch(b, hex[(unsigned char)c->p[k] >> 4]);
			buf_addch(b, hex[(unsigned char)c->p[k] & 15]);
		}
	} else {
		for (size_t k = 0; k < c->len; k++) {
			char ch = c->p[k];

			if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
				buf_addch(b, '\\');
				ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : ch;
			}
			buf_addch(b, ch);
		}
	}
}

static int
copy_flush(struct writer *w, struct err *e)
{
	if (w->copy.len && PQputCopyData(pg_conn(w->s), w->copy.data, (int)w->copy.len) != 1)
		return pg_fail(w->s, NULL, "cannot write the store", e);
	buf_reset(&w->copy);
	return 0;
}

/* state on PostgreSQL: the target's rows (made with its schema) give way. */
static int
pg_upsert_state(struct writer *w, const struct cell *cells, struct err *e)
{
	struct pg_args q = { 0 };
	char *sql;
	int rc;

	if (w->c->n != 2 || cells[0].kind != CELL_TEXT || cells[1].kind == CELL_BYTES)
		return err_set(e, EXIT_DATAERR, "store '%s': unexpected state row",
			       store_path(w->s));
	pg_arg_text(&q, cells[0].p);
	/* SQLite may hold a number where PostgreSQL has text. */
	if (cells[1].kind == CELL_INT)
		pg_arg_int(&q, cells[1].i);
	else
		pg_arg_text(&q, cells[1].kind == CELL_NULL ? NULL : cells[1].p);
	sql = xasprintf("INSERT INTO state (%s, %s) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE"
			" SET value = excluded.value", w->c->v[0].name, w->c->v[1].name);
	rc = pg_do(w->s, sql, &q, NULL, "cannot write the store", e);
	free(sql);
	return rc;
}

static int
writer_put(struct writer *w, const struct cell *cells, struct err *e)
{
	if (is_pg(w->s) && w->upsert)
		return pg_upsert_state(w, cells, e);
	if (is_pg(w->s)) {
		for (size_t i = 0; i < w->c->n; i++) {
			if (i)
				buf_addch(&w->copy, '\t');
			copy_value(&w->copy, &cells[i], w->c->v[i].bytes);
		}
		buf_addch(&w->copy, '\n');
		return w->copy.len >= COPY_CHUNK ? copy_flush(w, e) : 0;
	}
	sqlite3_reset(w->st);
	for (size_t i = 0; i < w->c->n; i++) {
		const struct cell *c = &cells[i];
		int col = (int)i + 1;

		if (c->kind == CELL_NULL)
			sqlite3_bind_null(w->st, col);
		else if (c->kind == CELL_INT)
			sqlite3_bind_int64(w->st, col, c->i);
		else if (c->kind == CELL_BYTES || w->c->v[i].bytes)
			sqlite3_bind_blob64(w->st, col, c->len ? c->p : "", c->len, SQLITE_STATIC);
		else
			sqlite3_bind_text64(w->st, col, c->p, c->len, SQLITE_STATIC, SQLITE_UTF8);
	}
	if (sqlite3_step(w->st) != SQLITE_DONE)
		return store_error(w->s, e, "cannot write the store");
	return 0;
}

static int
writer_close(struct writer *w, bool ok, struct err *e)
{
	int rc = 0;

	if (is_pg(w->s) && !w->upsert) {
		PGresult *r;

		if (ok && copy_flush(w, e) < 0)
			ok = false, rc = -1;
		if (PQputCopyEnd(pg_conn(w->s), ok ? NULL : "copy abandoned") != 1 && rc == 0)
			rc = pg_fail(w->s, NULL, "cannot write the store", e);
		while ((r = PQgetResult(pg_conn(w->s)))) {
			if (ok && rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
				rc = pg_fail(w->s, r, "cannot write the store", e);
			PQclear(r);
		}
	}
	sqlite3_finalize(w->st);
	buf_release(&w->copy);
	return rc;
}

/* ---- the copy ---- */

static int
count_rows(struct store *s, const char *table, int64_t *n, struct err *e)
{
	char *sql = xasprintf("SELECT count(*) FROM %s%s", table,
			      strcmp(table, "state") == 0 ? " WHERE key <> 'store_id'" : "");
	int rc = 0;

	if (is_pg(s)) {
		rc = pg_first_int(s, sql, NULL, n, "cannot count rows", e) < 0 ? -1 : 0;
	} else {
		sqlite3_stmt *st = store_prepare(s, sql, e);

		if (!st || sqlite3_step(st) != SQLITE_ROW)
			rc = st ? store_error(s, e, "cannot count rows") : -1;
		else
			*n = sqlite3_column_int64(st, 0);
		if (st)
			sqlite3_reset(st);
	}
	free(sql);
	return rc;
}

static int
refuse_nonempty(struct store *to, struct err *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(desk_tables); i++) {
		int64_t n = 0;

		if (count_rows(to, desk_tables[i], &n, e) < 0)
			return -1;
		if (n > 0)
			return err_set(e, EXIT_CANTCREAT, "store '%s' is not empty (%lld rows in %s):"
				       " db copy writes into an empty store only", store_path(to),
				       (long long)n, desk_tables[i]);
	}
	return 0;
}

static int
copy_table(struct store *from, struct store *to, const char *table, struct err *e)
{
	struct columns fc, tc, shared = { 0 };
	struct reader r;
	struct writer w;
	int rc = -1, got = 0;

	if (columns_of(from, table, &fc, e) < 0)
		return -1;
	if (columns_of(to, table, &tc, e) < 0) {
		columns_release(&fc);
		return -1;
	}
	columns_shared(&fc, &tc, &shared);
	if (reader_open(&r, from, table, &shared, e) < 0)
		goto out;
	if (writer_open(&w, to, table, &shared, e) == 0) {
		while ((got = reader_next(&r, e)) > 0)
			if (writer_put(&w, r.cells, e) < 0) {
				got = -1;
				break;
			}
		rc = writer_close(&w, got == 0, got < 0 ? &(struct err)ERR_INIT : e) < 0 ||
				     got < 0
			     ? -1
			     : 0;
	}
	reader_close(&r);
out:
	if (rc < 0)
		err_prefix(e, "copying %s", table);
	columns_release(&fc);
	columns_release(&tc);
	columns_release(&shared);
	return rc;
}

static int
set_sequences(struct store *to, struct err *e)
{
	if (!is_pg(to))
		return 0; /* SQLite's next rowid follows the largest */
	for (size_t i = 0; i < ARRAY_SIZE(id_tables); i++) {
		char *sql = xasprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'),"
				      " coalesce(max(id), 1), max(id) IS NOT NULL) FROM %s",
				      id_tables[i], id_tables[i]);
		int rc = pg_do(to, sql, NULL, NULL, "cannot set the id sequences", e);

		free(sql);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* A consistent view of the source for the whole copy: a read transaction. */
static int
source_begin(struct store *from, struct err *e)
{
	if (is_pg(from))
		return pg_do(from, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, NULL,
			     "cannot begin", e);
	return store_exec(from, "BEGIN", e);
}

static void
source_end(struct store *from)
{
	struct err ignored = ERR_INIT;

	if (is_pg(from))
		pg_do(from, "ROLLBACK", NULL, NULL, "cannot roll back", &ignored);
	else
		store_exec(from, "ROLLBACK", &ignored);
}

static int
copy_all(struct store *from, struct store *to, struct err *e)
{
	int rc = -1;

	if (refuse_nonempty(to, e) < 0 || source_begin(from, e) < 0)
		return -1;
	if (store_begin(to, e) < 0)
		goto out;
	/* Tickets refer to tickets (merged, related): SQLite checks the
	 * references at the commit; PostgreSQL's COPY at the end of each table. */
	if (!is_pg(to) && store_exec(to, "PRAGMA defer_foreign_keys = ON", e) < 0)
		goto fail;
	for (const char *const *t = pg_schema_tables; *t; t++)
		if (copy_table(from, to, *t, e) < 0)
			goto fail;
	if (set_sequences(to, e) < 0 || store_commit(to, e) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	store_rollback(to);
out:
	source_end(from);
	return rc;
}

int
store_copy(struct store *from, struct store *to,
	   int (*each)(void *arg, const char *table, int64_t from_rows, int64_t to_rows),
	   void *arg, struct err *e)
{
	int differ = 0;

	if (copy_all(from, to, e) < 0 || search_index_update(to, -1, NULL, e) < 0)
		return -1;
	for (const char *const *t = pg_schema_tables; *t; t++) {
		int64_t a = 0, b = 0;

		if (count_rows(from, *t, &a, e) < 0 || count_rows(to, *t, &b, e) < 0)
			return -1;
		differ += a != b;
		if (each && each(arg, *t, a, b) < 0)
			return -1;
	}
	if (differ)
		return err_set(e, EXIT_SOFTWARE, "store '%s': %d tables have other counts than in "
			       "'%s'", store_path(to), differ, store_path(from));
	return 0;
}
