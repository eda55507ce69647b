/* The key/value state in PostgreSQL's state table (store_state.h), as
 * sqlite_state.c keeps it. */
#include "compat.h"

#include "backend.h"
#include "pg_run.h"
#include "state_ops.h"

static int
pg_state_get(struct store *s, const char *key, char *out, size_t n, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;
	PGresult *res;
	size_t len;
	int rc = 1;

	pg_arg_text(&a, key);
	res = pg_run(s, "SELECT value FROM state WHERE key = $1", &a, false, "reading the state",
		     e);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	len = strlen(pg_text(res, 0, 0));
	if (len >= n)
		rc = err_set(e, EXIT_SOFTWARE, "state '%s': value longer than %zu bytes", key,
			     n ? n - 1 : 0);
	else
		memcpy(out, pg_text(res, 0, 0), len + 1);
	PQclear(res);
	return rc;
}

static int
pg_state_set(struct store *s, const char *key, const char *value, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_text(&a, key);
	pg_arg_text(&a, value);
	return pg_do(s, "INSERT INTO state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO "
		     "UPDATE SET value = excluded.value", &a, NULL, "writing the state", e);
}

static int
pg_state_delete(struct store *s, const char *key, struct err *e)
{
	struct pg_args a = PG_ARGS_INIT;

	pg_arg_text(&a, key);
	return pg_do(s, "DELETE FROM state WHERE key = $1", &a, NULL, "writing the state", e);
}

const struct store_state_ops pg_state_ops = {
	.get = pg_state_get,
	.set = pg_state_set,
	.del = pg_state_delete,
};
