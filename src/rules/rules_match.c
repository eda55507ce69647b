/* rules_match.c - applying the rules to a message: the literal prefilter,
 * the tests (PCRE2 under match limits) and the actions.
 *
 * Cost must not grow with the number of rules: each rule's patterns are
 * reduced at load to words a match cannot do without, each with the field
 * its test reads, indexed by field and first trigram. Each field's text is
 * hashed once: a long one (a body) into one map of its 4-grams, which each
 * word of the field is looked up in; a short one into trigram and 4-gram
 * maps, which look up only the words that begin with its trigrams. Only
 * the rules one of whose words occurs in the field its test reads (and
 * those without words) are tried with PCRE2. */
#include "compat.h"

#include <strings.h>

#include "buf.h"
#include "lang.h"
#include "rules_int.h"
#include "unaligned.h"
#include "xalloc.h"

void
rule_outcome_init(struct rule_outcome *o)
{
	memset(o, 0, sizeof(*o));
}

void
rule_outcome_release(struct rule_outcome *o)
{
	free(o->queue);
	free(o->category);
	free(o->priority);
	free(o->language);
	free(o->assignee);
	free(o->no_ack_reason);
	strlist_release(&o->tags);
	strlist_release(&o->errors);
	rule_scores_release(o);
	rule_outcome_init(o);
}

/* ---------- literal extraction ---------- */

void
litset_release(struct litset *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].lower);
		free(l->v[i].exact);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static bool
ascii_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Adds a word unless the same one is there. A word-boundary flag is only
 * kept where the word's own end is an ASCII word character: then "a
 * boundary there" means "no ASCII word character beside it", which the
 * prefilter can check byte-wise. */
void
litset_add(struct litset *l, const char *lower, const char *exact, size_t len, unsigned flags,
	   unsigned hay)
{
	if (!ascii_word((unsigned char)lower[0]))
		flags &= ~(unsigned)LIT_WB_LEFT;
	if (!ascii_word((unsigned char)lower[len - 1]))
		flags &= ~(unsigned)LIT_WB_RIGHT;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].len == len && l->v[i].flags == flags && l->v[i].hay == hay &&
		    memcmp(l->v[i].lower, lower, len) == 0 && !l->v[i].exact == !exact &&
		    (!exact || memcmp(l->v[i].exact, exact, len) == 0))
			return;
	litset_push(l, lower, exact, len, flags, hay);
}

void
litset_push(struct litset *l, const char *lower, const char *exact, size_t len, unsigned flags,
	    unsigned hay)
{
	if (!ascii_word((unsigned char)lower[0]))
		flags &= ~(unsigned)LIT_WB_LEFT;
	if (!ascii_word((unsigned char)lower[len - 1]))
		flags &= ~(unsigned)LIT_WB_RIGHT;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n].lower = xstrndup(lower, len);
	l->v[l->n].exact = exact ? xstrndup(exact, len) : NULL;
	l->v[l->n].len = len;
	l->v[l->n].flags = flags;
	l->v[l->n].hay = hay;
	l->n++;
}

static void
litset_move(struct litset *to, struct litset *from)
{
	litset_release(to);
	*to = *from;
	from->v = NULL;
	from->n = from->cap = 0;
}

/* The shortest word of the set: how selective it is (0 when empty). */
static size_t
lits_score(const struct litset *l)
{
	size_t min = SIZE_MAX;

	if (l->n == 0)
		return 0;
	for (size_t k = 0; k < l->n; k++)
		if (l->v[k].len < min)
			min = l->v[k].len;
	return min;
}

static int lits_alt(const char *p, size_t *i, bool ci, struct litset *out, int depth);

/* Skips a quantifier at p[*i]; returns 1 when it allows zero repeats, 0 for
 * one or more, -1 when there is none. */
