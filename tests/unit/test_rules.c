/* The rule engine: parser (good and bad inputs with their messages), every
 * test and action, captures, the literal prefilter and the PCRE2 limits. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "lang.h"
#include "rules.h"
#include "rules_int.h"
#include "ticket.h"
#include "xalloc.h"

#include "unit.h"


static const char *queues = "queue secretariat \"Secretariat\" language en\n"
			    "queue DE \"Germany\" language de contact partner-de@x.example\n"
			    "queue FR \"France\" language fr contact partner-fr@x.example\n";

static void
write_rules(const char *text)
{
	unit_write_file("00-q.rules", queues);
	unit_write_file("10-t.rules", text);
}

/* ---- bad inputs: each with its message ---- */
static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	{ "rule x\nthen\nstop\nend\n", "10-t.rules:1:6: expected the rule's name as a quoted string" },
	{ "rule \"a\"\nthen\nrout DE\nend\n", "10-t.rules:3:1: unknown action 'rout'" },
	{ "rule \"a\"\nthen\nroute XX\nend\n", "10-t.rules:3:7: unknown queue 'XX'" },
	{ "rule \"a\"\nwhen subjet contains \"x\"\nthen\nstop\nend\n", "10-t.rules:2:6: unknown field 'subjet'" },
	{ "rule \"a\"\nwhen subject matches /(a/\nthen\nstop\nend\n", "10-t.rules:2:22: bad pattern: missing closing parenthesis" },
	{ "rule \"a\"\nwhen subject matches /a/q\nthen\nstop\nend\n", "unknown pattern flag 'q'" },
	{ "rule \"a\"\nwhen subject matches /abc\nthen\nstop\nend\n", "10-t.rules:2:22: unterminated pattern" },
	{ "rule \"a\"\nwhen subject contains \"abc\nthen\nstop\nend\n", "10-t.rules:2:23: unterminated string" },
	{ "rule \"a\"\nwhen subject likes \"x\"\nthen\nstop\nend\n", "expected matches, contains, is, is empty or exists after the field" },
	{ "rule \"a\"\nwhen subject contains \"x\"\nend\n", "10-t.rules:3:1: expected 'then' and the actions before 'end'" },
	{ "rule \"a\"\nthen\nend\n", "rule 'a' has no action" },
	{ "rule \"a\"\nthen\npriority soon\nend\n", "unknown priority 'soon'" },
	{ "rule \"a\"\nthen\nlanguage english\nend\n", "bad language 'english'" },
	{ "rule \"a\"\nthen\nstop now\nend\n", "'stop' takes no argument" },
	{ "rule \"a\"\nthen\ntag \"${x}\"\nend\n", "unknown capture '${x}'" },
	{ "rule \"a\"\nwhen any\nthen\nstop\nend\n", "empty group" },
	{ "rule \"a\"\nwhen subject contains \"x\"\n", "expected 'then' before the end of the file" },
	{ "route DE\n", "10-t.rules:1:1: expected 'rule' or 'queue' at the start of a statement" },
	{ "queue DE \"Again\"\n", "queue 'DE' declared twice" },
	{ "queue XY Name\n", "expected the queue's display name as a quoted string" },
	{ "queue XY \"N\" contact nobody\n", "expected an address after 'contact'" },
	{ "rule \"a\"\nwhen not\nthen\nstop\nend\n", "expected a test or a group after 'not'" },
	{ "rule \"a\"\nthen\ntag \"two words\"\nend\n", "10-t.rules:3:1: bad tag 'two words'" },
	{ "rule \"a\"\nthen\ntag ok, \"a,b\"\nend\n", "bad tag 'a,b'" },
	{ "rule \"a\"\nthen\ncategory \"x y\"\nend\n", "bad category 'x y'" },
	{ "rule \"a\"\nthen\nassign \"al ice\"\nend\n", "bad assignee 'al ice'" },
};

static void
test_parser_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ruleset *rs = NULL;
		struct err e = ERR_INIT;

		write_rules(bad[i].text);
		assert_int_equal(rules_load(unit_dir, &rs, &e), -1);
		assert_int_equal(e.code, EXIT_CONFIG);
		if (!strstr(e.msg, bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad[i].msg);
		assert_null(rs);
	}
}

