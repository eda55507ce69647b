/* rules_int.h - the rule engine's insides, shared by its files: rules.c
 * (parser, loader), ruleset.c (the queues), rules_lits.c (a pattern's
 * words), rules_gazetteer.c, prefilter.c, rules_score.c and rules_match.c
 * (applying the rules). Not for other modules. */
#ifndef SECDESK_RULES_INT_H
#define SECDESK_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <strings.h>

#include "rules.h"
#include "ticket_record.h"

/* Address fields take a part in their low two bits. */
#define FIELD_PART_MASK 3u
enum field {
	F_FROM = 1 << 2,
	F_SENDER = 2 << 2,
	F_REPLY_TO = 3 << 2,
	F_TO = 4 << 2,
	F_CC = 5 << 2,
	F_RCPT = 6 << 2,
	F_ADDR_LAST = 7 << 2,
	F_SUBJECT = 8 << 2,
	F_BODY = 9 << 2,
	F_TEXT = 10 << 2,
	F_HEADER = 11 << 2,
	F_ATT_NAME = 12 << 2,
	F_ATT_TYPE = 13 << 2,
	F_LANGUAGE = 14 << 2,
	F_FLAGS = 15 << 2,
	F_MESSAGE_ID = 16 << 2,
	F_T_QUEUE = 17 << 2,
	F_T_STATUS = 18 << 2,
	F_T_CATEGORY = 19 << 2,
	F_T_PRIORITY = 20 << 2,
	F_T_LANGUAGE = 21 << 2,
	F_T_ASSIGNEE = 22 << 2,
	F_T_TAGS = 23 << 2,
	F_T_REQUESTER = 24 << 2,
	F_FROM_INSTITUTION = 25 << 2, /* the gazetteer's member of the sender's domain */
	F_FROM_COUNTRY = 26 << 2,     /* ... of its country domain */
	F_SUBJECT_INSTITUTION = 27 << 2, /* members whose institutions the subject names */
	F_BODY_INSTITUTION = 28 << 2,    /* ... the body names */
};
enum { PART_ADDR = 0, PART_NAME = 1, PART_LOCAL = 2, PART_DOMAIN = 3 };

enum test_op { OP_MATCHES, OP_CONTAINS, OP_IS, OP_EMPTY, OP_EXISTS };

/* A word that any match of a test must contain, for the prefilter. */
enum {
	LIT_WB_LEFT = 1,  /* the match has a word boundary before the word */
	LIT_WB_RIGHT = 2, /* ... and after it */
	LIT_AT_START = 4, /* (while reading a pattern: the word opens its branch) */
	LIT_AT_END = 8,   /* (... closes it) */
	/* an occurrence with an ASCII byte that is no word character (or
	 * the text's edge) on each side proves that the test matches: the
	 * word is one whole alternative of \b(...)\b (rules_sure_words()) */
	LIT_SURE = 16,
};
struct lit {
	char *lower;   /* ASCII lowercased: the trigram index, caseless confirmation */
	char *exact;   /* as written when the test is case-sensitive, else NULL */
	size_t len;    /* of both */
	unsigned hay;  /* in a rule's set: the haystack it must be found in */
	unsigned flags;
};
struct litset {
	struct lit *v;
	size_t n, cap;
};
#define LITSET_INIT { NULL, 0, 0 }

/* The prefilter's haystacks: the text of one field each, so that a word
 * only wakes the rules that test the field where it occurs. Header tests
 * get one each per header name (HAY_HEADER + index in ruleset.hdr_names). */
enum hay {
	HAY_SUBJECT,
	HAY_BODY,
	HAY_FROM,
	HAY_SENDER,
	HAY_REPLY_TO,
	HAY_TO,
	HAY_CC,
	HAY_ATT_NAME,
	HAY_ATT_TYPE,
	HAY_HEADER,
};
#define HAY_MAX 256 /* header names past it get no prefilter */

struct test {
	enum field field;
	char *header;       /* F_HEADER: the header's name */
	enum test_op op;
	pcre2_code *re;     /* NULL for EXISTS, EMPTY and a plain IS */
	/* re's JIT-compiled copy once the ruleset has classified
	 * RULES_JIT_AFTER messages (rules_jit()), NULL before: a process that
	 * classifies one mail does not pay for the compiling */
	_Atomic(pcre2_code *) jit;
	/* IS of words of printable ASCII without k or s (which caseless
	 * Unicode matching also finds as U+212A and U+017F): compared as they
	 * are, no pattern compiled; empty otherwise */
	struct strlist plain;
	/* IS: the values as written (every IS, plain or not), for the
	 * language gate (rules_prefilter_build()) */
	struct strlist is_values;
	bool caseless, words;
	uint32_t ncaptures;
	struct strlist capnames; /* named groups */
	int *capnums;            /* their numbers */
	struct litset lits;      /* words one of which a match needs; empty: none known */
	char *text;              /* as written, for the trace */
};