static int
skip_quant(const char *p, size_t *i)
{
	int zero;

	switch (p[*i]) {
	case '?':
	case '*':
		zero = 1;
		(*i)++;
		break;
	case '+':
		zero = 0;
		(*i)++;
		break;
	case '{':
		/* {,n} is "at most n" from PCRE2 10.43 on (a literal before) */
		if (p[*i + 1] == ',' && p[*i + 2] >= '0' && p[*i + 2] <= '9')
			zero = 1;
		else if (p[*i + 1] < '0' || p[*i + 1] > '9')
			return -1;
		else
			zero = p[*i + 1] == '0' && (p[*i + 2] == ',' || p[*i + 2] == '}');
		while (p[*i] && p[*i] != '}')
			(*i)++;
		if (p[*i])
			(*i)++;
		break;
	default:
		return -1;
	}
	if (p[*i] == '?' || p[*i] == '+')
		(*i)++;
	return zero;
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

/* Whether a caseless pattern's letter b0 b1 matches exactly the letters
 * that latin_fold() takes to its own fold: not ß (ẞ), å (Å, ANGSTROM
 * SIGN), ÿ (Ÿ), İ, ı, ĸ, ŉ, ſ (s) or anything beyond U+017F. */
static bool
latin_caseless_safe(unsigned char b0, unsigned char b1)
{
	unsigned cp;

	if (b0 < 0xc3 || b0 > 0xc5 || (b1 & 0xc0) != 0x80)
		return false;
	cp = (unsigned)(b0 & 0x1f) << 6 | (b1 & 0x3fu);
	return cp != 0xd7 && cp != 0xf7 && cp != 0xdf && cp != 0xff && cp != 0xc5 && cp != 0xe5 &&
	       cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 && cp != 0x178 &&
	       cp != 0x17f;
}

void
rules_latin_fold(unsigned char *b0, unsigned char *b1)
{
	latin_fold(b0, b1);
}

bool
rules_latin_caseless_safe(unsigned char b0, unsigned char b1)
{
	return latin_caseless_safe(b0, b1);
}

/* The literal text being read: both forms, and where it began. */
struct run {
	struct buf lower, exact;
	unsigned flags;
};

static void
flush_run(struct run *run, bool ci, struct litset *best, size_t *bestscore, unsigned endflags)
{
	if (run->lower.len >= 3 && run->lower.len > *bestscore) {
		litset_release(best);
		litset_add(best, buf_cstr(&run->lower), ci ? NULL : buf_cstr(&run->exact),
			   run->lower.len, run->flags | endflags, 0);
		*bestscore = run->lower.len;
	}
	buf_reset(&run->lower);
	buf_reset(&run->exact);
	run->flags = 0;
}

static void
run_add(struct run *run, const char *s, size_t n, bool at_start, bool after_wb)
{
	if (run->lower.len == 0)
		run->flags = (at_start ? LIT_AT_START : 0u) | (after_wb ? LIT_WB_LEFT : 0u);
	if (n == 2) {
		unsigned char b0 = (unsigned char)s[0], b1 = (unsigned char)s[1];

		buf_add(&run->exact, s, 2);
		latin_fold(&b0, &b1);
		buf_addch(&run->lower, b0);
		buf_addch(&run->lower, b1);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];

		buf_addch(&run->exact, c);
		buf_addch(&run->lower, c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
}

/* One branch of an alternation: the best set of required words of its
 * items. 0 with out filled (maybe empty), -2 when the pattern is beyond this
 * reading (then no prefilter at all). Words that open or close the branch
 * are flagged LIT_AT_START / LIT_AT_END, words right after or before a \b
 * LIT_WB_LEFT / LIT_WB_RIGHT. */
static int
lits_seq(const char *p, size_t *i, bool ci, struct litset *out, int depth)
{
	struct run run = { BUF_INIT, BUF_INIT, 0 };
	size_t bestscore = 0;
	bool at_start = true, after_wb = false;
	int rc = 0;

	while (p[*i] && p[*i] != '|' && p[*i] != ')') {
		unsigned char c = (unsigned char)p[*i];
		bool was_start = at_start, was_wb = after_wb;

		at_start = false;
		after_wb = false;
		if (c == '\\') {
			unsigned char n = (unsigned char)p[*i + 1];

			if (!n || n >= 0x80 || strchr("pPxkgNocQEuUlLC", n)) {
				rc = -2;
				goto out;
			}
			if ((n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9')) {
				*i += 2;
				flush_run(&run, ci, out, &bestscore, n == 'b' ? LIT_WB_RIGHT : 0);
				if (skip_quant(p, i) < 0 && n == 'b') {
					after_wb = true;
					at_start = was_start;
				}
				continue;
			}
			c = n;
			(*i)++;
		} else if (c == '[') {
			flush_run(&run, ci, out, &bestscore, 0);
			(*i)++;
			if (p[*i] == '^')
				(*i)++;
			if (p[*i] == ']')
				(*i)++;
			while (p[*i] && p[*i] != ']') {
				if (p[*i] == '\\' && p[*i + 1])
					(*i)++;
				else if (p[*i] == '[' && p[*i + 1] == ':') {
					const char *e = strstr(p + *i, ":]");

					if (e)
						*i = (size_t)(e - p) + 1;
				}
				(*i)++;
			}
			if (!p[*i]) {
				rc = -2;
				goto out;
			}
			(*i)++;
			(void)skip_quant(p, i);
			continue;
		} else if (c == '(') {
			struct litset sub = LITSET_INIT;
			int q, src;
			unsigned keep;

			flush_run(&run, ci, out, &bestscore, 0);
			(*i)++;
			if (p[*i] == '?') {
				if (p[*i + 1] == ':')
					*i += 2;
				else if ((p[*i + 1] == '<' && p[*i + 2] != '=' && p[*i + 2] != '!') ||
					 (p[*i + 1] == 'P' && p[*i + 2] == '<')) {
					while (p[*i] && p[*i] != '>')
						(*i)++;
					if (p[*i])
						(*i)++;
				} else {
					rc = -2;
					goto out;
				}
			}
			if (depth > 20) {
				rc = -2;
				goto out;
			}
			src = lits_alt(p, i, ci, &sub, depth + 1);
			if (src == -2 || p[*i] != ')') {
				litset_release(&sub);
				rc = -2;
				goto out;
			}
			(*i)++;
			q = skip_quant(p, i);
			/* The branch's first and last words inherit what stands
			 * around the group; a repeated group's words have no
			 * single occurrence bounded on both sides. */
			keep = LIT_WB_LEFT | LIT_WB_RIGHT;
			for (size_t k = 0; k < sub.n; k++) {
				unsigned f = sub.v[k].flags & keep;

				if (q < 0 && (sub.v[k].flags & LIT_AT_START))
					f |= was_wb ? LIT_WB_LEFT : was_start ? LIT_AT_START : 0u;
				if (q < 0 && (sub.v[k].flags & LIT_AT_END)) {
					if (p[*i] == '\\' && p[*i + 1] == 'b')
						f |= LIT_WB_RIGHT;
					else if (!p[*i] || p[*i] == '|' || p[*i] == ')')
						f |= LIT_AT_END;
				}
				sub.v[k].flags = f;
			}
			if (q != 1 && src == 0 && lits_score(&sub) >= 3 &&
			    lits_score(&sub) > bestscore) {
				bestscore = lits_score(&sub);
				litset_move(out, &sub);
			}
			litset_release(&sub);
			continue;
		} else if (c == '.' || c == '^' || c == '$') {
			flush_run(&run, ci, out, &bestscore, 0);
			(*i)++;
			(void)skip_quant(p, i);
			continue;
		} else if (c == '*' || c == '+' || c == '?') {
			rc = -2;
			goto out;
		} else if (c >= 0x80) {
			size_t start = *i, n;
			int q;

			(*i)++;
			while (((unsigned char)p[*i] & 0xc0) == 0x80)
				(*i)++;
			n = *i - start;
			q = skip_quant(p, i);
			/* Caseless, a letter beyond ASCII may have other forms
			 * (and other lengths): the word stops there, but at the
			 * Latin letters latin_fold() folds. Case-sensitive, its
			 * bytes are the word's. */
			if (q == 1 || (ci && !(n == 2 && latin_caseless_safe((unsigned char)p[start],
									    (unsigned char)p[start + 1])))) {
				flush_run(&run, ci, out, &bestscore, 0);
				continue;
			}
			run_add(&run, p + start, n, was_start, was_wb);
			if (q == 0)
				flush_run(&run, ci, out, &bestscore, 0);
			continue;
		}
		(*i)++;
		{
			int q = skip_quant(p, i);
			char ch = (char)c;

			if (q == 1) {
				flush_run(&run, ci, out, &bestscore, 0);
				continue;
			}
			run_add(&run, &ch, 1, was_start, was_wb);
			if (q == 0)
				flush_run(&run, ci, out, &bestscore, 0);
		}
	}
	flush_run(&run, ci, out, &bestscore, LIT_AT_END);
out:
	buf_release(&run.lower);
	buf_release(&run.exact);
	return rc;
}

/* Alternatives up to ')' or the end: the union of the branches' sets; 0
 * when every branch has one, -1 when one has none, -2 beyond reading. */
static int
lits_alt(const char *p, size_t *i, bool ci, struct litset *out, int depth)
{
	int rc = 0;

	for (;;) {
		struct litset br = LITSET_INIT;
		int src = lits_seq(p, i, ci, &br, depth);

		if (src == -2) {
			litset_release(&br);
			return -2;
		}
		if (br.n == 0)
			rc = -1;
		for (size_t k = 0; k < br.n; k++)
			litset_add(out, br.v[k].lower, br.v[k].exact, br.v[k].len, br.v[k].flags, 0);
		litset_release(&br);
		if (p[*i] != '|')
			break;
		(*i)++;
	}
	if (rc < 0)
		litset_release(out);
	return rc;
}

void
rules_literals(const char *pattern, bool caseless, struct litset *lits)
{
	size_t i = 0;
	struct litset out = LITSET_INIT;

	if (lits_alt(pattern, &i, caseless, &out, 0) == 0 && pattern[i] == '\0' && out.n) {
		for (size_t k = 0; k < out.n; k++)
			litset_add(lits, out.v[k].lower, out.v[k].exact, out.v[k].len,
				   out.v[k].flags & (LIT_WB_LEFT | LIT_WB_RIGHT), 0);
	}
	litset_release(&out);
}

/* The haystacks a test's field is found in: 0, 1 or 2 of them. */
static size_t
test_hays(struct ruleset *rs, const struct test *t, unsigned hays[2])
{
	switch ((enum field)(t->field & ~FIELD_PART_MASK)) {
	case F_SUBJECT:
		hays[0] = HAY_SUBJECT;
		return 1;
	case F_BODY:
		hays[0] = HAY_BODY;
		return 1;
	case F_TEXT:
		hays[0] = HAY_SUBJECT;
		hays[1] = HAY_BODY;
		return 2;
	case F_FROM:
		hays[0] = HAY_FROM;
		return 1;
	case F_SENDER:
		hays[0] = HAY_SENDER;
		return 1;
	case F_REPLY_TO:
		hays[0] = HAY_REPLY_TO;
		return 1;
	case F_TO:
		hays[0] = HAY_TO;
		return 1;
	case F_CC:
		hays[0] = HAY_CC;
		return 1;
	case F_RCPT:
		hays[0] = HAY_TO;
		hays[1] = HAY_CC;
		return 2;
	case F_ATT_NAME:
		hays[0] = HAY_ATT_NAME;
		return 1;
	case F_ATT_TYPE:
		hays[0] = HAY_ATT_TYPE;
		return 1;
	case F_HEADER: {
		size_t k;

		for (k = 0; k < rs->hdr_names.n; k++)
			if (strcasecmp(rs->hdr_names.items[k], t->header) == 0)
				break;
		if (HAY_HEADER + k >= HAY_MAX)
			return 0;
		if (k == rs->hdr_names.n)
			strlist_add(&rs->hdr_names, t->header);
		hays[0] = HAY_HEADER + (unsigned)k;
		return 1;
	}
	default:
		return 0;
	}
}

/* 0 with lits filled, -1 when the node needs no particular word. */
static int
node_lits(struct ruleset *rs, const struct node *n, struct litset *lits)
{
	switch (n->kind) {
	case N_TEST: {
		unsigned hays[2];
		size_t nh;

		/* an institution field has a value only where a name of the
		 * gazetteer is in the subject or the body */
		if (n->test->op != OP_EXISTS && n->test->op != OP_EMPTY &&
		    (n->test->field == F_SUBJECT_INSTITUTION || n->test->field == F_BODY_INSTITUTION))
			return rules_gazetteer_lits(rs, n->test->field == F_SUBJECT_INSTITUTION
							    ? HAY_SUBJECT
							    : HAY_BODY,
						    lits);
		if (n->test->op == OP_EXISTS || n->test->op == OP_EMPTY || !n->test->lits.n)
			return -1;
		nh = test_hays(rs, n->test, hays);
		if (!nh)
			return -1;
		for (size_t h = 0; h < nh; h++)
			for (size_t k = 0; k < n->test->lits.n; k++) {
				const struct lit *l = &n->test->lits.v[k];

				litset_add(lits, l->lower, l->exact, l->len, l->flags, hays[h]);
			}
		return 0;
	}
	case N_NOT:
		/* "not X" matches when X's words are absent: no word is needed */
		return -1;
	case N_ALL: {
		struct litset best = LITSET_INIT;
		size_t bestscore = 0;

		for (size_t i = 0; i < n->nkids; i++) {
			struct litset l = LITSET_INIT;

			if (node_lits(rs, n->kids[i], &l) == 0 && lits_score(&l) > bestscore) {
				bestscore = lits_score(&l);
				litset_move(&best, &l);
			}
			litset_release(&l);
		}
		if (!best.n)
			return -1;
		litset_move(lits, &best);
		return 0;
	}
	case N_ANY:
		/* any branch without a word can match alone: none is needed */
		for (size_t i = 0; i < n->nkids; i++)
			if (node_lits(rs, n->kids[i], lits) < 0) {
				litset_release(lits);
				return -1;
			}
		return 0;
	}
	return -1;
}

void
rules_prefilter_rule(struct ruleset *rs, struct rule *r)
{
	litset_release(&r->lits);
	if (r->cond && node_lits(rs, r->cond, &r->lits) < 0)
		litset_release(&r->lits);
}

/* Four bytes are one number in the host's order (load4): a haystack's
 * positions and the words are read alike, so the keys agree on any host. */

/* The index key of the trigram that opens x (four bytes at a position,
 * lowercased) in a haystack. */
static inline uint32_t
tri_key(unsigned hay, uint32_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x >>= 8;
#else
	x &= 0xffffffu;
#endif
	return ((x | (uint32_t)hay << 24) * 2654435761u) >> (32 - PREFILTER_BITS);
}

/* The key of the 4-gram x in a haystack's 4-gram map. */
static inline uint32_t
quad_key(unsigned hay, uint32_t x)
{
	return ((x + (uint32_t)hay * 0x85ebca6bu) * 0x9e3779b1u) >> (32 - PREFILTER_BITS);
}

/* A byte as word_map sees it: an ASCII word character as it is, any other
 * byte (space, punctuation, a byte of a UTF-8 letter, the ends of the
 * text) 0. The word boundaries of a word then have bytes of their own. */
static inline unsigned char
canon_byte(unsigned char b)
{
	return ascii_word(b) ? b : 0;
}

/* word_map's hash for a haystack: a multiplier of its own (odd), so that a
 * position costs one multiplication and no addition. */
static inline uint32_t
word_mult(unsigned hay)
{
	return (0x9e3779b1u + (uint32_t)hay * 0x6a09e668u) | 1u;
}

/* The key of four canonical bytes x (load4()) of haystack hay in word_map. */
static inline uint32_t
word_key(uint32_t mult, uint32_t x)
{
	return (x * mult) >> (32 - PREFILTER_BITS);
}

/* The canonical bytes of word l, with a 0 before it when it needs a word
 * boundary there, and one after it likewise: the bytes any occurrence of
 * it in a haystack has there (canon_byte() of the text, a 0 before the
 * text and after it), so that each 4-gram of them is there. n is set to
 * their number; out has room for l->len + 2. */
static void
word_canon(const struct lit *l, unsigned char *out, size_t *n)
{
	size_t k = 0;

	if (l->flags & LIT_WB_LEFT)
		out[k++] = 0;
	for (size_t j = 0; j < l->len; j++)
		out[k++] = canon_byte((unsigned char)l->lower[j]);
	if (l->flags & LIT_WB_RIGHT)
		out[k++] = 0;
	*n = k;
}

/* rs->words and their keys, by haystack: the word_key() of each 4-gram of
 * word_canon() with canon_flags() marks, all of which must be there; the
 * last one's last mark is not known (it tells of the byte after the
 * word): its two keys, one of which must be there, follow. A word of three
 * bytes with no word boundary has no 4-gram: the haystack then is left to
 * scan_maps() (hay_any). */
static void
words_build(struct ruleset *rs)
{
	size_t nwords = 0, nkeys = 0, koff = 0, *fill;

	rs->hay_words = xcalloc(rs->nhay + 1, sizeof(*rs->hay_words));
	rs->hay_any = xcalloc(rs->nhay, sizeof(*rs->hay_any));
	for (size_t r = 0; r < rs->nrules; r++)
		for (size_t k = 0; k < rs->rules[r].lits.n; k++) {
			const struct lit *l = &rs->rules[r].lits.v[k];

			rs->hay_words[l->hay + 1]++;
			if (l->len == 3 && !(l->flags & (LIT_WB_LEFT | LIT_WB_RIGHT)))
				rs->hay_any[l->hay] = true;
			nwords++;
			nkeys += l->len;
		}
	for (size_t h = 0; h < rs->nhay; h++)
		rs->hay_words[h + 1] += rs->hay_words[h];
	rs->words = xcalloc(nwords ? nwords : 1, sizeof(*rs->words));
	rs->word_keys = xcalloc(nkeys ? nkeys : 1, sizeof(*rs->word_keys));
	rs->word_first = xcalloc(2 * nwords + 2, sizeof(*rs->word_first));
	fill = xcalloc(rs->nhay, sizeof(*fill));
	for (size_t r = 0; r < rs->nrules; r++)
		for (size_t k = 0; k < rs->rules[r].lits.n; k++) {
			const struct lit *l = &rs->rules[r].lits.v[k];
			struct prefilter_word *pw = &rs->words[rs->hay_words[l->hay] + fill[l->hay]++];
			uint32_t mult = word_mult(l->hay);
			unsigned char *cw = xmalloc(l->len + 2);
			uint16_t *w1;
			size_t n;

			word_canon(l, cw, &n);
			pw->rule = (uint32_t)r;
			pw->lit = (uint32_t)k;
			pw->keys = (uint32_t)koff;
			if (n >= 4) {
				/* each byte's bit 7: the next one is a word
				 * character, as canon_flags() marks a text; the
				 * last one's next is not the word's */
				for (size_t j = 0; j + 1 < n; j++)
					if (cw[j + 1])
						cw[j] |= 0x80;
				for (size_t j = 0; j + 4 < n; j++)
					rs->word_keys[koff++] = (uint16_t)word_key(mult, load4(cw + j));
				pw->nkeys = (uint32_t)koff - pw->keys;
				rs->word_keys[koff++] = (uint16_t)word_key(mult, load4(cw + n - 4));
				cw[n - 1] |= 0x80;
				rs->word_keys[koff++] = (uint16_t)word_key(mult, load4(cw + n - 4));
				/* its last 4-gram but one (many words begin
				 * alike) twice; of one 4-gram, its two forms */
				w1 = &rs->word_first[2 * (size_t)(pw - rs->words)];
				w1[0] = rs->word_keys[pw->keys + (pw->nkeys ? pw->nkeys - 1 : 0)];
				w1[1] = rs->word_keys[pw->keys + (pw->nkeys ? pw->nkeys - 1 : 1)];
			}
			free(cw);
		}
	free(fill);
}

void
rules_prefilter_build(struct ruleset *rs)
{
	size_t total = 0;
	uint32_t *fill;

	rs->nhay = HAY_HEADER + rs->hdr_names.n;
	rs->hay_used = xcalloc(rs->nhay, sizeof(*rs->hay_used));
	rs->bucket_start = xcalloc(PREFILTER_SIZE + 1, sizeof(*rs->bucket_start));
	rs->nalways = 0;
	rs->always = xcalloc(rs->nrules + 1, sizeof(*rs->always));
	for (size_t r = 0; r < rs->nrules; r++) {
		if (!rs->rules[r].lits.n)
			rs->always[rs->nalways++] = (uint32_t)r;
		for (size_t k = 0; k < rs->rules[r].lits.n; k++) {
			const struct lit *l = &rs->rules[r].lits.v[k];
			const unsigned char *w = (const unsigned char *)l->lower;

			rs->bucket_start[tri_key(l->hay, load4(w)) + 1]++;
			rs->hay_used[l->hay] = true;
			total++;
		}
	}
	for (size_t h = 0; h < PREFILTER_SIZE; h++)
		rs->bucket_start[h + 1] += rs->bucket_start[h];
	rs->bucket_ent = xcalloc(total ? total : 1, sizeof(*rs->bucket_ent));
	fill = xcalloc(PREFILTER_SIZE, sizeof(*fill));
	for (size_t r = 0; r < rs->nrules; r++)
		for (size_t k = 0; k < rs->rules[r].lits.n; k++) {
			const struct lit *l = &rs->rules[r].lits.v[k];
			const unsigned char *w = (const unsigned char *)l->lower;
			uint32_t h = tri_key(l->hay, load4(w));
			struct prefilter_ent *ent = &rs->bucket_ent[rs->bucket_start[h] + fill[h]++];

			ent->rule = (uint32_t)r;
			ent->lit = (uint32_t)k;
		}
	free(fill);
	rs->hay_keys = xcalloc(rs->nhay, sizeof(*rs->hay_keys));
	rs->hay_nkeys = xcalloc(rs->nhay, sizeof(*rs->hay_nkeys));
	for (uint32_t k = 0; k < PREFILTER_SIZE; k++)
		for (uint32_t e = rs->bucket_start[k]; e < rs->bucket_start[k + 1]; e++) {
			const struct prefilter_ent *ent = &rs->bucket_ent[e];
			unsigned h = rs->rules[ent->rule].lits.v[ent->lit].hay;
			size_t n = rs->hay_nkeys[h];

			if (n && rs->hay_keys[h][n - 1] == k)
				continue;
			rs->hay_keys[h] = xreallocarray(rs->hay_keys[h], n + 1, sizeof(**rs->hay_keys));
			rs->hay_keys[h][n] = k;
			rs->hay_nkeys[h] = n + 1;
		}
	words_build(rs);
}

void
rules_prefilter_keys_free(struct ruleset *rs)
{
	if (rs->hay_keys)
		for (size_t h = 0; h < rs->nhay; h++)
			free(rs->hay_keys[h]);
	free(rs->hay_keys);
	free(rs->hay_nkeys);
	free(rs->words);
	free(rs->hay_words);
	free(rs->hay_any);
	free(rs->word_keys);
	free(rs->word_first);
	rs->hay_keys = NULL;
	rs->hay_nkeys = NULL;
	rs->words = NULL;
	rs->hay_words = NULL;
	rs->hay_any = NULL;
	rs->word_keys = NULL;
	rs->word_first = NULL;
}

void
rules_prefilter_disable(struct ruleset *rs)
{
	for (size_t r = 0; r < rs->nrules; r++)
		litset_release(&rs->rules[r].lits);
	free(rs->bucket_start);
	free(rs->bucket_ent);
	rules_prefilter_keys_free(rs);
	free(rs->hay_used);
	free(rs->always);
	rules_prefilter_build(rs);
	rules_gazetteer_sketch_disable(rs->gaz);
}

/* ---------- one message ---------- */

/* An address as the tests see it, made when a test first asks (most rules
 * read the sender's address only). */
struct addrv {
	const struct address *src;
	bool made;
	const char *addr;
	const char *name;
	const char *local;
	size_t local_len;
	char *domain; /* lowercased copy */
};

struct value {
	const char *s;
	size_t len;
};

struct ctx {
	const struct ruleset *rs;
	const struct message *m;
	const struct ticket *t;
	rule_trace_fn fn;
	void *arg;
	struct addrv from, sender, reply_to, *to, *cc;
	size_t body_len;
	size_t subject_len;
	const char *text; /* subject "\n" body, made when a test asks */
	size_t text_len;
	/* in one block (room_take(), kept from one message to the next): the
	 * prefilter's haystacks, the room of the text, of the subject's
	 * haystack and of the body's (hay_room()) */
	struct haystack *hays;
	char *text_mem, *subject_mem, *body_mem;
	const char *lang; /* detected, "" when unsure */
	pcre2_match_data *md;
	struct value *vals;
	size_t nvals, capvals;
	struct strlist caps; /* name, value, name, value... of the current rule */
	uint8_t gen; /* marks the maps' entries of this message */
	bool hazard; /* the prefilter cannot tell (fold_hazard): try every rule */
	unsigned char *cand; /* one byte per rule */
	uint32_t *cands;     /* the rules marked in cand, as marked */
	size_t ncands;
	char *error;         /* why the current rule was skipped */
};

static void
addrv_make(struct addrv *v)
{
	const struct address *a = v->src;
	const char *at;

	v->made = true;
	v->addr = a->addr ? a->addr : "";
	v->name = a->name ? a->name : "";
	at = strrchr(v->addr, '@');
	v->local = v->addr;
	v->local_len = at ? (size_t)(at - v->addr) : strlen(v->addr);
	v->domain = xstrdup(at ? at + 1 : "");
	for (char *d = v->domain; *d; d++)
		if (*d >= 'A' && *d <= 'Z')
			*d = (char)(*d - 'A' + 'a');
}

static void
val_add(struct ctx *c, const char *s, size_t len)
{
	if (!s)
		return;
	if (c->nvals == c->capvals) {
		c->capvals = c->capvals ? c->capvals * 2 : 16;
		c->vals = xreallocarray(c->vals, c->capvals, sizeof(*c->vals));
	}
	c->vals[c->nvals].s = s;
	c->vals[c->nvals].len = len;
	c->nvals++;
}

static void
val_addr(struct ctx *c, struct addrv *a, unsigned part)
{
	if (!a->made)
		addrv_make(a);
	switch (part) {
	case PART_ADDR:
		val_add(c, a->addr, strlen(a->addr));
		break;
	case PART_NAME:
		val_add(c, a->name, strlen(a->name));
		break;
	case PART_LOCAL:
		val_add(c, a->local, a->local_len);
		break;
	default:
		val_add(c, a->domain, strlen(a->domain));
		break;
	}
}

static const char *
tstr(const char *s)
{
	return s ? s : "";
}

/* subject (slen bytes) "\n" the first blen bytes of body into t, and its
 * length. */
static char *
join_text(char *t, const char *subject, size_t slen, const char *body, size_t blen,
	  size_t *len_r)
{
	memcpy(t, subject, slen);
	t[slen] = '\n';
	if (blen)
		memcpy(t + slen + 1, body, blen);
	t[slen + 1 + blen] = '\0';
	*len_r = slen + 1 + blen;
	return t;
}

/* Header names alike but for case: the first bytes first (a header test
 * reads every header of a mail). */
static inline bool
same_name(const char *a, const char *b)
{
	return (a[0] | 0x20) == (b[0] | 0x20) && strcasecmp(a, b) == 0;
}

/* The gazetteer's members for the sender's domain or named in the text. */
static void
gazetteer_values(struct ctx *c, enum field f)
{
	const char *found[64];
	size_t n;

	if (f == F_FROM_INSTITUTION || f == F_FROM_COUNTRY) {
		const char *member;

		if (!c->from.made)
			addrv_make(&c->from);
		member = rules_gazetteer_domain(c->rs, c->from.domain, f == F_FROM_COUNTRY);
		if (member)
			val_add(c, member, strlen(member));
		return;
	}
	if (f == F_SUBJECT_INSTITUTION)
		n = rules_gazetteer_text(c->rs, c->m->subject, c->subject_len, found,
					 ARRAY_SIZE(found));
	else
		n = rules_gazetteer_body(c->rs, c->m->body ? c->m->body : "", c->body_len, found,
					 ARRAY_SIZE(found));
	for (size_t i = 0; i < n; i++)
		val_add(c, found[i], strlen(found[i]));
}

/* The values a test looks at, into c->vals. A field that does not exist
 * (no ticket, no such header) has no value. */
static void
field_values(struct ctx *c, const struct test *t)
{
	const struct message *m = c->m;
	unsigned part = t->field & FIELD_PART_MASK;

	c->nvals = 0;
	switch ((enum field)(t->field & ~FIELD_PART_MASK)) {
	case F_FROM:
		if (*m->from.addr || *m->from.name)
			val_addr(c, &c->from, part);
		break;
	case F_SENDER:
		if (m->sender.addr && *m->sender.addr)
			val_addr(c, &c->sender, part);
		break;
	case F_REPLY_TO:
		if (m->reply_to.addr && *m->reply_to.addr)
			val_addr(c, &c->reply_to, part);
		break;
	case F_TO:
	case F_RCPT:
		for (size_t i = 0; i < m->nto; i++)
			val_addr(c, &c->to[i], part);
		if ((t->field & ~FIELD_PART_MASK) == F_TO)
			break;
		/* fall through */
	case F_CC:
		for (size_t i = 0; i < m->ncc; i++)
			val_addr(c, &c->cc[i], part);
		break;
	case F_SUBJECT:
		val_add(c, m->subject, c->subject_len);
		break;
	case F_BODY:
		val_add(c, m->body ? m->body : "", c->body_len);
		break;
	case F_TEXT:
		if (!c->text)
			c->text = join_text(c->text_mem, m->subject, c->subject_len, m->body,
					    c->body_len, &c->text_len);
		val_add(c, c->text, c->text_len);
		break;
	case F_HEADER:
		for (size_t i = 0; i < m->nheaders; i++)
			if (same_name(m->headers[i].name, t->header))
				val_add(c, m->headers[i].value, strlen(m->headers[i].value));
		break;
	case F_ATT_NAME:
		for (size_t i = 0; i < m->natts; i++)
			val_add(c, m->atts[i].filename, strlen(m->atts[i].filename));
		break;
	case F_ATT_TYPE:
		for (size_t i = 0; i < m->natts; i++)
			val_add(c, m->atts[i].content_type, strlen(m->atts[i].content_type));
		break;
	case F_LANGUAGE:
		val_add(c, c->lang, strlen(c->lang));
		break;
	case F_FLAGS: {
		static const struct {
			unsigned f;
			const char *name;
		} fl[] = {
			{ MSG_PARSE_ERROR, "parse-error" }, { MSG_BOUNCE, "bounce" },
			{ MSG_AUTOREPLY, "autoreply" },     { MSG_LIST, "list" },
			{ MSG_OVERSIZE, "oversize" },	    { MSG_TRUNCATED, "truncated" },
			{ MSG_SPAM, "spam" },		    { MSG_POISON, "poison" },
		};
		for (size_t i = 0; i < ARRAY_SIZE(fl); i++)
			if (m->flags & fl[i].f)
				val_add(c, fl[i].name, strlen(fl[i].name));
		break;
	}
	case F_MESSAGE_ID:
		val_add(c, m->message_id, strlen(m->message_id));
		break;
	case F_FROM_INSTITUTION:
	case F_FROM_COUNTRY:
	case F_SUBJECT_INSTITUTION:
	case F_BODY_INSTITUTION:
		gazetteer_values(c, t->field);
		break;
	default:
		if (!c->t)
			break;
		switch ((enum field)t->field) {
		case F_T_QUEUE:
			val_add(c, tstr(c->t->queue), strlen(tstr(c->t->queue)));
			break;
		case F_T_STATUS:
			val_add(c, tstr(c->t->status), strlen(tstr(c->t->status)));
			break;
		case F_T_CATEGORY:
			val_add(c, tstr(c->t->category), strlen(tstr(c->t->category)));
			break;
		case F_T_PRIORITY:
			val_add(c, tstr(c->t->priority), strlen(tstr(c->t->priority)));
			break;
		case F_T_LANGUAGE:
			val_add(c, tstr(c->t->language), strlen(tstr(c->t->language)));
			break;
		case F_T_ASSIGNEE:
			val_add(c, tstr(c->t->assignee), strlen(tstr(c->t->assignee)));
			break;
		case F_T_REQUESTER:
			val_add(c, tstr(c->t->requester), strlen(tstr(c->t->requester)));
			break;
		case F_T_TAGS:
			for (size_t i = 0; i < c->t->tags.n; i++)
				val_add(c, c->t->tags.items[i], strlen(c->t->tags.items[i]));
			break;
		default:
			break;
		}
		break;
	}
}

static void
trace(struct ctx *c, const struct rule *r, enum rule_trace_kind k, const char *text,
      bool matched, const char *value, const char *note)
{
	struct rule_trace_event ev;

	if (!c->fn)
		return;
	ev.kind = k;
	ev.file = r->file;
	ev.line = r->line;
	ev.rule = r->name;
	ev.text = text;
	ev.matched = matched;
	ev.value = value;
	ev.note = note;
	c->fn(c->arg, &ev);
}

static const char *
pcre2_err_str(int rc, char *buf, size_t n)
{
	pcre2_get_error_message(rc, (PCRE2_UCHAR *)buf, n);
	return buf;
}

/* ASCII letters alike but for case. */
static bool
ascii_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x != y && ((x | 0x20) != (y | 0x20) || (unsigned)((x | 0x20) - 'a') >= 26u))
			return false;
	}
	return true;
}

