/* The weighing of evidence: `score` actions, their parse errors, the
 * margin a queue needs, `route` ending the contest, categories, captured
 * targets that are not valid, and the evidence and reasons kept for
 * `rules test`. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "rules.h"
#include "rules_int.h"
#include "xalloc.h"

#include "unit.h"

static const char *queues = "queue secretariat \"Secretariat\" language en\n"
			    "queue DE \"Germany\" language de\n"
			    "queue AT \"Austria\" language de\n";

static struct address to1 = { (char *)"desk", (char *)"desk@icpermed.example" };

static void
sample(struct message *m)
{
	memset(m, 0, sizeof(*m));
	m->subject = (char *)"Question about the call";
	m->from.name = (char *)"Anna Schmidt";
	m->from.addr = (char *)"anna@uni-heidelberg.de";
	m->sender.name = m->sender.addr = (char *)"";
	m->reply_to.name = m->reply_to.addr = (char *)"";
	m->to = &to1;
	m->nto = 1;
	m->message_id = (char *)"x@y";
	m->body = (char *)"We work with a partner in Vienna. Can we apply to the call?";
}

static int
apply_text(const char *text, struct rule_outcome *o, struct err *e)
{
	struct ruleset *rs = NULL;
	struct message m;
	int rc;

	sample(&m);
	unit_write_file("00-q.rules", queues);
	unit_write_file("10-t.rules", text);
	rule_outcome_init(o);
	if (rules_load(unit_dir, &rs, e) < 0)
		return -1;
	rc = rules_apply(rs, &m, NULL, o, e);
	rules_free(&rs);
	return rc;
}

/* rule "NAME" that holds when the body has WORD and gives its actions */
#define RULE(name, word, acts) \
	"rule \"" name "\"\nwhen body contains \"" word "\"\nthen\n" acts "end\n"

static const struct {
	const char *rules;
	const char *queue;    /* NULL: the secretariat decides */
	const char *category; /* NULL: unset */
} cases[] = {
	/* the domain (6) beats a country named in passing (2), whatever the order */
	{ RULE("in passing", "Vienna", "score AT 2\n") RULE("domain", "partner", "score DE 6\n"),
	  "DE", NULL },
	/* a lead of 2 is not enough */
	{ RULE("a", "Vienna", "score AT 4\n") RULE("b", "partner", "score DE 6\n"), NULL, NULL },
	/* a lead of exactly the margin is */
	{ RULE("a", "Vienna", "score AT 3\n") RULE("b", "partner", "score DE 6\n"), "DE", NULL },
	/* points add up over rules; negative points count */
	{ RULE("a", "Vienna", "score AT 4\n") RULE("b", "call", "score AT 2\nscore DE 1\n")
		  RULE("c", "apply", "score AT -1\n"),
	  "AT", NULL },
	/* the secretariat's own points are a rival like any queue's */
	{ RULE("a", "Vienna", "score AT 4\n") RULE("b", "call", "score secretariat 5\n"), NULL,
	  NULL },
	{ RULE("a", "Vienna", "score AT 1\n") RULE("b", "call", "score secretariat 5\n"),
	  "secretariat", NULL },
	/* only points below 1: nobody wins */
	{ RULE("a", "Vienna", "score AT -3\n"), NULL, NULL },
	/* route ends the contest, before or after the points */
	{ RULE("a", "Vienna", "score AT 9\n") RULE("b", "call", "route DE\n"), "DE", NULL },
	{ RULE("b", "call", "route DE\n") RULE("a", "Vienna", "score AT 9\n"), "DE", NULL },
	/* categories: the most points, a tie is no winner, a set one stays */
	{ RULE("a", "call", "score category:funding 3\n")
		  RULE("b", "Vienna", "score category:events 2\n"),
	  NULL, "funding" },
	{ RULE("a", "call", "score category:funding 2\n")
		  RULE("b", "Vienna", "score category:events 2\n"),
	  NULL, NULL },
	{ RULE("a", "call", "score category:funding 5\n") RULE("b", "Vienna", "category press\n"),
	  NULL, "press" },
	/* a captured target that is no queue is ignored */
	{ "rule \"cap\"\nwhen body matches /in (?<q>\\w+)\\./\nthen\nscore ${q} 9\nend\n", NULL,
	  NULL },
	{ "rule \"cap\"\nwhen body matches /a (?<q>partner)/\nthen\nscore category:${q} 9\nend\n",
	  NULL, "partner" },
};

