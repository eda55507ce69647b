/* autoreply.h - may secdesk answer this mail automatically? (RFC 3834)
 *
 * A pure function of the message and what the caller knows about its
 * ticket, its sender and the hour: no store, no clock. The caller counts;
 * this decides, and says why. */
#ifndef SECDESK_AUTOREPLY_H
#define SECDESK_AUTOREPLY_H

#include <stdbool.h>

#include "message.h"
#include "strlist.h"

struct autoreply_ctx {
	bool enabled;               /* [ack] enabled */
	const char *desk_address;   /* the desk's own address */
	const struct strlist *desk_aliases; /* and its further ones; NULL: none */
	bool from_partner;          /* the sender is a contact of a queue */
	bool rules_no_ack;          /* the rules suppressed the acknowledgement */
	bool already_acked;         /* the ticket has had its acknowledgement */
	int sender_recent;          /* automatic mails to the sender in the window */
	int per_sender_limit;       /* at most this many per window (0: no limit) */
	int hourly_recent;          /* automatic mails in the last hour, all senders */
	int hourly_limit;           /* the breaker (0: none) */
};

enum autoreply_reason {
	AR_YES = 0,
	AR_DISABLED,
	AR_UNREADABLE,      /* poison or parse error: nobody to trust */
	AR_BOUNCE,          /* a delivery report */
	AR_AUTO_SUBMITTED,  /* Auto-Submitted other than no; vacation mail */
	AR_NULL_SENDER,     /* Return-Path: <> */
	AR_NO_ADDRESS,      /* no usable From address */
	AR_ROBOT_SENDER,    /* MAILER-DAEMON, postmaster, owner-*, *-request, no-reply */
	AR_LIST,            /* List-* headers */
	AR_PRECEDENCE,      /* Precedence: bulk, list or junk */
	AR_SUPPRESSED,      /* X-Auto-Response-Suppress: All, OOF, AutoReply */
	AR_DESK,            /* from the desk itself: any of its addresses (deskaddr.h) */
	AR_PARTNER,         /* from a partner contact */
	AR_RULES,           /* the rules said no */
	AR_ALREADY,         /* the ticket was acknowledged already */
	AR_RATE,            /* the sender is over its limit */
	AR_BREAKER,         /* the hourly breaker is open */
};

/* AR_YES to answer, else the first reason not to. */
enum autoreply_reason autoreply_decide(const struct message *m, const struct autoreply_ctx *c);
/* The part of the decision that needs the store's counts (already_acked,
 * sender_recent, hourly_recent): what autoreply_decide ends with, for a
 * caller that asks autoreply_decide first without them. */
enum autoreply_reason autoreply_decide_counts(const struct autoreply_ctx *c);
/* "auto-submitted", "list mail", ...: for events and logs. */
const char *autoreply_reason_str(enum autoreply_reason r);
/* Is addr a robot's address (a mail system's, bounce.h; a list server's;
 * no-reply...)? */
bool autoreply_robot_addr(const char *addr);

#endif
