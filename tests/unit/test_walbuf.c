/* The WAL-buffering VFS: data written through it is what readers see after
 * each commit (through it and through the default VFS, synced commits or
 * not), across checkpoints of each kind, transactions that spill the page
 * cache, rollbacks and reopening; a full disk fails the commit it hits and
 * nothing after it; and it really writes the WAL in fewer calls than
 * SQLite makes. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sqlite3.h>
#include <sys/types.h>

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
 * disk_full is set. */
static bool disk_full;
static sqlite3_syscall_ptr real_pwrite;
static const char *pwrite_name;

static ssize_t
full_pwrite(int fd, const void *p, size_t n, off_t off)
{
	if (disk_full) {
		errno = ENOSPC;
		return -1;
	}
	return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite)(fd, p, n, off);
}

static void
full_disk_hook(bool on)
{
	sqlite3_vfs *v = sqlite3_vfs_find(NULL);

	assert_non_null(v->xSetSystemCall);
	if (!on) {
		disk_full = false;
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
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
