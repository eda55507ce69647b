/* pg_core.h - the PostgreSQL backend (private to src/store/). */
#ifndef SECDESK_PG_CORE_H
#define SECDESK_PG_CORE_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "backend.h"

/* Its location is the [store] url, "postgresql://..." or "postgres://...",
 * with two parameters of secdesk's own that config.c adds and libpq never
 * sees: password_file=PATH ([store] password_file, read with the 0600 rule).
 * [store] ca_file comes as libpq's own sslrootcert=PATH. */
extern const struct store_ops pg_store_ops;

/* For the areas' pg_AREA.c: the connection, and an error from a failed
 * result (NULL: from the connection) worded as every store error,
 * "store 'URL': what: reason", its exit code by SQLSTATE. Returns -1. */
PGconn *pg_conn(struct store *s);
const char *pg_name(struct store *s); /* the URL for messages: no password_file */
int pg_fail(struct store *s, const PGresult *res, const char *what, struct err *e);

/* Is sql prepared on the connection? A statement is prepared at its
 * second use in the session (the server then parses and plans it once):
 * 1, its name written into name; 0: run it unnamed; -1: preparing it
 * failed, *failed the result to report (the caller PQclears it). */
int pg_prepare(struct store *s, const char *sql, int nparams, char name[16], PGresult **failed);

/* The store's event op, in pg_ticket.c beside the tickets it records. */
int pg_event(struct store *s, int64_t ticket_id, const char *who, const char *what,
	     const char *old_value, const char *new_value, struct err *e);

/* Does this backend implement every area (tickets, intake, ...)? Until it
 * does, store_open() refuses it outside the core's tests. */

#endif
