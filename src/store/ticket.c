/* Tickets: the face of the ticket operations (ticket_ops.h): validation,
 * and each triage change recorded as an event, for every backend. */
#include "compat.h"

#include <jansson.h>

#include "backend.h"
#include "ticket.h"
#include "ticket_ops.h"
#include "xalloc.h"

static const char *const statuses[] = { "new", "open", "pending", "resolved", "closed" };

/* The columns a caller may change with ticket_set_field(). */
static const char *const settable[] = { "status", "queue", "category", "priority",
					"language", "assignee", "subject" };

void
ticket_init(struct ticket *t)
{
	memset(t, 0, sizeof(*t));
}

void
ticket_release(struct ticket *t)
{
	free(t->status);
	free(t->queue);
	free(t->category);
	free(t->priority);
	free(t->language);
	free(t->subject);
	free(t->requester);
	free(t->requester_name);
	free(t->assignee);
	strlist_release(&t->tags);
	ticket_init(t);
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void
ticket_copy(struct ticket *dst, const struct ticket *src)
{
	ticket_release(dst);
	*dst = *src;
	dst->status = dup_or_null(src->status);
	dst->queue = dup_or_null(src->queue);
	dst->category = dup_or_null(src->category);
	dst->priority = dup_or_null(src->priority);
	dst->language = dup_or_null(src->language);
	dst->subject = dup_or_null(src->subject);
	dst->requester = dup_or_null(src->requester);
	dst->requester_name = dup_or_null(src->requester_name);
	dst->assignee = dup_or_null(src->assignee);
	dst->tags = (struct strlist)STRLIST_INIT;
	for (size_t i = 0; i < src->tags.n; i++)
		strlist_add(&dst->tags, src->tags.items[i]);
}

bool
ticket_status_valid(const char *status)
{
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		if (strcmp(statuses[i], status) == 0)
			return true;
	return false;
}

int
ticket_flag_problem(struct store *s, int64_t id, const char *what, const char *reason,
		    struct err *e)
{
	if (ticket_add_flags(s, id, TICKET_FLAG_PROCESSING, e) < 0)
		return -1;
	return store_event(s, id, "secdesk", what, NULL, reason, e);
}

int
ticket_load(struct store *s, int64_t id, struct ticket *t, struct err *e)
{
	int rc;

	ticket_init(t);
	rc = s->ops->ticket->load(s, id, t, e);
	if (rc < 0) {
		ticket_release(t);
		return -1;
	}
	if (rc > 0)
		return err_set(e, EXIT_DATAERR, "no ticket #%lld", (long long)id);
	return 0;
}

int
ticket_load_many(struct store *s, const int64_t *ids, size_t n, struct ticket *out,
		 struct err *e)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		ticket_init(&out[i]);
	if (!s->ops->ticket->load_many) {
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = ticket_load(s, ids[i], &out[i], e);
	} else if ((rc = s->ops->ticket->load_many(s, ids, n, out, e)) > 0) {
		for (size_t i = 0; i < n; i++)
			if (out[i].id != ids[i])
				rc = err_set(e, EXIT_DATAERR, "no ticket #%lld", (long long)ids[i]);
	}
	if (rc < 0)
		for (size_t i = 0; i < n; i++)
			ticket_release(&out[i]);
	return rc < 0 ? -1 : 0;
}

int
ticket_touch(struct store *s, int64_t id, struct err *e)
{
	return s->ops->ticket->touch(s, id, store_now(), e);
}

int
ticket_touch_at(struct store *s, int64_t id, int64_t when, struct err *e)
{
	return s->ops->ticket->touch(s, id, when, e);
}

/* The current value of a settable field of t. */
static const char *
field_value(const struct ticket *t, const char *field)
{
	if (!strcmp(field, "status"))
		return t->status;
	if (!strcmp(field, "queue"))
		return t->queue;
	if (!strcmp(field, "category"))
		return t->category;
	if (!strcmp(field, "priority"))
		return t->priority;
	if (!strcmp(field, "language"))
		return t->language;
	if (!strcmp(field, "assignee"))
		return t->assignee;
	return t->subject;
}

