/* parse.c - RFC 5322 + MIME into a struct message.
 *
 * The MIME structure is walked here, not by libetpan: Debian's libetpan
 * 1.9.4 overflows a heap buffer on a boundary="\"" parameter, recurses
 * without a depth limit and cannot be bounded in part count or line length.
 * libetpan only sees a small header block that this file builds out of the
 * address fields (From, Sender, Reply-To, To, Cc), capped in size: its
 * RFC 5322 address grammar is the part worth reusing. Everything else
 * (encoded words, parameters, dates, message-ids, transfer encodings,
 * charsets, HTML, TNEF, bounces) is secdesk's own code, written to degrade
 * byte by byte instead of failing.
 *
 * The limits (struct parse_limits, after Dovecot's message_parser_settings)
 * bound the work: nesting depth, number of parts, header block size, header
 * line length; the attachment bytes kept are bounded by max_message_size. */
#include "compat.h"

#include <ctype.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <strings.h>

#include "addresses.h"
#include "bounce.h"
#include "buf.h"
#include "charset.h"
#include "dates.h"
#include "encodings.h"
#include "flowed.h"
#include "html.h"
#include "msgid.h"
#include "parse.h"
#include "rfc2047.h"
#include "tnef.h"
#include "xalloc.h"

const struct parse_limits parse_limits_default = {
	.max_message_size = 25u * 1024 * 1024,
	.max_header_size = 1024 * 1024,
	.max_line_length = 1024 * 1024,
	.max_parts = 1000,
	.max_depth = 20,
};

/* Longest boundary accepted (RFC 2046 allows 70; clients stay far below). */
#define MAX_BOUNDARY 200
/* msg-ids of References kept, at most. */
#define MAX_REFERENCES 1000

enum role {
	R_BODY = 1 << 0,    /* may give the body */
	R_ATT = 1 << 1,     /* records attachments */
	R_ALTREST = 1 << 2, /* a non-chosen alternative: its text is a copy */
};

struct pctx {
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
	const struct mhdr *pre;
	const char *pre_p, *pre_hend;
	/* the first message/rfc822 part, for a body when there is none */
	const char *fwd;
	const char *fwd_end;
	unsigned fwd_depth;
};

static void
note(struct pctx *c, unsigned flag, const char *what)
{
	c->m->flags |= flag;
	/* Each reason once. */
	if (c->notes.data && strstr(c->notes.data, what))
		return;
	if (c->notes.len)
		buf_addstr(&c->notes, "; ");
	buf_addstr(&c->notes, what);
}

/* ---- header blocks ---------------------------------------------------- */

/* The end of the header block starting at p: just past the empty line (or
 * end). Lines are LF-terminated (the input was normalised). */
