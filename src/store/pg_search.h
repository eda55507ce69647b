/* pg_search.h - the search words of a message on PostgreSQL (private to
 * src/store/): pg_message.c stores them with the message it adds, so that
 * the index pass finds nothing left to do after a fetch. */
#ifndef SECDESK_PG_SEARCH_H
#define SECDESK_PG_SEARCH_H

#include <stdbool.h>

#include "buf.h"

/* Is a message of this kind indexed? Not the desk's own automatic mail. */
bool pg_search_indexes(const char *kind);
/* The tsvector of a message, as text, into out: 0, or -1 when its words
 * cannot be read (the index pass then takes the message, and says why). */
int pg_search_words(const char *subject, const char *body, const char *names, struct buf *out);

#endif