/* rules check reports every error, not only the first. */
static void
test_check_all_errors(void **state)
{
	struct strlist errs = STRLIST_INIT;

	(void)state;
	write_rules("rule \"a\"\nthen\nrout DE\nend\n\nrule \"b\"\nthen\nroute XX\nend\n"
		    "rule \"c\"\nthen\nstop\nend\n");
	assert_int_equal(rules_check(unit_dir, &errs), 2);
	assert_non_null(strstr(errs.items[0], ":3:1: unknown action"));
	assert_non_null(strstr(errs.items[1], ":8:7: unknown queue"));
	strlist_release(&errs);
}

/* ---- a message by hand ---- */
static struct header hdrs[] = { { (char *)"X-Mailer", (char *)"Evil Mailer 1.0" },
				{ (char *)"Precedence", (char *)"bulk" } };
static struct address to1 = { (char *)"Desk", (char *)"secretariat@icpermed.example" };
static struct attachment att = { (char *)"proposal.pdf", (char *)"application/pdf", 10, NULL, "" };

static void
sample(struct message *m)
{
	memset(m, 0, sizeof(*m));
	m->subject = (char *)"Question about the call in Lyon";
	m->from.name = (char *)"Anna Schmidt";
	m->from.addr = (char *)"anna.schmidt@Charite.DE";
	m->sender.name = (char *)"";
	m->sender.addr = (char *)"";
	m->reply_to.name = (char *)"";
	m->reply_to.addr = (char *)"";
	m->to = &to1;
	m->nto = 1;
	m->headers = hdrs;
	m->nheaders = ARRAY_SIZE(hdrs);
	m->atts = &att;
	m->natts = 1;
	m->message_id = (char *)"x@y";
	m->body = (char *)"Sehr geehrte Damen und Herren, wir möchten uns an der Ausschreibung "
			  "beteiligen. Ist eine Klinik förderfähig? Mit freundlichen Grüßen";
	m->flags = MSG_BOUNCE;
}

/* Each test kind: a rule that tags "hit" when it matches. */
static const struct {
	const char *cond;
	bool match;
} tests[] = {
	{ "subject contains \"LYON\"", true },
	{ "subject contains \"Paris\"", false },
	{ "subject contains any \"Paris\", \"Lyon\"", true },
	{ "subject is \"question about the call in lyon\"", true },
	{ "subject is \"question\"", false },
	{ "subject matches /\\bcall\\b/", true },
	{ "subject matches /CALL/", false },
	{ "subject matches /CALL/i", true },
	{ "subject matches /Ly/w", false },
	{ "subject matches /Lyon/w", true },
	{ "body contains \"förderfähig\"", true },
	{ "body matches /FÖRDERFÄHIG/i", true },
	{ "text matches /Lyon.*Ausschreibung/s", true },
	{ "from contains \"anna.schmidt@\"", true },
	{ "from.name is \"Anna Schmidt\"", true },
	{ "from.local is \"anna.schmidt\"", true },
	{ "from.domain matches /\\.de$/", true },
	{ "from.domain is \"charite.de\"", true },
	{ "to.domain is \"icpermed.example\"", true },
	{ "recipient.name is \"desk\"", true },
	{ "cc exists", false },
	{ "cc is empty", true },
	{ "sender exists", false },
	{ "header:x-mailer contains \"evil\"", true },
	{ "header:X-Missing exists", false },
	{ "header:Precedence exists", true },
	{ "attachment.name matches /\\.pdf$/", true },
	{ "attachment.type is \"application/pdf\"", true },
	{ "language is \"de\"", true },
	{ "language is \"fr\"", false },
	{ "flags contains \"bounce\"", true },
	{ "flags contains \"list\"", false },
	{ "message-id is \"x@y\"", true },
	{ "ticket.queue is \"DE\"", false },
	{ "not subject contains \"Paris\"", true },
	{ "not subject contains \"Lyon\"", false },
	{ "any\n subject contains \"Paris\"\n from.domain is \"charite.de\"\nend", true },
	{ "all\n subject contains \"Lyon\"\n from.domain is \"inserm.fr\"\nend", false },
	{ "not any\n subject contains \"Paris\"\n subject contains \"Rome\"\nend", true },
};

static void
apply_text(const char *text, const struct message *m, const struct ticket *t,
	   struct rule_outcome *o)
{
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;

	write_rules(text);
	if (rules_load(unit_dir, &rs, &e) < 0)
		fail_msg("%s", e.msg);
	rule_outcome_init(o);
	assert_int_equal(rules_apply(rs, m, t, o, &e), 0);
	rules_free(&rs);
}

