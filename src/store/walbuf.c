/* The VFS shim of walbuf.h: WAL appends, and a checkpoint's copy into the
 * database file, gathered into few writes. */
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
	bool main_db;     /* opened as a main database (SQLITE_OPEN_MAIN_DB) */
	bool in_ckpt;     /* between a checkpoint's CKPT_START and CKPT_DONE */
	bool gathers;     /* in_ckpt, and the copy's last write is known */
	int page_size;    /* while gathers: the database's page size */
	sqlite3_int64 last_off; /* while gathers: the offset of the copy's last write */
	/* The wal-index regions SQLite mapped through this database file,
	 * by region number (NULL: not mapped). */
	volatile unsigned char **shm;
	int nshm;
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

/* The wal-index (sqlite.org/walformat.html, "The WAL-Index Format"), in
 * native byte order, shared by every SQLite version that opens the
 * database: regions of 32 KiB; the first starts with two copies of the
 * 48-byte header (mxFrame, the last valid frame, at byte 16; nPage, the
 * database size in pages, at byte 20; the page size at byte 14, 1 for
 * 65536), then the checkpoint information (nBackfill, the frames copied,
 * at byte 96; nBackfillAttempted, the frames a running checkpoint copies,
 * at byte 128), then the page numbers of the first 4062 frames; every
 * later region starts with the page numbers of 4096 frames. */
#define WALIDX_REGION 32768
#define WALIDX_HDR 48
#define WALIDX_ISINIT 12
#define WALIDX_PGSZ 14
#define WALIDX_MXFRAME 16
#define WALIDX_NPAGE 20
#define WALIDX_NBACKFILL 96
#define WALIDX_ATTEMPTED 128
#define WALIDX_PGNO_FIRST 136
#define WALIDX_FRAMES_FIRST 4062
#define WALIDX_FRAMES 4096

static _Atomic uint64_t stat_writes_in, stat_writes_out, stat_bytes_in, stat_flushes, stat_held;
static _Atomic uint64_t stat_ckpt_in, stat_ckpt_out, stat_ckpt_gathered, stat_ckpt_direct,
	stat_ckpt_late;

static void
count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t
load(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void
walbuf_stats(struct walbuf_stats *out)
{
	out->writes_in = load(&stat_writes_in);
	out->writes_out = load(&stat_writes_out);
	out->bytes_in = load(&stat_bytes_in);
	out->flushes = load(&stat_flushes);
	out->held = load(&stat_held);
	out->ckpt_writes_in = load(&stat_ckpt_in);
	out->ckpt_writes_out = load(&stat_ckpt_out);
	out->ckpt_gathered = load(&stat_ckpt_gathered);
	out->ckpt_direct = load(&stat_ckpt_direct);
	out->ckpt_late = load(&stat_ckpt_late);
}

static struct walbuf_file *
file_of(sqlite3_file *file)
{
	return (struct walbuf_file *)file;
}

/* Forgets what f holds, unwritten. */
static void
drop_held(struct walbuf_file *f)
{
	if (f->len > 0)
		atomic_fetch_sub_explicit(&stat_held, f->len, memory_order_relaxed);
	f->len = 0;
}

/* Writes out what f holds. A failed write keeps it all, for the caller to
 * drop or to keep: SQLite was told at xWrite that it was written, and may
 * read it back later (the frames of a transaction that spills). */
static int
flush_held(struct walbuf_file *f)
{
	int rc;

	if (f->len == 0)
		return SQLITE_OK;
	rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->start);
	count(f->buffers ? &stat_writes_out : &stat_ckpt_out, 1);
	if (rc != SQLITE_OK)
		return rc;
	count(&stat_flushes, 1);
	drop_held(f);
	return SQLITE_OK;
}

/* Writes out what a file holds, keeping it on failure: every call that
 * could see the file tries again first and fails while the write does (a
 * full disk), and goes on once it succeeds. */
static int
flush_own(struct walbuf_file *f)
{
	f->commit_page = false;
	return flush_held(f);
}

/* Before a call that could see the file or the wal-index: a file flushes
 * itself, a database file its WAL too. */
static int
flush_for(struct walbuf_file *f)
{
	int rc = flush_own(f);

	if (rc == SQLITE_OK && f->wal)
		rc = flush_own(f->wal);
	return rc;
}

