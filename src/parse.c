/* parse.c - a basic RFC 5322 + MIME parser over libetpan: decoded headers,
 * addresses, Date, Message-IDs and the best text body.
 *
 * The foundation's version: the deep MIME work (own RFC 2047/2231
 * decoders, HTML to text, attachments, limits against hostile input)
 * replaces it. */
#include "compat.h"

#include <iconv.h>
#include <libetpan/libetpan.h>
#include <strings.h>

#include "buf.h"
#include "parse.h"
#include "xalloc.h"

const struct parse_limits parse_limits_default = {
	.max_message_size = 25u * 1024 * 1024,
	.max_header_size = 1024 * 1024,
	.max_line_length = 1024 * 1024,
	.max_parts = 1000,
	.max_depth = 20,
};

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
	for (size_t i = 0; i < m->nheaders; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

/* Valid UTF-8 out of any bytes: invalid sequences become U+FFFD, NULs and
 * stray control characters (but tab and newline) are dropped. */
static char *
utf8_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	struct buf b = BUF_INIT;

	buf_init(&b, 0);
	if (buf_grow(&b, len) < 0)
		return xstrdup("");
	while (p < end) {
		unsigned c = *p;
		size_t n;

		/* Printable ASCII, tabs and newlines in one copy: most text. */
		if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n') {
			const unsigned char *q = p + 1;

			while (q < end && ((*q >= 0x20 && *q < 0x7f) || *q == '\t' || *q == '\n'))
				q++;
			buf_add(&b, p, (size_t)(q - p));
			p = q;
			continue;
		}
		n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		bool ok = n > 0 && (size_t)(end - p) >= n;

		for (size_t i = 1; ok && i < n; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (ok && n == 2 && c < 0xc2)
			ok = false;
		if (ok && n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)))
			ok = false;
		if (ok && n == 4 && ((c == 0xf0 && p[1] < 0x90) || c > 0xf4 || (c == 0xf4 && p[1] > 0x8f)))
			ok = false;
		if (!ok) {
			buf_addstr(&b, "\xef\xbf\xbd");
			p++;
			continue;
		}
		if (n == 1 && (c == 0 || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)) {
			if (c == '\r' && !(p + 1 < end && p[1] == '\n'))
				buf_addch(&b, '\n');
			p++;
			continue;
		}
		buf_add(&b, p, n);
		p += n;
	}
	return buf_detach(&b, NULL);
}

/* Converts from charset to UTF-8; unknown charsets and bad bytes degrade to
 * a cleaned copy rather than failing. A Latin-1 label is read as
 * windows-1252, its superset, as mail clients do. */
static char *
to_utf8(const char *charset, const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	iconv_t cd;
	char *in = (char *)s, out[4096], *res;
	size_t inleft = len;

	if (!charset || !*charset || !strcasecmp(charset, "utf-8") || !strcasecmp(charset, "us-ascii") ||
	    !strcasecmp(charset, "utf8"))
		return utf8_clean(s, len);
	if (!strcasecmp(charset, "iso-8859-1") || !strcasecmp(charset, "latin1"))
		charset = "WINDOWS-1252";
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return utf8_clean(s, len);
	buf_init(&b, 0);
	while (inleft > 0) {
		char *o = out;
		size_t oleft = sizeof(out);
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);

		buf_add(&b, out, sizeof(out) - oleft);
		if (r == (size_t)-1 && errno != E2BIG) {
			buf_addstr(&b, "\xef\xbf\xbd");
			in++;
			inleft--;
		}
	}
	iconv_close(cd);
	res = utf8_clean(b.data ? b.data : "", b.len);
	buf_release(&b);
	return res;
}

static char *
decode_words(const char *s)
{
	size_t idx = 0;
	char *out = NULL, *clean;

	if (!s)
		return xstrdup("");
	if (mailmime_encoded_phrase_parse("windows-1252", s, strlen(s), &idx, "utf-8", &out) !=
		    MAILIMF_NO_ERROR ||
	    !out)
		return utf8_clean(s, strlen(s));
	clean = utf8_clean(out, strlen(out));
	free(out);
	return clean;
}