static void
test_weighing(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct rule_outcome o;
		struct err e = ERR_INIT;

		if (apply_text(cases[i].rules, &o, &e) < 0)
			fail_msg("case %zu: %s", i, e.msg);
		if (!cases[i].queue ? o.queue != NULL
				    : !o.queue || strcmp(o.queue, cases[i].queue) != 0)
			fail_msg("case %zu: queue %s, expected %s (%s)", i, o.queue ? o.queue : "-",
				 cases[i].queue ? cases[i].queue : "-",
				 o.queue_why ? o.queue_why : "");
		if (!cases[i].category ? o.category != NULL
				       : !o.category || strcmp(o.category, cases[i].category) != 0)
			fail_msg("case %zu: category %s, expected %s", i,
				 o.category ? o.category : "-",
				 cases[i].category ? cases[i].category : "-");
		rule_outcome_release(&o);
	}
}

/* The evidence in order, the totals and why the winner won. */
static void
test_explanation(void **state)
{
	struct rule_outcome o;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(apply_text(RULE("in passing", "Vienna", "score AT 2\n")
					    RULE("domain", "partner", "score de 6\n"),
				    &o, &e),
			 0);
	assert_int_equal(o.evidence.n, 2);
	assert_string_equal(o.evidence.items[0], "+2 AT: rule 'in passing'");
	assert_string_equal(o.evidence.items[1], "+6 DE: rule 'domain'");
	assert_int_equal(o.nscores, 2);
	assert_string_equal(o.scores[1].target, "DE"); /* the declared id */
	assert_int_equal(o.scores[1].points, 6);
	assert_string_equal(o.queue_why, "DE has 6 points and leads AT by 4 (3 needed)");
	rule_outcome_release(&o);

	assert_int_equal(apply_text(RULE("a", "Vienna", "score AT 2\n"), &o, &e), 0);
	assert_null(o.queue);
	assert_string_equal(o.queue_why,
			    "AT leads no other queue by 2 points, less than 3: the secretariat decides");
	rule_outcome_release(&o);
}

static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	{ "rule \"a\"\nthen\nscore DE\nend\n", "10-t.rules:3:1: expected a queue or category:NAME and points" },
	{ "rule \"a\"\nthen\nscore\nend\n", "expected a queue or category:NAME and points" },
	{ "rule \"a\"\nthen\nscore XX 3\nend\n", "10-t.rules:3:7: unknown score target 'XX'" },
	{ "rule \"a\"\nthen\nscore category: 3\nend\n", "unknown score target 'category:'" },
	{ "rule \"a\"\nthen\nscore DE three\nend\n", "bad points 'three' for 'score'" },
	{ "rule \"a\"\nthen\nscore DE 101\nend\n", "bad points '101'" },
	{ "rule \"a\"\nthen\nscore DE 2.5\nend\n", "bad points '2.5'" },
	{ "rule \"a\"\nthen\nscore DE 3 4\nend\n", "'score' takes a target and points, found" },
	{ "rule \"a\"\nthen\nscore DE, 3\nend\n", "expected a word or a string after 'score'" },
};

static void
test_parser_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct rule_outcome o;
		struct err e = ERR_INIT;

		assert_int_equal(apply_text(bad[i].text, &o, &e), -1);
		assert_int_equal(e.code, EXIT_CONFIG);
		if (!strstr(e.msg, bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad[i].msg);
	}
}

