/* ticket_record.h - a ticket as a plain record: what the rules read of a
 * follow-up's ticket and the store keeps (ticket.h has its operations), and
 * the syntax of the words a ticket carries. */
#ifndef SECDESK_TICKET_RECORD_H
#define SECDESK_TICKET_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "message.h"
#include "strlist.h"

#define TICKET_DEFAULT_QUEUE "secretariat"

enum ticket_flag {
	TICKET_FLAG_PARSE_ERROR = 1 << 0, /* a message could not be parsed */
	TICKET_FLAG_BOUNCE = 1 << 1,      /* holds a bounce */
	TICKET_FLAG_AUTOREPLY = 1 << 2,
	TICKET_FLAG_SPAM = 1 << 3,
	TICKET_FLAG_POISON = 1 << 4,
	TICKET_FLAG_SEND_FAILED = 1 << 5, /* an outgoing mail failed for good */
	TICKET_FLAG_FOLLOWUP = 1 << 6,    /* possible follow-up of related_to */
	TICKET_FLAG_OVERSIZE = 1 << 7,
	/* a step of a message's processing failed (a rule's value, threading,
	 * attachments, the ack, the notice): skipped, the reason an event */
	TICKET_FLAG_PROCESSING = 1 << 8,
};

/* Only a message a person wrote to the desk themselves (messages.kind
 * 'inquiry' or 'followup', none of these flags) is ever quoted to the
 * public or makes its sender a participant: partner correspondence,
 * bounces, auto-replies and spam never are. */
#define TICKET_IMPERSONAL_FLAGS (MSG_BOUNCE | MSG_AUTOREPLY | MSG_SPAM | MSG_POISON)

/* The longest tag, category or assignee a ticket takes (bytes). */
#define TICKET_WORD_MAX 100

struct ticket {
	int64_t id;
	char *status;   /* new, open, pending, resolved, closed */
	char *queue;
	char *category;
	char *priority; /* low, normal, high, urgent */
	char *language; /* ISO 639-1, "" when unknown */
	char *subject;
	char *requester;      /* address */
	char *requester_name; /* display name, "" when none */
	char *assignee;       /* "" when none */
	struct strlist tags;
	unsigned flags;       /* enum ticket_flag */
	int64_t merged_into;  /* 0 when not merged */
	int64_t related_to;   /* 0 when none */
	int64_t created;
	int64_t updated;
};

/* Is s a tag, category or assignee: one word of 1 to TICKET_WORD_MAX bytes
 * of UTF-8, without spaces, commas or control characters? */
bool ticket_word_valid(const char *s);

#endif
