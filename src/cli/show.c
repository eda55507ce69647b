/* secdesk show ID: one ticket as a readable thread - its messages in the
 * order they reached the store, each with direction, from/to and local
 * date, the body wrapped to the terminal (quote markers kept), its
 * attachments, and the history's events between them at their time.
 * --json gives the same as one document; a row that cannot be written as
 * JSON is an error, never silently left out. */
#include "compat.h"

#include <getopt.h>

#include "attach.h"
#include "buf.h"
#include "cli.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_show(int argc, char **argv, struct cli_ctx *ctx);

static json_t *
message_flags_json(unsigned flags)
{
	static const char *const names[] = { "parse-error", "bounce", "autoreply", "list",
					     "oversize", "truncated", "spam", "poison",
					     "message-id-reused", "dmarc-fail" };
	json_t *a = json_array();

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (flags & (1u << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}

static json_t *
time_json(int64_t t)
{
	char buf[32];

	fmt_time_utc(t, buf, sizeof(buf));
	return json_string(buf);
}

/* Correspondence with a partner (their mail in, our notification out). */
static bool
kind_partner(const char *kind)
{
	return strcmp(kind, "partner") == 0 || strcmp(kind, "notice") == 0;
}

/* Mail no person wrote: acknowledgements, notices, reminders, and the
 * auto-replies and bounces that came in. */
static bool
kind_automatic(const char *kind)
{
	static const char *const names[] = { "ack", "notice", "remind", "autoreply", "bounce" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(kind, names[i]) == 0)
			return true;
	return false;
}

static const char *
kind_label(const char *kind)
{
	static const struct {
		const char *kind, *label;
	} labels[] = {
		{ "inquiry", "inquiry" },
		{ "followup", "follow-up" },
		{ "partner", "partner correspondence" },
		{ "bounce", "bounce (automatic)" },
		{ "autoreply", "automatic reply" },
		{ "ack", "acknowledgement (automatic)" },
		{ "notice", "partner notification (automatic)" },
		{ "reply", "staff reply" },
		{ "remind", "reminder (automatic)" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(labels); i++)
		if (strcmp(kind, labels[i].kind) == 0)
			return labels[i].label;
	return kind;
}

/* ---- the history, loaded first so that it can be woven into the thread */

struct show_event {
	int64_t at;
	char *who, *what, *old, *new_;
};

struct show_events {
	struct show_event *v;
	size_t n, cap, next;
};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void
events_free(struct show_events *evs)
{
	for (size_t i = 0; i < evs->n; i++) {
		free(evs->v[i].who);
		free(evs->v[i].what);
		free(evs->v[i].old);
		free(evs->v[i].new_);
	}
	free(evs->v);
}

static int
event_add(void *arg, const struct ticket_event *in, struct err *e)
{
	struct show_events *evs = arg;
	struct show_event *ev;

	(void)e;
	if (evs->n == evs->cap) {
		evs->cap = evs->cap ? evs->cap * 2 : 16;
		evs->v = xreallocarray(evs->v, evs->cap, sizeof(*evs->v));
	}
	ev = &evs->v[evs->n++];
	ev->at = in->at;
	ev->who = xstrdup(in->who);
	ev->what = xstrdup(in->what);
	ev->old = dup_or_null(in->old_value);
	ev->new_ = dup_or_null(in->new_value);
	return 0;
}

static int
events_json(int64_t id, const struct show_events *evs, json_t *arr, struct err *e)
{
	for (size_t i = 0; i < evs->n; i++) {
		const struct show_event *ev = &evs->v[i];
		char at[32];
		json_error_t je;
		json_t *j;

		fmt_time_utc(ev->at, at, sizeof(at));
		j = json_pack_ex(&je, 0, "{s:s, s:s, s:s, s:s?, s:s?}", "at", at, "who", ev->who,
				 "what", ev->what, "old", ev->old, "new", ev->new_);
		if (!j)
			return err_set(e, EXIT_DATAERR,
				       "ticket #%lld: event %zu cannot be written as JSON: %s",
				       (long long)id, i + 1, je.text);
		json_array_append_new(arr, j);
	}
	return 0;
}

/* Events up to (before) the time `until`; all when until is INT64_MAX.
 * *gap asks for a blank line first (after a message's text). */
static void
events_print(struct show_events *evs, int64_t until, bool *gap, struct buf *tmp)
{
	for (; evs->next < evs->n && evs->v[evs->next].at < until; evs->next++) {
		const struct show_event *ev = &evs->v[evs->next];
		char when[32];

		/* The message itself is in the thread. */
		if (strcmp(ev->what, "message") == 0)
			continue;
		if (*gap)
			putchar('\n');
		*gap = false;
		fmt_time_local(ev->at, when, sizeof(when));
		buf_reset(tmp);
		buf_addf(tmp, "%s %s: %s", when, cli_esc(ev->who), cli_esc(ev->what));
		if (ev->old)
			buf_addf(tmp, " %s ->", cli_esc(ev->old));
		if (ev->new_)
			buf_addf(tmp, " %s", cli_esc(ev->new_));
		{
			struct buf w = BUF_INIT;

			cli_wrap(buf_cstr(tmp), cli_width(), "  * ", &w);
			printf("%s%s%s", cli_sgr(CLI_DIM), buf_cstr(&w), cli_sgr(CLI_RESET));
			buf_release(&w);
		}
	}
}

/* ---- messages */

static json_t *
message_json(int64_t id, const struct ticket_message *msg, struct err *e)
{
	json_error_t je;
	json_t *m = json_pack_ex(&je, 0,
		"{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, s:b, s:b}",
		"id", (json_int_t)msg->id, "direction", msg->direction,
		"kind", msg->kind, "from", msg->from_addr, "from_name", msg->from_name,
		"to", msg->to_addrs, "cc", msg->cc_addrs, "subject", msg->subject,
		"date", msg->has_date ? time_json(msg->date) : json_null(),
		"message_id", msg->message_id, "in_reply_to", msg->in_reply_to, "body", msg->body,
		"flags", message_flags_json(msg->flags),
		"received", time_json(msg->created),
		"partner", kind_partner(msg->kind),
		"automatic", kind_automatic(msg->kind));
	json_t *note;

	if (!m) {
		err_set(e, EXIT_DATAERR, "ticket #%lld: message %lld cannot be written as JSON: %s",
			(long long)id, (long long)msg->id, je.text);
		return NULL;
	}
	if (msg->parse_note) {
		note = json_string(msg->parse_note);
		if (!note) {
			json_decref(m);
			err_set(e, EXIT_DATAERR,
				"ticket #%lld: message %lld cannot be written as JSON: its parse"
				" note is not UTF-8", (long long)id, (long long)msg->id);
			return NULL;
		}
		json_object_set_new(m, "parse_note", note);
	}
	return m;
}

static void
print_addr_line(const char *label, const char *value)
{
	if (*value)
		printf("%s%-8s%s %s\n", cli_sgr(CLI_BOLD), label, cli_sgr(CLI_RESET),
		       cli_esc(value));
}

static void
message_print(int64_t ticket, const struct ticket_message *m, const struct attach_info *atts,
	      size_t natts, struct buf *tmp)
{
	const char *kind = m->kind;
	bool in = strcmp(m->direction, "in") == 0;
	int64_t t = m->has_date ? m->date : m->created;
	int64_t mid = m->id;
	char when[32];
	bool any = false;

	fmt_time_local(t, when, sizeof(when));
	buf_reset(tmp);
	buf_addf(tmp, "--- %s  %-3s  %s%s ", when, in ? "in" : "out",
		 kind_partner(kind) ? "[partner] " : "", cli_esc(kind_label(kind)));
	/* A rule to the width (the text before it is ASCII). */
	for (size_t n = tmp->len; n < (size_t)cli_width(); n++)
		buf_addch(tmp, '-');
	printf("\n%s%s", cli_sgr(kind_partner(kind) ? CLI_MAGENTA : CLI_CYAN), buf_cstr(tmp));
	printf("%s\n", cli_sgr(CLI_RESET));
	buf_reset(tmp);
	buf_addstr(tmp, m->from_addr);
	if (*m->from_name) {
		buf_reset(tmp);
		buf_addf(tmp, "%s <%s>", m->from_name, m->from_addr);
	}
	print_addr_line("From:", buf_cstr(tmp));
	print_addr_line("To:", m->to_addrs);
	print_addr_line("Cc:", m->cc_addrs);
	print_addr_line("Subject:", m->subject);
	if (m->flags) {
		json_t *f = message_flags_json(m->flags);
		size_t i;
		json_t *v;

		buf_reset(tmp);
		json_array_foreach(f, i, v)
			buf_addf(tmp, "%s%s", i ? ", " : "", json_string_value(v));
		json_decref(f);
		printf("%s%-8s %s%s\n", cli_sgr(CLI_RED), "Flags:", buf_cstr(tmp), cli_sgr(CLI_RESET));
	}
	if (m->parse_note)
		printf("%s%-8s %s%s\n", cli_sgr(CLI_RED), "Note:", cli_esc(m->parse_note),
		       cli_sgr(CLI_RESET));
	for (size_t i = 0; i < natts; i++) {
		if (atts[i].message_row_id != mid)
			continue;
		if (!any)
			printf("%s%-8s%s (secdesk attachment %lld N)\n", cli_sgr(CLI_BOLD),
			       "Attached:", cli_sgr(CLI_RESET), (long long)ticket);
		any = true;
		printf("  %zu. %s (%s, %lld bytes)%s\n", i + 1,
		       *atts[i].filename ? cli_esc(atts[i].filename) : "(no name)",
		       cli_esc(atts[i].content_type),
		       (long long)atts[i].size,
		       atts[i].sha256 ? "" : " - not kept: over the size limit");
	}
	putchar('\n');
	buf_reset(tmp);
	/* Escaped before wrapping, so that the wrap counts what is shown. */
	cli_wrap(cli_esc_lines(m->body), cli_width(), "  ", tmp);
	fputs(buf_cstr(tmp), stdout);
}

struct thread {
	int64_t id;
	struct show_events *evs;
	json_t *msgs; /* NULL: print */
	const struct attach_info *atts;
	size_t natts;
	struct buf tmp;
	bool gap;
};

static int
thread_message(void *arg, const struct ticket_message *m, struct err *e)
{
	struct thread *th = arg;

	if (th->msgs) {
		json_t *j = message_json(th->id, m, e);

		if (!j)
			return -1;
		json_array_append_new(th->msgs, j);
		return 0;
	}
	/* Events of the same second come after the message that caused them. */
	events_print(th->evs, m->created, &th->gap, &th->tmp);
	message_print(th->id, m, th->atts, th->natts, &th->tmp);
	th->gap = true;
	return 0;
}

static int
show_thread(struct cli_ctx *ctx, int64_t id, struct show_events *evs, json_t *msgs,
	    const struct attach_info *atts, size_t natts, struct err *e)
{
	struct thread th = { id, evs, msgs, atts, natts, BUF_INIT, false };
	int rc = ticket_messages(ctx->store, id, thread_message, &th, e);

	/* What follows the last message, even when a read failed. */
	if (!msgs)
		events_print(evs, INT64_MAX, &th.gap, &th.tmp);
	buf_release(&th.tmp);
	return rc;
}

/* Numbered as `secdesk attachment ID N` takes them. */
static int
attachments_json(int64_t id, const struct attach_info *list, size_t n, json_t *arr,
		 struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		json_error_t je;
		json_t *j = json_pack_ex(&je, 0, "{s:I, s:I, s:s, s:s, s:I, s:b}",
			"n", (json_int_t)(i + 1), "message", (json_int_t)list[i].message_row_id,
			"filename", list[i].filename, "content_type", list[i].content_type,
			"size", (json_int_t)list[i].size, "kept", list[i].sha256 != NULL);

		if (!j)
			return err_set(e, EXIT_DATAERR,
				       "ticket #%lld: attachment %zu cannot be written as JSON: %s",
				       (long long)id, i + 1, je.text);
		json_array_append_new(arr, j);
	}
	return 0;
}

/* The closed ticket t follows up (its mail came after that one was
 * closed), 0 when none: a possible follow-up is only named, not followed. */
static int64_t
follow_up_of(const struct ticket *t)
{
	return (t->flags & TICKET_FLAG_FOLLOWUP) ? 0 : t->related_to;
}

/* The tickets this closed one was continued in, from its history, in turn
 * to each (ids as "#N" in the events' new value). */
static void
each_continuation(const struct show_events *evs, void (*each)(void *arg, int64_t id),
		  void *arg)
{
	for (size_t i = 0; i < evs->n; i++) {
		long long n;

		if (strcmp(evs->v[i].what, "continued-in") == 0 && evs->v[i].new_ &&
		    sscanf(evs->v[i].new_, "#%lld", &n) == 1 && n > 0)
			each(arg, n);
	}
}

static void
continuation_print(void *arg, int64_t id)
{
	(void)arg;
	printf("Continued in #%lld (mail came after this ticket was closed)\n", (long long)id);
}

static void
continuation_json(void *arg, int64_t id)
{
	json_array_append_new(arg, json_integer(id));
}

static void
header_print(const struct ticket *t, const struct show_events *evs, size_t natts)
{
	char created[32], updated[32], flags[128];
	const char *b = cli_sgr(CLI_BOLD), *r = cli_sgr(CLI_RESET);

	fmt_time_local(t->created, created, sizeof(created));
	fmt_time_local(t->updated, updated, sizeof(updated));
	ticket_flags_str(t->flags, flags, sizeof(flags));
	printf("%sTicket #%lld%s  %s%s%s\n", cli_sgr(CLI_YELLOW), (long long)t->id, r, b,
	       cli_esc(t->subject), r);
	printf("Status:    %s%s%s\n", cli_status_sgr(t->status), cli_esc(t->status), r);
	printf("Queue:     %s\nCategory:  %s\nPriority:  %s\n", cli_esc(t->queue),
	       cli_esc(t->category), cli_esc(t->priority));
	printf("Language:  %s\nRequester: %s%s%s%s\nAssignee:  %s\n",
	       *t->language ? cli_esc(t->language) : "-", cli_esc(t->requester_name),
	       *t->requester_name ? " <" : "", cli_esc(t->requester),
	       *t->requester_name ? ">" : "", *t->assignee ? cli_esc(t->assignee) : "-");
	printf("Tags:      ");
	for (size_t i = 0; i < t->tags.n; i++)
		printf("%s%s", i ? ", " : "", cli_esc(t->tags.items[i]));
	printf("%s\nCreated:   %s\nUpdated:   %s\n", t->tags.n ? "" : "-", created, updated);
	if (*flags)
		printf("Flags:     %s%s%s\n", cli_sgr(CLI_RED), flags, r);
	if (natts)
		printf("Attached:  %zu file%s (secdesk attachment %lld N writes one out)\n", natts,
		       natts == 1 ? "" : "s", (long long)t->id);
	if (t->merged_into)
		printf("Merged into #%lld\n", (long long)t->merged_into);
	if (follow_up_of(t))
		printf("Follow-up of #%lld (written to it after it was closed)\n",
		       (long long)follow_up_of(t));
	else if (t->related_to)
		printf("Possible follow-up of #%lld (it names that ticket, was not added to it)\n",
		       (long long)t->related_to);
	each_continuation(evs, continuation_print, NULL);
}

/* Who gets the staff replies besides the requester. */
static json_t *
watchers_json(const struct strlist *w)
{
	json_t *a = json_array();

	for (size_t i = 0; i < w->n; i++)
		json_array_append_new(a, json_string(w->items[i]));
	return a;
}

static void
watchers_print(const struct strlist *w)
{
	if (w->n == 0)
		return;
	printf("Watchers:  ");
	for (size_t i = 0; i < w->n; i++)
		printf("%s%s", i ? ", " : "", cli_esc(w->items[i]));
	putchar('\n');
}

int
cmd_show(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct err e = ERR_INIT;
	struct ticket t;
	struct show_events evs = { NULL, 0, 0, 0 };
	struct strlist watchers = STRLIST_INIT;
	struct attach_info *atts = NULL;
	size_t natts = 0;
	json_t *doc = NULL, *msgs = NULL, *evj = NULL, *attj = NULL;
	bool json = false;
	int64_t id;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c != 'j')
			return cli_usage(argv[0]);
		json = true;
	}
	if (optind != argc - 1 || (id = cli_ticket_arg(argv[0], argv[optind])) < 0)
		return cli_usage(argv[0]);
	if (ticket_load(ctx->store, id, &t, &e) < 0)
		return cli_fail(&e);
	if (attach_list(ctx->store, id, &atts, &natts, &e) < 0 ||
	    ticket_events(ctx->store, id, event_add, &evs, &e) < 0 ||
	    ticket_watchers(ctx->store, id, &watchers, &e) < 0)
		goto fail;
	if (json) {
		doc = cli_ticket_json(&t);
		if (!doc) {
			err_set(&e, EXIT_DATAERR, "ticket #%lld cannot be written as JSON",
				(long long)id);
			goto fail;
		}
		msgs = json_array();
		evj = json_array();
		attj = json_array();
		json_object_set_new(doc, "messages", msgs);
		json_object_set_new(doc, "attachments", attj);
		json_object_set_new(doc, "events", evj);
		json_object_set_new(doc, "related_to",
				    t.related_to ? json_integer(t.related_to) : json_null());
		json_object_set_new(doc, "follow_up_of",
				    follow_up_of(&t) ? json_integer(follow_up_of(&t)) : json_null());
		json_object_set_new(doc, "continued_in", json_array());
		each_continuation(&evs, continuation_json, json_object_get(doc, "continued_in"));
		json_object_set_new(doc, "watchers", watchers_json(&watchers));
		if (show_thread(ctx, id, &evs, msgs, atts, natts, &e) < 0 ||
		    attachments_json(id, atts, natts, attj, &e) < 0 ||
		    events_json(id, &evs, evj, &e) < 0)
			goto fail;
		rc = cli_print_json(doc);
		doc = NULL;
	} else {
		header_print(&t, &evs, natts);
		watchers_print(&watchers);
		if (show_thread(ctx, id, &evs, NULL, atts, natts, &e) < 0)
			goto fail;
	}
out:
	json_decref(doc);
	attach_list_free(atts, natts);
	events_free(&evs);
	strlist_release(&watchers);
	ticket_release(&t);
	return rc;
fail:
	rc = cli_fail(&e);
	goto out;
}