/* The header block, unfolded, one struct header per field. */
static void
scan_headers(struct message *m, const char *raw, size_t len, size_t max)
{
	const char *p = raw, *end = raw + (len < max ? len : max);
	size_t cap = 0;

	/* An mbox "From " line is not a header. */
	if (len > 5 && strncmp(raw, "From ", 5) == 0) {
		const char *nl = memchr(raw, '\n', len);

		p = nl ? nl + 1 : end;
	}
	while (p < end && *p != '\n' && !(*p == '\r' && p + 1 < end && p[1] == '\n')) {
		const char *colon, *v, *line_end = p;
		struct buf val = BUF_INIT;

		/* The field with its continuation lines. */
		do {
			const char *nl = memchr(line_end, '\n', (size_t)(end - line_end));

			line_end = nl ? nl + 1 : end;
		} while (line_end < end && (*line_end == ' ' || *line_end == '\t'));
		colon = memchr(p, ':', (size_t)(line_end - p));
		if (colon && colon > p) {
			buf_init(&val, 0);
			/* Unfold: drop the CR and LF of each line break. */
			for (v = colon + 1; v < line_end;) {
				const char *brk = v;

				while (brk < line_end && *brk != '\r' && *brk != '\n')
					brk++;
				buf_add(&val, v, (size_t)(brk - v));
				v = brk;
				while (v < line_end && (*v == '\r' || *v == '\n'))
					v++;
			}
			if (cap == m->nheaders) {
				cap = cap ? cap * 2 : 32;
				m->headers = xreallocarray(m->headers, cap, sizeof(*m->headers));
			}
			m->headers[m->nheaders].name = utf8_clean(p, (size_t)(colon - p));
			{
				const char *t = buf_cstr(&val);

				while (*t == ' ' || *t == '\t')
					t++;
				m->headers[m->nheaders].value = decode_words(t);
			}
			m->nheaders++;
			buf_release(&val);
		}
		p = line_end;
	}
}

static void
set_address(struct address *a, const struct mailimf_mailbox *mb)
{
	free(a->name);
	free(a->addr);
	a->name = decode_words(mb->mb_display_name ? mb->mb_display_name : "");
	a->addr = utf8_clean(mb->mb_addr_spec ? mb->mb_addr_spec : "",
			     mb->mb_addr_spec ? strlen(mb->mb_addr_spec) : 0);
}

static void
add_mailboxes(struct address **arr, size_t *n, const struct mailimf_mailbox_list *l)
{
	for (clistiter *it = l ? clist_begin(l->mb_list) : NULL; it; it = clist_next(it)) {
		struct address *a;

		*arr = xreallocarray(*arr, *n + 1, sizeof(**arr));
		a = &(*arr)[(*n)++];
		a->name = NULL;
		a->addr = NULL;
		set_address(a, clist_content(it));
	}
}

static void
add_addresses(struct address **arr, size_t *n, const struct mailimf_address_list *l)
{
	for (clistiter *it = l ? clist_begin(l->ad_list) : NULL; it; it = clist_next(it)) {
		struct mailimf_address *ad = clist_content(it);

		if (ad->ad_type == MAILIMF_ADDRESS_MAILBOX) {
			struct mailimf_mailbox_list one;
			clist *c = clist_new();

			clist_append(c, ad->ad_data.ad_mailbox);
			one.mb_list = c;
			add_mailboxes(arr, n, &one);
			clist_free(c);
		} else if (ad->ad_data.ad_group) {
			add_mailboxes(arr, n, ad->ad_data.ad_group->grp_mb_list);
		}
	}
}

static time_t
to_epoch(const struct mailimf_date_time *d)
{
	struct tm tm;
	int zone = d->dt_zone, sign = zone < 0 ? -1 : 1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	zone *= sign;
	return timegm(&tm) - sign * ((zone / 100) * 3600 + (zone % 100) * 60);
}

static void
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = utf8_clean(src ? src : "", src ? strlen(src) : 0);
}

