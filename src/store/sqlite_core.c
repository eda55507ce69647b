/* The SQLite backend: open, migrate, transactions, cached statements. */
#include "compat.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "clock.h"
#include "filemode.h"
#include "search_index.h"
#include "strlist.h"
#include "store.h"
#include "sqlite_schema.h"
#include "sqlite_tokenizer.h"
#include "store_sqlite.h"
#include "xalloc.h"

#define STORE_STMT_CACHE 64
/* A commit that leaves the WAL at least this long checkpoints it; one
 * that leaves it FAR this long does so even when another connection has
 * taken the checkpoints over (it has fallen behind). */
#define WAL_CHECKPOINT_BYTES ((int64_t)32 * 1024 * 1024)
#define WAL_CHECKPOINT_FAR_BYTES ((int64_t)256 * 1024 * 1024)
/* A savepoint's journal up to this size stays in memory. */
#define STMT_JOURNAL_IN_MEMORY (4 * 1024 * 1024)

struct cached_stmt {
	const char *key; /* the caller's pointer: a literal hits at once */
	char *sql;       /* a copy of the text, for callers with other pointers */
	sqlite3_stmt *stmt;
};

/* How long a statement waits for a lock another connection holds. */
struct busy_wait {
	int timeout_ms;
	double since; /* clock_mono() of the first try */
};

struct sqlite_store {
	struct store base;
	sqlite3 *db;
	char *path;
	int busy_timeout_ms;
	struct busy_wait busy;
	struct cached_stmt cache[STORE_STMT_CACHE];
	int ncache;
};

static struct sqlite_store *
sqlite_of(struct store *s)
{
	return (struct sqlite_store *)s;
}

int
store_error(struct store *base, struct err *e, const char *what)
{
	struct sqlite_store *s = sqlite_of(base);
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
store_exec(struct store *base, const char *sql, struct err *e)
{
	if (sqlite3_exec(sqlite_of(base)->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_error(base, e, "cannot run statement");
	return 0;
}

sqlite3_stmt *
store_prepare(struct store *base, const char *sql, struct err *e)
{
	struct sqlite_store *s = sqlite_of(base);
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
		store_error(base, e, "cannot prepare statement");
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

static int
sqlite_schema_version(void)
{
	return store_schema_steps();
}

/* The value of a PRAGMA that reads a number, or -1. */
static int
pragma_int(struct sqlite_store *s, const char *pragma)
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

static int
sqlite_file_version(struct store *s)
{
	return pragma_int(sqlite_of(s), "PRAGMA user_version");
}

static int
check_pragma(struct sqlite_store *s, const char *sql, bool ok_is_row, struct err *e)
{
	sqlite3_stmt *st;
	char msg[600] = "";
	size_t off = 0;
	int rc, bad = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_error(&s->base, e, "cannot check");
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
		return store_error(&s->base, e, "cannot check");
	if (bad)
		return err_set(e, EXIT_DATAERR, "store '%s': %s", s->path, msg);
	return 0;
}

/* A file with tables but no version is not ours. */
static int
refuse_foreign_file(struct sqlite_store *s, struct err *e)
{
	sqlite3_stmt *st;
	int n = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) !=
	    SQLITE_OK)
		return store_error(&s->base, e, "cannot read schema");
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (n > 0)
		return err_set(e, EXIT_DATAERR, "'%s' is not a secdesk store", s->path);
	return 0;
}

static int
migrate(struct sqlite_store *s, struct err *e)
{
	struct store *base = &s->base;
	int have = sqlite_file_version(base), want = store_schema_steps(), rc = -1;
	struct err ignored = ERR_INIT;

	if (have < 0)
		return store_error(base, e, "cannot read schema version");
	if (have > want)
		return err_set(e, EXIT_DATAERR, "store '%s' has schema version %d, newer than "
			       "this secdesk (%d): upgrade secdesk", s->path, have, want);
	if (have == want)
		return 0;
	if (have == 0 && refuse_foreign_file(s, e) < 0)
		return -1;
	/* A step may rebuild a table (new table, copy, drop, rename), which
	 * SQLite's ALTER TABLE page asks to do with foreign keys off, checked
	 * before the commit. The pragma does nothing inside a transaction. */
	if (store_exec(base, "PRAGMA foreign_keys = OFF", e) < 0)
		return -1;
	if (store_exec(base, "BEGIN IMMEDIATE", e) < 0)
		goto out;
	for (int v = have; v < want; v++) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (store_exec(base, store_schema_step(v), e) < 0 ||
		    store_exec(base, pragma, e) < 0)
			goto out;
	}
	if (check_pragma(s, "PRAGMA foreign_key_check", false, e) < 0)
		goto out;
	rc = store_exec(base, "COMMIT", e);
out:
	if (rc < 0) {
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		err_prefix(e, "migrating to schema version %d", want);
	}
	/* After a failure, that failure is the error to report. */
	if (store_exec(base, "PRAGMA foreign_keys = ON", rc < 0 ? &ignored : e) < 0)
		rc = -1;
	return rc;
}

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

/* Once per process, before the first open. SQLite's memory statistics
 * take a global mutex on every allocation; nothing here reads them. Each
 * inbound message is stored under a savepoint (ingest.c): its journal
 * stays in memory rather than in a temporary file. */
static void
sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STMT_JOURNAL_IN_MEMORY);
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

