/* The delivery of the outbox through a transport (send.h): what is due,
 * built whole where it was queued by reference, handed on, and each
 * outcome recorded (outbound_send in outbound.h). */
#include "compat.h"

#include "clock.h"
#include "outbound_int.h"
#include "send.h"
#include "verp.h"
#include "xalloc.h"

/* Over a transport whose resend replaces (dir:), delivery marks are
 * committed in groups, after the transport's sync: a group is at most
 * this many mails or this many milliseconds. Over the others each mail's
 * mark is committed before the next mail goes, without waiting for the
 * disk (a kill loses nothing committed, a power cut at most the last
 * marks, whose mails then go again), and every this many marks and at the
 * end with it. */
#define SEND_GROUP_MAX 64
#define SEND_GROUP_MS 250
/* Ids read from the outbox at once. */
#define SEND_BATCH 500

/* ---- mails queued incomplete: built at delivery ---- */

/* The header block of it (with its CRLF) and the text after the empty line
 * (unencoded); EXIT_DATAERR when there is no empty line. */
static int
split_queued(const struct outbox_item *it, const char *what, size_t *head_len,
	     const char **text, size_t *text_len, struct err *e)
{
	const char *sep = memmem(it->data, it->len, "\r\n\r\n", 4);

	if (!sep)
		return err_set(e, EXIT_DATAERR, "queued %s #%lld has no body", what,
			       (long long)it->id);
	*head_len = (size_t)(sep - it->data) + 2;
	*text = sep + 4;
	*text_len = it->len - *head_len - 2;
	return 0;
}

/* it's data becomes its header block and text, the text encoded. */
static int
encode_queued(struct outbox_item *it, size_t head_len, const struct buf *text, struct err *e)
{
	struct buf out = BUF_INIT;

	buf_grow(&out, head_len + text->len + text->len / 8 + 256);
	buf_add(&out, it->data, head_len);
	if (mime_text_body(&out, buf_cstr(text), e) < 0) {
		buf_release(&out);
		return -1;
	}
	free(it->data);
	it->len = out.len;
	it->data = buf_detach(&out, NULL);
	return 0;
}

/* Puts the quoted text of a stored message back into a mail queued by
 * reference (struct outbox_item in outbox.h), and encodes its body: the
 * bytes composing the mail whole would have given, since stored messages
 * never change. EXIT_DATAERR when it cannot be built (the mail then fails
 * for good); store errors otherwise. */
static int
build_quoting(struct store *s, struct outbox_item *it, struct err *e)
{
	struct buf text = BUF_INIT;
	size_t head_len, text_len, qlen;
	const char *text0;
	char *body = NULL, *quoted;
	int rc;

	if (split_queued(it, "mail", &head_len, &text0, &text_len, e) < 0)
		return -1;
	if (it->quote_at < 0 || (size_t)it->quote_at > text_len)
		return err_set(e, EXIT_DATAERR, "queued mail #%lld: its quote is out of place",
			       (long long)it->id);
	rc = outbox_message_body(s, it->quote_of, &body, e);
	if (rc <= 0)
		return rc < 0 ? -1 : err_set(e, EXIT_DATAERR, "queued mail #%lld: the message it"
					     " quotes (#%lld) is gone", (long long)it->id,
					     (long long)it->quote_of);
	quoted = quote_text(body, NOTICE_BODY_MAX, &qlen);
	free(body);
	buf_grow(&text, text_len + qlen + 1);
	buf_add(&text, text0, (size_t)it->quote_at);
	buf_add(&text, quoted, qlen);
	buf_add(&text, text0 + it->quote_at, text_len - (size_t)it->quote_at);
	free(quoted);
	rc = encode_queued(it, head_len, &text, e);
	buf_release(&text);
	return rc;
}

struct digest_list {
	struct buf *text;
	int n;
};

static int
list_inquiry(void *arg, const struct digest_entry *d)
{
	struct digest_list *l = arg;
	const char *name = d->requester_name;

	buf_addf(l->text, "  Inquiry #%lld: %s\n    from %s%s<%s>\n\n", (long long)d->ticket_id,
		 d->subject, name ? name : "", name && *name ? " " : "", d->requester);
	l->n++;
	return 0;
}

/* Puts the list of the inquiries held for digest it (events 'notice-held'
 * naming it) after its opening text, and encodes its body. EXIT_DATAERR
 * when it cannot be built. */
