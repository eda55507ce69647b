/* outbox.h - the outbox table: mail queued in the store, due, sent, retried
 * with exponential back-off, or failed for good (flagged on its ticket).
 *
 * None of these open a transaction: the caller does. */
#ifndef SECDESK_OUTBOX_H
#define SECDESK_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

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

#endif
