/* store_intake.h - the store's side of intake (fetch.h): raw bytes staged
 * before they are parsed, one intake row per source message, the mailbox's
 * listing read a window at a time, and the marks that say a source copy was
 * stored and then marked done in its mailbox.
 *
 * Every operation runs inside the caller's transaction (store_begin) unless
 * it says otherwise, and returns 0 or -1 with e filled. */
#ifndef SECDESK_STORE_INTAKE_H
#define SECDESK_STORE_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* ---- the mailbox's listing: kept in the store's temporary space (not in
 * memory, not in the store itself) for the length of one fetch ---- */

/* Opens a transaction of its own that takes no lock on the store (a
 * listing can take long) and empties the listing. End it with
 * store_intake_listing_end, or store_rollback. */
int store_intake_listing_begin(struct store *s, struct err *e);
/* Adds a key and where the source finds it (NULL: the key). A key listed
 * twice is kept as listed first. */
int store_intake_listing_add(struct store *s, const char *key, const char *where,
			     struct err *e);
/* Commits the listing. */
int store_intake_listing_end(struct store *s, struct err *e);

/* A listed key against this source's intake rows: new to the store, stored
 * but its source copy not yet marked done, or done with. */
enum intake_listed { INTAKE_LISTED_FRESH, INTAKE_LISTED_UNMARKED, INTAKE_LISTED_DONE };

/* One key of the listing: where is NULL when the key says it; seq is its
 * place in the listing (for by_key false). Valid only during the call; a
 * non-zero return stops the reading and is returned. */
typedef int (*store_listed_fn)(void *arg, const char *key, const char *where,
			       enum intake_listed state, int64_t seq);

/* Reads at most limit keys of the listing after a point, in key order
 * (by_key: after the key after_key, "" for the start) or in the listing's
 * order (after the place after_seq, 0 for the start). *read gets how many
 * were read: fewer than limit means the end. Outside a transaction too. */
int store_intake_listing_read(struct store *s, const char *source_id, bool by_key,
			      const char *after_key, int64_t after_seq, size_t limit,
			      store_listed_fn each, void *arg, size_t *read, struct err *e);
/* How many listed keys this source has not given the store yet. */
int store_intake_listing_fresh(struct store *s, const char *source_id, size_t *n,
			       struct err *e);
/* Marks done the stored rows of this source whose keys are not listed (a run
 * stopped between marking their copies and recording it, or mail taken away
 * by hand). */
int store_intake_settle_unlisted(struct store *s, const char *source_id, struct err *e);

/* ---- intake rows ---- */

/* Records that source_id's message key has its raw bytes in raws raw_id
 * (ingest_store_raw): 1 with *intake_id set, or 0 when this key was staged
 * before (by an earlier run: nothing recorded). */
int store_intake_stage(struct store *s, const char *source_id, const char *key, int64_t raw_id,
		       int64_t *intake_id, struct err *e);
/* store_message_put_raw of raw (sha256: its 64 hex digits) into *raw_id,
 * then store_intake_stage of it, as one step: the same returns. */
int store_intake_stage_raw(struct store *s, const char *source_id, const char *key,
			   const char *raw, size_t len, const char *sha256, int64_t *raw_id,
			   int64_t *intake_id, struct err *e);
/* The row is processed: stored (message_id its message, 0 for a duplicate)
 * or, with poison, set aside. */
int store_intake_stored(struct store *s, int64_t intake_id, int64_t message_id, bool poison,
			struct err *e);
/* The source copy of key was marked done (rows still pending are left). */
int store_intake_done(struct store *s, const char *source_id, const char *key, struct err *e);
/* store_intake_done for each of n keys, as one step. */
int store_intake_done_keys(struct store *s, const char *source_id, const char *const *keys,
			   size_t n, struct err *e);
/* The parser crashed or hung on a pending row: counts an attempt. */
int store_intake_crashed(struct store *s, int64_t intake_id, struct err *e);

/* A pending row: staged, not processed. */
struct intake_pending {
	int64_t id, raw_id;
	int attempts; /* parser crashes counted against it */
	size_t size;  /* of its raw bytes */
};

/* The pending rows of source_id, and those of other sources staged before
 * older_than (left over by another process: an MTA's secdesk ingest that
 * died), oldest first, into *rows (the caller frees it). */
int store_intake_pending(struct store *s, const char *source_id, int64_t older_than,
			 struct intake_pending **rows, size_t *n, struct err *e);
/* The raw bytes of raws raw_id, NUL-terminated, into *raw (the caller frees
 * it), *len their length. */
int store_intake_raw(struct store *s, int64_t raw_id, char **raw, size_t *len, struct err *e);
/* The same for a pending intake row, with its raw_id: *raw NULL when the
 * row is no longer pending (processed meanwhile by another process). */
int store_intake_pending_raw(struct store *s, int64_t intake_id, int64_t *raw_id, char **raw,
			     size_t *len, struct err *e);

/* ---- several hosts ---- */

/* Takes the mailbox for this host's run or fetch, after the local lock
 * file (lock.h) and held until store_mailbox_unlock or the store's close:
 * a store that hosts share (PostgreSQL) holds it for one of them at a
 * time; another host's run holding it is EXIT_TEMPFAIL at once, like the
 * local lock. A store of one host (SQLite) has nothing more to take. */
int store_mailbox_lock(struct store *s, struct err *e);
void store_mailbox_unlock(struct store *s);

#endif