static const char *
header_end(const char *p, const char *end, const char **body_r)
{
	while (p < end) {
		const char *nl;

		if (*p == '\n') {
			*body_r = p + 1;
			return p;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		p = nl + 1;
	}
	*body_r = end;
	return end;
}

static bool
is_field_start(const char *p, const char *le)
{
	const char *q = p;

	while (q < le && *q != ':' && *q > ' ' && *q < 0x7f)
		q++;
	return q > p && q < le && *q == ':';
}

/* Calls fn for each field of the block [p, end): name, unfolded raw value.
 * Returns false when the block was cut at the header limits. */
typedef void (*field_fn)(void *arg, const char *name, size_t nlen, const char *value, size_t vlen);

static void
fields_each(struct pctx *c, const char *p, const char *end, field_fn fn, void *arg)
{
	struct buf val = BUF_INIT;

	if ((size_t)(end - p) > c->lim.max_header_size) {
		end = p + c->lim.max_header_size;
		note(c, MSG_TRUNCATED, "a header block over the size limit was cut");
	}
	buf_init(&val, 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *name = p, *colon, *next;
		bool folded;

		if (!is_field_start(p, le)) {
			/* Not a field (a stray continuation or junk): skipped. */
			p = nl ? nl + 1 : end;
			continue;
		}
		colon = memchr(p, ':', (size_t)(le - p));
		next = nl ? nl + 1 : end;
		/* A field of one line is read where it lies; only a folded one
		 * is joined in val. */
		folded = next < end && (*next == ' ' || *next == '\t');
		if (folded) {
			buf_reset(&val);
			buf_add(&val, colon + 1, (size_t)(le - colon - 1));
		}
		/* Continuation lines; the line break goes, the whitespace stays. */
		while (next < end && (*next == ' ' || *next == '\t')) {
			const char *nl2 = memchr(next, '\n', (size_t)(end - next));
			const char *le2 = nl2 ? nl2 : end;

			if (val.len + (size_t)(le2 - next) <= c->lim.max_line_length)
				buf_add(&val, next, (size_t)(le2 - next));
			else
				note(c, MSG_TRUNCATED, "a header field over the line limit was cut");
			next = nl2 ? nl2 + 1 : end;
		}
		{
			const char *v = folded ? buf_cstr(&val) : colon + 1;
			size_t vlen = folded ? val.len : (size_t)(le - colon - 1);

			if (vlen > c->lim.max_line_length) {
				vlen = c->lim.max_line_length;
				note(c, MSG_TRUNCATED, "a header field over the line limit was cut");
			}
			while (vlen && (*v == ' ' || *v == '\t')) {
				v++;
				vlen--;
			}
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			fn(arg, name, (size_t)(colon - name), v, vlen);
		}
		p = next;
	}
	buf_release(&val);
}

static bool
name_is(const char *name, size_t nlen, const char *want)
{
	/* the length and the first byte (but for case) before a call */
	return strlen(want) == nlen && nlen &&
	       ((unsigned char)name[0] | 0x20) == ((unsigned char)want[0] | 0x20) &&
	       strncasecmp(name, want, nlen) == 0;
}

/* The MIME fields of one entity. */
struct mhdr {
	char *ctype;
	char *cte;
	char *cdisp;
};

static void
mhdr_field(void *arg, const char *name, size_t nlen, const char *v, size_t vlen)
{
	struct mhdr *h = arg;
	char **slot = NULL;

	if (name_is(name, nlen, "content-type"))
		slot = &h->ctype;
	else if (name_is(name, nlen, "content-transfer-encoding"))
		slot = &h->cte;
	else if (name_is(name, nlen, "content-disposition"))
		slot = &h->cdisp;
	if (slot && !*slot)
		*slot = xstrndup(v, vlen);
}

static void
mhdr_release(struct mhdr *h)
{
	free(h->ctype);
	free(h->cte);
	free(h->cdisp);
}

/* The first value of field name in the block [p, end), raw; NULL. */
struct find_one {
	const char *name;
	char *value;
};

static void
find_field(void *arg, const char *name, size_t nlen, const char *v, size_t vlen)
{
	struct find_one *f = arg;

	if (!f->value && name_is(name, nlen, f->name))
		f->value = xstrndup(v, vlen);
}

static char *
block_field(struct pctx *c, const char *p, const char *end, const char *name)
{
	struct find_one f = { name, NULL };

	fields_each(c, p, end, find_field, &f);
	return f.value;
}

/* "type/subtype" lowercased into out; the default when absent or
 * malformed (RFC 2045 5.2). */
static void
media_type(const char *v, const char *dflt, char *out, size_t n)
{
	size_t i = 0;
	bool slash = false;

	if (!v)
		goto dflt;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v && *v != ';' && !isspace((unsigned char)*v) && i + 1 < n; v++) {
		if (*v == '/')
			slash = true;
		out[i++] = (char)tolower((unsigned char)*v);
	}
	out[i] = '\0';
	if (slash && out[0] != '/' && out[i - 1] != '/')
		return;
dflt:
	snprintf(out, n, "%s", dflt);
}

static bool
type_is(const char *type, const char *prefix)
{
	return strncmp(type, prefix, strlen(prefix)) == 0;
}

/* ---- attachments ---------------------------------------------------- */

