/* One raw message into the store: dedupe, parse, thread, rules, ticket,
 * outbound mail. Runs inside the caller's transaction. */
#include "compat.h"

#include <strings.h>

#include "attach.h"
#include "authres.h"
#include "dates.h"
#include "ingest.h"
#include "log.h"
#include "outbound.h"
#include "parse.h"
#include "rules.h"
#include "store_message.h"
#include "testhook.h"
#include "ticket.h"
#include "verp.h"
#include "sha256.h"
#include "xalloc.h"

struct ingest {
	const struct config *cfg;
	struct ruleset *rules;
	struct outbound *ob;
	struct parse_limits limits;
	char *tag_open; /* "[TAG #" */
	bool replay;    /* ingest_set_replay() */
};

/* Broken templates stop no run: said once, with the first problem. */
static void
warn_templates(const struct outbound *ob)
{
	int n;
	const char *p = outbound_template_problems(ob, &n);

	if (n > 0)
		log_warn("%.*s%s: the mail that uses a broken template is sent with the English "
			 "one, or held in the outbox; see 'secdesk templates check'",
			 (int)strcspn(p, "\n"), p, n > 1 ? " (and more)" : "");
}

void
ingest_set_replay(struct ingest *ing, bool replay)
{
	ing->replay = replay;
}

int
ingest_open(const struct config *cfg, struct ingest **out, struct err *e)
{
	struct ingest *ing = xcalloc(1, sizeof(*ing));

	ing->cfg = cfg;
	ing->limits = parse_limits_default;
	if (cfg->limits.max_message_size)
		ing->limits.max_message_size = cfg->limits.max_message_size;
	ing->tag_open = xasprintf("[%s #", cfg->desk.tag);
	if (rules_load(cfg->rules.dir, &ing->rules, e) < 0)
		goto fail;
	if (outbound_open(cfg, ing->rules, &ing->ob, e) < 0)
		goto fail;
	warn_templates(ing->ob);
	*out = ing;
	return 0;
fail:
	ingest_free(&ing);
	return -1;
}

int
ingest_release_held(struct ingest *ing, struct store *s, int *released, int *held,
		    struct err *e)
{
	*released = *held = 0;
	if (!ing->ob)
		return 0;
	if (store_begin(s, e) < 0 || outbound_release_held(ing->ob, s, released, held, e) < 0 ||
	    store_commit(s, e) < 0) {
		store_rollback(s);
		*released = *held = 0;
		return -1;
	}
	return 0;
}

void
ingest_free(struct ingest **ingp)
{
	struct ingest *ing = *ingp;

	if (!ing)
		return;
	outbound_free(&ing->ob);
	rules_free(&ing->rules);
	free(ing->tag_open);
	free(ing);
	*ingp = NULL;
}

int
ingest_store_raw(struct store *s, const char *raw, size_t len, int64_t *raw_id,
		 struct err *e)
{
	char hex[65];

	sha256_hex(raw, len, hex);
	return ingest_store_raw_hashed(s, raw, len, hex, raw_id, e);
}

int
ingest_store_raw_hashed(struct store *s, const char *raw, size_t len, const char *sha256,
			int64_t *raw_id, struct err *e)
{
	return store_message_put_raw(s, raw, len, sha256, raw_id, e);
}

/* A bounce or an auto-reply: no person wrote it, and whoever sends one
 * can make it look like one. */
static bool
is_automatic(const struct message *m)
{
	return (m->flags & (MSG_BOUNCE | MSG_AUTOREPLY)) != 0;
}

/* Mail that moves no ticket along its lifecycle: automatic mail, list or
 * bulk mail, spam. It joins the ticket it threads into, closed or not,
 * and reopens nothing. */
static bool
is_impersonal(const struct message *m)
{
	return (m->flags & (TICKET_IMPERSONAL_FLAGS | MSG_LIST)) != 0;
}

/* "[TAG #123]" anywhere in the subject: the ticket number, or 0. */
static int64_t
subject_tag(const struct ingest *ing, const char *subject)
{
	size_t tl = strlen(ing->tag_open);

	for (const char *p = subject; (p = strcasestr(p, ing->tag_open)); p += tl) {
		char *end;
		long long n = strtoll(p + tl, &end, 10);

		if (end != p + tl && *end == ']' && n > 0)
			return n;
	}
	return 0;
}

static bool
addr_eq(const char *a, const char *b)
{
	return a && b && *a && strcasecmp(a, b) == 0;
}

