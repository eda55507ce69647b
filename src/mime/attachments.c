/* The attachments of a mail, TNEF contents included (parse_int.h). */
#include "compat.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <strings.h>

#include "charset.h"
#include "parse_int.h"
#include "rfc2047.h"
#include "tnef.h"
#include "xalloc.h"

static struct attachment *
att_new(struct parse_ctx *c, const char *filename, const char *type, size_t size)
{
	struct message *m = c->m;
	struct attachment *a;

	m->atts = xreallocarray(m->atts, m->natts + 1, sizeof(*m->atts));
	a = &m->atts[m->natts++];
	memset(a, 0, sizeof(*a));
	a->filename = filename ? xstrdup(filename) : xstrdup("");
	a->content_type = xstrdup(type);
	a->size = size;
	return a;
}

/* Keeps data (taking it) when the message's allowance has room, else
 * records the part without content. */
static void
att_keep(struct parse_ctx *c, struct attachment *a, unsigned char *data)
{
	if (a->size > c->lim.max_message_size || c->kept > c->lim.max_message_size - a->size) {
		free(data);
		parse_note(c, MSG_OVERSIZE, "parts over the size limit were recorded but not kept");
		return;
	}
	{
		unsigned char dig[32];
		static const char hex[] = "0123456789abcdef";

		gnutls_hash_fast(GNUTLS_DIG_SHA256, data ? (const void *)data : "", a->size, dig);
		for (size_t i = 0; i < 32; i++) {
			a->sha256[2 * i] = hex[dig[i] >> 4];
			a->sha256[2 * i + 1] = hex[dig[i] & 15];
		}
		a->sha256[64] = '\0';
	}
	a->data = data ? data : (unsigned char *)xstrdup("");
	c->kept += a->size;
}

static bool
tnef_file(void *arg, const char *title, size_t tlen, const unsigned char *data, size_t len)
{
	struct parse_ctx *c = arg;
	char *name = charset_detect_to_utf8(title, tlen);
	struct attachment *a;
	unsigned char *copy;

	if (++c->nparts > c->lim.max_parts) {
		free(name);
		parse_note(c, MSG_TRUNCATED, "more parts than the limit; the rest was not read");
		return false;
	}
	a = att_new(c, name, "application/octet-stream", data ? len : 0);
	free(name);
	copy = xmalloc(a->size + 1);
	if (a->size)
		memcpy(copy, data, a->size);
	att_keep(c, a, copy);
	return true;
}

void
attachment_add(struct parse_ctx *c, const struct mime_fields *h, const char *type, struct buf *data)
{
	char *name = rfc2231_param(h->cdisp, "filename");
	struct attachment *a;
	size_t len = data->len;
	bool tnef;

	if (!name || !*name) {
		free(name);
		name = rfc2231_param(h->ctype, "name");
	}
	if ((!name || !*name) && !strcmp(type, "message/rfc822") && data->data) {
		/* A forwarded message is named after its subject. */
		const char *body, *hend = header_block_end(data->data, data->data + len, &body);
		char *subj = header_block_field(c, data->data, hend, "subject");
		char *dec = subj ? rfc2047_decode(subj, strlen(subj)) : xstrdup("");
		size_t n = strlen(dec);

		free(name);
		if (n > 100) {
			/* Cut at a character boundary. */
			n = 100;
			while (n > 0 && ((unsigned char)dec[n] & 0xc0) == 0x80)
				n--;
		}
		dec[n] = '\0';
		for (char *q = dec; *q; q++)
			if (*q == '/' || *q == '\\')
				*q = '_';
		name = xasprintf("%s.eml", *dec ? dec : "message");
		free(subj);
		free(dec);
	}
	a = att_new(c, name ? name : "", type, len);
	tnef = !strcmp(type, "application/ms-tnef") || !strcmp(type, "application/vnd.ms-tnef") ||
	       (name && !strcasecmp(name, "winmail.dat"));
	free(name);
	if (tnef && data->data) {
		/* The TNEF is kept too; its files are listed after it. */
		unsigned char *copy = xmalloc(len + 1);

		memcpy(copy, data->data, len);
		att_keep(c, a, copy);
		tnef_list((const unsigned char *)data->data, len, tnef_file, c);
		return;
	}
	att_keep(c, a, (unsigned char *)buf_detach(data, NULL));
}