enum node_kind { N_TEST, N_ALL, N_ANY, N_NOT };

struct node {
	enum node_kind kind;
	struct node **kids;
	size_t nkids;
	struct test *test;
	int line, col;
};

enum action_kind { A_ROUTE, A_CATEGORY, A_PRIORITY, A_LANGUAGE, A_TAG, A_ASSIGN, A_NOACK, A_SPAM,
		   A_STOP, A_SCORE };

struct action {
	enum action_kind kind;
	struct strlist args; /* may hold ${name} */
	char *text;
	int line, col;
};

struct rule {
	char *name;
	const char *file; /* owned by ruleset.files */
	int line;
	struct node *cond; /* NULL: always */
	struct action *acts;
	size_t nacts;
	struct litset lits; /* the rule cannot match unless one of these appears in its
			       haystack; empty: no prefilter */
	/* the test whose words lits are, when their LIT_SURE ones prove it
	 * true (the rule's one test, or one of its top-level all): the
	 * prefilter seeing one (PREFILTER_SURE), rules_apply() takes the
	 * test as matched without PCRE2; NULL for none */
	const struct test *sure;
	/* the languages (bits of ruleset.gate_langs) of a test `language is
	 * ...` that the whole condition needs (the rule's only test, or one of
	 * a top-level all), its values ASCII: on mail in another language the
	 * rule cannot match and is not tried; 0: no such test */
	uint64_t lang_gate;
};

/* What rules_apply() uses for one message and keeps for the next: its
 * block of haystacks and text (a malloc of a body's size, and the pages
 * freed and faulted in again, cost more than their use) and its PCRE2
 * match data. One caller at a time has it (busy); another thread
 * meanwhile allocates its own. */
struct rules_room {
	atomic_bool busy;
	char *mem;
	size_t cap;
	pcre2_match_data *md;
	atomic_uint applied; /* messages classified, up to RULES_JIT_AFTER */
	bool no_jit;         /* SECDESK_PCRE2_NO_JIT was set at load */
};

/* Messages classified with a ruleset before its patterns are JIT-compiled
 * (the interpreter until then). */
#define RULES_JIT_AFTER 16


struct ruleset {
	struct rule *rules;
	size_t nrules;
	struct queue *queues;
	size_t nqueues;
	struct strlist files;
	uint32_t max_ovector;
	pcre2_match_context *mctx;
	struct rules_room *room; /* mutable: rules_apply() takes a const ruleset */
	/* prefilter: the rules' words indexed by the hash of their haystack
	 * and first trigram (CSR layout: entries of bucket h are
	 * bucket_ent[bucket_start[h] .. bucket_start[h+1]-1]), each entry a
	 * rule index and a literal index, with the literal's haystack and
	 * the key of its last 4-gram (quad_key(), UINT32_MAX when it has
	 * none), so that most are ruled out without reading the literal. */
	uint32_t *bucket_start;
	struct prefilter_ent {
		uint32_t rule;
		uint32_t lit;
		uint32_t hay;
		uint32_t last_quad;
	} *bucket_ent;
	/* bit k set: bucket k has entries (a map that stays in cache, where
	 * bucket_start would be read for every trigram of a text) */
	uint64_t *bucket_used;
	/* for each haystack, the keys of its nonempty buckets (hay_keys[h][0 ..
	 * hay_nkeys[h]-1]): over a text longer than that list, the prefilter
	 * looks up those keys once the text is hashed rather than every key
	 * of the text as it goes */
	uint32_t **hay_keys;
	size_t *hay_nkeys;
	/* for each haystack, its words (words[hay_words[h] ..
	 * hay_words[h+1]-1]), each with its keys in the 4-gram map of a
	 * message: word_keys[keys .. keys+nkeys-1], all of which an
	 * occurrence sets, then two more, one of which it sets (see
	 * words_build() in rules_match.c) */
	struct prefilter_word {
		uint32_t rule;
		uint32_t lit;
		uint32_t keys;
		uint32_t nkeys;
	} *words;
	size_t *hay_words;
	bool *hay_any; /* nhay: it has a word without a key (three bytes, no
			  word boundary): its words are found by the maps */
	uint16_t *word_keys;
	uint16_t *word_first; /* for each word, two keys one of which an
				 occurrence sets (word_first[2w], [2w+1]),
				 looked up first in a tight loop over the
				 words: most words stop there */
	uint32_t *always; /* the rules without words, in order */
	size_t nalways;
	uint32_t *gated; /* the rules with a lang_gate, in order */
	size_t ngated;
	struct strlist gate_langs; /* the values of the gates, lowercased, at most 64 */
	struct strlist hdr_names; /* of header tests, haystacks HAY_HEADER + i */
	struct gazetteer *gaz;    /* the *.gazetteer files, NULL when none */
	size_t nhay;
	bool *hay_used; /* nhay: some rule's word is looked for there */
};

