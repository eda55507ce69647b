/* Staff replies, the partner notice after a re-route, and what a mail may
 * quote (outbound.h). */
#include "compat.h"

#include <strings.h>

#include "outbound_int.h"
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

/* The reply's recipients: the requester (rcpts[0]), then the ticket's
 * watchers that are addresses to write to and not the desk (Cc). The strings of
 * rcpts[1..] are owned; free with free_rcpts(). */
static int
reply_rcpts(struct outbound *ob, struct store *s, const struct ticket *t, const char *name,
	    struct mime_addr **out, size_t *n_out, struct err *e)
{
	struct strlist watchers = STRLIST_INIT;
	struct mime_addr *r = xcalloc(1, sizeof(*r));
	size_t n = 1;
	int rc = ticket_watchers(s, t->id, &watchers, e);

	r[0].name = name;
	r[0].addr = t->requester;
	for (size_t i = 0; rc == 0 && i < watchers.n; i++) {
		const char *a = watchers.items[i];

		if (!mime_addr_ok(a) || strcasecmp(a, t->requester) == 0 || config_is_desk(ob->cfg, a))
			continue;
		r = xreallocarray(r, n + 1, sizeof(*r));
		r[n].name = NULL;
		r[n++].addr = xstrdup(a);
	}
	strlist_release(&watchers);
	*out = r;
	*n_out = n;
	return rc;
}

static void
free_rcpts(struct mime_addr *r, size_t n)
{
	for (size_t i = 1; i < n; i++)
		free((char *)r[i].addr);
	free(r);
}

/* What a reply to rcpts quotes and answers, into m (initialised, empty):
 * the newest message one of them wrote that all of them had (quote_rule);
 * without one, the requester's newest message for In-Reply-To alone, its
 * text and its References left out. */
static int
reply_answers(struct store *s, const struct ticket *t, const struct mime_addr *rcpts,
	      size_t nrcpts, struct message *m, struct err *e)
{
	struct quote_rule shared = { .rcpts = rcpts, .nrcpts = nrcpts, .shared = true };
	struct quote_rule from_requester = { .author = t->requester };
	int have = quotable_message(s, t->id, &shared, m, NULL, e);

	if (have != 0)
		return have < 0 ? -1 : 0;
	if (quotable_message(s, t->id, &from_requester, m, NULL, e) < 0)
		return -1;
	free(m->body);
	m->body = xstrdup("");
	strlist_release(&m->references);
	return 0;
}

/* Renders the reply template kind for t with text and who, answering m,
 * and queues it to rcpts (the first To, the rest Cc). */
static int
reply_queue(struct outbound *ob, struct store *s, const struct ticket *t, const char *kind,
	    const struct message *m, const struct mime_addr *rcpts, size_t nrcpts,
	    const char *text, const char *who, int64_t *outbox_id, struct err *e)
{
	const struct tmpl *broken = NULL;
	char ref[128];
	struct compose c = {
		.kind = "reply",
		.ticket_id = t->id,
		.ref = ref,
		.t = tmpl_set_find_checked(ob->set, kind, t->queue, t->language, &broken),
		.to = rcpts,
		.nto = 1,
		.cc = rcpts + 1,
		.ncc = nrcpts - 1,
		.automatic = false,
		.in_reply_to = m->message_id,
		.refs = &m->references,
	};
	struct tmpl_ctx *ctx;
	int rc;

	snprintf(ref, sizeof(ref), "[%s #%lld]", ob->cfg->desk.tag, (long long)t->id);
	/* Staff are there to fix it: no reply in another template. */
	if (broken)
		return err_set(e, EXIT_CONFIG, "template '%s' cannot be used: %s", kind,
			       tmpl_problem(broken));
	if (!c.t)
		return err_set(e, EXIT_USAGE, "no template '%s' (expected %s/%s.en.txt)", kind,
			       ob->cfg->templates.dir, kind);
	ctx = ticket_ctx(ob, t, m, template_needs(ob, c.t));
	tmpl_ctx_set(ctx, "text", text);
	tmpl_ctx_set(ctx, "staff", who);
	if (staff_vars(ob->cfg, who, ctx, e) < 0) {
		tmpl_ctx_free(&ctx);
		return -1;
	}
	c.ctx = ctx;
	rc = compose_queue(ob, s, &c, outbox_id, e);
	tmpl_ctx_free(&ctx);
	return rc;
}

int
outbound_reply(struct outbound *ob, struct store *s, int64_t ticket_id, const char *tmpl_kind,
	       const char *text, const char *who, int64_t *outbox_id, struct err *e)
{
	const char *kind = tmpl_kind ? tmpl_kind : "reply";
	struct ticket t;
	struct message m;
	struct mime_addr *rcpts = NULL;
	size_t nrcpts = 0;
	char *name = NULL;
	int rc = -1;

	ticket_init(&t);
	message_init(&m);
	if (ticket_load_live(s, ticket_id, &t, e) < 0)
		goto out;
	if (!mime_addr_ok(t.requester)) {
		err_set(e, EXIT_DATAERR, "ticket #%lld: the requester '%s' is not an address to "
			"write to", (long long)ticket_id, t.requester);
		goto out;
	}
	name = clean_name(t.requester_name);
	if (reply_rcpts(ob, s, &t, name, &rcpts, &nrcpts, e) < 0 ||
	    reply_answers(s, &t, rcpts, nrcpts, &m, e) < 0 ||
	    reply_queue(ob, s, &t, kind, &m, rcpts, nrcpts, text, who, outbox_id, e) < 0)
		goto out;
	if (store_event(s, t.id, who, "reply", NULL, t.requester, e) < 0 ||
	    ticket_set_field(s, t.id, "status", "pending", who, e) < 0 || ticket_touch(s, t.id, e) < 0)
		goto out;
	rc = 0;
out:
	free_rcpts(rcpts, nrcpts);
	free(name);
	message_release(&m);
	ticket_release(&t);
	return rc;
}
