/* Parameterised statements for the PostgreSQL backend's areas (pg_query.h). */
#include "compat.h"

#include "pg_core.h"
#include "pg_query.h"
#include "xalloc.h"

static void
add(struct pgq *q, const char *v, int len, int fmt)
{
	/* The SQL is the program's own: too many parameters is a bug. */
	if (q->n >= PGQ_MAX)
		abort();
	q->v[q->n] = v;
	q->len[q->n] = len;
	q->fmt[q->n] = fmt;
	q->n++;
}

void
pgq_int(struct pgq *q, int64_t v)
{
	if (q->n < PGQ_MAX)
		snprintf(q->num[q->n], sizeof(q->num[0]), "%lld", (long long)v);
	add(q, q->num[q->n], 0, 0);
}

void
pgq_text(struct pgq *q, const char *t)
{
	add(q, t, 0, 0);
}

void
pgq_ref(struct pgq *q, int64_t v)
{
	if (v > 0)
		pgq_int(q, v);
	else
		add(q, NULL, 0, 0);
}

void
pgq_bool(struct pgq *q, bool v)
{
	add(q, v ? "t" : "f", 0, 0);
}

void
pgq_bytes(struct pgq *q, const void *data, size_t len)
{
	/* A bytea in binary format is its bytes; "" for none, never NULL. */
	add(q, len ? data : "", (int)len, 1);
}

PGresult *
pgq_exec(struct store *s, const char *sql, const struct pgq *q, const char *what,
	 struct err *e)
{
	PGresult *r = PQexecParams(pg_conn(s), sql, q ? q->n : 0, NULL, q ? q->v : NULL,
				   q ? q->len : NULL, q ? q->fmt : NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	pg_fail(s, r, what, e);
	PQclear(r);
	return NULL;
}

int
pgq_do(struct store *s, const char *sql, const struct pgq *q, const char *what, struct err *e)
{
	PGresult *r = pgq_exec(s, sql, q, what, e);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

int
pgq_int64(struct store *s, const char *sql, const struct pgq *q, int64_t *out, const char *what,
	  struct err *e)
{
	PGresult *r = pgq_exec(s, sql, q, what, e);
	int found;

	*out = 0;
	if (!r)
		return -1;
	found = PQntuples(r) > 0;
	if (found)
		*out = pgq_get_int(r, 0, 0);
	PQclear(r);
	return found;
}

int64_t
pgq_get_int(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const char *
pgq_get_text(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

char *
pgq_get_bytes(const PGresult *r, int row, int col, size_t *len)
{
	size_t n = 0;
	unsigned char *raw = PQgetisnull(r, row, col)
				     ? NULL
				     : PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
	char *out = xmalloc(n + 1);

	if (raw && n)
		memcpy(out, raw, n);
	out[n] = '\0';
	PQfreemem(raw);
	*len = n;
	return out;
}