/* The file must be there (or be made, with STORE_CREATE) and be a file. */
static int
prepare_store_file(const char *path, unsigned flags, struct err *e)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT || !(flags & STORE_CREATE))
			return err_set(e, errno == ENOENT ? EXIT_CANTCREAT : EXIT_IOERR,
				       "store '%s': %s%s", path, strerror(errno),
				       errno == ENOENT ? " (run 'secdesk db init')" : "");
		return create_store_file(path, e);
	}
	if (!S_ISREG(st.st_mode))
		return err_set(e, EXIT_CANTCREAT, "store '%s' is not a regular file", path);
	return 0;
}

static void sqlite_close(struct store *base);

const char *const sqlite_side_suffixes[] = { "-wal", "-shm", "-journal", NULL };

/* SQLite gives the files it makes beside a database the database's mode
 * but the group of whoever opened it first. */
int
sqlite_adopt_side_files(const char *db, struct err *e)
{
	for (size_t i = 0; sqlite_side_suffixes[i]; i++) {
		char *side = xasprintf("%s%s", db, sqlite_side_suffixes[i]);
		int rc = filemode_adopt(side, e);

		free(side);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The database and its side files, in that order. */
static void
add_with_sides(const char *db, struct strlist *files)
{
	strlist_add(files, db);
	for (size_t i = 0; sqlite_side_suffixes[i]; i++)
		strlist_add_owned(files, xasprintf("%s%s", db, sqlite_side_suffixes[i]));
}

static void
sqlite_files(const char *path, struct strlist *files)
{
	char *index = search_index_path(path);

	add_with_sides(path, files);
	add_with_sides(index, files);
	free(index);
}

/* SQLite counts the WAL's length for its checkpoints in pages, whose size
 * is the file's. */
static int
set_wal_checkpoint(struct sqlite_store *s, int64_t bytes, struct err *e)
{
	int page_size = pragma_int(s, "PRAGMA page_size");
	char pragma[64];

	if (page_size <= 0)
		return store_error(&s->base, e, "cannot read the page size");
	snprintf(pragma, sizeof(pragma), "PRAGMA wal_autocheckpoint = %lld",
		 (long long)(bytes / page_size));
	return store_exec(&s->base, pragma, e);
}

/* SQLite's own wait sleeps up to 100 ms between tries. A fetch storing
 * batch after batch leaves the write lock free only for moments, which a
 * staff command trying ten times a second can miss for its whole timeout;
 * trying every millisecond takes the first of them. */
static int
busy_retry(void *arg, int tries)
{
	struct busy_wait *w = arg;
	const struct timespec millisecond = { 0, 1000000 };

	if (tries == 0)
		w->since = clock_mono();
	else if ((clock_mono() - w->since) * 1000 >= w->timeout_ms)
		return 0;
	nanosleep(&millisecond, NULL);
	return 1;
}

void
store_set_busy_wait(struct store *base, int timeout_ms)
{
	struct sqlite_store *s = sqlite_of(base);

	s->busy.timeout_ms = timeout_ms;
	sqlite3_busy_handler(s->db, timeout_ms > 0 ? busy_retry : NULL, &s->busy);
}

/* synchronous=FULL: a commit is on disk when it returns (the send loop
 * syncs in a thread of its own instead, see outbound.c); group commits
 * keep the cost down, and so do checkpoints of a larger WAL (each one
 * syncs twice). The page cache holds a batch and the indexes it looks up. */
static int
configure_connection(struct sqlite_store *s, unsigned flags, struct err *e)
{
	struct store *base = &s->base;

	store_set_busy_wait(base, s->busy_timeout_ms);
	sqlite3_extended_result_codes(s->db, 1);
	if (sqlite_tokenizer_register(s->db) != SQLITE_OK)
		return store_error(base, e, "cannot register the search tokenizer");
	if (store_exec(base, "PRAGMA foreign_keys = ON", e) < 0)
		return -1;
	/* A staff command reads pages spread over the file: mapped, rather
	 * than each copied by read() into a page cache new to the process.
	 * SQLite caps the map (2 GiB in Debian's build) and maps no further
	 * than the file's end. */
	if ((flags & STORE_MAP_PAGES) && store_exec(base, "PRAGMA mmap_size = 2147418112", e) < 0)
		return -1;
	if (flags & STORE_READONLY)
		return 0;
	/* Large pages for a store of whole mails (raw bytes, bodies): fewer
	 * overflow pages and WAL frames per mail. SQLite applies it to a new
	 * file only, before journal_mode writes the first page. */
	if (store_exec(base, "PRAGMA page_size = 65536", e) < 0 ||
	    store_exec(base, "PRAGMA journal_mode = WAL", e) < 0 ||
	    store_exec(base, "PRAGMA synchronous = FULL", e) < 0 ||
	    store_exec(base, "PRAGMA cache_size = -12288", e) < 0 ||
	    set_wal_checkpoint(s, WAL_CHECKPOINT_BYTES, e) < 0)
		return -1;
	return migrate(s, e);
}

static int
sqlite_open(const char *path, unsigned flags, int busy_timeout_ms, struct store **out,
	    struct err *e)
{
	struct sqlite_store *s;
	int oflags;

	if (prepare_store_file(path, flags, e) < 0)
		return -1;
	pthread_once(&sqlite_once, sqlite_setup);
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->busy_timeout_ms = busy_timeout_ms;
	oflags = (flags & STORE_READONLY) ? SQLITE_OPEN_READONLY
					  : SQLITE_OPEN_READWRITE |
						    ((flags & STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		store_error(&s->base, e, "cannot open");
		sqlite_close(&s->base);
		return -1;
	}
	if (configure_connection(s, flags, e) < 0 || sqlite_adopt_side_files(path, e) < 0) {
		err_prefix(e, "cannot open store");
		sqlite_close(&s->base);
		return -1;
	}
	*out = &s->base;
	return 0;
}

static void
sqlite_close(struct store *base)
{
	struct sqlite_store *s = sqlite_of(base);

	for (int i = 0; i < s->ncache; i++) {
		sqlite3_finalize(s->cache[i].stmt);
		free(s->cache[i].sql);
	}
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

void
store_restore_busy_timeout(struct store *s)
{
	store_set_busy_wait(s, sqlite_of(s)->busy_timeout_ms);
}

sqlite3 *
store_db(struct store *s)
{
	return sqlite_of(s)->db;
}

static int
sqlite_begin(struct store *s, struct err *e)
{
	return store_exec(s, "BEGIN IMMEDIATE", e);
}

static int
sqlite_commit(struct store *s, struct err *e)
{
	/* COMMIT can be busy (a reader holds the WAL): retry like SQLite asks. */
	for (int tries = 0;; tries++) {
		int rc = sqlite3_exec(sqlite_of(s)->db, "COMMIT", NULL, NULL, NULL);

		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || tries >= 100)
			return store_error(s, e, "cannot commit");
		usleep(50000);
	}
}

static void
sqlite_rollback(struct store *s)
{
	sqlite3 *db = sqlite_of(s)->db;

	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int
sqlite_check(struct store *base, struct err *e)
{
	struct sqlite_store *s = sqlite_of(base);

	if (check_pragma(s, "PRAGMA integrity_check", true, e) < 0)
		return -1;
	if (check_pragma(s, "PRAGMA foreign_key_check", false, e) < 0)
		return -1;
	if (sqlite_file_version(base) != store_schema_steps())
		return err_set(e, EXIT_DATAERR, "store '%s': schema version %d, expected %d",
			       s->path, sqlite_file_version(base), store_schema_steps());
	return 0;
}

static int
sqlite_event(struct store *s, int64_t ticket_id, const char *who, const char *what,
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

/* Each area's table is defined in its sqlite_AREA.c. */
#define AREA_TABLE(area) extern const struct store_##area##_ops sqlite_##area##_ops
AREA_TABLE(intake);
AREA_TABLE(message);
AREA_TABLE(ticket);
AREA_TABLE(outbox);
AREA_TABLE(search);
AREA_TABLE(admin);
AREA_TABLE(state);

/* PASSIVE: copies the frames no reader still needs, and never waits. */
static int
sqlite_checkpoint(struct store *base, struct err *e)
{
	int rc = sqlite3_wal_checkpoint_v2(sqlite_of(base)->db, "main", SQLITE_CHECKPOINT_PASSIVE,
					   NULL, NULL);

	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return store_error(base, e, "cannot checkpoint");
	return 0;
}

static int
sqlite_commit_checkpoints(struct store *base, bool on, struct err *e)
{
	return set_wal_checkpoint(sqlite_of(base), on ? WAL_CHECKPOINT_BYTES
						 : WAL_CHECKPOINT_FAR_BYTES, e);
}

const struct store_ops sqlite_store_ops = {
	.name = "sqlite",
	.files = sqlite_files,
	.open = sqlite_open,
	.close = sqlite_close,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.schema_version = sqlite_schema_version,
	.file_version = sqlite_file_version,
	.check = sqlite_check,
	.event = sqlite_event,
	.checkpoint = sqlite_checkpoint,
	.commit_checkpoints = sqlite_commit_checkpoints,
	.intake = &sqlite_intake_ops,
	.message = &sqlite_message_ops,
	.ticket = &sqlite_ticket_ops,
	.outbox = &sqlite_outbox_ops,
	.search = &sqlite_search_ops,
	.admin = &sqlite_admin_ops,
	.state = &sqlite_state_ops,
};
