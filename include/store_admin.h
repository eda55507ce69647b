/* store_admin.h - the store's administration (backup, the backend's checks
 * in detail) and the counts the desk's figures are drawn from (report.h).
 *
 * Counts leave merged stubs out; "waiting" means the statuses new, open
 * and pending. Strings handed to a callback are valid during the call
 * only; a callback's -1 stops the walk, which then returns -1. Store
 * errors as store_error() gives them unless said otherwise. */
#ifndef SECDESK_STORE_ADMIN_H
#define SECDESK_STORE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct store;

/* Copies the live store to path while others go on writing. The copy is
 * made beside it under a temporary name (the desk's mode, filemode.h: it
 * holds the mail) and renamed into place only when complete, so path is
 * never half written. EXIT_CANTCREAT when it cannot be created, EXIT_IOERR
 * when the copy fails. */
int store_backup(struct store *s, const char *path, struct err *e);

/* The backend's integrity check in detail: each problem it reports, as a
 * line of text (none when all is well). When the check cannot run: -1
 * with e->msg the backend's own words, nothing more. */
int store_integrity_problems(struct store *s, int (*each)(void *arg, const char *problem),
			     void *arg, struct err *e);

/* A row whose reference points nowhere. */
struct store_dangling_ref {
	const char *table;  /* the referring table */
	int64_t rowid;
	const char *parent; /* the table it refers to */
	int64_t ref;        /* which of the table's references */
};

/* Each row that refers to one that does not exist; errors as
 * store_integrity_problems(). */
int store_dangling_refs(struct store *s,
			int (*each)(void *arg, const struct store_dangling_ref *ref), void *arg,
			struct err *e);

/* The search index's own consistency check: 0 when sound, else -1 with
 * e->msg what is wrong (the backend's words). */
int store_search_index_check(struct store *s, struct err *e);

/* ---- counts for the figures ---- */

/* The counts below take only tickets created in [since, until) (0: no
 * bound on that side) until it is set again: stats and report
 * --since/--until. */
void store_set_count_period(struct store *s, int64_t since, int64_t until);

typedef int store_count_fn(void *arg, const char *key, int64_t n);

/* Tickets per status: every status, in the order new, open, pending,
 * resolved, closed, zero or not. */
int store_count_by_status(struct store *s, store_count_fn *each, void *arg, struct err *e);

/* Tickets per queue (only the waiting ones when waiting_only), largest
 * count first, ties by queue name. */
int store_count_by_queue(struct store *s, bool waiting_only, store_count_fn *each, void *arg,
			 struct err *e);

/* Waiting tickets per queue and status, for the pairs that have any. */
int store_count_waiting_by_queue_status(struct store *s,
					int (*each)(void *arg, const char *queue,
						    const char *status, int64_t n),
					void *arg, struct err *e);

#define STORE_AGE_BUCKETS 5
/* Waiting tickets by time since created at now: counts[i] those younger
 * than upto[i] (and not of an earlier bucket), the last bucket the rest.
 * Tickets "from the future" (a clock set back) count in the first, so that
 * the buckets always sum to the waiting total. */
int store_count_waiting_by_age(struct store *s, int64_t now,
			       const int64_t upto[STORE_AGE_BUCKETS - 1],
			       int64_t counts[STORE_AGE_BUCKETS], struct err *e);

/* Per answered ticket, its queue and the seconds from its creation to
 * its first staff reply (an outgoing message of kind 'reply'; never
 * negative), ordered by queue, then by delay. */
int store_first_answer_delays(struct store *s,
			      int (*each)(void *arg, const char *queue, int64_t seconds),
			      void *arg, struct err *e);

/* Tickets created in each of n periods of len seconds from first:
 * counts[i] for [first + i * len, first + (i + 1) * len). */
int store_count_created(struct store *s, int64_t first, int64_t len, size_t n, int64_t *counts,
			struct err *e);

#endif