static struct attachment *
att_new(struct pctx *c, const char *filename, const char *type, size_t size)
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
att_keep(struct pctx *c, struct attachment *a, unsigned char *data)
{
	if (a->size > c->lim.max_message_size || c->kept > c->lim.max_message_size - a->size) {
		free(data);
		note(c, MSG_OVERSIZE, "parts over the size limit were recorded but not kept");
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
	struct pctx *c = arg;
	char *name = charset_detect_to_utf8(title, tlen);
	struct attachment *a;
	unsigned char *copy;

	if (++c->nparts > c->lim.max_parts) {
		free(name);
		note(c, MSG_TRUNCATED, "more parts than the limit; the rest was not read");
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

static void
add_attachment(struct pctx *c, const struct mhdr *h, const char *type, struct buf *data)
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
		const char *body, *hend = header_end(data->data, data->data + len, &body);
		char *subj = block_field(c, data->data, hend, "subject");
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

/* ---- bodies ------------------------------------------------------------ */

static char *
text_of(const struct mhdr *h, const char *type, const char *data, size_t len, struct pctx *c)
{
	char *charset = rfc2231_param_raw(h->ctype, "charset");
	char *text = charset_to_utf8(charset, data, len);

	free(charset);
	if (!strcmp(type, "text/html")) {
		bool cut = false;
		char *plain = html_to_text(text, strlen(text), 0, 0, &cut);

		if (cut)
			note(c, MSG_TRUNCATED, "an HTML part over the size limit was cut");
		free(text);
		return plain;
	}
	{
		char *fmt = rfc2231_param_raw(h->ctype, "format");

		if (fmt && !strcasecmp(fmt, "flowed")) {
			char *delsp = rfc2231_param_raw(h->ctype, "delsp");
			char *flowed = flowed_decode(text, strlen(text), delsp && !strcasecmp(delsp, "yes"));

			free(delsp);
			free(text);
			text = flowed;
		}
		free(fmt);
	}
	return text;
}

static void
body_set(struct pctx *c, char *text, bool html)
{
	size_t n = strlen(text);

	/* The text becomes the body as it is (a copy was the rule once); over
	 * the buffer's cap the body stays empty, as buf_addstr() left it. */
	if (n <= c->body.max) {
		free(c->body.data);
		c->body.data = text;
		c->body.len = n;
		c->body.cap = n + 1;
	} else {
		buf_reset(&c->body);
		free(text);
	}
	c->body_set = true;
	c->body_html = html;
}

static void
body_append(struct pctx *c, char *text)
{
	if (c->body.len && c->body.data[c->body.len - 1] != '\n')
		buf_addch(&c->body, '\n');
	buf_addch(&c->body, '\n');
	buf_addstr(&c->body, text);
	free(text);
}

/* ---- the walk ---------------------------------------------------------- */

static void walk(struct pctx *c, const char *p, const char *end, unsigned depth, unsigned role,
		 const char *dflt_type);

/* The Message-ID and Subject of a returned message (a bounce's
 * message/rfc822 or text/rfc822-headers part). */
static void
returned_headers(struct pctx *c, const char *p, const char *end)
{
	const char *body;
	const char *hend = header_end(p, end, &body);
	char *id, *subj;

	if (c->m->returned_message_id)
		return;
	id = block_field(c, p, hend, "message-id");
	subj = block_field(c, p, hend, "subject");
	if (id) {
		const char *lt = strchr(id, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		const char *s = lt && gt ? lt + 1 : id;
		size_t n = lt && gt ? (size_t)(gt - lt - 1) : strcspn(id, " \t");

		c->m->returned_message_id = charset_clean(s, n);
		free(id);
	}
	if (subj) {
		/* a later part's Subject replaces the one of an earlier part
		 * that had no Message-ID (freed: it leaked) */
		free(c->m->returned_subject);
		c->m->returned_subject = rfc2047_decode(subj, strlen(subj));
		free(subj);
	}
}

static void
leaf(struct pctx *c, const struct mhdr *h, const char *type, const char *p, const char *end,
     unsigned depth, unsigned role)
{
	struct buf data = BUF_INIT;
	bool textual = !strcmp(type, "text/plain") || !strcmp(type, "text/html");
	bool attached = false, copied = false;
	enum cte kind;
	const char *text;
	size_t tlen;

	if (h->cdisp) {
		char d[32];

		media_type(h->cdisp, "inline/x", d, sizeof(d));
		attached = type_is(d, "attachment");
	}
	if ((role & R_ALTREST) && textual)
		return;
	buf_init(&data, 0);
	kind = cte_kind(h->cte);
	/* A body part in 7bit, 8bit or binary is read where it lies: the copy
	 * into data is made only for what needs it below. (A part over the
	 * buffer's cap is copied, that is emptied, as before.) */
	if (kind == CTE_IDENTITY && (size_t)(end - p) <= data.max) {
		text = p;
		tlen = (size_t)(end - p);
	} else {
		cte_decode(kind, p, (size_t)(end - p), &data);
		text = buf_cstr(&data);
		tlen = data.len;
		copied = true;
	}
	if ((role & R_BODY) && textual && !attached) {
		bool html = type[5] == 'h';

		if (!c->body_set || (c->body_html && !html && c->body.len == 0)) {
			body_set(c, text_of(h, type, text, tlen, c), html);
			buf_release(&data);
			return;
		}
		if (!html) {
			char *fname = rfc2231_param(h->cdisp, "filename");

			/* Another inline text part (Apple Mail splits the text
			 * around an inline image): more body. */
			if (!fname || !*fname) {
				free(fname);
				body_append(c, text_of(h, type, text, tlen, c));
				buf_release(&data);
				return;
			}
			free(fname);
		}
	}
	if (!copied)
		cte_decode(kind, p, (size_t)(end - p), &data);
	if (c->in_report && (!strcmp(type, "message/rfc822") || !strcmp(type, "text/rfc822-headers") ||
			     !strcmp(type, "message/rfc822-headers")))
		returned_headers(c, buf_cstr(&data), buf_cstr(&data) + data.len);
	if (!strcmp(type, "message/rfc822") && !c->fwd && depth < c->lim.max_depth) {
		/* For a body when the message has none of its own; the range
		 * is the raw part (only 7bit/8bit parts, as RFC 2046 wants). */
		if (!h->cte || data.len == (size_t)(end - p)) {
			c->fwd = p;
			c->fwd_end = end;
			c->fwd_depth = depth + 1;
		}
	}
	if (role & R_ATT)
		add_attachment(c, h, type, &data);
	buf_release(&data);
}

struct range {
	const char *p, *end;
};

/* The first line of [q, end) that starts with delim (the text from p on
 * is lines: p starts one, and every byte after a line break): what a
 * search for delim that skips the hits within lines finds, a line at a
 * time (a base64 part holds a line break every 77 bytes but no "--"). */
static const char *
line_with(const char *p, const char *q, const char *end, const char *delim, size_t dlen)
{
	if (q != p && q[-1] != '\n') {
		q = memchr(q, '\n', (size_t)(end - q));
		if (!q)
			return NULL;
		q++;
	}
	for (;;) {
		if ((size_t)(end - q) >= dlen && *q == *delim && memcmp(q, delim, dlen) == 0)
			return q;
		q = memchr(q, '\n', (size_t)(end - q));
		if (!q)
			return NULL;
		q++;
	}
}

/* Splits a multipart body at its delimiter lines. Returns the parts (the
 * caller frees the array); *closed_r says whether the close delimiter came. */
static struct range *
split(struct pctx *c, const char *p, const char *end, const char *boundary, size_t *n_r,
      bool *closed_r)
{
	size_t blen = strlen(boundary), n = 0, cap = 0;
	struct range *parts = NULL;
	const char *start = NULL, *q = p;
	char *delim = xasprintf("--%s", boundary);

	*closed_r = false;
	blen += 2;
	while (q < end) {
		const char *hit = line_with(p, q, end, delim, blen);
		const char *after, *nl;

		if (!hit)
			break;
		after = hit + blen;
		/* "--b" must not match the longer boundary "--b2" of a nested
		 * part: only "--", transport padding or the line end may
		 * follow. */
		if (after < end && *after != '\n' && *after != ' ' && *after != '\t' &&
		    !(end - after >= 2 && after[0] == '-' && after[1] == '-')) {
			q = hit + 1;
			continue;
		}
		nl = memchr(after, '\n', (size_t)(end - after));
		if (start) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				parts = xreallocarray(parts, cap, sizeof(*parts));
			}
			/* The line break before a delimiter belongs to it. */
			parts[n].p = start;
			parts[n].end = hit > start && hit[-1] == '\n' ? hit - 1 : hit;
			n++;
			if (c->nparts + n > c->lim.max_parts) {
				note(c, MSG_TRUNCATED, "more parts than the limit; the rest was not read");
				start = NULL;
				break;
			}
		}
		if (end - after >= 2 && after[0] == '-' && after[1] == '-') {
			*closed_r = true;
			start = NULL;
			break;
		}
		start = nl ? nl + 1 : end;
		q = start;
	}
	/* No close delimiter: the last part runs to the end (lenient). */
	if (start && start < end) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			parts = xreallocarray(parts, cap, sizeof(*parts));
		}
		parts[n].p = start;
		parts[n].end = end;
		n++;
	}
	free(delim);
	*n_r = n;
	return parts;
}

