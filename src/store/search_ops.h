/* search_ops.h - a backend's search operations (private to src/store/). */
#ifndef SECDESK_SEARCH_OPS_H
#define SECDESK_SEARCH_OPS_H

#include "search.h"

struct store_search_ops {
	/* store_search(), after the index is brought up to date. */
	int (*query)(struct store *s, const struct search_node *q, size_t limit,
		     struct search_hits *out, struct err *e);
};

#endif