/* Does addr belong to ticket id: its requester, a watcher or a contact of
 * its queue? Only such a sender's tag threads into the ticket (a
 * stranger's would hijack it), and only such a sender's Cc become its
 * watchers. */
static int
sender_belongs(struct ingest *ing, struct store *s, int64_t id, const char *addr,
	       struct err *e)
{
	struct ticket t;
	const struct queue *q;
	int ok;

	if (ticket_load(s, id, &t, e) < 0)
		return e->code == EXIT_DATAERR ? 0 : -1;
	ok = addr_eq(t.requester, addr);
	if (!ok && ing->rules) {
		q = rules_contact_queue(ing->rules, addr);
		ok = q && strcmp(q->id, t.queue) == 0;
	}
	ticket_release(&t);
	if (!ok)
		ok = store_message_is_watcher(s, id, addr, e);
	return ok;
}

struct thread_result {
	int64_t ticket_id;  /* 0: new ticket */
	int64_t related_to; /* a ticket this one may follow up, not joined */
	int64_t continues;  /* the closed ticket the new one follows up */
	struct verp_hit verp; /* sent to the bounce address of this mail */
};

/* Mail to the desk's bounce address (verp.h) returns a notice or reply the
 * desk sent: it belongs to that mail's ticket, whatever its headers say.
 * Gives the ticket id, 0 when the mail is not such, -1 on error. */
static int64_t
verp_thread(struct ingest *ing, struct store *s, const struct message *m,
	    struct thread_result *tr, struct err *e)
{
	int r = verp_match(s, ing->cfg->desk.address, m, &tr->verp, e);

	if (r <= 0)
		return r;
	return tr->verp.ticket_id;
}

/* A bounced notice or reply: the ticket says which mail to whom, and is
 * flagged, so that staff learn that a partner was not told. */
static int
note_verp_bounce(struct store *s, int64_t ticket_id, const struct verp_hit *hit,
		 struct err *e)
{
	char what[48];

	snprintf(what, sizeof(what), "%s-bounced", hit->kind);
	if (store_event(s, ticket_id, "secdesk", what, NULL, hit->rcpts, e) < 0)
		return -1;
	return ticket_add_flags(s, ticket_id, TICKET_FLAG_SEND_FAILED, e);
}


/* A Message-ID the store knows: In-Reply-To, then References newest first;
 * for automatic mail only the desk's own, the returned message's too. */
static int64_t
thread_by_msgid(struct store *s, const struct message *m, struct err *e)
{
	bool automatic = is_automatic(m);
	int64_t id = store_message_ticket_by_msgid(s, m->in_reply_to, automatic, e);

	for (size_t i = m->references.n; id == 0 && i > 0; i--)
		id = store_message_ticket_by_msgid(s, m->references.items[i - 1], automatic, e);
	if (id == 0 && automatic)
		id = store_message_ticket_by_msgid(s, m->returned_message_id, true, e);
	return id;
}

/* By the subject tag: joined (*id) when a person who belongs to the
 * ticket wrote, else a possible follow-up (tr->related_to). A tag in the
 * headers a bounce returns is never more than that. */
static int
thread_by_tag(struct ingest *ing, struct store *s, const struct message *m, bool dmarc_fail,
	      int64_t *id, struct thread_result *tr, struct err *e)
{
	int64_t tagged = subject_tag(ing, m->subject);
	int ok = 0;

	if (tagged == 0 && is_automatic(m) && m->returned_subject)
		tagged = subject_tag(ing, m->returned_subject);
	else if (tagged > 0 && !is_automatic(m) && !dmarc_fail)
		ok = sender_belongs(ing, s, tagged, m->from.addr, e);
	if (tagged == 0 || ok < 0)
		return ok;
	if (ok) {
		*id = tagged;
		return 0;
	}
	tr->related_to = store_message_ticket_exists(s, tagged, e);
	return tr->related_to < 0 ? -1 : 0;
}

/* How many closed tickets, each continued in the next, are followed. */
#define CONTINUE_HOPS_MAX 32

struct continuation {
	int64_t newest; /* the ticket of the newest "continued-in" event, 0: none */
};

static int
continuation_event(void *arg, const struct ticket_event *ev, struct err *e)
{
	struct continuation *c = arg;
	long long n;

	(void)e;
	if (strcmp(ev->what, "continued-in") == 0 && ev->new_value &&
	    sscanf(ev->new_value, "#%lld", &n) == 1 && n > 0)
		c->newest = n;
	return 0;
}

/* The ticket closed ticket id was last continued in (merges followed), 0
 * when none. */
