/* The prefilter's pass over a long text (scan_words() in rules_match.c):
 * each position stores the key of its 4-gram of canonical bytes (an ASCII
 * word character as it is, any other byte 0, a 0 before and after the
 * text), and a word is confirmed only when all the 4-grams of its own
 * canonical bytes, with a 0 for each word boundary it needs, are there.
 * A fast path that skipped a real match would change an outcome: every
 * case here is classified with the prefilter and with every rule tried,
 * and the two must agree. Cases: a word that opens or closes the field, a
 * field that is the word and no more, a field shorter than a 4-gram or
 * than the word, capitals and Latin letters, word boundaries beside
 * punctuation and UTF-8 letters, text whose UTF-8 is broken (the fold out
 * of step), three-byte words with and without boundaries, short texts
 * (the maps) and long ones (the 4-gram pass), random rules over random
 * long text. */
#include "compat.h"

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

static struct address to1 = { (char *)"Partner", (char *)"partner@charite.de" };
static struct header hdrs[] = {
	{ (char *)"Received", (char *)"from mx.uni-heidelberg.de by mx.icpermed.example" },
};

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

static void
write_rules(const char *text)
{
	unit_write_file("00-q.rules", "queue secretariat \"Secretariat\" language en\n");
	unit_write_file("10-t.rules", text);
}

/* The tags of m with the prefilter (rs) and with every rule tried (all),
 * which must be the same; returns whether tag "hit" is among them. */
static bool
hit_alike(const struct ruleset *rs, const struct ruleset *all, const struct message *m,
	  const char *what)
{
	struct rule_outcome o1, o2;
	struct err e = ERR_INIT;
	bool hit;

	rule_outcome_init(&o1);
	rule_outcome_init(&o2);
	assert_int_equal(rules_apply(rs, m, NULL, &o1, &e), 0);
	assert_int_equal(rules_apply(all, m, NULL, &o2, &e), 0);
	if (o1.errors.n != o2.errors.n)
		fail_msg("%s: %zu errors with the prefilter, %zu without", what, o1.errors.n,
			 o2.errors.n);
	if (o1.tags.n != o2.tags.n) {
		for (size_t i = 0; i < o2.tags.n; i++)
			if (!strlist_contains(&o1.tags, o2.tags.items[i]))
				print_message("# '%s' only without the prefilter\n", o2.tags.items[i]);
		fail_msg("%s: %zu tags with the prefilter, %zu without (subject '%s', body '%s')",
			 what, o1.tags.n, o2.tags.n, m->subject, m->body);
	}
	for (size_t i = 0; i < o1.tags.n; i++)
		if (strcmp(o1.tags.items[i], o2.tags.items[i]) != 0)
			fail_msg("%s: tag '%s' with the prefilter, '%s' without", what,
				 o1.tags.items[i], o2.tags.items[i]);
	hit = strlist_contains(&o1.tags, "hit");
	rule_outcome_release(&o1);
	rule_outcome_release(&o2);
	return hit;
}

/* Rule "t" (tag "hit") when cond, after nfill rules of words that no text
 * here holds (so that a text is short or long beside the haystack's list
 * of words: the maps or the 4-gram pass), on one body: must match or not,
 * alike with and without the prefilter. */
static void
run_case(size_t i, const char *cond, size_t nfill, const char *body, bool want)
{
	struct buf b = BUF_INIT;
	struct ruleset *rs = NULL, *all = NULL;
	struct err e = ERR_INIT;
	struct message m;
	char what[64];

	for (size_t k = 0; k < nfill; k++)
		buf_addf(&b, "rule \"f%zu\"\nwhen body contains \"qqfill%zuzz\"\nthen\ntag f%zu\nend\n", k,
			 k, k);
	buf_addf(&b, "rule \"t\"\nwhen %s\nthen\ntag hit\nend\n", cond);
	write_rules(buf_cstr(&b));
	if (rules_load(unit_dir, &rs, &e) < 0)
		fail_msg("case %zu: %s", i, e.msg);
	assert_int_equal(rules_load(unit_dir, &all, &e), 0);
	rules_prefilter_disable(all);
	sample(&m, "Question", body);
	snprintf(what, sizeof(what), "case %zu (%zu fillers)", i, nfill);
	if (hit_alike(rs, all, &m, what) != want)
		fail_msg("case %zu '%s' on '%s' (%zu fillers): expected %s", i, cond, body, nfill,
			 want ? "a match" : "no match");
	rules_free(&rs);
	rules_free(&all);
	buf_release(&b);
}