/* The media type of a part, from its header block. */
static void
part_type(const char *p, const char *end, const char *dflt, char *out, size_t n, struct pctx *c)
{
	const char *body, *hend = header_end(p, end, &body);
	char *ct = block_field(c, p, hend, "content-type");

	media_type(ct, dflt, out, n);
	free(ct);
}

/* multipart/alternative: the plain text if there is one, else the last
 * part we can read (the richest, RFC 2046 5.1.4), else the first. */
static size_t
pick_alternative(struct pctx *c, const struct range *parts, size_t n)
{
	size_t best = 0;
	int score = -1;

	for (size_t i = 0; i < n; i++) {
		char t[128];
		int s = 0;

		part_type(parts[i].p, parts[i].end, "text/plain", t, sizeof(t), c);
		if (!strcmp(t, "text/plain"))
			s = 3;
		else if (type_is(t, "multipart/"))
			s = 2;
		else if (!strcmp(t, "text/html"))
			s = 1;
		if (s > score || (s == score && s != 3)) {
			/* The later of two equal choices, but the first plain. */
			score = s;
			best = i;
		}
	}
	return best;
}

static void
walk_multipart(struct pctx *c, const struct mhdr *h, const char *type, const char *p,
	       const char *end, unsigned depth, unsigned role)
{
	char *boundary = rfc2231_param_raw(h->ctype, "boundary");
	struct range *parts;
	size_t n;
	bool closed;
	const char *sub = type + strlen("multipart/");
	const char *dflt = !strcmp(sub, "digest") ? "message/rfc822" : "text/plain";

	if (!boundary || !*boundary || strlen(boundary) > MAX_BOUNDARY) {
		struct mhdr plain = { NULL, h->cte, h->cdisp };

		note(c, MSG_PARSE_ERROR, "a multipart part without a usable boundary was read as text");
		free(boundary);
		leaf(c, &plain, "text/plain", p, end, depth, role);
		return;
	}
	parts = split(c, p, end, boundary, &n, &closed);
	free(boundary);
	if (n == 0) {
		struct mhdr plain = { NULL, h->cte, h->cdisp };

		note(c, MSG_PARSE_ERROR, "a multipart part without any delimiter was read as text");
		leaf(c, &plain, "text/plain", p, end, depth, role);
		free(parts);
		return;
	}
	if (!strcmp(sub, "alternative")) {
		size_t best = pick_alternative(c, parts, n);

		for (size_t i = 0; i < n; i++)
			walk(c, parts[i].p, parts[i].end, depth + 1,
			     i == best ? role : (role & R_ATT) | R_ALTREST, dflt);
	} else if (!strcmp(sub, "related")) {
		/* The root (the first part, start= is rarely anything else)
		 * is the body; the rest are its inline resources. */
		for (size_t i = 0; i < n; i++)
			walk(c, parts[i].p, parts[i].end, depth + 1, i == 0 ? role : (role & R_ATT), dflt);
	} else if (!strcmp(sub, "report")) {
		char *rt = rfc2231_param_raw(h->ctype, "report-type");

		if (rt && !strcasecmp(rt, "delivery-status"))
			c->m->flags |= MSG_BOUNCE;
		else
			c->m->flags |= MSG_AUTOREPLY;
		free(rt);
		c->in_report = true;
		for (size_t i = 0; i < n; i++)
			walk(c, parts[i].p, parts[i].end, depth + 1, i == 0 ? role : (role & R_ATT), dflt);
		c->in_report = false;
	} else if (!strcmp(sub, "signed")) {
		for (size_t i = 0; i < n; i++)
			walk(c, parts[i].p, parts[i].end, depth + 1, i == 0 ? role : (role & R_ATT), dflt);
	} else {
		for (size_t i = 0; i < n; i++)
			walk(c, parts[i].p, parts[i].end, depth + 1, role, dflt);
	}
	free(parts);
}