int
ticket_set_field(struct store *s, int64_t id, const char *field, const char *value,
		 const char *who, struct err *e)
{
	struct ticket t;
	const char *old;
	bool ok = false;
	int rc = 0;

	for (size_t i = 0; i < ARRAY_SIZE(settable); i++)
		if (strcmp(settable[i], field) == 0)
			ok = true;
	if (!ok)
		return err_set(e, EXIT_SOFTWARE, "cannot set ticket field '%s'", field);
	if (strcmp(field, "status") == 0 && !ticket_status_valid(value))
		return err_set(e, EXIT_DATAERR, "'%s' is not a status (new, open, pending, "
			       "resolved, closed)", value);
	if (ticket_load(s, id, &t, e) < 0)
		return -1;
	old = field_value(&t, field);
	if (strcmp(old, value) != 0) {
		if (s->ops->ticket->set_field(s, id, field, value, store_now(), e) < 0 ||
		    store_event(s, id, who, field, old, value, e) < 0)
			rc = -1;
	}
	ticket_release(&t);
	return rc;
}

int
ticket_take(struct store *s, int64_t id, const char *who, struct err *e)
{
	char *holder = NULL;
	bool changed = false;
	int rc = s->ops->ticket->claim(s, id, who, store_now(), &changed, &holder, e);

	if (rc < 0)
		return -1;
	if (rc > 0 && !holder)
		return err_set(e, EXIT_DATAERR, "no ticket #%lld", (long long)id);
	if (rc > 0) {
		err_set(e, EXIT_DATAERR, "ticket #%lld is taken by %s (to take it over: secdesk "
			"assign %lld %s)", (long long)id, holder, (long long)id, who);
		free(holder);
		return -1;
	}
	if (!changed)
		return 0;
	return store_event(s, id, who, "assignee", "", who, e);
}

int
ticket_add_tag(struct store *s, int64_t id, const char *tag, const char *who, struct err *e)
{
	bool added;

	if (!ticket_word_valid(tag))
		return err_set(e, EXIT_DATAERR, "'%s' is not a tag (one word, no commas)", tag);
	if (s->ops->ticket->add_tag(s, id, tag, &added, e) < 0)
		return -1;
	if (!added)
		return 0;
	if (ticket_touch(s, id, e) < 0)
		return -1;
	return store_event(s, id, who, "tag", NULL, tag, e);
}

int
ticket_remove_tag(struct store *s, int64_t id, const char *tag, const char *who,
		  struct err *e)
{
	bool removed;

	if (s->ops->ticket->remove_tag(s, id, tag, &removed, e) < 0)
		return -1;
	if (!removed)
		return 0;
	if (ticket_touch(s, id, e) < 0)
		return -1;
	return store_event(s, id, who, "untag", tag, NULL, e);
}

int
ticket_add_flags(struct store *s, int64_t id, unsigned flags, struct err *e)
{
	return s->ops->ticket->add_flags(s, id, flags, e);
}

int
ticket_watchers(struct store *s, int64_t id, struct strlist *out, struct err *e)
{
	return s->ops->ticket->watchers(s, id, out, e);
}

int
ticket_add_note(struct store *s, int64_t id, const char *text, const char *who,
		struct err *e)
{
	struct ticket t;

	if (ticket_load(s, id, &t, e) < 0)
		return -1;
	ticket_release(&t);
	if (ticket_touch(s, id, e) < 0)
		return -1;
	return store_event(s, id, who, "note", NULL, text, e);
}

static const char *const flag_names[] = { "parse-error", "bounce", "autoreply", "spam",
					  "poison", "send-failed", "possible-followup",
					  "oversize", "processing-error" };