static const struct {
	const char *cond, *body;
	bool match;
} cases[] = {
	/* a three-byte word with both boundaries: at the start, the end, as
	 * the whole field, beside punctuation and UTF-8 letters */
	{ "body matches /\\bnwo\\b/i", "NWO funds the call", true },
	{ "body matches /\\bnwo\\b/i", "the call is funded by NWO", true },
	{ "body matches /\\bnwo\\b/i", "nwo", true },
	{ "body matches /\\bnwo\\b/i", "(NWO).", true },
	{ "body matches /\\bnwo\\b/i", "«nwo»", true },
	/* (under Unicode é is a word character: no boundary beside it) */
	{ "body matches /\\bnwo\\b/i", "énwoé", false },
	{ "body matches /\\bnwo\\b/i", "é nwo é", true },
	{ "body matches /\\bnwo\\b/i", "nwox and xnwo and nwo_ and 1nwo", false },
	{ "body matches /\\bnwo\\b/i", "nw", false },
	{ "body matches /\\bnwo\\b/i", "", false },
	/* ... a boundary on one side only */
	{ "body matches /\\bnwo/i", "xx nwoxx", true },
	{ "body matches /\\bnwo/i", "xnwo", false },
	{ "body matches /nwo\\b/i", "xxnwo, yes", true },
	{ "body matches /nwo\\b/i", "nwox", false },
	/* ... none: the haystack is left to the maps */
	{ "body matches /nwo/i", "xnwox", true },
	{ "body matches /nwo/i", "nw o", false },
	/* a word with boundaries found after places where its bytes are
	 * there without them, or where only its canonical bytes are */
	{ "body matches /\\bpers\\b/i", "personalised partners personal pers", true },
	{ "body matches /\\bpers\\b/i", "personalised partners personal", false },
	{ "body matches /\\bthe consortium\\b/i", "the_consortium the-consortium, the consortium",
	  true },
	{ "body matches /\\bthe consortium\\b/i", "the-consortium the.consortium", false },
	{ "body matches /\\.lu\\b/", ".lu", true },
	{ "body matches /\\.lu\\b/", "x.lux .lu_ lu", false },
	/* four bytes and more, at the edges of the field */
	{ "body matches /\\bGent\\b/", "Gent", true },
	{ "body matches /\\bGent\\b/", "in Gent", true },
	{ "body matches /\\bGent\\b/", "Gent is a city", true },
	{ "body matches /\\bGent\\b/", "gent GENT Gentle aGent", false },
	{ "body matches /\\bGent\\b/i", "GENT", true },
	{ "body matches /personal/i", "PERSONALISED", true },
	{ "body matches /personal/i", "persona l", false },
	{ "body matches /the consortium/i", "The Consortium", true },
	{ "body matches /the consortium/i", "the-consortium", false },
	{ "body matches /e-mail/i", "E-MAIL us", true },
	{ "body matches /e-mail/i", "e mail us", false },
	/* capitals and Latin letters: the case of a case-sensitive word counts;
	 * caseless, the Latin letters fold */
	{ "body matches /Köln/", "KÖLN", false },
	{ "body matches /Köln/", "in Köln.", true },
	{ "body matches /köln/i", "IN KÖLN", true },
	{ "body matches /\\bécole\\b/i", "L'ÉCOLE", true },
	{ "body matches /Łódź/", "ŁÓDŹ", false },
	{ "body matches /łódź/i", "ŁÓDŹ", true },
	{ "body matches /Straße/", "STRASSE", false },
	/* broken UTF-8 before a letter: the fold pairs bytes out of step */
	{ "body matches /École/", "x\xc3\xc3\x89" "cole", true },
	{ "body matches /École/", "\xc3" "École", true },
	{ "body matches /école/i", "x\xc3\xc3\x89" "COLE", true },
	{ "body matches /\\bnwo\\b/i", "\xc3 nwo \xc5", true },
	/* a word list whose plain words, seen with no word character beside
	 * them, decide without PCRE2 (LIT_SURE): beside a UTF-8 letter, or
	 * within a longer word, PCRE2 still does */
	{ "body matches /\\b(funding|budget\\w*|press office)\\b/i", "Funding.", true },
	{ "body matches /\\b(funding|budget\\w*|press office)\\b/i", "the BUDGET", true },
	{ "body matches /\\b(funding|budget\\w*|press office)\\b/i", "budgetary", true },
	{ "body matches /\\b(funding|budget\\w*|press office)\\b/i", "budgetär", true },
	{ "body matches /\\b(funding|budget\\w*|press office)\\b/i", "the Press Office", true },
	{ "body matches /\\b(funding|budget\\w*|press office)\\b/i", "press  office", false },
	{ "body matches /\\b(funding|budget\\w*|press office)\\b/i", "fundingé ébudget", false },
	{ "body matches /\\b(funding|budget\\w*|press office)\\b/i", "éfunding, co-funding", true },
	{ "body matches /\\b(funding|budget\\w*|press office)\\b/i", "refunding xbudget", false },
	/* ... and the test of an all that gave the rule its words: the
	 * other test still decides */
	{ "all\n\tbody matches /\\b(journalist|reporter)\\b/i\n\tbody matches /\\bconsortium\\b/i",
	  "A journalist asks the consortium", true },
	{ "all\n\tbody matches /\\b(journalist|reporter)\\b/i\n\tbody matches /\\bconsortium\\b/i",
	  "A journalist asks", false },
	{ "all\n\tbody matches /\\b(journalist|reporter)\\b/i\n\tbody matches /\\bconsortium\\b/i",
	  "the consortium's reporters", false },
	{ "body matches /\\b(?:Gent|Liège)\\b/", "in Gent.", true },
	{ "body matches /\\b(?:Gent|Liège)\\b/", "in GENT.", false },
	/* a text too short for a 4-gram or for the word */
	{ "body matches /abcd/", "abc", false },
	{ "body matches /abcd/", "a", false },
	{ "body matches /\\babc\\b/", "ab", false },
};

