/* The key/value state (store_state.h): dispatch to the backend. */
#include "compat.h"

#include "backend.h"
#include "state_ops.h"
#include "store_state.h"

int
store_state_get(struct store *s, const char *key, char *out, size_t n, struct err *e)
{
	if (n)
		out[0] = '\0';
	return s->ops->state->get(s, key, out, n, e);
}

int
store_state_set(struct store *s, const char *key, const char *value, struct err *e)
{
	return s->ops->state->set(s, key, value, e);
}

int
store_state_delete(struct store *s, const char *key, struct err *e)
{
	return s->ops->state->del(s, key, e);
}
