/* The automatic mail about an inquiry (outbound_int.h): its
 * acknowledgement, its partner notice, and the hourly digest that holds
 * the notices over a partner's limit. */
#include "compat.h"

#include "outbound_int.h"
#include "testhook.h"
#include "ticket.h"
#include "xalloc.h"

/* A digest takes no more inquiries this long before it is due: longer than
 * a transaction that adds one may take, so that none is added after the
 * digest was read for delivery. */
#define DIGEST_CLOSE 300
#define DIGEST_HOUR 3600

/* One automatic mail about an inquiry: what to build, then what was built
 * (into ob->built), to be recorded. */
struct item {
	struct compose c;
	unsigned need;        /* the variables its template uses */
	bool followup;        /* an ack of a follow-up */
	const char *queue_id; /* a notice's queue, for its event */
	struct mime_addr *to; /* c.to */
	bool to_shared;       /* to is a notice plan's (ob->plans), not own */
	char *to_name;        /* an ack's recipient's display name */
	char *count_key;      /* a notice's counter for its partner's limit */
	char ref[128];        /* c.ref */
	int rc;               /* of the build */
	struct err e;
};

static void
item_release(struct item *it)
{
	if (!it->to_shared)
		free(it->to);
	free(it->to_name);
	free(it->count_key);
	memset(it, 0, sizeof(*it));
}

/* ---- the notice plans ---- */

static void
plan_make(struct outbound *ob, const char *queue, struct notice_plan *pl)
{
	const struct queue *q = ob->rules ? rules_queue(ob->rules, queue) : NULL;

	memset(pl, 0, sizeof(*pl));
	if (!q || q->contacts.n == 0)
		return;
	pl->to = xcalloc(q->contacts.n, sizeof(*pl->to));
	for (size_t i = 0; i < q->contacts.n; i++)
		if (mime_addr_ok(q->contacts.items[i]) &&
		    !config_is_desk(ob->cfg, q->contacts.items[i]))
			pl->to[pl->nto++].addr = q->contacts.items[i];
	if (pl->nto == 0) {
		free(pl->to);
		pl->to = NULL;
		return;
	}
	pl->queue_id = q->id;
	pl->t = tmpl_set_find(ob->set, "partner", queue, q->language);
	pl->need = template_needs(ob, pl->t);
}

/* The notice plan of queue, made once per run; own is filled and given
 * back when there are more queues than a run should see (the caller then
 * owns own.to). */
static struct notice_plan *
plan_find(struct outbound *ob, const char *queue, struct notice_plan *own)
{
	struct notice_plan *pl = NULL;

	for (size_t i = 0; i < ob->nplans && !pl; i++)
		if (strcmp(ob->plans[i].queue, queue) == 0)
			pl = &ob->plans[i];
	if (!pl && ob->nplans < PLAN_MAX) {
		pl = &ob->plans[ob->nplans++];
		plan_make(ob, queue, pl);
		pl->queue = xstrdup(queue);
	}
	if (!pl) {
		plan_make(ob, queue, own);
		pl = own;
	}
	return pl;
}

void
notice_plans_release(struct outbound *ob)
{
	for (size_t i = 0; i < ob->nplans; i++) {
		free(ob->plans[i].queue);
		free(ob->plans[i].to);
	}
	free(ob->plans);
	ob->plans = NULL;
	ob->nplans = 0;
}

/* ---- preparing, building, recording ---- */

/* The partner notice of t, quoting stored message quote_of; false when its
 * queue has no one to tell. c.t is NULL when no partner template is
 * shipped. */
static bool
notice_prepare(struct outbound *ob, const struct ticket *t, int64_t quote_of, struct item *it)
{
	struct notice_plan own, *pl = plan_find(ob, t->queue, &own);

	if (pl->nto == 0)
		return false;
	it->to = pl->to;
	it->to_shared = pl != &own;
	it->queue_id = pl->queue_id;
	it->count_key = xasprintf("notice:%s", pl->queue_id);
	it->c = (struct compose){
		.kind = "notice",
		.ticket_id = t->id,
		.ref = it->ref,
		.t = pl->t,
		.to = it->to,
		.nto = pl->nto,
		.automatic = true,
		.reply_to_desk = true,
		.elide = "quoted",
		.quote_of = quote_of,
	};
	it->need = pl->need;
	return true;
}

/* The acknowledgement of m, on ticket t; m must outlive it. */
static void
ack_prepare(struct outbound *ob, const struct ticket *t, const struct message *m, bool followup,
	    struct item *it)
{
	it->to_name = clean_name(m->from.name);
	it->to = xcalloc(1, sizeof(*it->to));
	it->to[0].name = it->to_name;
	it->to[0].addr = m->from.addr;
	it->followup = followup;
	it->c = (struct compose){
		.kind = "ack",
		.ticket_id = t->id,
		.ref = it->ref,
		.t = tmpl_set_find(ob->set, "ack", t->queue, t->language),
		.to = it->to,
		.nto = 1,
		.automatic = true,
		.in_reply_to = m->message_id,
		.refs = &m->references,
	};
	it->need = template_needs(ob, it->c.t);
}

