/* ticket.h - a ticket as the store holds it, and its triage operations.
 *
 * Every change is recorded as an event (who, when, old and new value) in
 * the same transaction. Strings are owned by struct ticket. */
#ifndef SECDESK_TICKET_H
#define SECDESK_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "message.h"
#include "store.h"
#include "strlist.h"
#include "ticket_record.h"

void ticket_init(struct ticket *t);
void ticket_release(struct ticket *t);

/* dst (initialised) becomes a copy of src. */
void ticket_copy(struct ticket *dst, const struct ticket *src);

/* Loads ticket id; returns 0, or -1 with EXIT_DATAERR when there is none. */
int ticket_load(struct store *s, int64_t id, struct ticket *t, struct err *e);
/* Loads the tickets ids[0..n) into out[0..n), which the caller releases,
 * as ticket_load() each; on an error none is left loaded. */
int ticket_load_many(struct store *s, const int64_t *ids, size_t n, struct ticket *out,
		     struct err *e);

/* As ticket_load(), for a command that changes the ticket or writes on
 * its behalf: a ticket merged into another is refused with EXIT_DATAERR
 * and a message naming the ticket it went into. */
int ticket_load_live(struct store *s, int64_t id, struct ticket *t, struct err *e);

bool ticket_status_valid(const char *status);

/* Flags ticket id TICKET_FLAG_PROCESSING and records why as an event
 * what ("attach-failed", ...) with reason as its value. */
int ticket_flag_problem(struct store *s, int64_t id, const char *what, const char *reason,
			struct err *e);

/* Triage. Each records an event by who; a no-op change records nothing.
 * They do not open a transaction: the caller does. */
int ticket_set_field(struct store *s, int64_t id, const char *field, const char *value,
		     const char *who, struct err *e);
/* Assigns ticket id to who unless another has it (EXIT_DATAERR naming
 * them: two staff taking one ticket at once, one wins, on every backend);
 * taking one's own ticket again changes nothing. */
int ticket_take(struct store *s, int64_t id, const char *who, struct err *e);
int ticket_add_tag(struct store *s, int64_t id, const char *tag, const char *who, struct err *e);
int ticket_remove_tag(struct store *s, int64_t id, const char *tag, const char *who,
		      struct err *e);
int ticket_add_flags(struct store *s, int64_t id, unsigned flags, struct err *e);
/* Appends the ticket's watchers (addresses that get its staff replies
 * besides the requester), sorted, to out. */
int ticket_watchers(struct store *s, int64_t id, struct strlist *out, struct err *e);
int ticket_add_note(struct store *s, int64_t id, const char *text, const char *who,
		    struct err *e);
/* The flags as an array of names ("parse-error", "bounce", ...): a jansson
 * json_t *, declared as void * so that this header needs no jansson. */
void *ticket_flags_json(unsigned flags);
/* The flags as "bounce,spam" into out. */
void ticket_flags_str(unsigned flags, char *out, size_t n);

/* Merges ticket from into ticket into: its messages, tags and watchers
 * move; its requester becomes a watcher (a participant) of into when that
 * address wrote one of its messages itself (not a bounce's or an
 * auto-reply's sender). from stays as a closed stub pointing at into, and
 * tickets merged into from earlier follow it. Both must exist and neither
 * be merged already (EXIT_DATAERR, naming the ticket it went into). An
 * event on each; the caller holds the transaction. */
int ticket_merge(struct store *s, int64_t from, int64_t into, const char *who, struct err *e);

/* Touches updated: to now, or to when. */
int ticket_touch(struct store *s, int64_t id, struct err *e);
int ticket_touch_at(struct store *s, int64_t id, int64_t when, struct err *e);

/* ---- reading: lists, a ticket's history and thread ----
 * Strings in the structs below belong to the store and are valid during
 * the callback only. A callback's -1 (with e set) stops the walk, which
 * then returns -1. */

enum ticket_sort {
	TICKET_SORT_UPDATED, /* the default, with descending: newest activity first */
	TICKET_SORT_ID,
	TICKET_SORT_CREATED,
	TICKET_SORT_PRIORITY, /* low, normal, high, urgent */
	TICKET_SORT_QUEUE,    /* in any case */
	TICKET_SORT_STATUS,   /* new, open, pending, resolved, closed */
};

/* What ticket_list() selects: every filter given must match. "Answered"
 * means a staff reply (an outgoing message of kind 'reply') is in the
 * ticket: acknowledgements, partner notices and reminders do not count. */
struct ticket_filter {
	const struct strlist *status; /* any of them; NULL or empty: all */
	const char *queue;            /* in any case; NULL: all */
	const char *assignee;         /* "": unassigned; NULL: all */
	const char *tag;
	const char *category;         /* in any case */
	int64_t older_than;           /* created at least this many seconds ago; 0: all */
	bool unanswered;
	bool want_answered;           /* fill ticket_hit.answered (a lookup per ticket) */
	enum ticket_sort sort;
	bool descending;              /* ties by id, the same way */
	long limit;                   /* 0: all */
};

struct ticket_hit {
	int64_t id;
	bool answered; /* false unless want_answered */
};

/* The live (never merged) tickets f selects, in its order: *out is an
 * array of *n the caller frees (NULL when none). */
int ticket_list(struct store *s, const struct ticket_filter *f, struct ticket_hit **out,
		size_t *n, struct err *e);

struct ticket_event {
	int64_t at;
	const char *who;
	const char *what;
	const char *old_value; /* NULL when none */
	const char *new_value; /* NULL when none */
};
typedef int ticket_event_fn(void *arg, const struct ticket_event *ev, struct err *e);

/* The history of ticket id, oldest first (by time, then as recorded). */
int ticket_events(struct store *s, int64_t id, ticket_event_fn *each, void *arg,
		  struct err *e);

/* A message of a ticket as the store keeps it. */
struct ticket_message {
	int64_t id;
	const char *direction; /* "in", "out" */
	const char *kind;      /* inquiry, followup, partner, bounce, autoreply, ack, ... */
	const char *from_name;
	const char *from_addr;
	const char *to_addrs;
	const char *cc_addrs;
	const char *subject;
	bool has_date;
	int64_t date;          /* its Date: header, when has_date */
	const char *message_id;
	const char *in_reply_to;
	const char *body;
	unsigned flags;        /* enum msg_flag */
	const char *parse_note; /* NULL when none */
	int64_t created;       /* when it reached the store */
};
typedef int ticket_message_fn(void *arg, const struct ticket_message *m, struct err *e);

/* The messages of ticket id in the order they reached the store. */
int ticket_messages(struct store *s, int64_t id, ticket_message_fn *each, void *arg,
		    struct err *e);

typedef int ticket_raw_fn(void *arg, int64_t ticket_id, const char *raw, size_t len,
			  struct err *e);

/* For every ticket that has one, by ticket id: its first incoming message
 * as received (raw, len bytes), which is what the rules saw. */
int ticket_first_raws(struct store *s, ticket_raw_fn *each, void *arg, struct err *e);

#endif
