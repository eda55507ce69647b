/* remind.h - digests of waiting tickets for the people who should act:
 * each queue's contacts (rules/, the queue list) and each assignee with a
 * mail address, queued in the outbox for `secdesk send` (`secdesk remind`).
 *
 * A ticket is in the digests when its status is one of the configured ones
 * (default new, open), it is not a merged stub or spam, and it has waited
 * longer than [remind] after: since it was created, or, once staff replied,
 * since the requester's first message after the last staff reply (the last
 * reply itself when none came). A recipient gets one digest with all of
 * their tickets, at most one per [remind] min_interval (the last send is
 * kept in the state table, key "remind:ADDRESS"). Never sent to a ticket's
 * requester (the ticket is left out of that person's digest), nor to the
 * desk's own address (it would come back in as mail). */
#ifndef SECDESK_REMIND_H
#define SECDESK_REMIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "store.h"
#include "strlist.h"

struct ruleset;

#define REMIND_MAX_STATUSES 5
/* Tickets listed in one digest (the oldest); the rest are counted in
 * {{more}}, so that a backlog never makes a mail too large to build. */
#define REMIND_MAX_LISTED 100
#define REMIND_DEFAULT_STATUSES "new,open"

struct remind_opts {
	int64_t now;
	int64_t after;               /* seconds of waiting before a ticket is listed */
	int64_t min_interval;        /* seconds between two digests to one address */
	struct strlist statuses;     /* of tickets that count as waiting */
	const char *assignee_domain; /* USER@domain for assignees without '@'; NULL */
	const char *desk_address;    /* never a recipient, */
	const struct strlist *desk_aliases; /* nor these (deskaddr.h); NULL: none */
};

/* Fills o from cfg->remind (statuses checked: EXIT_CONFIG naming the key);
 * o->now is store_now(). remind_opts_release() frees the list. */
int remind_opts_from_config(const struct config *cfg, struct remind_opts *o, struct err *e);
void remind_opts_release(struct remind_opts *o);

struct remind_ticket {
	int64_t id;
	char *subject;
	char *queue;
	char *status;
	char *priority;
	char *assignee;  /* "" when none */
	char *requester;
	char *tags;      /* "a, b" ("" when none) */
	int64_t since;   /* waiting since (UTC seconds) */
};

enum remind_state {
	REMIND_DUE,          /* to be queued */
	REMIND_QUEUED,       /* in the outbox */
	REMIND_RATE_LIMITED, /* a digest went to this address within min_interval */
};

struct remind_digest {
	char *to;            /* the address, as the queue list or assignee gives it */
	char *queue;         /* the queue whose contact this is; NULL: several, or an assignee */
	char *lang;          /* the template language ("" for English) */
	size_t *tix;         /* indexes into plan->tickets, oldest wait first */
	size_t n;
	size_t cap;
	enum remind_state state;
	int64_t last_sent;   /* the previous digest to this address, 0 when none */
	int64_t outbox_id;   /* when queued */
};

struct remind_plan {
	struct remind_ticket *tickets; /* every waiting ticket, oldest wait first */
	size_t ntickets;
	struct remind_digest *digests; /* by address */
	size_t ndigests;
	struct strlist no_address;  /* assignees without a mail address */
	struct strlist unmailed;    /* tickets' ids ("#12") that reach no recipient */
	int requester_skips;        /* tickets left out of their requester's digest */
	bool desk_skipped;          /* the desk's own address was a contact */
};

void remind_plan_release(struct remind_plan *p);

/* Finds the waiting tickets and who gets which (rules gives the queues'
 * contacts; may be NULL), and marks the digests that the rate limit holds
 * back. Reads only. */
int remind_collect(struct store *s, const struct ruleset *rules, const struct remind_opts *o,
		   struct remind_plan *p, struct err *e);

/* Renders each due digest with the template remind.LANG.tmpl of
 * cfg->templates.dir (QUEUE/remind.LANG.tmpl first, then the top folder,
 * then English; _NAME.txt partials as for the other templates) and queues
 * it, records the send for the rate limit and a "reminded" event on each
 * ticket listed. Runs inside the caller's transaction. A missing or broken
 * template is EXIT_CONFIG; an address mail cannot be built for is skipped
 * (*skipped counts it). */
int remind_queue(struct store *s, const struct config *cfg, const struct ruleset *rules,
		 const struct remind_opts *o, struct remind_plan *p, int *skipped,
		 struct err *e);

/* Renders the digest d of p as the mail's text (header lines, an empty line,
 * the body), for --dry-run -v and the tests. */
int remind_render(const struct config *cfg, const struct ruleset *rules,
		  const struct remind_opts *o, const struct remind_plan *p,
		  const struct remind_digest *d, struct buf *out, struct err *e);

/* A wait for people: "3 days", "1 day", "5 hours", "1 hour", "12 minutes". */
void remind_age(int64_t secs, char *out, size_t n);

#endif