static int
build_digest(struct store *s, struct outbox_item *it, struct err *e)
{
	struct buf text = BUF_INIT;
	struct digest_list l = { &text, 0 };
	size_t head_len, text_len;
	const char *text0;
	int rc;

	if (split_queued(it, "digest", &head_len, &text0, &text_len, e) < 0)
		return -1;
	buf_add(&text, text0, text_len);
	rc = outbox_digest_entries(s, it->id, list_inquiry, &l, e);
	if (rc == 0) {
		buf_addf(&text, "%d inquir%s. To answer one, reply to the desk with its number in "
			 "the subject.\n", l.n, l.n == 1 ? "y" : "ies");
		rc = encode_queued(it, head_len, &text, e);
	}
	buf_release(&text);
	return rc;
}

/* Notices and replies go out with the desk's bounce address (verp.h) so
 * that a dead partner address bounces back onto the ticket; the others
 * keep the envelope sender they were queued with. */
static int
use_bounce_address(const struct config *cfg, struct store *s, struct outbox_item *it,
		   struct err *e)
{
	struct err ve = ERR_INIT;
	char *verp;

	if (!verp_kind(it->kind))
		return 0;
	verp = verp_sender(s, cfg->desk.address, it->id, &ve);
	if (!verp) {
		if (ve.code)
			*e = ve;
		return ve.code ? -1 : 0;
	}
	free(it->env_from);
	it->env_from = verp;
	return 0;
}

/* ---- the outcomes ---- */

/* The outcome of one mail, recorded with its group. A partial delivery
 * (some recipients refused or deferred) has delivered and deferred set;
 * rej holds the recipients refused for good, for either kind. */
struct mark {
	int64_t id;
	enum send_status st;
	char *reply;
	bool partial;
	char *delivered;
	char *deferred;
	struct outbox_refusal *rej;
	size_t nrej;
	int ndeferred;
};

static void
mark_release(struct mark *m)
{
	free(m->reply);
	free(m->delivered);
	free(m->deferred);
	for (size_t i = 0; i < m->nrej; i++) {
		free((char *)m->rej[i].addr);
		free((char *)m->rej[i].reply);
	}
	free(m->rej);
	memset(m, 0, sizeof(*m));
}

/* Fills m from the per-recipient outcome of a delivery. */
static void
mark_recipients(struct mark *m, const struct send_mail *sm)
{
	struct buf del = BUF_INIT, def = BUF_INIT;

	for (size_t i = 0; i < sm->nrcpts; i++) {
		switch (sm->rcpt_status[i]) {
		case SEND_OK:
			buf_addf(&del, "%s%s", del.len ? "," : "", sm->rcpts[i]);
			break;
		case SEND_DEFER:
			buf_addf(&def, "%s%s", def.len ? "," : "", sm->rcpts[i]);
			if (!m->reply)
				m->reply = xasprintf("RCPT TO:<%s>: %s", sm->rcpts[i],
						     sm->rcpt_reply[i] ? sm->rcpt_reply[i] : "");
			m->ndeferred++;
			break;
		default:
			m->rej = xreallocarray(m->rej, m->nrej + 1, sizeof(*m->rej));
			m->rej[m->nrej].addr = xstrdup(sm->rcpts[i]);
			m->rej[m->nrej].reply = xstrdup(sm->rcpt_reply[i] ? sm->rcpt_reply[i] : "");
			m->nrej++;
			break;
		}
	}
	if (m->st == SEND_OK && (m->nrej || m->ndeferred)) {
		m->partial = true;
		m->delivered = buf_detach(&del, NULL);
		m->deferred = buf_detach(&def, NULL);
	}
	buf_release(&del);
	buf_release(&def);
}

/* Records one outcome in the open transaction. */
static int
mark_record(const struct config *cfg, struct store *s, const struct mark *m, struct err *e)
{
	int rc = 0;

	if (m->partial)
		return outbox_mark_partial(s, m->id, m->delivered, m->rej, m->nrej, m->deferred,
					   m->reply, cfg->send.max_attempts, cfg->send.retry_base,
					   e);
	if (m->st == SEND_OK)
		return outbox_mark_sent(s, m->id, e);
	/* A deferred mail is tried again whole: its refusals are recorded
	 * when it ends. */
	if (m->st == SEND_REJECT)
		rc = outbox_add_rejected(s, m->id, m->rej, m->nrej, e);
	if (rc == 0)
		rc = outbox_mark_failed(s, m->id, m->reply, m->st == SEND_REJECT,
					cfg->send.max_attempts, cfg->send.retry_base, e);
	return rc;
}

static void
mark_count(const struct mark *m, struct send_stats *stats)
{
	if (m->st == SEND_OK)
		stats->sent++;
	else if (m->st == SEND_REJECT)
		stats->failed++;
	else
		stats->deferred++;
	if (m->partial) {
		stats->rcpts_rejected += (int)m->nrej;
		stats->rcpts_deferred += m->ndeferred;
	}
}

/* ---- the loop ---- */

