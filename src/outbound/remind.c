/* Digests of waiting tickets for queue contacts and assignees (remind.h). */
#include "compat.h"

#include <strings.h>

#include "deskaddr.h"
#include "mimeout.h"
#include "outbound.h"
#include "outbox.h"
#include "remind.h"
#include "rules.h"
#include "ticket.h"
#include "tmpl.h"
#include "utf8.h"
#include "xalloc.h"

/* ---- options ---- */

int
remind_opts_from_config(const struct config *cfg, struct remind_opts *o, struct err *e)
{
	const char *list = cfg->remind.statuses ? cfg->remind.statuses : REMIND_DEFAULT_STATUSES;
	const char *p = list;

	memset(o, 0, sizeof(*o));
	o->now = store_now();
	o->after = cfg->remind.after;
	o->min_interval = cfg->remind.min_interval;
	o->assignee_domain = cfg->remind.assignee_domain;
	o->desk_address = cfg->desk.address;
	o->desk_aliases = &cfg->desk.aliases;
	while (*p) {
		size_t l;
		char *word;

		p += strspn(p, ", \t");
		l = strcspn(p, ", \t");
		if (!l)
			break;
		word = xstrndup(p, l);
		p += l;
		if (!ticket_status_valid(word)) {
			err_set(e, EXIT_CONFIG, "%s: [remind] statuses: '%s' is not a status (new, "
				"open, pending, resolved or closed)", cfg->path ? cfg->path : "config",
				word);
			free(word);
			remind_opts_release(o);
			return -1;
		}
		if (strlist_contains(&o->statuses, word))
			free(word);
		else
			strlist_add_owned(&o->statuses, word);
	}
	if (o->statuses.n == 0) {
		err_set(e, EXIT_CONFIG, "%s: [remind] statuses: no status given",
			cfg->path ? cfg->path : "config");
		remind_opts_release(o);
		return -1;
	}
	return 0;
}

void
remind_opts_release(struct remind_opts *o)
{
	strlist_release(&o->statuses);
}

void
remind_age(int64_t secs, char *out, size_t n)
{
	long long v;
	const char *unit;

	if (secs < 0)
		secs = 0;
	if (secs >= 86400) {
		v = secs / 86400;
		unit = "day";
	} else if (secs >= 3600) {
		v = secs / 3600;
		unit = "hour";
	} else {
		v = secs / 60;
		unit = "minute";
	}
	snprintf(out, n, "%lld %s%s", v, unit, v == 1 ? "" : "s");
}

/* ---- the plan ---- */

static void
ticket_free_fields(struct remind_ticket *t)
{
	free(t->subject);
	free(t->queue);
	free(t->status);
	free(t->priority);
	free(t->assignee);
	free(t->requester);
	free(t->tags);
}

void
remind_plan_release(struct remind_plan *p)
{
	for (size_t i = 0; i < p->ntickets; i++)
		ticket_free_fields(&p->tickets[i]);
	free(p->tickets);
	for (size_t i = 0; i < p->ndigests; i++) {
		free(p->digests[i].to);
		free(p->digests[i].queue);
		free(p->digests[i].lang);
		free(p->digests[i].tix);
	}
	free(p->digests);
	strlist_release(&p->no_address);
	strlist_release(&p->unmailed);
	memset(p, 0, sizeof(*p));
}

/* A copy of text from the store that is valid UTF-8 without controls, so
 * that one odd subject can never keep a whole digest from being built. */
static char *
clean_text(const unsigned char *s)
{
	struct buf b = BUF_INIT;
	const unsigned char *end;

	if (!s)
		return xstrdup("");
	end = s + strlen((const char *)s);
	while (*s) {
		size_t n = utf8_decode(s, (size_t)(end - s), NULL);

		if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f))) {
			buf_addch(&b, n == 0 ? '?' : ' ');
			s++;
			continue;
		}
		buf_add(&b, s, n);
		s += n;
	}
	return buf_detach(&b, NULL);
}

