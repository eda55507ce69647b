/* The SQLite store: open, migrate, transactions, cached statements. */
#include "compat.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filemode.h"
#include "store.h"
#include "store_schema.h"
#include "syncer.h"
#include "walbuf.h"
#include "xalloc.h"

static int busy_timeout_ms = 30000;
#define STORE_STMT_CACHE 64

struct cached_stmt {
	const char *key; /* the caller's pointer: a literal hits at once */
	char *sql;       /* a copy of the text, for callers with other pointers */
	sqlite3_stmt *stmt;
};

struct store {
	sqlite3 *db;
	char *path;
	bool in_txn;
	int (*before_commit)(void *arg, struct err *e);
	void (*on_rollback)(void *arg);
	void *hook_arg;
	struct cached_stmt cache[STORE_STMT_CACHE];
	int ncache;
};

int
store_error(struct store *s, struct err *e, const char *what)
{
	int code = s && s->db ? sqlite3_extended_errcode(s->db) : SQLITE_ERROR;
	const char *msg = s && s->db ? sqlite3_errmsg(s->db) : "no database";
	int exit_code;

	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		exit_code = EXIT_TEMPFAIL;
		break;
	case SQLITE_FULL:
	case SQLITE_IOERR:
		exit_code = EXIT_IOERR;
		break;
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		exit_code = EXIT_CANTCREAT;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		exit_code = EXIT_DATAERR;
		break;
	default:
		exit_code = EXIT_SOFTWARE;
	}
	return err_set(e, exit_code, "store '%s': %s: %s", s && s->path ? s->path : "?", what,
		       msg);
}

int
store_exec(struct store *s, const char *sql, struct err *e)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_error(s, e, "cannot run statement");
	return 0;
}

sqlite3_stmt *
store_prepare(struct store *s, const char *sql, struct err *e)
{
	sqlite3_stmt *st;

	for (int i = 0; i < s->ncache; i++) {
		/* A stack buffer may come back with other text: confirm. */
		if (s->cache[i].key == sql && strcmp(s->cache[i].sql, sql) == 0) {
			st = s->cache[i].stmt;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	for (int i = 0; i < s->ncache; i++) {
		if (strcmp(s->cache[i].sql, sql) == 0) {
			s->cache[i].key = sql;
			st = s->cache[i].stmt;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		store_error(s, e, "cannot prepare statement");
		return NULL;
	}
	if (s->ncache == STORE_STMT_CACHE) {
		/* Full: drop the oldest. Statements are short-lived in callers. */
		sqlite3_finalize(s->cache[0].stmt);
		free(s->cache[0].sql);
		memmove(s->cache, s->cache + 1, sizeof(s->cache[0]) * (STORE_STMT_CACHE - 1));
		s->ncache--;
	}
	s->cache[s->ncache].key = sql;
	s->cache[s->ncache].sql = xstrdup(sql);
	s->cache[s->ncache].stmt = st;
	s->ncache++;
	return st;
}

int
store_schema_version(void)
{
	return store_schema_steps();
}

/* The value of a PRAGMA that reads a number, or -1. */
static int
pragma_int(struct store *s, const char *pragma)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(s->db, pragma, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
store_file_version(struct store *s)
{
	return pragma_int(s, "PRAGMA user_version");
}

static int
check_pragma(struct store *s, const char *sql, bool ok_is_row, struct err *e)
{
	sqlite3_stmt *st;
	char msg[600] = "";
	size_t off = 0;
	int rc, bad = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_error(s, e, "cannot check");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (ok_is_row && t && strcmp(t, "ok") == 0)
			continue;
		bad++;
		if (off < sizeof(msg) - 2)
			off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s",
						off ? "; " : "", t ? t : "?");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot check");
	if (bad)
		return err_set(e, EXIT_DATAERR, "store '%s': %s", s->path, msg);
	return 0;
}

static int
migrate(struct store *s, struct err *e)
{
	int have = store_file_version(s), want = store_schema_steps(), rc = -1;
	struct err ignored = ERR_INIT;

	if (have < 0)
		return store_error(s, e, "cannot read schema version");
	if (have > want)
		return err_set(e, EXIT_DATAERR, "store '%s' has schema version %d, newer than "
			       "this secdesk (%d): upgrade secdesk", s->path, have, want);
	if (have == want)
		return 0;
	if (have == 0) {
		/* A file with tables but no version is not ours. */
		sqlite3_stmt *st;
		int n = 0;

		if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &st,
				       NULL) != SQLITE_OK)
			return store_error(s, e, "cannot read schema");
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		if (n > 0)
			return err_set(e, EXIT_DATAERR, "'%s' is not a secdesk store", s->path);
	}
	/* A step may rebuild a table (new table, copy, drop, rename), which
	 * SQLite's ALTER TABLE page asks to do with foreign keys off, checked
	 * before the commit. The pragma does nothing inside a transaction. */
	if (store_exec(s, "PRAGMA foreign_keys = OFF", e) < 0)
		return -1;
	if (store_begin(s, e) < 0)
		goto out;
	for (int v = have; v < want; v++) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (store_exec(s, store_schema_step(v), e) < 0 || store_exec(s, pragma, e) < 0)
			goto out;
	}
	if (check_pragma(s, "PRAGMA foreign_key_check", false, e) < 0)
		goto out;
	rc = store_commit(s, e);
out:
	if (rc < 0) {
		if (s->in_txn)
			store_rollback(s);
		err_prefix(e, "migrating to schema version %d", want);
	}
	/* After a failure, that failure is the error to report. */
	if (store_exec(s, "PRAGMA foreign_keys = ON", rc < 0 ? &ignored : e) < 0)
		rc = -1;
	return rc;
}