static void
test_every_test(void **state)
{
	struct message m;

	(void)state;
	sample(&m);
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++) {
		char *text = xasprintf("rule \"t\"\nwhen\n%s\nthen\ntag hit\nend\n", tests[i].cond);
		struct rule_outcome o;

		apply_text(text, &m, NULL, &o);
		if (strlist_contains(&o.tags, "hit") != tests[i].match)
			fail_msg("case %zu '%s': expected %s", i, tests[i].cond,
				 tests[i].match ? "a match" : "no match");
		rule_outcome_release(&o);
		free(text);
	}
}

static void
test_ticket_fields(void **state)
{
	struct message m;
	struct ticket t;
	struct rule_outcome o;

	(void)state;
	sample(&m);
	ticket_init(&t);
	t.queue = xstrdup("DE");
	t.status = xstrdup("open");
	strlist_add(&t.tags, "vip");
	apply_text("rule \"t\"\nwhen all\nticket.queue is \"de\"\nticket.status is \"open\"\n"
		   "ticket.tags is \"vip\"\nthen\ntag hit\nend\n",
		   &m, &t, &o);
	assert_true(strlist_contains(&o.tags, "hit"));
	rule_outcome_release(&o);
	ticket_release(&t);
}

static void
test_actions(void **state)
{
	struct message m;
	struct rule_outcome o;

	(void)state;
	sample(&m);
	apply_text("rule \"first\"\nwhen subject matches /in (?<city>\\w+)$/\nthen\n"
		   "  route de\n  category funding\n  priority high\n  language fr\n"
		   "  tag city-${city}, two\n  assign alice\n  no-ack \"partner mail\"\nend\n"
		   "rule \"second\"\nthen\n  route FR\n  category events\n  tag three\n  spam\n"
		   "  stop\n  tag never\nend\n"
		   "rule \"third\"\nthen\n  tag after-stop\nend\n",
		   &m, NULL, &o);
	assert_string_equal(o.queue, "DE"); /* first wins, canonical id */
	assert_string_equal(o.category, "funding");
	assert_string_equal(o.priority, "high");
	assert_string_equal(o.language, "fr");
	assert_string_equal(o.assignee, "alice");
	assert_int_equal(o.tags.n, 3);
	assert_string_equal(o.tags.items[0], "city-Lyon");
	assert_string_equal(o.tags.items[1], "two");
	assert_string_equal(o.tags.items[2], "three");
	assert_true(o.no_ack);
	assert_string_equal(o.no_ack_reason, "rule 'first': partner mail");
	assert_true(o.spam);
	assert_true(o.stopped);
	rule_outcome_release(&o);

	/* no rule sets the language: the detected one */
	apply_text("rule \"x\"\nthen\ntag t\nend\n", &m, NULL, &o);
	assert_string_equal(o.language, "de");
	assert_null(o.queue);
	rule_outcome_release(&o);

	/* route to a captured queue that does not exist: reported, ignored */
	apply_text("rule \"x\"\nwhen subject matches /(?<q>Lyon)/\nthen\nroute ${q}\nend\n", &m,
		   NULL, &o);
	assert_null(o.queue);
	assert_int_equal(o.errors.n, 1);
	assert_non_null(strstr(o.errors.items[0], "no queue 'Lyon'"));
	rule_outcome_release(&o);
}

/* Values from mail (captures) are checked when the rule runs: a value the
 * ticket cannot take is dropped and named in the errors (which flag the
 * ticket); the rule's other actions and later rules still run. */
static const struct {
	const char *subject;
	const char *action; /* with ${v}: the subject after "v=" */
	const char *want;   /* the field as set, or NULL: dropped */
	const char *error;  /* in o.errors when dropped */
} capture_cases[] = {
	{ "v=acme", "tag org-${v}", "org-acme", NULL },
	{ "v=Acme,Inc", "tag org-${v}", NULL, "tag 'org-Acme,Inc' dropped: not one word" },
	{ "v=two words", "tag ${v}", NULL, "tag 'two words' dropped" },
	{ "v=tab\tbed", "tag ${v}", NULL, "dropped" },
	{ "v=c1\xc2\x85" "ctl", "tag ${v}", NULL, "dropped" },
	{ "v=", "tag x${v}", "x", NULL },
	{ "v=press", "category ${v}", "press", NULL },
	{ "v=a,b", "category ${v}", NULL, "category 'a,b' dropped" },
	{ "v=de", "route ${v}", "DE", NULL },
	{ "v=Lyon", "route ${v}", NULL, "no queue 'Lyon': route dropped" },
	{ "v=high", "priority ${v}", "high", NULL },
	{ "v=soon", "priority ${v}", NULL, "priority 'soon' dropped" },
	{ "v=FR", "language ${v}", "fr", NULL },
	{ "v=f1", "language ${v}", NULL, "language 'f1' dropped" },
	{ "v=fra", "language ${v}", NULL, "language 'fra' dropped" },
	{ "v=\xc3\xa9\xc3\xa9", "language ${v}", NULL, "dropped: not an ISO 639-1 code" },
	{ "v=alice", "assign ${v}", "alice", NULL },
	{ "v=al ice", "assign ${v}", NULL, "assignee 'al ice' dropped" },
};

