/* Staff replies, the partner notice after a re-route, and what a mail may
 * quote (outbound.h). */
#include "compat.h"

#include <strings.h>

#include "outbound_int.h"
#include "parse.h"
#include "ticket.h"
#include "xalloc.h"

/* Which stored message a mail may quote or answer: the newest one that a
 * person wrote to the desk themselves (kind inquiry or followup, none of
 * TICKET_IMPERSONAL_FLAGS), written by author, or else by one of rcpts.
 * With shared, only a message that every other address of rcpts had
 * already (in its To or Cc): what one person wrote privately never
 * reaches another through a quote. */
struct quote_rule {
	const char *author;
	const struct mime_addr *rcpts;
	size_t nrcpts;
	bool shared;
};

/* Is addr one of the addresses of list, as ingest stores them
 * ("Name <a@b>, c@d")? A display name that spells an address can only
 * widen who may see the text of the mail whose author wrote that name. */
static bool
addr_listed(const char *list, const char *addr)
{
	size_t n = strlen(addr);

	if (!n)
		return false;
	for (const char *p = list; (p = strcasestr(p, addr)); p++) {
		char before = p == list ? ' ' : p[-1], after = p[n];

		if ((before == ' ' || before == '<' || before == ',') &&
		    (after == '\0' || after == '>' || after == ','))
			return true;
	}
	return false;
}

static bool
quote_allowed(void *arg, const char *from, const char *to, const char *cc)
{
	const struct quote_rule *r = arg;
	bool author = r->author && strcasecmp(from, r->author) == 0;

	for (size_t i = 0; !author && !r->author && i < r->nrcpts; i++)
		author = strcasecmp(from, r->rcpts[i].addr) == 0;
	if (!author)
		return false;
	for (size_t i = 0; r->shared && i < r->nrcpts; i++) {
		const char *a = r->rcpts[i].addr;

		if (strcasecmp(a, from) != 0 && !addr_listed(to, a) && !addr_listed(cc, a))
			return false;
	}
	return true;
}

/* The newest message of ticket_id that r allows, into m (initialised,
 * empty); *id_r (may be NULL) its id. 1, 0 when there is none (m left
 * as it was), -1 on a store error. */
static int
quotable_message(struct store *s, int64_t ticket_id, const struct quote_rule *r,
		 struct message *m, int64_t *id_r, struct err *e)
{
	int64_t id = 0;

	if (id_r)
		*id_r = 0;
	if (outbox_pick_message(s, ticket_id, TICKET_IMPERSONAL_FLAGS, quote_allowed, (void *)r,
				&id, e) < 0)
		return -1;
	if (id == 0)
		return 0;
	if (outbox_load_message(s, id, m, e) < 0)
		return -1;
	if (id_r)
		*id_r = id;
	return 1;
}

int
outbound_on_route(struct outbound *ob, struct store *s, int64_t ticket_id,
		  const char *old_queue, struct err *e)
{
	struct ticket t;
	struct message m;
	struct autolog log = { .n = 0 };
	struct ingest_result tally = { 0 };
	struct quote_rule from_requester = { 0 };
	int64_t inquiry = 0;
	int rc = -1;

	ticket_init(&t);
	message_init(&m);
	if (ticket_load_live(s, ticket_id, &t, e) < 0)
		goto out;
	/* A partner sees the inquiry: what the requester wrote, never
	 * another partner's answer. */
	from_requester.author = t.requester;
	if (quotable_message(s, ticket_id, &from_requester, &m, &inquiry, e) < 0)
		goto out;
	rc = notice_queue_route(ob, s, &t, &m, inquiry, old_queue, &tally, &log, e);
	if (rc == 0)
		rc = autolog_flush(ob->cfg, s, &log, e);
out:
	message_release(&m);
	ticket_release(&t);
	return rc;
}

/* A staff reply in the making: the ticket, the mail it answers, who gets
 * it, the template and its values. */
