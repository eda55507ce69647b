/* The WAL-buffering VFS: data written through it is what readers see after
 * each commit (through it and through the default VFS, synced commits or
 * not), across checkpoints of each kind, transactions that spill the page
 * cache, rollbacks and reopening; a full disk fails the commit it hits and
 * nothing after it, and a failed commit stays failed after a crash; it
 * really writes the WAL in fewer calls than SQLite makes. Checkpoints of
 * each kind, from a connection of their own, gather their copy into the
 * database file: readers see the same rows after each, in page sizes from
 * 1 to 64 KiB and a WAL longer than one wal-index region; a full disk
 * during the copy, the whole WAL or only part of it (a commit arriving in
 * the middle), fails the checkpoint and leaves every row readable and the
 * database whole; an interrupted copy still writes what it held; only
 * checkpoints gather, and fewer writes reach the database file. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sqlite3.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "walbuf.h"
#include "xalloc.h"

#include "unit.h"

static char *
path_of(const char *name)
{
	return xasprintf("%s/%s", unit_dir, name);
}

static void
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		print_error("%s: %s\n", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	assert_int_equal(rc, SQLITE_OK);
}

static sqlite3 *
open_db(const char *path, const char *vfs)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
			 SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* A writer through the VFS, in WAL mode, with the table of the tests. */
static sqlite3 *
open_writer(const char *path, const char *sync)
{
	sqlite3 *db = open_db(path, WALBUF_VFS);
	char *sql = xasprintf("PRAGMA synchronous = %s", sync);

	exec(db, "PRAGMA journal_mode = WAL");
	exec(db, sql);
	exec(db, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)");
	free(sql);
	return db;
}

/* Row id's blob: its size and bytes follow from the id, version v of it. */
static size_t
blob_size(int64_t id)
{
	return 100 + (size_t)((id * 977) % 9000);
}

static void
blob_fill(unsigned char *p, int64_t id, int v)
{
	size_t n = blob_size(id);

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(id * 31 + (int64_t)i * 7 + v * 13);
}

