/* store_schema.h - the migrations that build the store's schema. */
#ifndef SECDESK_STORE_SCHEMA_H
#define SECDESK_STORE_SCHEMA_H

/* Number of steps; the schema version the program writes. */
int store_schema_steps(void);
/* The SQL taking version from_version to from_version + 1, or NULL. */
const char *store_schema_step(int from_version);

#endif
