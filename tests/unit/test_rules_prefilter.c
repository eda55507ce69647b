/* The rules' literal prefilter: a word wakes a rule only when it occurs in
 * the field the rule's test reads (a domain in a Received: header wakes no
 * body rule), the word boundaries and case of a pattern count, and rules
 * with a 'not' or an 'any' branch without a word are never skipped. The
 * outcome with the prefilter is the outcome with every rule tried, over
 * the labelled corpus and the shipped rules. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <unistd.h>

#include "buf.h"
#include "parse.h"
#include "rules.h"
#include "rules_int.h"
#include "xalloc.h"

#include "unit.h"


static void
write_rules(const char *text)
{
	unit_write_file("00-q.rules", "queue secretariat \"Secretariat\" language en\n"
				      "queue DE \"Germany\" language de\n");
	unit_write_file("10-t.rules", text);
}

/* ---- a message by hand ---- */
static struct header hdrs[] = {
	{ (char *)"Received", (char *)"from mx.uni-heidelberg.de by mx.icpermed.example" },
	{ (char *)"X-Other", (char *)"evil" },
	{ (char *)"X-Mailer", (char *)"Good Mailer" },
};
static struct address to1 = { (char *)"Partner", (char *)"partner@charite.de" };

static void
sample(struct message *m, const char *subject, const char *body)
{
	memset(m, 0, sizeof(*m));
	m->subject = (char *)subject;
	m->from.name = (char *)"Anna Schmidt";
	m->from.addr = (char *)"anna@uni-heidelberg.fr";
	m->sender.name = (char *)"";
	m->sender.addr = (char *)"";
	m->reply_to.name = (char *)"";
	m->reply_to.addr = (char *)"";
	m->to = &to1;
	m->nto = 1;
	m->headers = hdrs;
	m->nheaders = ARRAY_SIZE(hdrs);
	m->message_id = (char *)"x@y";
	m->body = (char *)body;
}

/* What happened to the rule named "t": skipped by the prefilter, tried. */
struct seen {
	bool skipped, tried;
};

static void
on_event(void *arg, const struct rule_trace_event *ev)
{
	struct seen *s = arg;

	if (strcmp(ev->rule, "t") != 0)
		return;
	if (ev->kind == RULE_TRACE_SKIP)
		s->skipped = true;
	else if (ev->kind == RULE_TRACE_RULE)
		s->tried = true;
}

/* Applies the rule "t" (tags "hit") with and without a trace; both ways
 * and with the prefilter off must agree on the match. */
static void
run_case(size_t i, const char *cond, const char *subject, const char *body, bool want_skip,
	 bool want_match)
{
	char *text = xasprintf("rule \"t\"\nwhen %s\nthen\ntag hit\nend\n", cond);
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;
	struct message m;
	struct rule_outcome o, o2, o3;
	struct seen s = { false, false };

	write_rules(text);
	if (rules_load(unit_dir, &rs, &e) < 0)
		fail_msg("case %zu: %s", i, e.msg);
	sample(&m, subject, body);
	rule_outcome_init(&o);
	rule_outcome_init(&o2);
	rule_outcome_init(&o3);
	assert_int_equal(rules_apply_trace(rs, &m, NULL, &o, on_event, &s, &e), 0);
	assert_int_equal(rules_apply(rs, &m, NULL, &o2, &e), 0);
	rules_prefilter_disable(rs);
	assert_int_equal(rules_apply(rs, &m, NULL, &o3, &e), 0);
	if (s.skipped != want_skip || s.tried == want_skip)
		fail_msg("case %zu '%s': expected the rule %s", i, cond,
			 want_skip ? "skipped by the prefilter" : "tried");
	if (strlist_contains(&o.tags, "hit") != want_match)
		fail_msg("case %zu '%s': expected %s", i, cond, want_match ? "a match" : "no match");
	if (strlist_contains(&o2.tags, "hit") != want_match ||
	    strlist_contains(&o3.tags, "hit") != want_match)
		fail_msg("case %zu '%s': the outcome differs without a trace or without the "
			 "prefilter", i, cond);
	rule_outcome_release(&o);
	rule_outcome_release(&o2);
	rule_outcome_release(&o3);
	rules_free(&rs);
	free(text);
}

