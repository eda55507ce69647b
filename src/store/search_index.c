/* The search area of the store, its writer side (search_index.h): hands
 * each operation to the backend. */
#include "compat.h"

#include "backend.h"
#include "search_ops.h"
#include "xalloc.h"

char *
search_index_path(const char *store_path)
{
	return xasprintf("%s-search", store_path);
}

int
search_index_attach(struct store *s, struct err *e)
{
	return s->ops->search->index_attach(s, e);
}

int
search_index_update(struct store *s, int wait_ms, int64_t *added, struct err *e)
{
	return s->ops->search->index_update(s, wait_ms, false, added, e);
}

int
search_index_rebuild(struct store *s, int64_t *added, struct err *e)
{
	return s->ops->search->index_update(s, -1, true, added, e);
}

int
search_index_status(struct store *s, int64_t *upto, int64_t *pending, struct err *e)
{
	return s->ops->search->index_status(s, upto, pending, e);
}

int
search_index_current(struct store *s, bool *current, struct err *e)
{
	/* A backend whose index lives inside the store cannot go stale. */
	if (!s->ops->search->index_current) {
		*current = true;
		return 0;
	}
	return s->ops->search->index_current(s, current, e);
}