/* Builds it from t and m (templates, MIME) into ob->built and it->rc. */
static void
item_build(struct outbound *ob, const struct ticket *t, const struct message *m,
	   struct item *it)
{
	struct tmpl_ctx *ctx;

	it->rc = 0;
	if (!it->c.t && strcmp(it->c.kind, "notice") == 0)
		return; /* recorded as skipped */
	snprintf(it->ref, sizeof(it->ref), "[%s #%lld]", ob->cfg->desk.tag,
		 (long long)it->c.ticket_id);
	ctx = ticket_ctx(ob, t, m, it->need);
	if (strcmp(it->c.kind, "ack") == 0)
		tmpl_ctx_set(ctx, "followup", it->followup ? "yes" : "");
	it->c.ctx = ctx;
	it->e = (struct err)ERR_INIT;
	it->rc = testhook_step_fails(it->c.kind, m->message_id, &it->e)
			 ? -1
			 : compose_build(ob, &it->c, &ob->built, &it->e);
	it->c.ctx = NULL;
	tmpl_ctx_free(&ctx);
}

/* Records the built mail of it; 1 when it could not be built or recorded
 * for this data alone (ce says why), -1 on store errors. */
static int
item_record(struct outbound *ob, struct store *s, const struct item *it, struct err *ce,
	    struct err *e)
{
	int rc = it->rc;

	*ce = it->e;
	if (rc == 0)
		rc = compose_record(ob, s, &it->c, &ob->built, NULL, ce);
	built_reset(&ob->built);
	if (rc == 0)
		return 0;
	/* Building touches no store: its failure is this mail's. */
	if (it->rc == 0 && ce->code != EXIT_DATAERR) {
		*e = *ce;
		return -1;
	}
	return 1;
}

/* Records the built acknowledgement it, or that it could not be built
 * (counted in tally). */
static int
ack_record(struct outbound *ob, struct store *s, const struct item *it, struct autolog *log,
	   struct ingest_result *tally, struct err *e)
{
	struct err ce;
	int rc = item_record(ob, s, it, &ce, e);

	if (rc < 0)
		return -1;
	if (rc > 0) {
		/* Mail we cannot answer well is not answered at all. */
		tally->acks_suppressed++;
		tally->problems++;
		return ticket_flag_problem(s, it->c.ticket_id, "ack-failed", ce.msg, e);
	}
	if (autolog_add(ob->cfg, s, log, it->to[0].addr, false, e) < 0)
		return -1;
	tally->acks_queued++;
	return 0;
}

/* Records the built partner notice it, or why there is none. */
static int
notice_record(struct outbound *ob, struct store *s, const struct item *it, struct autolog *log,
	      struct ingest_result *tally, struct err *e)
{
	struct err ce;
	int rc;

	if (!it->c.t) {
		/* No partner template shipped: staff see it in the history. */
		return store_event(s, it->c.ticket_id, "secdesk", "notice-skipped", NULL,
				   "no partner template", e);
	}
	rc = item_record(ob, s, it, &ce, e);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		tally->problems++;
		return ticket_flag_problem(s, it->c.ticket_id, "notice-failed", ce.msg, e);
	}
	for (size_t i = 0; i < it->c.nto; i++)
		if (autolog_add(ob->cfg, s, log, it->to[i].addr, false, e) < 0)
			return -1;
	if (autolog_add(ob->cfg, s, log, it->count_key, true, e) < 0)
		return -1;
	if (store_event(s, it->c.ticket_id, "secdesk", "notified", NULL, it->queue_id, e) < 0)
		return -1;
	tally->notices_queued++;
	return 0;
}

int
notice_queue_ack(struct outbound *ob, struct store *s, const struct ticket *t,
		 const struct message *m, bool followup, struct ingest_result *tally,
		 struct autolog *log, struct err *e)
{
	struct item it;
	int rc;

	memset(&it, 0, sizeof(it));
	ack_prepare(ob, t, m, followup, &it);
	item_build(ob, t, m, &it);
	rc = ack_record(ob, s, &it, log, tally, e);
	item_release(&it);
	return rc;
}

int
notice_queue(struct outbound *ob, struct store *s, const struct ticket *t,
	     const struct message *m, int64_t quote_of, struct ingest_result *tally,
	     struct autolog *log, struct err *e)
{
	struct item it;
	int rc = 0;

