/* One mail from a template (outbound_int.h): the template's context from a
 * ticket and a message, the rendered text made a MIME message, recorded on
 * the ticket and queued in the outbox. */
#include "compat.h"

#include <strings.h>

#include "flowed.h"
#include "outbound_int.h"
#include "testhook.h"
#include "ticket.h"
#include "xalloc.h"

void
built_init(struct built *b)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->msg, 8 * 1024 * 1024);
	buf_init(&b->refs, 0);
	buf_init(&b->subject, 0);
	buf_init(&b->body, 0);
	buf_init(&b->to, 0);
	buf_init(&b->cc, 0);
	buf_init(&b->rcpts, 0);
	buf_init(&b->names, 0);
}

/* Empties b; the memory of a rare large mail is given back. */
static void
scratch_done(struct buf *b)
{
	if (b->cap > 1024 * 1024)
		buf_release(b);
	else
		buf_reset(b);
}

void
built_reset(struct built *b)
{
	scratch_done(&b->msg);
	buf_reset(&b->refs);
	buf_reset(&b->subject);
	scratch_done(&b->body);
	buf_reset(&b->to);
	buf_reset(&b->cc);
	buf_reset(&b->rcpts);
	buf_reset(&b->names);
	b->by_ref = false;
	b->quote_at = 0;
}

void
built_release(struct built *b)
{
	buf_release(&b->msg);
	buf_release(&b->refs);
	buf_release(&b->subject);
	buf_release(&b->body);
	buf_release(&b->to);
	buf_release(&b->cc);
	buf_release(&b->rcpts);
	buf_release(&b->names);
}

unsigned
template_needs(struct outbound *ob, const struct tmpl *t)
{
	unsigned need = 0;

	if (!t)
		return 0;
	for (size_t i = 0; i < ob->nneeds; i++)
		if (ob->needs[i].t == t)
			return ob->needs[i].need;
	for (unsigned v = 0; v < V_COUNT; v++)
		if (tmpl_set_uses(ob->set, t, outbound_template_vars[v]))
			need |= NEED(v);
	if (ob->nneeds < NEED_CACHE) {
		ob->needs[ob->nneeds].t = t;
		ob->needs[ob->nneeds++].need = need;
	}
	return need;
}

/* ---- the template context ---- */

static void
ctx_int(struct tmpl_ctx *c, const char *name, int64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	tmpl_ctx_set(c, name, b);
}

char *
quote_text(const char *body, size_t max, size_t *len_r)
{
	size_t n = strnlen(body, max + 1);
	const char *p = body, *end;
	char *out, *o;
	bool cut = n > max;

	if (cut) {
		/* Cut at a character boundary. */
		while (max > 0 && ((unsigned char)body[max] & 0xc0) == 0x80)
			max--;
		n = max;
	}
	end = body + n;
	/* A line of l bytes and its LF become at most l + 3 bytes: twice the
	 * text at most, and the closing mark. Written in place, line by line. */
	out = o = xmalloc(2 * n + 16);
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);

		*o++ = '>';
		if (l)
			*o++ = ' ';
		memcpy(o, p, l);
		o += l;
		*o++ = '\n';
		p += l + (eol ? 1 : 0);
	}
	if (cut) {
		memcpy(o, "> [...]\n", 8);
		o += 8;
	}
	*o = '\0';
	*len_r = (size_t)(o - out);
	return out;
}

/* The ticket's subject without our own tag ref (templates place the tag),
 * trimmed; "(no subject)" when nothing is left. */
static void
set_subject(struct tmpl_ctx *c, const char *sub, const char *ref)
{
	struct buf sb = BUF_INIT;
	const char *hit = strstr(sub, ref), *v;
	size_t l;

	if (hit) {
		buf_add(&sb, sub, (size_t)(hit - sub));
		buf_addstr(&sb, hit + strlen(ref));
	} else {
		buf_addstr(&sb, sub);
	}
	v = buf_cstr(&sb);
	v += strspn(v, " \t");
	l = strlen(v);
	while (l && (v[l - 1] == ' ' || v[l - 1] == '\t'))
		l--;
	if (l) {
		char *x = xstrndup(v, l);

		tmpl_ctx_set(c, "subject", x);
		free(x);
	} else {
		tmpl_ctx_set(c, "subject", "(no subject)");
	}
	buf_release(&sb);
}