static void
walk(struct pctx *c, const char *p, const char *end, unsigned depth, unsigned role,
     const char *dflt_type)
{
	struct mhdr h = { NULL, NULL, NULL };
	const char *body, *hend;
	char type[128];
	bool own = true;

	if (depth > c->lim.max_depth) {
		note(c, MSG_TRUNCATED, "MIME nesting deeper than the limit was not read");
		return;
	}
	if (++c->nparts > c->lim.max_parts) {
		note(c, MSG_TRUNCATED, "more parts than the limit; the rest was not read");
		return;
	}
	/* A part that starts with a line that is no field has no header
	 * (lenient: the blank line is missing). */
	{
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (p < end && *p != '\n' && !is_field_start(p, nl ? nl : end)) {
			hend = p;
			body = p;
		} else {
			hend = header_end(p, end, &body);
		}
	}
	if (c->pre && p == c->pre_p && hend == c->pre_hend) {
		h = *c->pre;
		own = false;
		c->pre = NULL;
	} else {
		fields_each(c, p, hend, mhdr_field, &h);
	}
	media_type(h.ctype, dflt_type, type, sizeof(type));
	if (type_is(type, "multipart/"))
		walk_multipart(c, &h, type, body, end, depth, role);
	else
		leaf(c, &h, type, body, end, depth, role);
	if (own)
		mhdr_release(&h);
}

