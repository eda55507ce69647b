/* walbuf.h - a SQLite VFS shim that coalesces the writes to a WAL file,
 * and a checkpoint's writes to the database file.
 *
 * SQLite writes every WAL frame with two pwrite() calls (the 24-byte frame
 * header, then the page), so a commit of a few MB is thousands of syscalls,
 * each of them straddling page-cache folios. The VFS "secdesk-walbuf" wraps
 * the default VFS; for a WAL file it gathers contiguous appends in a buffer
 * of WALBUF_SIZE bytes and writes them with one call to the real file when
 * the buffer is full, when a write does not follow on, at the end of a
 * commit frame (inside the xWrite that completes it, whose error fails the
 * commit), and before anything that could observe the file: xSync, xRead,
 * xTruncate, xFileSize, xFileControl, the locks, xClose, and the
 * database's xShmBarrier and xShmLock (SQLite publishes new frames in the
 * wal-index right after a barrier on the database file). Every other file,
 * and every other method, goes straight to the default VFS. Durability is
 * unchanged: nothing is synced that was not written first, and a commit is
 * in the file (the page cache) before SQLite reports it done.
 *
 * A flush that fails keeps what it held and returns the error; the next
 * call that could observe the file tries again, and fails as long as the
 * write does. Nothing ever reads the WAL without the frames SQLite was told
 * were written. A commit whose frames cannot be written is the exception:
 * SQLite rolls it back, so what it held is dropped, never to reach the
 * file (where a crash would make it count). Unlocks always happen.
 *
 * A checkpoint copies pages from the WAL into the database file one
 * pwrite() each, in ascending page order, many of them contiguous. For a
 * main database file the shim gathers them the same way, but only between
 * SQLite's SQLITE_FCNTL_CKPT_START and SQLITE_FCNTL_CKPT_DONE, and only
 * when it knows from the wal-index which write is the copy's last: that
 * write sends what is held, so a failure is the error of a write SQLite
 * checks, and the checkpoint fails before it records any frame as copied
 * (SQLite ignores CKPT_DONE's result, and a checkpoint that does not copy
 * the whole WAL neither truncates nor syncs the database before it
 * records the copy). When the last write cannot be known (a reader holds
 * an older snapshot, or a commit came in as the checkpoint started) the
 * copy goes straight through. A failed gathered write drops what was held
 * with the failed checkpoint: the WAL keeps those pages for readers and
 * for the next checkpoint. */
#ifndef SECDESK_WALBUF_H
#define SECDESK_WALBUF_H

#include <stdint.h>

#define WALBUF_VFS "secdesk-walbuf"
/* The unix VFS writes at most 0x1ffff bytes in one xWrite: it masks the
 * length to 17 bits (os_unix.c, seekAndWriteFd) and calls a longer write
 * a full disk. So one flush is at most 128 KiB - 1, about 31 frames of a
 * 4096-byte page; a commit of 2.7 MB is some 21 writes instead of 1300. */
#define WALBUF_SIZE (128 * 1024 - 1)

/* Registers the VFS WALBUF_VFS (not as the default) over the default VFS
 * of the moment; once per process, thread-safe, later calls return the
 * first one's result. 0, or -1 when SQLite has no default VFS or refuses
 * the registration. Open a database through it with
 * sqlite3_open_v2(path, &db, flags, WALBUF_VFS). */
int walbuf_register(void);

/* Counts since the process started, over every file opened through the
 * VFS: what SQLite asked for and what reached the real file. */
struct walbuf_stats {
	uint64_t writes_in;  /* xWrite calls on WAL files from SQLite */
	uint64_t writes_out; /* xWrite calls on the real WAL files */
	uint64_t bytes_in;   /* bytes in writes_in */
	uint64_t flushes;    /* buffers written (WAL and database files) */
	uint64_t held;       /* bytes in buffers now, not yet written */
	uint64_t ckpt_writes_in;  /* xWrite calls from checkpoints' copies on database files */
	uint64_t ckpt_writes_out; /* xWrite calls on the real database files for them */
	uint64_t ckpt_gathered;   /* copies whose writes were gathered */
	uint64_t ckpt_direct;     /* copies written page by page (last write not known) */
	uint64_t ckpt_late;       /* copies that ended with pages held (interrupted) */
};

void walbuf_stats(struct walbuf_stats *out);

#endif
