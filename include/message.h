/* message.h - one inbound mail, parsed and normalized.
 *
 * Everything here is UTF-8 (valid, NUL-free) and owned by the struct:
 * message_release() frees it all. Strings are never NULL unless said. */
#ifndef SECDESK_MESSAGE_H
#define SECDESK_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "strlist.h"

struct address {
	char *name; /* display name, decoded; "" when none */
	char *addr; /* local@domain as written (case kept); "" when unparsable */
};

struct header {
	char *name;  /* as written, e.g. "Subject" */
	char *value; /* unfolded and RFC 2047-decoded */
};

struct attachment {
	char *filename;     /* decoded (RFC 2047/2231); "" when none */
	char *content_type; /* lowercase "type/subtype" */
	size_t size;        /* decoded size in bytes */
	unsigned char *data; /* decoded content; NULL when not kept (oversize) */
	char sha256[65];    /* hex of the decoded content, "" when not kept */
};

/* Flags set by the parser (and by the checks that follow it). */
enum message_flag {
	MSG_PARSE_ERROR = 1 << 0, /* could not be parsed: raw kept, staff told */
	MSG_BOUNCE = 1 << 1,      /* delivery status notification */
	MSG_AUTOREPLY = 1 << 2,   /* RFC 3834 auto-submitted / vacation */
	MSG_LIST = 1 << 3,        /* mailing-list or bulk mail */
	MSG_OVERSIZE = 1 << 4,    /* parts dropped for the size limit */
	MSG_TRUNCATED = 1 << 5,   /* a parser limit was reached */
	MSG_SPAM = 1 << 6,        /* set by the rules */
	MSG_POISON = 1 << 7,      /* crashed or hung the parser: kept raw only */
	/* set by ingest */
	MSG_MSGID_REUSED = 1 << 8, /* a stored mail has its Message-ID and sender, other content */
	MSG_DMARC_FAIL = 1 << 9,  /* the trusted MX says DMARC failed for the From domain */
};

struct message {
	/* the raw bytes as received; not owned (the caller keeps them alive) */
	const char *raw;
	size_t raw_len;

	struct header *headers; /* every header field, in order */
	size_t nheaders;

	char *message_id; /* without angle brackets; "" when none */
	char *in_reply_to; /* first msg-id of In-Reply-To, no brackets; "" */
	struct strlist references; /* msg-ids of References, no brackets */

	char *subject;        /* decoded, unfolded; "" when none */
	struct address from;  /* first From address */
	struct address sender; /* Sender:, "" when none */
	struct address reply_to; /* first Reply-To, "" when none */
	struct address *to;
	size_t nto;
	struct address *cc;
	size_t ncc;
	char *return_path; /* envelope sender from Return-Path, no brackets; NULL when absent, "" for <> */

	time_t date;     /* Date: as UTC epoch seconds */
	bool has_date;   /* false when Date: is missing or unparsable */

	char *body;           /* best text body, UTF-8, LF line ends */
	char *body_html_text; /* unused by the foundation; NULL */

	struct attachment *atts;
	size_t natts;

	/* For a bounce: the Message-ID and Subject of the returned message
	 * (so that a bounce of our own mail joins its ticket); NULL when none. */
	char *returned_message_id;
	char *returned_subject;

	unsigned flags;       /* enum message_flag */
	char *parse_note;     /* why MSG_PARSE_ERROR/TRUNCATED was set, or NULL */
};

void message_init(struct message *m);
void message_release(struct message *m);

/* Returns the decoded value of the first header named name (case-insensitive),
 * or NULL when there is none. */
const char *message_header(const struct message *m, const char *name);

#endif