/* The tags of ticket id, cleaned, as "a, b". */
static int
ticket_tags(struct store *s, int64_t id, char **out, struct err *e)
{
	struct strlist tags = STRLIST_INIT;
	struct buf b = BUF_INIT;

	*out = NULL;
	if (outbox_ticket_tags(s, id, &tags, e) < 0) {
		strlist_release(&tags);
		return -1;
	}
	for (size_t i = 0; i < tags.n; i++) {
		char *t = clean_text((const unsigned char *)tags.items[i]);

		buf_addf(&b, "%s%s", b.len ? ", " : "", t);
		free(t);
	}
	strlist_release(&tags);
	*out = buf_detach(&b, NULL);
	return 0;
}

static int
cmp_ticket(const void *a, const void *b)
{
	const struct remind_ticket *x = a, *y = b;

	if (x->since != y->since)
		return x->since < y->since ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

struct collecting {
	struct store *s;
	const struct remind_opts *o;
	struct remind_plan *p;
	size_t cap;
	struct err *e;
};

/* Adds ticket w to the plan when it has waited long enough. */
static int
collect_ticket(void *arg, const struct waiting_ticket *w)
{
	struct collecting *c = arg;
	struct remind_plan *p = c->p;
	struct remind_ticket t;

	memset(&t, 0, sizeof(t));
	t.id = w->id;
	t.since = w->created;
	/* The requester's first word after the last staff reply starts the
	 * wait again; without one, the wait runs from the reply itself. */
	if (w->last_reply && outbox_first_word_after(c->s, t.id, w->last_reply, &t.since, c->e) < 0)
		return -1;
	if (c->o->now - t.since < c->o->after)
		return 0;
	t.subject = clean_text((const unsigned char *)w->subject);
	t.queue = clean_text((const unsigned char *)w->queue);
	t.status = clean_text((const unsigned char *)w->status);
	t.priority = clean_text((const unsigned char *)w->priority);
	t.assignee = clean_text((const unsigned char *)w->assignee);
	t.requester = clean_text((const unsigned char *)w->requester);
	if (p->ntickets == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		p->tickets = xreallocarray(p->tickets, c->cap, sizeof(*p->tickets));
	}
	p->tickets[p->ntickets++] = t;
	return ticket_tags(c->s, t.id, &p->tickets[p->ntickets - 1].tags, c->e) < 0 ? -1 : 0;
}

static int
load_tickets(struct store *s, const struct remind_opts *o, struct remind_plan *p, struct err *e)
{
	struct collecting c = { .s = s, .o = o, .p = p, .e = e };

	if (outbox_waiting_tickets(s, &o->statuses, TICKET_FLAG_SPAM, collect_ticket, &c, e) < 0)
		return -1;
	if (p->ntickets > 1)
		qsort(p->tickets, p->ntickets, sizeof(*p->tickets), cmp_ticket);
	return 0;
}

/* The mail address of an assignee: the name itself when it is one, else
 * NAME@assignee_domain when that is set; NULL when there is none. */
static char *
assignee_addr(const struct remind_opts *o, const char *assignee)
{
	char *addr = NULL;

	if (!*assignee)
		return NULL;
	if (strchr(assignee, '@'))
		addr = xstrdup(assignee);
	else if (o->assignee_domain && *o->assignee_domain)
		addr = xasprintf("%s@%s", assignee, o->assignee_domain);
	if (addr && !mime_addr_ok(addr)) {
		free(addr);
		addr = NULL;
	}
	return addr;
}

/* Adds ticket i to addr's digest. queue is the queue whose contact addr
 * is (NULL for an assignee). Returns whether the ticket was added. */
static bool
add_recipient(struct remind_plan *p, const struct remind_opts *o, const char *addr, size_t i,
	      const struct queue *q)
{
	const struct remind_ticket *t = &p->tickets[i];
	struct remind_digest *d = NULL;

	if (!mime_addr_ok(addr))
		return false;
	if (deskaddr_is_desk(addr, o->desk_address, o->desk_aliases)) {
		p->desk_skipped = true;
		return false;
	}
	if (strcasecmp(addr, t->requester) == 0) {
		p->requester_skips++;
		return false;
	}
	for (size_t k = 0; k < p->ndigests && !d; k++)
		if (strcasecmp(p->digests[k].to, addr) == 0)
			d = &p->digests[k];
	if (!d) {
		p->digests = xreallocarray(p->digests, p->ndigests + 1, sizeof(*p->digests));
		d = &p->digests[p->ndigests++];
		memset(d, 0, sizeof(*d));
		d->to = xstrdup(addr);
		d->queue = q ? xstrdup(q->id) : NULL;
		d->lang = xstrdup(q && q->language ? q->language : "");
	} else if (d->n && d->tix[d->n - 1] == i) {
		/* Tickets come in order: a repeat (a contact who is also the
		 * assignee) is the last one added, and changes nothing. */
		return true;
	} else if (!q || !d->queue || strcmp(d->queue, q->id) != 0) {
		/* Tickets of several queues (or assigned ones): the top folder's
		 * template, in English. */
		free(d->queue);
		d->queue = NULL;
		free(d->lang);
		d->lang = xstrdup("");
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->tix = xreallocarray(d->tix, d->cap, sizeof(*d->tix));
	}
	d->tix[d->n++] = i;
	return true;
}

static int
cmp_digest(const void *a, const void *b)
{
	return strcasecmp(((const struct remind_digest *)a)->to,
			  ((const struct remind_digest *)b)->to);
}

static char *
state_key(const char *addr)
{
	char *k = xasprintf("remind:%s", addr);

	for (char *c = k; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	return k;
}

static int
last_sent(struct store *s, const char *addr, int64_t *when, struct err *e)
{
	char *key = state_key(addr);
	int rc = outbox_state_get(s, key, when, e);

	free(key);
	return rc < 0 ? -1 : 0;
}

int
remind_collect(struct store *s, const struct ruleset *rules, const struct remind_opts *o,
	       struct remind_plan *p, struct err *e)
{
	memset(p, 0, sizeof(*p));
	if (load_tickets(s, o, p, e) < 0)
		return -1;
	for (size_t i = 0; i < p->ntickets; i++) {
		const struct remind_ticket *t = &p->tickets[i];
		const struct queue *q = rules ? rules_queue(rules, t->queue) : NULL;
		bool reached = false;

		for (size_t k = 0; q && k < q->contacts.n; k++)
			reached |= add_recipient(p, o, q->contacts.items[k], i, q);
		if (*t->assignee) {
			char *addr = assignee_addr(o, t->assignee);

			if (addr)
				reached |= add_recipient(p, o, addr, i, NULL);
			else if (!strlist_contains(&p->no_address, t->assignee))
				strlist_add(&p->no_address, t->assignee);
			free(addr);
		}
		if (!reached)
			strlist_add_owned(&p->unmailed, xasprintf("#%lld", (long long)t->id));
	}
	if (p->ndigests > 1)
		qsort(p->digests, p->ndigests, sizeof(*p->digests), cmp_digest);
	for (size_t k = 0; k < p->ndigests; k++) {
		struct remind_digest *d = &p->digests[k];

		if (last_sent(s, d->to, &d->last_sent, e) < 0)
			return -1;
		d->state = d->last_sent && o->now - d->last_sent < o->min_interval
				   ? REMIND_RATE_LIMITED : REMIND_DUE;
	}
	return 0;
}

/* ---- rendering ---- */

/* The digest's template: the queue's folder first, then the top one; the
 * digest's language, then English. Parsed fresh: there are few digests. */
static int
find_template(const char *dir, const struct remind_digest *d, struct tmpl **out, struct err *e)
{
	const char *langs[2] = { d->lang && *d->lang ? d->lang : "en", "en" };
	const char *queues[2] = { d->queue, NULL };

	*out = NULL;
	for (int li = 0; li < 2; li++) {
		for (int qi = 0; qi < 2; qi++) {
			char *path, *text;
			struct buf b = BUF_INIT;
			FILE *f;
			char chunk[8192];
			size_t n;
			int rc;

			if (qi == 0 && !queues[0])
				continue;
			path = qi == 0 ? xasprintf("%s/%s/remind.%s.tmpl", dir, queues[0], langs[li])
				       : xasprintf("%s/remind.%s.tmpl", dir, langs[li]);
			f = fopen(path, "rb");
			if (!f) {
				free(path);
				continue;
			}
			buf_init(&b, TMPL_MAX_SIZE);
			rc = 0;
			while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && rc == 0)
				rc = buf_add(&b, chunk, n);
			if (rc < 0 || ferror(f)) {
				fclose(f);
				buf_release(&b);
				err_set(e, EXIT_CONFIG, "%s: %s", path,
					rc < 0 ? "too large" : strerror(errno));
				free(path);
				return -1;
			}
			fclose(f);
			text = buf_detach(&b, &n);
			rc = tmpl_parse(path, text, n, out, e);
			free(text);
			free(path);
			return rc;
		}
		if (strcmp(langs[0], "en") == 0)
			break;
	}
	return err_set(e, EXIT_CONFIG, "no reminder template: expected %s/remind.en.tmpl", dir);
}

static void
ctx_int(struct tmpl_ctx *c, const char *name, int64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	tmpl_ctx_set(c, name, b);
}

static const char *
queue_name(const struct ruleset *rules, const char *id)
{
	const struct queue *q = rules ? rules_queue(rules, id) : NULL;

	return q && q->name && *q->name ? q->name : id;
}

static struct tmpl_ctx *
digest_ctx(const struct config *cfg, const struct ruleset *rules, const struct remind_opts *o,
	   const struct remind_plan *p, const struct remind_digest *d)
{
	struct tmpl_ctx *c = tmpl_ctx_new();
	char b[64];
	time_t tt = (time_t)o->now;
	struct tm tm;

	tmpl_ctx_set(c, "desk_name", cfg->desk.name);
	tmpl_ctx_set(c, "desk_address", cfg->desk.address);
	tmpl_ctx_set(c, "tag", cfg->desk.tag);
	tmpl_ctx_set(c, "recipient", d->to);
	ctx_int(c, "count", (int64_t)d->n);
	snprintf(b, sizeof(b), "%zu %s", d->n, d->n == 1 ? "inquiry" : "inquiries");
	tmpl_ctx_set(c, "inquiries", b);
	remind_age(o->after, b, sizeof(b));
	tmpl_ctx_set(c, "after", b);
	gmtime_r(&tt, &tm);
	strftime(b, sizeof(b), "%Y-%m-%d", &tm);
	tmpl_ctx_set(c, "date", b);
	if (d->queue) {
		tmpl_ctx_set(c, "queue", d->queue);
		tmpl_ctx_set(c, "queue_name", queue_name(rules, d->queue));
	}
	if (d->n > REMIND_MAX_LISTED) {
		snprintf(b, sizeof(b), "%zu", d->n - REMIND_MAX_LISTED);
		tmpl_ctx_set(c, "more", b);
	}
	for (size_t k = 0; k < d->n && k < REMIND_MAX_LISTED; k++) {
		const struct remind_ticket *t = &p->tickets[d->tix[k]];
		struct tmpl_ctx *it = tmpl_ctx_add(c, "tickets");
		time_t st = (time_t)t->since;

		ctx_int(it, "id", t->id);
		snprintf(b, sizeof(b), "[%s #%lld]", cfg->desk.tag, (long long)t->id);
		tmpl_ctx_set(it, "ref", b);
		tmpl_ctx_set(it, "subject", *t->subject ? t->subject : "(no subject)");
		tmpl_ctx_set(it, "queue", t->queue);
		tmpl_ctx_set(it, "queue_name", queue_name(rules, t->queue));
		tmpl_ctx_set(it, "status", t->status);
		tmpl_ctx_set(it, "priority", t->priority);
		tmpl_ctx_set(it, "assignee", t->assignee);
		tmpl_ctx_set(it, "tags", t->tags);
		remind_age(o->now - t->since, b, sizeof(b));
		tmpl_ctx_set(it, "age", b);
		gmtime_r(&st, &tm);
		strftime(b, sizeof(b), "%Y-%m-%d", &tm);
		tmpl_ctx_set(it, "since", b);
		{
			char *mine = assignee_addr(o, t->assignee);

			tmpl_ctx_set(it, "mine", mine && strcasecmp(mine, d->to) == 0 ? "yes" : "");
			free(mine);
		}
	}
	return c;
}

static int
render(const struct config *cfg, const struct tmpl_set *set, const struct ruleset *rules,
       const struct remind_opts *o, const struct remind_plan *p, const struct remind_digest *d,
       struct buf *out, struct err *e)
{
	struct tmpl *t = NULL;
	struct tmpl_ctx *c;
	int rc;

	if (find_template(cfg->templates.dir, d, &t, e) < 0)
		return -1;
	c = digest_ctx(cfg, rules, o, p, d);
	rc = tmpl_set_render(set, t, c, out, e);
	tmpl_ctx_free(&c);
	tmpl_free(&t);
	return rc;
}

int
remind_render(const struct config *cfg, const struct ruleset *rules,
	      const struct remind_opts *o, const struct remind_plan *p,
	      const struct remind_digest *d, struct buf *out, struct err *e)
{
	struct tmpl_set *set = NULL;
	int rc;

	/* The folder's own templates give the partials ({{> signature}}). */
	if (tmpl_set_load(cfg->templates.dir, NULL, &set, e) < 0)
		return -1;
	rc = render(cfg, set, rules, o, p, d, out, e);
	tmpl_set_free(&set);
	return rc;
}

/* ---- the mail ---- */

static const char *const own_headers[] = {
	"From", "To", "Cc", "Bcc", "Date", "Message-ID", "In-Reply-To", "References",
	"Auto-Submitted", "X-Auto-Response-Suppress", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Return-Path", "Sender", NULL,
};

/* The header lines of the rendered template (unfolded) into names and
 * values, and where its body begins (*body NULL when no empty line ends
 * the header lines). */
static int
read_template_headers(const char *rendered, struct strlist *names, struct strlist *values,
		      const char **body, struct err *e)
{
	const char *p = rendered;

	*body = NULL;
	while (*p) {
		const char *eol = strchr(p, '\n'), *colon;
		size_t l = eol ? (size_t)(eol - p) : strlen(p);

		if (l && p[l - 1] == '\r')
			l--;
		if (l == 0) {
			*body = eol ? eol + 1 : p;
			break;
		}
		if ((*p == ' ' || *p == '\t') && values->n) {
			char *joined = xasprintf("%s %.*s", values->items[values->n - 1], (int)l,
						 p + strspn(p, " \t"));

			free(values->items[values->n - 1]);
			values->items[values->n - 1] = joined;
		} else if ((colon = memchr(p, ':', l))) {
			const char *v = colon + 1;

			v += strspn(v, " \t");
			strlist_add_owned(names, xstrndup(p, (size_t)(colon - p)));
			strlist_add_owned(values, xstrndup(v, l - (size_t)(v - p)));
		} else {
			return err_set(e, EXIT_CONFIG, "reminder template: '%.*s' is not a header line",
				       (int)(l > 60 ? 60 : l), p);
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return 0;
}

/* The template's Subject into *subject; a header secdesk sets itself is
 * refused. */
static int
check_template_headers(const struct strlist *names, const struct strlist *values,
		       const char **subject, struct err *e)
{
	*subject = NULL;
	for (size_t i = 0; i < names->n; i++) {
		if (strcasecmp(names->items[i], "Subject") == 0 && !*subject)
			*subject = values->items[i];
		for (int k = 0; own_headers[k]; k++)
			if (strcasecmp(names->items[i], own_headers[k]) == 0)
				return err_set(e, EXIT_CONFIG, "reminder template: header '%s' is "
					       "set by secdesk, not by templates", own_headers[k]);
	}
	return 0;
}

/* Builds the RFC 5322 message from the rendered template text. */
static int
build_mail(const struct config *cfg, const char *rendered, const char *to, struct buf *msg,
	   struct err *e)
{
	struct mime_addr from = { cfg->desk.name, cfg->desk.address }, rcpt = { NULL, to };
	const char *at = strrchr(cfg->desk.address, '@'), *body = NULL;
	struct strlist names = STRLIST_INIT, values = STRLIST_INIT;
	char msgid[256], date[64];
	const char *subject = NULL;
	int rc = -1;

	if (read_template_headers(rendered, &names, &values, &body, e) < 0 ||
	    check_template_headers(&names, &values, &subject, e) < 0)
		goto out;
	if (!subject || !body) {
		err_set(e, EXIT_CONFIG, "reminder template: %s", !subject ? "no Subject header"
			: "no empty line between the header lines and the body");
		goto out;
	}
	mime_message_id(at ? at + 1 : "localhost", msgid, sizeof(msgid));
	mime_date(store_now(), date, sizeof(date));
	if (mime_header_addrs(msg, "From", &from, 1, e) < 0 ||
	    mime_header_addrs(msg, "To", &rcpt, 1, e) < 0 ||
	    mime_header(msg, "Subject", subject, e) < 0 ||
	    mime_header_raw(msg, "Date", date, e) < 0)
		goto out;
	buf_addf(msg, "Message-ID: <%s>\r\n", msgid);
	/* RFC 3834: made by a program, not in answer to anything; no
	 * out-of-office replies to it either. */
	buf_addstr(msg, "Auto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\n");
	for (size_t i = 0; i < names.n; i++)
		if (strcasecmp(names.items[i], "Subject") != 0 &&
		    mime_header(msg, names.items[i], values.items[i], e) < 0)
			goto out;
	if (mime_text_body(msg, body, e) < 0)
		goto out;
	rc = 0;
out:
	strlist_release(&names);
	strlist_release(&values);
	return rc;
}

static int
save_last_sent(struct store *s, const char *addr, int64_t when, struct err *e)
{
	char *key = state_key(addr);
	int rc = outbox_state_set(s, key, when, e);

	free(key);
	return rc;
}

int
remind_queue(struct store *s, const struct config *cfg, const struct ruleset *rules,
	     const struct remind_opts *o, struct remind_plan *p, int *skipped, struct err *e)
{
	struct tmpl_set *set = NULL;
	struct buf *who = NULL;
	int rc = -1;

	*skipped = 0;
	if (tmpl_set_load(cfg->templates.dir, NULL, &set, e) < 0)
		return -1;
	/* Who got each ticket, for its history. */
	who = xcalloc(p->ntickets ? p->ntickets : 1, sizeof(*who));
	for (size_t k = 0; k < p->ndigests; k++) {
		struct remind_digest *d = &p->digests[k];
		struct buf text = BUF_INIT, msg = BUF_INIT;
		struct err me = ERR_INIT;
		int r;

		if (d->state != REMIND_DUE)
			continue;
		buf_init(&msg, 8 * 1024 * 1024);
		r = render(cfg, set, rules, o, p, d, &text, e);
		if (r == 0) {
			r = build_mail(cfg, text.data ? text.data : "", d->to, &msg, &me);
			if (r < 0 && me.code != EXIT_DATAERR)
				*e = me;
		}
		if (r == 0) {
			/* Reminders count as automatic mail: past the hourly
			 * limit they wait for a later run. */
			int take = outbound_auto_take(cfg, s, d->to, e);

			if (take == 0) {
				buf_release(&text);
				buf_release(&msg);
				d->state = REMIND_RATE_LIMITED;
				continue;
			}
			if (take < 0)
				r = -1;
		}
		if (r == 0)
			r = outbox_queue(s, 0, 0, "remind", cfg->desk.address, d->to, msg.data,
					 msg.len, &d->outbox_id, e);
		if (r == 0)
			r = save_last_sent(s, d->to, o->now, e);
		buf_release(&text);
		buf_release(&msg);
		if (r < 0 && me.code == EXIT_DATAERR) {
			/* This address or its text cannot make a mail: the others
			 * still go. */
			(*skipped)++;
			continue;
		}
		if (r < 0)
			goto out;
		d->state = REMIND_QUEUED;
		for (size_t j = 0; j < d->n && j < REMIND_MAX_LISTED; j++)
			buf_addf(&who[d->tix[j]], "%s%s", who[d->tix[j]].len ? ", " : "", d->to);
	}
	for (size_t i = 0; i < p->ntickets; i++)
		if (who[i].len && store_event(s, p->tickets[i].id, "secdesk", "reminded", NULL,
					      who[i].data, e) < 0)
			goto out;
	rc = 0;
out:
	for (size_t i = 0; i < p->ntickets; i++)
		buf_release(&who[i]);
	free(who);
	tmpl_set_free(&set);
	return rc;
}