static void
insert_rows(sqlite3 *db, int64_t first, int n, int v)
{
	sqlite3_stmt *st;
	unsigned char *p = xmalloc(10000);

	assert_int_equal(sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO t (id, b) VALUES (?, ?)",
					    -1, &st, NULL),
			 SQLITE_OK);
	for (int64_t id = first; id < first + n; id++) {
		blob_fill(p, id, v);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_blob(st, 2, p, (int)blob_size(id), SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	free(p);
}

/* Checks that db holds rows 1..n exactly, row id at version
 * version_of(id), and answers the integrity check with ok. */
static void
check_rows(sqlite3 *db, int64_t n, int (*version_of)(int64_t))
{
	sqlite3_stmt *st;
	unsigned char *p = xmalloc(10000);
	int64_t seen = 0;
	int rc;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, b FROM t ORDER BY id", -1, &st, NULL),
			 SQLITE_OK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		seen++;
		assert_int_equal(id, seen);
		blob_fill(p, id, version_of(id));
		assert_int_equal(sqlite3_column_bytes(st, 1), (int)blob_size(id));
		assert_memory_equal(sqlite3_column_blob(st, 1), p, blob_size(id));
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(seen, n);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	free(p);
}

static int
version_zero(int64_t id)
{
	(void)id;
	return 0;
}

static void
test_register(void **state)
{
	sqlite3_vfs *v;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	assert_int_equal(walbuf_register(), 0);
	v = sqlite3_vfs_find(WALBUF_VFS);
	assert_non_null(v);
	/* Not the default: only who asks for it by name gets it. */
	assert_ptr_not_equal(sqlite3_vfs_find(NULL), v);
	assert_string_not_equal(sqlite3_vfs_find(NULL)->zName, WALBUF_VFS);
}

/* Commits in each synchronous mode, each seen at once by readers through
 * the VFS and through the default one; checkpoints of each kind between
 * them; then a reopened database with everything in it. Without sync at
 * commit (NORMAL, OFF) only the flush at the database's xShmBarrier puts
 * the frames in the file before the readers are told of them. */
static void
commits_seen(const char *name, const char *sync)
{
	char *p = path_of(name);
	sqlite3 *w, *r_shim, *r_plain;
	static const int modes[] = {SQLITE_CHECKPOINT_PASSIVE, SQLITE_CHECKPOINT_TRUNCATE,
				    SQLITE_CHECKPOINT_RESTART};
	int64_t n = 0;

	assert_int_equal(walbuf_register(), 0);
	w = open_writer(p, sync);
	r_shim = open_db(p, WALBUF_VFS);
	r_plain = open_db(p, NULL);
	for (int txn = 0; txn < 24; txn++) {
		exec(w, "BEGIN");
		insert_rows(w, n + 1, 40, 0);
		exec(w, "COMMIT");
		n += 40;
		check_rows(r_shim, n, version_zero);
		check_rows(r_plain, n, version_zero);
		if (txn % 4 == 3) {
			int mode = modes[(txn / 4) % 3], log = -1, done = -1;

			assert_int_equal(sqlite3_wal_checkpoint_v2(w, "main", mode, &log, &done),
					 SQLITE_OK);
			check_rows(r_shim, n, version_zero);
			check_rows(r_plain, n, version_zero);
			check_rows(w, n, version_zero);
		}
	}
	/* A reader that holds a snapshot keeps a checkpoint from going past
	 * it; frames go on being appended after those it still reads. */
	exec(r_plain, "BEGIN");
	check_rows(r_plain, n, version_zero);
	exec(w, "BEGIN");
	insert_rows(w, n + 1, 40, 0);
	exec(w, "COMMIT");
	assert_int_equal(sqlite3_wal_checkpoint_v2(w, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
			 SQLITE_OK);
	check_rows(r_plain, n, version_zero);
	exec(r_plain, "COMMIT");
	n += 40;
	check_rows(r_plain, n, version_zero);
	check_rows(r_shim, n, version_zero);
	assert_int_equal(sqlite3_close(r_shim), SQLITE_OK);
	assert_int_equal(sqlite3_close(r_plain), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	w = open_writer(p, sync);
	check_rows(w, n, version_zero);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	r_plain = open_db(p, NULL);
	check_rows(r_plain, n, version_zero);
	assert_int_equal(sqlite3_close(r_plain), SQLITE_OK);
	free(p);
}

static void
test_commits_full(void **state)
{
	(void)state;
	commits_seen("full.db", "FULL");
}

static void
test_commits_normal(void **state)
{
	(void)state;
	commits_seen("normal.db", "NORMAL");
}

static void
test_commits_off(void **state)
{
	(void)state;
	commits_seen("off.db", "OFF");
}

static int
version_spill(int64_t id)
{
	/* Rows 1..300 were rewritten in the spilling transaction. */
	return id <= 300 ? 1 : 0;
}

/* A transaction larger than the writer's page cache writes frames before
 * its commit and reads them back, and rewrites frames in place; a rolled
 * back one leaves frames past the last commit behind. */
static void
test_spill(void **state)
{
	char *p = path_of("spill.db");
	sqlite3 *w, *r;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	w = open_writer(p, "FULL");
	exec(w, "PRAGMA cache_size = 10");
	r = open_db(p, NULL);
	exec(w, "BEGIN");
	insert_rows(w, 1, 600, 0);
	insert_rows(w, 1, 300, 1);
	check_rows(w, 600, version_spill);
	exec(w, "COMMIT");
	check_rows(r, 600, version_spill);
	check_rows(w, 600, version_spill);

	/* Spilled, then rolled back: nobody sees it. */
	exec(w, "BEGIN");
	insert_rows(w, 601, 400, 0);
	insert_rows(w, 1, 300, 2);
	exec(w, "ROLLBACK");
	check_rows(w, 600, version_spill);
	check_rows(r, 600, version_spill);

	/* The frames after the rollback overwrite the ones it left. */
	exec(w, "BEGIN");
	insert_rows(w, 601, 200, 0);
	exec(w, "COMMIT");
	check_rows(r, 800, version_spill);
	assert_int_equal(sqlite3_wal_checkpoint_v2(w, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
			 SQLITE_OK);
	check_rows(r, 800, version_spill);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	r = open_db(p, WALBUF_VFS);
	check_rows(r, 800, version_spill);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	free(p);
}

/* The point of the VFS: SQLite's two writes per frame reach the real WAL
 * as a few large ones. */
static void
test_fewer_writes(void **state)
{
	char *p = path_of("count.db");
	struct walbuf_stats a, b;
	sqlite3 *w;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	w = open_writer(p, "FULL");
	walbuf_stats(&a);
	for (int txn = 0; txn < 5; txn++) {
		exec(w, "BEGIN");
		insert_rows(w, txn * 100 + 1, 100, 0);
		exec(w, "COMMIT");
	}
	walbuf_stats(&b);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	/* About 500 KB per commit: hundreds of frames, two writes each. */
	assert_true(b.writes_in - a.writes_in >= 5 * 200);
	assert_true(b.bytes_in - a.bytes_in >= 5 * 400000);
	/* Buffers at least half full (a frame that does not fit starts the
	 * next one), and the odd write that does not join: at most a
	 * twentieth of SQLite's calls reach the file. */
	assert_true(b.writes_out - a.writes_out <= (b.bytes_in - a.bytes_in) / (WALBUF_SIZE / 2) + 5 * 2);
	assert_true((b.writes_out - a.writes_out) * 20 <= b.writes_in - a.writes_in);
	assert_true(b.flushes - a.flushes >= 5);
	w = open_db(p, NULL);
	check_rows(w, 500, version_zero);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	free(p);
}

/* A database opened through the default VFS is none of the shim's
 * business: its writes are not counted, so not buffered. */
static void
test_default_vfs_untouched(void **state)
{
	char *p = path_of("plain.db");
	struct walbuf_stats a, b;
	sqlite3 *w;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	walbuf_stats(&a);
	w = open_db(p, NULL);
	exec(w, "PRAGMA journal_mode = WAL");
	exec(w, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)");
	insert_rows(w, 1, 50, 0);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	walbuf_stats(&b);
	assert_int_equal(b.writes_in, a.writes_in);
	assert_int_equal(b.writes_out, a.writes_out);
	free(p);
}

/* A full disk, from inside: the unix VFS's pwrite64 replaced (its
 * xSetSystemCall, for tests like these) by one that fails while
 * disk_full is set. The writes to one database file (db_watch) are also
 * counted, can be made to fail after db_fail_after of them or past
 * db_grow_limit bytes (-1: never), and the first one can run db_first
 * (once) before it is made. */
static bool disk_full;
static sqlite3_syscall_ptr real_pwrite;
static const char *pwrite_name;
static char db_watch[PATH_MAX];
static int db_fail_after = -1;
static int db_pwrites;
static void (*db_first)(void);
static int64_t db_grow_limit = -1;

static bool
fd_is_watched(int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	if (!db_watch[0])
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, db_watch) == 0;
}

static ssize_t
full_pwrite(int fd, const void *p, size_t n, off_t off)
{
	if (fd_is_watched(fd)) {
		void (*first)(void) = db_first;

		db_pwrites++;
		db_first = NULL;
		if (first)
			first();
		if ((db_fail_after >= 0 && db_pwrites > db_fail_after) ||
		    (db_grow_limit >= 0 && (int64_t)off + (int64_t)n > db_grow_limit)) {
			errno = ENOSPC;
			return -1;
		}
	}
	if (disk_full) {
		errno = ENOSPC;
		return -1;
	}
	return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite)(fd, p, n, off);
}

/* Watches the database file at path (NULL: none). */
static void
watch_db(const char *path)
{
	db_watch[0] = '\0';
	if (path)
		assert_non_null(realpath(path, db_watch));
	db_pwrites = 0;
	db_fail_after = -1;
	db_grow_limit = -1;
	db_first = NULL;
}

static void
full_disk_hook(bool on)
{
	sqlite3_vfs *v = sqlite3_vfs_find(NULL);

	assert_non_null(v->xSetSystemCall);
	if (!on) {
		disk_full = false;
		watch_db(NULL);
		assert_int_equal(v->xSetSystemCall(v, pwrite_name, NULL), SQLITE_OK);
		return;
	}
	pwrite_name = "pwrite64";
	real_pwrite = v->xGetSystemCall(v, pwrite_name);
	if (!real_pwrite) {
		pwrite_name = "pwrite";
		real_pwrite = v->xGetSystemCall(v, pwrite_name);
	}
	assert_non_null(real_pwrite);
	/* Left in place by a test that failed half way: the real one is
	 * already known. */
	if (real_pwrite == (sqlite3_syscall_ptr)full_pwrite) {
		assert_int_equal(v->xSetSystemCall(v, pwrite_name, NULL), SQLITE_OK);
		real_pwrite = v->xGetSystemCall(v, pwrite_name);
	}
	assert_int_equal(v->xSetSystemCall(v, pwrite_name, (sqlite3_syscall_ptr)full_pwrite),
			 SQLITE_OK);
}

static int
exec_rc(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) & 0xff;
}

/* A commit whose frames cannot be written fails, in each synchronous
 * mode, whether its frames fill the buffer or fit in it; nobody sees it;
 * once there is room the same connection goes on. */
static void
failed_commit(const char *name, const char *sync, int rows)
{
	char *p = path_of(name);
	sqlite3 *w, *r;

	assert_int_equal(walbuf_register(), 0);
	w = open_writer(p, sync);
	r = open_db(p, NULL);
	exec(w, "BEGIN");
	insert_rows(w, 1, 40, 0);
	exec(w, "COMMIT");
	full_disk_hook(true);
	exec(w, "BEGIN");
	insert_rows(w, 41, rows, 0);
	disk_full = true;
	assert_int_equal(exec_rc(w, "COMMIT"), SQLITE_FULL);
	disk_full = false;
	if (!sqlite3_get_autocommit(w))
		exec(w, "ROLLBACK");
	check_rows(r, 40, version_zero);
	check_rows(w, 40, version_zero);
	exec(w, "BEGIN");
	insert_rows(w, 41, rows, 0);
	exec(w, "COMMIT");
	full_disk_hook(false);
	check_rows(r, 40 + rows, version_zero);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	r = open_db(p, NULL);
	check_rows(r, 40 + rows, version_zero);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	free(p);
}

static void
test_full_disk_big_commit(void **state)
{
	(void)state;
	failed_commit("fullbig.db", "FULL", 60);
}

static void
test_full_disk_small_commit(void **state)
{
	(void)state;
	/* One row: the commit fits in the buffer, and without a sync only
	 * the write of the commit frame can tell SQLite it failed. */
	failed_commit("fullsmall.db", "FULL", 1);
	failed_commit("fullsmall-normal.db", "NORMAL", 1);
	failed_commit("fullsmall-off.db", "OFF", 1);
}

/* Frames held for a transaction that spills, and a read that cannot get
 * them written: the read fails, the frames stay held, and the transaction
 * either goes on whole once there is room or is rolled back whole. */
static void
test_full_disk_spill(void **state)
{
	char *p = path_of("fullspill.db");
	struct walbuf_stats st;
	sqlite3 *w, *r;
	int rc;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	w = open_writer(p, "FULL");
	exec(w, "PRAGMA cache_size = 10");
	r = open_db(p, NULL);
	exec(w, "BEGIN");
	insert_rows(w, 1, 100, 0);
	exec(w, "COMMIT");
	full_disk_hook(true);
	exec(w, "BEGIN");
	insert_rows(w, 101, 300, 0);
	walbuf_stats(&st);
	assert_true(st.held > 0);
	disk_full = true;
	rc = exec_rc(w, "SELECT sum(length(b)) FROM t");
	disk_full = false;
	assert_int_equal(rc, SQLITE_FULL);
	walbuf_stats(&st);
	assert_true(st.held > 0);
	if (sqlite3_get_autocommit(w)) {
		/* SQLite rolled the transaction back. */
		check_rows(w, 100, version_zero);
		check_rows(r, 100, version_zero);
		exec(w, "BEGIN");
		insert_rows(w, 101, 300, 0);
	}
	check_rows(w, 400, version_zero);
	exec(w, "COMMIT");
	full_disk_hook(false);
	check_rows(r, 400, version_zero);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	walbuf_stats(&st);
	assert_int_equal(st.held, 0);
	free(p);
}

/* A commit that failed on a full disk, whose frames the VFS held: once
 * there is room again, the next call flushes nothing of it, so a crash
 * (here the process ends without closing) cannot bring it back when the
 * WAL is recovered. */
static void
test_failed_commit_stays_failed(void **state)
{
	char *p = path_of("failed.db");
	pid_t pid;
	int status;
	sqlite3 *r;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *w = open_writer(p, "FULL");
		int rc;

		exec(w, "BEGIN");
		insert_rows(w, 1, 40, 0);
		exec(w, "COMMIT");
		full_disk_hook(true);
		exec(w, "BEGIN");
		insert_rows(w, 41, 1, 0);
		disk_full = true;
		rc = exec_rc(w, "COMMIT");
		disk_full = false;
		/* A read after it takes the locks, which flush the WAL. */
		if (rc == SQLITE_FULL)
			rc = exec_rc(w, "SELECT count(*) FROM t");
		/* Ends as a crash would, the database left open. */
		free(p);
		_exit(rc == SQLITE_OK ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	r = open_db(p, NULL);
	check_rows(r, 40, version_zero);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	free(p);
}

/* The checkpoint tests: row id is at version row_version[id]. */
#define MAX_ROWS 4000
static int row_version[MAX_ROWS + 1];

static int
version_of_row(int64_t id)
{
	return row_version[id];
}

static void
commit_rows(sqlite3 *db, int64_t first, int n, int v)
{
	assert_true(first >= 1 && first + n - 1 <= MAX_ROWS);
	exec(db, "BEGIN");
	insert_rows(db, first, n, v);
	exec(db, "COMMIT");
	for (int64_t id = first; id < first + n; id++)
		row_version[id] = v;
}

/* A writer through the VFS with the page size given, in WAL mode, that
 * never checkpoints by itself: the checkpoints are the test's, made on a
 * connection of their own as the indexer thread does. */
static sqlite3 *
open_writer_paged(const char *path, int page_size)
{
	sqlite3 *db = open_db(path, WALBUF_VFS);
	char *sql = xasprintf("PRAGMA page_size = %d", page_size);

	exec(db, sql);
	exec(db, "PRAGMA journal_mode = WAL");
	exec(db, "PRAGMA synchronous = FULL");
	exec(db, "PRAGMA wal_autocheckpoint = 0");
	exec(db, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)");
	free(sql);
	memset(row_version, 0, sizeof(row_version));
	return db;
}

/* A connection for checkpoints through the VFS; it reads once, or SQLite
 * does not know yet that the database is in WAL mode. */
static sqlite3 *
open_checkpointer(const char *path)
{
	sqlite3 *db = open_db(path, WALBUF_VFS);

	exec(db, "SELECT count(*) FROM sqlite_master");
	return db;
}

static int
checkpoint(sqlite3 *db, int mode)
{
	return sqlite3_wal_checkpoint_v2(db, "main", mode, NULL, NULL) & 0xff;
}

/* Rows 1..n as row_version says, through a new connection of the default
 * VFS: after a complete checkpoint, what the database file holds. */
static void
check_fresh(const char *path, int64_t n)
{
	sqlite3 *r = open_db(path, NULL);

	check_rows(r, n, version_of_row);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
}

static int64_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (int64_t)st.st_size;
}

/* Checkpoints of each kind, between commits that add rows and rewrite
 * old ones, each copy gathered: readers through both VFSes see the same
 * rows after each, and far fewer writes reach the database file than
 * SQLite makes. */
static void
ckpt_modes(const char *name, int page_size)
{
	static const int modes[] = {SQLITE_CHECKPOINT_PASSIVE, SQLITE_CHECKPOINT_RESTART,
				    SQLITE_CHECKPOINT_TRUNCATE};
	char *p = path_of(name);
	sqlite3 *w, *ck, *r_shim, *r_plain;
	int64_t n = 0;

	assert_int_equal(walbuf_register(), 0);
	w = open_writer_paged(p, page_size);
	ck = open_checkpointer(p);
	r_shim = open_db(p, WALBUF_VFS);
	r_plain = open_db(p, NULL);
	full_disk_hook(true);
	for (int round = 0; round < 6; round++) {
		struct walbuf_stats a, b;
		uint64_t in, out;

		commit_rows(w, n + 1, 60, 0);
		n += 60;
		commit_rows(w, n - 100 > 0 ? n - 100 : 1, 30, round + 1);
		commit_rows(w, n + 1, 20, 0);
		n += 20;
		watch_db(p);
		walbuf_stats(&a);
		assert_int_equal(checkpoint(ck, modes[round % 3]), SQLITE_OK);
		walbuf_stats(&b);
		in = b.ckpt_writes_in - a.ckpt_writes_in;
		out = b.ckpt_writes_out - a.ckpt_writes_out;
		assert_int_equal(b.ckpt_gathered - a.ckpt_gathered, 1);
		assert_int_equal(b.ckpt_direct, a.ckpt_direct);
		assert_int_equal(b.ckpt_late, a.ckpt_late);
		assert_int_equal(b.held, 0);
		/* Every page SQLite wrote, in writes of the real file. */
		assert_true(in * (uint64_t)page_size >= (uint64_t)n * 100);
		assert_int_equal(out, (uint64_t)db_pwrites);
		if (page_size <= 4096)
			assert_true(out * 8 <= in);
		check_rows(r_shim, n, version_of_row);
		check_rows(r_plain, n, version_of_row);
		check_rows(ck, n, version_of_row);
		if (modes[round % 3] == SQLITE_CHECKPOINT_TRUNCATE) {
			char *wal = xasprintf("%s-wal", p);

			assert_int_equal(file_size(wal), 0);
			free(wal);
			check_fresh(p, n);
		}
	}
	full_disk_hook(false);
	assert_int_equal(sqlite3_close(r_shim), SQLITE_OK);
	assert_int_equal(sqlite3_close(r_plain), SQLITE_OK);
	assert_int_equal(sqlite3_close(ck), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	check_fresh(p, n);
	free(p);
}

static void
test_ckpt_modes(void **state)
{
	(void)state;
	ckpt_modes("ckpt4k.db", 4096);
	ckpt_modes("ckpt1k.db", 1024);
	ckpt_modes("ckpt512.db", 512);
	/* 65536 is written as 1 in the wal-index header. */
	ckpt_modes("ckpt64k.db", 65536);
}

/* A WAL of more frames than the first wal-index region numbers (4062):
 * the copy's last page is found in a later region. */
static void
test_ckpt_long_wal(void **state)
{
	char *p = path_of("long.db");
	struct walbuf_stats a, b;
	sqlite3 *w, *ck, *r;
	int log = 0, done = 0;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	w = open_writer_paged(p, 1024);
	ck = open_checkpointer(p);
	r = open_db(p, NULL);
	for (int i = 0; i < 12; i++)
		commit_rows(w, i * 100 + 1, 100, 0);
	commit_rows(w, 1, 50, 1);
	walbuf_stats(&a);
	assert_int_equal(sqlite3_wal_checkpoint_v2(ck, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done),
			 SQLITE_OK);
	walbuf_stats(&b);
	assert_true(log > 4062 + 500);
	assert_int_equal(done, log);
	assert_int_equal(b.ckpt_gathered - a.ckpt_gathered, 1);
	assert_int_equal(b.ckpt_late, a.ckpt_late);
	assert_true((b.ckpt_writes_out - a.ckpt_writes_out) * 8 <= b.ckpt_writes_in - a.ckpt_writes_in);
	check_rows(r, 1200, version_of_row);
	assert_int_equal(checkpoint(ck, SQLITE_CHECKPOINT_TRUNCATE), SQLITE_OK);
	check_fresh(p, 1200);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	assert_int_equal(sqlite3_close(ck), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	free(p);
}

/* A reader that holds a snapshot keeps the checkpoint from copying the
 * whole WAL: the copy's last write is not known, so it goes straight to
 * the file; the reader's snapshot and everyone else's rows are right, and
 * once it is done the next checkpoint gathers again. */
static void
test_ckpt_reader_holds(void **state)
{
	char *p = path_of("holds.db");
	struct walbuf_stats a, b;
	sqlite3 *w, *ck, *r;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	w = open_writer_paged(p, 4096);
	ck = open_checkpointer(p);
	r = open_db(p, NULL);
	commit_rows(w, 1, 200, 0);
	exec(r, "BEGIN");
	check_rows(r, 200, version_of_row);
	commit_rows(w, 201, 100, 0);
	commit_rows(w, 1, 100, 1);
	walbuf_stats(&a);
	assert_int_equal(checkpoint(ck, SQLITE_CHECKPOINT_PASSIVE), SQLITE_OK);
	walbuf_stats(&b);
	assert_int_equal(b.ckpt_direct - a.ckpt_direct, 1);
	assert_int_equal(b.ckpt_gathered, a.ckpt_gathered);
	assert_true(b.ckpt_writes_in > a.ckpt_writes_in);
	/* The snapshot: rows 1..200 at version 0. */
	for (int id = 1; id <= 100; id++)
		row_version[id] = 0;
	check_rows(r, 200, version_of_row);
	for (int id = 1; id <= 100; id++)
		row_version[id] = 1;
	exec(r, "COMMIT");
	check_rows(r, 300, version_of_row);
	check_rows(ck, 300, version_of_row);
	walbuf_stats(&a);
	assert_int_equal(checkpoint(ck, SQLITE_CHECKPOINT_TRUNCATE), SQLITE_OK);
	walbuf_stats(&b);
	assert_int_equal(b.ckpt_gathered - a.ckpt_gathered, 1);
	check_fresh(p, 300);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	assert_int_equal(sqlite3_close(ck), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	free(p);
}

/* A commit that arrives while the checkpoint copies (run from inside the
 * copy's first write to the database file): the checkpoint then copies
 * only part of the WAL, and SQLite records it without truncating or
 * syncing the database file, so the copy's pages must all be in the file
 * by the end of its last write. */
static sqlite3 *inject_db;
static int64_t inject_first;

static void
inject_commit(void)
{
	commit_rows(inject_db, inject_first, 40, 0);
}

static void
test_ckpt_commit_during_copy(void **state)
{
	char *p = path_of("during.db");
	struct walbuf_stats a, b;
	sqlite3 *w, *ck, *r;
	int log = 0, done = 0, log2 = 0, done2 = 0;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	w = open_writer_paged(p, 4096);
	ck = open_checkpointer(p);
	r = open_db(p, NULL);
	commit_rows(w, 1, 300, 0);
	assert_int_equal(checkpoint(ck, SQLITE_CHECKPOINT_TRUNCATE), SQLITE_OK);
	commit_rows(w, 1, 300, 1);
	commit_rows(w, 301, 100, 0);
	full_disk_hook(true);
	watch_db(p);
	inject_db = w;
	inject_first = 401;
	db_first = inject_commit;
	walbuf_stats(&a);
	assert_int_equal(sqlite3_wal_checkpoint_v2(ck, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done),
			 SQLITE_OK);
	walbuf_stats(&b);
	assert_null(db_first);
	assert_int_equal(done, log);
	assert_int_equal(b.ckpt_gathered - a.ckpt_gathered, 1);
	assert_int_equal(b.ckpt_late, a.ckpt_late);
	assert_true(db_pwrites >= 2);
	full_disk_hook(false);
	/* New readers take the copied pages from the database file. */
	check_fresh(p, 440);
	/* The commit came after the copy's snapshot: the WAL went on past
	 * what was copied, so SQLite recorded a copy of part of it. */
	assert_int_equal(sqlite3_wal_checkpoint_v2(ck, "main", SQLITE_CHECKPOINT_PASSIVE, &log2,
						   &done2),
			 SQLITE_OK);
	assert_true(log2 > log);
	check_rows(r, 440, version_of_row);
	check_rows(ck, 440, version_of_row);
	assert_int_equal(checkpoint(ck, SQLITE_CHECKPOINT_TRUNCATE), SQLITE_OK);
	check_fresh(p, 440);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	assert_int_equal(sqlite3_close(ck), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	free(p);
}

/* A full disk during the copy: every write to the database file fails,
 * or only those that grow it (a real full disk, which the copy's last
 * writes hit), or only the one with the copy's last page, with the whole
 * WAL copied or only part of it. The checkpoint fails; every row stays
 * readable, by readers old and new (new ones would read a page recorded
 * as copied from the file); once there is room the next checkpoint copies
 * it all. */
enum ckpt_fail { FAIL_ALL, FAIL_GROWTH, FAIL_LAST };

static int64_t
page_count(sqlite3 *db)
{
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
ckpt_full_disk(const char *name, enum ckpt_fail fail, bool commit_during, int mode)
{
	char *p = path_of(name);
	struct walbuf_stats a, b;
	sqlite3 *w, *ck, *r;
	int64_t n = 400;

	assert_int_equal(walbuf_register(), 0);
	w = open_writer_paged(p, 4096);
	ck = open_checkpointer(p);
	r = open_db(p, NULL);
	commit_rows(w, 1, 300, 0);
	assert_int_equal(checkpoint(ck, SQLITE_CHECKPOINT_TRUNCATE), SQLITE_OK);
	/* Old pages rewritten, new pages past the end of the file. */
	commit_rows(w, 1, 300, 1);
	commit_rows(w, 301, 100, 0);
	full_disk_hook(true);
	watch_db(p);
	if (fail == FAIL_ALL)
		db_fail_after = 0;
	else if (fail == FAIL_GROWTH)
		db_grow_limit = file_size(p);
	else
		db_grow_limit = (page_count(w) - 1) * 4096;
	if (commit_during) {
		inject_db = w;
		inject_first = n + 1;
		db_first = inject_commit;
		n += 40;
	}
	walbuf_stats(&a);
	assert_int_equal(checkpoint(ck, mode), SQLITE_FULL);
	walbuf_stats(&b);
	assert_true(db_pwrites >= 1);
	assert_int_equal(b.held, 0);
	assert_int_equal(b.ckpt_late, a.ckpt_late);
	full_disk_hook(false);
	check_rows(r, n, version_of_row);
	check_rows(ck, n, version_of_row);
	check_fresh(p, n);
	{
		sqlite3 *r2 = open_db(p, WALBUF_VFS);

		check_rows(r2, n, version_of_row);
		assert_int_equal(sqlite3_close(r2), SQLITE_OK);
	}
	assert_int_equal(checkpoint(ck, SQLITE_CHECKPOINT_TRUNCATE), SQLITE_OK);
	check_fresh(p, n);
	commit_rows(w, n + 1, 10, 0);
	n += 10;
	check_rows(r, n, version_of_row);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	assert_int_equal(sqlite3_close(ck), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	check_fresh(p, n);
	free(p);
}

static void
test_ckpt_full_disk(void **state)
{
	(void)state;
	ckpt_full_disk("cfull-all.db", FAIL_ALL, false, SQLITE_CHECKPOINT_PASSIVE);
	ckpt_full_disk("cfull-grow.db", FAIL_GROWTH, false, SQLITE_CHECKPOINT_PASSIVE);
	ckpt_full_disk("cfull-last.db", FAIL_LAST, false, SQLITE_CHECKPOINT_RESTART);
	ckpt_full_disk("cfull-trunc.db", FAIL_GROWTH, false, SQLITE_CHECKPOINT_TRUNCATE);
	ckpt_full_disk("cfull-part-all.db", FAIL_ALL, true, SQLITE_CHECKPOINT_PASSIVE);
	ckpt_full_disk("cfull-part-grow.db", FAIL_GROWTH, true, SQLITE_CHECKPOINT_PASSIVE);
	ckpt_full_disk("cfull-part-last.db", FAIL_LAST, true, SQLITE_CHECKPOINT_PASSIVE);
}

/* A copy interrupted after its first write stops with pages held: they
 * are written when it ends, and nothing is recorded as copied. */
static sqlite3 *interrupt_db;

static void
interrupt_copy(void)
{
	sqlite3_interrupt(interrupt_db);
}

static void
test_ckpt_interrupted(void **state)
{
	char *p = path_of("interrupt.db");
	struct walbuf_stats a, b;
	sqlite3 *w, *ck, *r;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	w = open_writer_paged(p, 4096);
	ck = open_checkpointer(p);
	r = open_db(p, NULL);
	commit_rows(w, 1, 300, 0);
	assert_int_equal(checkpoint(ck, SQLITE_CHECKPOINT_TRUNCATE), SQLITE_OK);
	commit_rows(w, 1, 300, 1);
	commit_rows(w, 301, 100, 0);
	full_disk_hook(true);
	watch_db(p);
	interrupt_db = ck;
	db_first = interrupt_copy;
	walbuf_stats(&a);
	assert_int_equal(checkpoint(ck, SQLITE_CHECKPOINT_PASSIVE), SQLITE_INTERRUPT);
	walbuf_stats(&b);
	assert_int_equal(b.ckpt_late - a.ckpt_late, 1);
	assert_int_equal(b.held, 0);
	full_disk_hook(false);
	check_rows(r, 400, version_of_row);
	check_fresh(p, 400);
	assert_int_equal(checkpoint(ck, SQLITE_CHECKPOINT_TRUNCATE), SQLITE_OK);
	check_fresh(p, 400);
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	assert_int_equal(sqlite3_close(ck), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	free(p);
}

/* Only a checkpoint's copy gathers: a database with a rollback journal
 * writes through, and so does a WAL whose wal-index is in heap memory
 * (exclusive locking mode), which the VFS cannot read. */
static void
test_ckpt_only_copies(void **state)
{
	char *p = path_of("journal.db"), *q = path_of("exclusive.db");
	struct walbuf_stats a, b;
	sqlite3 *db;

	(void)state;
	assert_int_equal(walbuf_register(), 0);
	memset(row_version, 0, sizeof(row_version));
	walbuf_stats(&a);
	db = open_db(p, WALBUF_VFS);
	exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)");
	commit_rows(db, 1, 100, 0);
	walbuf_stats(&b);
	assert_int_equal(b.ckpt_writes_in, a.ckpt_writes_in);
	assert_int_equal(b.writes_in, a.writes_in);
	check_rows(db, 100, version_of_row);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	check_fresh(p, 100);

	db = open_db(q, WALBUF_VFS);
	exec(db, "PRAGMA locking_mode = EXCLUSIVE");
	exec(db, "PRAGMA journal_mode = WAL");
	exec(db, "PRAGMA wal_autocheckpoint = 0");
	exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)");
	commit_rows(db, 1, 100, 0);
	walbuf_stats(&a);
	assert_int_equal(checkpoint(db, SQLITE_CHECKPOINT_TRUNCATE), SQLITE_OK);
	walbuf_stats(&b);
	assert_int_equal(b.ckpt_direct - a.ckpt_direct, 1);
	assert_int_equal(b.ckpt_gathered, a.ckpt_gathered);
	assert_int_equal(b.ckpt_writes_out - a.ckpt_writes_out, b.ckpt_writes_in - a.ckpt_writes_in);
	check_rows(db, 100, version_of_row);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	check_fresh(q, 100);
	free(p);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_commits_full),
		cmocka_unit_test(test_commits_normal),
		cmocka_unit_test(test_commits_off),
		cmocka_unit_test(test_spill),
		cmocka_unit_test(test_fewer_writes),
		cmocka_unit_test(test_default_vfs_untouched),
		cmocka_unit_test(test_full_disk_big_commit),
		cmocka_unit_test(test_full_disk_small_commit),
		cmocka_unit_test(test_full_disk_spill),
		cmocka_unit_test(test_failed_commit_stays_failed),
		cmocka_unit_test(test_ckpt_modes),
		cmocka_unit_test(test_ckpt_long_wal),
		cmocka_unit_test(test_ckpt_reader_holds),
		cmocka_unit_test(test_ckpt_commit_during_copy),
		cmocka_unit_test(test_ckpt_full_disk),
		cmocka_unit_test(test_ckpt_interrupted),
		cmocka_unit_test(test_ckpt_only_copies),
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
