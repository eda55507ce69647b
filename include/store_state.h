/* store_state.h - the program's own small key/value state in the store
 * (the mailbox's outage, ...), for what must outlive one run.
 *
 * Keys are short ASCII names chosen by the program ("outage.mailbox");
 * values are text. Each call is its own statement: inside a transaction it
 * joins it, outside it commits at once. */
#ifndef SECDESK_STORE_STATE_H
#define SECDESK_STORE_STATE_H

#include <stddef.h>

#include "err.h"

struct store;

/* Copies the value of key into out (n bytes, NUL-terminated; a longer value
 * is an error, not cut). Returns 1 when found, 0 when not (out = ""), -1
 * with e set. */
int store_state_get(struct store *s, const char *key, char *out, size_t n, struct err *e);
/* Sets key to value (replacing it). Returns 0 or -1 with e set. */
int store_state_set(struct store *s, const char *key, const char *value, struct err *e);
/* Removes key (no error when it is not there). Returns 0 or -1 with e set. */
int store_state_delete(struct store *s, const char *key, struct err *e);

#endif
