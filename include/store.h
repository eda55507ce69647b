/* store.h - the ticket store: one SQLite file (DESIGN.md, "store").
 *
 * store_open() sets WAL, foreign keys and a busy timeout, and migrates the
 * schema forward (PRAGMA user_version). Modules own the SQL of their own
 * tables and reach the handle with store_db(); every value from mail is
 * bound, never formatted into SQL. Times are INTEGER seconds since the epoch,
 * UTC. The schema itself lives in store_schema.c. */
#ifndef SECDESK_STORE_H
#define SECDESK_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "err.h"

struct store;

enum store_open_flags {
	STORE_CREATE = 1 << 0,   /* create the file and schema if missing */
	STORE_READONLY = 1 << 1,
};

/* Opens (and migrates) the store. A missing file without STORE_CREATE, an
 * unwritable folder or a file that is not a secdesk store is EXIT_CANTCREAT /
 * EXIT_DATAERR; a locked database after the busy timeout is EXIT_TEMPFAIL. */
int store_open(const char *path, unsigned flags, struct store **out, struct err *e);
/* How long a store opened later waits for a lock held by another process
 * before it gives up with EXIT_TEMPFAIL (default 30 s). */
void store_set_busy_timeout(int ms);
/* Sets the store's busy timeout back to that default after a caller
 * changed it for one wait of its own. */
void store_restore_busy_timeout(struct store *s);
/* Closes the store; accepts NULL and sets *s to NULL. */
void store_close(struct store **s);

sqlite3 *store_db(struct store *s);
const char *store_path(const struct store *s);
/* The store's WAL file, as SQLite names it; valid while the store is open. */
const char *store_wal_path(struct store *s);

/* Transactions. begin takes the write lock at once (BEGIN IMMEDIATE), so
 * that a busy store is noticed before any work. */
int store_begin(struct store *s, struct err *e);
int store_commit(struct store *s, struct err *e);
/* Rolls back if a transaction is open; never fails. */
void store_rollback(struct store *s);

/* Work a module defers to the end of the open transaction: before_commit
 * runs first in store_commit (its -1 fails the commit, which then rolls
 * back), on_rollback at every rollback. NULLs clear them. */
void store_set_txn_hooks(struct store *s, int (*before_commit)(void *arg, struct err *e),
			 void (*on_rollback)(void *arg), void *arg);

/* Runs one SQL statement without results (no parameters: for fixed SQL). */
int store_exec(struct store *s, const char *sql, struct err *e);

struct syncer;
/* Commits stop waiting for the disk: synchronous=NORMAL, with the WAL
 * synced by a thread of its own (syncer.h). Returns it, or NULL with e set
 * when it cannot start (each commit then syncs, as before). */
struct syncer *store_sync_begin(struct store *s, struct err *e);
/* Ends store_sync_begin(): when ok, what was committed is on disk when it
 * returns; commits sync again (synchronous=FULL). Accepts *sy NULL. */
int store_sync_end(struct store *s, struct syncer **sy, bool ok, struct err *e);

/* Prepares sql (cached per store: the same text gives the same statement,
 * reset and with bindings cleared). The store owns the statement. */
sqlite3_stmt *store_prepare(struct store *s, const char *sql, struct err *e);

/* Fills e from the database's last error (EXIT_TEMPFAIL when busy or
 * locked, EXIT_IOERR when the disk is full, else EXIT_SOFTWARE); returns -1. */
int store_error(struct store *s, struct err *e, const char *what);

/* The schema version this program writes, and the file's. */
int store_schema_version(void);
int store_file_version(struct store *s);

/* PRAGMA integrity_check, foreign_key_check; e->msg lists what is wrong. */
int store_check(struct store *s, struct err *e);

/* The current time (UTC seconds); overridable by SECDESK_NOW for tests. */
int64_t store_now(void);

/* Appends an event to a ticket's history. who is the acting user. */
int store_event(struct store *s, int64_t ticket_id, const char *who, const char *what,
		const char *old_value, const char *new_value, struct err *e);

#endif
