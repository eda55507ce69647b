/* pg_core.h - the PostgreSQL backend (private to src/store/). */
#ifndef SECDESK_PG_CORE_H
#define SECDESK_PG_CORE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "backend.h"

/* Its location is the [store] url, "postgresql://..." or "postgres://...",
 * with two parameters of secdesk's own that config.c adds and libpq never
 * sees: password_file=PATH ([store] password_file, read with the 0600 rule).
 * [store] ca_file comes as libpq's own sslrootcert=PATH. */
extern const struct store_ops pg_store_ops;

/* Does this backend implement every area (tickets, intake, ...)? Until it
 * does, store_open() refuses it outside the core's tests. */
bool pg_store_complete(void);

/* For the areas' files (pg_AREA.c): the store's connection, and e set
 * from a failed result (res NULL: from the connection) as "store 'NAME':
 * what: reason", with the exit code its SQLSTATE means; returns -1. */
PGconn *pg_conn(struct store *s);
int pg_fail(struct store *s, const PGresult *res, const char *what, struct err *e);

#endif
