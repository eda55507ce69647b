/* rules_apply() keeps its block of haystacks and text and its match data in
 * the ruleset (struct rules_room) from one message to the next; one caller
 * at a time has it, another allocates its own. Checked: a message after a
 * longer one, a call made from a trace callback while the outer one holds
 * the room, and two threads classifying the same messages at once, each
 * outcome the same as alone. */
#include "compat.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "rules.h"
#include "rules_int.h"
#include "xalloc.h"

#include "unit.h"

#define NMSG 40

static const char *const rules_text =
	"rule \"grant\"\nwhen body matches /\\bgrant\\b/i\nthen\ntag grant\nend\n\n"
	"rule \"who\"\nwhen text matches /\\b(?<c>consortium|partners?)\\b/i\nthen\n"
	"tag \"${c}\"\nend\n\n"
	"rule \"german\"\nwhen language is \"de\"\nthen\nroute DE\nend\n\n"
	"rule \"domain\"\nwhen from.domain is \"uni.example\"\nthen\ntag dom\nend\n\n"
	"rule \"short\"\nwhen subject contains \"urgent\"\nthen\npriority high\nend\n";

static const char *const words[] = {
	"grant",   "Grant",  "grants",   "consortium", "partner", "partners", "the",
	"and",     "der",    "die",      "und",        "nicht",   "ist",      "mit",
	"funding", "call",   "research", "health",     "data",    "urgent",   "x",
};

static struct message msgs[NMSG];
static char *bodies[NMSG], *subjects[NMSG];
static struct address to1 = { (char *)"Desk", (char *)"desk@x.example" };
static struct ruleset *rs;

/* Messages of very different lengths: the room grows and is reused. */
static void
make_messages(void)
{
	unsigned seed = 3;

	for (size_t i = 0; i < NMSG; i++) {
		struct buf b = BUF_INIT;
		size_t n = i % 3 == 0 ? 2000 : i % 3 == 1 ? 5 : 300;

		for (size_t k = 0; k < n; k++) {
			buf_addstr(&b, words[(size_t)rand_r(&seed) % ARRAY_SIZE(words)]);
			buf_addch(&b, k % 11 == 10 ? '\n' : ' ');
		}
		bodies[i] = buf_detach(&b, NULL);
		subjects[i] = xasprintf("Question %zu %s", i, words[i % ARRAY_SIZE(words)]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].subject = subjects[i];
		msgs[i].from.name = (char *)"Anna";
		msgs[i].from.addr = (char *)(i % 2 ? "anna@uni.example" : "anna@elsewhere.example");
		msgs[i].sender.name = (char *)"";
		msgs[i].sender.addr = (char *)"";
		msgs[i].reply_to.name = (char *)"";
		msgs[i].reply_to.addr = (char *)"";
		msgs[i].to = &to1;
		msgs[i].nto = 1;
		msgs[i].message_id = (char *)"x@y";
		msgs[i].body = bodies[i];
	}
}

static int
setup(void **state)
{
	struct err e = ERR_INIT;

	if (unit_dir_setup(state) < 0)
		return -1;
	unit_write_file("00-q.rules", "queue secretariat \"Secretariat\" language en\n"
				      "queue DE \"Germany\" language de\n");
	unit_write_file("10-t.rules", rules_text);
	if (rules_load(unit_dir, &rs, &e) < 0)
		return -1;
	make_messages();
	return 0;
}

static int
teardown(void **state)
{
	rules_free(&rs);
	for (size_t i = 0; i < NMSG; i++) {
		free(bodies[i]);
		free(subjects[i]);
	}
	return unit_dir_teardown(state);
}

/* An outcome as one string (caller frees). */
static char *
outcome_str(const struct rule_outcome *o)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "queue=%s priority=%s language=%s tags=", o->queue ? o->queue : "-",
		 o->priority ? o->priority : "-", o->language ? o->language : "-");
	for (size_t k = 0; k < o->tags.n; k++)
		buf_addf(&b, "%s,", o->tags.items[k]);
	return buf_detach(&b, NULL);
}

static char *
outcome_of(const struct message *m)
{
	struct rule_outcome o;
	struct err e = ERR_INIT;
	char *s;

	rule_outcome_init(&o);
	if (rules_apply(rs, m, NULL, &o, &e) < 0)
		fail_msg("rules_apply failed");
	s = outcome_str(&o);
	rule_outcome_release(&o);
	return s;
}

static char *want[NMSG];

static void
test_alone(void **state)
{
	(void)state;
	/* twice over, long and short messages in turn: the same outcomes */
	for (size_t i = 0; i < NMSG; i++)
		want[i] = outcome_of(&msgs[i]);
	for (size_t i = NMSG; i-- > 0;) {
		char *got = outcome_of(&msgs[i]);

		assert_string_equal(got, want[i]);
		free(got);
	}
	/* the rules do match: the check is not of empty outcomes */
	{
		size_t tagged = 0, routed = 0;

		for (size_t i = 0; i < NMSG; i++) {
			tagged += strstr(want[i], "grant,") != NULL;
			routed += strstr(want[i], "queue=DE") != NULL;
		}
		assert_true(tagged > 0);
		assert_true(routed > 0);
	}
}

struct nested {
	size_t inner;
	char *got;
};

/* A callback that classifies another message while the outer call holds
 * the room. */
static void
on_event(void *arg, const struct rule_trace_event *ev)
{
	struct nested *n = arg;

	if (ev->kind == RULE_TRACE_RULE && !n->got)
		n->got = outcome_of(&msgs[n->inner]);
}

static void
test_nested(void **state)
{
	(void)state;
	for (size_t i = 0; i < NMSG; i++) {
		struct nested n = { (i * 7 + 3) % NMSG, NULL };
		struct rule_outcome o;
		struct err e = ERR_INIT;

		rule_outcome_init(&o);
		assert_int_equal(rules_apply_trace(rs, &msgs[i], NULL, &o, on_event, &n, &e), 0);
		assert_non_null(n.got);
		assert_string_equal(n.got, want[n.inner]);
		free(n.got);
		/* the outer call's own outcome, after the inner one */
		n.got = outcome_str(&o);
		assert_string_equal(n.got, want[i]);
		free(n.got);
		rule_outcome_release(&o);
		/* and the room is free again */
		n.got = outcome_of(&msgs[i]);
		assert_string_equal(n.got, want[i]);
		free(n.got);
	}
}

static void *
classify_all(void *arg)
{
	size_t *bad = arg;

	for (int round = 0; round < 20; round++)
		for (size_t i = 0; i < NMSG; i++) {
			char *got = outcome_of(&msgs[(i + (size_t)round) % NMSG]);

			if (strcmp(got, want[(i + (size_t)round) % NMSG]) != 0)
				(*bad)++;
			free(got);
		}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t th[2];
	size_t bad[2] = { 0, 0 };

	(void)state;
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&th[k], NULL, classify_all, &bad[k]), 0);
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_join(th[k], NULL), 0);
	assert_int_equal(bad[0], 0);
	assert_int_equal(bad[1], 0);
	for (size_t i = 0; i < NMSG; i++)
		free(want[i]);
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_alone),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(t, setup, teardown);
}