static const char *const plain = "We would like to know whether our group can apply.";

static const struct {
	const char *cond, *subject, *body;
	bool skip, match;
} cases[] = {
	/* the word is in the Received: header and the From address only */
	{ "body matches /Heidelberg/w", "Question", "We write about the call.", true, false },
	{ "body matches /heidelberg/i", "Question", "We write about the call.", true, false },
	/* ... and in the body: found */
	{ "body matches /Heidelberg/w", "Question", "Our group in Heidelberg asks.", false, true },
	/* in the subject: no body rule wakes, a text rule does */
	{ "body matches /Heidelberg/w", "Heidelberg", "We write about the call.", true, false },
	{ "text matches /Heidelberg/w", "Heidelberg", "We write about the call.", false, true },
	{ "subject contains \"heidelberg\"", "Question", "Heidelberg", true, false },
	/* header tests read their own header only */
	{ "header:X-Mailer contains \"evil\"", "Question", plain, true, false },
	{ "header:X-Other contains \"evil\"", "Question", plain, false, true },
	{ "header:Received contains \"heidelberg\"", "Question", plain, false, true },
	/* address parts: the To address is no From address */
	{ "from.domain matches /charite\\.de$/", "Question", plain, true, false },
	{ "to.domain matches /charite\\.de$/", "Question", plain, false, true },
	{ "recipient matches /charite/", "Question", plain, false, true },
	{ "from.domain matches /heidelberg\\.fr$/", "Question", plain, false, true },
	/* word boundaries: "pers" of "personalised" is no word "pers" */
	{ "body matches /pers/wi", "Question", "personalised medicine partners", true, false },
	{ "body matches /\\bpers\\b/i", "Question", "personalised medicine partners", true,
	  false },
	{ "body matches /pers/wi", "Question", "contact met de pers, graag", false, true },
	{ "body matches /pers/i", "Question", "personalised medicine", false, true },
	{ "body matches /pers/wi", "Question", "«pers»", false, true },
	/* case: a case-sensitive word must be there with its case */
	{ "body matches /Gent/w", "Question", "a gentle agent in gent", true, false },
	{ "body matches /Gent/w", "Question", "the university of Gent", false, true },
	{ "body matches /Gent/wi", "Question", "the university of GENT", false, true },
	{ "body matches /Köln/w", "Question", "in Koeln or koln", true, false },
	{ "body matches /Köln/w", "Question", "in Köln", false, true },
	/* caseless, 's' is also LONG S and 'k' KELVIN SIGN: no skipping then */
	{ "body matches /casino/i", "Question", "online ca\xc5\xbfino", false, true },
	{ "body matches /kelvin/wi", "Question", "\xe2\x84\xaa" "elvin", false, true },
	{ "body matches /casino/", "Question", "online ca\xc5\xbfino", false, false },
	{ "body matches /casino/i", "Question", "online ca\xc5\xa1ino", true, false },
	/* not: never skipped */
	{ "not body contains \"heidelberg\"", "Question", plain, false, true },
	{ "not body contains \"apply\"", "Question", plain, false, false },
	/* any: a branch without a word keeps the rule */
	{ "any\n body contains \"zzzword\"\n language is \"en\"", "Question",
	  "Dear colleagues, we would like to know whether our group can apply to the call", false,
	  true },
	{ "any\n body contains \"zzzword\"\n not subject contains \"x\"", "Question", plain,
	  false, true },
	{ "any\n body contains \"zzzword\"\n subject contains \"yyyword\"", "Question", plain,
	  true, false },
	{ "any\n body contains \"zzzword\"\n subject contains \"question\"", "Question", plain,
	  false, true },
	/* all: the best-known word decides, the rest is PCRE2's */
	{ "all\n body contains \"heidelberg\"\n not subject contains \"spam\"", "Question",
	  plain, true, false },
	{ "all\n body contains \"heidelberg\"\n not subject contains \"spam\"", "Question",
	  "from Heidelberg", false, true },
	{ "all\n body contains \"heidelberg\"\n subject contains \"spam\"", "Question",
	  "from Heidelberg", false, false },
	/* nested groups */
	{ "all\n not any\n  body contains \"heidelberg\"\n  subject contains \"spam\"\n end\n"
	  " subject contains \"question\"", "Question", plain, false, true },
	{ "all\n not any\n  body contains \"heidelberg\"\n  subject contains \"spam\"\n end\n"
	  " subject contains \"question\"", "Other", plain, true, false },
	{ "any\n all\n  body contains \"zzzword\"\n  subject contains \"question\"\n end\n"
	  " not body contains \"apply\"", "Other", plain, false, false },
	/* tests that need no word: never skipped */
	{ "body matches /^.{0,5}$/s", "Question", "short", false, true },
	{ "header:X-Mailer exists", "Question", plain, false, true },
};

