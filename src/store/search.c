/* The store's search (search.h), handed to the backend. */
#include "compat.h"

#include "backend.h"
#include "search.h"
#include "search_ops.h"
#include "xalloc.h"

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

bool
search_hits_have(const struct search_hits *h, int64_t ticket_id)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].ticket_id == ticket_id)
			return true;
	return false;
}

void
search_hits_add(struct search_hits *h, int64_t ticket_id, int64_t message_id, double rank)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	h->v[h->n++] = (struct search_hit){ ticket_id, message_id, rank, NULL };
}