static const char *gazetteer = "# members\n"
				"DE tld de\n"
				"DE domain uni-heidelberg.de\n"
				"DE name Deutsches Krebsforschungszentrum\n"
				"DE acronym DKFZ\n"
				"AT domain meduniwien.ac.at\n"
				"AT name Medizinische Universität Wien   # trailing blanks and comment\n"
				"- webmail gmx.de\n"
				"secretariat tld ch\n";

static const char *institution_rules =
	"rule \"domain\"\nwhen from.institution matches /^(?<m>.+)$/\nthen\nscore ${m} 6\nend\n"
	"rule \"country\"\nwhen from.country matches /^(?<m>.+)$/\nthen\nscore ${m} 4\nend\n"
	"rule \"named\"\nwhen body.institution matches /^(?<m>.+)$/\nthen\nscore ${m} 5\nend\n"
	"rule \"subject\"\nwhen subject.institution exists\nthen\ntag named-in-subject\nend\n";

/* The total of target in o, 0 when it has none. */
static int
points_of(const struct rule_outcome *o, const char *target)
{
	for (size_t i = 0; i < o->nscores; i++)
		if (strcmp(o->scores[i].target, target) == 0)
			return o->scores[i].points;
	return 0;
}

static void
apply_from(const char *from, const char *body, struct rule_outcome *o)
{
	struct ruleset *rs = NULL;
	struct message m;
	struct err e = ERR_INIT;

	sample(&m);
	m.from.addr = (char *)from;
	m.body = (char *)body;
	unit_write_file("00-q.rules", queues);
	unit_write_file("10-t.rules", institution_rules);
	unit_write_file("m.gazetteer", gazetteer);
	rule_outcome_init(o);
	if (rules_load(unit_dir, &rs, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(rules_apply(rs, &m, NULL, o, &e), 0);
	rules_free(&rs);
}

/* The gazetteer: an institution's domain and its subdomains, a country
 * domain, webmail (no evidence), names in any case and acronyms in theirs,
 * and every member a text names scored. */
static void
test_gazetteer(void **state)
{
	struct rule_outcome o;
	char *path = xasprintf("%s/m.gazetteer", unit_dir);

	(void)state;
	apply_from("a@med.uni-heidelberg.de", "We work with the medizinische universität wien and the DKFZ.",
		   &o);
	assert_int_equal(points_of(&o, "DE"), 6 + 5); /* the domain (not the country too), named */
	assert_int_equal(points_of(&o, "AT"), 5);
	assert_string_equal(o.queue, "DE");
	assert_int_equal(o.tags.n, 0);
	rule_outcome_release(&o);

	apply_from("a@example.de", "A question, dkfz in lower case is no acronym.", &o);
	assert_int_equal(points_of(&o, "DE"), 4);
	assert_int_equal(o.nscores, 1);
	rule_outcome_release(&o);

	apply_from("a@mail.gmx.de", "Deutsches Krebsforschungszentrum", &o);
	assert_int_equal(points_of(&o, "DE"), 5); /* named only: webmail says nothing */
	rule_outcome_release(&o);

	apply_from("a@uzh.ch", "Medizinische Universität Wiener Neustadt", &o);
	assert_int_equal(points_of(&o, "secretariat"), 4);
	assert_int_equal(points_of(&o, "AT"), 0); /* whole names only */
	rule_outcome_release(&o);
	unlink(path);
	free(path);
}

/* Texts the gazetteer reads in a body, and the members it finds there
 * ("" for none): whole words only ('_' is a word character, as \w),
 * names in any case (Latin letters folded), acronyms in theirs, quoted
 * lines and the middle of a long body left out. */
static const struct {
	const char *body;
	const char *members;
} gazetteer_texts[] = {
	{ "DKFZ", "DE" },
	{ "(DKFZ).", "DE" },
	{ "the dkfz", "" },
	{ "x_DKFZ and DKFZ_y", "" },
	{ "DKFZ2", "" },
	{ "at the MEDIZINISCHE UNIVERSITÄT WIEN today", "AT" },
	{ "Medizinische Universität Wiener Neustadt", "" },
	{ "Medizinische  Universität Wien", "" },
	{ "DKFZ\nMedizinische Universität Wien\n", "DE AT" },
	{ "> DKFZ wrote\nthanks", "" },
	{ "  > quoted DKFZ", "" },
	{ "Deutsches Krebsforschungszentrum", "DE" },
	{ "Deutsches Krebsforschungszentrums", "" },
	{ "Deutsches", "" },
	{ "ÉDKFZ DKFZé", "" },
};

/* The members a body names, by the gazetteer as the rules read it. */
static void
body_members(struct ruleset *rs, const char *body, char *out, size_t n)
{
	const char *found[8];
	size_t k = rules_gazetteer_body(rs, body, strlen(body), found, ARRAY_SIZE(found));

	out[0] = '\0';
	for (size_t i = 0; i < k; i++)
		snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? " " : "", found[i]);
}

/* Every text gives its members, with the gazetteer's sketch of first words
 * and with every word looked up (the reference), and rules_apply() finds
 * them with and without the prefilter (whose words are the names). */
static void
test_gazetteer_texts(void **state)
{
	struct ruleset *rs = NULL, *all = NULL;
	struct err e = ERR_INIT;
	char *path = xasprintf("%s/m.gazetteer", unit_dir);

	(void)state;
	unit_write_file("00-q.rules", queues);
	unit_write_file("10-t.rules", institution_rules);
	unit_write_file("m.gazetteer", gazetteer);
	if (rules_load(unit_dir, &rs, &e) < 0 || rules_load(unit_dir, &all, &e) < 0)
		fail_msg("%s", e.msg);
	rules_prefilter_disable(all);
	for (size_t i = 0; i < ARRAY_SIZE(gazetteer_texts); i++) {
		char got[64], ref[64];
		struct rule_outcome o1, o2;
		struct message m;

		body_members(rs, gazetteer_texts[i].body, got, sizeof(got));
		body_members(all, gazetteer_texts[i].body, ref, sizeof(ref));
		if (strcmp(got, gazetteer_texts[i].members) != 0 || strcmp(ref, got) != 0)
			fail_msg("case %zu: got '%s', every word '%s', expected '%s'", i, got, ref,
				 gazetteer_texts[i].members);
		sample(&m);
		m.from.addr = (char *)"a@example.org";
		m.body = (char *)gazetteer_texts[i].body;
		rule_outcome_init(&o1);
		rule_outcome_init(&o2);
		assert_int_equal(rules_apply(rs, &m, NULL, &o1, &e), 0);
		assert_int_equal(rules_apply(all, &m, NULL, &o2, &e), 0);
		if (points_of(&o1, "DE") != points_of(&o2, "DE") ||
		    points_of(&o1, "AT") != points_of(&o2, "AT"))
			fail_msg("case %zu: the prefilter changes the points", i);
		rule_outcome_release(&o1);
		rule_outcome_release(&o2);
	}
	rules_free(&rs);
	rules_free(&all);
	unlink(path);
	free(path);
}

/* A body of 6 KiB: a name in its first and last 2 KiB counts, in the
 * middle it does not (it is seldom the writer's own there). */
static void
test_gazetteer_long_body(void **state)
{
	static const struct {
		size_t at;
		const char *members;
	} spots[] = { { 10, "DE" }, { 2000, "DE" }, { 3000, "" }, { 5500, "DE" } };
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;
	char *body = xmalloc(6 * 1024 + 1), *path = xasprintf("%s/m.gazetteer", unit_dir);

	(void)state;
	unit_write_file("00-q.rules", queues);
	unit_write_file("10-t.rules", institution_rules);
	unit_write_file("m.gazetteer", gazetteer);
	if (rules_load(unit_dir, &rs, &e) < 0)
		fail_msg("%s", e.msg);
	for (size_t i = 0; i < ARRAY_SIZE(spots); i++) {
		char got[64];

		for (size_t k = 0; k < 6 * 1024; k++)
			body[k] = k % 60 == 59 ? '\n' : 'x';
		body[6 * 1024] = '\0';
		memcpy(body + spots[i].at, " DKFZ ", 6);
		body_members(rs, body, got, sizeof(got));
		if (strcmp(got, spots[i].members) != 0)
			fail_msg("case %zu: got '%s', expected '%s'", i, got, spots[i].members);
	}
	rules_free(&rs);
	unlink(path);
	free(path);
	free(body);
}

/* A domain listed more than once: an institution's entry before a
 * country's, the first listed of one kind before the next. */
static void
test_gazetteer_twice(void **state)
{
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;
	char *path = xasprintf("%s/m.gazetteer", unit_dir);

	(void)state;
	unit_write_file("00-q.rules", queues);
	unit_write_file("10-t.rules", institution_rules);
	unit_write_file("m.gazetteer", "AT tld example\nDE domain example\nAT domain example\n"
					"DE domain b.example\n- webmail c.example\nAT domain c.example\n");
	if (rules_load(unit_dir, &rs, &e) < 0)
		fail_msg("%s", e.msg);
	assert_string_equal(rules_gazetteer_domain(rs, "example", false), "DE");
	assert_null(rules_gazetteer_domain(rs, "example", true));
	assert_string_equal(rules_gazetteer_domain(rs, "a.b.example", false), "DE");
	assert_string_equal(rules_gazetteer_domain(rs, "x.example", false), "DE");
	assert_string_equal(rules_gazetteer_domain(rs, "c.example", false), "AT");
	assert_null(rules_gazetteer_domain(rs, "", false));
	assert_null(rules_gazetteer_domain(rs, "other.org", false));
	rules_free(&rs);
	unlink(path);
	free(path);
}

static const struct {
	const char *text;
	const char *msg;
} bad_gazetteer[] = {
	{ "XX domain x.example\n", "g.gazetteer:1:1: unknown member 'XX'" },
	{ "DE\n", "g.gazetteer:1:1: expected MEMBER KIND VALUE" },
	{ "DE name\n", "g.gazetteer:1:1: expected MEMBER KIND VALUE" },
	{ "\n# c\nDE city Berlin\n", "g.gazetteer:3:4: unknown kind 'city'" },
	{ "- name Somewhere\n", "a name needs a member" },
};

static void
test_gazetteer_bad(void **state)
{
	char *path = xasprintf("%s/g.gazetteer", unit_dir);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_gazetteer); i++) {
		struct ruleset *rs = NULL;
		struct err e = ERR_INIT;

		unit_write_file("00-q.rules", queues);
		unit_write_file("10-t.rules", "");
		unit_write_file("g.gazetteer", bad_gazetteer[i].text);
		assert_int_equal(rules_load(unit_dir, &rs, &e), -1);
		assert_int_equal(e.code, EXIT_CONFIG);
		if (!strstr(e.msg, bad_gazetteer[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad_gazetteer[i].msg);
	}
	unlink(path);
	free(path);
}

static void
test_points(void **state)
{
	int n = 0;

	(void)state;
	assert_true(rules_score_points("+4", &n));
	assert_int_equal(n, 4);
	assert_true(rules_score_points("-100", &n));
	assert_int_equal(n, -100);
	assert_false(rules_score_points("", &n));
	assert_false(rules_score_points("4x", &n));
	assert_false(rules_score_points(" 4", &n));
	assert_false(rules_score_points("99999999999999999999", &n));
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_weighing),
		cmocka_unit_test(test_explanation),
		cmocka_unit_test(test_parser_bad),
		cmocka_unit_test(test_points),
		cmocka_unit_test(test_gazetteer),
		cmocka_unit_test(test_gazetteer_bad),
		cmocka_unit_test(test_gazetteer_texts),
		cmocka_unit_test(test_gazetteer_long_body),
		cmocka_unit_test(test_gazetteer_twice),
	};

	return cmocka_run_group_tests(t, unit_dir_setup, unit_dir_teardown);
}
