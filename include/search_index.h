/* search_index.h - the full-text index of the messages (DESIGN.md, "store":
 * FTS5 for search).
 *
 * The index is an FTS5 table in a SQLite file of its own beside the store
 * (STORE-search), derived from the store's messages: it keeps no text of
 * its own (contentless: the store has the text) and is brought up to date
 * from the store by message id, right after the commits that store mail,
 * by fetch's helper thread on a connection of its own (index_thread.h; with
 * [store] index_thread = no, fetch itself every few batches and at its end),
 * and by ingest after its message; search catches up before it looks. As with
 * Dovecot's full-text indexes, losing the index loses no data: a missing,
 * damaged or stale one (an index of another store, or of a store since
 * restored from a backup) is rebuilt from the store.
 *
 * The desk's automatic mail (acknowledgements, partner notices, reminders)
 * is not indexed: it is boilerplate around the inquiry's own text, which is
 * indexed already, and would make every search match twice. */
#ifndef SECDESK_SEARCH_INDEX_H
#define SECDESK_SEARCH_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* The schema the index is attached as on a store's connection. */
#define SEARCH_SCHEMA "search"

/* STORE-search; the caller frees it. */
char *search_index_path(const char *store_path);

/* Attaches the index to the store's connection as SEARCH_SCHEMA (once),
 * creating its file and tables when missing. */
int search_index_attach(struct store *s, struct err *e);

/* Indexes the messages stored since the last update. Waits at most wait_ms
 * for another process that is indexing (EXIT_TEMPFAIL after). A damaged
 * index file is replaced and rebuilt. *added (may be NULL) gets how many
 * messages were indexed. Must be called outside a transaction. */
int search_index_update(struct store *s, int wait_ms, int64_t *added, struct err *e);

/* Empties the index and builds it again from the store. */
int search_index_rebuild(struct store *s, int64_t *added, struct err *e);

/* The highest message id the index has seen, and how many messages of the
 * store wait to be indexed. */
int search_index_status(struct store *s, int64_t *upto, int64_t *pending, struct err *e);

/* Whether the index belongs to this store as it is now: *current false for
 * an index of another store, or one that saw messages a store restored
 * from a backup no longer has (secdesk db reindex, or the next search,
 * builds it again). */
int search_index_current(struct store *s, bool *current, struct err *e);

#endif
