/* authres.h - the DMARC verdict that the desk's own MX wrote into
 * Authentication-Results header fields (RFC 8601, RFC 7489 section 11.2).
 *
 * Pure functions of their arguments: no store, no config, nothing kept
 * between calls. Only fields whose authserv-id is the trusted one are read;
 * the rest are somebody else's claims. */
#ifndef SECDESK_AUTHRES_H
#define SECDESK_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "message.h"

enum authres_dmarc {
	AUTHRES_INVALID = -1, /* not a well-formed field value (RFC 8601 section 2.2) */
	AUTHRES_NOT_OURS,     /* well-formed, another authserv-id: not read */
	AUTHRES_NO_DMARC,     /* ours, without a dmarc result for the From domain */
	AUTHRES_DMARC_OTHER,  /* none, temperror, permerror, or a result RFC 7489 lacks */
	AUTHRES_DMARC_PASS,
	AUTHRES_DMARC_FAIL,
};

/* Is id usable as [mailbox] trusted_authserv_id: a non-empty RFC 2045 token
 * (a host name such as mx.example.org) of at most 255 bytes? */
bool authres_id_ok(const char *id);

/* The DMARC verdict of one field value (unfolded) for from_domain, the
 * domain of the mail's From ("" when it has none). Compared without regard
 * to case: the authserv-id with trusted_id, header.from with from_domain.
 * A dmarc result whose header.from names another domain is not counted;
 * one without header.from is. Of several results the strongest wins:
 * FAIL, then PASS, then OTHER. INVALID for a value RFC 8601 does not
 * allow, whatever its authserv-id (the leniencies: tests/VIOLATIONS.md). */
enum authres_dmarc authres_dmarc_field(const char *value, const char *trusted_id,
				       const char *from_domain);

/* The same over a message's header fields, top down, reading only the
 * topmost block of Authentication-Results fields with trusted_id: from the
 * first such field to the next Received: field (RFC 8601 section 5: fields
 * below the MX's own may have come with the mail). A field of another id
 * is skipped; an INVALID one of ours counts as NO_DMARC. Since FAIL wins,
 * a forged field in the block can add a failure but never hide one.
 * NOT_OURS when no field has trusted_id. */
enum authres_dmarc authres_dmarc_message(const struct header *h, size_t n,
					 const char *trusted_id, const char *from_domain);

/* "fail", "pass", ...: for events and test messages. */
const char *authres_dmarc_str(enum authres_dmarc v);

#endif