struct delivery {
	const struct config *cfg;
	struct store *s;
	struct send_stats *stats;
	struct transport *tr; /* opened at the first mail due */
	bool grouped;
	bool lazy;            /* commits do not wait for the disk */
	int lazy_commits;     /* since the last that did */
	struct mark marks[SEND_GROUP_MAX];
	size_t nmarks;
	double group_start;
	/* The recipients of one mail and their outcomes, grown as needed. */
	const char **rcpts;
	enum send_status *rstat;
	char **rreply;
};

/* Whether the next commit waits for the disk: when durable is true, or
 * when enough lazy commits went before. Set outside a transaction (SQLite
 * takes it there only). */
static int
choose_durability(struct delivery *d, bool durable, bool *synced, struct err *e)
{
	*synced = d->lazy && (durable || ++d->lazy_commits >= SEND_GROUP_MAX);
	if (!*synced)
		return 0;
	d->lazy_commits = 0;
	return outbox_set_lazy_commits(d->s, false, e);
}

/* Records the outcomes of a group in one transaction, once the transport
 * made the mails durable; with durable, on disk when it returns. */
static int
flush_marks(struct delivery *d, bool durable, struct err *e)
{
	struct err ignored = ERR_INIT;
	bool synced = false;
	int rc = 0;

	if (d->nmarks == 0)
		return 0;
	if (send_sync(d->tr, e) < 0 || choose_durability(d, durable, &synced, e) < 0 ||
	    store_begin(d->s, e) < 0) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < d->nmarks && rc == 0; i++)
		rc = mark_record(d->cfg, d->s, &d->marks[i], e);
	if (rc < 0 || store_commit(d->s, e) < 0) {
		store_rollback(d->s);
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < d->nmarks; i++)
		mark_count(&d->marks[i], d->stats);
out:
	if (synced && outbox_set_lazy_commits(d->s, true, rc < 0 ? &ignored : e) < 0)
		rc = -1;
	for (size_t i = 0; i < d->nmarks; i++)
		mark_release(&d->marks[i]);
	d->nmarks = 0;
	return rc;
}

/* Splits "a,b" in place into rcpts. */
static size_t
split_rcpts(char *list, const char **rcpts, size_t max)
{
	size_t n = 0;

	for (char *p = list; *p && n < max;) {
		char *end;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		end = p + strcspn(p, ",");
		rcpts[n++] = p;
		if (*end)
			*end++ = '\0';
		p = end;
	}
	return n;
}

/* The mail it, made whole where it was queued incomplete: 0, or -1 with
 * EXIT_DATAERR in de when it cannot be (it then fails for good) and with
 * another code in e on store errors. */
static int
build_whole(struct store *s, struct outbox_item *it, struct err *de, struct err *e)
{
	int rc = it->quote_of > 0		? build_quoting(s, it, de)
		 : strcmp(it->kind, "digest") == 0 ? build_digest(s, it, de)
						   : 0;

	if (rc < 0 && de->code != EXIT_DATAERR)
		*e = *de;
	return rc;
}

/* Hands it to the transport: its status, with the recipients' outcomes in
 * sm (whose arrays d holds) and the mail's reason in de. */
static enum send_status
hand_on(struct delivery *d, struct outbox_item *it, bool built, struct send_mail *sm,
	struct err *de)
{
	size_t maxr = strlen(it->rcpts) / 2 + 1;

	d->rcpts = xreallocarray(d->rcpts, maxr, sizeof(*d->rcpts));
	d->rstat = xreallocarray(d->rstat, maxr, sizeof(*d->rstat));
	d->rreply = xreallocarray(d->rreply, maxr, sizeof(*d->rreply));
	memset(sm, 0, sizeof(*sm));
	sm->id = it->id;
	sm->env_from = it->env_from;
	sm->rcpts = d->rcpts;
	sm->nrcpts = split_rcpts(it->rcpts, d->rcpts, maxr);
	sm->data = it->data;
	sm->len = it->len;
	for (size_t r = 0; r < sm->nrcpts; r++) {
		d->rstat[r] = SEND_OK;
		d->rreply[r] = NULL;
	}
	sm->rcpt_status = d->rstat;
	sm->rcpt_reply = d->rreply;
	if (!built)
		return SEND_REJECT;
	if (sm->nrcpts == 0) {
		err_set(de, EXIT_DATAERR, "no recipient");
		return SEND_REJECT;
	}
	return send_deliver(d->tr, sm, de);
}

/* Adds the outcome of mail id to the group. A group is recorded when it is
 * full or old, and at once for failures and partial deliveries; a mark
 * over an ungrouped transport before the next mail goes (deliver_one). */
