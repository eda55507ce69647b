/* outbox_ops.h - what a backend provides for the outbound area (private to
 * src/store/): the outbox, outgoing messages, the log and counts of
 * automatic mail, state rows, digests, reminders, held mail. outbox.c holds the
 * public functions (include/outbox.h) and what every backend shares (the
 * back-off, flagging a ticket whose mail failed). */
#ifndef SECDESK_STORE_OUTBOX_OPS_H
#define SECDESK_STORE_OUTBOX_OPS_H

#include "outbox.h"

struct store_outbox_ops {
	/* The outbox. quote_of 0: the mail quotes nothing. */
	int (*queue)(struct store *s, int64_t ticket_id, int64_t message_id, const char *kind,
		     const char *env_from, const char *rcpts, const char *data, size_t len,
		     int64_t quote_of, int64_t quote_at, int64_t now, int64_t *id_r,
		     struct err *e);
	int (*set_next_try)(struct store *s, int64_t id, int64_t when, struct err *e);
	int (*due)(struct store *s, bool all, int64_t now, int64_t after_id, size_t max,
		   int64_t **ids, size_t *n, struct err *e);
	/* 0 found, 1 not pending. */
	int (*load)(struct store *s, int64_t id, struct outbox_item *it, struct err *e);
	/* The row's ticket (0: none) and attempts so far: 1, or 0 when gone. */
	int (*attempts)(struct store *s, int64_t id, int64_t *ticket_id, int *attempts,
			struct err *e);
	int (*mark_sent)(struct store *s, int64_t id, int64_t now, struct err *e);
	/* Records an attempt that did not deliver: failed for good, or pending
	 * again at next_try. */
	int (*mark_attempt)(struct store *s, int64_t id, bool failed, int attempts,
			    int64_t next_try, const char *reply, struct err *e);
	/* Appends delivered (comma-joined, "" none) and rejected ("addr reply"
	 * lines) to the row's columns. */
	int (*add_outcome)(struct store *s, int64_t id, const char *delivered,
			   const char *rejected, struct err *e);
	int (*set_rcpts)(struct store *s, int64_t id, const char *rcpts, struct err *e);
	int (*list)(struct store *s, bool all, int (*each)(void *, const struct outbox_row *),
		    void *arg, struct err *e);
	int (*lookup)(struct store *s, int64_t id, struct outbox_ref *ref, struct err *e);
	int (*set_lazy_commits)(struct store *s, bool lazy, struct err *e);

	/* Outgoing messages on tickets (recorded by the message area's
	 * add_message). */
	int (*ticket_acked)(struct store *s, int64_t ticket_id, bool *acked, struct err *e);
	int (*message_body)(struct store *s, int64_t id, char **body, struct err *e);
	int (*pick_message)(struct store *s, int64_t ticket_id, unsigned skip_flags,
			    bool (*pick)(void *, const char *, const char *, const char *),
			    void *arg, int64_t *id_r, struct err *e);
	int (*load_message)(struct store *s, int64_t id, struct message *m, struct err *e);

	/* Automatic mail. */
	int (*auto_log)(struct store *s, const char *const *addrs, size_t n, int64_t at,
			struct err *e);
	int (*auto_count)(struct store *s, int64_t minute, int64_t n, struct err *e);
	int (*auto_logged)(struct store *s, const char *addr, int64_t since, int64_t *n,
			   struct err *e);
	int (*auto_counted)(struct store *s, int64_t minute, int64_t *n, struct err *e);
	int (*auto_prune)(struct store *s, int64_t log_before, int64_t count_before,
			  struct err *e);
	/* Optional (NULL: outbox.c runs the ops above one by one): the
	 * log and count of outbox_auto_record, the counts of
	 * outbox_auto_recent, each in one step. */
	int (*auto_record)(struct store *s, const char *const *addrs, size_t n, int64_t at,
			   int64_t minute, int64_t mails, struct err *e);
	int (*auto_recent)(struct store *s, const char *addr, int64_t since, int64_t minute,
			   int64_t *logged, int64_t *counted, struct err *e);

	/* State rows. */
	int (*state_get)(struct store *s, const char *key, int64_t *value, struct err *e);
	int (*state_set)(struct store *s, const char *key, int64_t value, struct err *e);

	/* Digests and reminders. */
	int (*open_digest)(struct store *s, const char *key, int64_t due_after, int64_t *id_r,
			   struct err *e);
	int (*digest_entries)(struct store *s, int64_t outbox_id,
			      int (*each)(void *, const struct digest_entry *), void *arg,
			      struct err *e);
	int (*waiting_tickets)(struct store *s, const struct strlist *statuses,
			       unsigned skip_flags,
			       int (*each)(void *, const struct waiting_ticket *), void *arg,
			       struct err *e);
	int (*first_word_after)(struct store *s, int64_t ticket_id, int64_t after,
				int64_t *since, struct err *e);
	int (*ticket_tags)(struct store *s, int64_t ticket_id, struct strlist *out,
			   struct err *e);

	/* Held mail (status 'held': never due, never delivered). answers 0:
	 * it answers no stored message. */
	int (*hold)(struct store *s, int64_t ticket_id, int64_t answers, const char *kind,
		    const char *rcpts, const char *data, const char *why, int64_t now,
		    int64_t *id_r, struct err *e);
	/* Every held row, oldest first; *items allocated (the caller releases
	 * each and frees the array). */
	int (*held)(struct store *s, struct outbox_item **items, size_t *n, struct err *e);
	/* Deletes row id if it is held. */
	int (*drop_held)(struct store *s, int64_t id, struct err *e);

	/* Staff's hands on queued mail (outbox_staff_*). A mail staff hold is
	 * 'held' with its recorded message (message_id set), which the held
	 * mail above never has: held() must not return it. */
	/* Row id's state: 1 with *st filled, 0 when there is no row id. */
	int (*row_state)(struct store *s, int64_t id, struct outbox_state *st, struct err *e);
	/* hold: a pending row with a recorded message becomes held, why its
	 * last_error; !hold: such a held row is pending again, due at now.
	 * *changed: whether the row was in the state to change. */
	int (*staff_hold)(struct store *s, int64_t id, bool hold, const char *why, int64_t now,
			  bool *changed, struct err *e);
	/* Deletes row id if it is pending or held; *changed whether it was. */
	int (*cancel)(struct store *s, int64_t id, bool *changed, struct err *e);
	/* The raw bytes stored message message_id was parsed from (allocated,
	 * NUL-terminated; *len): 1, or 0 when it has none. */
	int (*message_raw)(struct store *s, int64_t message_id, char **raw, size_t *len,
			   struct err *e);
};

extern const struct store_outbox_ops sqlite_outbox_ops;

struct message;
/* Both backends: the references column ("<a> <b>") into m->references. */
void outbox_add_refs(struct message *m, const char *refs);

#endif