/* A plain IS (struct test): the length of the word the value v is (as
 * ^(?:word)$ matches: all of it, or all but a final newline), -1 for none. */
static long
plain_is(const struct test *t, const struct value *v)
{
	for (size_t k = 0; k < t->plain.n; k++) {
		const char *w = t->plain.items[k];
		size_t n = strlen(w);

		if ((v->len == n || (v->len == n + 1 && v->s[n] == '\n')) && ascii_caseeq(v->s, w, n))
			return (long)n;
	}
	return -1;
}

/* 1 matched, 0 not, -1 the rule must be skipped (c->error says why). */
static int
eval_test(struct ctx *c, const struct rule *r, const struct test *t)
{
	const pcre2_code *re;
	char *seen = NULL;
	int res = 0;

	field_values(c, t);
	if (t->plain.n) {
		long n = -1;

		for (size_t i = 0; i < c->nvals && n < 0; i++)
			if ((n = plain_is(t, &c->vals[i])) >= 0)
				seen = xstrndup(c->vals[i].s, (size_t)n);
		trace(c, r, RULE_TRACE_TEST, t->text, n >= 0, seen, NULL);
		free(seen);
		return n >= 0;
	}
	if (t->op == OP_EXISTS || t->op == OP_EMPTY) {
		bool any = false;

		for (size_t i = 0; i < c->nvals; i++)
			if (t->field == F_HEADER || c->vals[i].len)
				any = true;
		res = (t->op == OP_EXISTS) == any;
		trace(c, r, RULE_TRACE_TEST, t->text, res, NULL, NULL);
		return res;
	}
	/* a test that captures reads every value: each match's captures count
	 * (score ${name} scores them all) */
	re = atomic_load_explicit(&t->jit, memory_order_acquire);
	if (!re)
		re = t->re;
	for (size_t i = 0; i < c->nvals && (!res || t->capnames.n); i++) {
		int rc = pcre2_match(re, (PCRE2_SPTR)c->vals[i].s, c->vals[i].len, 0, 0, c->md,
				     c->rs->mctx);

		if (rc == PCRE2_ERROR_NOMATCH)
			continue;
		if (rc < 0) {
			char msg[160];

			free(c->error);
			c->error = xasprintf("%s:%d: rule '%s' skipped for this message: %s in '%s'",
					     r->file, t->re ? r->line : 0, r->name,
					     pcre2_err_str(rc, msg, sizeof(msg)), t->text);
			trace(c, r, RULE_TRACE_TEST, t->text, false, NULL, c->error);
			return -1;
		}
		{
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);

			res = 1;
			free(seen);
			seen = xstrndup(c->vals[i].s + ov[0], ov[1] - ov[0]);
			for (size_t k = 0; k < t->capnames.n; k++) {
				int g = t->capnums[k];
				const char *v = "";
				size_t vlen = 0;

				if (g < rc && ov[2 * g] != PCRE2_UNSET) {
					v = c->vals[i].s + ov[2 * g];
					vlen = ov[2 * g + 1] - ov[2 * g];
				}
				strlist_add(&c->caps, t->capnames.items[k]);
				strlist_add_owned(&c->caps, xstrndup(v, vlen));
			}
		}
	}
	trace(c, r, RULE_TRACE_TEST, t->text, res, seen, NULL);
	free(seen);
	return res;
}

