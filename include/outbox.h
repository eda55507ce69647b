/* outbox.h - the store's outbound area (src/store/outbox.c): mail queued in
 * the store, due, sent, retried with exponential back-off, or failed for
 * good (flagged on its ticket), or held unrendered while no template works
 * for it; the outgoing messages recorded on tickets;
 * the log and counts of automatic mail that the RFC 3834 limits and the
 * breaker read; the small state rows (the breaker, digests, reminders); and
 * what reminders and bounce addresses look up.
 *
 * None of these open a transaction: the caller does. Errors are the
 * store's (EXIT_TEMPFAIL when busy, "store 'PATH': ..."). */
#ifndef SECDESK_OUTBOX_H
#define SECDESK_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"
#include "strlist.h"

struct message;

struct outbox_item {
	int64_t id;
	int64_t ticket_id; /* 0 when none */
	char *kind;
	char *env_from;
	char *rcpts;       /* comma-separated */
	char *data;
	size_t len;
	int attempts;
	/* Not 0: data is the header block, an empty line and the body text
	 * not yet transfer-encoded, and the quoted text of stored message
	 * quote_of goes at byte quote_at of that text (outbound builds the
	 * mail when it delivers it): the inquiry a partner notice quotes is
	 * stored once. */
	int64_t quote_of;
	int64_t quote_at;
};

void outbox_item_release(struct outbox_item *it);

/* Queues a mail, due now. ticket_id / message_id 0 when none. */
int outbox_queue(struct store *s, int64_t ticket_id, int64_t message_id, const char *kind,
		 const char *env_from, const char *rcpts, const char *data, size_t len,
		 int64_t *id_r, struct err *e);

/* The same for a mail that quotes stored message quote_of at byte quote_at
 * of its body (struct outbox_item). */
int outbox_queue_quoting(struct store *s, int64_t ticket_id, int64_t message_id, const char *kind,
			 const char *env_from, const char *rcpts, const char *data, size_t len,
			 int64_t quote_of, int64_t quote_at, int64_t *id_r, struct err *e);

/* Makes pending mail id due at when rather than now. */
int outbox_set_next_try(struct store *s, int64_t id, int64_t when, struct err *e);

/* The ids of pending mail due at now (all pending when all is true), oldest
 * first, at most max of them, after after_id. *ids is allocated. */
int outbox_due(struct store *s, bool all, int64_t now, int64_t after_id, size_t max,
	       int64_t **ids, size_t *n, struct err *e);
/* Loads one pending row; 0 when found, 1 when it is no longer pending. */
int outbox_load(struct store *s, int64_t id, struct outbox_item *it, struct err *e);

int outbox_mark_sent(struct store *s, int64_t id, struct err *e);
/* A failed attempt. Permanent (5xx) or the last allowed attempt: failed for
 * good, the ticket flagged TICKET_FLAG_SEND_FAILED with an event; else
 * pending again at now + retry_base * 2^(attempts-1), at most a day later. */
int outbox_mark_failed(struct store *s, int64_t id, const char *reply, bool permanent,
		       int max_attempts, int retry_base, struct err *e);
/* A recipient the server refused for good, with its reply. */
struct outbox_refusal {
	const char *addr;
	const char *reply;
};

/* Appends refusals to the rejected column of id ("addr reply" lines),
 * without events: for a mail refused as a whole, whose failure is
 * recorded by outbox_mark_failed. */
int outbox_add_rejected(struct store *s, int64_t id, const struct outbox_refusal *rej,
			size_t nrej, struct err *e);
/* A mail some recipients took. delivered (comma-separated) took it now
 * and are added to the delivered column; each refusal in rej is recorded
 * in the rejected column and as a 'send-rejected' event on the ticket,
 * which is flagged TICKET_FLAG_SEND_FAILED; deferred (comma-separated,
 * "" for none) become the mail's only recipients, retried after the
 * back-off as outbox_mark_failed does with defer_reply. With none
 * deferred the mail is sent. */
int outbox_mark_partial(struct store *s, int64_t id, const char *delivered,
			const struct outbox_refusal *rej, size_t nrej, const char *deferred,
			const char *defer_reply, int max_attempts, int retry_base,
			struct err *e);
/* The back-off before attempt number attempts + 1. */
int64_t outbox_backoff(int attempts, int retry_base);

/* Whether the store's commits wait for the disk. With lazy, a commit
 * survives a crash of the program but not of the machine until the next
 * commit made with lazy false (which makes every earlier one durable too):
 * the delivery loop records each mail at once and waits for the disk every
 * few mails and at its end. Off again by lazy false. */
int outbox_set_lazy_commits(struct store *s, bool lazy, struct err *e);

