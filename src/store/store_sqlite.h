/* store_sqlite.h - the SQLite backend's own calls, shared by its files
 * (src/store/sqlite_*.c; private to src/store/). Every value from mail is
 * bound, never formatted into SQL. */
#ifndef SECDESK_STORE_SQLITE_H
#define SECDESK_STORE_SQLITE_H

#include <sqlite3.h>

#include "err.h"

struct store;

/* The handle of a store that store_backend() calls "sqlite". */
sqlite3 *store_db(struct store *s);

/* How long a statement waits for a lock another connection holds (0: not
 * at all), trying again every millisecond. */
void store_set_busy_wait(struct store *s, int timeout_ms);
/* Sets the busy timeout back to the default after a caller changed it for
 * one wait of its own. */
void store_restore_busy_timeout(struct store *s);

/* Runs one SQL statement without results (no parameters: for fixed SQL). */
int store_exec(struct store *s, const char *sql, struct err *e);

/* Prepares sql (cached per store: the same text gives the same statement,
 * reset and with bindings cleared). The store owns the statement. */
sqlite3_stmt *store_prepare(struct store *s, const char *sql, struct err *e);

/* Fills e from the database's last error (EXIT_TEMPFAIL when busy or
 * locked, EXIT_IOERR when the disk is full, else EXIT_SOFTWARE); returns -1. */
int store_error(struct store *s, struct err *e, const char *what);

/* The names SQLite documents for the files it makes beside a database
 * (tempfiles.html), NULL-terminated. */
extern const char *const sqlite_side_suffixes[];

/* filemode_adopt() for each of the files SQLite made beside db. */
int sqlite_adopt_side_files(const char *db, struct err *e);

#endif
