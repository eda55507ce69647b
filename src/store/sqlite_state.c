/* The key/value state in SQLite's state table (see store_state.h). */
#include "compat.h"

#include <sqlite3.h>

#include "backend.h"
#include "state_ops.h"
#include "store_sqlite.h"

static int
sqlite_state_get(struct store *s, const char *key, char *out, size_t n, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT value FROM state WHERE key = ?", e);
	const unsigned char *v;
	size_t len;
	int r;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (r != SQLITE_ROW) {
		store_error(s, e, "reading the state");
		sqlite3_reset(st);
		return -1;
	}
	v = sqlite3_column_text(st, 0);
	len = v ? (size_t)sqlite3_column_bytes(st, 0) : 0;
	if (len >= n) {
		sqlite3_reset(st);
		return err_set(e, EXIT_SOFTWARE, "state '%s': value longer than %zu bytes", key,
			       n ? n - 1 : 0);
	}
	if (len)
		memcpy(out, v, len);
	out[len] = '\0';
	sqlite3_reset(st);
	return 1;
}

static int
sqlite_state_set(struct store *s, const char *key, const char *value, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO state (key, value) VALUES (?, ?) "
					 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", e);
	int r;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r != SQLITE_DONE)
		store_error(s, e, "writing the state");
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : -1;
}

static int
sqlite_state_delete(struct store *s, const char *key, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "DELETE FROM state WHERE key = ?", e);
	int r;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r != SQLITE_DONE)
		store_error(s, e, "writing the state");
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : -1;
}

const struct store_state_ops sqlite_state_ops = {
	.get = sqlite_state_get,
	.set = sqlite_state_set,
	.del = sqlite_state_delete,
};