static int64_t
continued_in(struct store *s, int64_t id, struct err *e)
{
	struct continuation c = { 0 };

	if (ticket_events(s, id, continuation_event, &c, e) < 0)
		return -1;
	return c.newest ? store_message_live_ticket(s, c.newest, e) : 0;
}

static int
ticket_is_closed(struct store *s, int64_t id, struct err *e)
{
	struct ticket t;
	int closed;

	if (ticket_load(s, id, &t, e) < 0)
		return -1;
	closed = strcmp(t.status, "closed") == 0;
	ticket_release(&t);
	return closed;
}

/* A person's mail to a closed ticket opens a new one that continues it;
 * more such mail joins that one while it is not closed, so that the
 * replies-all to one closing answer make one new ticket, not one each.
 * *id becomes the ticket to join, or 0 with *continues the closed ticket
 * a new one follows up. */
static int
follow_closed(struct store *s, int64_t *id, int64_t *continues, struct err *e)
{
	for (int hops = 0; hops < CONTINUE_HOPS_MAX; hops++) {
		int closed = ticket_is_closed(s, *id, e);
		int64_t next;

		if (closed <= 0)
			return closed;
		next = continued_in(s, *id, e);
		if (next < 0)
			return -1;
		if (next == 0 || next == *id)
			break;
		*id = next;
	}
	*continues = *id;
	*id = 0;
	return 0;
}

/* Which ticket m joins. Mail whose From failed DMARC at the trusted MX
 * joins none: it may be anybody's, so it opens a ticket of its own, a
 * possible follow-up of the one it names. */
static int
find_thread(struct ingest *ing, struct store *s, const struct message *m, bool dmarc_fail,
	    struct thread_result *tr, struct err *e)
{
	int64_t id;

	memset(tr, 0, sizeof(*tr));
	id = verp_thread(ing, s, m, tr, e);
	if (id == 0)
		id = thread_by_msgid(s, m, e);
	if (id == 0 && thread_by_tag(ing, s, m, dmarc_fail, &id, tr, e) < 0)
		return -1;
	if (id > 0)
		id = store_message_live_ticket(s, id, e);
	if (id < 0)
		return -1;
	if (id > 0 && dmarc_fail) {
		tr->related_to = id;
		id = 0;
	}
	if (id > 0 && !is_impersonal(m) && follow_closed(s, &id, &tr->continues, e) < 0)
		return -1;
	tr->ticket_id = id;
	return 0;
}

static unsigned
ticket_flags_for(unsigned msg_flags)
{
	unsigned f = 0;

	if (msg_flags & (MSG_PARSE_ERROR | MSG_TRUNCATED))
		f |= TICKET_FLAG_PARSE_ERROR;
	if (msg_flags & MSG_BOUNCE)
		f |= TICKET_FLAG_BOUNCE;
	if (msg_flags & MSG_AUTOREPLY)
		f |= TICKET_FLAG_AUTOREPLY;
	if (msg_flags & MSG_SPAM)
		f |= TICKET_FLAG_SPAM;
	if (msg_flags & MSG_POISON)
		f |= TICKET_FLAG_POISON | TICKET_FLAG_PARSE_ERROR;
	if (msg_flags & MSG_OVERSIZE)
		f |= TICKET_FLAG_OVERSIZE;
	return f;
}

static const char *
or_default(const char *v, const char *dflt)
{
	return v && *v ? v : dflt;
}

/* subject without the desk's tag it carries: a new ticket that continues
 * a closed one must not carry the old thread's tag into its own mail. */
static char *
subject_without_tag(const struct ingest *ing, const char *subject)
{
	int64_t id = subject_tag(ing, subject);
	char *ref = xasprintf("%s%lld]", ing->tag_open, (long long)id);
	const char *hit = id ? strcasestr(subject, ref) : NULL;
	char *out;

	if (hit)
		out = xasprintf("%.*s%s", (int)(hit - subject), subject,
				hit + strlen(ref) + (hit[strlen(ref)] == ' ' ? 1 : 0));
	else
		out = xstrdup(subject);
	free(ref);
	return out;
}

/* The ticket m opens, as the rules say; *t becomes it as inserted, without
 * reading it back. It follows up tr->continues (closed) or possibly
 * tr->related_to (named by a stranger or a doubtful sender). */
static int64_t
insert_ticket(struct ingest *ing, struct store *s, const struct message *m,
	      const struct rule_outcome *ro, const struct thread_result *tr, struct ticket *t,
	      struct err *e)
{
	struct ticket nt;