#define PREFILTER_BITS 16
#define PREFILTER_SIZE (1u << PREFILTER_BITS)

/* Header names alike but for case: the first bytes first (a header test
 * reads every header of a mail). */
static inline bool
rules_same_name(const char *a, const char *b)
{
	return (a[0] | 0x20) == (b[0] | 0x20) && strcasecmp(a, b) == 0;
}

/* An ASCII word character (what \w is in ASCII): [A-Za-z0-9_]. */
static inline bool
rules_ascii_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Latin letters beyond ASCII: a two-byte UTF-8 letter of U+00C0..U+017F
 * lowercased where its case pairs simply (É to é, Ł to ł), anything else
 * left as it is. The haystacks and every word's lower form are folded
 * alike, so that a caseless word may hold such letters. */
static inline void
latin_fold(unsigned char *b0, unsigned char *b1)
{
	unsigned cp;

	if (*b0 < 0xc3 || *b0 > 0xc5 || (*b1 & 0xc0) != 0x80)
		return;
	cp = (unsigned)(*b0 & 0x1f) << 6 | (*b1 & 0x3fu);
	if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
		cp += 0x20;
	else if ((cp >= 0x100 && cp <= 0x12f) || (cp >= 0x132 && cp <= 0x137) ||
		 (cp >= 0x14a && cp <= 0x177))
		cp |= 1;
	else if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e)) && (cp & 1))
		cp++;
	*b0 = (unsigned char)(0xc0 | cp >> 6);
	*b1 = (unsigned char)(0x80 | (cp & 0x3f));
}

/* Appends to lits the words (3 bytes or more) of which any match of
 * pattern must contain at least one; leaves lits empty when it cannot tell.
 * A case-sensitive pattern's words keep their case (exact) and may hold
 * UTF-8 letters; a caseless one's are ASCII only. */
void rules_literals(const char *pattern, bool caseless, struct litset *lits);
void litset_release(struct litset *l);
/* Adds a word (lower: folded as the haystacks are; exact: as written for
 * a case-sensitive word, else NULL) unless the same one is there. */
void litset_add(struct litset *l, const char *lower, const char *exact, size_t len, unsigned flags,
		unsigned hay);
/* The same without looking for it first (many words, each once). */
void litset_push(struct litset *l, const char *lower, const char *exact, size_t len,
		 unsigned flags, unsigned hay);
/* to = from (to's words released first), from left empty. */
void litset_move(struct litset *to, struct litset *from);
/* The shortest word of the set: how selective it is (0 when empty). */
size_t lits_score(const struct litset *l);
/* The prefilter's folding of a two-byte UTF-8 Latin letter (lowercase
 * where its case pairs simply), and whether a caseless pattern's letter
 * matches exactly the letters of its fold (for the tests). */
void rules_latin_fold(unsigned char *b0, unsigned char *b1);
bool rules_latin_caseless_safe(unsigned char b0, unsigned char b1);
/* dst = src with ASCII capitals lowercased and every byte that is then no
 * ASCII word character ([a-z0-9_]) made 0, as the prefilter's pass over a
 * long text makes it, for its 4-gram map (for the tests). */
void rules_word_canon(char *dst, const char *src, size_t len);
/* The prefilter's index key of trigram tri (lowercase; its three bytes
 * and one more readable) in haystack hay (for the tests). */
uint32_t rules_tri_key(unsigned hay, const char *tri);
/* Computes r->lits from its tests, each word with the haystack of its
 * test's field (header names are added to rs->hdr_names). */
void rules_prefilter_rule(struct ruleset *rs, struct rule *r);
/* Builds the trigram index of every rule's words and their 4-gram keys. */
void rules_prefilter_build(struct ruleset *rs);
/* Frees hay_keys, hay_nkeys and the words (words, hay_words, hay_any,
 * word_keys, word_first). */
void rules_prefilter_keys_free(struct ruleset *rs);
/* One message through the prefilter (prefilter.c): the rules that may
 * match it. The caller gives the message's subject and body lengths (the
 * body cut as the tests see it), room of prefilter_room() bytes, and cand
 * (one byte per rule, zeroed) and cands (room for every rule); gets cand[i]
 * set and i in cands (in the order found, ncands of them) for each rule
 * one of whose words is in the field its test reads, and hazard when the
 * text holds what the prefilter cannot read (then every rule may match).
 * The rules without words are not marked: they are always tried. */
