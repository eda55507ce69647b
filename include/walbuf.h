/* walbuf.h - a SQLite VFS shim that coalesces the writes to a WAL file.
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
 * were written. */
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

/* Counts since the process started, over every WAL file opened through the
 * VFS: what SQLite asked for and what reached the real file. */
struct walbuf_stats {
	uint64_t writes_in;  /* xWrite calls on WAL files from SQLite */
	uint64_t writes_out; /* xWrite calls on the real WAL files */
	uint64_t bytes_in;   /* bytes in writes_in */
	uint64_t flushes;    /* buffers written (each one of writes_out) */
	uint64_t held;       /* bytes in buffers now, not yet written */
};

void walbuf_stats(struct walbuf_stats *out);

#endif
