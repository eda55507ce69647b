/* sqlite_schema.h - the SQLite backend's migrations (private to src/store/). */
#ifndef SECDESK_SQLITE_SCHEMA_H
#define SECDESK_SQLITE_SCHEMA_H

/* Number of steps; the schema version the program writes. */
int store_schema_steps(void);
/* The SQL taking version from_version to from_version + 1, or NULL. */
const char *store_schema_step(int from_version);

#endif
