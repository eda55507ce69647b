/* The search area in SQLite, its writer side (search_index.h): an FTS5
 * index in a file of its own attached to the store's connection, kept up
 * to date from the store by message id. */
#include "compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filemode.h"
#include "log.h"
#include "backend.h"
#include "search_index.h"
#include "search_ops.h"
#include "sqlite_tokenizer.h"
#include "store_sqlite.h"
#include "xalloc.h"

/* The index's own schema. state: 'upto' (the highest message id seen),
 * 'upto_mark' (that message's created time and Message-ID: a store
 * restored from a backup has another message under that id, or none) and
 * 'store' (the store's id: an index copied beside another store). */
static const char index_schema[] =
	"CREATE TABLE IF NOT EXISTS " SEARCH_SCHEMA ".search_state ("
	"  key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE VIRTUAL TABLE IF NOT EXISTS " SEARCH_SCHEMA ".messages_fts USING fts5("
	"  subject, body, names, content='',"
	"  tokenize='" SQLITE_TOKENIZER_NAME "');";

/* An index made with another tokenizer (before words were folded) finds
 * nothing the queries fold: its table is made again, and filled again by
 * the next update. */
static int
index_retokenize(struct store *s, struct err *e)
{
	sqlite3_stmt *st;
	bool current = false;

	if (sqlite3_prepare_v2(store_db(s), "SELECT sql FROM " SEARCH_SCHEMA ".sqlite_schema"
			       " WHERE name = 'messages_fts'", -1, &st, NULL) != SQLITE_OK)
		return store_error(s, e, "cannot read the search index");
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *sql = (const char *)sqlite3_column_text(st, 0);

		current = sql && strstr(sql, "tokenize='" SQLITE_TOKENIZER_NAME "'");
	}
	sqlite3_finalize(st);
	if (current)
		return 0;
	return store_exec(s, "DROP TABLE IF EXISTS " SEARCH_SCHEMA ".messages_fts;"
			  "DELETE FROM " SEARCH_SCHEMA ".search_state", e) < 0 ||
		       store_exec(s, index_schema, e) < 0
		       ? -1
		       : 0;
}

static bool
attached(struct store *s)
{
	sqlite3_stmt *st;
	bool yes = false;

	if (sqlite3_prepare_v2(store_db(s), "SELECT 1 FROM pragma_database_list WHERE name = '"
			       SEARCH_SCHEMA "'", -1, &st, NULL) != SQLITE_OK)
		return false;
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

/* The store's connection cannot create files it attaches (it is opened
 * without SQLITE_OPEN_CREATE): a missing index file is made here, with the
 * desk's mode (filemode.h), since it holds the words of the mail. */
static int
create_index_file(const char *path, struct err *e)
{
	sqlite3 *db = NULL;
	int fd;

	if (access(path, F_OK) == 0)
		return 0;
	fd = filemode_create(AT_FDCWD, path, O_WRONLY);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		return err_set(e, EXIT_CANTCREAT, "search index '%s': %s", path, strerror(errno));
	}
	close(fd);
	/* WAL is a property of the file: set once, before anyone attaches. */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK) {
		err_set(e, EXIT_CANTCREAT, "search index '%s': %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		unlink(path);
		return -1;
	}
	sqlite3_close(db);
	return 0;
}

