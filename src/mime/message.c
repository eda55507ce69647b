/* message.c - the lifetime of a parsed message. */
#include "compat.h"

#include <strings.h>

#include "message.h"
#include "xalloc.h"

void
message_init(struct message *m)
{
	memset(m, 0, sizeof(*m));
	m->message_id = xstrdup("");
	m->in_reply_to = xstrdup("");
	m->subject = xstrdup("");
	m->from.name = xstrdup("");
	m->from.addr = xstrdup("");
	m->sender.name = xstrdup("");
	m->sender.addr = xstrdup("");
	m->reply_to.name = xstrdup("");
	m->reply_to.addr = xstrdup("");
	m->body = xstrdup("");
}

static void
address_release(struct address *a)
{
	free(a->name);
	free(a->addr);
}

void
message_release(struct message *m)
{
	for (size_t i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free(m->message_id);
	free(m->in_reply_to);
	strlist_release(&m->references);
	free(m->subject);
	address_release(&m->from);
	address_release(&m->sender);
	address_release(&m->reply_to);
	for (size_t i = 0; i < m->nto; i++)
		address_release(&m->to[i]);
	free(m->to);
	for (size_t i = 0; i < m->ncc; i++)
		address_release(&m->cc[i]);
	free(m->cc);
	free(m->return_path);
	free(m->body);
	free(m->body_html_text);
	for (size_t i = 0; i < m->natts; i++) {
		free(m->atts[i].filename);
		free(m->atts[i].content_type);
		free(m->atts[i].data);
	}
	free(m->atts);
	free(m->returned_message_id);
	free(m->returned_subject);
	free(m->parse_note);
	memset(m, 0, sizeof(*m));
}

const char *
message_header(const struct message *m, const char *name)
{
	/* Names equal but for case have first bytes equal but for bit 0x20:
	 * most names are told apart by that byte alone, without a call. */
	unsigned first = (unsigned char)name[0] | 0x20;

	for (size_t i = 0; i < m->nheaders; i++)
		if (((unsigned char)m->headers[i].name[0] | 0x20) == first &&
		    strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}
