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

/* Does this backend implement every area (tickets, intake, ...)? Until it
 * does, store_open() refuses it outside the core's tests. */

#endif
