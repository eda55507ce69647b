/* The store's outbound area (outbox.h): what every backend shares (the
 * back-off, the ticket flagged when a mail fails) and the dispatch to the
 * backend's table (outbox_ops.h). */
#include "compat.h"

#include <stdbool.h>

#include "backend.h"
#include "buf.h"
#include "message_ops.h"
#include "outbox_ops.h"
#include "ticket.h"
#include "xalloc.h"

#define BACKOFF_MAX (24 * 3600)

/* sqlite_core.c names the backends' tables weakly, which gives the linker
 * no reason to take them out of libsecdesk.a (the unit tests): this does. */
static const void *const keep_backend_tables[] __attribute__((used)) = {
	&sqlite_outbox_ops,
};

void
outbox_item_release(struct outbox_item *it)
{
	free(it->kind);
	free(it->env_from);
	free(it->rcpts);
	free(it->data);
	memset(it, 0, sizeof(*it));
}

int
outbox_queue(struct store *s, int64_t ticket_id, int64_t message_id, const char *kind,
	     const char *env_from, const char *rcpts, const char *data, size_t len,
	     int64_t *id_r, struct err *e)
{
	return outbox_queue_quoting(s, ticket_id, message_id, kind, env_from, rcpts, data, len,
				    0, 0, id_r, e);
}

int
outbox_queue_quoting(struct store *s, int64_t ticket_id, int64_t message_id, const char *kind,
		     const char *env_from, const char *rcpts, const char *data, size_t len,
		     int64_t quote_of, int64_t quote_at, int64_t *id_r, struct err *e)
{
	return s->ops->outbox->queue(s, ticket_id, message_id, kind, env_from, rcpts, data, len,
				     quote_of, quote_at, store_now(), id_r, e);
}

int
outbox_set_next_try(struct store *s, int64_t id, int64_t when, struct err *e)
{
	return s->ops->outbox->set_next_try(s, id, when, e);
}

int
outbox_due(struct store *s, bool all, int64_t now, int64_t after_id, size_t max,
	   int64_t **ids, size_t *n, struct err *e)
{
	return s->ops->outbox->due(s, all, now, after_id, max, ids, n, e);
}

int
outbox_load(struct store *s, int64_t id, struct outbox_item *it, struct err *e)
{
	return s->ops->outbox->load(s, id, it, e);
}

int
outbox_mark_sent(struct store *s, int64_t id, struct err *e)
{
	return s->ops->outbox->mark_sent(s, id, store_now(), e);
}

int64_t
outbox_backoff(int attempts, int retry_base)
{
	int64_t d = retry_base > 0 ? retry_base : 1;

	for (int i = 1; i < attempts && d < BACKOFF_MAX; i++)
		d *= 2;
	return d < BACKOFF_MAX ? d : BACKOFF_MAX;
}

int
outbox_mark_failed(struct store *s, int64_t id, const char *reply, bool permanent,
		   int max_attempts, int retry_base, struct err *e)
{
	int64_t ticket_id = 0, now = store_now();
	int attempts = 0;
	int found = s->ops->outbox->attempts(s, id, &ticket_id, &attempts, e);

	if (found <= 0)
		return found;
	attempts++;
	if (max_attempts > 0 && attempts >= max_attempts)
		permanent = true;
	if (s->ops->outbox->mark_attempt(s, id, permanent, attempts,
					 permanent ? now : now + outbox_backoff(attempts, retry_base),
					 reply, e) < 0)
		return -1;
	if (permanent && ticket_id > 0) {
		char what[64];

		snprintf(what, sizeof(what), "outbox #%lld", (long long)id);
		if (ticket_add_flags(s, ticket_id, TICKET_FLAG_SEND_FAILED, e) < 0 ||
		    store_event(s, ticket_id, "secdesk", "send-failed", what, reply, e) < 0)
			return -1;
	}
	return 0;
}

/* Appends to the delivered and rejected columns. */
static int
add_outcome(struct store *s, int64_t id, const char *delivered,
	    const struct outbox_refusal *rej, size_t nrej, struct err *e)
{
	struct buf lines = BUF_INIT;
	int rc;

	for (size_t i = 0; i < nrej; i++)
		buf_addf(&lines, "%s %s\n", rej[i].addr, rej[i].reply ? rej[i].reply : "");
	rc = s->ops->outbox->add_outcome(s, id, delivered, buf_cstr(&lines), e);
	buf_release(&lines);
	return rc;
}

