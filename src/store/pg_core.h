/* pg_core.h - the PostgreSQL backend (private to src/store/). */
#ifndef SECDESK_PG_CORE_H
#define SECDESK_PG_CORE_H

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

#endif