static void
test_edges(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		/* alone (the text longer than the list of words: the 4-gram
		 * pass) and after fillers (the text shorter: the maps) */
		run_case(i, cases[i].cond, 0, cases[i].body, cases[i].match);
		run_case(i, cases[i].cond, 60, cases[i].body, cases[i].match);
	}
}

/* rules_word_canon() (a block of bytes at a time) against the definition,
 * one byte at a time: every byte at every place of a block and in the
 * tail, for lengths across several blocks; nothing written past the end. */
static void
test_canon(void **state)
{
	char src[256 + 41], dst[256 + 41];

	(void)state;
	for (size_t shift = 0; shift < 16; shift++) {
		for (size_t len = 0; len <= 40; len++) {
			size_t n = 256 + len;

			for (size_t k = 0; k < n; k++)
				src[k] = (char)((k * 7 + shift) & 0xff);
			memset(dst, 0x55, sizeof(dst));
			rules_word_canon(dst, src, n);
			for (size_t k = 0; k < n; k++) {
				unsigned char b = (unsigned char)src[k], want;

				if (b >= 'A' && b <= 'Z')
					b = (unsigned char)(b + 32);
				want = (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '_'
					       ? b
					       : 0;
				if ((unsigned char)dst[k] != want)
					fail_msg("byte 0x%02x at %zu of %zu: 0x%02x",
						 (unsigned char)src[k], k, n, (unsigned char)dst[k]);
			}
			if ((unsigned char)dst[n] != 0x55)
				fail_msg("a byte written past %zu", n);
		}
	}
}

/* ---- random rules over long random text ---- */

static uint32_t seed = 777;

static uint32_t
rnd(uint32_t n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

static const char *const pool[] = {
	"pers", "personal", "Gent", "gent", "agent", "Köln", "KÖLN", "Österreich", "deutsch",
	"call", "Call", "the consortium", "best", "Estonia", "Grüße", "x_y", "a1b", "résumé",
	"Résumé", "PARIS", "Paris", "pari", "Genova", "geno", "nova", "e-mail", "email", "nwo",
	"NWO", "fct", "dlr", "iss", "ÉCOLE", "école", "Łódź", "łódź", "Straße", "ab", "abc",
	"abcd", "research council", "research", "council",
};
static const char *const seps[] = { " ", " ", " ", ", ", "\n", "«", "»", "_", "1", "", "é",
				    "-", ".", "  ", "\xc3", "(", ")" };

static void
random_pattern(struct buf *b)
{
	size_t nbr = 1 + rnd(2);

	for (size_t k = 0; k < nbr; k++) {
		const char *w = pool[rnd(ARRAY_SIZE(pool))];

		if (k)
			buf_addch(b, '|');
		switch (rnd(5)) {
		case 0:
			buf_addf(b, "\\b%s\\b", w);
			break;
		case 1:
			buf_addf(b, "\\b%s", w);
			break;
		case 2:
			buf_addf(b, "%s\\b", w);
			break;
		default:
			buf_addstr(b, w);
			break;
		}
	}
}

/* n pool words between random separators, some in capitals. */
static char *
random_text(size_t n)
{
	struct buf b = BUF_INIT;

	for (size_t k = 0; k < n; k++) {
		const char *w = pool[rnd(ARRAY_SIZE(pool))];

		buf_addstr(&b, seps[rnd(ARRAY_SIZE(seps))]);
		if (rnd(4) == 0) {
			for (const char *q = w; *q; q++)
				buf_addch(&b, *q >= 'a' && *q <= 'z' ? *q - 32 : *q);
		} else {
			buf_addstr(&b, w);
		}
	}
	if (rnd(2))
		buf_addstr(&b, seps[rnd(ARRAY_SIZE(seps))]);
	return buf_detach(&b, NULL);
}

static void
test_random_long(void **state)
{
	static const char *const flags[] = { "", "i" };
	struct buf rules = BUF_INIT;
	struct ruleset *rs = NULL, *all = NULL;
	struct err e = ERR_INIT;

	(void)state;
	/* few rules, so that most bodies are longer than the list of words */
	for (size_t r = 0; r < 40; r++) {
		buf_addf(&rules, "rule \"r%zu\"\nwhen %s matches /", r, rnd(3) ? "body" : "text");
		random_pattern(&rules);
		buf_addf(&rules, "/%s\nthen\ntag r%zu\nend\n", flags[rnd(2)], r);
	}
	write_rules(buf_cstr(&rules));
	if (rules_load(unit_dir, &rs, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(rules_load(unit_dir, &all, &e), 0);
	rules_prefilter_disable(all);
	for (size_t i = 0; i < 300; i++) {
		char *subject = random_text(1 + rnd(4)), *body = random_text(1 + rnd(60));
		struct message m;
		char what[32];

		sample(&m, subject, body);
		snprintf(what, sizeof(what), "text %zu", i);
		(void)hit_alike(rs, all, &m, what);
		free(subject);
		free(body);
	}
	rules_free(&rs);
	rules_free(&all);
	buf_release(&rules);
}

/* A word of the body whose first trigram has the index key of one of the
 * subject's (the keys hash the haystack in, but collide): the body's pass
 * over the maps must still look it up, though the subject's pass marked
 * that key (the maps once marked a message's trigrams, not a haystack's,
 * and the word was lost; more often with smaller maps). A three-byte
 * word without boundaries keeps each haystack in the maps, and fillers
 * with trigrams of their own make the body shorter than its list of keys
 * (its trigrams looked up one by one). */
static void
test_key_shared(void **state)
{
	static int32_t body_of[1u << PREFILTER_BITS];
	char a[4] = "", b[4] = "", t[4] = "";
	struct buf rules = BUF_INIT;
	struct ruleset *rs = NULL, *all = NULL;
	struct err e = ERR_INIT;
	struct message m;

	(void)state;
	memset(body_of, 0xff, sizeof(body_of));
	for (int i = 0; i < 26 * 26 * 26; i++) {
		t[0] = (char)('a' + i / 676), t[1] = (char)('a' + i / 26 % 26),
		t[2] = (char)('a' + i % 26);
		body_of[rules_tri_key(HAY_BODY, t)] = i;
	}
	for (int i = 0; i < 26 * 26 * 26 && !a[0]; i++) {
		int j;

		t[0] = (char)('a' + i / 676), t[1] = (char)('a' + i / 26 % 26),
		t[2] = (char)('a' + i % 26);
		j = body_of[rules_tri_key(HAY_SUBJECT, t)];
		if (j >= 0 && j != i && !strpbrk(t, "qx")) {
			memcpy(a, t, 4);
			b[0] = (char)('a' + j / 676), b[1] = (char)('a' + j / 26 % 26),
			b[2] = (char)('a' + j % 26);
		}
	}
	assert_true(a[0] && b[0]);
	buf_addstr(&rules, "rule \"s\"\nwhen subject contains \"qqq\"\nthen\ntag s\nend\n"
			   "rule \"any\"\nwhen body contains \"xyz\"\nthen\ntag any\nend\n");
	for (int k = 0; k < 10; k++)
		buf_addf(&rules, "rule \"f%d\"\nwhen body contains \"k%02dfiller\"\nthen\ntag f%d\nend\n",
			 k, k, k);
	buf_addf(&rules, "rule \"t\"\nwhen body matches /\\b%s\\b/\nthen\ntag hit\nend\n", b);
	write_rules(buf_cstr(&rules));
	assert_int_equal(rules_load(unit_dir, &rs, &e), 0);
	assert_int_equal(rules_load(unit_dir, &all, &e), 0);
	rules_prefilter_disable(all);
	sample(&m, a, b);
	if (!hit_alike(rs, all, &m, "shared key"))
		fail_msg("subject '%s', body '%s': no match", a, b);
	rules_free(&rs);
	rules_free(&all);
	buf_release(&rules);
}

/* More recipients than the context holds without allocating (four each of
 * To and Cc), and more values of one test than its first sixteen: the
 * last of each is read, with and without the prefilter. */
static void
test_many_values(void **state)
{
	struct address to[6], cc[6];
	struct header hs[20];
	char addrs[12][32], vals[20][32];
	struct ruleset *rs = NULL, *all = NULL;
	struct err e = ERR_INIT;
	struct message m;
	struct rule_outcome o;

	(void)state;
	for (int i = 0; i < 12; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "%s%d@partner.example", i < 6 ? "to" : "cc",
			 i % 6);
		(i < 6 ? to : cc)[i % 6] = (struct address){ (char *)"", addrs[i] };
	}
	for (int i = 0; i < 20; i++) {
		snprintf(vals[i], sizeof(vals[i]), "value %d", i);
		hs[i] = (struct header){ (char *)"X-Tag", vals[i] };
	}
	write_rules("rule \"to\"\nwhen to matches /^to5@/\nthen\ntag hit-to\nend\n"
		    "rule \"cc\"\nwhen cc matches /^cc5@/\nthen\ntag hit-cc\nend\n"
		    "rule \"h\"\nwhen header:X-Tag matches /^value 19$/\nthen\ntag hit-h\nend\n");
	assert_int_equal(rules_load(unit_dir, &rs, &e), 0);
	assert_int_equal(rules_load(unit_dir, &all, &e), 0);
	rules_prefilter_disable(all);
	sample(&m, "Question", "a body");
	m.to = to;
	m.nto = 6;
	m.cc = cc;
	m.ncc = 6;
	m.headers = hs;
	m.nheaders = 20;
	(void)hit_alike(rs, all, &m, "many values");
	rule_outcome_init(&o);
	assert_int_equal(rules_apply(rs, &m, NULL, &o, &e), 0);
	assert_int_equal(o.tags.n, 3);
	assert_true(strlist_contains(&o.tags, "hit-to"));
	assert_true(strlist_contains(&o.tags, "hit-cc"));
	assert_true(strlist_contains(&o.tags, "hit-h"));
	rule_outcome_release(&o);
	rules_free(&rs);
	rules_free(&all);
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_canon),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_random_long),
		cmocka_unit_test(test_key_shared),
		cmocka_unit_test(test_many_values),
	};

	return cmocka_run_group_tests(t, unit_dir_setup, unit_dir_teardown);
}