static void
read_fields(struct message *m, const struct mailimf_fields *f)
{
	for (clistiter *it = f ? clist_begin(f->fld_list) : NULL; it; it = clist_next(it)) {
		struct mailimf_field *fl = clist_content(it);

		switch (fl->fld_type) {
		case MAILIMF_FIELD_FROM:
			if (fl->fld_data.fld_from->frm_mb_list &&
			    clist_begin(fl->fld_data.fld_from->frm_mb_list->mb_list) && !*m->from.addr)
				set_address(&m->from,
					    clist_content(clist_begin(
						    fl->fld_data.fld_from->frm_mb_list->mb_list)));
			break;
		case MAILIMF_FIELD_SENDER:
			if (fl->fld_data.fld_sender->snd_mb)
				set_address(&m->sender, fl->fld_data.fld_sender->snd_mb);
			break;
		case MAILIMF_FIELD_TO:
			add_addresses(&m->to, &m->nto, fl->fld_data.fld_to->to_addr_list);
			break;
		case MAILIMF_FIELD_CC:
			add_addresses(&m->cc, &m->ncc, fl->fld_data.fld_cc->cc_addr_list);
			break;
		case MAILIMF_FIELD_REPLY_TO: {
			struct address *tmp = NULL;
			size_t n = 0;

			add_addresses(&tmp, &n, fl->fld_data.fld_reply_to->rt_addr_list);
			if (n) {
				address_release(&m->reply_to);
				m->reply_to = tmp[0];
				for (size_t i = 1; i < n; i++)
					address_release(&tmp[i]);
			}
			free(tmp);
			break;
		}
		case MAILIMF_FIELD_ORIG_DATE:
			if (!m->has_date && fl->fld_data.fld_orig_date->dt_date_time) {
				m->date = to_epoch(fl->fld_data.fld_orig_date->dt_date_time);
				m->has_date = true;
			}
			break;
		case MAILIMF_FIELD_MESSAGE_ID:
			if (!*m->message_id)
				set_str(&m->message_id, fl->fld_data.fld_message_id->mid_value);
			break;
		case MAILIMF_FIELD_IN_REPLY_TO: {
			clist *l = fl->fld_data.fld_in_reply_to->mid_list;

			if (l && clist_begin(l) && !*m->in_reply_to)
				set_str(&m->in_reply_to, clist_content(clist_begin(l)));
			break;
		}
		case MAILIMF_FIELD_REFERENCES:
			for (clistiter *r = clist_begin(fl->fld_data.fld_references->mid_list); r;
			     r = clist_next(r)) {
				const char *id = clist_content(r);

				if (id)
					strlist_add_owned(&m->references, utf8_clean(id, strlen(id)));
			}
			break;
		default:
			break;
		}
	}
}

static bool
is_type(const struct mailmime *mm, const char *type, const char *subtype)
{
	const struct mailmime_content *ct = mm->mm_content_type;
	const char *t = "text";

	if (!ct)
		return !strcasecmp(type, "text") && (!subtype || !strcasecmp(subtype, "plain"));
	if (ct->ct_type && ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		switch (ct->ct_type->tp_data.tp_discrete_type->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT: t = "text"; break;
		case MAILMIME_DISCRETE_TYPE_IMAGE: t = "image"; break;
		case MAILMIME_DISCRETE_TYPE_AUDIO: t = "audio"; break;
		case MAILMIME_DISCRETE_TYPE_VIDEO: t = "video"; break;
		case MAILMIME_DISCRETE_TYPE_APPLICATION: t = "application"; break;
		default: t = "x"; break;
		}
	} else if (ct->ct_type) {
		t = ct->ct_type->tp_data.tp_composite_type->ct_type == MAILMIME_COMPOSITE_TYPE_MESSAGE
			    ? "message" : "multipart";
	}
	return !strcasecmp(t, type) && (!subtype || (ct->ct_subtype && !strcasecmp(ct->ct_subtype, subtype)));
}