struct reply_plan {
	struct ticket t;
	struct message m;      /* the mail answered (its text: the quote) */
	int64_t answered;      /* its id, 0 when none */
	struct mime_addr *rcpts; /* To (nto of them), then Cc; strings owned */
	size_t nto, n;
	const struct tmpl *tmpl;
	struct tmpl_ctx *ctx;
	char ref[128];
};

static void
plan_init(struct reply_plan *p)
{
	memset(p, 0, sizeof(*p));
	ticket_init(&p->t);
	message_init(&p->m);
}

static void
plan_release(struct reply_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free((char *)p->rcpts[i].name);
		free((char *)p->rcpts[i].addr);
	}
	free(p->rcpts);
	tmpl_ctx_free(&p->ctx);
	message_release(&p->m);
	ticket_release(&p->t);
}

static bool
plan_has(const struct reply_plan *p, const char *addr)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcasecmp(p->rcpts[i].addr, addr) == 0)
			return true;
	return false;
}

static void
plan_add(struct reply_plan *p, const char *name, const char *addr)
{
	p->rcpts = xreallocarray(p->rcpts, p->n + 1, sizeof(*p->rcpts));
	p->rcpts[p->n].name = name && *name ? clean_name(name) : NULL;
	p->rcpts[p->n++].addr = xstrdup(addr);
}

/* Staff's own addresses (--to, --cc), each an address to write to. */
static int
plan_add_given(struct reply_plan *p, const struct strlist *l, const char *opt, struct err *e)
{
	for (size_t i = 0; l && i < l->n; i++) {
		if (!mime_addr_ok(l->items[i]))
			return err_set(e, EXIT_USAGE, "%s '%s' is not a mail address (user@domain)",
				       opt, l->items[i]);
		if (!plan_has(p, l->items[i]))
			plan_add(p, NULL, l->items[i]);
	}
	return 0;
}

/* The recipients: To the requester (or o->to), Cc the ticket's watchers
 * that are addresses to write to and not the desk, and o->cc. */
static int
plan_rcpts(struct outbound *ob, struct store *s, struct reply_plan *p,
	   const struct reply_opts *o, struct err *e)
{
	struct strlist watchers = STRLIST_INIT;
	int rc;

	if (o->to && o->to->n) {
		if (plan_add_given(p, o->to, "--to", e) < 0)
			return -1;
	} else if (!mime_addr_ok(p->t.requester)) {
		return err_set(e, EXIT_DATAERR, "ticket #%lld: the requester '%s' is not an address "
			       "to write to (--to gives one)", (long long)p->t.id, p->t.requester);
	} else {
		plan_add(p, p->t.requester_name, p->t.requester);
	}
	p->nto = p->n;
	rc = ticket_watchers(s, p->t.id, &watchers, e);
	for (size_t i = 0; rc == 0 && i < watchers.n; i++) {
		const char *a = watchers.items[i];

		if (mime_addr_ok(a) && !config_is_desk(ob->cfg, a) && !plan_has(p, a) &&
		    strcasecmp(a, p->t.requester) != 0)
			plan_add(p, NULL, a);
	}
	strlist_release(&watchers);
	if (rc == 0)
		rc = plan_add_given(p, o->cc, "--cc", e);
	return rc;
}

/* What the reply quotes and answers, into p->m: the newest message one of
 * the recipients wrote that all of them had (quote_rule); without one, the
 * requester's newest message for In-Reply-To alone, its text and its
 * References left out. */
static int
plan_answers(struct store *s, struct reply_plan *p, struct err *e)
{
	struct quote_rule shared = { .rcpts = p->rcpts, .nrcpts = p->n, .shared = true };
	struct quote_rule from_requester = { .author = p->t.requester };
	int have = quotable_message(s, p->t.id, &shared, &p->m, &p->answered, e);

	if (have != 0)
		return have < 0 ? -1 : 0;
	if (quotable_message(s, p->t.id, &from_requester, &p->m, &p->answered, e) < 0)
		return -1;
	free(p->m.body);
	p->m.body = xstrdup("");
	strlist_release(&p->m.references);
	return 0;
}