/* One outbox row as `secdesk outbox` lists it; the strings belong to the
 * store and are valid during the callback only ("" when NULL). */
struct outbox_row {
	int64_t id;
	int64_t ticket_id;  /* 0 when none */
	const char *kind;
	const char *status; /* pending, sent, failed, held */
	int attempts;
	int64_t next_try;
	int64_t created;
	int64_t sent_at;    /* 0 when not sent */
	const char *rcpts;
	const char *last_error;
	int64_t size;       /* bytes of the queued mail */
	const char *rejected;  /* "addr reply" lines */
	const char *delivered; /* comma-separated */
};

/* Calls each for the rows not sent, or refused by someone (every row when
 * all is true), by id; a non-zero return of each stops and is returned. */
int outbox_list(struct store *s, bool all, int (*each)(void *arg, const struct outbox_row *row),
		void *arg, struct err *e);

/* What a bounce address (verp.h) points at: outbox row id and its recorded
 * message. The strings are allocated; outbox_ref_release() frees them. */
struct outbox_ref {
	int64_t ticket_id; /* 0 when none */
	char *kind;
	char *rcpts;
	char *message_id;  /* "" when the row has no recorded message */
};
/* 1 with ref filled, 0 when there is no row id, -1 on store errors. */
int outbox_lookup(struct store *s, int64_t id, struct outbox_ref *ref, struct err *e);
void outbox_ref_release(struct outbox_ref *ref);

/* ---- outgoing messages on tickets ---- */

/* A mail the desk wrote, as the ticket's history keeps it (the values of
 * a messages row of direction 'out'). */
struct outgoing_message {
	int64_t ticket_id;
	const char *kind;      /* ack, notice, reply */
	const char *from_name;
	const char *from_addr;
	const char *to;        /* "a, b" */
	const char *cc;
	const char *subject;
	const char *message_id; /* without brackets */
	const char *in_reply_to; /* "" when none */
	const char *refs;      /* "<a> <b>" */
	const char *body;
	const char *names;     /* what the search index finds it by */
	int64_t date;
};
/* Records m on its ticket; *id_r is the message's id. */
int outbox_record_message(struct store *s, const struct outgoing_message *m, int64_t *id_r,
			  struct err *e);
/* *acked: ticket_id has had its acknowledgement. */
int outbox_ticket_acked(struct store *s, int64_t ticket_id, bool *acked, struct err *e);
/* The text of stored message id (allocated, "" when it has none): 1, or 0
 * when there is no such message. */
int outbox_message_body(struct store *s, int64_t id, char **body, struct err *e);
/* The newest message of ticket_id that a person wrote to the desk (kind
 * inquiry or followup, direction in, none of skip_flags) for which pick
 * (given its From, To and Cc) returns true: its id in *id_r, 0 when none. */
int outbox_pick_message(struct store *s, int64_t ticket_id, unsigned skip_flags,
			bool (*pick)(void *arg, const char *from, const char *to, const char *cc),
			void *arg, int64_t *id_r, struct err *e);
/* Stored message id into m (message_init'ed by the caller): Message-ID,
 * References, subject, body, date. */
int outbox_load_message(struct store *s, int64_t id, struct message *m, struct err *e);

/* ---- automatic mail: the log and counts of RFC 3834's limits ---- */

/* Logs one automatic mail to each of addrs (or counter keys, "notice:Q")
 * at time at. */
int outbox_auto_log(struct store *s, const char *const *addrs, size_t n, int64_t at,
		    struct err *e);
/* Adds n automatic mails to the count of minute (UTC seconds / 60). */
int outbox_auto_count(struct store *s, int64_t minute, int64_t n, struct err *e);
/* *n: the automatic mails logged to addr (compared as ASCII without case)
 * after since. */
int outbox_auto_logged(struct store *s, const char *addr, int64_t since, int64_t *n,
		       struct err *e);
/* *n: the automatic mails counted in the minutes after minute. */
int outbox_auto_counted(struct store *s, int64_t minute, int64_t *n, struct err *e);
/* outbox_auto_log and, when mails > 0, outbox_auto_count of minute, as
 * one step (a backend may do both in one statement). */
int outbox_auto_record(struct store *s, const char *const *addrs, size_t n, int64_t at,
		       int64_t minute, int64_t mails, struct err *e);
/* outbox_auto_logged (addr NULL: not asked, *logged 0) and
 * outbox_auto_counted (counted NULL: not asked) as one step. */
int outbox_auto_recent(struct store *s, const char *addr, int64_t since, int64_t minute,
		       int64_t *logged, int64_t *counted, struct err *e);
/* Forgets the log before log_before and the counts of minutes before
 * count_before. */
int outbox_auto_prune(struct store *s, int64_t log_before, int64_t count_before,
		      struct err *e);

