/* The word lists grouped by first letter (rules_factor.c) against the
 * patterns as written, their plain twins: the same texts match; the
 * patterns that must be left alone are; and the language gate, which
 * tries a rule only on mail in its language, decides as the rules tried
 * one by one do. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rules.h"
#include "rules_int.h"
#include "xalloc.h"

#include "unit.h"

/* Whether pattern matches subject, as the rules compile patterns. */
static bool
matches(const char *pattern, uint32_t opts, const char *subject)
{
	int errcode, rc;
	PCRE2_SIZE erroff;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				       opts | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
				       &errcode, &erroff, NULL);
	pcre2_match_data *md;

	assert_non_null(re);
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0;
}

static const char *const patterns[] = {
	"\\b(call\\w*|funding|grant|proposal|Förder\\w*|financement|finanziamento|finançament|"
	"fon\\w*|çağrı\\w*|πρόσκληση|προθεσμία|קול קורא|покана\\w*|co-?fund\\w*|(the|next) call|"
	"f[eø]rst|fund)\\b",
	"\\b(?:Spain|Spanish|España|español\\w*|Spanien|Spagna|Madrid|Málaga|Malaga|València)\\b",
	"\\b(press\\w*|pers|persvraag|presse|Presse\\w*|prensa|premsa)\\b",
	"\\b(a|ab|abc|b)\\b",
};

static const char *const subjects[] = {
	"Question on the call",
	"calls for proposals",
	"the next call opens",
	"cofunding and co-funding",
	"Förderung beantragen",
	"un financement",
	"fonlar hakkında",
	"Çağrı hakkında",
	"Ερώτηση για την πρόσκληση",
	"покана за проекти",
	"first fund",
	"førsT",
	"personalised medicine",
	"persvraag over ICPerMed",
	"la premsa",
	"in València",
	"SPANISH and spanish",
	"Málaga or malaga",
	"ab",
	"abcd",
	"b a",
	"",
	"nothing here",
};

/* Every listed pattern is grouped, and matches just where it did. */
static void
test_same_matches(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(patterns); i++) {
		char *f = rules_factor_alternation(patterns[i]);

		assert_non_null(f);
		assert_string_not_equal(f, patterns[i]);
		for (size_t j = 0; j < ARRAY_SIZE(subjects); j++)
			for (int ci = 0; ci < 2; ci++) {
				uint32_t o = ci ? PCRE2_CASELESS : 0;

				if (matches(patterns[i], o, subjects[j]) != matches(f, o, subjects[j]))
					fail_msg("'%s' and '%s' differ on '%s'", patterns[i], f, subjects[j]);
			}
		free(f);
	}
}

/* What its words' order could change, or what is no list of words. */
static const char *const left_alone[] = {
	"\\b(a|b)c(d|e)\\b",         /* the group is not the whole */
	"\\b(?i)(abc|abd)\\b",       /* no group after \b */
	"\\b(ab(?i)c|abd)\\b",       /* inline options reach the next words */
	"\\b((a)x|ab\\1)\\b",        /* a back reference */
	"\\b(abc|abd|(?=x)y)\\b",    /* a lookahead */
	"\\b(a\\Q|b\\E|ac)\\b",      /* quoted text */
	"\\b(abc|[ab|]x|abd\\b",     /* unbalanced */
	"\\b(?<name>abc|abd)\\b",    /* a named group around the list */
	"\\b(abc|xyz)\\b",           /* no two words alike */
	"\\b(a?bc|abd)\\b",          /* a quantified first letter */
	"abc|abd",                   /* no \b( ... )\b */
	"\\b(abc|abd)",
};

static void
test_left_alone(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(left_alone); i++) {
		char *f = rules_factor_alternation(left_alone[i]);

		if (f)
			fail_msg("'%s' grouped as '%s'", left_alone[i], f);
	}
}

static struct address to1 = { (char *)"desk", (char *)"desk@icpermed.example" };

static void
sample(struct message *m, const char *subject, const char *body)
{
	memset(m, 0, sizeof(*m));
	m->subject = (char *)subject;
	m->from.name = (char *)"A";
	m->from.addr = (char *)"a@example.org";
	m->sender.name = m->sender.addr = (char *)"";
	m->reply_to.name = m->reply_to.addr = (char *)"";
	m->to = &to1;
	m->nto = 1;
	m->message_id = (char *)"x@y";
	m->body = (char *)body;
}

static const char *gate_rules =
	"queue secretariat \"Secretariat\" language en\n"
	"rule \"Swedish funding\"\nwhen all\n\tlanguage is \"sv\"\n\ttext matches /\\b(utlysning\\w*|bidrag)\\b/i\nthen\n\tscore category:funding 2\nend\n"
	"rule \"Greek or Hebrew\"\nwhen all\n\tlanguage is any \"EL\", \"he\"\n\ttext matches /πρόσκληση|קול קורא/\nthen\n\ttag other-script\nend\n"
	"rule \"Not Swedish\"\nwhen not language is \"sv\"\nthen\n\ttag not-swedish\nend\n"
	"rule \"Swedish\"\nwhen language is \"sv\"\nthen\n\ttag swedish\nend\n"
	"rule \"Swedish, or a call\"\nwhen any\n\tlanguage is \"sv\"\n\tsubject matches /call/\nthen\n\ttag swedish-or-call\nend\n";

static const struct {
	const char *subject, *body;
} gate_mail[] = {
	{ "Fråga om utlysningen", "Hej, när stänger utlysningen och hur mycket bidrag kan vi få? Vänliga hälsningar" },
	{ "Question on the call", "Hello, when does the call close and how much bidrag can we get? Kind regards" },
	{ "Ερώτηση για την πρόσκληση", "Καλησπέρα, θα θέλαμε να υποβάλουμε πρόταση στην πρόσκληση. Ευχαριστώ" },
	{ "שאלה", "שלום רב, אנו מתכננים להגיש הצעה במסגרת הקול קורא המשותף. תודה" },
	{ "x", "" },
};

/* The gated run (rules_apply) and the one that tries every rule (a trace
 * callback) decide alike, and the gate does keep rules back. */
static void
trace_nothing(void *arg, const struct rule_trace_event *ev)
{
	(void)ev;
	(void)arg;
}

static void
test_gate(void **state)
{
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;

	(void)state;
	unit_write_file("00-gate.rules", gate_rules);
	if (rules_load(unit_dir, &rs, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(rs->ngated, 3);
	for (size_t i = 0; i < ARRAY_SIZE(gate_mail); i++) {
		struct message m;
		struct rule_outcome a, b;

		sample(&m, gate_mail[i].subject, gate_mail[i].body);
		rule_outcome_init(&a);
		rule_outcome_init(&b);
		assert_int_equal(rules_apply(rs, &m, NULL, &a, &e), 0);
		assert_int_equal(rules_apply_trace(rs, &m, NULL, &b, trace_nothing, NULL, &e), 0);
		assert_string_equal(a.category ? a.category : "-", b.category ? b.category : "-");
		assert_int_equal(a.tags.n, b.tags.n);
		for (size_t t = 0; t < a.tags.n; t++)
			assert_string_equal(a.tags.items[t], b.tags.items[t]);
		if (i == 0)
			assert_string_equal(a.category, "funding");
		if (i == 1)
			assert_null(a.category);
		if (i == 2 || i == 3)
			assert_true(strlist_contains(&a.tags, "other-script"));
		rule_outcome_release(&a);
		rule_outcome_release(&b);
	}
	rules_free(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_matches),
		cmocka_unit_test(test_left_alone),
		cmocka_unit_test(test_gate),
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