static void
test_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(i, cases[i].cond, cases[i].subject, cases[i].body, cases[i].skip,
			 cases[i].match);
}

/* The body the rules see ends at RULES_BODY_MAX (on a character): a word
 * past it is not found, by the prefilter or by PCRE2. */
static void
test_body_cap(void **state)
{
	size_t n = RULES_BODY_MAX + 100;
	char *body = xmalloc(n + 1);

	(void)state;
	memset(body, ' ', n);
	body[n] = '\0';
	memcpy(body + RULES_BODY_MAX - 20, "Heidelberg", 10);
	run_case(100, "body matches /Heidelberg/w", "Question", body, false, true);
	memset(body, ' ', n);
	memcpy(body + RULES_BODY_MAX + 10, "Heidelberg", 10);
	run_case(101, "body matches /Heidelberg/w", "Question", body, true, false);
	run_case(102, "body matches /Heidelberg/", "Question", body, true, false);
	free(body);
}

static void
outcome_str(struct buf *b, const struct rule_outcome *o)
{
	buf_reset(b);
	buf_addf(b, "%s %s %s %s %d %d %d %zu", o->queue ? o->queue : "-",
		 o->category ? o->category : "-", o->priority ? o->priority : "-",
		 o->language ? o->language : "-", o->no_ack, o->spam, o->stopped, o->errors.n);
	for (size_t i = 0; i < o->tags.n; i++)
		buf_addf(b, " %s", o->tags.items[i]);
}

/* The shipped rules over the labelled corpus: every outcome alike with the
 * prefilter and with every rule tried, and the prefilter skips most. */
static void
test_corpus_alike(void **state)
{
	const char *top = getenv("TOP") ? getenv("TOP") : ".";
	char *rdir = xasprintf("%s/rules", top), *mdir = xasprintf("%s/tests/mail/routing", top);
	struct ruleset *rs = NULL, *all = NULL;
	struct err e = ERR_INIT;
	struct buf a = BUF_INIT, b = BUF_INIT;
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	(void)state;
	d = opendir(mdir);
	if (!d) {
		free(rdir);
		free(mdir);
		skip();
		return;
	}
	assert_int_equal(rules_load(rdir, &rs, &e), 0);
	assert_int_equal(rules_load(rdir, &all, &e), 0);
	rules_prefilter_disable(all);
	while ((de = readdir(d))) {
		char *p, *raw = NULL;
		FILE *f;
		struct buf in = BUF_INIT;
		char chunk[8192];
		size_t k, len;
		struct message m;
		struct rule_outcome o1, o2;

		if (!strstr(de->d_name, ".eml"))
			continue;
		p = xasprintf("%s/%s", mdir, de->d_name);
		f = fopen(p, "rb");
		assert_non_null(f);
		while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_add(&in, chunk, k);
		fclose(f);
		raw = buf_detach(&in, &len);
		message_init(&m);
		assert_int_equal(parse_message(raw, len, &parse_limits_default, &m, &e), 0);
		rule_outcome_init(&o1);
		rule_outcome_init(&o2);
		rules_apply(rs, &m, NULL, &o1, &e);
		rules_apply(all, &m, NULL, &o2, &e);
		outcome_str(&a, &o1);
		outcome_str(&b, &o2);
		if (strcmp(buf_cstr(&a), buf_cstr(&b)) != 0)
			fail_msg("%s: '%s' with the prefilter, '%s' without", p, buf_cstr(&a),
				 buf_cstr(&b));
		rule_outcome_release(&o1);
		rule_outcome_release(&o2);
		message_release(&m);
		free(raw);
		free(p);
		n++;
	}
	closedir(d);
	assert_true(n >= 150);
	buf_release(&a);
	buf_release(&b);
	rules_free(&rs);
	rules_free(&all);
	free(rdir);
	free(mdir);
}


