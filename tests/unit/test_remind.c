/* The reminder digests (remind.h): options from the config, who gets which
 * ticket (contacts, assignees, never a requester, never the desk), the wait
 * measured from the last staff reply, the rate limit, and the queueing into
 * the outbox with its records. A store and a rule set in a temporary folder,
 * filled by SQL at known times. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "remind.h"
#include "rules.h"
#include "store.h"
#include "store_sqlite.h"
#include "ticket.h"
#include "xalloc.h"

#define NOW 2000000000LL
#define DAY 86400LL

static char tmpdir[64];

static void
write_file(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(p);
}

static void
sql(struct store *s, const char *q)
{
	struct err e = ERR_INIT;

	if (store_exec(s, q, &e) < 0)
		fail_msg("%s: %s", q, e.msg);
}

struct fixture {
	struct store *s;
	struct ruleset *rs;
	struct config cfg;
	struct remind_opts o;
};

/* Tickets (created days ago, status, queue, requester, assignee):
 *   1  5d new   DE  p1@x.org
 *   2  4d open  DE  person2@example.org (a DE contact, in other case)
 *   3  1d new   DE  (too young)
 *   4 10d pending DE (not a waiting status by default)
 *   5 10d new   DE  merged into 1
 *   6 10d new   DE  spam
 *   7  6d new   secretariat, assigned to alice
 *   8  7d open  DE  assigned to de1@example.org (also a DE contact)
 *   9  3d+1h open secretariat, assigned to bob
 *  10 20d open  DE  replied 15d ago, the requester wrote 2d ago (too young)
 *  11 20d open  DE  replied 15d ago, nothing since: waiting since the reply */
