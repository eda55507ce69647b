/* parse.h - RFC 5322 + MIME into a struct message.
 *
 * parse_message() never fails on bad mail: whatever cannot be understood is
 * recorded in msg->flags (MSG_PARSE_ERROR, MSG_TRUNCATED) and msg->parse_note,
 * and the rest is filled as well as possible. It only returns -1 for an
 * internal error (e->msg says why). raw need not be NUL-terminated; it must
 * outlive msg (msg->raw points into it). */
#ifndef SECDESK_PARSE_H
#define SECDESK_PARSE_H

#include <stddef.h>

#include "err.h"
#include "message.h"

/* Limits on what the parser accepts (Dovecot's message_parser_settings). */
struct parse_limits {
	size_t max_message_size; /* bytes of parts kept; larger parts dropped */
	size_t max_header_size;  /* bytes of one header block */
	size_t max_line_length;
	unsigned max_parts;
	unsigned max_depth;      /* MIME nesting */
};

extern const struct parse_limits parse_limits_default;

int parse_message(const char *raw, size_t len, const struct parse_limits *lim,
		  struct message *msg, struct err *e);

#endif