void
store_set_busy_timeout(int ms)
{
	busy_timeout_ms = ms;
}

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;
static bool walbuf_ready;

/* Once per process, before the first open. SQLite's memory statistics
 * take a global mutex on every allocation, shared by the storing and the
 * indexing threads; nothing here reads them. Registering the VFS comes
 * after: it initialises SQLite, which freezes the config. */
static void
sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	walbuf_ready = walbuf_register() == 0;
}

/* A new store is made here, empty, with the desk's mode and group
 * (filemode.h), before SQLite opens it: SQLite gives the files it makes
 * beside it (-wal, -shm, -journal) the mode of the database file. */
static int
create_store_file(const char *path, struct err *e)
{
	int fd = filemode_create(AT_FDCWD, path, O_WRONLY);

	if (fd < 0 && errno != EEXIST)
		return err_set(e, EXIT_CANTCREAT, "store '%s': cannot create: %s", path,
			       strerror(errno));
	if (fd >= 0)
		close(fd);
	return 0;
}

int
store_open(const char *path, unsigned flags, struct store **out, struct err *e)
{
	struct store *s;
	struct stat st;
	int oflags;

	*out = NULL;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT || !(flags & STORE_CREATE))
			return err_set(e, errno == ENOENT ? EXIT_CANTCREAT : EXIT_IOERR,
				       "store '%s': %s%s", path, strerror(errno),
				       errno == ENOENT ? " (run 'secdesk db init')" : "");
		if (create_store_file(path, e) < 0)
			return -1;
	} else if (!S_ISREG(st.st_mode)) {
		return err_set(e, EXIT_CANTCREAT, "store '%s' is not a regular file", path);
	}
	pthread_once(&sqlite_once, sqlite_setup);
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	oflags = (flags & STORE_READONLY) ? SQLITE_OPEN_READONLY
					  : SQLITE_OPEN_READWRITE |
						    ((flags & STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	/* The WAL's frames go out in a few large writes (walbuf.h); without
	 * the shim, the default VFS. */
	if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX,
			    walbuf_ready ? WALBUF_VFS : NULL) != SQLITE_OK) {
		store_error(s, e, "cannot open");
		store_close(&s);
		return -1;
	}
	sqlite3_busy_timeout(s->db, busy_timeout_ms);
	sqlite3_extended_result_codes(s->db, 1);
	/* synchronous=FULL: a commit is on disk when it returns (a fetch
	 * syncs in a thread of its own instead, see fetch.c); group commits
	 * keep the cost down. A page cache of 12 MB
	 * holds a batch and the indexes it looks up; with the fetch's other
	 * threads it keeps a run under 64 MB (58 MB for 30,000 mails). */
	if (store_exec(s, "PRAGMA foreign_keys = ON", e) < 0 ||
	    (!(flags & STORE_READONLY) &&
	     (store_exec(s, "PRAGMA journal_mode = WAL", e) < 0 ||
	      store_exec(s, "PRAGMA synchronous = FULL", e) < 0 ||
	      store_exec(s, "PRAGMA cache_size = -12288", e) < 0)) ||
	    (!(flags & STORE_READONLY) && migrate(s, e) < 0) ||
	    filemode_adopt_sqlite(path, e) < 0) {
		err_prefix(e, "cannot open store");
		store_close(&s);
		return -1;
	}
	*out = s;
	return 0;
}