static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err e = ERR_INIT;
	char *dbp, *rules, *tmpl, *q;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/secdesk-remind.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	rules = xasprintf("%s/rules", tmpdir);
	tmpl = xasprintf("%s/templates", tmpdir);
	assert_int_equal(mkdir(rules, 0700), 0);
	assert_int_equal(mkdir(tmpl, 0700), 0);
	write_file(rules, "00-queues.rules",
		   "queue secretariat \"Secretariat\" language en contact desk@example.org\n"
		   "queue DE \"Germany\" language de contact de1@example.org, "
		   "Person2@Example.org, de2@example.org\n");
	write_file(tmpl, "ack.en.txt", "Subject: ack\n\nack\n");
	write_file(tmpl, "_signature.txt", "-- \n{{desk_name}}\n");
	write_file(tmpl, "remind.en.tmpl",
		   "Subject: {{inquiries}} for {{recipient}}\n\n"
		   "{{#tickets}}{{ref}} {{subject}} ({{age}}){{#tags}} [{{tags}}]{{/tags}}\n"
		   "{{/tickets}}{{> signature}}\n");
	assert_int_equal(rules_load(rules, &f->rs, &e), 0);
	dbp = xasprintf("%s/s.db", tmpdir);
	assert_int_equal(store_open(dbp, STORE_CREATE, &f->s, &e), 0);
	for (int i = 1; i <= 11; i++) {
		static const struct {
			double days;
			const char *status, *queue, *requester, *assignee;
			int flags;
		} t[] = {
			{ 5, "new", "DE", "p1@x.org", "", 0 },
			{ 4, "open", "DE", "person2@example.org", "", 0 },
			{ 1, "new", "DE", "p3@x.org", "", 0 },
			{ 10, "pending", "DE", "p4@x.org", "", 0 },
			{ 10, "new", "DE", "p5@x.org", "", 0 },
			{ 10, "new", "DE", "p6@x.org", "", TICKET_FLAG_SPAM },
			{ 6, "new", "secretariat", "p7@x.org", "alice", 0 },
			{ 7, "open", "DE", "p8@x.org", "de1@example.org", 0 },
			{ 3 + 1.0 / 24, "open", "secretariat", "p9@x.org", "bob", 0 },
			{ 20, "open", "DE", "p10@x.org", "", 0 },
			{ 20, "open", "DE", "p11@x.org", "", 0 },
		};
		long long created = NOW - (long long)(t[i - 1].days * DAY);

		q = xasprintf("INSERT INTO tickets (id, status, queue, subject, requester, assignee,"
			      " flags, created, updated) VALUES (%d, '%s', '%s', 'Subject %d', '%s',"
			      " '%s', %d, %lld, %lld)", i, t[i - 1].status, t[i - 1].queue, i,
			      t[i - 1].requester, t[i - 1].assignee, t[i - 1].flags, created,
			      created);
		sql(f->s, q);
		free(q);
	}
	sql(f->s, "UPDATE tickets SET merged_into = 1 WHERE id = 5");
	sql(f->s, "INSERT INTO ticket_tags VALUES (1, 'budget'), (1, 'call')");
	q = xasprintf("INSERT INTO messages (ticket_id, direction, kind, created) VALUES"
		      " (10, 'out', 'reply', %lld), (10, 'in', 'followup', %lld),"
		      " (11, 'out', 'reply', %lld), (11, 'out', 'ack', %lld)",
		      NOW - 15 * DAY, NOW - 2 * DAY, NOW - 15 * DAY, NOW - 1 * DAY);
	sql(f->s, q);
	free(q);
	/* de2 had a digest an hour ago; Person2 two days ago. */
	q = xasprintf("INSERT INTO state VALUES ('remind:de2@example.org', '%lld'),"
		      " ('remind:person2@example.org', '%lld')", NOW - 3600, NOW - 2 * DAY);
	sql(f->s, q);
	free(q);

	f->cfg.path = xstrdup("test.conf");
	f->cfg.desk.name = xstrdup("Desk");
	f->cfg.desk.address = xstrdup("desk@example.org");
	f->cfg.desk.tag = xstrdup("T");
	f->cfg.templates.dir = tmpl;
	f->cfg.remind.after = 3 * DAY;
	f->cfg.remind.min_interval = DAY;
	f->cfg.remind.assignee_domain = xstrdup("staff.example");
	assert_int_equal(remind_opts_from_config(&f->cfg, &f->o, &e), 0);
	f->o.now = NOW;
	free(rules);
	free(dbp);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	remind_opts_release(&f->o);
	config_release(&f->cfg);
	rules_free(&f->rs);
	store_close(&f->s);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f);
	return 0;
}

static void
test_age(void **state)
{
	static const struct {
		int64_t secs;
		const char *want;
	} cases[] = {
		{ -5, "0 minutes" }, { 59, "0 minutes" }, { 60, "1 minute" }, { 7199, "1 hour" },
		{ 7200, "2 hours" }, { 86399, "23 hours" }, { 86400, "1 day" },
		{ 3 * 86400 + 7200, "3 days" },
	};
	char b[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		remind_age(cases[i].secs, b, sizeof(b));
		assert_string_equal(b, cases[i].want);
	}
}

static void
test_statuses(void **state)
{
	static const struct {
		const char *list;
		int rc;
		size_t n;
	} cases[] = {
		{ NULL, 0, 2 },
		{ "new", 0, 1 },
		{ "new, open,pending  resolved", 0, 4 },
		{ "open,open,new", 0, 2 },
		{ "new, bogus", -1, 0 },
		{ "Open", -1, 0 },
		{ " , ", -1, 0 },
	};
	struct config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = (char *)"x.conf";
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct remind_opts o;
		struct err e = ERR_INIT;

		cfg.remind.statuses = (char *)cases[i].list;
		assert_int_equal(remind_opts_from_config(&cfg, &o, &e), cases[i].rc);
		if (cases[i].rc == 0) {
			assert_int_equal(o.statuses.n, cases[i].n);
			remind_opts_release(&o);
		} else {
			assert_int_equal(e.code, EXIT_CONFIG);
			assert_non_null(strstr(e.msg, "[remind] statuses"));
		}
	}
}

