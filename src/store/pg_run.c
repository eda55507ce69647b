/* Statements for the PostgreSQL areas (pg_run.h). */
#include "compat.h"

#include <inttypes.h>

#include "buf.h"
#include "pg_core.h"
#include "pg_run.h"
#include "xalloc.h"

static bool
arg_room(struct pg_args *a)
{
	if (a->n < PG_ARGS_MAX)
		return true;
	a->overflow = true;
	return false;
}

void
pg_arg_text(struct pg_args *a, const char *v)
{
	if (!arg_room(a))
		return;
	a->val[a->n] = v;
	a->len[a->n] = 0;
	a->fmt[a->n++] = 0;
}

void
pg_arg_int(struct pg_args *a, int64_t v)
{
	if (!arg_room(a))
		return;
	snprintf(a->num[a->n], sizeof(a->num[0]), "%" PRId64, v);
	pg_arg_text(a, a->num[a->n]);
}

void
pg_arg_bytes(struct pg_args *a, const void *p, size_t n)
{
	if (!arg_room(a))
		return;
	/* libpq takes a NULL value as SQL NULL: empty bytes need a pointer. */
	a->val[a->n] = p ? p : "";
	a->len[a->n] = (int)n;
	a->fmt[a->n++] = 1;
}

void
pg_arg_ref(struct pg_args *a, int64_t id)
{
	if (id > 0)
		pg_arg_int(a, id);
	else
		pg_arg_text(a, NULL);
}

void
pg_arg_bool(struct pg_args *a, bool v)
{
	pg_arg_text(a, v ? "t" : "f");
}

char *
pg_text_array(const char *const *items, size_t n)
{
	struct buf b;
	int bad = 0;

	buf_init(&b, 0);
	bad |= buf_addch(&b, '{');
	for (size_t i = 0; i < n; i++) {
		bad |= buf_addstr(&b, i ? ",\"" : "\"");
		for (const char *p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				bad |= buf_addch(&b, '\\');
			bad |= buf_addch(&b, *p);
		}
		bad |= buf_addch(&b, '"');
	}
	bad |= buf_addch(&b, '}');
	if (bad) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static bool
args_ok(struct store *s, const struct pg_args *a, const char *what, struct err *e)
{
	if (!a || !a->overflow)
		return true;
	(void)s;
	err_set(e, EXIT_SOFTWARE, "%s: more than %d parameters to one statement", what,
		PG_ARGS_MAX);
	return false;
}

static int
send_statement(struct store *s, const char *sql, const struct pg_args *a, bool binary,
	       bool ahead, const char *what, struct err *e)
{
	struct pg_values v = {
		.n = a ? a->n : 0,
		.val = a ? a->val : NULL,
		.len = a ? a->len : NULL,
		.fmt = a ? a->fmt : NULL,
		.binary = binary,
	};

	return pg_send(s, sql, &v, ahead, what, e);
}

/* The result of the statement just sent, or NULL with e set. */
static PGresult *
sent_result(struct store *s, const char *what, struct err *e)
{
	PGresult *res;
	ExecStatusType st;

	if (pg_result(s, &res, what, e) < 0)
		return NULL;
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	pg_fail(s, res, what, e);
	PQclear(res);
	return NULL;
}

PGresult *
pg_run(struct store *s, const char *sql, const struct pg_args *a, bool binary,
       const char *what, struct err *e)
{
	if (!args_ok(s, a, what, e) || send_statement(s, sql, a, binary, false, what, e) < 0)
		return NULL;
	return sent_result(s, what, e);
}

int
pg_do(struct store *s, const char *sql, const struct pg_args *a, int64_t *rows,
      const char *what, struct err *e)
{
	PGresult *res = pg_run(s, sql, a, false, what, e);

	if (!res)
		return -1;
	if (rows)
		*rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

int
pg_do_ahead(struct store *s, const char *sql, const struct pg_args *a, const char *what,
	    struct err *e)
{
	PGresult *res;
	int sent;

	if (!args_ok(s, a, what, e))
		return -1;
	sent = send_statement(s, sql, a, false, true, what, e);
	if (sent != 0)
		return sent < 0 ? -1 : 0;
	/* Not in a transaction: run at once. */
	if (!(res = sent_result(s, what, e)))
		return -1;
	PQclear(res);
	return 0;
}

int
pg_first_int(struct store *s, const char *sql, const struct pg_args *a, int64_t *out,
	     const char *what, struct err *e)
{
	PGresult *res = pg_run(s, sql, a, false, what, e);
	int found;

	*out = 0;
	if (!res)
		return -1;
	found = PQntuples(res) > 0;
	if (found)
		*out = pg_int(res, 0, 0);
	PQclear(res);
	return found;
}

/* Reads what is left of a query sent, so that the connection is ready for
 * the next; the first failure, if any, into e (unless e is set already). */
static int
drain(struct store *s, const char *what, bool failed, struct err *e)
{
	PGresult *res;

	while ((res = PQgetResult(pg_conn(s)))) {
		ExecStatusType st = PQresultStatus(res);

		if (!failed && st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK &&
		    st != PGRES_COMMAND_OK) {
			pg_fail(s, res, what, e);
			failed = true;
		}
		PQclear(res);
	}
	return failed ? -1 : 0;
}

int
pg_each_row(struct store *s, const char *sql, const struct pg_args *a, bool binary,
	    int (*each)(void *arg, const PGresult *row), void *arg, const char *what,
	    struct err *e)
{
	PGconn *c;
	PGresult *res;
	int stop = 0;

	/* Rows one at a time: not in a pipeline. */
	if (!args_ok(s, a, what, e) || pg_settle(s, e) < 0 ||
	    send_statement(s, sql, a, binary, false, what, e) < 0)
		return -1;
	c = pg_conn(s);
	if (!PQsetSingleRowMode(c)) {
		drain(s, what, true, e);
		return pg_fail(s, NULL, what, e);
	}
	while (!stop && (res = PQgetResult(c))) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE) {
			stop = each(arg, res);
		} else if (st != PGRES_TUPLES_OK) {
			pg_fail(s, res, what, e);
			PQclear(res);
			drain(s, what, true, e);
			return -1;
		}
		PQclear(res);
	}
	if (drain(s, what, false, e) < 0)
		return -1;
	return stop;
}

int64_t
pg_int(const PGresult *res, int r, int col)
{
	return PQgetisnull(res, r, col) ? 0 : strtoll(PQgetvalue(res, r, col), NULL, 10);
}

const char *
pg_text(const PGresult *res, int r, int col)
{
	return PQgetisnull(res, r, col) ? "" : PQgetvalue(res, r, col);
}

const char *
pg_text_or_null(const PGresult *res, int r, int col)
{
	return PQgetisnull(res, r, col) ? NULL : PQgetvalue(res, r, col);
}

void *
pg_copy_bytes(const PGresult *res, int r, int col, size_t *len)
{
	char *out;

	*len = (size_t)PQgetlength(res, r, col);
	out = xmalloc(*len + 1);
	if (*len)
		memcpy(out, PQgetvalue(res, r, col), *len);
	out[*len] = '\0';
	return out;
}

char *
pg_unescape_bytes(const PGresult *res, int r, int col, size_t *len)
{
	size_t n = 0;
	unsigned char *raw = PQgetisnull(res, r, col)
		? NULL
		: PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, col), &n);
	char *out = xmalloc(n + 1);

	if (raw && n)
		memcpy(out, raw, n);
	out[n] = '\0';
	PQfreemem(raw);
	*len = n;
	return out;
}
