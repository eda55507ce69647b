/* addresses.h - the address fields of a mail's header (From, Sender,
 * Reply-To, To, Cc) into struct message, read by libetpan's RFC 5322
 * grammar, with a lenient reading of a From it cannot take.
 *
 * The fields are collected as the header is read (addr_fields_add), then
 * parsed together (addr_fields_read). The collected text is capped at
 * ADDR_FIELDS_MAX bytes: a field that would pass it is left out. */
#ifndef SECDESK_ADDRESSES_H
#define SECDESK_ADDRESSES_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "message.h"

#define ADDR_FIELDS_MAX (64 * 1024)

struct addr_fields {
	struct buf block; /* "Name: value" CRLF lines for libetpan */
};

void addr_fields_init(struct addr_fields *af);
void addr_fields_release(struct addr_fields *af);

/* Is the field name[0..nlen) one of the address fields (any case)? */
bool addr_is_field(const char *name, size_t nlen);

/* Keeps the field when it is an address field and fits; else nothing. The
 * value is unfolded, without the name and colon. */
void addr_fields_add(struct addr_fields *af, const char *name, size_t nlen, const char *v,
		     size_t vlen);

/* Fills m->from, sender and reply_to (the first of each) and appends to
 * m->to and m->cc; names are RFC 2047-decoded, everything valid UTF-8.
 * A From libetpan cannot read, or reads as junk, is read again from
 * raw_from (the first From value as written; may be NULL): the bracketed
 * address, else a word with an '@'. Returns true when that lenient
 * reading gave the From address. Never fails. */
bool addr_fields_read(struct addr_fields *af, struct message *m, const char *raw_from);

#endif