/* The Reply-To and author of the mail answered, from its raw bytes: a
 * requester's Reply-To takes the place of the requester (RFC 5322 3.6.2)
 * unless staff named the recipients; *author (allocated) names who wrote
 * it for the attribution. */
static int
plan_reply_to(struct outbound *ob, struct store *s, struct reply_plan *p,
	      const struct reply_opts *o, char **author, struct err *e)
{
	struct message raw_m;
	struct err pe = ERR_INIT;
	char *raw = NULL;
	size_t len = 0;
	int found = 0;

	*author = NULL;
	message_init(&raw_m);
	if (p->answered > 0)
		found = outbox_message_raw(s, p->answered, &raw, &len, e);
	if (found < 0)
		return -1;
	if (found > 0 && parse_message(raw, len, &parse_limits_default, &raw_m, &pe) == 0) {
		const char *ra = raw_m.reply_to.addr;

		if (*raw_m.from.addr)
			*author = xstrdup(*raw_m.from.name ? raw_m.from.name : raw_m.from.addr);
		if (!(o->to && o->to->n) && ra && mime_addr_ok(ra) &&
		    strcasecmp(raw_m.from.addr, p->t.requester) == 0 &&
		    !config_is_desk(ob->cfg, ra) && strcasecmp(ra, p->t.requester) != 0) {
			free((char *)p->rcpts[0].name);
			free((char *)p->rcpts[0].addr);
			p->rcpts[0].name = *raw_m.reply_to.name ? clean_name(raw_m.reply_to.name)
								 : NULL;
			p->rcpts[0].addr = xstrdup(ra);
		}
	}
	message_release(&raw_m);
	free(raw);
	if (!*author)
		*author = xstrdup(*p->t.requester_name ? p->t.requester_name : p->t.requester);
	return 0;
}

/* The template of kind for the ticket, and whether it fits what staff
 * give: {{text}} takes -m; without it -m has nowhere to go. */
static int
plan_template(struct outbound *ob, struct reply_plan *p, const char *kind,
	      const struct reply_opts *o, bool draft, struct err *e)
{
	const struct tmpl *broken = NULL;
	bool takes_text;

	p->tmpl = tmpl_set_find_checked(ob->set, kind, p->t.queue, p->t.language, &broken);
	/* Staff are there to fix it: no reply in another template. */
	if (broken)
		return err_set(e, EXIT_CONFIG, "template '%s' cannot be used: %s", kind,
			       tmpl_problem(broken));
	if (!p->tmpl)
		return err_set(e, EXIT_USAGE, "no template '%s' (expected %s/%s.en.txt)", kind,
			       ob->cfg->templates.dir, kind);
	takes_text = tmpl_set_uses(ob->set, p->tmpl, "text");
	if (o->text && !takes_text)
		return err_set(e, EXIT_USAGE, "template '%s' has no {{text}} for -m: send it as "
			       "it is (--no-edit) or edit it (without -m)", kind);
	if (!draft && !o->text && !o->above && takes_text)
		return err_set(e, EXIT_USAGE, "template '%s' needs text: give -m TEXT", kind);
	return 0;
}

/* Loads the ticket, picks the recipients, the mail answered and the
 * template, and fills the template's values. */
static int
plan_make(struct outbound *ob, struct store *s, int64_t ticket_id, const struct reply_opts *o,
	  bool draft, struct reply_plan *p, struct err *e)
{
	const char *kind = o->tmpl_kind ? o->tmpl_kind : "reply";
	char *author = NULL, *attribution;
	const char *quoted;
	unsigned need;

	if (ticket_load_live(s, ticket_id, &p->t, e) < 0 || plan_rcpts(ob, s, p, o, e) < 0 ||
	    plan_answers(s, p, e) < 0 || plan_reply_to(ob, s, p, o, &author, e) < 0 ||
	    plan_template(ob, p, kind, o, draft, e) < 0) {
		free(author);
		return -1;
	}
	snprintf(p->ref, sizeof(p->ref), "[%s #%lld]", ob->cfg->desk.tag, (long long)p->t.id);
	need = template_needs(ob, p->tmpl);
	p->ctx = ticket_ctx(ob, &p->t, &p->m, need);
	tmpl_ctx_set(p->ctx, "text", o->text ? o->text : "");
	tmpl_ctx_set(p->ctx, "staff", o->who);
	if (staff_vars(ob->cfg, o->who, p->ctx, e) < 0) {
		free(author);
		return -1;
	}
	/* A template that shows the quote shows it below the signature. */
	quoted = tmpl_ctx_get(p->ctx, "quoted");
	if ((need & NEED(V_QUOTED)) && quoted && *quoted) {
		attribution = attribution_line(tmpl_lang(p->tmpl),
					       p->m.has_date ? (int64_t)p->m.date : p->t.created,
					       author, ob->cfg->desk.timezone);
		tmpl_ctx_set(p->ctx, "attribution", attribution);
		tmpl_ctx_set(p->ctx, "quote_below", "yes");
		free(attribution);
	}
	free(author);
	return 0;
}

