/* source_ahead.h - a thread that owns a mail source and fetches the next
 * batch while the caller stores the current one: over IMAP or POP3 the
 * transport then costs about nothing beside the store (isync pipelines its
 * commands for the same reason).
 *
 * The thread runs the requests in the order they are queued, so a fetch and
 * a mark_done never share the connection at the same time. Fetched messages
 * wait in memory, at most SOURCE_AHEAD_BYTES of them (one larger message is
 * let through alone), until the caller collects them. */
#ifndef SECDESK_SOURCE_AHEAD_H
#define SECDESK_SOURCE_AHEAD_H

#include <stddef.h>

#include "err.h"
#include "source.h"

#define SOURCE_AHEAD_BYTES ((size_t)8 * 1024 * 1024)

struct source_ahead;

/* Starts the thread; from now on only it may use src, until
 * source_ahead_stop(). */
struct source_ahead *source_ahead_start(const struct source_ops *ops, struct source *src);
/* Queues the fetch of keys[0..n) (they must stay valid until collected). */
void source_ahead_fetch(struct source_ahead *sa, const char *const *keys, size_t n);
/* A fetched message as collect hands it over: raw is a NUL-terminated copy
 * that cb may keep (it then sets raw to NULL and frees it later); sha256 is
 * its hash in hex (ingest_sha256), computed in the source's thread. */
struct source_item {
	const char *key;
	char *raw;
	size_t len;
	const char *sha256;
};
typedef int (*source_ahead_cb)(void *arg, struct source_item *it);

/* Hands the messages of the oldest queued fetch to cb, in order, in the
 * calling thread, as they arrive. Returns what the source's fetch returned
 * (SRC_*, e filled) or cb's non-zero return, which stops the hand-over (the
 * rest of that fetch is dropped). */
int source_ahead_collect(struct source_ahead *sa, source_ahead_cb cb, void *arg, struct err *e);
/* Queues mark_done of keys[0..n) (copied). */
void source_ahead_mark_done(struct source_ahead *sa, const char *const *keys, size_t n);
/* Waits for the oldest queued mark_done; what it returned (e filled). */
int source_ahead_marked(struct source_ahead *sa, struct err *e);
/* Waits for the queued requests, stops the thread; accepts NULL. */
void source_ahead_stop(struct source_ahead **sa);

#endif