/* ---- top-level headers ------------------------------------------------ */

struct top {
	struct pctx *c;
	size_t cap;
	struct addr_fields addrs;
	struct mhdr mh; /* the MIME fields of the block, read once */
	char *raw_from;
	char *raw_date;
	char *raw_msgid;
	char *raw_irt;
	char *raw_refs;
	char *raw_return_path;
};

static void
top_field(void *arg, const char *name, size_t nlen, const char *v, size_t vlen)
{
	struct top *t = arg;
	struct message *m = t->c->m;
	struct header *h;
	char **keep = NULL;

	if (m->nheaders == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		m->headers = xreallocarray(m->headers, t->cap, sizeof(*m->headers));
	}
	h = &m->headers[m->nheaders++];
	/* printable ASCII (is_field_start()): charset_clean() would copy it */
	h->name = xstrndup(name, nlen);
	h->value = rfc2047_decode(v, vlen);
	addr_fields_add(&t->addrs, name, nlen, v, vlen);
	if (name_is(name, nlen, "from"))
		keep = &t->raw_from;
	else if (name_is(name, nlen, "date"))
		keep = &t->raw_date;
	else if (name_is(name, nlen, "message-id"))
		keep = &t->raw_msgid;
	else if (name_is(name, nlen, "in-reply-to"))
		keep = &t->raw_irt;
	else if (name_is(name, nlen, "references"))
		keep = &t->raw_refs;
	else if (name_is(name, nlen, "return-path"))
		keep = &t->raw_return_path;
	if (keep && !*keep)
		*keep = xstrndup(v, vlen);
	/* the MIME fields, for the walk over the same block */
	mhdr_field(&t->mh, name, nlen, v, vlen);
}

/* ---- classification ---------------------------------------------------- */

static bool
header_has(const struct message *m, const char *name, const char *needle)
{
	const char *v = message_header(m, name);

	return v && strcasestr(v, needle);
}

/* A bounce without multipart/report (qmail, old Exchange): the returned
 * message's headers are somewhere in the body text. */