	ticket_init(&nt);
	nt.status = xstrdup("new");
	nt.queue = xstrdup(or_default(ro->queue, TICKET_DEFAULT_QUEUE));
	nt.category = xstrdup(or_default(ro->category, "general"));
	nt.priority = xstrdup(or_default(ro->priority, "normal"));
	nt.language = xstrdup(or_default(ro->language, ""));
	nt.subject = tr->continues ? subject_without_tag(ing, m->subject)
				   : xstrdup(m->subject);
	nt.requester = xstrdup(m->from.addr);
	nt.requester_name = xstrdup(m->from.name);
	nt.assignee = xstrdup(or_default(ro->assignee, ""));
	nt.flags = ticket_flags_for(m->flags);
	if (tr->related_to)
		nt.flags |= TICKET_FLAG_FOLLOWUP;
	nt.related_to = tr->continues ? tr->continues : tr->related_to;
	/* A backlog's ages count from when each mail was written. */
	nt.created = nt.updated = dates_written(m->has_date, m->date, store_now());
	if (store_message_create_ticket(s, &nt, e) < 0)
		goto fail;
	for (size_t i = 0; i < ro->tags.n; i++)
		if (ticket_add_tag(s, nt.id, ro->tags.items[i], "secdesk", e) < 0)
			goto fail;
	for (size_t i = 0; i < ro->tags.n; i++)
		strlist_add(&nt.tags, ro->tags.items[i]);
	ticket_release(t);
	*t = nt;
	return t->id;
fail:
	ticket_release(&nt);
	return -1;
}

/* The Cc of a person's mail become watchers, who get the staff replies:
 * of the ticket it opens, or of the one it joins when its sender belongs
 * there. Never those of automatic mail, of mail whose From failed DMARC,
 * or of a stranger writing into somebody else's ticket. */
static int
add_watchers(struct ingest *ing, struct store *s, int64_t id, bool new_ticket,
	     const struct message *m, bool dmarc_fail, struct err *e)
{
	if (m->ncc == 0 || is_automatic(m) || dmarc_fail)
		return 0;
	if (!new_ticket) {
		int ok = sender_belongs(ing, s, id, m->from.addr, e);

		if (ok <= 0)
			return ok;
	}
	for (size_t i = 0; i < m->ncc; i++) {
		const char *a = m->cc[i].addr;

		if (!*a || config_is_desk(ing->cfg, a) || addr_eq(a, m->from.addr))
			continue;
		if (store_message_add_watcher(s, id, a, e) < 0)
			return -1;
	}
	return 0;
}

static const char *
message_kind(const struct message *m, bool new_ticket, bool partner)
{
	if (m->flags & MSG_BOUNCE)
		return "bounce";
	if (m->flags & MSG_AUTOREPLY)
		return "autoreply";
	if (partner)
		return "partner";
	return new_ticket ? "inquiry" : "followup";
}

/* The requester or another participant writing again wants an answer:
 * resolved or pending tickets go back to open. Whoever threads in here
 * belongs to the ticket (find_thread() checked that, or they answered a
 * mail of its thread); automatic, list and spam mail reopen nothing. */
static int
maybe_reopen(struct store *s, const struct ticket *t, const struct message *m,
	     struct ingest_result *res, struct err *e)
{
	if (is_impersonal(m))
		return 0;
	if (strcmp(t->status, "resolved") != 0 && strcmp(t->status, "pending") != 0)
		return 0;
	if (ticket_set_field(s, t->id, "status", "open", "secdesk", e) < 0)
		return -1;
	res->reopened = strcmp(t->status, "resolved") == 0;
	return 0;
}

/* The ticket's newest activity: this mail as written, never earlier
 * than what the ticket had. */
static int
touch_as_written(struct store *s, const struct ticket *t, const struct message *m,
		 struct err *e)
{
	int64_t written = dates_written(m->has_date, m->date, store_now());