static int
sqlite_index_attach(struct store *s, struct err *e)
{
	sqlite3_stmt *st;
	char *path;
	int rc;

	if (attached(s))
		return 0;
	path = search_index_path(store_path(s));
	if (create_index_file(path, e) < 0) {
		free(path);
		return -1;
	}
	if (sqlite3_prepare_v2(store_db(s), "ATTACH DATABASE ?1 AS " SEARCH_SCHEMA, -1, &st,
			       NULL) != SQLITE_OK) {
		free(path);
		return store_error(s, e, "cannot open the search index");
	}
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(path);
		return store_error(s, e, "cannot open the search index");
	}
	/* Derived data: a commit need not reach the disk before the next; a
	 * crash loses at most the last updates, which the next one redoes. */
	if (store_exec(s, "PRAGMA " SEARCH_SCHEMA ".journal_mode = WAL", e) < 0 ||
	    store_exec(s, "PRAGMA " SEARCH_SCHEMA ".synchronous = NORMAL", e) < 0 ||
	    store_exec(s, index_schema, e) < 0 || index_retokenize(s, e) < 0 ||
	    sqlite_adopt_side_files(path, e) < 0) {
		struct err ignored = ERR_INIT;

		store_exec(s, "DETACH DATABASE " SEARCH_SCHEMA, &ignored);
		err_prefix(e, "search index");
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

/* The index file is damaged: detach it, remove it and start a new one. */
static int
replace_index(struct store *s, struct err *e)
{
	char *path = search_index_path(store_path(s));
	struct err ignored = ERR_INIT;

	log_warn("search index '%s' is damaged: building it again", path);
	store_exec(s, "DETACH DATABASE " SEARCH_SCHEMA, &ignored);
	unlink(path);
	for (size_t i = 0; sqlite_side_suffixes[i]; i++) {
		char *side = xasprintf("%s%s", path, sqlite_side_suffixes[i]);

		unlink(side);
		free(side);
	}
	free(path);
	return sqlite_index_attach(s, e);
}

/* The text in the first column of sql's first row (*out NULL when none),
 * sql bound to key when given, else to id. */
static int
one_text(struct store *s, const char *sql, const char *key, int64_t id, char **out,
	 struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, sql, e);
	int rc;

	*out = NULL;
	if (!st)
		return -1;
	if (key)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*out = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the search index");
	return 0;
}

static int
set_state(struct store *s, const char *key, const char *value, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO " SEARCH_SCHEMA ".search_state (key, value)"
				      " VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value ="
				      " excluded.value", e);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot update the search index");
	}
	sqlite3_reset(st);
	return 0;
}

static const char index_state_sql[] =
	"SELECT value FROM " SEARCH_SCHEMA ".search_state WHERE key = ?1";
static const char store_state_sql[] = "SELECT value FROM main.state WHERE key = ?1";
/* What tells a message apart from another that took its id in a store
 * restored from a backup: its time and Message-ID. */
static const char mark_sql[] =
	"SELECT created || ' ' || message_id FROM main.messages WHERE id = ?1";

/* Whether what the index has seen is this store's: the same store id, and
 * the message it saw last still there unchanged. */
static int
index_is_current(struct store *s, int64_t upto, bool *current, struct err *e)
{
	char *store_id = NULL, *seen_store = NULL, *mark = NULL, *seen_mark = NULL;
	int rc = -1;

	*current = false;
	if (one_text(s, store_state_sql, "store_id", 0, &store_id, e) < 0 ||
	    one_text(s, index_state_sql, "store", 0, &seen_store, e) < 0 ||
	    one_text(s, index_state_sql, "upto_mark", 0, &seen_mark, e) < 0 ||
	    (upto > 0 && one_text(s, mark_sql, NULL, upto, &mark, e) < 0))
		goto out;
	*current = seen_store && store_id && strcmp(seen_store, store_id) == 0 &&
		   (upto == 0 || (mark && seen_mark && strcmp(mark, seen_mark) == 0));
	rc = 0;
out:
	free(store_id);
	free(seen_store);
	free(mark);
	free(seen_mark);
	return rc;
}

static int64_t
index_upto(struct store *s, struct err *e)
{
	char *v = NULL;
	int64_t upto;

	if (one_text(s, index_state_sql, "upto", 0, &v, e) < 0)
		return -1;
	upto = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	return upto;
}

/* Empties the index and records which store it now follows. In the
 * caller's transaction. */
static int
index_reset(struct store *s, struct err *e)
{
	char *store_id = NULL;
	int rc;

	if (store_exec(s, "INSERT INTO " SEARCH_SCHEMA ".messages_fts (messages_fts)"
		       " VALUES ('delete-all')", e) < 0 ||
	    store_exec(s, "DELETE FROM " SEARCH_SCHEMA ".search_state", e) < 0 ||
	    one_text(s, store_state_sql, "store_id", 0, &store_id, e) < 0)
		return -1;
	rc = set_state(s, "store", store_id ? store_id : "", e);
	free(store_id);
	return rc;
}

