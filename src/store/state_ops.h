/* state_ops.h - a backend's key/value state operations (private to
 * src/store/; the promises are in include/store_state.h). */
#ifndef SECDESK_STATE_OPS_H
#define SECDESK_STATE_OPS_H

#include <stddef.h>

#include "err.h"

struct store;

struct store_state_ops {
	int (*get)(struct store *s, const char *key, char *out, size_t n, struct err *e);
	int (*set)(struct store *s, const char *key, const char *value, struct err *e);
	int (*del)(struct store *s, const char *key, struct err *e);
};

#endif