static const char *
outcome_field(const struct rule_outcome *o, const char *action)
{
	/* the tag under test comes before "after" */
	if (!strncmp(action, "tag", 3))
		return o->tags.n && strcmp(o->tags.items[0], "after") ? o->tags.items[0] : NULL;
	if (!strncmp(action, "category", 8))
		return o->category;
	if (!strncmp(action, "route", 5))
		return o->queue;
	if (!strncmp(action, "priority", 8))
		return o->priority;
	if (!strncmp(action, "language", 8))
		return o->language;
	return o->assignee;
}

static void
test_capture_values(void **state)
{
	struct message m;

	(void)state;
	sample(&m);
	for (size_t i = 0; i < ARRAY_SIZE(capture_cases); i++) {
		char *text = xasprintf("rule \"c\"\nwhen subject matches /^v=(?<v>.*)$/s\nthen\n"
				       "%s\ntag after\nend\nrule \"next\"\nthen\ntag next\nend\n",
				       capture_cases[i].action);
		const char *got;
		struct rule_outcome o;

		m.subject = (char *)capture_cases[i].subject;
		apply_text(text, &m, NULL, &o);
		got = outcome_field(&o, capture_cases[i].action);
		/* language: the detected one when none was set */
		if (!strncmp(capture_cases[i].action, "language", 8) && !capture_cases[i].want &&
		    got && strcmp(got, "de") == 0)
			got = NULL;
		if (capture_cases[i].want ? !got || strcmp(got, capture_cases[i].want) : got != NULL)
			fail_msg("case %zu '%s' on '%s': got '%s'", i, capture_cases[i].action,
				 capture_cases[i].subject, got ? got : "(none)");
		if (capture_cases[i].error &&
		    (o.errors.n != 1 || !strstr(o.errors.items[0], capture_cases[i].error) ||
		     !strstr(o.errors.items[0], "10-t.rules:4: rule 'c'")))
			fail_msg("case %zu: errors %zu, '%s' lacks '%s'", i, o.errors.n,
				 o.errors.n ? o.errors.items[0] : "", capture_cases[i].error);
		if (!capture_cases[i].error && o.errors.n)
			fail_msg("case %zu: unexpected error '%s'", i, o.errors.items[0]);
		if (!strlist_contains(&o.tags, "after") || !strlist_contains(&o.tags, "next"))
			fail_msg("case %zu: the other actions did not run", i);
		rule_outcome_release(&o);
		free(text);
	}
}

/* A catastrophic pattern on hostile text: the rule is skipped and named,
 * the next rule still runs. */
static void
test_match_limit(void **state)
{
	struct message m;
	struct rule_outcome o;
	char *body = xmalloc(5001);

	(void)state;
	sample(&m);
	memset(body, 'a', 5000);
	body[4999] = 'b';
	body[5000] = '\0';
	m.body = body;
	apply_text("rule \"evil\"\nwhen body matches /^(a|aa)+$/\nthen\ntag evil\nend\n"
		   "rule \"next\"\nthen\ntag next\nend\n",
		   &m, NULL, &o);
	assert_false(strlist_contains(&o.tags, "evil"));
	assert_true(strlist_contains(&o.tags, "next"));
	assert_int_equal(o.errors.n, 1);
	assert_non_null(strstr(o.errors.items[0], "rule 'evil' skipped for this message"));
	rule_outcome_release(&o);
	free(body);
}

/* `is` on words of printable ASCII without k or s is compared without
 * PCRE2: the same answers as the pattern it stands for, ^(?:w|...)$
 * caseless (all of the value, or all but a final newline). */
