/* ticket_ops.h - what a backend provides for tickets (private to src/store/).
 *
 * ticket.c validates, records events and composes these; a backend only
 * reads and writes rows. Strings handed to a callback are valid during the
 * call only. Store errors as store_error() gives them. */
#ifndef SECDESK_TICKET_OPS_H
#define SECDESK_TICKET_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "strlist.h"
#include "ticket.h"

struct store;

struct store_ticket_ops {
	/* Fills t (initialised) with ticket id and its tags, sorted; 1 when
	 * there is no such ticket (t untouched). */
	int (*load)(struct store *s, int64_t id, struct ticket *t, struct err *e);
	/* As load for each of ids into out[i] (initialised), in one round
	 * trip; 1 when one is missing. NULL: ticket.c calls load for each. */
	int (*load_many)(struct store *s, const int64_t *ids, size_t n, struct ticket *out,
			 struct err *e);
	/* Sets updated to now. */
	int (*touch)(struct store *s, int64_t id, int64_t now, struct err *e);
	/* field is one of the settable columns (ticket.c checks it); updated
	 * becomes now. */
	int (*set_field)(struct store *s, int64_t id, const char *field, const char *value,
			 int64_t now, struct err *e);
	/* Assigns ticket id to who (updated becomes now) if nobody has it, in
	 * one statement: of two staff taking it at once one wins. 0 when it
	 * is who's now (*changed: it was nobody's before); 1 when it is not:
	 * *holder (the caller frees it) names who has it, NULL when there is
	 * no ticket id. */
	int (*claim)(struct store *s, int64_t id, const char *who, int64_t now, bool *changed,
		     char **holder, struct err *e);
	/* *changed: whether the tag was added (not there yet, the ticket
	 * exists) or removed (it was there). */
	int (*add_tag)(struct store *s, int64_t id, const char *tag, bool *changed,
		       struct err *e);
	int (*remove_tag)(struct store *s, int64_t id, const char *tag, bool *changed,
			  struct err *e);
	int (*add_flags)(struct store *s, int64_t id, unsigned flags, struct err *e);
	/* Appends the watchers, sorted, to out. */
	int (*watchers)(struct store *s, int64_t id, struct strlist *out, struct err *e);
	/* The rows of a merge (ticket_merge() has checked both tickets): from's
	 * requester joins into's watchers when they wrote one of from's
	 * messages themselves (a message of kind inquiry or followup without
	 * TICKET_IMPERSONAL_FLAGS); from's messages, tags and watchers move;
	 * tickets merged into from follow it; from.merged_into = into. */
	int (*merge)(struct store *s, int64_t from, int64_t into, struct err *e);
	/* The live tickets f selects, in its order, to each. */
	int (*list)(struct store *s, const struct ticket_filter *f, int64_t now,
		    int (*each)(void *arg, int64_t id, bool answered), void *arg, struct err *e);
	int (*events)(struct store *s, int64_t id, ticket_event_fn *each, void *arg,
		      struct err *e);
	int (*messages)(struct store *s, int64_t id, ticket_message_fn *each, void *arg,
			struct err *e);
	int (*first_raws)(struct store *s, ticket_raw_fn *each, void *arg, struct err *e);
};

#endif