/* Adds the messages after upto to the index, in the caller's transaction. */
static int
index_after(struct store *s, int64_t upto, int64_t *added, struct err *e)
{
	sqlite3_stmt *st;
	int64_t last = 0;
	char num[32], *mark = NULL;
	int rc;

	st = store_prepare(s, "SELECT max(id) FROM main.messages", e);
	if (!st)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_error(s, e, "cannot read the messages");
	if (last <= upto)
		return 0;
	st = store_prepare(s, "INSERT INTO " SEARCH_SCHEMA ".messages_fts (rowid, subject, body,"
			   " names) SELECT id, subject, body, names FROM main.messages"
			   " WHERE id > ?1 AND id <= ?2 AND kind NOT IN ('ack', 'notice', 'remind')"
			   " ORDER BY id", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, upto);
	sqlite3_bind_int64(st, 2, last);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot index messages");
	}
	sqlite3_reset(st);
	if (added)
		*added += sqlite3_changes(store_db(s));
	snprintf(num, sizeof(num), "%lld", (long long)last);
	if (one_text(s, mark_sql, NULL, last, &mark, e) < 0)
		return -1;
	rc = set_state(s, "upto", num, e) < 0 || set_state(s, "upto_mark", mark ? mark : "", e) < 0
		     ? -1
		     : 0;
	free(mark);
	return rc;
}

/* One update (or, with reset, a rebuild) in one transaction. The first
 * statement writes the index, so that its write lock is taken (and
 * waited for) before anything is read. */
static int
update_once(struct store *s, bool reset, int64_t *added, struct err *e)
{
	int64_t upto;
	bool current = true;

	if (store_exec(s, "BEGIN", e) < 0)
		return -1;
	if (store_exec(s, "UPDATE " SEARCH_SCHEMA ".search_state SET value = value"
		       " WHERE key = 'upto'", e) < 0 ||
	    (upto = index_upto(s, e)) < 0 ||
	    (!reset && index_is_current(s, upto, &current, e) < 0))
		goto fail;
	if (reset || !current) {
		if (!reset && upto > 0)
			log_info("search index: built again (it was not this store's, or older)");
		if (index_reset(s, e) < 0)
			goto fail;
		upto = 0;
	}
	if (index_after(s, upto, added, e) < 0 || store_exec(s, "COMMIT", e) < 0)
		goto fail;
	return 0;
fail:
	{
		struct err ignored = ERR_INIT;

		store_exec(s, "ROLLBACK", &ignored);
	}
	return -1;
}

static int
sqlite_index_update(struct store *s, int wait_ms, bool reset, int64_t *added, struct err *e)
{
	int rc;

	if (added)
		*added = 0;
	if (sqlite_index_attach(s, e) < 0) {
		if (e->code != EXIT_DATAERR)
			return -1;
		*e = (struct err)ERR_INIT;
		if (replace_index(s, e) < 0)
			return -1;
	}
	if (wait_ms >= 0)
		store_set_busy_wait(s, wait_ms);
	rc = update_once(s, reset, added, e);
	if (rc < 0 && e->code == EXIT_DATAERR) {
		*e = (struct err)ERR_INIT;
		rc = replace_index(s, e) < 0 ? -1 : update_once(s, true, added, e);
	}
	if (wait_ms >= 0)
		store_restore_busy_timeout(s);
	if (rc < 0)
		err_prefix(e, "search index");
	return rc;
}

static int
sqlite_index_status(struct store *s, int64_t *upto, int64_t *pending, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite_index_attach(s, e) < 0 || (*upto = index_upto(s, e)) < 0)
		return -1;
	st = store_prepare(s, "SELECT count(*) FROM main.messages WHERE id > ?1"
			   " AND kind NOT IN ('ack', 'notice', 'remind')", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, *upto);
	rc = sqlite3_step(st);
	*pending = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_error(s, e, "cannot read the search index");
	return 0;
}

static int
sqlite_index_current(struct store *s, bool *current, struct err *e)
{
	int64_t upto;

	*current = false;
	if (sqlite_index_attach(s, e) < 0 || (upto = index_upto(s, e)) < 0)
		return -1;
	/* An index that has seen nothing holds nothing wrong: it is only behind. */
	if (upto == 0) {
		*current = true;
		return 0;
	}
	return index_is_current(s, upto, current, e);
}

const struct store_search_ops sqlite_search_ops = {
	.index_attach = sqlite_index_attach,
	.index_update = sqlite_index_update,
	.index_status = sqlite_index_status,
	.query = sqlite_search_query,
	.index_current = sqlite_index_current,
};