/* ---- the program's state rows ---- */

/* *value: the number kept under key; 1, or 0 (and *value 0) when none. */
int outbox_state_get(struct store *s, const char *key, int64_t *value, struct err *e);
int outbox_state_set(struct store *s, const char *key, int64_t value, struct err *e);

/* ---- partner digests ---- */

/* The pending digest whose id the state row key holds and that is due
 * after due_after: its id in *id_r, 0 when there is none. */
int outbox_open_digest(struct store *s, const char *key, int64_t due_after, int64_t *id_r,
		       struct err *e);
/* An inquiry held for a digest (events 'notice-held' naming it); strings
 * valid during the callback only. */
struct digest_entry {
	int64_t ticket_id;
	const char *subject;
	const char *requester_name; /* NULL when none */
	const char *requester;
};
/* Calls each for the inquiries held for digest outbox_id, in the order they
 * were held; a non-zero return of each stops and is returned. */
int outbox_digest_entries(struct store *s, int64_t outbox_id,
			  int (*each)(void *arg, const struct digest_entry *d), void *arg,
			  struct err *e);

/* ---- reminders ---- */

/* A ticket that may be waiting (remind.h); strings valid during the
 * callback only ("" when NULL). */
struct waiting_ticket {
	int64_t id;
	const char *subject, *queue, *status, *priority, *assignee, *requester;
	int64_t created;
	int64_t last_reply; /* the last staff reply, 0 when none */
};
/* Calls each for the tickets, by id, whose status is one of statuses (at
 * most 5 are looked at), not merged and with none of skip_flags; a
 * non-zero return of each stops and is returned. each may call the store. */
int outbox_waiting_tickets(struct store *s, const struct strlist *statuses, unsigned skip_flags,
			   int (*each)(void *arg, const struct waiting_ticket *t), void *arg,
			   struct err *e);
/* *since: the first inquiry or follow-up of ticket_id after after, or
 * after itself when none came. */
int outbox_first_word_after(struct store *s, int64_t ticket_id, int64_t after, int64_t *since,
			    struct err *e);
/* The tags of ticket_id, in order, appended to out. */
int outbox_ticket_tags(struct store *s, int64_t ticket_id, struct strlist *out, struct err *e);

/* ---- held mail ---- */

/* Held mail: an acknowledgement or notice that no template can render
 * yet, kept unrendered (status 'held', never due) until
 * outbound_release_held renders it. why is its last_error ("held:
 * template error: file:line: ..."); answers the stored message it answers
 * or quotes (quote_of; 0: none); data what the caller needs to render it
 * later (a C string). */
int outbox_hold(struct store *s, int64_t ticket_id, int64_t answers, const char *kind,
		const char *rcpts, const char *data, const char *why, int64_t *id_r,
		struct err *e);
/* Every held mail, oldest first, into *items (allocated; release each):
 * id, ticket_id, kind, rcpts, data and quote_of (what it answers). */
int outbox_held(struct store *s, struct outbox_item **items, size_t *n, struct err *e);
/* Removes held mail id, once it is queued anew. */
int outbox_drop_held(struct store *s, int64_t id, struct err *e);

/* ---- staff's hands on queued mail (secdesk outbox hold|release|cancel) ---- */

/* What staff may do with outbox row id. */
struct outbox_state {
	int64_t ticket_id;  /* 0 when none */
	char kind[32];
	char status[16];    /* pending, sent, failed, held */
	bool has_message;   /* recorded on its ticket (not a digest, a reminder, or
			     * mail held unrendered for a template error) */
};

/* Keeps pending mail id from being sent (status held, "held by WHO") or,
 * with hold false, makes mail held that way due again at once; an event
 * 'outbox-held' / 'outbox-released' on its ticket by who. Refused, with
 * EXIT_DATAERR and a message saying why, for mail already sent or failed,
 * not held by staff (release), held for a template error, or without a
 * recorded message (a digest, a reminder). EXIT_DATAERR when there is no
 * mail id. */
int outbox_staff_hold(struct store *s, int64_t id, bool hold, const char *who, struct err *e);
/* Takes pending or held mail id out of the outbox for good; an event
 * 'outbox-cancelled' (old value its kind, new value its recipients) on
 * its ticket by who. Sent or failed mail is refused (EXIT_DATAERR). */
int outbox_staff_cancel(struct store *s, int64_t id, const char *who, struct err *e);
/* The raw bytes of stored message message_id (allocated, NUL-terminated,
 * *len): 1, or 0 when it was not stored from raw bytes (a mail the desk
 * wrote). */
int outbox_message_raw(struct store *s, int64_t message_id, char **raw, size_t *len,
		       struct err *e);

#endif
