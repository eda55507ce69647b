/* The ticket area (ticket.h, ticket_ops.h) on both backends, the same
 * cases: load, set a field with its event (a no-op records nothing), tags,
 * flags, watchers, merge, the list's filters and orders, a ticket's events,
 * messages and first raw mail, and take (one's own again changes nothing;
 * another's is refused, naming who has it).
 *
 * Several hosts at once (issue 17), each writer a process of its own: two
 * staff taking one ticket, one wins and the other is told who has it; two
 * staff changing one ticket, the second change waits for the first and
 * its event starts from the first's value (no lost update). On PostgreSQL
 * the second writer is seen waiting before the first commits; SQLite
 * serialises writers whole (BEGIN IMMEDIATE), so there the second runs
 * after the first. PostgreSQL runs in a private server
 * (tests/harness/pg.sh); one that cannot start fails the test. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sha256.h"
#include "store.h"
#include "store_message.h"
#include "ticket.h"
#include "xalloc.h"

#include "unit.h"
#include "pg_unit.h"
#include "backend.h"
#include "message_ops.h"
#include "ticket_ops.h"

#define NOW 2000000000

struct new_ticket {
	const char *status, *queue, *category, *priority, *requester, *assignee;
	int64_t created, updated;
};

static int64_t
make_ticket(struct store *s, const struct new_ticket *n)
{
	struct ticket t;
	struct err e = ERR_INIT;
	int64_t id;

	ticket_init(&t);
	t.status = xstrdup(n->status ? n->status : "new");
	t.queue = xstrdup(n->queue ? n->queue : TICKET_DEFAULT_QUEUE);
	t.category = xstrdup(n->category ? n->category : "general");
	t.priority = xstrdup(n->priority ? n->priority : "normal");
	t.language = xstrdup("en");
	t.subject = xstrdup("a subject");
	t.requester = xstrdup(n->requester ? n->requester : "ann@example.org");
	t.requester_name = xstrdup("Ann");
	t.assignee = xstrdup(n->assignee ? n->assignee : "");
	t.created = n->created ? n->created : NOW - 1000;
	t.updated = n->updated ? n->updated : t.created;
	assert_int_equal(store_message_create_ticket(s, &t, &e), 0);
	id = t.id;
	ticket_release(&t);
	return id;
}

static int64_t
simple_ticket(struct store *s)
{
	return make_ticket(s, &(struct new_ticket){ 0 });
}

/* A message row of ticket id with its raw bytes raw. */
static int64_t
add_message(struct store *s, int64_t ticket_id, const char *direction, const char *kind,
	    const char *from, unsigned flags, int64_t created, const char *raw)
{
	struct err e = ERR_INIT;
	char hex[65];
	int64_t raw_id, id;
	struct store_message_row row = {
		.ticket_id = ticket_id, .direction = direction, .kind = kind, .from_name = "",
		.from_addr = from, .to_addrs = "desk@example.org", .cc_addrs = "",
		.subject = kind, .has_date = created % 2 == 0, .date = created - 5,
		.message_id = "", .in_reply_to = "", .refs = "", .body = raw, .names = "",
		.flags = flags, .parse_note = created % 3 == 0 ? "a note" : NULL,
		.created = created,
	};

	sha256_hex(raw, strlen(raw), hex);
	assert_int_equal(store_message_put_raw(s, raw, strlen(raw), hex, &raw_id, &e), 0);
	row.raw_id = raw_id;
	assert_int_equal(s->ops->message->add_message(s, &row, &id, &e), 0);
	return id;
}

/* The events of ticket id as "who:what:old>new;..." (NULL as "-"). */
struct text {
	char s[1024];
};

static int
event_text(void *arg, const struct ticket_event *ev, struct err *e)
{
	struct text *t = arg;
	size_t n = strlen(t->s);

	(void)e;
	snprintf(t->s + n, sizeof(t->s) - n, "%s%s:%s:%s>%s", n ? ";" : "", ev->who, ev->what,
		 ev->old_value ? ev->old_value : "-", ev->new_value ? ev->new_value : "-");
	return 0;
}

