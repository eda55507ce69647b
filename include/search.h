/* search.h - searching the messages: the store's full-text query.
 *
 * Results are tickets, best rank first, each with a snippet of its best
 * message; a merged ticket's messages count for the ticket it went into.
 * Words found in thousands of messages are ranked among the newest
 * matches only (each backend's window), so a common word finds the recent
 * tickets fast. */
#ifndef SECDESK_SEARCH_H
#define SECDESK_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

struct search_hit {
	int64_t ticket_id;
	int64_t message_id; /* its best message */
	double rank;        /* lower is better */
	char *snippet;      /* matches in [brackets]; "" when none */
};

/* Owned by the caller: search_hits_release() frees them. */
struct search_hits {
	struct search_hit *v;
	size_t n, cap;
};

/* The words of a query: blank-separated in each of words[0..nwords);
 * all must match (AND); one ending in '*' is a prefix. Mail text and staff
 * input are data: quotes, '-', ':' are searched for, never syntax. Appends
 * at most limit tickets to out. A query of no words is EXIT_USAGE. */
int store_search(struct store *s, char *const *words, size_t nwords, size_t limit,
		 struct search_hits *out, struct err *e);

void search_hits_release(struct search_hits *h);

#endif