static int
add_mark(struct delivery *d, int64_t id, enum send_status ss, const struct send_mail *sm,
	 const struct err *de, struct err *e)
{
	struct mark *mk;

	if (d->nmarks == 0)
		d->group_start = clock_mono();
	mk = &d->marks[d->nmarks++];
	memset(mk, 0, sizeof(*mk));
	mk->id = id;
	mk->st = ss;
	mark_recipients(mk, sm);
	if (ss != SEND_OK) {
		/* The mail's own reason, not a recipient's. */
		free(mk->reply);
		mk->reply = xstrdup(de->msg);
	}
	if (d->grouped && (d->nmarks == SEND_GROUP_MAX || ss != SEND_OK || mk->partial ||
			   (clock_mono() - d->group_start) * 1000 >= SEND_GROUP_MS))
		return flush_marks(d, false, e);
	return 0;
}

/* Delivers outbox row id when it is still pending. -1 on store errors, and
 * with EXIT_TEMPFAIL when the connection is gone (what went out is
 * recorded; the rest stays queued). */
static int
deliver_one(struct delivery *d, int64_t id, struct err *e)
{
	struct outbox_item it;
	struct send_mail sm;
	struct err de = ERR_INIT;
	enum send_status ss;
	int rc, built;

	/* The previous mail's mark, before this one goes. */
	if (!d->grouped && flush_marks(d, false, e) < 0)
		return -1;
	rc = outbox_load(d->s, id, &it, e);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = -1;
	if (use_bounce_address(d->cfg, d->s, &it, e) < 0)
		goto out;
	built = build_whole(d->s, &it, &de, e);
	if (built < 0 && de.code != EXIT_DATAERR)
		goto out;
	ss = hand_on(d, &it, built == 0, &sm, &de);
	if (ss == SEND_CONN) {
		err_set(e, EXIT_TEMPFAIL, "%s", de.msg);
		(void)flush_marks(d, true, e);
	} else {
		rc = add_mark(d, id, ss, &sm, &de, e);
	}
	for (size_t r = 0; r < sm.nrcpts; r++)
		free(d->rreply[r]);
out:
	outbox_item_release(&it);
	return rc;
}

/* The rate-limit log only needs its last day, the counts their last
 * hours; a failure here costs nothing but room. */
static void
prune_autolog(const struct config *cfg, struct store *s)
{
	struct err ignored = ERR_INIT;
	int64_t now = store_now();

	if (store_begin(s, &ignored) < 0)
		return;
	if (outbox_auto_prune(s, now - 2 * 86400 - (int64_t)cfg->ack.per_sender_window,
			      (now - 2 * 3600) / 60, &ignored) < 0 ||
	    store_commit(s, &ignored) < 0)
		store_rollback(s);
}

static int
open_transport(struct delivery *d, struct err *e)
{
	struct err ignored = ERR_INIT;

	if (send_open(d->cfg, &d->tr, e) < 0)
		return -1;
	d->grouped = send_resend_replaces(d->tr);
	/* Where that cannot be, each commit waits for the disk, as before. */
	if (!d->grouped)
		d->lazy = outbox_set_lazy_commits(d->s, true, &ignored) == 0;
	return 0;
}

/* Delivers what is due, SEND_BATCH ids at a time. */
static int
deliver_due(struct delivery *d, bool all, struct err *e)
{
	int64_t *ids = NULL, last = 0;
	size_t n = 0;
	int rc = 0;

	for (;;) {
		free(ids);
		ids = NULL;
		if (outbox_due(d->s, all, store_now(), last, SEND_BATCH, &ids, &n, e) < 0) {
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		if (!d->tr && open_transport(d, e) < 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < n && rc == 0; i++) {
			last = ids[i];
			rc = deliver_one(d, ids[i], e);
		}
		if (rc < 0)
			break;
	}
	free(ids);
	return rc;
}

int
outbound_send(const struct config *cfg, struct store *s, bool all, struct send_stats *st,
	      struct err *e)
{
	struct delivery d = { .cfg = cfg, .s = s, .stats = st };
	struct err ignored = ERR_INIT;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = deliver_due(&d, all, e);
	if (rc == 0)
		rc = flush_marks(&d, true, e);
	else if (!d.grouped)
		(void)flush_marks(&d, true, &ignored); /* the mail that went out */
	if (d.lazy && outbox_set_lazy_commits(s, false, rc < 0 ? &ignored : e) < 0)
		rc = -1;
	for (size_t i = 0; i < d.nmarks; i++)
		mark_release(&d.marks[i]);
	free(d.rcpts);
	free(d.rstat);
	free(d.rreply);
	send_close(&d.tr);
	if (rc == 0)
		prune_autolog(cfg, s);
	return rc;
}