void
store_close(struct store **sp)
{
	struct store *s = *sp;

	if (!s)
		return;
	if (s->in_txn)
		store_rollback(s);
	for (int i = 0; i < s->ncache; i++) {
		sqlite3_finalize(s->cache[i].stmt);
		free(s->cache[i].sql);
	}
	sqlite3_close(s->db);
	free(s->path);
	free(s);
	*sp = NULL;
}

void
store_restore_busy_timeout(struct store *s)
{
	sqlite3_busy_timeout(s->db, busy_timeout_ms);
}

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

const char *
store_path(const struct store *s)
{
	return s->path;
}

const char *
store_wal_path(struct store *s)
{
	return sqlite3_filename_wal(sqlite3_db_filename(s->db, "main"));
}

int
store_begin(struct store *s, struct err *e)
{
	if (store_exec(s, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	s->in_txn = true;
	return 0;
}

int
store_commit(struct store *s, struct err *e)
{
	if (s->before_commit && s->before_commit(s->hook_arg, e) < 0) {
		store_rollback(s);
		return -1;
	}
	/* COMMIT can be busy (a reader holds the WAL): retry like SQLite asks. */
	for (int tries = 0;; tries++) {
		int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);

		if (rc == SQLITE_OK)
			break;
		if ((rc & 0xff) == SQLITE_BUSY && tries < 100) {
			usleep(50000);
			continue;
		}
		store_error(s, e, "cannot commit");
		store_rollback(s);
		return -1;
	}
	s->in_txn = false;
	return 0;
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_txn = false;
	if (s->on_rollback)
		s->on_rollback(s->hook_arg);
}

void
store_set_txn_hooks(struct store *s, int (*before_commit)(void *arg, struct err *e),
		    void (*on_rollback)(void *arg), void *arg)
{
	s->before_commit = before_commit;
	s->on_rollback = on_rollback;
	s->hook_arg = arg;
}

int
store_check(struct store *s, struct err *e)
{
	if (check_pragma(s, "PRAGMA integrity_check", true, e) < 0)
		return -1;
	if (check_pragma(s, "PRAGMA foreign_key_check", false, e) < 0)
		return -1;
	if (store_file_version(s) != store_schema_version())
		return err_set(e, EXIT_DATAERR, "store '%s': schema version %d, expected %d",
			       s->path, store_file_version(s), store_schema_version());
	return 0;
}

int64_t
store_now(void)
{
	const char *fake = getenv("SECDESK_NOW");

	if (fake && *fake)
		return strtoll(fake, NULL, 10);
	return (int64_t)time(NULL);
}

int
store_event(struct store *s, int64_t ticket_id, const char *who, const char *what,
	    const char *old_value, const char *new_value, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO events (ticket_id, at, who, what, "
					 "old_value, new_value) VALUES (?, ?, ?, ?, ?, ?)", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ticket_id);
	sqlite3_bind_int64(st, 2, store_now());
	sqlite3_bind_text(st, 3, who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, what, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, old_value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, new_value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(s, e, "cannot record event");
	sqlite3_reset(st);
	return 0;
}

struct syncer *
store_sync_begin(struct store *s, struct err *e)
{
	struct syncer *sy;
	struct err ignored = ERR_INIT;

	if (syncer_start(store_wal_path(s), &sy, e) < 0)
		return NULL;
	if (store_exec(s, "PRAGMA synchronous = NORMAL", e) < 0) {
		syncer_stop(&sy, &ignored);
		return NULL;
	}
	return sy;
}

int
store_sync_end(struct store *s, struct syncer **sy, bool ok, struct err *e)
{
	struct err ignored = ERR_INIT;
	int rc = 0;

	if (!*sy)
		return 0;
	if (ok)
		rc = syncer_wait(*sy, syncer_request(*sy), e);
	if (syncer_stop(sy, ok && rc == 0 ? e : &ignored) < 0)
		rc = -1;
	if (store_exec(s, "PRAGMA synchronous = FULL", rc < 0 ? &ignored : e) < 0)
		rc = -1;
	return rc;
}
