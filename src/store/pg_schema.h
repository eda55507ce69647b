/* pg_schema.h - the PostgreSQL backend's migrations (private to src/store/). */
#ifndef SECDESK_PG_SCHEMA_H
#define SECDESK_PG_SCHEMA_H

/* Number of steps; the schema version the program writes (its own
 * numbering: PostgreSQL's steps are not SQLite's). */
int pg_schema_steps(void);
/* The SQL taking version from_version to from_version + 1, or NULL. */
const char *pg_schema_step(int from_version);
/* The tables the current schema has, NULL-terminated (for check). */
extern const char *const pg_schema_tables[];

#endif
