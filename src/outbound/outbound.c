/* Outbound mail (outbound.h): the handle, and what ingest asks for after
 * an inbound message is stored: the acknowledgement (RFC 3834) and the
 * partner notification, queued in the ingest transaction. The parts are
 * in the files outbound_int.h lists. */
#include "compat.h"

#include "outbound_int.h"
#include "ticket.h"
#include "xalloc.h"

const char *const outbound_template_vars[] = {
	"id", "tag", "ref", "subject", "requester", "requester_name", "requester_address",
	"queue", "queue_name", "language", "category", "priority", "status", "desk_name",
	"desk_address", "received", "body", "quoted", "text", "staff", "followup",
	"message_subject", "attribution", "quote_below", "attachments", "routed_from",
	"answered", "staff_name", "staff_signature", NULL,
};
_Static_assert(ARRAY_SIZE(outbound_template_vars) == V_COUNT + 1,
	       "outbound_template_vars and the V_ names differ");

int
outbound_open(const struct config *cfg, const struct ruleset *rules, struct outbound **out,
	      struct err *e)
{
	struct outbound *ob;
	const char *at = cfg->desk.address ? strrchr(cfg->desk.address, '@') : NULL;

	*out = NULL;
	if (!cfg->desk.address || !mime_addr_ok(cfg->desk.address))
		return err_set(e, EXIT_CONFIG, "[desk] address '%s' is not a mail address",
			       cfg->desk.address ? cfg->desk.address : "");
	ob = xcalloc(1, sizeof(*ob));
	ob->cfg = cfg;
	ob->rules = rules;
	buf_init(&ob->rendered, TMPL_MAX_OUTPUT);
	built_init(&ob->built);
	ob->domain = xstrdup(at + 1);
	ob->plans = xcalloc(PLAN_MAX, sizeof(*ob->plans));
	if (tmpl_set_load(cfg->templates.dir, outbound_template_vars, &ob->set, e) < 0) {
		outbound_free(&ob);
		return -1;
	}
	*out = ob;
	return 0;
}

const char *
outbound_template_problems(const struct outbound *ob, int *count)
{
	return tmpl_set_problems(ob->set, count);
}

void
outbound_free(struct outbound **obp)
{
	struct outbound *ob = *obp;

	if (!ob)
		return;
	tmpl_set_free(&ob->set);
	buf_release(&ob->rendered);
	built_release(&ob->built);
	free(ob->domain);
	notice_plans_release(ob);
	addrset_release(&ob->contacts);
	free(ob);
	*obp = NULL;
}

/* Whether new ticket t, opened by m, gets its partner notice. The desk's
 * own mail come back opens no loop through a partner. */
static bool
notice_due(const struct outbound *ob, const struct ticket *t, const struct message *m,
	   const struct ingest_result *res)
{
	return res->kind == INGEST_NEW_TICKET && res->routed &&
	       strcmp(t->queue, TICKET_DEFAULT_QUEUE) != 0 &&
	       !(m->flags & (MSG_SPAM | MSG_POISON)) && !config_is_desk(ob->cfg, m->from.addr);
}

/* No acknowledgement, for why: counted, the breaker opened when it was
 * the reason, and told in a new ticket's history. */
static int
ack_withheld(struct store *s, const struct ticket *t, enum autoreply_reason why,
	     struct ingest_result *res, struct err *e)
{
	res->acks_suppressed++;
	if (why == AR_BREAKER && autolimit_trip_breaker(s, e) < 0)
		return -1;
	if (res->kind == INGEST_NEW_TICKET &&
	    store_event(s, t->id, "secdesk", "no-ack", NULL, autoreply_reason_str(why), e) < 0)
		return -1;
	return 0;
}

/* The ack of m on t (or why there is none) and t's partner notice. */
static int
queue_inquiry_mail(struct outbound *ob, struct store *s, const struct message *m,
		   const struct ticket *t, enum autoreply_reason why, struct ingest_result *res,
		   struct err *e)
{
	struct autolog log = { .n = 0 };
	int held;

	if (why == AR_YES) {
		if (notice_queue_ack(ob, s, t, m, res->message_id, res->kind == INGEST_FOLLOWUP, res,
				     &log, e) < 0)
			return -1;
	} else if (ack_withheld(s, t, why, res, e) < 0) {
		return -1;
	}
	if (notice_due(ob, t, m, res)) {
		held = notice_maybe_hold(ob, s, t, why == AR_YES, &log, e);
		if (held < 0)
			return -1;
		/* Held: in the partner's digest. */
		if (!held && notice_queue(ob, s, t, m, res->message_id, res, &log, e) < 0)
			return -1;
	}
	return autolog_flush(ob->cfg, s, &log, e);
}

int
outbound_after_ingest(struct outbound *ob, struct store *s, const struct message *m,
		      const struct ticket *given, struct ingest_result *res, struct err *e)
{
	struct ticket own;
	const struct ticket *t = given;
	enum autoreply_reason why;
	int rc = -1;

	if (res->kind == INGEST_DUPLICATE)
		return 0;
	ticket_init(&own);
	if (autolimit_decide_ack(ob, s, m, res, &why, e) < 0)
		goto out;
	if (!given) {
		if (ticket_load(s, res->ticket_id, &own, e) < 0)
			goto out;
		t = &own;
	}
	if (why == AR_YES && !mime_addr_ok(m->from.addr))
		why = AR_NO_ADDRESS;
	rc = queue_inquiry_mail(ob, s, m, t, why, res, e);
out:
	ticket_release(&own);
	return rc;
}