/* Appends to what f holds; the caller made room. */
static void
hold(struct walbuf_file *f, const void *data, size_t n, sqlite3_int64 off)
{
	if (!f->buf)
		f->buf = xmalloc(WALBUF_SIZE);
	if (f->len == 0)
		f->start = off;
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	count(&stat_held, n);
}

static int
wb_close(sqlite3_file *file)
{
	struct walbuf_file *f = file_of(file);
	int frc = flush_own(f);
	int rc;

	if (f->db)
		f->db->wal = NULL;
	if (f->wal)
		f->wal->db = NULL;
	f->db = f->wal = NULL;
	f->buffers = false;
	drop_held(f);
	free(f->buf);
	f->buf = NULL;
	free((void *)f->shm);
	f->shm = NULL;
	f->nshm = 0;
	rc = f->real->pMethods->xClose(f->real);
	return frc != SQLITE_OK ? frc : rc;
}

static int
wb_read(sqlite3_file *file, void *data, int amt, sqlite3_int64 off)
{
	struct walbuf_file *f = file_of(file);
	int rc = flush_own(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, data, amt, off);
}

/* A write to a WAL file that buffers. */
static int
wal_write(struct walbuf_file *f, const void *data, int amt, sqlite3_int64 off)
{
	size_t n = amt > 0 ? (size_t)amt : 0;
	const unsigned char *hdr = data;
	bool commit_page = f->commit_page;
	int rc;

	f->commit_page = false;
	count(&stat_writes_in, 1);
	count(&stat_bytes_in, n);
	/* Only an append to what is held joins it: SQLite also rewrites
	 * frames in place (a page written twice in one transaction) and
	 * starts over at offset 0 after a checkpoint. */
	if (f->len > 0 && (off != f->start + (sqlite3_int64)f->len || n > WALBUF_SIZE - f->len)) {
		rc = flush_held(f);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if (n == 0 || n > WALBUF_SIZE) {
		count(&stat_writes_out, 1);
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	}
	hold(f, data, n, off);
	/* A commit goes to the file before the call that completes its
	 * frame returns, so that a failure is this call's error and fails
	 * the commit, synced or not. Otherwise the first call to see it
	 * would be the database's xShmBarrier, which has no result, right
	 * before the wal-index makes the frames visible. */
	if (commit_page) {
		rc = flush_held(f);
		if (rc != SQLITE_OK)
			goto fail;
		return SQLITE_OK;
	}
	f->commit_page = n == WAL_FRAME_HDRSIZE && (hdr[4] | hdr[5] | hdr[6] | hdr[7]) != 0;
	return SQLITE_OK;
fail:
	/* A commit that fails is rolled back, and everything held is its
	 * own (each commit before it was written at its commit frame). Kept,
	 * its commit frame would reach the file with the next flush, valid,
	 * and a crash after that would bring back a commit SQLite called
	 * failed. */
	if (commit_page)
		drop_held(f);
	return rc;
}

/* A write to a database file during a checkpoint's copy. Each page goes
 * once, in ascending page order; the pages that follow on are gathered
 * while the copy's last write is known (ckpt_plan), and that last write
 * sends them: a failure is the error of a write SQLite checks, and the
 * checkpoint fails before it records any frame as copied. Anything else
 * goes straight to the file, after what is held. */
static int
ckpt_write(struct walbuf_file *f, const void *data, int amt, sqlite3_int64 off)
{
	size_t n = amt > 0 ? (size_t)amt : 0;
	int rc;

	count(&stat_ckpt_in, 1);
	if (f->gathers && ((int)n != f->page_size || off % f->page_size != 0 || off > f->last_off))
		f->gathers = false;
	if (f->len > 0 &&
	    (!f->gathers || off != f->start + (sqlite3_int64)f->len || n > WALBUF_SIZE - f->len)) {
		rc = flush_held(f);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if (!f->gathers) {
		count(&stat_ckpt_out, 1);
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	}
	hold(f, data, n, off);
	if (off < f->last_off)
		return SQLITE_OK;
	f->gathers = false;
	rc = flush_held(f);
	if (rc != SQLITE_OK)
		goto fail;
	return SQLITE_OK;
fail:
	/* SQLite stops the copy at this error and records nothing as
	 * copied: the WAL stays what readers read those pages from, and the
	 * next checkpoint copies them again. What is held is the copy's own
	 * (CKPT_START began with nothing held), so it is dropped, as if
	 * those writes had failed too, and the file is usable at once. */
	f->gathers = false;
	drop_held(f);
	return rc;
}

static int
wb_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
	struct walbuf_file *f = file_of(file);
	int rc;

	if (f->buffers)
		return wal_write(f, data, amt, off);
	if (f->in_ckpt)
		return ckpt_write(f, data, amt, off);
	rc = flush_own(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xWrite(f->real, data, amt, off);
}

static int
wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct walbuf_file *f = file_of(file);
	int rc = flush_own(f);

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
	int rc = flush_own(f);

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
	int frc = flush_for(f);
	int rc;

	/* An unlock always happens: SQLite takes the lock as released
	 * whatever the result, and a lock kept would block everyone else. */
	rc = f->real->pMethods->xUnlock(f->real, level);
	return frc != SQLITE_OK ? frc : rc;
}

static int
wb_check_reserved_lock(sqlite3_file *file, int *out)
{
	struct walbuf_file *f = file_of(file);
	int rc = flush_own(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xCheckReservedLock(f->real, out);
}

/* Reads a 32-bit value of the wal-index. */
static uint32_t
widx_u32(volatile const unsigned char *region, size_t at)
{
	return *(volatile const uint32_t *)(region + at);
}

/* The offset of the last write of the copy that is starting, or -1 when
 * it cannot be known; *page_size is set to the page size.
 *
 * SQLite's checkpoint (wal.c, walCheckpoint) copies the frames after
 * nBackfill up to mxSafeFrame, which it has just stored as
 * nBackfillAttempted: for each page, in ascending page number, the last
 * frame of its snapshot of the WAL, skipping a page whose last frame is
 * past mxSafeFrame or which is past the snapshot's database size. When
 * the wal-index's mxFrame equals nBackfillAttempted, the snapshot is the
 * wal-index as it stands (mxFrame only grows while a checkpoint runs),
 * nothing is skipped for its frame, and the last write is that of the
 * highest page numbered in frames nBackfill+1 .. mxFrame, no higher than
 * nPage. Otherwise (a reader holds an older snapshot, or a commit came in
 * between) the snapshot is not known, and the copy goes straight through.
 * The checkpointer holds the checkpoint lock, so nBackfill is its own;
 * frames up to mxFrame and their page numbers no longer change. */
static sqlite3_int64
ckpt_plan(struct walbuf_file *f, int *page_size)
{
	volatile const unsigned char *r0;
	unsigned char h1[WALIDX_HDR], h2[WALIDX_HDR];
	uint32_t mx_frame, n_page, backfill, last = 0;
	unsigned sz;

	if (!f->main_db || f->nshm < 1 || !f->shm[0])
		return -1;
	r0 = f->shm[0];
	/* The two copies of the header, as SQLite reads them (a writer
	 * updates the second, then the first): equal, or a commit is under
	 * way. */
	for (size_t i = 0; i < WALIDX_HDR; i++)
		h1[i] = r0[i];
	atomic_thread_fence(memory_order_seq_cst);
	for (size_t i = 0; i < WALIDX_HDR; i++)
		h2[i] = r0[WALIDX_HDR + i];
	if (memcmp(h1, h2, WALIDX_HDR) != 0 || h1[WALIDX_ISINIT] == 0)
		return -1;
	memcpy(&mx_frame, h1 + WALIDX_MXFRAME, 4);
	memcpy(&n_page, h1 + WALIDX_NPAGE, 4);
	{
		uint16_t v;

		memcpy(&v, h1 + WALIDX_PGSZ, 2);
		sz = (v & 0xfe00u) + ((unsigned)(v & 1u) << 16);
	}
	if (sz < 512 || sz > 65536 || (sz & (sz - 1)) != 0)
		return -1;
	atomic_thread_fence(memory_order_seq_cst);
	backfill = widx_u32(r0, WALIDX_NBACKFILL);
	if (widx_u32(r0, WALIDX_ATTEMPTED) != mx_frame || backfill >= mx_frame)
		return -1;
	for (uint32_t fr = backfill + 1; fr <= mx_frame; fr++) {
		volatile const unsigned char *r;
		size_t at;
		uint32_t pg;
		int region;

		if (fr <= WALIDX_FRAMES_FIRST) {
			region = 0;
			at = WALIDX_PGNO_FIRST + 4 * (size_t)(fr - 1);
		} else {
			uint32_t k = fr - WALIDX_FRAMES_FIRST - 1;

			region = 1 + (int)(k / WALIDX_FRAMES);
			at = 4 * (size_t)(k % WALIDX_FRAMES);
		}
		/* SQLite maps every region it copies from before CKPT_START. */
		if (region >= f->nshm || !f->shm[region])
			return -1;
		r = f->shm[region];
		pg = widx_u32(r, at);
		if (pg <= n_page && pg > last)
			last = pg;
	}
	if (last == 0)
		return -1;
	*page_size = (int)sz;
	return (sqlite3_int64)(last - 1) * sz;
}

static int
wb_file_control(sqlite3_file *file, int op, void *arg)
{
	struct walbuf_file *f = file_of(file);
	int rc;

	if (op == SQLITE_FCNTL_CKPT_DONE && f->len > 0) {
		/* Only a copy that stopped early (an interrupt) gets here with
		 * pages held; SQLite then records nothing as copied. The
		 * result of this call is not looked at: a failure keeps them,
		 * for the next call to write or to fail. */
		count(&stat_ckpt_late, 1);
	}
	rc = flush_own(f);
	if (op == SQLITE_FCNTL_CKPT_START && f->main_db) {
		f->in_ckpt = true;
		f->gathers = false;
		if (rc == SQLITE_OK) {
			f->last_off = ckpt_plan(f, &f->page_size);
			f->gathers = f->last_off >= 0;
		}
		count(f->gathers ? &stat_ckpt_gathered : &stat_ckpt_direct, 1);
	} else if (op == SQLITE_FCNTL_CKPT_DONE) {
		f->in_ckpt = false;
		f->gathers = false;
	}
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
	int rc = f->real->pMethods->xShmMap(f->real, page, size, extend, out);

	/* Kept for ckpt_plan, which reads only what SQLite mapped: it never
	 * maps a wal-index itself (a heap-memory one has no file). */
	if (rc == SQLITE_OK && *out && size == WALIDX_REGION && page >= 0) {
		if (page >= f->nshm) {
			f->shm = xrealloc((void *)f->shm, (size_t)(page + 1) * sizeof(*f->shm));
			for (int i = f->nshm; i <= page; i++)
				f->shm[i] = NULL;
			f->nshm = page + 1;
		}
		f->shm[page] = *out;
	}
	return rc;
}

static int
wb_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct walbuf_file *f = file_of(file);
	int frc = flush_for(f);
	int rc;

	/* An unlock always happens: SQLite ignores its result and goes on
	 * as if the lock were gone. */
	if (frc != SQLITE_OK && !(flags & SQLITE_SHM_UNLOCK))
		return frc;
	rc = f->real->pMethods->xShmLock(f->real, offset, n, flags);
	return frc != SQLITE_OK ? frc : rc;
}

static void
wb_shm_barrier(sqlite3_file *file)
{
	struct walbuf_file *f = file_of(file);

	/* The wal-index header that makes new frames visible is written
	 * right after this barrier: the frames must be in the file first.
	 * A commit's frames are there already (wal_write); this is for a
	 * WAL written some other way. A failure leaves them held, and the
	 * next call that can fail says so. */
	(void)flush_for(f);
	f->real->pMethods->xShmBarrier(f->real);
}

static int
wb_shm_unmap(sqlite3_file *file, int delete_flag)
{
	struct walbuf_file *f = file_of(file);

	free((void *)f->shm);
	f->shm = NULL;
	f->nshm = 0;
	return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int
wb_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **out)
{
	struct walbuf_file *f = file_of(file);
	int rc = flush_own(f);

	/* A mapping shows the file: what is held goes there first. */
	if (rc != SQLITE_OK) {
		*out = NULL;
		return rc;
	}
	return f->real->pMethods->xFetch(f->real, off, amt, out);
}

static int
wb_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	struct walbuf_file *f = file_of(file);
	int frc = flush_own(f);
	int rc;

	/* Releasing a page of the mapping always happens. */
	rc = f->real->pMethods->xUnfetch(f->real, off, p);
	return frc != SQLITE_OK ? frc : rc;
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
	f->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
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
