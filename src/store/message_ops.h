/* message_ops.h - what a backend provides for the message area (private to
 * src/store/): raw bytes, messages and their attachments, the questions
 * threading and de-duplication ask, the ticket a new inquiry opens, its
 * watchers, and the per-message savepoint. The public face is
 * include/store_message.h and include/attach.h.
 *
 * Lookups that give an id return it, 0 when there is none, -1 with e set
 * on a store error. Yes/no questions return 1, 0 or -1. An iteration calls
 * each(arg, ...) per row; a non-zero return stops it and is returned. */
#ifndef SECDESK_STORE_MESSAGE_OPS_H
#define SECDESK_STORE_MESSAGE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store_message.h"

struct attach_info;
struct store;
struct ticket;

enum store_savepoint_step {
	STORE_SAVEPOINT_BEGIN,
	STORE_SAVEPOINT_RELEASE,
	STORE_SAVEPOINT_ROLLBACK,
};

struct store_message_ops {
	/* Raw bytes, stored once by SHA-256 (64 hex digits). */
	int (*put_raw)(struct store *s, const char *raw, size_t len, const char *sha256,
		       int64_t *raw_id, struct err *e);
	int (*raw_known)(struct store *s, const char *sha256, struct err *e);

	/* The intake rows of a source (verify): is key known; those not marked
	 * done, in intake order (key and state may be NULL). */
	int (*intake_known)(struct store *s, const char *source, const char *key, struct err *e);
	int (*each_undone_intake)(struct store *s, const char *source,
				  int (*each)(void *arg, const char *key, const char *state),
				  void *arg, struct err *e);

	/* Threading: the ticket of the first message with this Message-ID
	 * (with desk_sent, of one the desk sent); the ticket id was merged
	 * into (0: not merged or no such ticket); does ticket id exist. */
	int64_t (*ticket_by_msgid)(struct store *s, const char *msgid, bool desk_sent,
				   struct err *e);
	int64_t (*merged_into)(struct store *s, int64_t id, struct err *e);
	int64_t (*ticket_exists)(struct store *s, int64_t id, struct err *e);

	/* Watchers: is addr one of ticket id; add it (once). */
	int (*is_watcher)(struct store *s, int64_t id, const char *addr, struct err *e);
	int (*add_watcher)(struct store *s, int64_t id, const char *addr, struct err *e);

	/* A ticket opened by intake, from t's fields but id, tags and
	 * merged_into (related_to 0: none); sets t->id. */
	int (*create_ticket)(struct store *s, struct ticket *t, struct err *e);

	/* Messages. */
	int (*add_message)(struct store *s, const struct store_message_row *row, int64_t *id,
			   struct err *e);
	int64_t (*message_by_raw)(struct store *s, int64_t raw_id, struct err *e);
	/* Inbound messages with this Message-ID from this sender (any case);
	 * subject and body "" when NULL. */
	int (*each_same_sender)(struct store *s, const char *msgid, const char *from_addr,
				int (*each)(void *arg, int64_t row_id, const char *subject,
					    const char *body),
				void *arg, struct err *e);
	/* Optional (NULL: message_by_raw, then each_same_sender):
	 * store_message_find_stored in one step. */
	int (*find_stored)(struct store *s, int64_t raw_id, const char *msgid,
			   const char *from_addr,
			   int (*each)(void *arg, int64_t row_id, const char *subject,
				       const char *body),
			   void *arg, struct err *e);

	/* Attachments: contents once by SHA-256 (a second put is a no-op);
	 * one row per part (sha256 NULL: not kept). */
	int (*put_blob)(struct store *s, const char *sha256, const void *data, size_t size,
			struct err *e);
	int (*add_attachment)(struct store *s, int64_t message_row_id, size_t idx,
			      const char *filename, const char *content_type, size_t size,
			      const char *sha256, struct err *e);
	/* Of one message in part order: size and sha256 ("" when not kept). */
	int (*each_message_attachment)(struct store *s, int64_t message_row_id,
				       int (*each)(void *arg, int64_t size, const char *sha256),
				       void *arg, struct err *e);
	/* Of a ticket, in message then part order (caller frees the list with
	 * attach_list_free). */
	int (*ticket_attachments)(struct store *s, int64_t ticket_id, struct attach_info **list,
				  size_t *n, struct err *e);
	/* 1 with *data (malloc'd, one byte more than *len) and *len, 0 when
	 * the store has no such content. */
	int (*read_blob)(struct store *s, const char *sha256, unsigned char **data, size_t *len,
			 struct err *e);

	/* One level of savepoint inside the open transaction. */
	int (*savepoint)(struct store *s, enum store_savepoint_step step, struct err *e);
	/* Is the transaction still open (a failed statement may end it)? */
	bool (*txn_active)(struct store *s);
};

#endif
