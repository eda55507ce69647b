/* store_copy.h - moving a desk from one store to another (secdesk db copy):
 * from SQLite to PostgreSQL and back. */
#ifndef SECDESK_STORE_COPY_H
#define SECDESK_STORE_COPY_H

#include <stdint.h>

#include "err.h"

struct store;

/* Copies every row of from into to, which must hold no desk yet (no
 * ticket, message, raw mail, event or outbox row: else EXIT_CANTCREAT and
 * nothing is written): the tables in the order of their references, in one
 * transaction on to, ids kept (ticket numbers, Message-IDs, events, outbox
 * state, attachments), then to's id sequences set past them and its search
 * index built. to keeps its own store id. Then each table's rows are
 * counted on both: each (may be NULL) gets every table's counts, and a
 * difference is EXIT_SOFTWARE. */
int store_copy(struct store *from, struct store *to,
	       int (*each)(void *arg, const char *table, int64_t from_rows, int64_t to_rows),
	       void *arg, struct err *e);

#endif