struct prefilter_run {
	const struct ruleset *rs;
	const struct message *m;
	size_t subject_len, body_len;
	void *room;
	unsigned char *cand;
	uint32_t *cands;
	size_t ncands;
	bool hazard;
	/* the bits of rs->gate_langs that the message's language is (see
	 * rules_gated()); every bit when no language gates */
	uint64_t langs;
};
/* A pattern \b(w1|w2|...)\b or \b(?:w1|...)\b whose words are grouped
 * by their first letter, a(?:w1'|w5')|..., so that PCRE2 tries each letter
 * once: the same texts match at the same places. NULL when the pattern has
 * no such shape, has anything its words' order could change (see
 * rules_factor.c) or no two words with a first letter alike. The caller
 * frees it. */
char *rules_factor_alternation(const char *pattern);
/* Flags LIT_SURE the words of lits (a test's, from the same pattern) that
 * are one whole alternative of a pattern \b(w1|w2|...)\b or
 * \b(?:w1|...)\b, written as plain ASCII (letters, digits, space, '-'
 * and '\''), perhaps followed by \w*: such a word beside no word
 * character is a match of the pattern. */
void rules_sure_words(const char *pattern, struct litset *lits);

size_t prefilter_room(const struct ruleset *rs, size_t subject_len, size_t body_len);
/* Sets run->langs for the message's language lang: the rules whose
 * lang_gate it fails (rules_gated()) are not tried, nor are their words
 * confirmed. Before prefilter_candidates(). */
void prefilter_gate_language(struct prefilter_run *run, const char *lang);
/* Whether rule r cannot match mail in the languages langs (a run's). */
static inline bool
rules_gated(const struct rule *r, uint64_t langs)
{
	return r->lang_gate && !(r->lang_gate & langs);
}
void prefilter_candidates(struct prefilter_run *run);
/* run->cand of a rule that cannot match (rules_gated()), once one of its
 * words was seen; 1 is a candidate */
#define PREFILTER_GATED 2
/* ... of a rule whose sure test is known to match (a LIT_SURE word seen) */
#define PREFILTER_SURE 3
/* Forgets every rule's words: each rule is tried on every message, and
 * the gazetteer looks up every word (the reference the prefilters are
 * checked against in tests and bench_rules -c). */
void rules_prefilter_disable(struct ruleset *rs);

/* `score TARGET N` (rules_score.c): adds points to target (a declared
 * queue, or "category:" and a word) in out, with the evidence line.
 * Returns a note for the trace when the target is not valid (a value
 * captured from mail), to free; NULL when the points were added. */
char *rules_score_add(const struct ruleset *rs, struct rule_outcome *out, const char *target,
		      const char *points, const char *rule);
/* Whether s is the points of a `score`: an integer, at most
 * RULES_SCORE_MAX either way; *points_r gets it. */
bool rules_score_points(const char *s, int *points_r);
/* After all rules: the weighing of the queues and categories (see
 * RULES_SCORE_MARGIN), out->queue and out->category set when they win and
 * no rule set them, and the reasons. */
void rules_score_decide(const struct ruleset *rs, struct rule_outcome *out);
void rule_scores_release(struct rule_outcome *out);

/* The gazetteer (rules_gazetteer.c): the entries of one file's text added
 * (errors "file:line:col: ..." to errs; members must be declared queues),
 * then its name patterns compiled once all are read. */
struct gazetteer;
void rules_gazetteer_add(struct ruleset *rs, const char *path, const char *data, size_t len,
			 struct strlist *errs);
void rules_gazetteer_finish(struct ruleset *rs, struct strlist *errs);
void rules_gazetteer_free(struct gazetteer *g);
/* Every word of a text looked up, none passed over by the sketch of a
 * name's first bytes (the reference for rules_prefilter_disable()). */
void rules_gazetteer_sketch_disable(struct gazetteer *g);
/* The member of domain (lowercase) or of its closest listed parent: of an
 * institution's domain, or with country of a country's suffix; NULL for
 * none, and for a webmail domain. */
const char *rules_gazetteer_domain(const struct ruleset *rs, const char *domain, bool country);
/* Adds to lits every name and acronym, each a word of haystack hay that a
 * text naming it holds, with a word boundary on each side. 0, or -1 with
 * lits empty when some name is too short for the prefilter or there is
 * none. */
int rules_gazetteer_lits(const struct ruleset *rs, unsigned hay, struct litset *lits);
/* The members (at most max, into out) whose names or acronyms s names. */
size_t rules_gazetteer_text(const struct ruleset *rs, const char *s, size_t len, const char **out,
			    size_t max);
/* The same for a body: its first and last 2 KiB, quoted lines left out. */
size_t rules_gazetteer_body(const struct ruleset *rs, const char *s, size_t len, const char **out,
			    size_t max);

void rules_node_free(struct node *n);
void rules_rule_release(struct rule *r);
const char *rules_field_name(enum field f, char *out, size_t n);

#endif
