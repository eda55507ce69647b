/* pg_run.h - running statements for the PostgreSQL areas (private to
 * src/store/): values always as parameters ($1, $2, ...), never in the SQL
 * text; errors worded by pg_core's pg_fail. */
#ifndef SECDESK_PG_RUN_H
#define SECDESK_PG_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pq.h"

struct store;

#define PG_ARGS_MAX 32

/* The parameters of one statement, in order; a value given as text
 * points at the caller's string, which must live until the statement ran. */
struct pg_args {
	int n;
	bool overflow; /* more than PG_ARGS_MAX given: the statement is refused */
	const char *val[PG_ARGS_MAX];
	int len[PG_ARGS_MAX];
	int fmt[PG_ARGS_MAX];
	char num[PG_ARGS_MAX][24];
};

#define PG_ARGS_INIT { 0 }

void pg_arg_text(struct pg_args *a, const char *v); /* NULL: SQL NULL */
void pg_arg_int(struct pg_args *a, int64_t v);
void pg_arg_bytes(struct pg_args *a, const void *p, size_t n); /* a bytea */
void pg_arg_ref(struct pg_args *a, int64_t id); /* id <= 0: SQL NULL (no reference) */
void pg_arg_bool(struct pg_args *a, bool v);

/* items as a text[] literal, each element quoted (xmalloc), for one
 * parameter ($1::text[]); NULL past buf's cap. */
char *pg_text_array(const char *const *items, size_t n);

/* Runs sql: the result (the caller PQclears it), or NULL with e set.
 * binary: every column comes in binary form (a bytea as its bytes; cast
 * numbers to text in such a query: text is the same in both forms). */
PGresult *pg_run(struct store *s, const char *sql, const struct pg_args *a, bool binary,
		 const char *what, struct err *e);
/* Runs sql for its effect: 0 (*rows, unless NULL, the rows it changed or
 * returned) or -1 with e set. */
int pg_do(struct store *s, const char *sql, const struct pg_args *a, int64_t *rows,
	  const char *what, struct err *e);
/* Runs sql for its effect without waiting for it, in a transaction (see
 * pg_core.h's pg_send): a failure is reported, under what, by a later
 * statement of the transaction or its commit. 0, or -1 with e set. */
int pg_do_ahead(struct store *s, const char *sql, const struct pg_args *a, const char *what,
		struct err *e);
/* The first column of sql's first row as a number (NULL: 0) into *out:
 * 1 when there was a row, 0 when none (*out 0), -1 with e set. */
int pg_first_int(struct store *s, const char *sql, const struct pg_args *a, int64_t *out,
		 const char *what, struct err *e);
/* Each row of sql in turn, fetched one at a time (a large result is never
 * held whole): each(arg, row) sees a result of one row. A non-zero return
 * from each stops the walk (the rest is read and dropped) and is returned. */
int pg_each_row(struct store *s, const char *sql, const struct pg_args *a, bool binary,
		int (*each)(void *arg, const PGresult *row), void *arg, const char *what,
		struct err *e);

/* Column values of row r: a number (NULL: 0), text (NULL: "") or NULL. */
int64_t pg_int(const PGresult *res, int r, int col);
const char *pg_text(const PGresult *res, int r, int col);
const char *pg_text_or_null(const PGresult *res, int r, int col);
/* A binary-form column's bytes as a NUL-terminated copy (xmalloc). */
void *pg_copy_bytes(const PGresult *res, int r, int col, size_t *len);
/* A text-form bytea column decoded, as a NUL-terminated copy (xmalloc);
 * NULL gives "". */
char *pg_unescape_bytes(const PGresult *res, int r, int col, size_t *len);

#endif