static void
plan_compose(const struct reply_plan *p, const struct reply_opts *o, struct compose *c)
{
	*c = (struct compose){
		.kind = "reply",
		.ticket_id = p->t.id,
		.ref = p->ref,
		.t = p->tmpl,
		.ctx = p->ctx,
		.to = p->rcpts,
		.nto = p->nto,
		.cc = p->rcpts + p->nto,
		.ncc = p->n - p->nto,
		.automatic = false,
		.in_reply_to = p->m.message_id,
		.refs = &p->m.references,
		.flowed = true,
		.split_var = "attribution",
		.above = o->above,
		.files = o->files,
		.nfiles = o->nfiles,
	};
}

/* The To addresses, for the reply's event. */
static char *
plan_to_list(const struct reply_plan *p)
{
	struct buf b = BUF_INIT;

	buf_init(&b, 0);
	for (size_t i = 0; i < p->nto; i++) {
		if (i)
			buf_add(&b, ", ", 2);
		buf_addstr(&b, p->rcpts[i].addr);
	}
	return buf_detach(&b, NULL);
}

int
outbound_reply_with(struct outbound *ob, struct store *s, int64_t ticket_id,
		    const struct reply_opts *o, int64_t *outbox_id, struct err *e)
{
	struct reply_plan p;
	struct compose c;
	char *to = NULL;
	int rc = -1;

	plan_init(&p);
	if (plan_make(ob, s, ticket_id, o, false, &p, e) < 0)
		goto out;
	plan_compose(&p, o, &c);
	if (o->dry_run) {
		rc = compose_build(ob, &c, &ob->built, e);
		if (rc == 0)
			buf_add(o->dry_run, ob->built.msg.data, ob->built.msg.len);
		built_reset(&ob->built);
		goto out;
	}
	to = plan_to_list(&p);
	if (compose_queue(ob, s, &c, outbox_id, e) < 0 ||
	    store_event(s, p.t.id, o->who, "reply", NULL, to, e) < 0 ||
	    ticket_set_field(s, p.t.id, "status", "pending", o->who, e) < 0 ||
	    ticket_touch(s, p.t.id, e) < 0)
		goto out;
	rc = 0;
out:
	free(to);
	plan_release(&p);
	return rc;
}

int
outbound_reply(struct outbound *ob, struct store *s, int64_t ticket_id, const char *tmpl_kind,
	       const char *text, const char *who, int64_t *outbox_id, struct err *e)
{
	struct reply_opts o = { .tmpl_kind = tmpl_kind, .text = text, .who = who };

	return outbound_reply_with(ob, s, ticket_id, &o, outbox_id, e);
}

int
outbound_reply_draft(struct outbound *ob, struct store *s, int64_t ticket_id,
		     const struct reply_opts *o, struct buf *above, struct buf *quote,
		     struct err *e)
{
	struct reply_plan p;
	struct compose c;
	int rc = -1;

	plan_init(&p);
	if (plan_make(ob, s, ticket_id, o, true, &p, e) == 0) {
		plan_compose(&p, o, &c);
		rc = compose_split(ob, &c, above, quote, e);
	}
	plan_release(&p);
	return rc;
}