static const struct {
	const char *value;
	const char *words; /* the test's strings, as written in the rule */
} plain_is_cases[] = {
	{ "de", "\"de\"" },	   { "DE", "\"de\"" },	{ "De", "\"dE\"" },
	{ "de\n", "\"de\"" },   { "de\n\n", "\"de\"" }, { "dex", "\"de\"" },
	{ "xde", "\"de\"" },	   { "", "\"de\"" },	{ "", "\"\"" },
	{ "\n", "\"\"" },	   { "d", "\"de\"" },	{ "fr", "any \"de\", \"fr\"" },
	{ "a.b", "\"a.b\"" },	   { "axb", "\"a.b\"" },	{ "A-1 [x]", "\"a-1 [x]\"" },
	{ "é", "\"de\"" },	   { "d\xc3", "\"de\"" },	{ "\xff", "\"de\"" },
	{ "Q@", "\"q@\"" },	   { "q`", "\"Q@\"" },	{ "[", "\"{\"" },
};

static void
test_plain_is(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(plain_is_cases); i++) {
		const char *words = plain_is_cases[i].words;
		char *text = xasprintf("rule \"r\"\nwhen subject is %s\nthen\ntag hit\nend\n", words);
		struct buf pat = BUF_INIT;
		struct message m;
		struct rule_outcome o;
		pcre2_code *re;
		pcre2_match_data *md;
		int errcode;
		PCRE2_SIZE erroff;
		bool want;

		/* the reference: the pattern as rules.c would compile it */
		buf_addstr(&pat, "^(?:");
		for (const char *w = strchr(words, '"'); w; w = strchr(strchr(w + 1, '"') + 1, '"')) {
			if (w != strchr(words, '"'))
				buf_addch(&pat, '|');
			for (const char *c = w + 1; *c != '"'; c++) {
				if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
				      (*c >= '0' && *c <= '9') || *c == ' '))
					buf_addch(&pat, '\\');
				buf_addch(&pat, *c);
			}
		}
		buf_addstr(&pat, ")$");
		re = pcre2_compile((PCRE2_SPTR)buf_cstr(&pat), PCRE2_ZERO_TERMINATED,
				   PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
				   &errcode, &erroff, NULL);
		assert_non_null(re);
		md = pcre2_match_data_create_from_pattern(re, NULL);
		want = pcre2_match(re, (PCRE2_SPTR)plain_is_cases[i].value,
				   strlen(plain_is_cases[i].value), 0, 0, md, NULL) >= 0;
		sample(&m);
		m.subject = (char *)plain_is_cases[i].value;
		apply_text(text, &m, NULL, &o);
		if (strlist_contains(&o.tags, "hit") != want)
			fail_msg("case %zu: '%s' is %s: got %d, PCRE2 says %d", i,
				 plain_is_cases[i].value, words, !want, want);
		rule_outcome_release(&o);
		pcre2_match_data_free(md);
		pcre2_code_free(re);
		buf_release(&pat);
		free(text);
	}
}

/* A ruleset JIT-compiles its patterns once it has classified
 * RULES_JIT_AFTER mails: the outcomes before and after are the same. */
static void
test_jit_later(void **state)
{
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;
	struct message m;

	(void)state;
	unit_write_file("10-t.rules",
			"rule \"lyon\"\nwhen subject matches /\\bly(o)n\\b/i\nthen\ntag lyon\nend\n"
			"rule \"evil\"\nwhen body matches /^(a|aa)+$/\nthen\ntag evil\nend\n");
	assert_int_equal(rules_load(unit_dir, &rs, &e), 0);
	sample(&m);
	for (int i = 0; i < 2 * RULES_JIT_AFTER; i++) {
		struct rule_outcome o;

		rule_outcome_init(&o);
		assert_int_equal(rules_apply(rs, &m, NULL, &o, &e), 0);
		if (!strlist_contains(&o.tags, "lyon") || strlist_contains(&o.tags, "evil") ||
		    o.errors.n)
			fail_msg("mail %d: the outcome changed", i);
		rule_outcome_release(&o);
	}
	rules_free(&rs);
}