static int
eval_node(struct ctx *c, const struct rule *r, const struct node *n)
{
	int v;

	switch (n->kind) {
	case N_TEST:
		return eval_test(c, r, n->test);
	case N_NOT:
		v = eval_node(c, r, n->kids[0]);
		return v < 0 ? v : !v;
	case N_ALL:
		for (size_t i = 0; i < n->nkids; i++) {
			v = eval_node(c, r, n->kids[i]);
			if (v <= 0)
				return v;
		}
		return 1;
	case N_ANY:
		for (size_t i = 0; i < n->nkids; i++) {
			v = eval_node(c, r, n->kids[i]);
			if (v != 0)
				return v;
		}
		return 0;
	}
	return 0;
}

/* s with ${name} replaced by the rule's captures (the last one of a name). */
static char *
expand(const struct ctx *c, const char *s)
{
	struct buf b = BUF_INIT;

	while (*s) {
		const char *end;

		if (s[0] == '$' && s[1] == '{' && (end = strchr(s + 2, '}'))) {
			size_t n = (size_t)(end - s - 2);
			const char *v = "";

			for (size_t i = 0; i + 1 < c->caps.n; i += 2)
				if (strlen(c->caps.items[i]) == n &&
				    memcmp(c->caps.items[i], s + 2, n) == 0)
					v = c->caps.items[i + 1];
			buf_addstr(&b, v);
			s = end + 1;
			continue;
		}
		buf_addch(&b, *s++);
	}
	return buf_detach(&b, NULL);
}

