/* ingest_result.h - what ingest did with one message: a plain record that
 * ingest fills and outbound adds its counts to while it queues the
 * acknowledgement and notices, so that outbound needs nothing else of
 * ingest (ingest.h). */
#ifndef SECDESK_INGEST_RESULT_H
#define SECDESK_INGEST_RESULT_H

#include <stdbool.h>
#include <stdint.h>

/* What happened to one message. */
enum ingest_kind {
	INGEST_NEW_TICKET,  /* opened a new ticket */
	INGEST_FOLLOWUP,    /* added to an existing ticket */
	INGEST_DUPLICATE,   /* already stored: nothing done */
};

struct ingest_result {
	enum ingest_kind kind;
	int64_t ticket_id;
	int64_t message_id;  /* messages.id of the stored message */
	bool reopened;       /* a resolved ticket was reopened */
	int64_t continues;   /* the new ticket follows up this closed one; 0: none */
	bool partner;        /* correspondence from the ticket queue's partner */
	bool routed;         /* the rules set the queue of a new ticket */
	bool no_ack;         /* the rules suppressed the acknowledgement, or DMARC failed */
	unsigned msg_flags;  /* enum message_flag */
	int acks_queued;     /* acknowledgements queued for this message */
	int acks_suppressed;
	int notices_queued;  /* partner notifications queued */
	/* acks and notices whose own template is broken (tmpl.h): sent with
	 * the fallback template, or held in the outbox when none works */
	int template_fallbacks;
	int held;
	/* steps that failed for this message alone (a rule's value, threading,
	 * attachments, the ack, the notice...): left out, the ticket flagged
	 * TICKET_FLAG_PROCESSING with each reason as an event */
	int problems;
};

#endif