static void
returned_from_text(struct pctx *c, const char *p, const char *end)
{
	const char *q = p;

	while (q < end && !c->m->returned_message_id) {
		const char *hit = memmem(q, (size_t)(end - q), "essage-", 7);
		const char *ls;

		if (!hit)
			break;
		ls = hit - 1;
		if (ls >= p && (ls == p || ls[-1] == '\n' || ls[-1] == ' ' || ls[-1] == '>') &&
		    (*ls == 'M' || *ls == 'm') && end - hit > 10 && !strncasecmp(hit, "essage-id:", 10)) {
			/* That line and what follows it as a header block. */
			const char *bol = ls;

			while (bol > p && bol[-1] != '\n')
				bol--;
			(void)bol;
			returned_headers(c, ls, end);
			if (!c->m->returned_subject) {
				/* Subject usually comes before Message-ID: look
				 * back over the lines just before. */
				const char *back = ls;

				for (int lines = 0; back > p && lines < 30; lines++) {
					back--;
					while (back > p && back[-1] != '\n')
						back--;
					if (!strncasecmp(back, "Subject:", 8)) {
						const char *nl = memchr(back, '\n', (size_t)(end - back));
						const char *s = back + 8;

						while (*s == ' ')
							s++;
						c->m->returned_subject =
							rfc2047_decode(s, (size_t)((nl ? nl : end) - s));
						break;
					}
				}
			}
			break;
		}
		q = hit + 7;
	}
}

/* Vacation programs' headers other than Auto-Submitted. */
static bool
autoreply_headers(const struct message *m)
{
	return message_header(m, "X-Autoreply") || message_header(m, "X-Autorespond") ||
	       header_has(m, "Precedence", "auto_reply") || message_header(m, "X-Autogenerated");
}

static void
classify(struct pctx *c, const char *body, const char *end)
{
	struct message *m = c->m;
	const char *as = message_header(m, "Auto-Submitted");
	bool auto_submitted = as && strncasecmp(as, "no", 2) != 0;
	bool strong;
	enum bounce_subject said = bounce_subject_kind(m->subject, &strong);
	bool mailer = bounce_mailer_sender(m->from.addr, m->from.name);
	bool null_sender = !*m->from.addr || (m->return_path && !*m->return_path);
	bool desk_copy = bounce_quotes_desk_mail(body, (size_t)(end - body));

	if (message_header(m, "X-Failed-Recipients"))
		m->flags |= MSG_BOUNCE;
	/* A failure phrase from a mail system, the null sender or a robot, or
	 * beside a returned copy of our own mail: a bounce without
	 * multipart/report. */
	if (said == BOUNCE_SUBJECT_FAILURE && (mailer || null_sender || auto_submitted || desk_copy))
		m->flags |= MSG_BOUNCE;
	if (mailer && !auto_submitted && !(m->flags & MSG_AUTOREPLY))
		m->flags |= MSG_BOUNCE;
	/* RFC 3834 and what vacation programs send instead; a weak phrase
	 * ("Absence") only from the null sender or a mail system. */
	if (auto_submitted || autoreply_headers(m) ||
	    (said == BOUNCE_SUBJECT_AUTOREPLY && (strong || null_sender || mailer)))
		m->flags |= MSG_AUTOREPLY;
	/* Our own mail come back, whatever the subject says; an auto-reply
	 * that quotes it stays an auto-reply. */
	if (desk_copy && !(m->flags & MSG_AUTOREPLY))
		m->flags |= MSG_BOUNCE;
	if (message_header(m, "List-Id") || message_header(m, "List-Unsubscribe") ||
	    message_header(m, "List-Post") || header_has(m, "Precedence", "bulk") ||
	    header_has(m, "Precedence", "list") || header_has(m, "Precedence", "junk"))
		m->flags |= MSG_LIST;
	if ((m->flags & MSG_BOUNCE) && !m->returned_message_id)
		returned_from_text(c, body, end);
}

/* ---- the entry point ---------------------------------------------------- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void
xml_init(void)
{
	/* libxml2's globals, once, before any thread parses. */
	xmlInitParser();
}