static const struct {
	const char *pattern;
	bool ci;
	const char *lits; /* space-separated, "" for none; <word> marks word
			     boundaries, a case-sensitive word keeps its case */
} lit_cases[] = {
	{ "germany", true, "germany" },
	{ "\\b(Germany|Deutschland)\\b", false, "<Germany> <Deutschland>" },
	{ "\\b(?:Germany|Deutschland)\\b", true, "<germany> <deutschland>" },
	{ "Ger(many)?", false, "Ger" },
	{ "ab", false, "" },
	{ "foo|ba", false, "" },
	{ "x+yz.*call", false, "call" },
	{ "colou?r", false, "colo" },
	{ "\\.de$", false, ".de" },
	{ "(?i)abc", false, "" },
	{ "[abc]def", false, "def" },
	/* caseless, a letter beyond ASCII ends the word but for the Latin
	 * letters that fold simply; case-sensitive it is part of it */
	{ "Österreich", true, "österreich" },
	{ "Straße", true, "stra" },
	{ "Kraków|Łódź", true, "kraków łódź" },
	{ "İstanbul", true, "stanbul" },
	{ "Österreich", false, "Österreich" },
	{ "\\b(?:Köln|Pécs)\\b", false, "<Köln> <Pécs>" },
	{ "(?<city>Lyon|Paris)", false, "Lyon Paris" },
	/* boundaries: only where the word's end is an ASCII word character,
	 * and not through a repeated or optional part */
	{ "\\bdeutsch\\w*", true, "<deutsch" },
	{ "\\b(?:Österreich|Wien)\\b", false, "Österreich> <Wien>" },
	{ "\\b(?:abc)+\\b", true, "abc" },
	{ "\\b(?:abc|abcd)x\\b", true, "<abc <abcd" },
	{ "\\b(?:\\.de)\\b", true, ".de>" },
	{ "\\bpre-proposal\\b", true, "<pre-proposal>" },
	{ "\\b(?:a|bc)foo\\b", true, "foo>" },
	{ "abcx{,3}", true, "abc" },
	{ "abcx{2}", true, "abcx" },
};

static void
test_literals(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lit_cases); i++) {
		struct litset l = LITSET_INIT;
		char got[256] = "";
		size_t n = 0;

		rules_literals(lit_cases[i].pattern, lit_cases[i].ci, &l);
		for (size_t k = 0; k < l.n; k++)
			n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s%s%s", k ? " " : "",
					      l.v[k].flags & LIT_WB_LEFT ? "<" : "",
					      l.v[k].exact ? l.v[k].exact : l.v[k].lower,
					      l.v[k].flags & LIT_WB_RIGHT ? ">" : "");
		if (strcmp(got, lit_cases[i].lits) != 0)
			fail_msg("case %zu /%s/: got '%s', expected '%s'", i, lit_cases[i].pattern,
				 got, lit_cases[i].lits);
		litset_release(&l);
	}
}

static void
test_queues(void **state)
{
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;

	(void)state;
	write_rules("");
	assert_int_equal(rules_load(unit_dir, &rs, &e), 0);
	assert_int_equal(rules_queue_count(rs), 3);
	assert_string_equal(rules_queue(rs, "de")->name, "Germany");
	assert_string_equal(rules_contact_queue(rs, "Partner-FR@X.example")->id, "FR");
	assert_null(rules_contact_queue(rs, "someone@x.example"));
	assert_null(rules_queue(rs, "XX"));
	rules_free(&rs);
	assert_null(rs);
}

/* The queue list alone: the same queues as a whole load, queues after
 * the rules of a file too, no rule compiled; a bad queue is still an error. */
static void
test_queues_only(void **state)
{
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;

	(void)state;
	write_rules("rule \"a\"\nwhen any\n  subject matches /x(/\nthen\n  route DE\nend\n"
		    "queue EC \"European Commission\" language en\n");
	assert_int_equal(rules_load(unit_dir, &rs, &e), -1);
	assert_int_equal(rules_load_queues(unit_dir, &rs, &e), 0);
	assert_int_equal(rules_queue_count(rs), 4);
	assert_int_equal(rs->nrules, 0);
	assert_string_equal(rules_queue(rs, "de")->name, "Germany");
	assert_string_equal(rules_queue(rs, "EC")->name, "European Commission");
	rules_free(&rs);
	write_rules("queue DE \"Again\"\n");
	assert_int_equal(rules_load_queues(unit_dir, &rs, &e), -1);
	assert_non_null(strstr(e.msg, "declared twice"));
	assert_null(rs);
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_parser_bad), cmocka_unit_test(test_check_all_errors),
		cmocka_unit_test(test_every_test), cmocka_unit_test(test_ticket_fields),
		cmocka_unit_test(test_actions),	   cmocka_unit_test(test_match_limit),
		cmocka_unit_test(test_plain_is),   cmocka_unit_test(test_jit_later),
		cmocka_unit_test(test_literals),   cmocka_unit_test(test_queues),
		cmocka_unit_test(test_capture_values), cmocka_unit_test(test_queues_only),
	};

	return cmocka_run_group_tests(t, unit_dir_setup, unit_dir_teardown);
}