static bool
is_attachment(const struct mailmime *mm)
{
	const struct mailmime_fields *f = mm->mm_mime_fields;

	for (clistiter *it = f ? clist_begin(f->fld_list) : NULL; it; it = clist_next(it)) {
		struct mailmime_field *fl = clist_content(it);

		if (fl->fld_type == MAILMIME_FIELD_DISPOSITION && fl->fld_data.fld_disposition &&
		    fl->fld_data.fld_disposition->dsp_type &&
		    fl->fld_data.fld_disposition->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
			return true;
	}
	return false;
}

/* The first text part of the wanted subtype, depth first, not an attachment. */
static const struct mailmime *
find_text(const struct mailmime *mm, const char *subtype, unsigned depth, unsigned max_depth)
{
	if (!mm || depth > max_depth)
		return NULL;
	switch (mm->mm_type) {
	case MAILMIME_SINGLE:
		return is_type(mm, "text", subtype) && !is_attachment(mm) ? mm : NULL;
	case MAILMIME_MULTIPLE:
		for (clistiter *it = clist_begin(mm->mm_data.mm_multipart.mm_mp_list); it;
		     it = clist_next(it)) {
			const struct mailmime *r = find_text(clist_content(it), subtype, depth + 1,
							     max_depth);

			if (r)
				return r;
		}
		return NULL;
	case MAILMIME_MESSAGE:
		return depth == 0 ? find_text(mm->mm_data.mm_message.mm_msg_mime, subtype, depth + 1,
					      max_depth)
				  : NULL;
	}
	return NULL;
}

static char *
part_text(const struct mailmime *mm)
{
	const struct mailmime_data *d = mm->mm_data.mm_single;
	char *decoded = NULL, *charset, *res;
	size_t idx = 0, dlen = 0;

	if (!d || d->dt_type != MAILMIME_DATA_TEXT)
		return xstrdup("");
	if (mailmime_part_parse(d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length, &idx,
				d->dt_encoding, &decoded, &dlen) != MAILIMF_NO_ERROR)
		return utf8_clean(d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length);
	charset = mm->mm_content_type ? mailmime_content_charset_get(mm->mm_content_type) : NULL;
	res = to_utf8(charset, decoded, dlen);
	mailmime_decoded_part_free(decoded);
	return res;
}

/* Tags out, entities for the commonest characters: enough until the real
 * HTML-to-text conversion lands. */
static char *
strip_html(const char *html)
{
	struct buf b = BUF_INIT;
	bool in_tag = false;

	buf_init(&b, 0);
	for (const char *p = html; *p; p++) {
		if (*p == '<') {
			in_tag = true;
			if (!strncasecmp(p, "<br", 3) || !strncasecmp(p, "<p", 2) ||
			    !strncasecmp(p, "</p", 3) || !strncasecmp(p, "<div", 4))
				buf_addch(&b, '\n');
		} else if (*p == '>') {
			in_tag = false;
		} else if (!in_tag) {
			buf_addch(&b, *p);
		}
	}
	return buf_detach(&b, NULL);
}

static bool
mentions(const struct message *m, const char *name, const char *needle)
{
	const char *v = message_header(m, name);

	return v && strcasestr(v, needle);
}

/* Bounces and auto-replies, as far as the headers say. */
static void
classify(struct message *m, const struct mailmime *root)
{
	const char *as = message_header(m, "Auto-Submitted");

	if (root && root->mm_type == MAILMIME_MULTIPLE && is_type(root, "multipart", "report"))
		m->flags |= MSG_BOUNCE;
	if (!strncasecmp(m->from.addr, "mailer-daemon@", 14) || !strncasecmp(m->from.addr, "postmaster@", 11))
		m->flags |= MSG_BOUNCE;
	if ((as && strcasecmp(as, "no") != 0) || message_header(m, "X-Autoreply") ||
	    message_header(m, "X-Autorespond"))
		m->flags |= MSG_AUTOREPLY;
	if (message_header(m, "List-Id") || mentions(m, "Precedence", "bulk") ||
	    mentions(m, "Precedence", "list") || mentions(m, "Precedence", "junk"))
		m->flags |= MSG_LIST;
}

int
parse_message(const char *raw, size_t len, const struct parse_limits *lim, struct message *m,
	      struct err *e)
{
	struct mailmime *mime = NULL;
	const struct mailmime *text;
	size_t idx = 0, off = 0;

	(void)e;
	m->raw = raw;
	m->raw_len = len;
	scan_headers(m, raw, len, lim->max_header_size);
	if (len > 5 && strncmp(raw, "From ", 5) == 0) {
		const char *nl = memchr(raw, '\n', len);

		off = nl ? (size_t)(nl + 1 - raw) : len;
	}
	if (mailmime_parse(raw + off, len - off, &idx, &mime) != MAILIMF_NO_ERROR || !mime) {
		m->flags |= MSG_PARSE_ERROR;
		free(m->parse_note);
		m->parse_note = xstrdup("the MIME structure could not be parsed; the raw message is kept");
		free(m->body);
		m->body = utf8_clean(raw, len);
		classify(m, NULL);
		return 0;
	}
	if (mime->mm_type == MAILMIME_MESSAGE)
		read_fields(m, mime->mm_data.mm_message.mm_fields);
	{
		const char *subj = message_header(m, "Subject");

		free(m->subject);
		m->subject = xstrdup(subj ? subj : "");
	}
	text = find_text(mime, "plain", 0, lim->max_depth);
	if (text) {
		free(m->body);
		m->body = part_text(text);
	} else if ((text = find_text(mime, "html", 0, lim->max_depth))) {
		char *html = part_text(text);

		free(m->body);
		m->body = strip_html(html);
		free(html);
	}
	classify(m, mime->mm_type == MAILMIME_MESSAGE ? mime->mm_data.mm_message.mm_msg_mime : mime);
	mailmime_free(mime);
	return 0;
}