/* Sets *slot when still unset: the first rule to decide a field wins. */
static const char *
set_once(char **slot, const char *v, const char *rule, char **note)
{
	if (*slot) {
		/* the note is for the trace only */
		if (note)
			*note = xasprintf("kept '%s' from an earlier rule", *slot);
		return NULL;
	}
	(void)rule;
	*slot = xstrdup(v);
	return *slot;
}

/* score: a target that is one capture, ${name}, scores every value the
 * rule captured under that name (each once); else the expanded target. */
static char *
score_action(const struct ctx *c, const struct rule *r, const struct action *a,
	     const char *target, struct rule_outcome *out)
{
	const char *t = a->args.items[0];
	size_t n = strlen(t);
	struct strlist done = STRLIST_INIT;
	char *note = NULL;

	if (n < 4 || strncmp(t, "${", 2) != 0 || strchr(t, '}') != t + n - 1)
		return rules_score_add(c->rs, out, target, a->args.items[1], r->name);
	for (size_t i = 0; i + 1 < c->caps.n; i += 2) {
		const char *v = c->caps.items[i + 1];

		if (strlen(c->caps.items[i]) != n - 3 || memcmp(c->caps.items[i], t + 2, n - 3) != 0 ||
		    strlist_contains(&done, v))
			continue;
		strlist_add(&done, v);
		free(note);
		note = rules_score_add(c->rs, out, v, a->args.items[1], r->name);
	}
	if (!done.n)
		note = rules_score_add(c->rs, out, target, a->args.items[1], r->name);
	strlist_release(&done);
	return note;
}

/* A value from mail that an action cannot take: dropped, named in the
 * trace (*note) and in out->errors, so that the ticket is flagged. */
static void __attribute__((format(printf, 5, 6)))
drop_value(const struct rule *r, const struct action *a, struct rule_outcome *out,
	   char **note, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(*note);
	*note = buf_detach(&b, NULL);
	strlist_add_owned(&out->errors, xasprintf("%s:%d: rule '%s': %s", r->file, a->line,
						  r->name, *note));
}

static bool
priority_ok(const char *v)
{
	return !strcmp(v, "low") || !strcmp(v, "normal") || !strcmp(v, "high") ||
	       !strcmp(v, "urgent");
}