void *
ticket_flags_json(unsigned flags)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++)
		if (flags & (1u << i))
			json_array_append_new(a, json_string(flag_names[i]));
	return a;
}

void
ticket_flags_str(unsigned flags, char *out, size_t n)
{
	size_t off = 0;

	if (n)
		out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(flag_names) && off < n; i++)
		if (flags & (1u << i))
			off += (size_t)snprintf(out + off, n - off, "%s%s", off ? "," : "",
						flag_names[i]);
}

int
ticket_load_live(struct store *s, int64_t id, struct ticket *t, struct err *e)
{
	int64_t into;

	if (ticket_load(s, id, t, e) < 0)
		return -1;
	if (!t->merged_into)
		return 0;
	into = t->merged_into;
	ticket_release(t);
	return err_set(e, EXIT_DATAERR, "ticket #%lld is merged into #%lld: use #%lld",
		       (long long)id, (long long)into, (long long)into);
}

static int
merge_check(struct store *s, int64_t from, int64_t into, struct err *e)
{
	struct ticket a, b;
	int rc = 0;

	if (from == into)
		return err_set(e, EXIT_DATAERR, "cannot merge ticket #%lld into itself",
			       (long long)from);
	if (ticket_load(s, from, &a, e) < 0)
		return -1;
	if (ticket_load(s, into, &b, e) < 0) {
		ticket_release(&a);
		return -1;
	}
	if (a.merged_into)
		rc = err_set(e, EXIT_DATAERR, "ticket #%lld is already merged into #%lld",
			     (long long)from, (long long)a.merged_into);
	else if (b.merged_into)
		rc = err_set(e, EXIT_DATAERR, "ticket #%lld is merged into #%lld: merge into that",
			     (long long)into, (long long)b.merged_into);
	ticket_release(&a);
	ticket_release(&b);
	return rc;
}

int
ticket_merge(struct store *s, int64_t from, int64_t into, const char *who, struct err *e)
{
	char sa[32], sb[32];

	if (merge_check(s, from, into, e) < 0)
		return -1;
	snprintf(sa, sizeof(sa), "%lld", (long long)from);
	snprintf(sb, sizeof(sb), "%lld", (long long)into);
	/* Closed first, while it is still a ticket of its own: its status event
	 * comes before the merge's. */
	if (ticket_set_field(s, from, "status", "closed", who, e) < 0 ||
	    s->ops->ticket->merge(s, from, into, e) < 0 ||
	    store_event(s, from, who, "merged", NULL, sb, e) < 0 ||
	    store_event(s, into, who, "merged-from", NULL, sa, e) < 0 || ticket_touch(s, into, e) < 0)
		return -1;
	return 0;
}

/* ---- reading ---- */

struct hits {
	struct ticket_hit *v;
	size_t n, cap;
};

static int
hit_add(void *arg, int64_t id, bool answered)
{
	struct hits *h = arg;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	h->v[h->n].id = id;
	h->v[h->n++].answered = answered;
	return 0;
}

int
ticket_list(struct store *s, const struct ticket_filter *f, struct ticket_hit **out,
	    size_t *n, struct err *e)
{
	struct hits h = { NULL, 0, 0 };

	*out = NULL;
	*n = 0;
	if (s->ops->ticket->list(s, f, store_now(), hit_add, &h, e) < 0) {
		free(h.v);
		return -1;
	}
	*out = h.v;
	*n = h.n;
	return 0;
}

int
ticket_events(struct store *s, int64_t id, ticket_event_fn *each, void *arg, struct err *e)
{
	return s->ops->ticket->events(s, id, each, arg, e);
}

int
ticket_messages(struct store *s, int64_t id, ticket_message_fn *each, void *arg,
		struct err *e)
{
	return s->ops->ticket->messages(s, id, each, arg, e);
}

int
ticket_first_raws(struct store *s, ticket_raw_fn *each, void *arg, struct err *e)
{
	return s->ops->ticket->first_raws(s, each, arg, e);
}
