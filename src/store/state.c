/* The key/value state (store_state.h): dispatch to the backend. */
#include "compat.h"

#include "backend.h"
#include "state_ops.h"
#include "store_state.h"

/* A backend (or a program linked without its state table) may lack it. */
static int
no_state(struct store *s, struct err *e)
{
	return err_set(e, EXIT_SOFTWARE, "store '%s': the %s backend keeps no state", s->location,
		       s->ops->name);
}

int
store_state_get(struct store *s, const char *key, char *out, size_t n, struct err *e)
{
	if (n)
		out[0] = '\0';
	if (!s->ops->state)
		return no_state(s, e);
	return s->ops->state->get(s, key, out, n, e);
}

int
store_state_set(struct store *s, const char *key, const char *value, struct err *e)
{
	if (!s->ops->state)
		return no_state(s, e);
	return s->ops->state->set(s, key, value, e);
}

int
store_state_delete(struct store *s, const char *key, struct err *e)
{
	if (!s->ops->state)
		return no_state(s, e);
	return s->ops->state->del(s, key, e);
}