/* Two ASCII letters (ISO 639-1), lowercased in place. */
static bool
language_ok(char *v)
{
	for (char *p = v; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return strlen(v) == 2 && v[0] >= 'a' && v[0] <= 'z' && v[1] >= 'a' && v[1] <= 'z';
}

/* Values are checked here, once the captures are in: a rule's literal
 * values were checked when it was loaded, but ${name} brings text from mail. */
static void
run_actions(struct ctx *c, const struct rule *r, struct rule_outcome *out)
{
	for (size_t i = 0; i < r->nacts && !out->stopped; i++) {
		const struct action *a = &r->acts[i];
		char *arg = a->args.n ? expand(c, a->args.items[0]) : NULL;
		char *note = NULL;

		switch (a->kind) {
		case A_ROUTE: {
			const struct queue *q = rules_queue(c->rs, arg);

			if (!q)
				drop_value(r, a, out, &note, "no queue '%s': route dropped", arg);
			else
				set_once(&out->queue, q->id, r->name, c->fn ? &note : NULL);
			break;
		}
		case A_CATEGORY:
			if (!ticket_word_valid(arg))
				drop_value(r, a, out, &note, "category '%s' dropped: not one word "
					   "without commas", arg);
			else
				set_once(&out->category, arg, r->name, c->fn ? &note : NULL);
			break;
		case A_PRIORITY:
			if (!priority_ok(arg))
				drop_value(r, a, out, &note, "priority '%s' dropped: not low, normal, "
					   "high or urgent", arg);
			else
				set_once(&out->priority, arg, r->name, c->fn ? &note : NULL);
			break;
		case A_LANGUAGE:
			if (!language_ok(arg))
				drop_value(r, a, out, &note, "language '%s' dropped: not an ISO 639-1 "
					   "code", arg);
			else
				set_once(&out->language, arg, r->name, c->fn ? &note : NULL);
			break;
		case A_ASSIGN:
			if (!ticket_word_valid(arg))
				drop_value(r, a, out, &note, "assignee '%s' dropped: not one word "
					   "without commas", arg);
			else
				set_once(&out->assignee, arg, r->name, c->fn ? &note : NULL);
			break;
		case A_TAG:
			for (size_t k = 0; k < a->args.n; k++) {
				char *tag = k == 0 ? xstrdup(arg) : expand(c, a->args.items[k]);

				/* An empty capture gives no tag, as no capture would. */
				if (*tag && !ticket_word_valid(tag))
					drop_value(r, a, out, &note, "tag '%s' dropped: not one word "
						   "without commas", tag);
				else if (*tag && !strlist_contains(&out->tags, tag))
					strlist_add(&out->tags, tag);
				free(tag);
			}
			break;
		case A_NOACK:
			if (!out->no_ack) {
				out->no_ack = true;
				out->no_ack_reason = arg && *arg
							     ? xasprintf("rule '%s': %s", r->name, arg)
							     : xasprintf("rule '%s'", r->name);
			} else {
				note = xstrdup("already suppressed");
			}
			break;
		case A_SPAM:
			out->spam = true;
			if (!out->no_ack) {
				out->no_ack = true;
				out->no_ack_reason = xasprintf("rule '%s': spam", r->name);
			}
			break;
		case A_STOP:
			out->stopped = true;
			break;
		case A_SCORE:
			note = score_action(c, r, a, arg, out);
			break;
		}
		trace(c, r, RULE_TRACE_ACTION, a->text, true, arg, note);
		free(arg);
		free(note);
	}
}

/* One haystack of the prefilter: a field's text, ASCII lowercased (lower),
 * and as it is (exact) where case-sensitive words are confirmed in it. */
struct haystack {
	const char *exact; /* NULL: confirm every word in lower */
	bool owned;        /* lower and canon were allocated for it */
	char *lower;
	size_t len;
	/* for scan_words(): rules_word_canon() of lower, after a 0 and
	 * followed by 0s (canon + 1 is lower's first byte), with the marks of
	 * canon_flags(); else NULL */
	unsigned char *canon;
};

static void
hay_add(struct buf *b, const char *s, size_t len)
{
	if (!s || buf_grow(b, len + 1) < 0)
		return;
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len++] = '\n';
	b->data[b->len] = '\0';
}

static void
hay_addr(struct buf *b, const struct address *a)
{
	if (a->addr)
		hay_add(b, a->addr, strlen(a->addr));
	if (a->name)
		hay_add(b, a->name, strlen(a->name));
}

/* lower_ascii() works in blocks of this many bytes: a loop of a constant
 * count, which -O2 vectorises (its cost model takes no loop whose count it
 * does not know), then byte by byte for the rest. */
#define LOWER_BLOCK 32