static char *
events_of(struct store *s, int64_t id)
{
	struct text t = { "" };
	struct err e = ERR_INIT;

	assert_int_equal(ticket_events(s, id, event_text, &t, &e), 0);
	return xstrdup(t.s);
}

static void
assert_events(struct store *s, int64_t id, const char *want)
{
	char *got = events_of(s, id);

	if (strcmp(got, want) != 0)
		fail_msg("events of #%lld: expected '%s', got '%s'", (long long)id, want, got);
	free(got);
}

static void
test_load_set_field_tags(void **state)
{
	struct store *s = unit_store_open(state, "ticket_fields", NULL);
	struct err e = ERR_INIT;
	struct ticket t;
	bool changed;
	int64_t id;

	setenv("SECDESK_NOW", "2000000000", 1);
	assert_int_equal(store_begin(s, &e), 0);
	id = simple_ticket(s);
	assert_int_equal(ticket_set_field(s, id, "status", "open", "alice", &e), 0);
	/* The same value again records nothing. */
	assert_int_equal(ticket_set_field(s, id, "status", "open", "alice", &e), 0);
	assert_int_equal(ticket_set_field(s, id, "queue", "o'hara; --", "bob", &e), 0);
	assert_int_equal(ticket_set_field(s, id, "status", "bogus", "bob", &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	assert_int_equal(ticket_set_field(s, id, "requester", "x", "bob", &e), -1);
	assert_int_equal(e.code, EXIT_SOFTWARE);
	assert_int_equal(ticket_add_tag(s, id, "b", "carol", &e), 0);
	assert_int_equal(ticket_add_tag(s, id, "B", "carol", &e), 0);
	assert_int_equal(ticket_add_tag(s, id, "\xc3\xa9t\xc3\xa9", "carol", &e), 0);
	assert_int_equal(ticket_add_tag(s, id, "a", "carol", &e), 0);
	assert_int_equal(ticket_add_tag(s, id, "a", "carol", &e), 0);
	assert_int_equal(ticket_remove_tag(s, id, "b", "carol", &e), 0);
	assert_int_equal(ticket_remove_tag(s, id, "nope", "carol", &e), 0);
	assert_int_equal(ticket_add_flags(s, id, TICKET_FLAG_SPAM, &e), 0);
	assert_int_equal(ticket_add_flags(s, id, TICKET_FLAG_BOUNCE, &e), 0);
	/* A tag of a ticket that does not exist changes nothing. */
	assert_int_equal(s->ops->ticket->add_tag(s, id + 100, "x", &changed, &e), 0);
	assert_false(changed);
	assert_int_equal(store_commit(s, &e), 0);

	assert_int_equal(ticket_load(s, id, &t, &e), 0);
	assert_string_equal(t.status, "open");
	assert_string_equal(t.queue, "o'hara; --");
	assert_string_equal(t.language, "en");
	assert_string_equal(t.requester_name, "Ann");
	assert_int_equal(t.flags, TICKET_FLAG_SPAM | TICKET_FLAG_BOUNCE);
	assert_int_equal(t.updated, NOW);
	assert_int_equal(t.created, NOW - 1000);
	assert_int_equal(t.merged_into, 0);
	assert_int_equal(t.related_to, 0);
	/* Sorted as bytes. */
	assert_int_equal(t.tags.n, 3);
	assert_string_equal(t.tags.items[0], "B");
	assert_string_equal(t.tags.items[1], "a");
	assert_string_equal(t.tags.items[2], "\xc3\xa9t\xc3\xa9");
	ticket_release(&t);
	assert_events(s, id, "alice:status:new>open;bob:queue:secretariat>o'hara; --;"
		      "carol:tag:->b;carol:tag:->B;carol:tag:->\xc3\xa9t\xc3\xa9;carol:tag:->a;"
		      "carol:untag:b>-");
	assert_int_equal(ticket_load(s, id + 100, &t, &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	assert_non_null(strstr(e.msg, "no ticket #"));
	unsetenv("SECDESK_NOW");
	store_close(&s);
}

/* Several tickets at once, in the order asked (one asked twice), each
 * with its own tags, as ticket_load() gives them; a missing one fails the
 * whole, naming it, and leaves nothing loaded. */
static void
test_load_many(void **state)
{
	struct store *s = unit_store_open(state, "ticket_many", NULL);
	struct err e = ERR_INIT;
	struct ticket ts[4], one;
	int64_t a, b, c, ids[4];
	char want[64];

	assert_int_equal(store_begin(s, &e), 0);
	a = simple_ticket(s);
	b = make_ticket(s, &(struct new_ticket){ .status = "open", .queue = "DE" });
	c = simple_ticket(s);
	assert_int_equal(ticket_add_tag(s, b, "z", "carol", &e), 0);
	assert_int_equal(ticket_add_tag(s, b, "a", "carol", &e), 0);
	assert_int_equal(ticket_add_tag(s, c, "x", "carol", &e), 0);
	assert_int_equal(store_commit(s, &e), 0);

	ids[0] = c, ids[1] = a, ids[2] = b, ids[3] = c;
	assert_int_equal(ticket_load_many(s, ids, 4, ts, &e), 0);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(ticket_load(s, ids[i], &one, &e), 0);
		assert_int_equal(ts[i].id, ids[i]);
		assert_string_equal(ts[i].status, one.status);
		assert_string_equal(ts[i].queue, one.queue);
		assert_int_equal(ts[i].tags.n, one.tags.n);
		for (size_t k = 0; k < one.tags.n; k++)
			assert_string_equal(ts[i].tags.items[k], one.tags.items[k]);
		ticket_release(&one);
		ticket_release(&ts[i]);
	}
	assert_int_equal(ticket_load_many(s, ids, 0, ts, &e), 0);

	ids[2] = c + 100;
	assert_int_equal(ticket_load_many(s, ids, 4, ts, &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	snprintf(want, sizeof(want), "no ticket #%lld", (long long)(c + 100));
	assert_string_equal(e.msg, want);
	for (size_t i = 0; i < 4; i++)
		assert_null(ts[i].status);
	store_close(&s);
}

static void
test_merge(void **state)
{
	struct store *s = unit_store_open(state, "ticket_merge", NULL);
	struct strlist w = STRLIST_INIT;
	struct err e = ERR_INIT;
	struct ticket t;
	int64_t from, into, earlier, bounce;

	assert_int_equal(store_begin(s, &e), 0);
	from = make_ticket(s, &(struct new_ticket){ .requester = "Ann@example.org" });
	into = make_ticket(s, &(struct new_ticket){ .requester = "bob@example.org" });
	earlier = simple_ticket(s);
	bounce = make_ticket(s, &(struct new_ticket){ .requester = "mailer-daemon@example.net" });
	/* Ann wrote to the desk herself; the daemon only bounced. */
	add_message(s, from, "in", "inquiry", "ann@EXAMPLE.org", 0, NOW - 900, "m1");
	add_message(s, bounce, "in", "bounce", "mailer-daemon@example.net", MSG_BOUNCE, NOW - 800,
		    "m2");
	assert_int_equal(ticket_add_tag(s, from, "x", "staff", &e), 0);
	assert_int_equal(ticket_add_tag(s, into, "x", "staff", &e), 0);
	assert_int_equal(ticket_add_tag(s, into, "y", "staff", &e), 0);
	assert_int_equal(store_message_add_watcher(s, from, "carol@example.org", &e), 0);
	assert_int_equal(store_message_add_watcher(s, into, "CAROL@example.org", &e), 0);
	assert_int_equal(ticket_merge(s, earlier, from, "staff", &e), 0);
	assert_int_equal(ticket_merge(s, from, into, "staff", &e), 0);
	assert_int_equal(ticket_merge(s, bounce, into, "staff", &e), 0);
	assert_int_equal(ticket_merge(s, into, into, "staff", &e), -1);
	assert_int_equal(ticket_merge(s, from, into, "staff", &e), -1);
	assert_non_null(strstr(e.msg, "already merged"));
	assert_int_equal(store_commit(s, &e), 0);

	assert_int_equal(ticket_load(s, into, &t, &e), 0);
	assert_int_equal(t.tags.n, 2);
	assert_string_equal(t.tags.items[0], "x");
	assert_string_equal(t.tags.items[1], "y");
	ticket_release(&t);
	assert_int_equal(ticket_load(s, from, &t, &e), 0);
	assert_int_equal(t.merged_into, into);
	assert_string_equal(t.status, "closed");
	ticket_release(&t);
	assert_int_equal(ticket_load(s, earlier, &t, &e), 0);
	assert_int_equal(t.merged_into, into);
	ticket_release(&t);
	/* Ann joins (in her own case), the daemon does not; carol once. */
	assert_int_equal(ticket_watchers(s, into, &w, &e), 0);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.items[0], "Ann@example.org");
	assert_string_equal(w.items[1], "CAROL@example.org");
	strlist_release(&w);
	assert_events(s, from, "staff:tag:->x;staff:merged-from:->3;staff:status:new>closed;"
		      "staff:merged:->2");
	store_close(&s);
}

/* ---- list ---- */

struct ids {
	char s[256];
};

static void
assert_list(struct store *s, const struct ticket_filter *f, const char *want)
{
	struct ticket_hit *hits;
	struct err e = ERR_INIT;
	struct ids got = { "" };
	size_t n;

	assert_int_equal(ticket_list(s, f, &hits, &n, &e), 0);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(got.s);

		snprintf(got.s + len, sizeof(got.s) - len, "%s%lld%s", i ? " " : "",
			 (long long)hits[i].id, hits[i].answered ? "*" : "");
	}
	free(hits);
	if (strcmp(got.s, want) != 0)
		fail_msg("list: expected '%s', got '%s'", want, got.s);
}

static void
test_list(void **state)
{
	struct store *s = unit_store_open(state, "ticket_list", NULL);
	struct strlist st = STRLIST_INIT;
	struct err e = ERR_INIT;
	int64_t merged;

	setenv("SECDESK_NOW", "2000000000", 1);
	assert_int_equal(store_begin(s, &e), 0);
	/* 1..5; ids are given in order on both backends. */
	make_ticket(s, &(struct new_ticket){ .queue = "Grants", .category = "Budget",
					     .priority = "high", .created = NOW - 100000,
					     .updated = NOW - 5 });
	make_ticket(s, &(struct new_ticket){ .queue = "grants", .status = "open",
					     .category = "budget", .priority = "low",
					     .assignee = "bob", .created = NOW - 10,
					     .updated = NOW - 1 });
	make_ticket(s, &(struct new_ticket){ .queue = "Other", .status = "closed",
					     .priority = "urgent", .created = NOW - 50000,
					     .updated = NOW - 5 });
	make_ticket(s, &(struct new_ticket){ .queue = "alpha", .status = "pending",
					     .created = NOW - 30000, .updated = NOW - 3 });
	merged = simple_ticket(s);
	assert_int_equal(ticket_add_tag(s, 3, "vip", "staff", &e), 0);
	assert_int_equal(ticket_merge(s, merged, 1, "staff", &e), 0);
	add_message(s, 4, "out", "reply", "desk@example.org", 0, NOW - 20, "r1");
	add_message(s, 2, "out", "ack", "desk@example.org", 0, NOW - 20, "a1");
	assert_int_equal(store_commit(s, &e), 0);
	/* The tag touched 3 and the merge 1 (updated now): newest first,
	 * ties by id the same way. */
	assert_list(s, &(struct ticket_filter){ .descending = true }, "3 1 2 4");
	assert_list(s, &(struct ticket_filter){ .sort = TICKET_SORT_ID }, "1 2 3 4");
	strlist_add(&st, "new");
	strlist_add(&st, "open");
	assert_list(s, &(struct ticket_filter){ .status = &st, .sort = TICKET_SORT_ID }, "1 2");
	strlist_release(&st);
	assert_list(s, &(struct ticket_filter){ .queue = "GRANTS", .sort = TICKET_SORT_ID },
		    "1 2");
	assert_list(s, &(struct ticket_filter){ .assignee = "", .sort = TICKET_SORT_ID },
		    "1 3 4");
	assert_list(s, &(struct ticket_filter){ .assignee = "bob" }, "2");
	assert_list(s, &(struct ticket_filter){ .category = "BUDGET", .sort = TICKET_SORT_ID },
		    "1 2");
	assert_list(s, &(struct ticket_filter){ .tag = "vip" }, "3");
	assert_list(s, &(struct ticket_filter){ .older_than = 40000, .sort = TICKET_SORT_ID },
		    "1 3");
	assert_list(s, &(struct ticket_filter){ .unanswered = true, .sort = TICKET_SORT_ID },
		    "1 2 3");
	assert_list(s, &(struct ticket_filter){ .want_answered = true, .sort = TICKET_SORT_ID },
		    "1 2 3 4*");
	/* Queues in any case: alpha, Grants = grants, Other. */
	assert_list(s, &(struct ticket_filter){ .sort = TICKET_SORT_QUEUE }, "4 1 2 3");
	assert_list(s, &(struct ticket_filter){ .sort = TICKET_SORT_PRIORITY, .descending = true },
		    "3 1 4 2");
	assert_list(s, &(struct ticket_filter){ .sort = TICKET_SORT_STATUS }, "1 2 4 3");
	assert_list(s, &(struct ticket_filter){ .sort = TICKET_SORT_CREATED }, "1 3 4 2");
	assert_list(s, &(struct ticket_filter){ .sort = TICKET_SORT_ID, .limit = 2 }, "1 2");
	assert_list(s, &(struct ticket_filter){ .queue = "o'hara' OR 1=1 --" }, "");
	assert_int_equal(ticket_list(s, &(struct ticket_filter){ .sort = 99 },
				     &(struct ticket_hit *){ NULL }, &(size_t){ 0 }, &e), -1);
	unsetenv("SECDESK_NOW");
	store_close(&s);
}

/* ---- a ticket's thread ---- */

static int
message_text(void *arg, const struct ticket_message *m, struct err *e)
{
	struct text *t = arg;
	size_t n = strlen(t->s);

	(void)e;
	snprintf(t->s + n, sizeof(t->s) - n, "%s%s/%s/%s/%lld/%s/%s/%u", n ? ";" : "",
		 m->direction, m->kind, m->from_addr, m->has_date ? (long long)m->date : -1LL,
		 m->parse_note ? m->parse_note : "-", m->body, m->flags);
	return 0;
}

struct raws {
	struct text t;
	int stop_after;
	int n;
};

static int
raw_text(void *arg, int64_t ticket_id, const char *raw, size_t len, struct err *e)
{
	struct raws *r = arg;
	size_t n = strlen(r->t.s);

	snprintf(r->t.s + n, sizeof(r->t.s) - n, "%s%lld=%.*s", n ? ";" : "",
		 (long long)ticket_id, (int)len, raw);
	if (++r->n == r->stop_after)
		return err_set(e, EXIT_SOFTWARE, "stopped");
	return 0;
}

static void
test_thread(void **state)
{
	struct store *s = unit_store_open(state, "ticket_thread", NULL);
	struct err e = ERR_INIT;
	struct text t = { "" };
	struct raws r = { { "" }, 0, 0 };
	int64_t a, b;

	assert_int_equal(store_begin(s, &e), 0);
	a = simple_ticket(s);
	b = simple_ticket(s);
	simple_ticket(s); /* no messages */
	/* Out of order of creation: listed by created, then id. */
	add_message(s, a, "in", "followup", "ann@example.org", 0, NOW - 10, "second");
	add_message(s, a, "in", "inquiry", "ann@example.org", MSG_SPAM, NOW - 30, "first");
	add_message(s, a, "out", "ack", "desk@example.org", 0, NOW - 30, "ack");
	add_message(s, a, "out", "reply", "desk@example.org", 0, NOW - 2, "reply");
	add_message(s, b, "out", "notice", "desk@example.org", 0, NOW - 40, "notice");
	add_message(s, b, "in", "inquiry", "bob@example.org", 0, NOW - 20, "bob's");
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(ticket_messages(s, a, message_text, &t, &e), 0);
	assert_string_equal(t.s, "in/inquiry/ann@example.org/1999999965/-/first/64;"
			    "out/ack/desk@example.org/1999999965/-/ack/0;"
			    "in/followup/ann@example.org/1999999985/-/second/0;"
			    "out/reply/desk@example.org/1999999993/a note/reply/0");
	/* The first incoming mail of each ticket, by ticket. */
	assert_int_equal(ticket_first_raws(s, raw_text, &r, &e), 0);
	assert_string_equal(r.t.s, "1=second;2=bob's");
	/* A callback's -1 stops the walk, which gives -1 with its error. */
	r = (struct raws){ { "" }, 1, 0 };
	assert_int_equal(ticket_first_raws(s, raw_text, &r, &e), -1);
	assert_string_equal(e.msg, "stopped");
	assert_string_equal(r.t.s, "1=second");
	/* The store goes on after a walk stopped halfway. */
	assert_int_equal(ticket_add_tag(s, a, "after", "staff", &e), 0);
	store_close(&s);
}

/* ---- take ---- */

static int
take_txn(struct store *s, int64_t id, const char *who, struct err *e)
{
	struct ticket t;

	if (store_begin(s, e) < 0)
		return -1;
	if (ticket_load_live(s, id, &t, e) < 0) {
		store_rollback(s);
		return -1;
	}
	ticket_release(&t);
	if (ticket_take(s, id, who, e) < 0 || store_commit(s, e) < 0) {
		store_rollback(s);
		return -1;
	}
	return 0;
}

static void
test_take(void **state)
{
	struct store *s = unit_store_open(state, "ticket_take", NULL);
	struct err e = ERR_INIT;
	struct ticket t;
	int64_t id;

	assert_int_equal(store_begin(s, &e), 0);
	id = simple_ticket(s);
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(take_txn(s, id, "alice", &e), 0);
	assert_int_equal(take_txn(s, id, "alice", &e), 0);
	assert_int_equal(take_txn(s, id, "bob", &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	assert_non_null(strstr(e.msg, "is taken by alice"));
	assert_int_equal(ticket_load(s, id, &t, &e), 0);
	assert_string_equal(t.assignee, "alice");
	ticket_release(&t);
	/* One event: taking one's own ticket again records nothing. */
	assert_events(s, id, "alice:assignee:>alice");
	/* assign takes it over; then it is bob's to keep. */
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(ticket_set_field(s, id, "assignee", "bob", "bob", &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(take_txn(s, id, "alice", &e), -1);
	assert_non_null(strstr(e.msg, "is taken by bob"));
	/* No such ticket. */
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(ticket_take(s, id + 100, "alice", &e), -1);
	assert_non_null(strstr(e.msg, "no ticket #"));
	store_rollback(s);
	store_close(&s);
}

/* ---- several writers at once ---- */

enum writer_op { WRITER_TAKE, WRITER_STATUS };

/* A writer in a process of its own: opens the store at where, does op in
 * a transaction, and reports its error's message on fd (empty when none);
 * exits with the error's code. */
static void
writer_child(const char *where, enum writer_op op, const char *who, const char *value,
	     int64_t id, int fd)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	int rc = store_open(where, 0, &s, &e);

	if (rc == 0 && op == WRITER_TAKE)
		rc = take_txn(s, id, who, &e);
	else if (rc == 0 && (rc = store_begin(s, &e)) == 0) {
		rc = ticket_set_field(s, id, "status", value, who, &e);
		if (rc == 0)
			rc = store_commit(s, &e);
		if (rc < 0)
			store_rollback(s);
	}
	if (write(fd, e.msg, strlen(e.msg)) < 0)
		rc = -1;
	store_close(&s);
	_exit(rc == 0 ? 0 : e.code ? e.code : 1);
}

/* Starts the second writer while the first (s) holds its transaction
 * open, lets the first commit once the second waits for it (PostgreSQL)
 * or before the second starts (SQLite serialises writers whole); the
 * second's exit code, its message into msg. */
static int
second_writer(void **state, struct store *s, const char *where, const char *name,
	      enum writer_op op, const char *who, const char *value, int64_t id, char *msg,
	      size_t size)
{
	struct err e = ERR_INIT;
	int out[2], status = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(out), 0);
	if (!unit_is_pg(state))
		assert_int_equal(store_commit(s, &e), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(out[0]);
		writer_child(where, op, who, value, id, out[1]);
	}
	close(out[1]);
	if (unit_is_pg(state)) {
		pg_unit_wait_for_waiter(name);
		assert_int_equal(store_commit(s, &e), 0);
	}
	n = read(out[0], msg, size - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(out[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_take_race(void **state)
{
	char *where = NULL, msg[512];
	struct store *s = unit_store_open(state, "ticket_race", &where);
	struct err e = ERR_INIT;
	struct ticket t;
	int64_t id;

	assert_int_equal(store_begin(s, &e), 0);
	id = simple_ticket(s);
	assert_int_equal(store_commit(s, &e), 0);
	/* alice takes it and has not committed when bob tries. */
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(ticket_load_live(s, id, &t, &e), 0);
	ticket_release(&t);
	assert_int_equal(ticket_take(s, id, "alice", &e), 0);
	assert_int_equal(second_writer(state, s, where, "ticket_race", WRITER_TAKE, "bob", NULL,
				       id, msg, sizeof(msg)), EXIT_DATAERR);
	if (!strstr(msg, "is taken by alice"))
		fail_msg("bob was told: '%s'", msg);
	assert_int_equal(ticket_load(s, id, &t, &e), 0);
	assert_string_equal(t.assignee, "alice");
	ticket_release(&t);
	assert_events(s, id, "alice:assignee:>alice");
	store_close(&s);
	free(where);
}

static void
test_no_lost_update(void **state)
{
	char *where = NULL, msg[512];
	struct store *s = unit_store_open(state, "ticket_lost", &where);
	struct err e = ERR_INIT;
	struct ticket t;
	int64_t id;

	assert_int_equal(store_begin(s, &e), 0);
	id = simple_ticket(s);
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(ticket_set_field(s, id, "status", "open", "alice", &e), 0);
	assert_int_equal(second_writer(state, s, where, "ticket_lost", WRITER_STATUS, "bob",
				       "pending", id, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(ticket_load(s, id, &t, &e), 0);
	assert_string_equal(t.status, "pending");
	ticket_release(&t);
	/* bob's change starts from alice's value, not the one before it. */
	assert_events(s, id, "alice:status:new>open;bob:status:open>pending");
	store_close(&s);
	free(where);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_load_set_field_tags),
		BOTH(test_load_many),
		BOTH(test_merge),
		BOTH(test_list),
		BOTH(test_thread),
		BOTH(test_take),
		BOTH(test_take_race),
		BOTH(test_no_lost_update),
	};

	return cmocka_run_group_tests(tests, pg_unit_setup, pg_unit_teardown);
}