/* ---- random rules over random text, with and without the prefilter ---- */

static uint32_t seed = 4242;

static uint32_t
rnd(uint32_t n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

static const char *const pool[] = {
	"pers", "personal", "Gent", "gent", "agent", "Köln", "köln", "KÖLN", "Österreich",
	"österreichisch", "deutsch", "Deutschland", "call", "Call", "the consortium", "best",
	"Estonia", "Grüße", "grüße", "x_y", "a1b", "résumé", "Résumé", "PARIS", "Paris", "pari",
	"Genova", "geno", "nova", "Müller", "muller", "e-mail", "email", "F.R.S.-FNRS", "casino",
	"ca\xc5\xbfino", "kelvin", "ÉCOLE", "école", "Łódź", "ŁÓDŹ", "łódź", "Straße", "STRASSE",
	"İstanbul", "istanbul",
};
static const char *const seps[] = { " ", " ", " ", ", ", "\n", "«", "»", "_", "1", "", "é",
				    "-", ".", "  " };

/* A pattern made of pool words: alternatives, groups, optional and
 * repeated parts, word boundaries, \w. */
static void
random_pattern(struct buf *b)
{
	size_t nbr = 1 + rnd(3);

	for (size_t k = 0; k < nbr; k++) {
		const char *w = pool[rnd(ARRAY_SIZE(pool))];

		if (k)
			buf_addch(b, '|');
		switch (rnd(8)) {
		case 0:
			buf_addf(b, "\\b%s\\b", w);
			break;
		case 1:
			buf_addf(b, "%s\\w*", w);
			break;
		case 2:
			buf_addf(b, "(?:%s|%s)s?", w, pool[rnd(ARRAY_SIZE(pool))]);
			break;
		case 3:
			buf_addf(b, "%s(?:%s)?", w, pool[rnd(ARRAY_SIZE(pool))]);
			break;
		case 4:
			buf_addf(b, "\\b(?:%s)+", w);
			break;
		case 5:
			buf_addf(b, "%s\\b", w);
			break;
		default:
			buf_addstr(b, w);
			break;
		}
	}
	/* the pool holds '.' and '-': escape nothing, they match themselves
	 * or any character, both fine for the comparison */
}

static char *
random_text(void)
{
	struct buf b = BUF_INIT;
	size_t n = 1 + rnd(12);

	for (size_t k = 0; k < n; k++) {
		const char *w = pool[rnd(ARRAY_SIZE(pool))];

		buf_addstr(&b, seps[rnd(ARRAY_SIZE(seps))]);
		if (rnd(4) == 0) {
			/* capitals, ASCII only */
			for (const char *q = w; *q; q++)
				buf_addch(&b, *q >= 'a' && *q <= 'z' ? *q - 32 : *q);
		} else {
			buf_addstr(&b, w);
		}
	}
	buf_addstr(&b, seps[rnd(ARRAY_SIZE(seps))]);
	return buf_detach(&b, NULL);
}

static void
test_random_alike(void **state)
{
	static const char *const fields[] = { "subject", "body", "text" };
	static const char *const flags[] = { "", "i", "w", "iw" };
	struct buf rules = BUF_INIT, a = BUF_INIT, b = BUF_INIT;
	struct ruleset *rs = NULL, *all = NULL;
	struct err e = ERR_INIT;
	size_t nrules = 300;

	(void)state;
	for (size_t r = 0; r < nrules; r++) {
		buf_addf(&rules, "rule \"r%zu\"\nwhen %s matches /", r, fields[rnd(3)]);
		random_pattern(&rules);
		buf_addf(&rules, "/%s\nthen\ntag r%zu\nend\n", flags[rnd(4)], r);
	}
	write_rules(buf_cstr(&rules));
	if (rules_load(unit_dir, &rs, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(rules_load(unit_dir, &all, &e), 0);
	rules_prefilter_disable(all);
	for (size_t i = 0; i < 400; i++) {
		char *subject = random_text(), *body = random_text();
		struct message m;
		struct rule_outcome o1, o2;

		sample(&m, subject, body);
		rule_outcome_init(&o1);
		rule_outcome_init(&o2);
		rules_apply(rs, &m, NULL, &o1, &e);
		rules_apply(all, &m, NULL, &o2, &e);
		outcome_str(&a, &o1);
		outcome_str(&b, &o2);
		if (strcmp(buf_cstr(&a), buf_cstr(&b)) != 0)
			fail_msg("subject '%s' body '%s': '%s' with the prefilter, '%s' without",
				 subject, body, buf_cstr(&a), buf_cstr(&b));
		rule_outcome_release(&o1);
		rule_outcome_release(&o2);
		free(subject);
		free(body);
	}
	rules_free(&rs);
	rules_free(&all);
	buf_release(&rules);
	buf_release(&a);
	buf_release(&b);
}


/* Every caseless-safe Latin letter matches, caseless under Unicode, the
 * letters with the same fold and no other character of the BMP: what the
 * prefilter's folding of words and haystacks relies on. */
static size_t
utf8_put(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | cp >> 12);
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

static void
test_latin_fold(void **state)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	char *subject = xmalloc(3 * 0x10000 + 1);
	size_t nsafe = 0;

	(void)state;
	for (unsigned a = 0xc0; a < 0x180; a++) {
		char pat[4], fa[2], fb[2];
		size_t n = 0;
		int errc;
		PCRE2_SIZE erroff;
		pcre2_code *re;

		utf8_put(pat, a);
		pat[2] = '\0';
		if (!rules_latin_caseless_safe((unsigned char)pat[0], (unsigned char)pat[1]))
			continue;
		nsafe++;
		memcpy(fa, pat, 2);
		rules_latin_fold((unsigned char *)fa, (unsigned char *)fa + 1);
		re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
				   PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP, &errc, &erroff, NULL);
		assert_non_null(re);
		/* the same fold: each must match */
		for (unsigned b = 0xc0; b < 0x180; b++) {
			char tb[3];

			utf8_put(tb, b);
			memcpy(fb, tb, 2);
			rules_latin_fold((unsigned char *)fb, (unsigned char *)fb + 1);
			if (memcmp(fa, fb, 2) == 0 &&
			    pcre2_match(re, (PCRE2_SPTR)tb, 2, 0, 0, md, NULL) < 0)
				fail_msg("U+%04X does not match U+%04X, yet they fold alike", a, b);
		}
		/* every other character of the BMP: none may match */
		for (unsigned b = 1; b < 0x10000; b++) {
			char tb[3];
			size_t k;

			if (b >= 0xd800 && b < 0xe000)
				continue;
			k = utf8_put(tb, b);
			if (k == 2) {
				memcpy(fb, tb, 2);
				rules_latin_fold((unsigned char *)fb, (unsigned char *)fb + 1);
				if (memcmp(fa, fb, 2) == 0)
					continue;
			}
			memcpy(subject + n, tb, k);
			n += k;
		}
		if (pcre2_match(re, (PCRE2_SPTR)subject, n, 0, 0, md, NULL) >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

			fail_msg("U+%04X matches a character of another fold at byte %zu", a,
				 (size_t)ov[0]);
		}
		pcre2_code_free(re);
	}
	assert_true(nsafe > 150);
	free(subject);
	pcre2_match_data_free(md);
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_corpus_alike),
		cmocka_unit_test(test_random_alike),
		cmocka_unit_test(test_latin_fold),
	};

	return cmocka_run_group_tests(t, unit_dir_setup, unit_dir_teardown);
}