int
outbox_add_rejected(struct store *s, int64_t id, const struct outbox_refusal *rej, size_t nrej,
		    struct err *e)
{
	return nrej ? add_outcome(s, id, NULL, rej, nrej, e) : 0;
}

/* Flags ticket_id for the refusals of outbox row id, one event each. */
static int
flag_refusals(struct store *s, int64_t ticket_id, int64_t id, const struct outbox_refusal *rej,
	      size_t nrej, struct err *e)
{
	char what[64];

	snprintf(what, sizeof(what), "outbox #%lld", (long long)id);
	if (ticket_add_flags(s, ticket_id, TICKET_FLAG_SEND_FAILED, e) < 0)
		return -1;
	for (size_t i = 0; i < nrej; i++) {
		char *v = xasprintf("%s: %s", rej[i].addr, rej[i].reply ? rej[i].reply : "");
		int rc = store_event(s, ticket_id, "secdesk", "send-rejected", what, v, e);

		free(v);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
outbox_mark_partial(struct store *s, int64_t id, const char *delivered,
		    const struct outbox_refusal *rej, size_t nrej, const char *deferred,
		    const char *defer_reply, int max_attempts, int retry_base, struct err *e)
{
	struct err ignored = ERR_INIT;
	int64_t ticket_id = 0;
	int attempts;
	bool done = !deferred || !*deferred;

	/* A sent row: rcpts took it on its last attempt, delivered before.
	 * A pending row: rcpts are still to try. */
	if (add_outcome(s, id, done ? NULL : delivered, rej, nrej, e) < 0 ||
	    s->ops->outbox->set_rcpts(s, id, done ? delivered : deferred, e) < 0)
		return -1;
	/* A row that cannot be read has no ticket to flag. */
	if (s->ops->outbox->attempts(s, id, &ticket_id, &attempts, &ignored) < 0)
		ticket_id = 0;
	if (nrej && ticket_id > 0 && flag_refusals(s, ticket_id, id, rej, nrej, e) < 0)
		return -1;
	if (done)
		return outbox_mark_sent(s, id, e);
	return outbox_mark_failed(s, id, defer_reply, false, max_attempts, retry_base, e);
}

/* ---- the rest of the area: dispatch ---- */

int
outbox_list(struct store *s, bool all, int (*each)(void *arg, const struct outbox_row *row),
	    void *arg, struct err *e)
{
	return s->ops->outbox->list(s, all, each, arg, e);
}

int
outbox_lookup(struct store *s, int64_t id, struct outbox_ref *ref, struct err *e)
{
	return s->ops->outbox->lookup(s, id, ref, e);
}

int
outbox_set_lazy_commits(struct store *s, bool lazy, struct err *e)
{
	return s->ops->outbox->set_lazy_commits(s, lazy, e);
}

void
outbox_ref_release(struct outbox_ref *ref)
{
	free(ref->kind);
	free(ref->rcpts);
	free(ref->message_id);
	memset(ref, 0, sizeof(*ref));
}

int
outbox_record_message(struct store *s, const struct outgoing_message *m, int64_t *id_r,
		      struct err *e)
{
	/* The one way a message row is written, as for received mail. */
	struct store_message_row row = {
		.ticket_id = m->ticket_id,
		.direction = "out",
		.kind = m->kind,
		.from_name = m->from_name,
		.from_addr = m->from_addr,
		.to_addrs = m->to,
		.cc_addrs = m->cc,
		.subject = m->subject,
		.has_date = true,
		.date = m->date,
		.message_id = m->message_id,
		.in_reply_to = m->in_reply_to ? m->in_reply_to : "",
		.refs = m->refs,
		.body = m->body,
		.names = m->names,
		.created = m->date,
	};

	return s->ops->message->add_message(s, &row, id_r, e);
}

int
outbox_ticket_acked(struct store *s, int64_t ticket_id, bool *acked, struct err *e)
{
	return s->ops->outbox->ticket_acked(s, ticket_id, acked, e);
}

int
outbox_message_body(struct store *s, int64_t id, char **body, struct err *e)
{
	return s->ops->outbox->message_body(s, id, body, e);
}

int
outbox_pick_message(struct store *s, int64_t ticket_id, unsigned skip_flags,
		    bool (*pick)(void *arg, const char *from, const char *to, const char *cc),
		    void *arg, int64_t *id_r, struct err *e)
{
	return s->ops->outbox->pick_message(s, ticket_id, skip_flags, pick, arg, id_r, e);
}

int
outbox_load_message(struct store *s, int64_t id, struct message *m, struct err *e)
{
	return s->ops->outbox->load_message(s, id, m, e);
}

int
outbox_auto_log(struct store *s, const char *const *addrs, size_t n, int64_t at,
		struct err *e)
{
	return n ? s->ops->outbox->auto_log(s, addrs, n, at, e) : 0;
}

int
outbox_auto_count(struct store *s, int64_t minute, int64_t n, struct err *e)
{
	return s->ops->outbox->auto_count(s, minute, n, e);
}

int
outbox_auto_logged(struct store *s, const char *addr, int64_t since, int64_t *n,
		   struct err *e)
{
	return s->ops->outbox->auto_logged(s, addr, since, n, e);
}

int
outbox_auto_counted(struct store *s, int64_t minute, int64_t *n, struct err *e)
{
	return s->ops->outbox->auto_counted(s, minute, n, e);
}

int
outbox_auto_record(struct store *s, const char *const *addrs, size_t n, int64_t at,
		   int64_t minute, int64_t mails, struct err *e)
{
	if (s->ops->outbox->auto_record)
		return n || mails > 0
			? s->ops->outbox->auto_record(s, addrs, n, at, minute, mails, e)
			: 0;
	if (outbox_auto_log(s, addrs, n, at, e) < 0)
		return -1;
	return mails > 0 ? outbox_auto_count(s, minute, mails, e) : 0;
}

int
outbox_auto_recent(struct store *s, const char *addr, int64_t since, int64_t minute,
		   int64_t *logged, int64_t *counted, struct err *e)
{
	*logged = 0;
	if (counted)
		*counted = 0;
	if (s->ops->outbox->auto_recent && (addr || counted))
		return s->ops->outbox->auto_recent(s, addr, since, minute, logged, counted, e);
	if (addr && outbox_auto_logged(s, addr, since, logged, e) < 0)
		return -1;
	return counted ? outbox_auto_counted(s, minute, counted, e) : 0;
}

int
outbox_auto_prune(struct store *s, int64_t log_before, int64_t count_before, struct err *e)
{
	return s->ops->outbox->auto_prune(s, log_before, count_before, e);
}

int
outbox_state_get(struct store *s, const char *key, int64_t *value, struct err *e)
{
	return s->ops->outbox->state_get(s, key, value, e);
}

int
outbox_state_set(struct store *s, const char *key, int64_t value, struct err *e)
{
	return s->ops->outbox->state_set(s, key, value, e);
}

int
outbox_open_digest(struct store *s, const char *key, int64_t due_after, int64_t *id_r,
		   struct err *e)
{
	return s->ops->outbox->open_digest(s, key, due_after, id_r, e);
}

int
outbox_digest_entries(struct store *s, int64_t outbox_id,
		      int (*each)(void *arg, const struct digest_entry *d), void *arg,
		      struct err *e)
{
	return s->ops->outbox->digest_entries(s, outbox_id, each, arg, e);
}

int
outbox_waiting_tickets(struct store *s, const struct strlist *statuses, unsigned skip_flags,
		       int (*each)(void *arg, const struct waiting_ticket *t), void *arg,
		       struct err *e)
{
	return s->ops->outbox->waiting_tickets(s, statuses, skip_flags, each, arg, e);
}

int
outbox_first_word_after(struct store *s, int64_t ticket_id, int64_t after, int64_t *since,
			struct err *e)
{
	return s->ops->outbox->first_word_after(s, ticket_id, after, since, e);
}

int
outbox_ticket_tags(struct store *s, int64_t ticket_id, struct strlist *out, struct err *e)
{
	return s->ops->outbox->ticket_tags(s, ticket_id, out, e);
}

/* ---- held mail ---- */

int
outbox_hold(struct store *s, int64_t ticket_id, int64_t answers, const char *kind,
	    const char *rcpts, const char *data, const char *why, int64_t *id_r, struct err *e)
{
	return s->ops->outbox->hold(s, ticket_id, answers, kind, rcpts, data, why, store_now(),
				    id_r, e);
}

int
outbox_held(struct store *s, struct outbox_item **items, size_t *n, struct err *e)
{
	return s->ops->outbox->held(s, items, n, e);
}

int
outbox_drop_held(struct store *s, int64_t id, struct err *e)
{
	return s->ops->outbox->drop_held(s, id, e);
}

/* ---- staff's hands on queued mail ---- */

/* A backend whose table predates these operations says so. */
static int
staff_ops_missing(struct store *s, struct err *e)
{
	const struct store_outbox_ops *o = s->ops->outbox;

	if (o->row_state && o->staff_hold && o->cancel)
		return 0;
	return err_set(e, EXIT_SOFTWARE, "the %s store cannot hold or cancel outbox mail",
		       store_backend(s));
}

/* Row id's state, or EXIT_DATAERR when there is none. */
static int
staff_row(struct store *s, int64_t id, struct outbox_state *st, struct err *e)
{
	int found = s->ops->outbox->row_state(s, id, st, e);

	if (found < 0)
		return -1;
	if (found == 0)
		return err_set(e, EXIT_DATAERR, "there is no outbox mail %lld", (long long)id);
	if (strcmp(st->status, "sent") == 0)
		return err_set(e, EXIT_DATAERR, "outbox mail %lld was sent already", (long long)id);
	if (strcmp(st->status, "failed") == 0)
		return err_set(e, EXIT_DATAERR, "outbox mail %lld failed for good: it is not in "
			       "the queue", (long long)id);
	return 0;
}

/* Why row st cannot be held or released by staff; NULL when it can. */
static const char *
staff_hold_refusal(const struct outbox_state *st, bool hold)
{
	if (!st->has_message && strcmp(st->status, "held") == 0)
		return "is held for a template error (the next run sends it once the template "
		       "is fixed)";
	if (!st->has_message)
		return "is not a ticket's mail (a digest or a reminder): it can be cancelled, "
		       "not held";
	if (hold && strcmp(st->status, "held") == 0)
		return "is held already";
	if (!hold && strcmp(st->status, "held") != 0)
		return "is not held";
	return NULL;
}

int
outbox_staff_hold(struct store *s, int64_t id, bool hold, const char *who, struct err *e)
{
	struct outbox_state st;
	const char *refusal;
	char *why;
	bool changed = false;
	int rc;

	if (staff_ops_missing(s, e) < 0 || staff_row(s, id, &st, e) < 0)
		return -1;
	refusal = staff_hold_refusal(&st, hold);
	if (refusal)
		return err_set(e, EXIT_DATAERR, "outbox mail %lld %s", (long long)id, refusal);
	why = xasprintf("held by %s", who);
	rc = s->ops->outbox->staff_hold(s, id, hold, why, store_now(), &changed, e);
	free(why);
	if (rc < 0)
		return -1;
	if (!changed)
		return err_set(e, EXIT_TEMPFAIL, "outbox mail %lld changed meanwhile: try again",
			       (long long)id);
	if (st.ticket_id == 0)
		return 0;
	return store_event(s, st.ticket_id, who, hold ? "outbox-held" : "outbox-released", st.kind,
			   NULL, e);
}

int
outbox_staff_cancel(struct store *s, int64_t id, const char *who, struct err *e)
{
	struct outbox_state st;
	struct outbox_ref ref;
	bool changed = false;
	int rc;

	if (staff_ops_missing(s, e) < 0 || staff_row(s, id, &st, e) < 0)
		return -1;
	if (outbox_lookup(s, id, &ref, e) < 0)
		return -1;
	rc = s->ops->outbox->cancel(s, id, &changed, e);
	if (rc == 0 && !changed)
		rc = err_set(e, EXIT_TEMPFAIL, "outbox mail %lld changed meanwhile: try again",
			     (long long)id);
	if (rc == 0 && st.ticket_id)
		rc = store_event(s, st.ticket_id, who, "outbox-cancelled", st.kind, ref.rcpts, e);
	outbox_ref_release(&ref);
	return rc;
}

int
outbox_message_raw(struct store *s, int64_t message_id, char **raw, size_t *len, struct err *e)
{
	*raw = NULL;
	*len = 0;
	if (!s->ops->outbox->message_raw)
		return 0;
	return s->ops->outbox->message_raw(s, message_id, raw, len, e);
}

void
outbox_add_refs(struct message *m, const char *refs)
{
	for (const char *p = refs; *p;) {
		size_t l = strcspn(p, " ");

		if (l)
			strlist_add_owned(&m->references, xstrndup(p, l));
		p += l;
		p += strspn(p, " ");
	}
}