/* "to:1,2 " for every digest, for one comparison. */
static char *
digests_str(const struct remind_plan *p)
{
	struct buf b = BUF_INIT;

	for (size_t k = 0; k < p->ndigests; k++) {
		const struct remind_digest *d = &p->digests[k];

		buf_addf(&b, "%s%s:", k ? " " : "", d->to);
		for (size_t j = 0; j < d->n; j++)
			buf_addf(&b, "%s%lld", j ? "," : "", (long long)p->tickets[d->tix[j]].id);
		buf_addf(&b, "/%s/%s", d->queue ? d->queue : "-",
			 d->state == REMIND_RATE_LIMITED ? "limited" : "due");
	}
	return buf_detach(&b, NULL);
}

static void
test_collect(void **state)
{
	struct fixture *f = *state;
	struct remind_plan p;
	struct err e = ERR_INIT;
	char *got;

	assert_int_equal(remind_collect(f->s, f->rs, &f->o, &p, &e), 0);
	/* Longest wait first; 11 waits since its reply, 10 since the new
	 * message (too young), 3 is young, 4 pending, 5 merged, 6 spam. */
	assert_int_equal(p.ntickets, 6);
	{
		static const int64_t want[] = { 11, 8, 7, 1, 2, 9 };

		for (size_t i = 0; i < ARRAY_SIZE(want); i++)
			assert_int_equal(p.tickets[i].id, want[i]);
	}
	assert_int_equal(p.tickets[0].since, NOW - 15 * DAY);
	assert_string_equal(p.tickets[3].tags, "budget, call");
	assert_string_equal(p.tickets[4].tags, "");
	got = digests_str(&p);
	assert_string_equal(got, "alice@staff.example:7/-/due bob@staff.example:9/-/due "
			    "de1@example.org:11,8,1,2/DE/due de2@example.org:11,8,1,2/DE/limited "
			    "Person2@Example.org:11,8,1/DE/due");
	free(got);
	assert_int_equal(p.digests[3].last_sent, NOW - 3600);
	assert_string_equal(p.digests[2].lang, "de");
	/* Person2 asked ticket 2 and does not get it; the desk is no recipient. */
	assert_int_equal(p.requester_skips, 1);
	assert_true(p.desk_skipped);
	assert_int_equal(p.no_address.n, 0);
	assert_int_equal(p.unmailed.n, 0);
	remind_plan_release(&p);

	/* Without a domain, "alice" and "bob" have no address: 7 and 9 reach
	 * nobody (their queue's contact is the desk). */
	f->o.assignee_domain = NULL;
	assert_int_equal(remind_collect(f->s, f->rs, &f->o, &p, &e), 0);
	assert_int_equal(p.no_address.n, 2);
	assert_string_equal(p.no_address.items[0], "alice");
	assert_string_equal(p.no_address.items[1], "bob");
	assert_int_equal(p.unmailed.n, 2);
	assert_string_equal(p.unmailed.items[0], "#7");
	assert_string_equal(p.unmailed.items[1], "#9");
	assert_int_equal(p.ndigests, 3);
	remind_plan_release(&p);
	f->o.assignee_domain = f->cfg.remind.assignee_domain;

	/* A day later de2 is due again; a longer wait drops 2 and 9. */
	f->o.now = NOW + DAY;
	f->o.after = 5 * DAY + 7200;
	assert_int_equal(remind_collect(f->s, f->rs, &f->o, &p, &e), 0);
	got = digests_str(&p);
	assert_string_equal(got, "alice@staff.example:7/-/due de1@example.org:11,8,1/DE/due "
			    "de2@example.org:11,8,1/DE/due Person2@Example.org:11,8,1/DE/due");
	free(got);
	remind_plan_release(&p);
	f->o.now = NOW;
	f->o.after = 3 * DAY;

	/* Without rules, only assignees. */
	assert_int_equal(remind_collect(f->s, NULL, &f->o, &p, &e), 0);
	got = digests_str(&p);
	assert_string_equal(got, "alice@staff.example:7/-/due bob@staff.example:9/-/due "
			    "de1@example.org:8/-/due");
	free(got);
	remind_plan_release(&p);
}

