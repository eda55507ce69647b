/* parse.c - RFC 5322 + MIME into a struct message: the entry point, the
 * top-level header and the walk over the MIME structure.
 *
 * The MIME structure is walked here, not by libetpan: Debian's libetpan
 * 1.9.4 overflows a heap buffer on a boundary="\"" parameter, recurses
 * without a depth limit and cannot be bounded in part count or line length.
 * libetpan reads only the address fields (addresses.c): its RFC 5322
 * address grammar is the part worth reusing. Everything else (encoded
 * words, parameters, dates, message-ids, transfer encodings, charsets,
 * HTML, TNEF, bounces) is secdesk's own code, written to degrade byte by
 * byte instead of failing.
 *
 * The limits (struct parse_limits, after Dovecot's message_parser_settings)
 * bound the work: nesting depth, number of parts, header block size, header
 * line length; the attachment bytes kept are bounded by max_message_size. */
#include "compat.h"

#include <strings.h>

#include "addresses.h"
#include "ascii.h"
#include "buf.h"
#include "charset.h"
#include "dates.h"
#include "encodings.h"
#include "flowed.h"
#include "html.h"
#include "msgid.h"
#include "parse_int.h"
#include "rfc2047.h"
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

/* ---- bodies ------------------------------------------------------------ */

static char *
part_text(const struct mime_fields *h, const char *type, const char *data, size_t len,
	  struct parse_ctx *c)
{
	char *charset = rfc2231_param_raw(h->ctype, "charset");
	char *text = charset_to_utf8(charset, data, len);

