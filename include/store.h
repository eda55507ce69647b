/* store.h - the ticket store's face (DESIGN.md, "store").
 *
 * An opaque struct store behind a table of operations (src/store/backend.h)
 * that the configured location picks: "[store] path = FILE" or
 * "[store] url = sqlite:FILE" is the SQLite backend. Nothing outside
 * src/store/ sees SQL or a database library: callers use the domain
 * operations declared here and in the headers this one includes. Times
 * are seconds since the epoch, UTC. */
#ifndef SECDESK_STORE_H
#define SECDESK_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "strlist.h"
#include "store_message.h" /* the message area */

struct store;

enum store_open_flags {
	STORE_CREATE = 1 << 0,   /* create the file and schema if missing */
	STORE_READONLY = 1 << 1,
	/* SQLite: pages read through a memory map, for a staff command. Not
	 * for the processing of mail: its resident set would grow with the
	 * store's file. */
	STORE_MAP_PAGES = 1 << 2,
};

/* Opens (and migrates) the store at location: "sqlite:PATH", or a bare
 * PATH, which is SQLite too. A missing store without STORE_CREATE, an
 * unwritable folder or something that is not a secdesk store is
 * EXIT_CANTCREAT / EXIT_DATAERR; a locked store after the busy timeout is
 * EXIT_TEMPFAIL; a location no backend takes is EXIT_CONFIG. */
int store_open(const char *location, unsigned flags, struct store **out, struct err *e);
/* How long a store opened later waits for a lock held by another process
 * before it gives up with EXIT_TEMPFAIL (default 30 s). */
void store_set_busy_timeout(int ms);
/* Closes the store; accepts NULL and sets *s to NULL. */
void store_close(struct store **s);

/* Where the store is, as the backend names it (for SQLite, the file's
 * path without "sqlite:"): for messages, and for the files kept beside it. */
const char *store_path(const struct store *s);
/* The files the store at location is kept in, whether they exist or not,
 * appended to files (strlist.h): for SQLite the database, the files SQLite
 * makes beside it, then the search index and its own; none for a store
 * that is not files, or a location no backend takes. */
void store_files(const char *location, struct strlist *files);

/* The backend's name: "sqlite". */
const char *store_backend(const struct store *s);

/* Whether the store's server went away (never, for a file): nothing more
 * can be done with it in this process. */
bool store_lost(struct store *s);

/* Transactions. begin takes the write lock at once, so that a busy store
 * is noticed before any work. */
int store_begin(struct store *s, struct err *e);
int store_commit(struct store *s, struct err *e);
/* Rolls back if a transaction is open; never fails. */
void store_rollback(struct store *s);

/* Work a module defers to the end of the open transaction: before_commit
 * runs first in store_commit (its -1 fails the commit, which then rolls
 * back), on_rollback at every rollback. NULLs clear them. */
void store_set_txn_hooks(struct store *s, int (*before_commit)(void *arg, struct err *e),
			 void (*on_rollback)(void *arg), void *arg);

/* The schema version this program writes, and the store's. */
int store_schema_version(const struct store *s);
int store_file_version(struct store *s);

/* The backend's integrity checks; e->msg lists what is wrong. */
int store_check(struct store *s, struct err *e);

/* The current time (UTC seconds); overridable by SECDESK_NOW for tests. */
int64_t store_now(void);

/* Appends an event to a ticket's history. who is the acting user. */
int store_event(struct store *s, int64_t ticket_id, const char *who, const char *what,
		const char *old_value, const char *new_value, struct err *e);

/* A backend that commits to a log first (SQLite's WAL) moves the log into
 * the store proper now and then: by default the commit that fills it does.
 * store_set_commit_checkpoints(s, false) leaves that to store_checkpoint()
 * calls on another connection (a helper thread's), so that s's commits
 * return sooner; a log that grows far all the same is still moved by a
 * commit. store_checkpoint moves what it can without waiting for anyone. */
int store_checkpoint(struct store *s, struct err *e);
int store_set_commit_checkpoints(struct store *s, bool on, struct err *e);

/* The areas' faces. */
#include "store_admin.h"

#include "store_state.h"

#endif
