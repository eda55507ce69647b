/* The automatic mail about an inquiry (outbound_int.h): its
 * acknowledgement, its partner notice, and the hourly digest that holds
 * the notices over a partner's limit. A template that is broken affects
 * only its own mail: it goes with the English one, or is held in the
 * outbox until a template works for it. */
#include "compat.h"

#include <strings.h>

#include "attach.h"
#include "encodings.h"
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
	/* The template passed by because it is broken: c.t is the fallback,
	 * or NULL when none works and the mail is held (hold_item). */
	const struct tmpl *broken;
	int64_t inquiry_id;   /* the stored message it answers or quotes */
	const char *queue;    /* the queue it was made for (ack: the ticket's) */
	char ref[128];        /* c.ref */
	int rc;               /* of the build */
	struct err e;
	/* A notice's context: the inquiry's attachments listed (one line
	 * each, "" when none), those it carries ([notice] attach), and
	 * after a re-route the queue it came from and when staff answered. */
	char *attachments;
	struct attach_info *carry;
	size_t ncarry;
	const char *routed_from;
	char *answered;
};

static void
item_release(struct item *it)
{
	if (!it->to_shared)
		free(it->to);
	free(it->to_name);
	free(it->count_key);
	free(it->attachments);
	attach_list_free(it->carry, it->ncarry);
	free(it->answered);
	memset(it, 0, sizeof(*it));
}

/* ---- what a notice tells beyond the ticket: attachments, a re-route ---- */

static void
size_text(int64_t n, char *out, size_t len)
{
	if (n < 1024)
		snprintf(out, len, "%lld bytes", (long long)n);
	else if (n < 1024 * 1024)
		snprintf(out, len, "%lld KB", (long long)((n + 1023) / 1024));
	else
		snprintf(out, len, "%.1f MB", (double)n / (1024.0 * 1024.0));
}

/* The attachments of the inquiry it quotes, listed into it->attachments
 * ("    name (type, size)" lines), and those that fit [notice] attach
 * chosen into it->carry: kept ones, in order, while their sum fits. A
 * notice that carries any goes whole into the outbox (not by reference). */
