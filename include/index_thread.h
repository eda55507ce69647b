/* index_thread.h - the helper thread of a fetch ([store] index_thread,
 * default yes on SQLite): on a store connection of its own, it brings the
 * search index up to date after the fetch's commits and checkpoints the
 * store, so that the fetch's own commits need not. The fetch's path is the
 * same either way; the index is derived data, and nothing marked done in
 * the mailbox waits for it. Without the thread, fetch.c indexes on its own
 * connection every few rounds: the one-thread reference path. */
#ifndef SECDESK_INDEX_THREAD_H
#define SECDESK_INDEX_THREAD_H

#include "err.h"
#include "store.h"

struct index_thread;

/* Opens location a second time and starts the thread; s (the fetch's
 * store) leaves its checkpoints to it. */
int index_thread_start(const char *location, struct store *s, struct index_thread **out,
		       struct err *e);

/* Tells the thread that a commit stored messages. */
void index_thread_poke(struct index_thread *t);

/* Lets the thread index what is left, waits for it, and closes its store;
 * s takes its checkpoints back. Returns the seconds the caller waited.
 * Accepts NULL. A failure of the thread's only stops indexing (logged: search
 * catches up later). */
double index_thread_finish(struct index_thread *t, struct store *s);

#endif
