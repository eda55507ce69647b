/* The store's search (search.h), handed to the backend. */
#include "compat.h"

#include "backend.h"
#include "search.h"
#include "search_ops.h"

int
store_search(struct store *s, const struct search_node *q, size_t limit,
	     struct search_hits *out, struct err *e)
{
	return s->ops->search->query(s, q, limit, out, e);
}

void
search_hits_release(struct search_hits *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].snippet);
	free(h->v);
	*h = (struct search_hits){ 0 };
}