	return ticket_touch_at(s, t->id, written > t->updated ? written : t->updated, e);
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *
skip_blanks(const char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/* Equal but for white space: how much there is between words, at the
 * ends, and which line ends (a mail over another path may have lost or
 * gained trailing blanks and blank lines). */
static bool
same_text(const char *a, const char *b)
{
	a = skip_blanks(a);
	b = skip_blanks(b);
	while (*a && *b) {
		if (is_blank(*a) || is_blank(*b)) {
			if (!is_blank(*a) || !is_blank(*b))
				return false;
			a = skip_blanks(a);
			b = skip_blanks(b);
			continue;
		}
		if (*a++ != *b++)
			return false;
	}
	return !*skip_blanks(a) && !*skip_blanks(b);
}

struct attachment_match {
	const struct message *m;
	size_t n;  /* stored attachments seen */
	bool same; /* each so far is m's, in order */
};

static int
match_stored_attachment(void *arg, int64_t size, const char *sha256)
{
	struct attachment_match *am = arg;
	const struct attachment *a = am->n < am->m->natts ? &am->m->atts[am->n] : NULL;

	if (!a || (int64_t)a->size != size || strcmp(sha256, a->data ? a->sha256 : "") != 0)
		am->same = false;
	am->n++;
	return 0;
}

/* Does stored message row hold m's attachments: the same sizes and
 * contents, in order? */
static int
same_attachments(struct store *s, int64_t row, const struct message *m, struct err *e)
{
	struct attachment_match am = { .m = m, .n = 0, .same = true };

	if (store_message_each_attachment(s, row, match_stored_attachment, &am, e) < 0)
		return -1;
	return am.same && am.n == m->natts;
}

struct duplicate_match {
	struct store *s;
	const struct message *m;
	bool *reused;
	struct err *e;
};

/* 0 to look on, 1 when stored row is m again, -1 on error. */
static int
match_same_sender(void *arg, int64_t row_id, const char *subject, const char *body)
{
	struct duplicate_match *dm = arg;
	const struct message *m = dm->m;

	*dm->reused = true;
	if (same_text(subject, m->subject) && same_text(body, m->body ? m->body : ""))
		return same_attachments(dm->s, row_id, m, dm->e);
	return 0;
}

/* Is m stored already? 1 for the same bytes, or the same Message-ID and
 * sender with the same subject, body and attachments (the mail over
 * another path, with other Received lines). Otherwise 0, with *reused set
 * when a stored mail has m's Message-ID and sender but other content:
 * that is stored too, flagged, never dropped unseen. */
static int
is_duplicate(struct store *s, int64_t raw_id, const struct message *m, bool *reused,
	     struct err *e)
{
	struct duplicate_match dm = { s, m, reused, e };

	*reused = false;
	return store_message_find_stored(s, raw_id, m->message_id, m->from.addr,
					 match_same_sender, &dm, e);
}

int
ingest_classify(struct ingest *ing, const struct message *m, struct rule_outcome *ro,
		struct err *e)
{
	struct err re = ERR_INIT;

	(void)e;
	rule_outcome_init(ro);
	if (!ing->rules || (m->flags & MSG_POISON))
		return 0;
	if (!testhook_step_fails("rules", m->message_id, &re) &&
	    rules_apply(ing->rules, m, NULL, ro, &re) == 0)
		return 0;
	/* The message goes on without the rules' verdict: stored, flagged. */
	rule_outcome_release(ro);
	rule_outcome_init(ro);
	strlist_add_owned(&ro->errors, xasprintf("the rules could not be applied: %s", re.msg));
	return 0;
}

/* Did the desk's own MX find that DMARC failed for the From domain? */
static bool
from_failed_dmarc(const struct ingest *ing, const struct message *m)
{
	const char *id = ing->cfg->mailbox.trusted_authserv_id;
	const char *at = strrchr(m->from.addr, '@');

	return id && authres_dmarc_message(m->headers, m->nheaders, id, at ? at + 1 : "") ==
			     AUTHRES_DMARC_FAIL;
}

/* The steps of storing one message whose failure is the message's own (not
 * the store's): the step is left out, or the message set aside, and the
 * ticket flagged with the reason. */
enum ingest_step {
	STEP_THREAD = 1 << 0, /* left out: the message opens a ticket of its own */
	STEP_TICKET = 1 << 1, /* the ticket and message rows: the message is set aside */
	STEP_ATTACH = 1 << 2, /* left out: the raw message still holds them */
};

static const char *
step_event(unsigned step)
{
	switch (step) {
	case STEP_THREAD:
		return "thread-failed";
	case STEP_ATTACH:
		return "attach-failed";
	default:
		return "ticket-failed";
	}
}

/* The two ends of a continuation, each an event: the new ticket is a
 * "follow-up-of" the closed one, which is "continued-in" the new one. */
static int
link_continuation(struct store *s, int64_t closed, struct ingest_result *res, struct err *e)
{
	char from[32], to[32];

	snprintf(from, sizeof(from), "#%lld", (long long)closed);
	snprintf(to, sizeof(to), "#%lld", (long long)res->ticket_id);
	res->continues = closed;
	if (store_event(s, res->ticket_id, "secdesk", "follow-up-of", NULL, from, e) < 0)
		return -1;
	return store_event(s, closed, "secdesk", "continued-in", NULL, to, e);
}

/* m opens a ticket of its own (*t as inserted), with its watchers and the
 * events that say why. */
static int
open_ticket(struct ingest *ing, struct store *s, const struct message *m,
	    const struct rule_outcome *ro, const struct thread_result *tr, bool dmarc_fail,
	    struct ticket *t, struct ingest_result *res, struct err *e)
{
	res->kind = INGEST_NEW_TICKET;
	res->ticket_id = insert_ticket(ing, s, m, ro, tr, t, e);
	if (res->ticket_id < 0)
		return -1;
	res->routed = ro->queue && strcmp(ro->queue, TICKET_DEFAULT_QUEUE) != 0;
	if (add_watchers(ing, s, res->ticket_id, true, m, dmarc_fail, e) < 0)
		return -1;
	if (store_event(s, res->ticket_id, "secdesk", "created", NULL,
			or_default(ro->queue, TICKET_DEFAULT_QUEUE), e) < 0)
		return -1;
	if (tr->related_to) {
		char rel[32];

		snprintf(rel, sizeof(rel), "#%lld", (long long)tr->related_to);
		if (store_event(s, res->ticket_id, "secdesk", "possible-followup", NULL, rel,
				e) < 0)
			return -1;
	}
	if (tr->continues && link_continuation(s, tr->continues, res, e) < 0)
		return -1;
	if (dmarc_fail &&
	    store_event(s, res->ticket_id, "secdesk", "dmarc-fail", NULL, m->from.addr, e) < 0)
		return -1;
	return 0;
}

/* m joins ticket id (loaded into *t as it was): reopened when a person
 * wrote, flagged as m is, touched, and its Cc watch it. */
static int
join_ticket(struct ingest *ing, struct store *s, const struct message *m, int64_t id,
	    bool dmarc_fail, struct ticket *t, struct ingest_result *res, struct err *e)
{
	const struct queue *partner_q = NULL;

	res->kind = INGEST_FOLLOWUP;
	res->ticket_id = id;
	if (ticket_load(s, id, t, e) < 0)
		return -1;
	if (ing->rules)
		partner_q = rules_contact_queue(ing->rules, m->from.addr);
	res->partner = partner_q && !addr_eq(t->requester, m->from.addr);
	if (maybe_reopen(s, t, m, res, e) < 0)
		return -1;
	if (ticket_add_flags(s, t->id, ticket_flags_for(m->flags), e) < 0 ||
	    touch_as_written(s, t, m, e) < 0)
		return -1;
	return add_watchers(ing, s, t->id, false, m, dmarc_fail, e);
}

/* Stores m: threads it (unless skip has STEP_THREAD), its ticket, the
 * message, its attachments (unless STEP_ATTACH); *at names the step under
 * way when it fails. t is the new ticket as inserted. */
static int
store_message(struct ingest *ing, struct store *s, int64_t raw_id, struct message *m,
	      const struct rule_outcome *ro, bool dmarc_fail, unsigned skip, unsigned *at,
	      struct ticket *t, struct ingest_result *res, struct err *e)
{
	struct thread_result tr = { 0 };

	*at = STEP_THREAD;
	if (!(skip & STEP_THREAD) && (testhook_step_fails("thread", m->message_id, e) ||
				       find_thread(ing, s, m, dmarc_fail, &tr, e) < 0))
		return -1;
	*at = STEP_TICKET;
	if (tr.ticket_id == 0 ? open_ticket(ing, s, m, ro, &tr, dmarc_fail, t, res, e) < 0
			      : join_ticket(ing, s, m, tr.ticket_id, dmarc_fail, t, res, e) < 0)
		return -1;
	if (testhook_step_fails("ticket", m->message_id, e))
		return -1;
	if (store_message_add_inbound(s, res->ticket_id, raw_id,
				      message_kind(m, res->kind == INGEST_NEW_TICKET, res->partner),
				      m, &res->message_id, e) < 0)
		return -1;
	if (res->kind == INGEST_FOLLOWUP &&
	    store_event(s, res->ticket_id, "secdesk", "message", NULL, m->from.addr, e) < 0)
		return -1;
	if (tr.verp.ticket_id > 0 && res->kind == INGEST_FOLLOWUP && (m->flags & MSG_BOUNCE) &&
	    note_verp_bounce(s, res->ticket_id, &tr.verp, e) < 0)
		return -1;
	*at = STEP_ATTACH;
	if (m->natts && !(skip & STEP_ATTACH) &&
	    (attach_store(s, res->message_id, m, e) < 0 ||
	     testhook_step_fails("attach", m->message_id, e)))
		return -1;
	return 0;
}

/* Did a step fail for its message alone? Not when the store is busy, full
 * or unwritable, or its transaction is gone: then the batch stops and is
 * retried. */
static bool
message_error(struct store *s, const struct err *e)
{
	if (e->code == EXIT_TEMPFAIL || e->code == EXIT_IOERR || e->code == EXIT_CANTCREAT)
		return false;
	return store_txn_active(s);
}

/* The stand-in of a message that cannot be stored as it is: its raw bytes
 * only, in a ticket of its own, flagged for staff. */
static void
aside_message(struct message *m, const char *raw, size_t len, unsigned flags,
	      const char *subject, const char *note)
{
	message_init(m);
	m->raw = raw;
	m->raw_len = len;
	m->flags = flags;
	free(m->subject);
	m->subject = xstrdup(subject);
	m->parse_note = xstrdup(note);
}

/* Why a step failed, "EVENT\nREASON", to be recorded on the ticket. */
static void
problem_add(struct strlist *problems, const char *event, const char *reason)
{
	strlist_add_owned(problems, xasprintf("%s\n%s", event, reason));
}

static int
problems_record(struct store *s, int64_t ticket_id, const struct strlist *problems,
		struct err *e)
{
	for (size_t i = 0; i < problems->n; i++) {
		char *event = xstrdup(problems->items[i]), *nl = strchr(event, '\n');
		int rc;

		*nl = '\0';
		rc = ticket_flag_problem(s, ticket_id, event, nl + 1, e);
		free(event);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Before storing: a duplicate is said (1) and nothing more done; else the
 * message's flags set, the rules run unless the caller ran them (pre), and
 * whether it may be acknowledged (0). */
static int
judge_message(struct ingest *ing, struct store *s, int64_t raw_id, struct message *m,
	      const struct rule_outcome *pre, struct rule_outcome *own, bool *dmarc_fail,
	      struct ingest_result *res, struct err *e)
{
	const struct rule_outcome *ro = pre ? pre : own;
	bool reused;
	int dup = is_duplicate(s, raw_id, m, &reused, e);

	if (dup < 0)
		return -1;
	if (dup) {
		res->kind = INGEST_DUPLICATE;
		return 1;
	}
	if (reused)
		m->flags |= MSG_MSGID_REUSED;
	*dmarc_fail = from_failed_dmarc(ing, m);
	if (*dmarc_fail)
		m->flags |= MSG_DMARC_FAIL;
	if (!pre && ingest_classify(ing, m, own, e) < 0)
		return -1;
	if (ro->spam)
		m->flags |= MSG_SPAM;
	/* no acknowledgement to an address that may not have written */
	res->no_ack = ro->no_ack || *dmarc_fail;
	res->msg_flags = m->flags;
	return 0;
}

/* After storing: the problems and rule errors as events, then the
 * acknowledgement and notices (not for mail stored again after a restore). */
static int
after_stored(struct ingest *ing, struct store *s, struct message *cur,
	     const struct rule_outcome *ro, const struct ticket *t, struct strlist *problems,
	     struct ingest_result *res, struct err *e)
{
	/* A rule's value that the ticket could not take, a rule skipped. */
	for (size_t i = 0; res->kind == INGEST_NEW_TICKET && i < ro->errors.n; i++)
		problem_add(problems, "rule-error", ro->errors.items[i]);
	res->problems = (int)problems->n;
	if (problems_record(s, res->ticket_id, problems, e) < 0)
		return -1;
	if (ing->replay && store_event(s, res->ticket_id, "secdesk", "reingested", NULL,
				       "processed before a restore; ack and notice not repeated",
				       e) < 0)
		return -1;
	/* A new ticket is handed over as inserted; a follow-up's changed. */
	if (ing->ob && !ing->replay &&
	    outbound_after_ingest(ing->ob, s, cur, res->kind == INGEST_NEW_TICKET ? t : NULL, res,
				  e) < 0)
		return -1;
	return 0;
}

/* pre: the outcome of ingest_classify() when the caller ran it already.
 * problems: the failures of earlier steps (the parser's), recorded too. */
static int
process_parsed(struct ingest *ing, struct store *s, int64_t raw_id, struct message *m,
	       const struct rule_outcome *pre, struct strlist *problems,
	       struct ingest_result *res, struct err *e)
{
	struct rule_outcome own, none;
	const struct rule_outcome *ro = pre ? pre : &own;
	struct message aside;
	struct message *cur = m;
	struct ingest_result clean;
	struct ticket t;
	bool dmarc_fail = false;
	unsigned skip = 0, at = 0;
	int judged, rc = -1;

	rule_outcome_init(&own);
	rule_outcome_init(&none);
	message_init(&aside);
	ticket_init(&t);
	judged = judge_message(ing, s, raw_id, m, pre, &own, &dmarc_fail, res, e);
	if (judged != 0) {
		rc = judged > 0 ? 0 : -1;
		goto out;
	}
	clean = *res;
	for (;;) {
		if (store_savepoint_begin(s, e) < 0)
			goto out;
		if (store_message(ing, s, raw_id, cur, ro, cur == m && dmarc_fail, skip, &at, &t,
				  res, e) == 0)
			break;
		if (cur == &aside || !message_error(s, e) ||
		    store_savepoint_rollback(s, e) < 0)
			goto out;
		problem_add(problems, step_event(at), e->msg);
		*res = clean;
		ticket_release(&t);
		if (at == STEP_TICKET) {
			message_release(&aside);
			aside_message(&aside, m->raw, m->raw_len, 0,
				      "(message set aside: it could not be stored as a ticket)",
				      "storing this message failed; the raw message is kept");
			cur = &aside;
			ro = &none;
			res->msg_flags = aside.flags;
			/* A stand-in never joins another ticket. */
			skip |= STEP_THREAD;
		} else {
			skip |= at;
		}
	}
	if (store_savepoint_release(s, e) < 0 ||
	    after_stored(ing, s, cur, ro, &t, problems, res, e) < 0)
		goto out;
	rc = 0;
out:
	ticket_release(&t);
	rule_outcome_release(&own);
	message_release(&aside);
	return rc;
}

int
ingest_parse(struct ingest *ing, const char *raw, size_t len, struct message *m,
	     struct err *e)
{
	message_init(m);
	if (parse_message(raw, len, &ing->limits, m, e) < 0 ||
	    testhook_step_fails("parse", m->message_id, e)) {
		/* Nothing left for the caller to release. */
		message_release(m);
		memset(m, 0, sizeof(*m));
		return -1;
	}
	return 0;
}

int
ingest_parsed(struct ingest *ing, struct store *s, int64_t raw_id, struct message *m,
	      const struct rule_outcome *ro, struct ingest_result *res, struct err *e)
{
	struct strlist problems = STRLIST_INIT;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = process_parsed(ing, s, raw_id, m, ro, &problems, res, e);
	strlist_release(&problems);
	return rc;
}

int
ingest_set_aside(struct ingest *ing, struct store *s, int64_t raw_id, const char *raw,
		 size_t len, const char *why, struct ingest_result *res, struct err *e)
{
	struct strlist problems = STRLIST_INIT;
	struct message m;
	int rc;

	memset(res, 0, sizeof(*res));
	aside_message(&m, raw, len, MSG_PARSE_ERROR,
		      "(message set aside: it could not be parsed)",
		      "the parser failed on this message; the raw message is kept");
	problem_add(&problems, "parse-failed", why);
	rc = process_parsed(ing, s, raw_id, &m, NULL, &problems, res, e);
	message_release(&m);
	strlist_release(&problems);
	return rc;
}

int
ingest_raw(struct ingest *ing, struct store *s, int64_t raw_id, const char *raw, size_t len,
	   bool poison, struct ingest_result *res, struct err *e)
{
	struct strlist problems = STRLIST_INIT;
	struct message m;
	int rc;

	memset(res, 0, sizeof(*res));
	if (poison) {
		/* Never parsed again: kept raw, flagged for staff. */
		aside_message(&m, raw, len, MSG_POISON | MSG_PARSE_ERROR,
			      "(message set aside: it could not be parsed)",
			      "the parser failed on this message repeatedly; "
			      "the raw message is kept");
	} else if (ingest_parse(ing, raw, len, &m, e) < 0) {
		return ingest_set_aside(ing, s, raw_id, raw, len, e->msg, res, e);
	}
	rc = process_parsed(ing, s, raw_id, &m, NULL, &problems, res, e);
	message_release(&m);
	strlist_release(&problems);
	return rc;
}

int
ingest_message(struct ingest *ing, struct store *s, const char *raw, size_t len,
	       struct ingest_result *res, struct err *e)
{
	int64_t raw_id;

	if (ingest_store_raw(s, raw, len, &raw_id, e) < 0)
		return -1;
	return ingest_raw(ing, s, raw_id, raw, len, false, res, e);
}