	memset(&it, 0, sizeof(it));
	if (notice_prepare(ob, t, quote_of, &it)) {
		item_build(ob, t, m, &it);
		rc = notice_record(ob, s, &it, log, tally, e);
		/* The log holds the item's counter key: written before it goes. */
		if (rc == 0)
			rc = autolog_flush(ob->cfg, s, log, e);
	}
	item_release(&it);
	return rc;
}

/* ---- partner notices past their limits: the hourly digest ---- */

/* The header block and opening text of pl's digest (without the list of
 * inquiries, which delivery adds: deliver.c). */
static int
digest_head(const struct outbound *ob, const struct notice_plan *pl, struct buf *msg,
	    struct err *e)
{
	const struct queue *q = ob->rules ? rules_queue(ob->rules, pl->queue_id) : NULL;
	const char *qname = q && q->name && *q->name ? q->name : pl->queue_id;
	struct mime_addr from = { ob->cfg->desk.name, ob->cfg->desk.address };
	char msgid[256], date[64], *subject;
	int rc;

	mime_message_id(ob->domain, msgid, sizeof(msgid));
	mime_date(store_now(), date, sizeof(date));
	subject = xasprintf("[%s] New inquiries for %s (hourly digest)", ob->cfg->desk.tag, qname);
	rc = mime_header_addrs(msg, "From", &from, 1, e) < 0 ||
	     mime_header_addrs(msg, "To", pl->to, pl->nto, e) < 0 ||
	     mime_header_addrs(msg, "Reply-To", &from, 1, e) < 0 ||
	     mime_header(msg, "Subject", subject, e) < 0 || mime_header_raw(msg, "Date", date, e) < 0
		     ? -1 : 0;
	free(subject);
	if (rc < 0)
		return -1;
	buf_addf(msg, "Message-ID: <%s>\r\n", msgid);
	buf_addstr(msg, "Auto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\n");
	buf_addf(msg, "\r\nDear colleagues,\n\nmore new inquiries were routed to you (%s) in the "
		 "last hour than\nthe desk sends notices for one by one. These are the others:\n\n",
		 qname);
	return 0;
}

/* A new digest for pl's partner, due in an hour, kept under key. */
static int
digest_open(struct outbound *ob, struct store *s, const struct notice_plan *pl, const char *key,
	    struct autolog *log, int64_t *id_r, struct err *e)
{
	struct buf msg = BUF_INIT, rcpts = BUF_INIT;
	int rc = -1;

	if (digest_head(ob, pl, &msg, e) < 0)
		goto out;
	for (size_t i = 0; i < pl->nto; i++)
		buf_addf(&rcpts, "%s%s", i ? "," : "", pl->to[i].addr);
	if (outbox_queue(s, 0, 0, "digest", "", rcpts.data, msg.data, msg.len, id_r, e) < 0 ||
	    outbox_set_next_try(s, *id_r, store_now() + DIGEST_HOUR, e) < 0 ||
	    outbox_state_set(s, key, *id_r, e) < 0)
		goto out;
	for (size_t i = 0; i < pl->nto; i++)
		if (autolog_add(ob->cfg, s, log, pl->to[i].addr, false, e) < 0)
			goto out;
	rc = 0;
out:
	buf_release(&msg);
	buf_release(&rcpts);
	return rc;
}

/* The digest of pl's partner that still takes inquiries, or a new one:
 * its outbox id in *id_r. */
static int
digest_find(struct outbound *ob, struct store *s, const struct notice_plan *pl,
	    struct autolog *log, int64_t *id_r, struct err *e)
{
	char *key = xasprintf("digest:%s", pl->queue_id);
	int rc = outbox_open_digest(s, key, store_now() + DIGEST_CLOSE, id_r, e);

	if (rc == 0 && *id_r == 0)
		rc = digest_open(ob, s, pl, key, log, id_r, e);
	free(key);
	return rc;
}

/* A digest that cannot be built is told in the ticket's history and the
 * notice goes as usual; 'notice-held' names the digest that lists it. */
int
notice_maybe_hold(struct outbound *ob, struct store *s, const struct ticket *t, bool acked,
		  struct autolog *log, struct err *e)
{
	struct notice_plan own, *pl = plan_find(ob, t->queue, &own);
	int64_t digest = 0;
	char what[64];
	int rc = 0;

	if (pl->nto == 0)
		goto out;
	rc = autolimit_notice_over(ob, s, pl, acked, e);
	if (rc <= 0)
		goto out;
	if (digest_find(ob, s, pl, log, &digest, e) < 0) {
		rc = -1;
		if (e->code == EXIT_DATAERR)
			rc = store_event(s, t->id, "secdesk", "notice-failed", NULL, e->msg, e);
		goto out;
	}
	snprintf(what, sizeof(what), "outbox #%lld", (long long)digest);
	rc = store_event(s, t->id, "secdesk", "notice-held", what, pl->queue_id, e) < 0 ? -1 : 1;
out:
	if (pl == &own)
		free(own.to);
	return rc;
}