/* A copy with CRLF and CR-only line ends as LF; NULL when raw has no CR. */
static char *
to_lf(const char *raw, size_t len, size_t *len_r)
{
	const char *cr = memchr(raw, '\r', len), *p = raw, *end = raw + len;
	char *out, *o;

	if (!cr)
		return NULL;
	out = o = xmalloc(len + 1);
	while (cr) {
		memcpy(o, p, (size_t)(cr - p));
		o += cr - p;
		*o++ = '\n';
		p = cr + 1;
		if (p < end && *p == '\n')
			p++;
		cr = memchr(p, '\r', (size_t)(end - p));
	}
	memcpy(o, p, (size_t)(end - p));
	o += end - p;
	*o = '\0';
	*len_r = (size_t)(o - out);
	return out;
}

int
parse_message(const char *raw, size_t len, const struct parse_limits *lim, struct message *m,
	      struct err *e)
{
	struct pctx c;
	struct top t;
	char *lf;
	const char *p, *end, *body, *hend;

	(void)e;
	pthread_once(&xml_once, xml_init);
	memset(&c, 0, sizeof(c));
	c.m = m;
	c.lim = lim ? *lim : parse_limits_default;
	if (!c.lim.max_message_size)
		c.lim.max_message_size = parse_limits_default.max_message_size;
	if (!c.lim.max_header_size)
		c.lim.max_header_size = parse_limits_default.max_header_size;
	if (!c.lim.max_line_length)
		c.lim.max_line_length = parse_limits_default.max_line_length;
	if (!c.lim.max_parts)
		c.lim.max_parts = parse_limits_default.max_parts;
	if (!c.lim.max_depth)
		c.lim.max_depth = parse_limits_default.max_depth;
	buf_init(&c.body, 0);
	buf_init(&c.notes, 0);
	m->raw = raw;
	m->raw_len = len;

	lf = to_lf(raw, len, &len);
	p = lf ? lf : raw;
	end = p + len;
	/* An mbox "From " line is not a header. */
	if (len > 5 && !strncmp(p, "From ", 5)) {
		const char *nl = memchr(p, '\n', len);

		p = nl ? nl + 1 : end;
	}

	memset(&t, 0, sizeof(t));
	t.c = &c;
	addr_fields_init(&t.addrs);
	hend = header_end(p, end, &body);
	fields_each(&c, p, hend, top_field, &t);
	if (m->nheaders == 0)
		note(&c, MSG_PARSE_ERROR, "no header fields were found");
	if (addr_fields_read(&t.addrs, m, t.raw_from))
		note(&c, 0, "a malformed From was read leniently");
	{
		const char *subj = message_header(m, "Subject");

		free(m->subject);
		m->subject = xstrdup(subj ? subj : "");
	}
	msgid_first(&m->message_id, t.raw_msgid);
	msgid_first(&m->in_reply_to, t.raw_irt);
	if (t.raw_refs)
		msgid_list(t.raw_refs, &m->references, MAX_REFERENCES);
	if (t.raw_return_path)
		m->return_path = msgid_return_path(t.raw_return_path);
	if (t.raw_date && dates_parse(t.raw_date, &m->date))
		m->has_date = true;

	/* The MIME walk starts over the same header block, whose MIME fields
	 * were read with the others. */
	c.pre = &t.mh;
	c.pre_p = p;
	c.pre_hend = hend;
	walk(&c, p, end, 0, R_BODY | R_ATT, "text/plain");
	c.pre = NULL;
	if (!c.body_set && c.fwd) {
		/* Only a forwarded message: its text is the body. */
		walk(&c, c.fwd, c.fwd_end, c.fwd_depth, R_BODY, "text/plain");
	}
	classify(&c, body, end);

	free(m->body);
	m->body = buf_detach(&c.body, NULL);
	if (c.notes.len) {
		free(m->parse_note);
		m->parse_note = buf_detach(&c.notes, NULL);
	}
	buf_release(&c.notes);
	addr_fields_release(&t.addrs);
	mhdr_release(&t.mh);
	free(t.raw_from);
	free(t.raw_date);
	free(t.raw_msgid);
	free(t.raw_irt);
	free(t.raw_refs);
	free(t.raw_return_path);
	free(lf);
	return 0;
}