/* dst = src with ASCII capitals lowercased; the OR of the bytes of src. */
static inline unsigned char
lower_run(unsigned char *restrict dst, const unsigned char *restrict src, size_t n)
{
	unsigned char high = 0;

	for (size_t k = 0; k < n; k++) {
		unsigned char ch = src[k];

		high |= ch;
		dst[k] = (unsigned char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	return high;
}

/* canon = canon_byte() of each byte of lower (no capital is left in it). */
static inline void
canon_run(unsigned char *restrict canon, const unsigned char *restrict lower, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		unsigned char ch = lower[k];

		canon[k] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ? ch : 0;
	}
}

/* dst = src with ASCII capitals lowercased, and canon (unless NULL) =
 * canon_byte() of each byte of dst, a block at a time. True when src holds
 * a byte beyond ASCII. */
static bool
lower_ascii(char *dst, char *canon, const char *src, size_t len)
{
	unsigned char *d = (unsigned char *)dst, *cn = (unsigned char *)canon;
	const unsigned char *s = (const unsigned char *)src;
	unsigned char high = 0;
	size_t i = 0;

	for (; i + LOWER_BLOCK <= len; i += LOWER_BLOCK) {
		high |= lower_run(d + i, s + i, LOWER_BLOCK);
		if (cn)
			canon_run(cn + i, d + i, LOWER_BLOCK);
	}
	high |= lower_run(d + i, s + i, len - i);
	if (cn)
		canon_run(cn + i, d + i, len - i);
	return (high & 0x80) != 0;
}

void
rules_word_canon(char *dst, const char *src, size_t len)
{
	char *lower = xmalloc(len + 1);

	(void)lower_ascii(lower, dst, src, len);
	free(lower);
}

/* Caseless under Unicode, 'k' matches KELVIN SIGN (U+212A) and 's' LONG S
 * (U+017F): a caseless word of ASCII letters may match text that does not
 * hold it. True when s holds either (then no rule is skipped). */
static bool
fold_hazard(const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	while ((p = memchr(p, 0xc5, (size_t)(end - p))) && p + 1 < end) {
		if ((unsigned char)p[1] == 0xbf)
			return true;
		p++;
	}
	p = s;
	while ((p = memchr(p, 0xe2, (size_t)(end - p))) && p + 2 < end) {
		if ((unsigned char)p[1] == 0x84 && (unsigned char)p[2] == 0xaa)
			return true;
		p++;
	}
	return false;
}

/* Does word l occur in h, with the word boundaries it needs? A boundary
 * fails for certain only beside an ASCII word character; beside any other
 * byte (a UTF-8 letter perhaps) the occurrence counts. */
static bool
lit_found(const struct haystack *h, const struct lit *l)
{
	const char *base = h->exact && l->exact ? h->exact : h->lower;
	const char *w = h->exact && l->exact ? l->exact : l->lower;
	const char *p = base, *end = base + h->len;

	p = memmem(p, (size_t)(end - p), w, l->len);
	while (p) {
		if ((!(l->flags & LIT_WB_LEFT) || p == base || !ascii_word((unsigned char)p[-1])) &&
		    (!(l->flags & LIT_WB_RIGHT) || p + l->len == end ||
		     !ascii_word((unsigned char)p[l->len])))
			return true;
		/* The word is there, but inside another ("pers" of
		 * "personalised", often many times): the next occurrences
		 * by the first byte, without memmem's setup each time. */
		p++;
		while ((p = memchr(p, w[0], (size_t)(end - p))) &&
		       ((size_t)(end - p) < l->len || memcmp(p, w, l->len) != 0))
			p++;
	}
	return false;
}

/* The trigrams and 4-grams seen in a message: a byte a key, holding the
 * number of the message (mod 256) that last saw it, so that nothing is
 * cleared between messages but every 255th. A byte map costs fewer
 * instructions a text byte than a bitmap; per thread, as a run may
 * classify on several. Only scan_maps() uses them. */
static _Thread_local uint8_t tri_map[PREFILTER_SIZE], quad_map[PREFILTER_SIZE];
static _Thread_local uint8_t map_gen;

static void
cand_mark(struct ctx *c, uint32_t rule)
{
	c->cand[rule] = 1;
	c->cands[c->ncands++] = rule;
}

/* The words of haystack h, by the maps: each trigram of the text set in one
 * map and each 4-gram in another (both keyed by haystack too); each
 * trigram seen for the first time looks up the words that begin with it,
 * and a word whose 4-grams are all set is confirmed with lit_found(). For
 * a text no longer than the haystack's list of words (a subject, an
 * address), where looking up each word would cost more than the text, and
 * for a haystack with a word scan_words() cannot look up. seen holds
 * len + 1 keys. */
static void
scan_maps(struct ctx *c, unsigned h, const struct haystack *hay, uint32_t *seen)
{
	const struct ruleset *rs = c->rs;
	const char *lo = hay->lower;
	size_t len = hay->len, nseen = 0;

	/* Over the lowercased copy (padded with NULs: each position loads
	 * four bytes): the trigrams (the index's keys, each looked up once)
	 * and the 4-grams (to check a longer word before memmem: far fewer of
	 * a word's 4-grams than of its trigrams turn up apart). The last
	 * position's 4-gram holds a NUL, which no word has. */
	if (len > rs->hay_nkeys[h]) {
		/* A text longer than the list of keys that open words: only
		 * stores a byte, then the list is looked up (the same keys as
		 * below: those both in the text and in the index). */
		for (size_t i = 0; i + 2 < len; i++) {
			uint32_t x = load4((const unsigned char *)lo + i);

			tri_map[tri_key(h, x)] = c->gen;
			quad_map[quad_key(h, x)] = c->gen;
		}
		for (size_t j = 0; j < rs->hay_nkeys[h]; j++)
			if (tri_map[rs->hay_keys[h][j]] == c->gen)
				seen[nseen++] = rs->hay_keys[h][j];
	} else {
		for (size_t i = 0; i + 2 < len; i++) {
			uint32_t x = load4((const unsigned char *)lo + i);
			uint32_t k = tri_key(h, x);
			uint32_t k4 = quad_key(h, x);

			quad_map[k4] = c->gen;
			if (tri_map[k] != c->gen) {
				tri_map[k] = c->gen;
				seen[nseen++] = k;
			}
		}
	}
	for (size_t s = 0; s < nseen; s++) {
		uint32_t k = seen[s];

		for (uint32_t e = rs->bucket_start[k]; e < rs->bucket_start[k + 1]; e++) {
			const struct prefilter_ent *ent = &rs->bucket_ent[e];
			const struct lit *l;
			const unsigned char *w;
			bool all = true;

			if (c->cand[ent->rule])
				continue;
			l = &rs->rules[ent->rule].lits.v[ent->lit];
			if (l->hay != h)
				continue;
			w = (const unsigned char *)l->lower;
			for (size_t j = 0; j + 3 < l->len && all; j++) {
				uint32_t k2 = quad_key(h, load4(w + j));

				all = quad_map[k2] == c->gen;
			}
			/* The trigrams can all be there apart ("gen" and "ent" of
			 * "genomics" and "patients" for "gent"): confirm the word
			 * itself, which costs far less than a PCRE2 scan. */
			if (all && lit_found(hay, l))
				cand_mark(c, ent->rule);
		}
	}
}

/* The 4-grams seen in a message, by word_key(): a byte a key like tri_map
 * and quad_map. */
static _Thread_local uint8_t word_map[PREFILTER_SIZE];

/* The words of haystack h, for a text longer than its list of words: each
 * position of the text stores one byte, the word_key() of the 4-gram of
 * canonical bytes there (hay->canon: one store where scan_maps() has two,
 * and the stores bound that loop); then each word of the haystack whose
 * rule is not yet a candidate has its keys looked up (for most the first
 * one, its last 4-gram, is absent: many words begin alike), and one that
 * passes is confirmed by lit_found(), as in scan_maps(). Nothing is
 * skipped that lit_found() would find: an occurrence that lit_found()
 * accepts is in the lowercased text (lower_hay()) with the boundaries it
 * needs, so the canonical bytes there are the word's with a 0 for each
 * boundary (word_canon()), and each of their 4-grams was stored. */
static void
scan_words(struct ctx *c, unsigned h, const struct haystack *hay)
{
	const struct ruleset *rs = c->rs;
	uint32_t mult = word_mult(h);
	uint8_t gen = c->gen;
	size_t len = hay->len, i = 0;
	const unsigned char *cw = hay->canon;

	/* the 4-grams from the one before the text's first byte to the one
	 * after its last three; four a turn: the loop's own count and test are
	 * a good part of its work */
	for (; i + 4 < len; i += 4) {
		word_map[word_key(mult, load4(cw + i))] = gen;
		word_map[word_key(mult, load4(cw + i + 1))] = gen;
		word_map[word_key(mult, load4(cw + i + 2))] = gen;
		word_map[word_key(mult, load4(cw + i + 3))] = gen;
	}
	for (; i + 1 < len; i++)
		word_map[word_key(mult, load4(cw + i))] = gen;
	for (size_t w = rs->hay_words[h]; w < rs->hay_words[h + 1]; w++) {
		const struct prefilter_word *pw;
		const uint16_t *k;
		bool pass = true;

		if (word_map[rs->word_first[2 * w]] != gen &&
		    word_map[rs->word_first[2 * w + 1]] != gen)
			continue;
		pw = &rs->words[w];
		k = rs->word_keys + pw->keys;
		if (c->cand[pw->rule])
			continue;
		for (uint32_t j = pw->nkeys; j-- > 0 && pass;)
			pass = word_map[k[j]] == gen;
		pass = pass && (word_map[k[pw->nkeys]] == gen || word_map[k[pw->nkeys + 1]] == gen);
		if (pass && lit_found(hay, &rs->rules[pw->rule].lits.v[pw->lit]))
			cand_mark(c, pw->rule);
	}
}

/* Bytes of hay->canon past the text's: its 0 before and after, and what
 * canon_flags() reads past the end. */
#define HAY_CANON_PAD 40

/* Sets bit 7 of each canonical byte c[0 .. n-1] whose next byte is a word
 * character (not 0; c[n] is read): a 4-gram's key then tells whether a word
 * character follows it too, so that "pers" with a word boundary after it
 * is not taken for the "pers" of "personalised". In place, left to right:
 * each byte's next is read before it is changed. */
static void
canon_flags(unsigned char *c, size_t n)
{
	size_t i = 0;

	/* in blocks of a constant count, as lower_ascii() */
	for (; i + LOWER_BLOCK <= n; i += LOWER_BLOCK)
		for (size_t k = i; k < i + LOWER_BLOCK; k++)
			c[k] |= c[k + 1] ? 0x80 : 0;
	for (; i < n; i++)
		c[i] |= c[i + 1] ? 0x80 : 0;
}

/* Fills hay->lower (padded with eight NULs) with the text src lowercased:
 * ASCII capitals, and the Latin letters latin_fold() folds; and when canon,
 * hay->canon (the fold changes no byte of it). Sets c->hazard for
 * fold_hazard(). A byte that opens such a letter folds with the next one
 * only when that one continues it: in broken UTF-8 ("\xc3" then "É") the
 * letter is still folded where it stands, as PCRE2 (PCRE2_MATCH_INVALID_UTF)
 * still finds it, and a word is in the lowercased text wherever it is in
 * the text as it is. */
static void
lower_hay(struct ctx *c, struct haystack *hay, const char *src, size_t len, bool canon,
	  char *room)
{
	unsigned char *lo;
	bool high;

	hay->owned = !room;
	hay->lower = room ? room : xmalloc(len + 8);
	memset(hay->lower + len, 0, 8);
	hay->len = len;
	lo = (unsigned char *)hay->lower;
	if (canon) {
		hay->canon = room ? (unsigned char *)room + len + 8 : xmalloc(len + HAY_CANON_PAD);
		hay->canon[0] = 0;
		memset(hay->canon + 1 + len, 0, HAY_CANON_PAD - 1);
	}
	high = lower_ascii(hay->lower, canon ? (char *)hay->canon + 1 : NULL, src, len);
	if (canon)
		canon_flags(hay->canon, len + 2);
	if (!high)
		return;
	if (!c->hazard && fold_hazard(hay->lower, len))
		c->hazard = true;
	for (size_t i = 0; i + 1 < len; i++)
		if (lo[i] >= 0xc3 && lo[i] <= 0xc5 && (lo[i + 1] & 0xc0) == 0x80) {
			latin_fold(lo + i, lo + i + 1);
			i++;
		}
}

/* The room of a haystack of len bytes (lower_hay()) in the block that
 * room_take() lays out. */
static size_t
hay_room(size_t len)
{
	return len + 8 + len + HAY_CANON_PAD;
}

/* The room of the text (field_values()) in that block. */
static size_t
text_room(const struct ctx *c)
{
	return c->subject_len + 1 + c->body_len + 1;
}

/* Marks in c->cand the rules that may match: one of the words of each must
 * occur in the haystack of its test's field. Each haystack is lowercased,
 * then its words found by scan_words() (or scan_maps()). The cost is the
 * text's length plus the positions that open a word, whatever the number
 * of rules. A literal in a Received: header wakes no rule that tests the
 * body. */
static void
prefilter(struct ctx *c)
{
	const struct ruleset *rs = c->rs;
	const struct message *m = c->m;
	struct haystack *hays = c->hays;
	uint32_t *seen = NULL;

	for (unsigned h = 0; h < rs->nhay; h++) {
		struct buf b;
		const char *src = NULL;
		size_t len = 0;
		bool by_words;

		if (!rs->hay_used[h])
			continue;
		/* no cap of its own: the message's parts are bounded already,
		 * and a haystack cut short would skip rules that match */
		buf_init(&b, SIZE_MAX / 4);
		switch (h) {
		case HAY_SUBJECT:
			src = hays[h].exact = m->subject;
			len = c->subject_len;
			break;
		case HAY_BODY:
			src = hays[h].exact = m->body ? m->body : "";
			len = c->body_len;
			break;
		case HAY_FROM:
			hay_addr(&b, &m->from);
			break;
		case HAY_SENDER:
			hay_addr(&b, &m->sender);
			break;
		case HAY_REPLY_TO:
			hay_addr(&b, &m->reply_to);
			break;
		case HAY_TO:
			for (size_t i = 0; i < m->nto; i++)
				hay_addr(&b, &m->to[i]);
			break;
		case HAY_CC:
			for (size_t i = 0; i < m->ncc; i++)
				hay_addr(&b, &m->cc[i]);
			break;
		case HAY_ATT_NAME:
			for (size_t i = 0; i < m->natts; i++)
				hay_add(&b, m->atts[i].filename, strlen(m->atts[i].filename));
			break;
		case HAY_ATT_TYPE:
			for (size_t i = 0; i < m->natts; i++)
				hay_add(&b, m->atts[i].content_type,
					strlen(m->atts[i].content_type));
			break;
		default:
			for (size_t i = 0; i < m->nheaders; i++)
				if (same_name(m->headers[i].name, rs->hdr_names.items[h - HAY_HEADER]))
					hay_add(&b, m->headers[i].value, strlen(m->headers[i].value));
			break;
		}
		if (!src) {
			src = b.data ? b.data : "";
			len = b.len;
		}
		/* the text is long enough for scan_words() (it looks up each
		 * word of the haystack) */
		by_words = !rs->hay_any[h] && len > rs->hay_words[h + 1] - rs->hay_words[h];
		lower_hay(c, &hays[h], src, len, by_words,
			  h == HAY_SUBJECT ? c->subject_mem
			  : h == HAY_BODY  ? c->body_mem
					   : NULL);
		/* With a hazard every rule is tried (rules_apply_trace()):
		 * which words occur no longer matters. */
		if (c->hazard) {
			buf_release(&b);
			break;
		}
		if (by_words) {
			scan_words(c, h, &hays[h]);
		} else {
			seen = xreallocarray(seen, len + 1, sizeof(*seen));
			scan_maps(c, h, &hays[h], seen);
		}
		buf_release(&b);
	}
	for (unsigned h = 0; h < rs->nhay; h++)
		if (hays[h].owned) {
			free(hays[h].lower);
			free(hays[h].canon);
		}
	free(seen);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The candidates in rule order: a few as a rule, sorted in place; many
 * (thousands of rules) by qsort. */
static void
cands_sort(uint32_t *v, size_t n)
{
	if (n > 32) {
		qsort(v, n, sizeof(*v), u32_cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		uint32_t x = v[i];
		size_t j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Evaluates one rule and runs its actions when it matches. */
static void
try_rule(struct ctx *c, const struct rule *r, struct rule_outcome *out)
{
	int v;

	trace(c, r, RULE_TRACE_RULE, NULL, false, NULL, NULL);
	strlist_release(&c->caps);
	v = r->cond ? eval_node(c, r, r->cond) : 1;
	if (v < 0) {
		strlist_add(&out->errors, c->error);
		trace(c, r, RULE_TRACE_ERROR, NULL, false, NULL, c->error);
		return;
	}
	trace(c, r, RULE_TRACE_END, NULL, v, NULL, NULL);
	if (v)
		run_actions(c, r, out);
}

static size_t
align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* Lays out c's block (c->hays zeroed, c->cand zeroed, c->cands, the text's
 * and the long haystacks' room: sizes from c->subject_len and c->body_len)
 * and its match data: rs->room's when no other thread has it (*mine),
 * else new ones. Returns the block, to free unless *mine. */
static char *
room_take(struct ctx *c, bool *mine)
{
	const struct ruleset *rs = c->rs;
	struct rules_room *rr = rs->room;
	size_t hays = align16(rs->nhay * sizeof(*c->hays));
	size_t cands = align16((rs->nrules + 1) * sizeof(*c->cands));
	size_t cand = align16(rs->nrules + 1);
	size_t text = text_room(c), subject = hay_room(c->subject_len);
	size_t need = hays + cands + cand + text + subject + hay_room(c->body_len);
	char *mem;

	*mine = rr && !atomic_exchange_explicit(&rr->busy, true, memory_order_acquire);
	if (*mine) {
		if (rr->cap < need) {
			free(rr->mem);
			rr->mem = xmalloc(need);
			rr->cap = need;
		}
		if (!rr->md)
			rr->md = pcre2_match_data_create(rs->max_ovector, NULL);
		mem = rr->mem;
		c->md = rr->md;
	} else {
		mem = xmalloc(need);
		c->md = pcre2_match_data_create(rs->max_ovector, NULL);
	}
	c->hays = (struct haystack *)(void *)mem;
	memset(c->hays, 0, rs->nhay * sizeof(*c->hays));
	c->cands = (uint32_t *)(void *)(mem + hays);
	c->cand = (unsigned char *)mem + hays + cands;
	memset(c->cand, 0, rs->nrules + 1);
	c->text_mem = mem + hays + cands + cand;
	c->subject_mem = c->text_mem + text;
	c->body_mem = c->subject_mem + subject;
	return mem;
}

int
rules_apply_trace(const struct ruleset *rs, const struct message *m, const struct ticket *t,
		  struct rule_outcome *out, rule_trace_fn fn, void *arg, struct err *e)
{
	struct ctx c;
	const char *lang;
	char *room;
	bool mine;

	(void)e;
	memset(&c, 0, sizeof(c));
	c.rs = rs;
	c.m = m;
	c.t = t;
	c.fn = fn;
	c.arg = arg;
	c.from.src = &m->from;
	c.sender.src = &m->sender;
	c.reply_to.src = &m->reply_to;
	c.to = xcalloc(m->nto + 1, sizeof(*c.to));
	c.cc = xcalloc(m->ncc + 1, sizeof(*c.cc));
	for (size_t i = 0; i < m->nto; i++)
		c.to[i].src = &m->to[i];
	for (size_t i = 0; i < m->ncc; i++)
		c.cc[i].src = &m->cc[i];
	c.body_len = m->body ? strlen(m->body) : 0;
	if (c.body_len > RULES_BODY_MAX) {
		c.body_len = RULES_BODY_MAX;
		while (c.body_len > 0 && ((unsigned char)m->body[c.body_len] & 0xc0) == 0x80)
			c.body_len--;
	}
	c.subject_len = strlen(m->subject);
	if (rs->room && !rs->room->no_jit &&
	    atomic_fetch_add(&rs->room->applied, 1) + 1 == RULES_JIT_AFTER)
		rules_jit(rs);
	room = room_take(&c, &mine);
	/* The subject counts too: a short mail may say all in it. */
	lang = lang_detect_joined(m->subject, c.subject_len, m->body ? m->body : "", c.body_len,
				  NULL);
	c.lang = lang ? lang : "";
	if (++map_gen == 0) {
		memset(tri_map, 0, sizeof(tri_map));
		memset(quad_map, 0, sizeof(quad_map));
		memset(word_map, 0, sizeof(word_map));
		map_gen = 1;
	}
	c.gen = map_gen;
	prefilter(&c);

	if (fn) {
		/* the trace names every rule, skipped or tried */
		for (size_t i = 0; i < rs->nrules && !out->stopped; i++) {
			if (rs->rules[i].lits.n && !c.cand[i] && !c.hazard) {
				trace(&c, &rs->rules[i], RULE_TRACE_SKIP, NULL, false, NULL,
				      "none of the words it needs is in the message");
				continue;
			}
			try_rule(&c, &rs->rules[i], out);
		}
	} else {
		/* Only the rules the prefilter let through and those without
		 * words, in order: the cost of a message does not grow with
		 * the rules it skips. */
		size_t a = 0, k = 0;

		if (c.hazard) {
			/* every rule a candidate, in order */
			c.ncands = 0;
			for (size_t i = 0; i < rs->nrules; i++)
				if (rs->rules[i].lits.n)
					c.cands[c.ncands++] = (uint32_t)i;
		}
		cands_sort(c.cands, c.ncands);
		while (!out->stopped && (a < rs->nalways || k < c.ncands)) {
			uint32_t i;

			if (k == c.ncands || (a < rs->nalways && rs->always[a] < c.cands[k]))
				i = rs->always[a++];
			else
				i = c.cands[k++];
			try_rule(&c, &rs->rules[i], out);
		}
	}
	rules_score_decide(rs, out);
	if (!out->language && *c.lang)
		out->language = xstrdup(c.lang);

	strlist_release(&c.caps);
	free(c.error);
	free(c.vals);
	if (mine) {
		atomic_store_explicit(&rs->room->busy, false, memory_order_release);
	} else {
		free(room);
		pcre2_match_data_free(c.md);
	}
	free(c.from.domain);
	free(c.sender.domain);
	free(c.reply_to.domain);
	for (size_t i = 0; i < m->nto; i++)
		free(c.to[i].domain);
	for (size_t i = 0; i < m->ncc; i++)
		free(c.cc[i].domain);
	free(c.to);
	free(c.cc);
	return 0;
}

int
rules_apply(const struct ruleset *rs, const struct message *m, const struct ticket *t,
	    struct rule_outcome *out, struct err *e)
{
	return rules_apply_trace(rs, m, t, out, NULL, NULL, e);
}