/* The inquiry's text, as "body" (cut at NOTICE_BODY_MAX) and as "quoted". */
static void
set_body(struct tmpl_ctx *c, const char *body, unsigned need)
{
	if ((need & NEED(V_BODY)) && strlen(body) > NOTICE_BODY_MAX) {
		size_t n = NOTICE_BODY_MAX;
		char *cut;

		while (n > 0 && ((unsigned char)body[n] & 0xc0) == 0x80)
			n--;
		cut = xasprintf("%.*s\n[...]", (int)n, body);
		tmpl_ctx_set(c, "body", cut);
		free(cut);
	} else if (need & NEED(V_BODY)) {
		tmpl_ctx_set_borrowed(c, "body", body);
	}
	if (need & NEED(V_QUOTED)) {
		size_t qlen;
		/* Handed over, not copied: a quote is up to NOTICE_BODY_MAX. */
		char *quoted = quote_text(body, NOTICE_BODY_MAX, &qlen);

		tmpl_ctx_set_owned(c, "quoted", quoted, qlen);
	}
}

/* The ticket's own fields that need shows, as the ticket has them. */
static void
set_ticket_fields(struct tmpl_ctx *c, const struct ticket *t, unsigned need)
{
	static const struct {
		unsigned v;
		const char *name;
		size_t off;
	} fields[] = {
		{ V_REQUESTER_NAME, "requester_name", offsetof(struct ticket, requester_name) },
		{ V_REQUESTER_ADDRESS, "requester_address", offsetof(struct ticket, requester) },
		{ V_QUEUE, "queue", offsetof(struct ticket, queue) },
		{ V_LANGUAGE, "language", offsetof(struct ticket, language) },
		{ V_CATEGORY, "category", offsetof(struct ticket, category) },
		{ V_PRIORITY, "priority", offsetof(struct ticket, priority) },
		{ V_STATUS, "status", offsetof(struct ticket, status) },
	};

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (need & NEED(fields[i].v))
			tmpl_ctx_set_borrowed(c, fields[i].name,
					      *(char *const *)((const char *)t + fields[i].off));
}

struct tmpl_ctx *
ticket_ctx(const struct outbound *ob, const struct ticket *t, const struct message *m,
	   unsigned need)
{
	struct tmpl_ctx *c = tmpl_ctx_new();
	const struct queue *q = ob->rules ? rules_queue(ob->rules, t->queue) : NULL;
	char ref[128], date[64];

	snprintf(ref, sizeof(ref), "[%s #%lld]", ob->cfg->desk.tag, (long long)t->id);
	if (need & NEED(V_ID))
		ctx_int(c, "id", t->id);
	if (need & NEED(V_TAG))
		tmpl_ctx_set_borrowed(c, "tag", ob->cfg->desk.tag);
	if (need & NEED(V_REF))
		tmpl_ctx_set(c, "ref", ref);
	if (need & NEED(V_SUBJECT))
		set_subject(c, t->subject, ref);
	if (need & NEED(V_REQUESTER))
		tmpl_ctx_set_borrowed(c, "requester",
				      *t->requester_name ? t->requester_name : t->requester);
	set_ticket_fields(c, t, need);
	if (need & NEED(V_QUEUE_NAME))
		tmpl_ctx_set_borrowed(c, "queue_name", q && q->name && *q->name ? q->name : t->queue);
	if (need & NEED(V_DESK_NAME))
		tmpl_ctx_set_borrowed(c, "desk_name", ob->cfg->desk.name);
	if (need & NEED(V_DESK_ADDRESS))
		tmpl_ctx_set_borrowed(c, "desk_address", ob->cfg->desk.address);
	if (need & NEED(V_RECEIVED)) {
		mime_date(m && m->has_date ? (int64_t)m->date : t->created, date, sizeof(date));
		tmpl_ctx_set(c, "received", date);
	}
	if (need & NEED(V_MESSAGE_SUBJECT))
		tmpl_ctx_set_borrowed(c, "message_subject", m ? m->subject : t->subject);
	set_body(c, m && m->body ? m->body : "", need);
	return c;
}

