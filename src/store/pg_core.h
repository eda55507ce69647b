/* pg_core.h - the PostgreSQL backend (private to src/store/). */
#ifndef SECDESK_PG_CORE_H
#define SECDESK_PG_CORE_H

#include <stdbool.h>

#include "backend.h"
#include "pq.h"

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

/* The parameters of a statement to send, as libpq takes them, and the
 * form of its result (binary or text). */
struct pg_values {
	int n;
	const char *const *val;
	const int *len, *fmt;
	bool binary;
};

/* Sends sql. A statement run again in the session is prepared (parsed and
 * planned once). ahead: its result is not waited for (libpq's pipeline
 * mode): it is read, and a failure reported under what, at the next
 * statement whose result is (pg_result), at pg_settle, at commit or
 * rollback, or when pg_conn hands the connection out. Only in a
 * transaction; elsewhere the caller reads the result as for any other.
 * 1: sent ahead; 0: sent, its result to be read; -1 with e set. */
int pg_send(struct store *s, const char *sql, const struct pg_values *v, bool ahead,
	    const char *what, struct err *e);
/* The last result of the statement just sent into *out (the caller
 * PQclears it; NULL when the connection gave none), the statements sent
 * ahead of it read first: 0, or -1 with e set when one of them or it
 * failed in the pipeline (*out NULL). */
int pg_result(struct store *s, PGresult **out, const char *what, struct err *e);
/* Reads the results of what was sent ahead: 0, or -1 with the first
 * failure in e. */
int pg_settle(struct store *s, struct err *e);
/* Rolls back the open transaction, if there is one and the connection
 * holds: the store's rollback op, and the end of an area's transaction of
 * its own that failed. */
void pg_rollback(struct store *s);

/* The store's event op, in pg_ticket.c beside the tickets it records. */
int pg_event(struct store *s, int64_t ticket_id, const char *who, const char *what,
	     const char *old_value, const char *new_value, struct err *e);

/* Does this backend implement every area (tickets, intake, ...)? Until it
 * does, store_open() refuses it outside the core's tests. */

#endif
