/* backend.h - what a store backend provides (private to src/store/).
 *
 * store.c holds what every backend shares (the transaction hooks, the
 * choice of backend by location) and hands each operation to the table of
 * the backend that opened the store. A backend's own struct begins with a
 * struct store. The operations of each area (tickets, intake, outbox,
 * search, reports, administration) are a table of their own, declared in
 * that area's header in src/store/ and set in the backend's store_ops. */
#ifndef SECDESK_STORE_BACKEND_H
#define SECDESK_STORE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

struct store_ops;
struct strlist;

struct store {
	const struct store_ops *ops;
	char *location; /* the backend's part of what store_open() was given */
	bool in_txn;
	int (*before_commit)(void *arg, struct err *e);
	void (*on_rollback)(void *arg);
	void *hook_arg;
	/* the counts of store_admin.h: tickets created in [since, until);
	 * 0: no bound */
	int64_t period_since, period_until;
};

struct store_ops {
	const char *name; /* "sqlite" */
	/* store_files(), given the backend's part of the location; NULL for a
	 * backend that keeps no files. */
	void (*files)(const char *location, struct strlist *files);
	/* Opens location (the backend's part of it: a path for SQLite);
	 * fills *out with a store whose ops and location store.c sets. */
	int (*open)(const char *location, unsigned flags, int busy_timeout_ms,
		    struct store **out, struct err *e);
	void (*close)(struct store *s);
	int (*begin)(struct store *s, struct err *e);
	int (*commit)(struct store *s, struct err *e);
	/* Never fails; nothing to do outside a transaction. */
	void (*rollback)(struct store *s);
	int (*schema_version)(void);
	int (*file_version)(struct store *s);
	int (*check)(struct store *s, struct err *e);
	int (*event)(struct store *s, int64_t ticket_id, const char *who, const char *what,
		     const char *old_value, const char *new_value, struct err *e);
	/* store_checkpoint() and store_set_commit_checkpoints(); NULL when
	 * the backend has no log of its own to move. */
	int (*checkpoint)(struct store *s, struct err *e);
	int (*commit_checkpoints)(struct store *s, bool on, struct err *e);
	/* store_lost(); NULL for a backend without a connection. */
	bool (*lost)(struct store *s);

	/* The areas, each a table of its own, declared in src/store/AREA_ops.h. */
	const struct store_intake_ops *intake;   /* raws, the fetch window, marks */

	const struct store_message_ops *message; /* messages, attachments, threading */

	const struct store_ticket_ops *ticket;   /* tickets, tags, watchers, notes */

	const struct store_outbox_ops *outbox;   /* outbox, autoreply log, VERP, reminders */

	const struct store_search_ops *search;   /* the search index and queries */

	const struct store_admin_ops *admin;     /* backup, reindex, stats, reports */

	const struct store_state_ops *state;     /* the program's key/value state */
};

extern const struct store_ops sqlite_store_ops;

#endif