static int
notice_attachments(const struct outbound *ob, struct store *s, struct item *it, struct err *e)
{
	struct attach_info *all = NULL;
	struct buf text = BUF_INIT;
	size_t n = 0, room = ob->cfg->notice.attach_max;

	if (it->inquiry_id <= 0)
		return 0;
	if (attach_list(s, it->c.ticket_id, &all, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct attach_info *a = &all[i];
		bool carried = false;
		char size[32];

		if (a->message_row_id != it->inquiry_id)
			continue;
		if (a->sha256 && room > 0 && (uint64_t)a->size <= room) {
			room -= (size_t)a->size;
			it->carry = xreallocarray(it->carry, it->ncarry + 1, sizeof(*it->carry));
			it->carry[it->ncarry++] = *a;
			memset(a, 0, sizeof(*a));
			carried = true;
		}
		size_text(carried ? it->carry[it->ncarry - 1].size : a->size, size, sizeof(size));
		buf_addf(&text, "    %s (%s, %s)%s\n",
			 carried ? it->carry[it->ncarry - 1].filename : a->filename,
			 carried ? it->carry[it->ncarry - 1].content_type : a->content_type, size,
			 carried || ob->cfg->notice.attach_max == 0 ? "" : " - not attached");
	}
	attach_list_free(all, n);
	/* The section ends its own line: the last line end is the template's. */
	if (text.len && text.data[text.len - 1] == '\n')
		text.data[--text.len] = '\0';
	it->attachments = text.len ? buf_detach(&text, NULL) : xstrdup("");
	buf_release(&text);
	if (it->ncarry)
		it->c.quote_of = 0;
	return 0;
}

/* A MIME token (type/subtype) as RFC 2045 allows, else a safe default. */
static const char *
carry_type(const char *type)
{
	const char *slash = type ? strchr(type, '/') : NULL;

	if (!slash || slash == type || !slash[1] || strlen(type) > 100)
		return "application/octet-stream";
	for (const char *p = type; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("()<>@,;:\\\"[]?=", *p))
			return "application/octet-stream";
	return type;
}

/* The name an attachment is carried under: the last part of its own, cut to
 * 200 bytes at a character's start, when it can go in a header; else
 * "attachment". out holds at least 201 bytes. */
static const char *
carry_name(const char *filename, char *out)
{
	const char *base = filename ? strrchr(filename, '/') : NULL;
	size_t len;

	base = base ? base + 1 : filename;
	if (!base)
		return "attachment";
	len = strlen(base);
	if (len > 200) {
		len = 200;
		while (len > 0 && ((unsigned char)base[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(out, base, len);
	out[len] = '\0';
	return len && mime_value_ok(out) ? out : "attachment";
}

/* Makes the built single-part notice in msg a multipart/mixed one with the
 * attachments of it->carry after its text. An attachment gone from the
 * store is left out (the list says what there was). */
static int
notice_carry(const struct item *it, struct store *s, struct buf *msg, struct err *e)
{
	static const char mv[] = "MIME-Version: 1.0\r\nContent-Type: text/plain";
	struct buf out = BUF_INIT;
	struct mime_multipart mp;
	const char *at = NULL, *p = msg->data;
	size_t pos, skip = strlen("MIME-Version: 1.0\r\n");

	while (p && (p = memmem(p, msg->len - (size_t)(p - msg->data), mv, sizeof(mv) - 1))) {
		at = p;
		p += sizeof(mv) - 1;
	}
	if (!at)
		return 0;
	pos = (size_t)(at - msg->data);
	buf_add(&out, msg->data, pos);
	if (mime_multipart_begin(&out, &mp, it->carry[0].sha256, e) < 0)
		goto fail;
	/* The text part: the notice's own Content-Type onwards. */
	buf_add(&out, at + skip, msg->len - pos - skip);
	if (out.len < 2 || memcmp(out.data + out.len - 2, "\r\n", 2) != 0)
		buf_addstr(&out, "\r\n");
	for (size_t i = 0; i < it->ncarry; i++) {
		const struct attach_info *a = &it->carry[i];
		char name[201];
		struct mime_file f = { carry_name(a->filename, name), carry_type(a->content_type),
				       NULL, 0 };
		unsigned char *data = NULL;
		int rc;

		if (attach_read(s, a->sha256, &data, &f.len, e) < 0) {
			if (e->code != EXIT_DATAERR)
				goto fail;
			err_clear(e);
			continue;
		}
		f.data = data;
		rc = mime_multipart_file(&out, &mp, &f, e);
		free(data);
		if (rc < 0)
			goto fail;
	}
	if (mime_multipart_end(&out, &mp, e) < 0)
		goto fail;
	buf_release(msg);
	*msg = out;
	return 0;
fail:
	buf_release(&out);
	return -1;
}

struct answered_scan {
	int64_t at;
};

static int
answered_each(void *arg, const struct ticket_message *m, struct err *e)
{
	struct answered_scan *as = arg;

	(void)e;
	if (strcmp(m->direction, "out") == 0 && strcmp(m->kind, "reply") == 0)
		as->at = m->created;
	return 0;
}

/* When staff last replied on the ticket, as a mail date; "" when never. */
static int
ticket_answered(struct store *s, int64_t ticket_id, char **out, struct err *e)
{
	struct answered_scan as = { 0 };
	char date[64] = "";

	if (ticket_messages(s, ticket_id, answered_each, &as, e) < 0)
		return -1;
	if (as.at)
		mime_date(as.at, date, sizeof(date));
	*out = xstrdup(date);
	return 0;
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
	pl->t = tmpl_set_find_checked(ob->set, "partner", queue, q->language, &pl->broken);
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
 * shipped, or none works (broken set). */
static bool
notice_prepare(struct outbound *ob, const struct ticket *t, int64_t quote_of, struct item *it)
{
	struct notice_plan own, *pl = plan_find(ob, t->queue, &own);

	if (pl->nto == 0)
		return false;
	it->to = pl->to;
	it->to_shared = pl != &own;
	it->queue_id = pl->queue_id;
	it->queue = pl->queue_id;
	it->broken = pl->broken;
	it->inquiry_id = quote_of;
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

/* The acknowledgement of m (stored as message_id), on ticket t; t and m
 * must outlive it. */
static void
ack_prepare(struct outbound *ob, const struct ticket *t, const struct message *m,
	    int64_t message_id, bool followup, struct item *it)
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
		.t = tmpl_set_find_checked(ob->set, "ack", t->queue, t->language, &it->broken),
		.to = it->to,
		.nto = 1,
		.automatic = true,
		.in_reply_to = m->message_id,
		.refs = &m->references,
	};
	it->inquiry_id = message_id;
	it->queue = t->queue;
	it->need = template_needs(ob, it->c.t);
}

/* Builds it from t and m (templates, MIME) into ob->built and it->rc. */
static void
item_build(struct outbound *ob, const struct ticket *t, const struct message *m,
	   struct item *it)
{
	struct tmpl_ctx *ctx;

	it->rc = 0;
	if (!it->c.t)
		return; /* recorded as skipped or held */
	snprintf(it->ref, sizeof(it->ref), "[%s #%lld]", ob->cfg->desk.tag,
		 (long long)it->c.ticket_id);
	ctx = ticket_ctx(ob, t, m, it->need);
	if (strcmp(it->c.kind, "ack") == 0)
		tmpl_ctx_set(ctx, "followup", it->followup ? "yes" : "");
	if (it->need & NEED(V_ATTACHMENTS))
		tmpl_ctx_set(ctx, "attachments", it->attachments ? it->attachments : "");
	if (it->need & NEED(V_ROUTED_FROM))
		tmpl_ctx_set(ctx, "routed_from", it->routed_from ? it->routed_from : "");
	if (it->need & NEED(V_ANSWERED))
		tmpl_ctx_set(ctx, "answered", it->answered ? it->answered : "");
	it->c.ctx = ctx;
	it->e = (struct err)ERR_INIT;
	it->rc = testhook_step_fails(it->c.kind, m->message_id, &it->e)
			 ? -1
			 : compose_build(ob, &it->c, &ob->built, &it->e);
	it->c.ctx = NULL;
	tmpl_ctx_free(&ctx);
}

/* Records the built mail of it (its outbox id in *outbox_id, may be
 * NULL); 1 when it could not be built or recorded for this data alone (ce
 * says why), -1 on store errors. */
static int
item_record(struct outbound *ob, struct store *s, const struct item *it, int64_t *outbox_id,
	    struct err *ce, struct err *e)
{
	int rc = it->rc;

	*ce = it->e;
	if (rc == 0)
		rc = compose_record(ob, s, &it->c, &ob->built, outbox_id, ce);
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

/* ---- mail whose template is broken ---- */

/* A mail sent with a fallback template because its own is broken: told in
 * the ticket's history and counted. */
static int
fallback_note(struct store *s, const struct item *it, struct ingest_result *tally,
	      struct err *e)
{
	char *note;
	int rc;

	if (!it->broken)
		return 0;
	note = xasprintf("%s; sent with %s", tmpl_problem(it->broken), tmpl_file(it->c.t));
	rc = store_event(s, it->c.ticket_id, "secdesk", "template-fallback", it->c.kind, note, e);
	free(note);
	tally->template_fallbacks++;
	return rc;
}

/* Why no template works for it (allocated): the problem of its own
 * template and of the English one, or that there is none. */
static char *
held_reason(const struct outbound *ob, const struct item *it, const char *tmpl_kind)
{
	const struct tmpl *en = NULL;

	if (!it->broken)
		return xasprintf("no template '%s' (expected %s/%s.en.txt)", tmpl_kind,
				 ob->cfg->templates.dir, tmpl_kind);
	/* The English one is broken too (or missing): both are named. */
	(void)tmpl_set_find_checked(ob->set, tmpl_kind, it->queue, "en", &en);
	if (en && en != it->broken)
		return xasprintf("%s; %s", tmpl_problem(it->broken), tmpl_problem(en));
	return xstrdup(tmpl_problem(it->broken));
}

/* it, for which no template works, goes into the outbox held (outbox_hold)
 * with what outbound_release_held needs to render it once one does: the
 * ticket, the message it answers, its recipients, and in data the lines
 * "queue=ID" and "followup=yes|". It counts for the RFC 3834 limits as
 * the mail itself would have. */
static int
hold_item(struct outbound *ob, struct store *s, const struct item *it, const char *tmpl_kind,
	  struct autolog *log, struct ingest_result *tally, struct err *e)
{
	struct buf rcpts = BUF_INIT;
	char *reason = held_reason(ob, it, tmpl_kind);
	char *why = xasprintf("held: template error: %s", reason);
	char *data = xasprintf("queue=%s\nfollowup=%s\n", it->queue ? it->queue : "",
			       it->followup ? "yes" : "");
	char *what = NULL;
	int64_t id = 0;
	int rc = -1;

	for (size_t i = 0; i < it->c.nto; i++) {
		if (i)
			buf_addch(&rcpts, ',');
		buf_addstr(&rcpts, it->c.to[i].addr);
	}
	if (outbox_hold(s, it->c.ticket_id, it->inquiry_id, it->c.kind, buf_cstr(&rcpts), data,
			why, &id, e) < 0)
		goto out;
	what = xasprintf("%s, outbox #%lld", it->c.kind, (long long)id);
	if (store_event(s, it->c.ticket_id, "secdesk", "template-held", what, reason, e) < 0)
		goto out;
	for (size_t i = 0; i < it->c.nto; i++)
		if (autolog_add(ob->cfg, s, log, it->c.to[i].addr, false, e) < 0)
			goto out;
	if (it->count_key && autolog_add(ob->cfg, s, log, it->count_key, true, e) < 0)
		goto out;
	tally->held++;
	rc = 0;
out:
	buf_release(&rcpts);
	free(reason);
	free(why);
	free(data);
	free(what);
	return rc;
}

/* ---- recording ---- */

/* Records the built acknowledgement it, held when no template works, or
 * that it could not be built (counted in tally). */
static int
ack_record(struct outbound *ob, struct store *s, const struct item *it, struct autolog *log,
	   struct ingest_result *tally, struct err *e)
{
	struct err ce;
	int rc;

	if (!it->c.t)
		return hold_item(ob, s, it, "ack", log, tally, e);
	rc = item_record(ob, s, it, NULL, &ce, e);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		/* Mail we cannot answer well is not answered at all. */
		tally->acks_suppressed++;
		tally->problems++;
		return ticket_flag_problem(s, it->c.ticket_id, "ack-failed", ce.msg, e);
	}
	if (autolog_add(ob->cfg, s, log, it->to[0].addr, false, e) < 0 ||
	    fallback_note(s, it, tally, e) < 0)
		return -1;
	tally->acks_queued++;
	return 0;
}

/* Records the built partner notice it, held when no template works, or
 * why there is none. */
static int
notice_record(struct outbound *ob, struct store *s, const struct item *it, struct autolog *log,
	      struct ingest_result *tally, struct err *e)
{
	struct err ce;
	int rc;

	if (!it->c.t && it->broken)
		return hold_item(ob, s, it, "partner", log, tally, e);
	if (!it->c.t) {
		/* No partner template shipped: staff see it in the history. */
		return store_event(s, it->c.ticket_id, "secdesk", "notice-skipped", NULL,
				   "no partner template", e);
	}
	rc = item_record(ob, s, it, NULL, &ce, e);
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
	if (store_event(s, it->c.ticket_id, "secdesk", "notified", NULL, it->queue_id, e) < 0 ||
	    fallback_note(s, it, tally, e) < 0)
		return -1;
	tally->notices_queued++;
	return 0;
}

int
notice_queue_ack(struct outbound *ob, struct store *s, const struct ticket *t,
		 const struct message *m, int64_t message_id, bool followup,
		 struct ingest_result *tally, struct autolog *log, struct err *e)
{
	struct item it;
	int rc;

	memset(&it, 0, sizeof(it));
	ack_prepare(ob, t, m, message_id, followup, &it);
	item_build(ob, t, m, &it);
	rc = ack_record(ob, s, &it, log, tally, e);
	item_release(&it);
	return rc;
}

/* Builds and records the prepared notice it: its attachments listed (and
 * carried, [notice] attach), then as notice_record says. */
static int
notice_send(struct outbound *ob, struct store *s, const struct ticket *t,
	    const struct message *m, struct item *it, struct ingest_result *tally,
	    struct autolog *log, struct err *e)
{
	int rc;

	if (it->need & NEED(V_ATTACHMENTS) || ob->cfg->notice.attach_max) {
		if (notice_attachments(ob, s, it, e) < 0)
			return -1;
	}
	item_build(ob, t, m, it);
	if (it->rc == 0 && it->c.t && it->ncarry && notice_carry(it, s, &ob->built.msg, e) < 0) {
		built_reset(&ob->built);
		return -1;
	}
	rc = notice_record(ob, s, it, log, tally, e);
	/* The log holds the item's counter key: written before it goes. */
	if (rc == 0)
		rc = autolog_flush(ob->cfg, s, log, e);
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
	if (notice_prepare(ob, t, quote_of, &it))
		rc = notice_send(ob, s, t, m, &it, tally, log, e);
	item_release(&it);
	return rc;
}

/* The moved notice to old_queue's contacts, when it has any and a
 * "moved" template works. */
static int
notice_moved(struct outbound *ob, struct store *s, const struct ticket *t,
	     const struct message *m, const char *old_queue, const char *old_name,
	     struct autolog *log, struct err *e)
{
	struct notice_plan own, *pl = plan_find(ob, old_queue, &own);
	const struct queue *q = ob->rules ? rules_queue(ob->rules, old_queue) : NULL;
	struct item it;
	struct err ce;
	int rc = 0;

	memset(&it, 0, sizeof(it));
	if (pl->nto == 0)
		goto out;
	it.to = pl->to;
	it.to_shared = true;
	it.routed_from = old_name;
	it.c = (struct compose){
		.kind = "notice",
		.ticket_id = t->id,
		.ref = it.ref,
		.t = tmpl_set_find_checked(ob->set, "moved", old_queue, q ? q->language : NULL,
					   &it.broken),
		.to = it.to,
		.nto = pl->nto,
		.automatic = true,
		.reply_to_desk = true,
	};
	if (!it.c.t) {
		rc = store_event(s, t->id, "secdesk", "notice-skipped", old_queue,
				 "no moved template", e);
		goto out;
	}
	it.need = template_needs(ob, it.c.t);
	item_build(ob, t, m, &it);
	rc = item_record(ob, s, &it, NULL, &ce, e);
	if (rc > 0)
		rc = ticket_flag_problem(s, t->id, "notice-failed", ce.msg, e);
	else if (rc == 0)
		for (size_t i = 0; rc == 0 && i < it.c.nto; i++)
			rc = autolog_add(ob->cfg, s, log, it.c.to[i].addr, false, e);
	if (rc == 0)
		rc = store_event(s, t->id, "secdesk", "notified-moved", NULL, pl->queue_id, e);
out:
	if (pl == &own)
		free(own.to);
	it.to = NULL;
	item_release(&it);
	return rc < 0 ? -1 : 0;
}

int
notice_queue_route(struct outbound *ob, struct store *s, const struct ticket *t,
		   const struct message *m, int64_t quote_of, const char *old_queue,
		   struct ingest_result *tally, struct autolog *log, struct err *e)
{
	const struct queue *oq = ob->rules ? rules_queue(ob->rules, old_queue) : NULL;
	const char *old_name = oq && oq->name && *oq->name ? oq->name : old_queue;
	struct item it;
	int rc = 0;

	memset(&it, 0, sizeof(it));
	if (notice_prepare(ob, t, quote_of, &it)) {
		const struct queue *q = ob->rules ? rules_queue(ob->rules, t->queue) : NULL;
		const struct tmpl *broken = NULL;
		const struct tmpl *rt = tmpl_set_find_checked(ob->set, "reroute", t->queue,
							      q ? q->language : NULL, &broken);

		/* Without a working reroute template, the first notice's. */
		if (rt) {
			it.c.t = rt;
			it.broken = broken;
			it.need = template_needs(ob, rt);
		}
		it.routed_from = old_name;
		rc = ticket_answered(s, t->id, &it.answered, e);
		if (rc == 0)
			rc = notice_send(ob, s, t, m, &it, tally, log, e);
	}
	item_release(&it);
	if (rc == 0 && old_queue && *old_queue)
		rc = notice_moved(ob, s, t, m, old_queue, old_name, log, e);
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

/* ---- held mail released ---- */

/* The value of "key=value" in the lines of a held mail's data, a copy ("" when
 * missing). */
static char *
held_value(const char *data, size_t len, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = data, *end = data + len; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);

		if (l > kl && memcmp(p, key, kl) == 0 && p[kl] == '=')
			return xstrndup(p + kl + 1, l - kl - 1);
		p += l + 1;
	}
	return xstrdup("");
}

/* The recipients of held mail row (its rcpts, split in place), into it:
 * the requester by name. */
static void
held_rcpts(struct outbox_item *row, const struct ticket *t, struct item *it)
{
	size_t n = 1;

	for (const char *p = row->rcpts; *p; p++)
		n += *p == ',';
	it->to = xcalloc(n, sizeof(*it->to));
	it->c.nto = 0;
	for (char *p = row->rcpts, *comma; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (!*p)
			continue;
		if (!it->to_name && strcasecmp(p, t->requester) == 0) {
			it->to_name = clean_name(t->requester_name);
			it->to[it->c.nto].name = it->to_name;
		}
		it->to[it->c.nto++].addr = p;
	}
	it->c.to = it->to;
}

/* Held mail row about t (for a notice, t's queue is the one it was made
 * for), answering or quoting m, made ready to build into it as when it was
 * new: false when still no template works for it. */
static bool
held_prepare(struct outbound *ob, struct outbox_item *row, const struct ticket *t,
	     const struct message *m, bool followup, struct item *it)
{
	bool ack = strcmp(row->kind, "ack") == 0;

	it->c = (struct compose){
		.kind = ack ? "ack" : "notice",
		.ticket_id = t->id,
		.ref = it->ref,
		.automatic = true,
		.reply_to_desk = !ack,
		.in_reply_to = ack ? m->message_id : NULL,
		.refs = ack ? &m->references : NULL,
		.elide = ack ? NULL : "quoted",
		.quote_of = ack ? 0 : row->quote_of,
	};
	if (ack) {
		it->c.t = tmpl_set_find_checked(ob->set, "ack", t->queue, t->language, &it->broken);
	} else {
		const struct queue *q = ob->rules ? rules_queue(ob->rules, t->queue) : NULL;

		it->c.t = tmpl_set_find_checked(ob->set, "partner", t->queue,
						q ? q->language : NULL, &it->broken);
	}
	if (!it->c.t)
		return false;
	held_rcpts(row, t, it);
	it->followup = followup;
	it->need = template_needs(ob, it->c.t);
	return true;
}

/* Builds and queues held mail row prepared in it, or flags its ticket when
 * this mail cannot be built, as when it was new; either way the held row
 * goes, told in the ticket's history. -1 on store errors. */
static int
held_requeue(struct outbound *ob, struct store *s, const struct outbox_item *row,
	     const struct ticket *t, const struct message *m, struct item *it, struct err *e)
{
	struct err ce;
	int64_t id = 0;
	char *what, *now = NULL;
	int rc;

	item_build(ob, t, m, it);
	rc = item_record(ob, s, it, &id, &ce, e);
	if (rc < 0)
		return -1;
	if (rc > 0)
		rc = ticket_flag_problem(s, t->id, strcmp(it->c.kind, "ack") == 0 ? "ack-failed"
						   : "notice-failed", ce.msg, e);
	else
		now = xasprintf("outbox #%lld", (long long)id);
	what = xasprintf("%s, outbox #%lld", it->c.kind, (long long)row->id);
	if (rc < 0 || outbox_drop_held(s, row->id, e) < 0 ||
	    store_event(s, t->id, "secdesk", "template-released", what, now, e) < 0 ||
	    (id && fallback_note(s, it, &(struct ingest_result){ 0 }, e) < 0))
		rc = -1;
	free(what);
	free(now);
	return rc;
}

/* Renders and queues held mail row when a template works for it now: 1
 * when released, 0 when it stays held; -1 on store errors. */
static int
release_one(struct outbound *ob, struct store *s, struct outbox_item *row, struct err *e)
{
	struct ticket t;
	struct message m;
	struct item it;
	char *queue = held_value(row->data, row->len, "queue");
	char *followup = held_value(row->data, row->len, "followup");
	int rc = -1;

	ticket_init(&t);
	message_init(&m);
	memset(&it, 0, sizeof(it));
	if (ticket_load(s, row->ticket_id, &t, e) < 0 ||
	    (row->quote_of > 0 && outbox_load_message(s, row->quote_of, &m, e) < 0))
		goto out;
	if (strcmp(row->kind, "ack") != 0 && *queue) {
		/* A notice is about the queue it was made for. */
		free(t.queue);
		t.queue = xstrdup(queue);
	}
	rc = 0;
	if (held_prepare(ob, row, &t, &m, *followup != '\0', &it))
		rc = held_requeue(ob, s, row, &t, &m, &it, e) < 0 ? -1 : 1;
out:
	free(queue);
	free(followup);
	item_release(&it);
	message_release(&m);
	ticket_release(&t);
	return rc;
}

int
outbound_release_held(struct outbound *ob, struct store *s, int *released, int *held,
		      struct err *e)
{
	struct outbox_item *rows = NULL;
	size_t n = 0;
	int rc = 0;

	*released = *held = 0;
	if (outbox_held(s, &rows, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int r = release_one(ob, s, &rows[i], e);

		if (r < 0)
			rc = -1;
		else if (r)
			(*released)++;
		else
			(*held)++;
	}
	for (size_t i = 0; i < n; i++)
		outbox_item_release(&rows[i]);
	free(rows);
	return rc;
}
