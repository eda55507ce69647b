/* verp.h - the desk's bounce address (VERP) for mail that may bounce to
 * the desk: partner notices and staff replies go out with the envelope
 * sender LOCAL+bounce-OUTBOXID-CHECK@DOMAIN (LOCAL@DOMAIN: [desk] address;
 * CHECK: 8 hex digits of the SHA-256 of the mail's Message-ID, so that a
 * stranger cannot aim mail at a ticket by guessing an outbox number).
 * Acknowledgements and other automatic answers keep the null sender. */
#ifndef SECDESK_VERP_H
#define SECDESK_VERP_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "message.h"
#include "store.h"

/* Whether mail of this outbox kind carries the bounce address. */
bool verp_kind(const char *kind);

/* The bounce address of outbox row outbox_id (allocated), or NULL when the
 * row has no recorded message (then e is untouched); NULL with e set on a
 * store error (check e->code). */
char *verp_sender(struct store *s, const char *desk_address, int64_t outbox_id, struct err *e);

/* What a mail sent to a bounce address points at. */
struct verp_hit {
	int64_t outbox_id;
	int64_t ticket_id; /* 0 when the outbox row has none */
	char kind[16];     /* the outbox row's kind: notice, reply */
	char rcpts[512];   /* its recipients, comma-separated (cut when longer) */
};

/* Looks for a bounce address of this desk in m's Delivered-To,
 * X-Original-To, Envelope-To and To headers, and checks it against the
 * outbox. 1 with hit filled, 0 when there is none (or its check fails),
 * -1 on a store error. */
int verp_match(struct store *s, const char *desk_address, const struct message *m,
	       struct verp_hit *hit, struct err *e);

/* The pure part, for tests: parses addr as a bounce address of desk;
 * 1 with *outbox_id and check (9 bytes) set, else 0. */
int verp_parse(const char *desk_address, const char *addr, int64_t *outbox_id,
	       char check[9]);

#endif
