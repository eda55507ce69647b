/* pg_query.h - running parameterised statements for the PostgreSQL
 * backend's areas (private to src/store/). Every value is a parameter,
 * never spliced into SQL text. */
#ifndef SECDESK_PG_QUERY_H
#define SECDESK_PG_QUERY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct store;

#define PGQ_MAX 16

/* The parameters of one statement, $1 to $n in order of the calls. */
struct pgq {
	int n;
	const char *v[PGQ_MAX];
	int len[PGQ_MAX];
	int fmt[PGQ_MAX]; /* 1: binary (bytea) */
	char num[PGQ_MAX][24];
};

void pgq_int(struct pgq *q, int64_t v);
/* t NULL: SQL NULL. */
void pgq_text(struct pgq *q, const char *t);
/* v <= 0: SQL NULL (an absent reference). */
void pgq_ref(struct pgq *q, int64_t v);
void pgq_bool(struct pgq *q, bool v);
void pgq_bytes(struct pgq *q, const void *data, size_t len);

/* Runs sql with q's parameters (q may be NULL); the result when it is
 * rows or a command's success, else NULL with e set ("what: reason").
 * Text results; the caller PQclear()s. */
PGresult *pgq_exec(struct store *s, const char *sql, const struct pgq *q, const char *what,
		   struct err *e);
/* The same, for a statement whose result is not needed. */
int pgq_do(struct store *s, const char *sql, const struct pgq *q, const char *what,
	   struct err *e);
/* The first column of the first row as an int64; 0 when no row or NULL.
 * 1 a row, 0 none, -1 error. */
int pgq_int64(struct store *s, const char *sql, const struct pgq *q, int64_t *out,
	      const char *what, struct err *e);

/* A result's value as int64 (NULL: 0), as text (NULL: ""), or copied. */
int64_t pgq_get_int(const PGresult *r, int row, int col);
const char *pgq_get_text(const PGresult *r, int row, int col);
/* A bytea column (text format) decoded, NUL-terminated; *len its size. */
char *pgq_get_bytes(const PGresult *r, int row, int col, size_t *len);

#endif