	free(charset);
	if (!strcmp(type, "text/html")) {
		bool cut = false;
		char *plain = html_to_text(text, strlen(text), 0, 0, &cut);

		if (cut)
			parse_note(c, MSG_TRUNCATED, "an HTML part over the size limit was cut");
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
body_set(struct parse_ctx *c, char *text, bool html)
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
body_append(struct parse_ctx *c, char *text)
{
	if (c->body.len && c->body.data[c->body.len - 1] != '\n')
		buf_addch(&c->body, '\n');
	buf_addch(&c->body, '\n');
	buf_addstr(&c->body, text);
	free(text);
}

/* ---- the walk ---------------------------------------------------------- */

static void walk(struct parse_ctx *c, const char *p, const char *end, unsigned depth, unsigned role,
		 const char *dflt_type);

static void
walk_leaf(struct parse_ctx *c, const struct mime_fields *h, const char *type, const char *p,
	  const char *end, unsigned depth, unsigned role)
{
	struct buf data = BUF_INIT;
	bool textual = !strcmp(type, "text/plain") || !strcmp(type, "text/html");
	bool attached = false, copied = false;
	enum cte kind;
	const char *text;
	size_t tlen;

	if (h->cdisp) {
		char d[32];

		media_type_of(h->cdisp, "inline/x", d, sizeof(d));
		attached = media_type_is(d, "attachment");
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
			body_set(c, part_text(h, type, text, tlen, c), html);
			buf_release(&data);
			return;
		}
		if (!html) {
			char *fname = rfc2231_param(h->cdisp, "filename");

			/* Another inline text part (Apple Mail splits the text
			 * around an inline image): more body. */
			if (!fname || !*fname) {
				free(fname);
				body_append(c, part_text(h, type, text, tlen, c));
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
		returned_headers_read(c, buf_cstr(&data), buf_cstr(&data) + data.len);
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
		attachment_add(c, h, type, &data);
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
line_starting_with(const char *p, const char *q, const char *end, const char *delim, size_t dlen)
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
multipart_split(struct parse_ctx *c, const char *p, const char *end, const char *boundary,
		size_t *n_r, bool *closed_r)
{
	size_t blen = strlen(boundary), n = 0, cap = 0;
	struct range *parts = NULL;
	const char *start = NULL, *q = p;
	char *delim = xasprintf("--%s", boundary);

	*closed_r = false;
	blen += 2;
	while (q < end) {
		const char *hit = line_starting_with(p, q, end, delim, blen);
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
				parse_note(c, MSG_TRUNCATED, "more parts than the limit; the rest was not read");
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
part_type(const char *p, const char *end, const char *dflt, char *out, size_t n,
	  struct parse_ctx *c)
{
	const char *body, *hend = header_block_end(p, end, &body);
	char *ct = header_block_field(c, p, hend, "content-type");

	media_type_of(ct, dflt, out, n);
	free(ct);
}

/* multipart/alternative: the plain text if there is one, else the last
 * part we can read (the richest, RFC 2046 5.1.4), else the first. */
static size_t
pick_alternative(struct parse_ctx *c, const struct range *parts, size_t n)
{
	size_t best = 0;
	int score = -1;

	for (size_t i = 0; i < n; i++) {
		char t[128];
		int s = 0;

		part_type(parts[i].p, parts[i].end, "text/plain", t, sizeof(t), c);
		if (!strcmp(t, "text/plain"))
			s = 3;
		else if (media_type_is(t, "multipart/"))
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

/* Walks the parts of a multipart: part chosen with the parent's role, the
 * others with rest_role. */
static void
walk_parts(struct parse_ctx *c, const struct range *parts, size_t n, size_t chosen, unsigned depth,
	   unsigned role, unsigned rest_role, const char *dflt)
{
	for (size_t i = 0; i < n; i++)
		walk(c, parts[i].p, parts[i].end, depth + 1, i == chosen ? role : rest_role, dflt);
}

/* A multipart that cannot be split, read as one text part (why: noted). */
static void
walk_as_text(struct parse_ctx *c, const struct mime_fields *h, const char *p, const char *end,
	     unsigned depth, unsigned role, const char *why)
{
	struct mime_fields plain = { NULL, h->cte, h->cdisp };

	parse_note(c, MSG_PARSE_ERROR, why);
	walk_leaf(c, &plain, "text/plain", p, end, depth, role);
}

/* multipart/report: a delivery status is a bounce, any other report an
 * automatic answer; its first part is the text, the rest attachments. */
static void
walk_report(struct parse_ctx *c, const struct mime_fields *h, const struct range *parts, size_t n,
	    unsigned depth, unsigned role, const char *dflt)
{
	char *rt = rfc2231_param_raw(h->ctype, "report-type");

	if (rt && !strcasecmp(rt, "delivery-status"))
		c->m->flags |= MSG_BOUNCE;
	else
		c->m->flags |= MSG_AUTOREPLY;
	free(rt);
	c->in_report = true;
	walk_parts(c, parts, n, 0, depth, role, role & R_ATT, dflt);
	c->in_report = false;
}

static void
walk_multipart(struct parse_ctx *c, const struct mime_fields *h, const char *type, const char *p,
	       const char *end, unsigned depth, unsigned role)
{
	char *boundary = rfc2231_param_raw(h->ctype, "boundary");
	struct range *parts;
	size_t n;
	bool closed;
	const char *sub = type + strlen("multipart/");
	const char *dflt = !strcmp(sub, "digest") ? "message/rfc822" : "text/plain";

	if (!boundary || !*boundary || strlen(boundary) > MAX_BOUNDARY) {
		free(boundary);
		walk_as_text(c, h, p, end, depth, role,
			     "a multipart part without a usable boundary was read as text");
		return;
	}
	parts = multipart_split(c, p, end, boundary, &n, &closed);
	free(boundary);
	if (n == 0)
		walk_as_text(c, h, p, end, depth, role,
			     "a multipart part without any delimiter was read as text");
	else if (!strcmp(sub, "alternative"))
		walk_parts(c, parts, n, pick_alternative(c, parts, n), depth, role,
			   (role & R_ATT) | R_ALTREST, dflt);
	else if (!strcmp(sub, "report"))
		walk_report(c, h, parts, n, depth, role, dflt);
	else if (!strcmp(sub, "related") || !strcmp(sub, "signed"))
		/* The root of a related (the first part, start= is rarely
		 * anything else) is the body, the rest its inline resources;
		 * a signed one's second part is the signature. */
		walk_parts(c, parts, n, 0, depth, role, role & R_ATT, dflt);
	else
		walk_parts(c, parts, n, 0, depth, role, role, dflt);
	free(parts);
}

static void
walk(struct parse_ctx *c, const char *p, const char *end, unsigned depth, unsigned role,
     const char *dflt_type)
{
	struct mime_fields h = { NULL, NULL, NULL };
	const char *body, *hend;
	char type[128];
	bool own = true;

	if (depth > c->lim.max_depth) {
		parse_note(c, MSG_TRUNCATED, "MIME nesting deeper than the limit was not read");
		return;
	}
	if (++c->nparts > c->lim.max_parts) {
		parse_note(c, MSG_TRUNCATED, "more parts than the limit; the rest was not read");
		return;
	}
	/* A part that starts with a line that is no field has no header
	 * (lenient: the blank line is missing). */
	{
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (p < end && *p != '\n' && !header_is_field_start(p, nl ? nl : end)) {
			hend = p;
			body = p;
		} else {
			hend = header_block_end(p, end, &body);
		}
	}
	if (c->pre && p == c->pre_p && hend == c->pre_hend) {
		h = *c->pre;
		own = false;
		c->pre = NULL;
	} else {
		header_fields_each(c, p, hend, mime_fields_take, &h);
	}
	media_type_of(h.ctype, dflt_type, type, sizeof(type));
	if (media_type_is(type, "multipart/"))
		walk_multipart(c, &h, type, body, end, depth, role);
	else
		walk_leaf(c, &h, type, body, end, depth, role);
	if (own)
		mime_fields_release(&h);
}

/* ---- top-level headers ------------------------------------------------ */

struct top_header {
	struct parse_ctx *c;
	size_t cap;
	struct addr_fields addrs;
	struct mime_fields mh; /* the MIME fields of the block, read once */
	char *raw_from;
	char *raw_date;
	char *raw_msgid;
	char *raw_irt;
	char *raw_refs;
	char *raw_return_path;
};

static void
top_header_field(void *arg, const char *name, size_t nlen, const char *v, size_t vlen)
{
	struct top_header *t = arg;
	struct message *m = t->c->m;
	struct header *h;
	char **keep = NULL;

	if (m->nheaders == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		m->headers = xreallocarray(m->headers, t->cap, sizeof(*m->headers));
	}
	h = &m->headers[m->nheaders++];
	/* printable ASCII (header_is_field_start()): charset_clean() would copy it */
	h->name = xstrndup(name, nlen);
	h->value = rfc2047_decode(v, vlen);
	addr_fields_add(&t->addrs, name, nlen, v, vlen);
	if (ascii_eq_ci(name, nlen, "from"))
		keep = &t->raw_from;
	else if (ascii_eq_ci(name, nlen, "date"))
		keep = &t->raw_date;
	else if (ascii_eq_ci(name, nlen, "message-id"))
		keep = &t->raw_msgid;
	else if (ascii_eq_ci(name, nlen, "in-reply-to"))
		keep = &t->raw_irt;
	else if (ascii_eq_ci(name, nlen, "references"))
		keep = &t->raw_refs;
	else if (ascii_eq_ci(name, nlen, "return-path"))
		keep = &t->raw_return_path;
	if (keep && !*keep)
		*keep = xstrndup(v, vlen);
	/* the MIME fields, for the walk over the same block */
	mime_fields_take(&t->mh, name, nlen, v, vlen);
}

/* ---- the entry point ---------------------------------------------------- */

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

/* The limits asked for, each 0 replaced by its default. */
static void
limits_fill(struct parse_limits *lim, const struct parse_limits *asked)
{
	*lim = asked ? *asked : parse_limits_default;
	if (!lim->max_message_size)
		lim->max_message_size = parse_limits_default.max_message_size;
	if (!lim->max_header_size)
		lim->max_header_size = parse_limits_default.max_header_size;
	if (!lim->max_line_length)
		lim->max_line_length = parse_limits_default.max_line_length;
	if (!lim->max_parts)
		lim->max_parts = parse_limits_default.max_parts;
	if (!lim->max_depth)
		lim->max_depth = parse_limits_default.max_depth;
}

/* Past an mbox "From " line, which is not a header. */
static const char *
skip_mbox_from(const char *p, const char *end)
{
	if (end - p > 5 && !strncmp(p, "From ", 5)) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		return nl ? nl + 1 : end;
	}
	return p;
}

/* The top-level header block [p, hend) into m: every field, addresses,
 * subject, ids, date; its MIME fields into t->mh for the walk. */
static void
top_header_read(struct parse_ctx *c, struct top_header *t, const char *p, const char *hend)
{
	struct message *m = c->m;
	const char *subj;

	header_fields_each(c, p, hend, top_header_field, t);
	if (m->nheaders == 0)
		parse_note(c, MSG_PARSE_ERROR, "no header fields were found");
	if (addr_fields_read(&t->addrs, m, t->raw_from))
		parse_note(c, 0, "a malformed From was read leniently");
	subj = message_header(m, "Subject");
	free(m->subject);
	m->subject = xstrdup(subj ? subj : "");
	msgid_first(&m->message_id, t->raw_msgid);
	msgid_first(&m->in_reply_to, t->raw_irt);
	if (t->raw_refs)
		msgid_list(t->raw_refs, &m->references, MAX_REFERENCES);
	if (t->raw_return_path)
		m->return_path = msgid_return_path(t->raw_return_path);
	if (t->raw_date && dates_parse(t->raw_date, &m->date))
		m->has_date = true;
}

static void
top_header_release(struct top_header *t)
{
	addr_fields_release(&t->addrs);
	mime_fields_release(&t->mh);
	free(t->raw_from);
	free(t->raw_date);
	free(t->raw_msgid);
	free(t->raw_irt);
	free(t->raw_refs);
	free(t->raw_return_path);
}

/* The MIME walk from the top, over the header block [p, hend) whose MIME
 * fields t holds already; a forwarded message gives the body when the
 * mail has none of its own. */
static void
walk_message(struct parse_ctx *c, const struct top_header *t, const char *p, const char *hend,
	     const char *end)
{
	c->pre = &t->mh;
	c->pre_p = p;
	c->pre_hend = hend;
	walk(c, p, end, 0, R_BODY | R_ATT, "text/plain");
	c->pre = NULL;
	if (!c->body_set && c->fwd)
		walk(c, c->fwd, c->fwd_end, c->fwd_depth, R_BODY, "text/plain");
}

int
parse_message(const char *raw, size_t len, const struct parse_limits *lim, struct message *m,
	      struct err *e)
{
	struct parse_ctx c;
	struct top_header t;
	char *lf;
	const char *p, *end, *body, *hend;

	(void)e;
	memset(&c, 0, sizeof(c));
	c.m = m;
	limits_fill(&c.lim, lim);
	buf_init(&c.body, 0);
	buf_init(&c.notes, 0);
	m->raw = raw;
	m->raw_len = len;

	lf = to_lf(raw, len, &len);
	p = lf ? lf : raw;
	end = p + len;
	p = skip_mbox_from(p, end);
	memset(&t, 0, sizeof(t));
	t.c = &c;
	addr_fields_init(&t.addrs);
	hend = header_block_end(p, end, &body);
	top_header_read(&c, &t, p, hend);
	walk_message(&c, &t, p, hend, end);
	parse_classify(&c, body, end);

	free(m->body);
	m->body = buf_detach(&c.body, NULL);
	if (c.notes.len) {
		free(m->parse_note);
		m->parse_note = buf_detach(&c.notes, NULL);
	}
	buf_release(&c.notes);
	top_header_release(&t);
	free(lf);
	return 0;
}
