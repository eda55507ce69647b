/* fetch.h - the intake loop, on one thread (the search index and the
 * checkpoints on a second unless [store] index_thread = no, index_thread.h): source -> raw bytes committed
 * -> parsed (crash-guarded), threaded, classified, stored -> committed and
 * synced -> indexed -> source copy marked done. Nothing is marked done
 * before its ticket is durable; nothing is stored twice. */
#ifndef SECDESK_FETCH_H
#define SECDESK_FETCH_H

#include "config.h"
#include "err.h"
#include "ingest.h"
#include "store.h"

/* A message that crashed or hung the parser this many times (crashguard.h)
 * is set aside as a poison message. */
#define INTAKE_MAX_ATTEMPTS 3
/* Seconds one message may spend in the parser before the process is killed
 * (the next run then isolates it). */
#define INTAKE_PARSE_ALARM 60

struct fetch_stats {
	int fetched;        /* messages taken from the source this run */
	int new_tickets;
	int followups;
	int duplicates;
	int flagged;        /* stored, but flagged for staff (bad mail, bounce...) */
	int problems;       /* of them, steps that failed (ingest_result.problems) */
	int poison;
	int acks_queued;
	int acks_suppressed;
	int notices_queued;
	int template_fallbacks; /* acks and notices sent with a fallback template */
	int held;               /* held in the outbox: no template works */
	int marked_done;
	int skipped;        /* unreadable in the source, left there */
	char skip_note[1024];
	/* Wall seconds per stage (secdesk -v prints them): taking mail from the
	 * source and staging it, parsing and classifying (parse_wait), storing
	 * tickets, committing (a commit is synced), marking the source copies
	 * done, indexing for search (index_wait). */
	struct fetch_times {
		double source, parse_wait, store, commit, mark_done, index_wait;
	} times;
	struct ingest_result last; /* of the last message processed */ /* why the last one was skipped */
};

/* Called after each batch of a fetch: done of total new messages. */
typedef void (*fetch_progress_fn)(void *arg, size_t done, size_t total);
/* Sets the progress callback of later fetch_run() calls (NULL: none). */
void fetch_set_progress(fetch_progress_fn fn, void *arg);

/* Fetches from [mailbox] url. Returns 0 when everything offered was stored;
 * -1 with EXIT_TEMPFAIL when the source went away (what was committed
 * stays), EXIT_UNAVAILABLE when the mailbox cannot be used, EXIT_CONFIG for
 * an unknown scheme, or a store error. */
int fetch_run(const struct config *cfg, struct store *s, struct ingest *ing,
	      struct fetch_stats *st, struct err *e);

/* Takes one message offered outside a mailbox (secdesk ingest): the raw
 * bytes are committed first, then processed. source_id names the path. */
int intake_one(struct ingest *ing, struct store *s, const char *source_id, const char *raw,
	       size_t len, struct ingest_result *res, struct err *e);

/* Processes messages whose raw bytes were committed by an earlier run that
 * did not finish them; isolates poison messages. */
int intake_recover(struct ingest *ing, struct store *s, const char *source_id,
		   struct fetch_stats *st, struct err *e);

#endif
