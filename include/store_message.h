/* store_message.h - messages in the store: raw bytes, a parsed message as a
 * row, the questions threading and de-duplication ask, the ticket a new
 * inquiry opens, watchers, and the savepoint around one message.
 *
 * The store answers questions; which ticket a mail joins is decided by the
 * caller (ingest.c). Everything runs inside the caller's transaction.
 * Lookups that give an id return it, 0 when there is none, -1 with e set on
 * a store error; yes/no questions return 1, 0 or -1. An iteration calls
 * each(arg, ...) per row; a non-zero return from each stops it and is what
 * the iteration returns. Strings given to each live until it returns. */
#ifndef SECDESK_STORE_MESSAGE_H
#define SECDESK_STORE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct message;
struct store;
struct ticket;

/* Raw bytes */

/* Stores raw (len bytes) once by its SHA-256 (64 hex digits); gives its
 * raws.id, the same for the same bytes. */
int store_message_put_raw(struct store *s, const char *raw, size_t len, const char *sha256,
			  int64_t *raw_id, struct err *e);
/* Does the store hold bytes with this SHA-256? */
int store_message_raw_known(struct store *s, const char *sha256, struct err *e);

/* The intake rows of a source (for verify; they belong with the intake
 * area's operations once there is one) */

/* Has the source's message key been taken in? */
int store_message_intake_known(struct store *s, const char *source, const char *key,
			       struct err *e);
/* Each message of source taken in but not marked done, in intake order;
 * key and state may be NULL. */
int store_message_each_undone_intake(struct store *s, const char *source,
				     int (*each)(void *arg, const char *key, const char *state),
				     void *arg, struct err *e);

/* Threading lookups */

/* The ticket of the first stored message with Message-ID msgid (NULL or ""
 * gives 0); with desk_sent, only of a message the desk sent. */
int64_t store_message_ticket_by_msgid(struct store *s, const char *msgid, bool desk_sent,
				      struct err *e);
/* Follows merged tickets from id to the one that lives on (at most 32
 * hops); 0 when id is 0. */
int64_t store_message_live_ticket(struct store *s, int64_t id, struct err *e);
/* id when ticket id exists, else 0. */
int64_t store_message_ticket_exists(struct store *s, int64_t id, struct err *e);

/* Watchers (addresses that get a ticket's staff replies) */

int store_message_is_watcher(struct store *s, int64_t ticket_id, const char *addr,
			     struct err *e);
/* Adds addr to the ticket's watchers; one already there stays once. */
int store_message_add_watcher(struct store *s, int64_t ticket_id, const char *addr,
			      struct err *e);

/* The ticket a new inquiry opens: a row from t's fields (status, queue,
 * category, priority, language, subject, requester, requester_name,
 * assignee, flags, related_to (0: none), created, updated; not its tags,
 * which the caller adds with ticket_add_tag()); sets t->id. No event is
 * recorded. To be unified with the ticket area's creation. */
int store_message_create_ticket(struct store *s, struct ticket *t, struct err *e);

/* Messages */

/* A messages row as stored: addresses as "Name <addr>, addr, ...", refs
 * space-separated, names the text the search index reads for people. */
struct store_message_row {
	int64_t ticket_id;
	int64_t raw_id;        /* 0: none (mail the desk wrote) */
	const char *direction; /* "in" or "out" */
	const char *kind;      /* inquiry, followup, partner, bounce, autoreply... */
	const char *from_name;
	const char *from_addr;
	const char *to_addrs;
	const char *cc_addrs;
	const char *subject;
	bool has_date;
	int64_t date;
	const char *message_id;
	const char *in_reply_to;
	const char *refs;
	const char *body;
	const char *names;
	unsigned flags;         /* enum message_flag */
	const char *parse_note; /* NULL when none */
	int64_t created;
};

/* Stores parsed message m, received (direction "in") as kind, in ticket
 * ticket_id with its raw bytes raw_id; gives the row's id. Its attachments
 * are attach_store()'s. */
int store_message_add_inbound(struct store *s, int64_t ticket_id, int64_t raw_id,
			      const char *kind, const struct message *m, int64_t *id,
			      struct err *e);
/* The first message stored from raw bytes raw_id. */
int64_t store_message_by_raw(struct store *s, int64_t raw_id, struct err *e);
/* Each received message with Message-ID msgid from from_addr (any case):
 * its row id, subject and body ("" when none). */
int store_message_each_same_sender(struct store *s, const char *msgid, const char *from_addr,
				   int (*each)(void *arg, int64_t row_id, const char *subject,
					       const char *body),
				   void *arg, struct err *e);
/* Is raw_id, or a mail with msgid (not "") from from_addr, stored? 1 when
 * a message has these bytes (store_message_by_raw), else as
 * store_message_each_same_sender (0 when msgid is ""); one step. */
int store_message_find_stored(struct store *s, int64_t raw_id, const char *msgid,
			      const char *from_addr,
			      int (*each)(void *arg, int64_t row_id, const char *subject,
					  const char *body),
			      void *arg, struct err *e);
/* Each attachment of message row_id, in part order: its size and the
 * SHA-256 of its content ("" when the content was not kept). */
int store_message_each_attachment(struct store *s, int64_t row_id,
				  int (*each)(void *arg, int64_t size, const char *sha256),
				  void *arg, struct err *e);

/* One message's rows under a savepoint inside the open transaction, so that
 * a step that fails for that message alone can be undone (one level: no
 * nesting). Errors: "cannot set a savepoint". */
int store_savepoint_begin(struct store *s, struct err *e);
int store_savepoint_release(struct store *s, struct err *e);
int store_savepoint_rollback(struct store *s, struct err *e);
/* Is the transaction still open? A store error can end it (the backend
 * rolled back): then nothing more can be written in it. */
bool store_txn_active(struct store *s);

#endif
