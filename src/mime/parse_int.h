/* parse_int.h - what the files of the parser share (parse.c the walk,
 * header.c header blocks, attachments.c, classify.c); nothing outside
 * src/mime/ includes it.
 *
 * The input has LF line ends (parse_message() normalised it); ranges are
 * [p, end) and need not be NUL-terminated. */
#ifndef SECDESK_PARSE_INT_H
#define SECDESK_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "buf.h"
#include "message.h"
#include "parse.h"

/* The MIME fields of one entity, raw (unfolded), each NULL when absent. */
struct mime_fields {
	char *ctype;
	char *cte;
	char *cdisp;
};

/* The state of one parse_message() call. */
struct parse_ctx {
	struct message *m;
	struct parse_limits lim;
	unsigned nparts;
	size_t kept;       /* attachment bytes kept */
	bool body_set;
	bool body_html;    /* the body came from HTML (a later plain part wins) */
	struct buf body;
	struct buf notes;
	bool in_report;
	/* The MIME fields of the header block [pre_p, pre_hend), read with
	 * the top-level fields: the walk does not read them again. */
	const struct mime_fields *pre;
	const char *pre_p, *pre_hend;
	/* the first message/rfc822 part, for a body when there is none */
	const char *fwd;
	const char *fwd_end;
	unsigned fwd_depth;
};

/* Sets flag on the message and adds what (once) to its parse note.
 * Inline: every file of the parser notes, and none should call up into
 * parse.c for it. */
static inline void
parse_note(struct parse_ctx *c, unsigned flag, const char *what)
{
	c->m->flags |= flag;
	if (c->notes.data && strstr(c->notes.data, what))
		return;
	if (c->notes.len)
		buf_addstr(&c->notes, "; ");
	buf_addstr(&c->notes, what);
}

/* ---- header blocks (header.c) ---- */

/* The end of the header block starting at p: the empty line that ends it,
 * or end; *body_r is set to where the body starts. */
const char *header_block_end(const char *p, const char *end, const char **body_r);

/* Does the line [p, le) start a field ("Name:")? */
bool header_is_field_start(const char *p, const char *le);

typedef void (*header_field_fn)(void *arg, const char *name, size_t nlen, const char *value,
				size_t vlen);

/* Calls fn for each field of the block [p, end) with its name and its
 * unfolded value, blanks around it trimmed. Lines that are no field are
 * skipped; a block or field over c->lim is cut and noted. */
void header_fields_each(struct parse_ctx *c, const char *p, const char *end, header_field_fn fn,
			void *arg);

/* The raw value of the first field name (any case) in the block [p, end),
 * allocated; NULL when there is none. */
char *header_block_field(struct parse_ctx *c, const char *p, const char *end, const char *name);

/* A header_field_fn for a struct mime_fields: keeps the first of each. */
void mime_fields_take(void *arg, const char *name, size_t nlen, const char *v, size_t vlen);
void mime_fields_release(struct mime_fields *h);

/* The "type/subtype" of a Content-Type (or the disposition type of a
 * Content-Disposition) value v, lowercased into out (n bytes); dflt when
 * v is NULL or malformed (RFC 2045 5.2). */
void media_type_of(const char *v, const char *dflt, char *out, size_t n);

/* Does type start with prefix ("multipart/")? */
bool media_type_is(const char *type, const char *prefix);

/* ---- attachments (attachments.c) ---- */

/* Records a part of media type type with the decoded content data (taken
 * when kept): named by its Content-Disposition or Content-Type, a
 * forwarded message by its subject; a TNEF part's files follow it. */
void attachment_add(struct parse_ctx *c, const struct mime_fields *h, const char *type,
		    struct buf *data);

/* ---- classification (classify.c) ---- */

/* Fills m->returned_message_id and returned_subject from the header block
 * at p (a bounce's message/rfc822 or text/rfc822-headers part), unless a
 * returned Message-ID is known already. */
void returned_headers_read(struct parse_ctx *c, const char *p, const char *end);

/* Sets MSG_BOUNCE, MSG_AUTOREPLY and MSG_LIST from the top-level header
 * and the body text [body, end), once the walk is done. */
void parse_classify(struct parse_ctx *c, const char *body, const char *end);

#endif