char *
clean_name(const char *name)
{
	char *n = xstrdup(name ? name : "");

	for (unsigned char *p = (unsigned char *)n; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return n;
}

/* ---- the MIME message ---- */

static bool
msgid_ok(const char *id)
{
	if (!id || !*id || strlen(id) > 250)
		return false;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>')
			return false;
	return strchr(id, '@') != NULL;
}

/* A header field of rendered template output. */
struct tmpl_header {
	char *name;
	char *value;
};

/* Splits rendered template output into its header fields (unfolded; the
 * names are checked by templates check) and the body. */
static size_t
split_rendered(char *text, struct tmpl_header *h, size_t max, char **body)
{
	size_t n = 0;
	char *p = text;

	*body = NULL;
	while (*p) {
		char *eol = strchr(p, '\n'), *colon;
		size_t l = eol ? (size_t)(eol - p) : strlen(p);

		if (l && p[l - 1] == '\r')
			p[--l] = '\0';
		if (eol)
			*eol = '\0';
		if (l == 0) {
			*body = eol ? eol + 1 : p + l;
			break;
		}
		if ((*p == ' ' || *p == '\t') && n > 0) {
			char *joined = xasprintf("%s %s", h[n - 1].value, p + strspn(p, " \t"));

			free(h[n - 1].value);
			h[n - 1].value = joined;
		} else if ((colon = strchr(p, ':')) && n < max) {
			*colon = '\0';
			h[n].name = xstrdup(p);
			h[n].value = xstrdup(colon + 1 + strspn(colon + 1, " \t"));
			n++;
		}
		if (!eol) {
			*body = p + l;
			break;
		}
		p = eol + 1;
	}
	if (!*body)
		*body = p;
	return n;
}

/* The values compose_record stores for c (struct built). */
static void
built_values(const struct outbound *ob, const struct compose *c, struct built *b)
{
	for (size_t i = 0; i < c->nto; i++) {
		if (i)
			buf_add(&b->to, ", ", 2);
		buf_addstr(&b->to, c->to[i].addr);
	}
	for (size_t i = 0; i < c->ncc; i++) {
		if (i)
			buf_add(&b->cc, ", ", 2);
		buf_addstr(&b->cc, c->cc[i].addr);
	}
	/* "NAME ADDRESS TO CC": the names the search index finds it by. */
	buf_addstr(&b->names, ob->cfg->desk.name);
	buf_addch(&b->names, ' ');
	buf_addstr(&b->names, ob->cfg->desk.address);
	buf_addch(&b->names, ' ');
	buf_addstr(&b->names, buf_cstr(&b->to));
	buf_addch(&b->names, ' ');
	buf_addstr(&b->names, buf_cstr(&b->cc));
	for (size_t i = 0; i < c->nto + c->ncc; i++) {
		if (b->rcpts.len)
			buf_addch(&b->rcpts, ',');
		buf_addstr(&b->rcpts, i < c->nto ? c->to[i].addr : c->cc[i - c->nto].addr);
	}
}

/* body with the copy of elide that the template wrote at offset at of the
 * rendered text (body_len bytes from body on) replaced by a pointer to the
 * ticket's inquiry, into out; false when there is nothing to leave out. The
 * renderer says where the value went: no search for it. */
static bool
elided(struct buf *out, const char *body, size_t body_len, size_t at, const char *elide,
       size_t n, int64_t ticket_id)
{
	char mid[96];
	int ml;

	if (!elide || n < 256 || at > body_len || body_len - at < n ||
	    memcmp(body + at, elide, n) != 0)
		return false;
	ml = snprintf(mid, sizeof(mid), "> [the inquiry's text, quoted here: see inquiry #%lld]",
		      (long long)ticket_id);
	buf_grow(out, body_len - n + (size_t)ml);
	buf_add(out, body, at);
	buf_add(out, mid, (size_t)ml);
	buf_add(out, body + at + n, body_len - at - n);
	return true;
}

/* The Subject (the template's, with the tag that threads an answer back)
 * and References of c into b. */
static void
subject_and_refs(const struct compose *c, const struct tmpl_header *h, size_t nh,
		 struct built *b)
{
	for (size_t i = 0; i < nh; i++) {
		if (strcasecmp(h[i].name, "Subject") == 0) {
			buf_addstr(&b->subject, h[i].value);
			break;
		}
	}
	if (!strstr(buf_cstr(&b->subject), c->ref)) {
		if (b->subject.len)
			buf_addch(&b->subject, ' ');
		buf_addstr(&b->subject, c->ref);
	}
	if (c->in_reply_to && msgid_ok(c->in_reply_to)) {
		for (size_t i = 0; c->refs && i < c->refs->n; i++)
			if (msgid_ok(c->refs->items[i]) &&
			    strcmp(c->refs->items[i], c->in_reply_to) != 0)
				buf_addf(&b->refs, "<%s> ", c->refs->items[i]);
		buf_addch(&b->refs, '<');
		buf_addstr(&b->refs, c->in_reply_to);
		buf_addch(&b->refs, '>');
	}
}

/* The header block of c's mail into b->msg: ours, then the template's. */
static int
write_headers(const struct outbound *ob, const struct compose *c, const struct tmpl_header *h,
	      size_t nh, struct built *b, struct err *e)
{
	struct mime_addr from = { ob->cfg->desk.name, ob->cfg->desk.address };
	struct buf *msg = &b->msg;
	bool have_lang = false;
	char date[64];

	mime_message_id(ob->domain, b->msgid, sizeof(b->msgid));
	mime_date(store_now(), date, sizeof(date));
	if (mime_header_addrs(msg, "From", &from, 1, e) < 0 ||
	    mime_header_addrs(msg, "To", c->to, c->nto, e) < 0 ||
	    (c->ncc && mime_header_addrs(msg, "Cc", c->cc, c->ncc, e) < 0) ||
	    (c->reply_to_desk && mime_header_addrs(msg, "Reply-To", &from, 1, e) < 0) ||
	    mime_header(msg, "Subject", buf_cstr(&b->subject), e) < 0 ||
	    mime_header_raw(msg, "Date", date, e) < 0)
		return -1;
	buf_addstr(msg, "Message-ID: <");
	buf_addstr(msg, b->msgid);
	buf_addstr(msg, ">\r\n");
	if (b->refs.len) {
		buf_addstr(msg, "In-Reply-To: <");
		buf_addstr(msg, c->in_reply_to);
		buf_addstr(msg, ">\r\n");
		if (mime_header_raw(msg, "References", b->refs.data, e) < 0)
			return -1;
	}
	if (c->automatic)
		buf_addstr(msg, "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n");
	for (size_t i = 0; i < nh; i++) {
		if (strcasecmp(h[i].name, "Content-Language") == 0)
			have_lang = true;
		if (strcasecmp(h[i].name, "Subject") == 0 ||
		    (c->reply_to_desk && strcasecmp(h[i].name, "Reply-To") == 0))
			continue;
		if (mime_header(msg, h[i].name, h[i].value, e) < 0)
			return -1;
	}
	/* The language the mail is written in (RFC 3282), from its template. */
	if (!have_lang && mime_header(msg, "Content-Language", tmpl_lang(c->t), e) < 0)
		return -1;
	return 0;
}

/* A reply's body: staff's text as format=flowed, in a multipart/mixed
 * with the attached files when there are any; the ticket's copy as it was
 * written. */
static int
write_reply_body(const struct compose *c, const char *body, size_t body_len, struct built *b,
		 struct err *e)
{
	struct buf *msg = &b->msg;
	char *text = c->flowed ? flowed_encode(body, body_len, REPLY_WIDTH) : xstrdup(body);
	unsigned flags = c->flowed ? MIME_TEXT_FLOWED : 0;
	struct mime_multipart mp;
	int rc = -1;

	buf_addstr(&b->body, body);
	if (c->nfiles == 0) {
		rc = mime_text_part(msg, text, flags | MIME_TEXT_VERSION, e);
		goto out;
	}
	if (mime_multipart_begin(msg, &mp, b->msgid, e) < 0 ||
	    mime_text_part(msg, text, flags, e) < 0)
		goto out;
	for (size_t i = 0; i < c->nfiles; i++)
		if (mime_multipart_file(msg, &mp, &c->files[i], e) < 0)
			goto out;
	rc = mime_multipart_end(msg, &mp, e);
out:
	free(text);
	return rc;
}

/* The body of c's mail (body_len bytes; the template put elide's value at
 * elide_at of it, SIZE_MAX when not) into b: the ticket's copy, and the
 * mail, encoded, or by reference without its quote (c->quote_of). */
static int
write_body(const struct compose *c, const char *body, size_t body_len, size_t elide_at,
	   struct built *b, struct err *e)
{
	struct buf *msg = &b->msg;
	size_t quote_len = 0;
	bool kept = false;

	if (c->flowed || c->nfiles)
		return write_reply_body(c, body, body_len, b, e);
	if (c->elide && elide_at != SIZE_MAX) {
		const char *v = tmpl_ctx_get(c->ctx, c->elide);

		b->quote_at = elide_at;
		quote_len = v ? strlen(v) : 0;
		kept = elided(&b->body, body, body_len, b->quote_at, v, quote_len, c->ticket_id);
	}
	if (kept && c->quote_of > 0) {
		/* By reference: the text around the quote, not yet encoded.
		 * Encoding it here checks it (the quote was checked when the
		 * inquiry was stored) and costs little: it is short. */
		struct buf check = BUF_INIT;
		size_t head_len = msg->len;
		int rc;

		buf_add(msg, "\r\n", 2);
		buf_add(msg, body, b->quote_at);
		buf_add(msg, body + b->quote_at + quote_len, body_len - b->quote_at - quote_len);
		rc = mime_text_body(&check, buf_cstr(msg) + head_len + 2, e);
		buf_release(&check);
		if (rc < 0)
			return -1;
		b->by_ref = true;
	} else if (mime_text_body(msg, body, e) < 0) {
		return -1;
	}
	if (!kept)
		buf_addstr(&b->body, body);
	return 0;
}

/* Where the line holding offset at of body starts (body_len when at is
 * SIZE_MAX: the variable was not shown). */
static size_t
line_start(const char *body, size_t body_len, size_t at)
{
	if (at == SIZE_MAX || at > body_len)
		return body_len;
	while (at > 0 && body[at - 1] != '\n')
		at--;
	return at;
}

/* Staff's edited text c->above in place of what the template put above
 * the quote (which starts at quote_at of body), into out. */
static void
replace_above(const struct compose *c, const char *body, size_t body_len, size_t quote_at,
	      struct buf *out)
{
	size_t l = strlen(c->above);

	buf_add(out, c->above, l);
	if (l && c->above[l - 1] != '\n')
		buf_addch(out, '\n');
	if (quote_at < body_len) {
		buf_addch(out, '\n');
		buf_add(out, body + quote_at, body_len - quote_at);
	}
}

/* Renders c's template into ob->rendered: its header fields into h (*nh),
 * where its body starts (*body_off) and where the mark variable's value
 * went in it (*mark_at, relative to the body; SIZE_MAX: not shown). */
static int
render_split(struct outbound *ob, const struct compose *c, struct tmpl_header *h, size_t max,
	     size_t *nh, size_t *body_off, size_t *mark_at, struct err *e)
{
	struct buf *rendered = &ob->rendered;
	const char *mark = c->elide ? c->elide : c->split_var;
	size_t at = SIZE_MAX;
	char *body;

	buf_reset(rendered);
	*nh = 0;
	if (tmpl_set_render_mark(ob->set, c->t, c->ctx, mark, &at, rendered, e) < 0)
		return -1;
	*nh = split_rendered(rendered->data ? rendered->data : (char *)"", h, max, &body);
	*body_off = (size_t)(body - (rendered->data ? rendered->data : body));
	*mark_at = at != SIZE_MAX && at >= *body_off ? at - *body_off : SIZE_MAX;
	return 0;
}

int
compose_split(struct outbound *ob, const struct compose *c, struct buf *above,
	      struct buf *below, struct err *e)
{
	struct tmpl_header h[32];
	size_t nh = 0, body_off = 0, mark_at, body_len, at;
	const char *body;
	int rc = -1;

	memset(h, 0, sizeof(h));
	if (render_split(ob, c, h, ARRAY_SIZE(h), &nh, &body_off, &mark_at, e) < 0)
		goto out;
	body = ob->rendered.data ? ob->rendered.data + body_off : "";
	body_len = ob->rendered.len - body_off;
	at = line_start(body, body_len, mark_at);
	buf_add(above, body, at);
	buf_add(below, body + at, body_len - at);
	rc = 0;
out:
	for (size_t i = 0; i < nh; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	scratch_done(&ob->rendered);
	return rc;
}

int
compose_build(struct outbound *ob, const struct compose *c, struct built *b, struct err *e)
{
	struct buf *rendered = &ob->rendered;
	struct buf edited = BUF_INIT;
	struct tmpl_header h[32];
	size_t nh = 0, elide_at = SIZE_MAX, body_len, body_off = 0;
	char *body;
	int rc = -1;

	memset(h, 0, sizeof(h));
	if (render_split(ob, c, h, ARRAY_SIZE(h), &nh, &body_off, &elide_at, e) < 0)
		goto out;
	body = rendered->data ? rendered->data + body_off : (char *)"";
	body_len = rendered->len - body_off;
	if (c->above) {
		buf_init(&edited, TMPL_MAX_OUTPUT);
		replace_above(c, body, body_len, line_start(body, body_len, elide_at), &edited);
		body = edited.data ? edited.data : (char *)"";
		body_len = edited.len;
		elide_at = SIZE_MAX;
	}
	/* The header lines take a few hundred bytes; the body grows by its
	 * line ends or its encoding: one allocation. */
	buf_grow(&b->msg, body_len + body_len / 8 + 2048);
	subject_and_refs(c, h, nh, b);
	if (write_headers(ob, c, h, nh, b, e) < 0)
		goto out;
	if (write_body(c, body, body_len, elide_at, b, e) < 0)
		goto out;
	built_values(ob, c, b);
	rc = 0;
out:
	for (size_t i = 0; i < nh; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	buf_release(&edited);
	scratch_done(rendered);
	return rc;
}

int
compose_record(const struct outbound *ob, struct store *s, const struct compose *c,
	       const struct built *b, int64_t *outbox_id, struct err *e)
{
	struct outgoing_message om = {
		.ticket_id = c->ticket_id,
		.kind = c->kind,
		.from_name = ob->cfg->desk.name,
		.from_addr = ob->cfg->desk.address,
		.to = buf_cstr(&b->to),
		.cc = buf_cstr(&b->cc),
		.subject = buf_cstr(&b->subject),
		.message_id = b->msgid,
		.in_reply_to = c->in_reply_to ? c->in_reply_to : "",
		.refs = buf_cstr(&b->refs),
		.body = buf_cstr(&b->body),
		.names = buf_cstr(&b->names),
		.date = store_now(),
	};
	int64_t mid;

	if (outbox_record_message(s, &om, &mid, e) < 0)
		return -1;
	return outbox_queue_quoting(s, c->ticket_id, mid, c->kind,
				    c->automatic ? "" : ob->cfg->desk.address, b->rcpts.data,
				    b->msg.data, b->msg.len, b->by_ref ? c->quote_of : 0,
				    b->by_ref ? (int64_t)b->quote_at : 0, outbox_id, e);
}

int
compose_queue(struct outbound *ob, struct store *s, const struct compose *c,
	      int64_t *outbox_id, struct err *e)
{
	int rc = compose_build(ob, c, &ob->built, e);

	if (rc == 0)
		rc = compose_record(ob, s, c, &ob->built, outbox_id, e);
	built_reset(&ob->built);
	return rc;
}
