/* The VFS shim of walbuf.h: WAL appends gathered into one write. */
#include "compat.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "walbuf.h"
#include "xalloc.h"

/* One open file: the real file of the default VFS lives right after this
 * struct, in the space SQLite allocates from the VFS's szOsFile. */
struct walbuf_file {
	sqlite3_file base;
	sqlite3_file *real;
	/* A WAL file points to its database's file and back, while both are
	 * open: SQLite publishes frames with xShmBarrier on the database
	 * file, never on the WAL, so the database file flushes its WAL. */
	struct walbuf_file *db;
	struct walbuf_file *wal;
	bool buffers;     /* a WAL file paired with its database */
	bool commit_page; /* the next write completes a commit frame */
	unsigned char *buf;
	sqlite3_int64 start; /* the file offset of buf[0] */
	size_t len;
};

#define REAL_OFFSET ((sizeof(struct walbuf_file) + 15) & ~(size_t)15)

/* The WAL file format (sqlite.org/fileformat2.html, "WAL file format"):
 * each frame starts with a 24-byte header, written by a call of its own,
 * whose bytes 4-7 hold the database size after a commit and zero in
 * every other frame. */
#define WAL_FRAME_HDRSIZE 24

static _Atomic uint64_t stat_writes_in, stat_writes_out, stat_bytes_in, stat_flushes, stat_held;

static void
count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void
walbuf_stats(struct walbuf_stats *out)
{
	out->writes_in = atomic_load_explicit(&stat_writes_in, memory_order_relaxed);
	out->writes_out = atomic_load_explicit(&stat_writes_out, memory_order_relaxed);
	out->bytes_in = atomic_load_explicit(&stat_bytes_in, memory_order_relaxed);
	out->flushes = atomic_load_explicit(&stat_flushes, memory_order_relaxed);
	out->held = atomic_load_explicit(&stat_held, memory_order_relaxed);
}

static struct walbuf_file *
file_of(sqlite3_file *file)
{
	return (struct walbuf_file *)file;
}

/* Writes out what the WAL file holds. A failed write keeps it all: SQLite
 * was told at xWrite that those frames were written and may read them
 * back later in the same transaction, so they are never dropped. Every
 * call that could see the file tries again first and fails while the
 * write does (a full disk), and goes on once it succeeds. */
static int
wal_flush(struct walbuf_file *f)
{
	int rc;

	f->commit_page = false;
	if (f->len == 0)
		return SQLITE_OK;
	rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->start);
	count(&stat_writes_out, 1);
	if (rc != SQLITE_OK)
		return rc;
	count(&stat_flushes, 1);
	atomic_fetch_sub_explicit(&stat_held, f->len, memory_order_relaxed);
	f->len = 0;
	return SQLITE_OK;
}

/* Before a call that could see the file or the wal-index: a WAL flushes
 * itself, a database file its WAL. */
static int
flush_for(struct walbuf_file *f)
{
	if (f->buffers)
		return wal_flush(f);
	if (f->wal)
		return wal_flush(f->wal);
	return SQLITE_OK;
}

static int
wb_close(sqlite3_file *file)
{
	struct walbuf_file *f = file_of(file);
	int frc = f->buffers ? wal_flush(f) : SQLITE_OK;
	int rc;

	if (f->db)
		f->db->wal = NULL;
	if (f->wal)
		f->wal->db = NULL;
	f->db = f->wal = NULL;
	f->buffers = false;
	if (f->len > 0)
		atomic_fetch_sub_explicit(&stat_held, f->len, memory_order_relaxed);
	f->len = 0;
	free(f->buf);
	f->buf = NULL;
	rc = f->real->pMethods->xClose(f->real);
	return frc != SQLITE_OK ? frc : rc;
}

static int
wb_read(sqlite3_file *file, void *data, int amt, sqlite3_int64 off)
{
	struct walbuf_file *f = file_of(file);

	if (f->buffers) {
		int rc = wal_flush(f);

		if (rc != SQLITE_OK)
			return rc;
	}
	return f->real->pMethods->xRead(f->real, data, amt, off);
}

static int
wb_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
	struct walbuf_file *f = file_of(file);
	size_t n = amt > 0 ? (size_t)amt : 0;
	const unsigned char *hdr = data;
	bool commit_page = f->commit_page;
	int rc;

	if (!f->buffers)
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	f->commit_page = false;
	count(&stat_writes_in, 1);
	count(&stat_bytes_in, n);
	/* Only an append to what is held joins it: SQLite also rewrites
	 * frames in place (a page written twice in one transaction) and
	 * starts over at offset 0 after a checkpoint. */
	if (f->len > 0 && (off != f->start + (sqlite3_int64)f->len || n > WALBUF_SIZE - f->len)) {
		rc = wal_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (n == 0 || n > WALBUF_SIZE) {
		count(&stat_writes_out, 1);
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	}
	if (!f->buf)
		f->buf = xmalloc(WALBUF_SIZE);
	if (f->len == 0)
		f->start = off;
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	count(&stat_held, n);
	/* A commit goes to the file before the call that completes its
	 * frame returns, so that a failure is this call's error and fails
	 * the commit, synced or not. Otherwise the first call to see it
	 * would be the database's xShmBarrier, which has no result, right
	 * before the wal-index makes the frames visible. */
	if (commit_page)
		return wal_flush(f);
	f->commit_page = n == WAL_FRAME_HDRSIZE && (hdr[4] | hdr[5] | hdr[6] | hdr[7]) != 0;
	return SQLITE_OK;
}