static int64_t
count(struct store *s, const char *q)
{
	struct err e = ERR_INIT;
	sqlite3_stmt *st = store_prepare(s, q, &e);
	int64_t n;

	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

static void
test_queue(void **state)
{
	struct fixture *f = *state;
	struct remind_plan p;
	struct err e = ERR_INIT;
	struct buf text = BUF_INIT;
	int skipped = -1;

	assert_int_equal(remind_collect(f->s, f->rs, &f->o, &p, &e), 0);
	assert_int_equal(remind_render(&f->cfg, f->rs, &f->o, &p, &p.digests[2], &text, &e), 0);
	assert_string_equal(buf_cstr(&text),
			    "Subject: 4 inquiries for de1@example.org\n\n"
			    "[T #11] Subject 11 (15 days)\n[T #8] Subject 8 (7 days)\n"
			    "[T #1] Subject 1 (5 days) [budget, call]\n[T #2] Subject 2 (4 days)\n"
			    "-- \nDesk\n\n");
	buf_release(&text);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(remind_queue(f->s, &f->cfg, f->rs, &f->o, &p, &skipped, &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(skipped, 0);
	/* Four queued (de2 held back), each to its one address, none to a
	 * requester; the sends recorded for the rate limit. */
	assert_int_equal(count(f->s, "SELECT count(*) FROM outbox WHERE kind = 'remind'"), 4);
	assert_int_equal(count(f->s, "SELECT count(*) FROM outbox WHERE kind = 'remind' AND"
			       " ticket_id IS NULL AND env_from = 'desk@example.org' AND"
			       " rcpts IN ('alice@staff.example', 'bob@staff.example',"
			       " 'de1@example.org', 'Person2@Example.org')"), 4);
	assert_int_equal(count(f->s, "SELECT count(*) FROM events WHERE what = 'reminded' AND"
			       " ticket_id = 2 AND new_value LIKE '%person2%'"), 0);
	assert_int_equal(count(f->s, "SELECT count(*) FROM outbox WHERE kind = 'remind' AND"
			       " instr(data, 'Auto-Submitted: auto-generated') > 0"), 4);
	assert_int_equal(count(f->s, "SELECT count(*) FROM state WHERE key LIKE 'remind:%'"
			       " AND CAST(value AS INTEGER) = 2000000000"), 4);
	assert_int_equal(count(f->s, "SELECT value FROM state WHERE key ="
			       " 'remind:de2@example.org'"), NOW - 3600);
	assert_int_equal(count(f->s, "SELECT count(*) FROM events WHERE what = 'reminded'"), 6);
	assert_int_equal(count(f->s, "SELECT count(*) FROM events WHERE what = 'reminded' AND"
			       " ticket_id = 2 AND new_value = 'de1@example.org'"), 1);
	for (size_t k = 0; k < p.ndigests; k++)
		assert_int_equal(p.digests[k].state, k == 3 ? REMIND_RATE_LIMITED : REMIND_QUEUED);
	remind_plan_release(&p);

	/* A second collect within the interval: everyone held back. */
	assert_int_equal(remind_collect(f->s, f->rs, &f->o, &p, &e), 0);
	for (size_t k = 0; k < p.ndigests; k++)
		assert_int_equal(p.digests[k].state, REMIND_RATE_LIMITED);
	remind_plan_release(&p);
}

static void
test_template_errors(void **state)
{
	struct fixture *f = *state;
	struct remind_plan p;
	struct err e = ERR_INIT;
	char *path = xasprintf("%s/remind.en.tmpl", f->cfg.templates.dir);
	char *off = xasprintf("%s.off", path);
	int skipped;

	f->o.now = NOW + 10 * DAY; /* past every rate limit */
	assert_int_equal(remind_collect(f->s, f->rs, &f->o, &p, &e), 0);
	assert_int_equal(rename(path, off), 0);
	assert_int_equal(remind_queue(f->s, &f->cfg, f->rs, &f->o, &p, &skipped, &e), -1);
	assert_int_equal(e.code, EXIT_CONFIG);
	assert_non_null(strstr(e.msg, "remind.en.tmpl"));
	assert_int_equal(rename(off, path), 0);
	write_file(f->cfg.templates.dir, "remind.de.tmpl", "Subject: x\nTo: a@b.org\n\nbody\n");
	err_clear(&e);
	assert_int_equal(remind_queue(f->s, &f->cfg, f->rs, &f->o, &p, &skipped, &e), -1);
	assert_int_equal(e.code, EXIT_CONFIG);
	assert_non_null(strstr(e.msg, "'To'"));
	write_file(f->cfg.templates.dir, "remind.de.tmpl", "no header line\n\nbody\n");
	err_clear(&e);
	assert_int_equal(remind_queue(f->s, &f->cfg, f->rs, &f->o, &p, &skipped, &e), -1);
	assert_int_equal(e.code, EXIT_CONFIG);
	unlink(path);
	remind_plan_release(&p);
	free(path);
	free(off);
	f->o.now = NOW;
}

/* A backlog: the digest lists the oldest REMIND_MAX_LISTED and counts
 * the rest, and only the listed tickets get a "reminded" event. */
static void
test_backlog(void **state)
{
	struct fixture *f = *state;
	struct remind_plan p;
	struct err e = ERR_INIT;
	struct buf text = BUF_INIT;
	const char *x;
	int lines = 0, skipped;
	char *q;

	for (int i = 100; i < 220; i++) {
		q = xasprintf("INSERT INTO tickets (id, status, queue, subject, requester, created,"
			      " updated) VALUES (%d, 'new', 'DE', 'Old %d', 'r%d@x.org', %lld, 0)",
			      i, i, i, NOW - 30 * DAY + i);
		sql(f->s, q);
		free(q);
	}
	write_file(f->cfg.templates.dir, "remind.en.tmpl",
		   "Subject: {{count}}\n\n{{#tickets}}{{ref}}\n{{/tickets}}{{#more}}+{{more}}\n"
		   "{{/more}}");
	assert_int_equal(remind_collect(f->s, f->rs, &f->o, &p, &e), 0);
	assert_string_equal(p.digests[2].to, "de1@example.org");
	assert_int_equal(p.digests[2].n, 124);
	assert_int_equal(remind_render(&f->cfg, f->rs, &f->o, &p, &p.digests[2], &text, &e), 0);
	for (x = buf_cstr(&text); (x = strstr(x, "[T #")); x++)
		lines++;
	assert_int_equal(lines, REMIND_MAX_LISTED);
	assert_non_null(strstr(buf_cstr(&text), "Subject: 124\n"));
	assert_non_null(strstr(buf_cstr(&text), "\n+24\n"));
	/* The oldest first: 100 is the oldest of all. */
	assert_non_null(strstr(buf_cstr(&text), "\n\n[T #100]\n"));
	buf_release(&text);
	assert_int_equal(remind_queue(f->s, &f->cfg, f->rs, &f->o, &p, &skipped, &e), 0);
	/* Listed: 100 of de1's (ids 100..199); 200..219 and 11, 8, 1, 2 only
	 * reach the addresses that list them. */
	assert_int_equal(count(f->s, "SELECT count(*) FROM events WHERE what = 'reminded' AND"
			       " ticket_id >= 200 AND new_value LIKE '%de1@%'"), 0);
	assert_int_equal(count(f->s, "SELECT count(*) FROM events WHERE what = 'reminded' AND"
			       " ticket_id = 199 AND new_value LIKE '%de1@%'"), 1);
	remind_plan_release(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_template_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
