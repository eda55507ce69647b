/* search_ops.h - the search area of a store backend (private to
 * src/store/): what include/search_index.h and include/search.h promise,
 * one function per operation. The writer side keeps the index up to date
 * from the store; the query side answers secdesk search. */
#ifndef SECDESK_SEARCH_OPS_H
#define SECDESK_SEARCH_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "search.h"
#include "search_index.h"

struct store_search_ops {
	/* The writer side. */
	int (*index_attach)(struct store *s, struct err *e);
	/* reset: empty the index first (a rebuild). wait_ms < 0: the store's
	 * own busy timeout. */
	int (*index_update)(struct store *s, int wait_ms, bool reset, int64_t *added,
			    struct err *e);
	int (*index_status)(struct store *s, int64_t *upto, int64_t *pending, struct err *e);

	/* The query side: store_search(), after the index is brought up to
	 * date. */
	int (*query)(struct store *s, const struct search_node *q, size_t limit,
		     struct search_hits *out, struct err *e);

	/* Whether the index follows this store as it is now (not another
	 * store's, nor this one's before a restore from a backup). */
	int (*index_current)(struct store *s, bool *current, struct err *e);
};

/* Both backends' hits: whether ticket_id is among them already; one more
 * (its snippet NULL), the array grown as needed. */
bool search_hits_have(const struct search_hits *h, int64_t ticket_id);
void search_hits_add(struct search_hits *h, int64_t ticket_id, int64_t message_id, double rank);

/* The SQLite backend's query (sqlite_search_query.c), for its table. */
int sqlite_search_query(struct store *s, const struct search_node *q, size_t limit,
			struct search_hits *out, struct err *e);

#endif