static int
wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct walbuf_file *f = file_of(file);
	int rc = f->buffers ? wal_flush(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int
wb_sync(sqlite3_file *file, int flags)
{
	struct walbuf_file *f = file_of(file);
	int rc = flush_for(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int
wb_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct walbuf_file *f = file_of(file);
	int rc = f->buffers ? wal_flush(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int
wb_lock(sqlite3_file *file, int level)
{
	struct walbuf_file *f = file_of(file);
	int rc = flush_for(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xLock(f->real, level);
}

static int
wb_unlock(sqlite3_file *file, int level)
{
	struct walbuf_file *f = file_of(file);
	int rc = flush_for(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xUnlock(f->real, level);
}

static int
wb_check_reserved_lock(sqlite3_file *file, int *out)
{
	struct walbuf_file *f = file_of(file);
	int rc = f->buffers ? wal_flush(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
wb_file_control(sqlite3_file *file, int op, void *arg)
{
	struct walbuf_file *f = file_of(file);
	int rc = f->buffers ? wal_flush(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
wb_sector_size(sqlite3_file *file)
{
	struct walbuf_file *f = file_of(file);

	return f->real->pMethods->xSectorSize(f->real);
}

static int
wb_device_characteristics(sqlite3_file *file)
{
	struct walbuf_file *f = file_of(file);

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int
wb_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
	struct walbuf_file *f = file_of(file);

	return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}

static int
wb_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct walbuf_file *f = file_of(file);
	int rc = flush_for(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void
wb_shm_barrier(sqlite3_file *file)
{
	struct walbuf_file *f = file_of(file);

	/* The wal-index header that makes new frames visible is written
	 * right after this barrier: the frames must be in the file first.
	 * A commit's frames are there already (wb_write); this is for a
	 * WAL written some other way. A failure leaves them held, and the
	 * next call that can fail says so. */
	(void)flush_for(f);
	f->real->pMethods->xShmBarrier(f->real);
}

static int
wb_shm_unmap(sqlite3_file *file, int delete_flag)
{
	struct walbuf_file *f = file_of(file);

	return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int
wb_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **out)
{
	struct walbuf_file *f = file_of(file);

	return f->real->pMethods->xFetch(f->real, off, amt, out);
}

static int
wb_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	struct walbuf_file *f = file_of(file);

	return f->real->pMethods->xUnfetch(f->real, off, p);
}

/* The same methods at each version, so that a wrapped file offers no more
 * than its real file does (SQLite reads iVersion before the later ones). */
#define WALBUF_METHODS(v)                                                                 \
	{                                                                                 \
		.iVersion = (v), .xClose = wb_close, .xRead = wb_read, .xWrite = wb_write, \
		.xTruncate = wb_truncate, .xSync = wb_sync, .xFileSize = wb_file_size,     \
		.xLock = wb_lock, .xUnlock = wb_unlock,                                    \
		.xCheckReservedLock = wb_check_reserved_lock,                              \
		.xFileControl = wb_file_control, .xSectorSize = wb_sector_size,            \
		.xDeviceCharacteristics = wb_device_characteristics,                       \
		.xShmMap = wb_shm_map, .xShmLock = wb_shm_lock,                            \
		.xShmBarrier = wb_shm_barrier, .xShmUnmap = wb_shm_unmap,                  \
		.xFetch = wb_fetch, .xUnfetch = wb_unfetch,                                \
	}

static const sqlite3_io_methods walbuf_methods[3] = {
	WALBUF_METHODS(1),
	WALBUF_METHODS(2),
	WALBUF_METHODS(3),
};

static bool
is_ours(const sqlite3_file *file)
{
	return file && (file->pMethods == &walbuf_methods[0] || file->pMethods == &walbuf_methods[1] ||
			file->pMethods == &walbuf_methods[2]);
}

static sqlite3_vfs *
real_vfs(sqlite3_vfs *vfs)
{
	return vfs->pAppData;
}

static int
wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags)
{
	struct walbuf_file *f = file_of(file);
	sqlite3_vfs *rv = real_vfs(vfs);
	int rc, v;

	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)((char *)f + REAL_OFFSET);
	rc = rv->xOpen(rv, name, f->real, flags, out_flags);
	/* SQLite calls xClose after a failed open only when pMethods is set:
	 * mirror the real file so that its xClose runs too. */
	if (!f->real->pMethods) {
		f->base.pMethods = NULL;
		return rc;
	}
	v = f->real->pMethods->iVersion;
	v = v < 1 ? 1 : v > 3 ? 3 : v;
	f->base.pMethods = &walbuf_methods[v - 1];
	if (rc != SQLITE_OK || !(flags & SQLITE_OPEN_WAL) || !name)
		return rc;
	/* Only a WAL whose database file is ours buffers: that file's
	 * xShmBarrier is what flushes it before frames are published. */
	{
		sqlite3_file *dbf = sqlite3_database_file_object(name);

		if (is_ours(dbf) && !file_of(dbf)->wal && !file_of(dbf)->buffers) {
			f->db = file_of(dbf);
			f->db->wal = f;
			f->buffers = true;
		}
	}
	return rc;
}

static int
wb_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return real_vfs(vfs)->xDelete(real_vfs(vfs), name, sync_dir);
}

static int
wb_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return real_vfs(vfs)->xAccess(real_vfs(vfs), name, flags, out);
}

static int
wb_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return real_vfs(vfs)->xFullPathname(real_vfs(vfs), name, n, out);
}

static void *
wb_dl_open(sqlite3_vfs *vfs, const char *name)
{
	return real_vfs(vfs)->xDlOpen(real_vfs(vfs), name);
}

static void
wb_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
	real_vfs(vfs)->xDlError(real_vfs(vfs), n, out);
}

static void (*wb_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return real_vfs(vfs)->xDlSym(real_vfs(vfs), h, sym);
}

static void
wb_dl_close(sqlite3_vfs *vfs, void *h)
{
	real_vfs(vfs)->xDlClose(real_vfs(vfs), h);
}

static int
wb_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return real_vfs(vfs)->xRandomness(real_vfs(vfs), n, out);
}

static int
wb_sleep(sqlite3_vfs *vfs, int us)
{
	return real_vfs(vfs)->xSleep(real_vfs(vfs), us);
}

static int
wb_current_time(sqlite3_vfs *vfs, double *out)
{
	return real_vfs(vfs)->xCurrentTime(real_vfs(vfs), out);
}

static int
wb_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return real_vfs(vfs)->xGetLastError(real_vfs(vfs), n, out);
}

static int
wb_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return real_vfs(vfs)->xCurrentTimeInt64(real_vfs(vfs), out);
}

static int
wb_set_system_call(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr p)
{
	return real_vfs(vfs)->xSetSystemCall(real_vfs(vfs), name, p);
}

static sqlite3_syscall_ptr
wb_get_system_call(sqlite3_vfs *vfs, const char *name)
{
	return real_vfs(vfs)->xGetSystemCall(real_vfs(vfs), name);
}

static const char *
wb_next_system_call(sqlite3_vfs *vfs, const char *name)
{
	return real_vfs(vfs)->xNextSystemCall(real_vfs(vfs), name);
}

static sqlite3_vfs walbuf_vfs;
static int register_rc = -1;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static void
register_vfs(void)
{
	sqlite3_vfs *rv;

	/* sqlite3_vfs_find() initializes SQLite: a caller with
	 * sqlite3_config() settings makes them before registering. */
	rv = sqlite3_vfs_find(NULL);
	if (!rv)
		return;
	walbuf_vfs = (sqlite3_vfs){
		.iVersion = rv->iVersion < 3 ? rv->iVersion : 3,
		.szOsFile = (int)REAL_OFFSET + rv->szOsFile,
		.mxPathname = rv->mxPathname,
		.zName = WALBUF_VFS,
		.pAppData = rv,
		.xOpen = wb_open,
		.xDelete = wb_delete,
		.xAccess = wb_access,
		.xFullPathname = wb_full_pathname,
		.xDlOpen = rv->xDlOpen ? wb_dl_open : NULL,
		.xDlError = rv->xDlError ? wb_dl_error : NULL,
		.xDlSym = rv->xDlSym ? wb_dl_sym : NULL,
		.xDlClose = rv->xDlClose ? wb_dl_close : NULL,
		.xRandomness = wb_randomness,
		.xSleep = wb_sleep,
		.xCurrentTime = wb_current_time,
		.xGetLastError = wb_get_last_error,
	};
	if (rv->iVersion >= 2)
		walbuf_vfs.xCurrentTimeInt64 = rv->xCurrentTimeInt64 ? wb_current_time_int64 : NULL;
	if (rv->iVersion >= 3) {
		walbuf_vfs.xSetSystemCall = rv->xSetSystemCall ? wb_set_system_call : NULL;
		walbuf_vfs.xGetSystemCall = rv->xGetSystemCall ? wb_get_system_call : NULL;
		walbuf_vfs.xNextSystemCall = rv->xNextSystemCall ? wb_next_system_call : NULL;
	}
	if (sqlite3_vfs_register(&walbuf_vfs, 0) == SQLITE_OK)
		register_rc = 0;
}

int
walbuf_register(void)
{
	pthread_once(&register_once, register_vfs);
	return register_rc;
}
