/* prefilter.c - the literal prefilter: which rules may match a message.
 *
 * Cost must not grow with the number of rules: each rule's patterns are
 * reduced at load to words a match cannot do without (rules_lits.c), each
 * with the field its test reads, indexed by field and first trigram. Each
 * field's text is hashed once: a long one (a body) into one map of its
 * 4-grams, which each word of the field is looked up in; a short one into
 * trigram and 4-gram maps, which look up only the words that begin with its
 * trigrams. Only the rules one of whose words occurs in the field its test
 * reads (and those without words) are tried with PCRE2. The gazetteer's
 * names are the words of the institution tests. */
#include "compat.h"

#include <strings.h>

#include "buf.h"
#include "rules_int.h"
#include "unaligned.h"
#include "xalloc.h"

/* One message's pass: the ruleset, the message, the room of its
 * haystacks, and what prefilter_candidates() hands back (run). */
struct pf_ctx {
	const struct ruleset *rs;
	const struct message *m;
	size_t subject_len, body_len;
	struct haystack *hays;
	char *subject_mem, *body_mem;
	uint8_t gen;     /* marks quad_map's and word_map's entries of this message */
	uint16_t tri_gen; /* ... tri_map's of the haystack being read */
	bool hazard;
	unsigned char *cand;
	uint32_t *cands;
	size_t ncands;
	uint64_t langs; /* prefilter_run.langs */
};

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

/* 0 with lits filled, -1 when the node needs no particular word. *from:
 * the test whose words they are when one test's alone (n, or the kid of an
 * all that gave them), else NULL. */
static int
node_lits(struct ruleset *rs, const struct node *n, struct litset *lits,
	  const struct test **from)
{
	*from = NULL;
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
		*from = n->test;
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
			const struct test *t;

			if (node_lits(rs, n->kids[i], &l, &t) == 0 && lits_score(&l) > bestscore) {
				bestscore = lits_score(&l);
				litset_move(&best, &l);
				*from = t;
			}
			litset_release(&l);
		}
		if (!best.n) {
			*from = NULL;
			return -1;
		}
		litset_move(lits, &best);
		return 0;
	}
	case N_ANY:
		/* any branch without a word can match alone: none is needed */
		for (size_t i = 0; i < n->nkids; i++) {
			const struct test *t;

			if (node_lits(rs, n->kids[i], lits, &t) < 0) {
				litset_release(lits);
				return -1;
			}
		}
		return 0;
	}
	return -1;
}

/* Whether a sure word of t's (LIT_SURE) seen in the text proves that t
 * matches: a pattern on the subject, the body or both, that captures
 * nothing (no value for the actions). */
static bool
sure_test(const struct test *t)
{
	return t && t->op == OP_MATCHES && !t->capnames.n &&
	       (t->field == F_SUBJECT || t->field == F_BODY || t->field == F_TEXT);
}

void
rules_prefilter_rule(struct ruleset *rs, struct rule *r)
{
	const struct test *from = NULL;

	litset_release(&r->lits);
	if (r->cond && node_lits(rs, r->cond, &r->lits, &from) < 0)
		litset_release(&r->lits);
	r->sure = r->lits.n && sure_test(from) ? from : NULL;
	if (!r->sure)
		for (size_t k = 0; k < r->lits.n; k++)
			r->lits.v[k].flags &= ~(unsigned)LIT_SURE;
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

uint32_t
rules_tri_key(unsigned hay, const char *tri)
{
	return tri_key(hay, load4((const unsigned char *)tri));
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
	return rules_ascii_word(b) ? b : 0;
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

/* Whether t is a `language is` test the gate can decide: its values ASCII,
 * as the detected language is, so that comparing them ignoring ASCII case
 * is what its pattern does. */
static bool
gate_test(const struct test *t)
{
	if (t->field != F_LANGUAGE || t->op != OP_IS || !t->is_values.n)
		return false;
	for (size_t i = 0; i < t->is_values.n; i++)
		for (const char *v = t->is_values.items[i]; *v; v++)
			if ((unsigned char)*v >= 0x80)
				return false;
	return true;
}

/* The `language is` test that condition n cannot hold without, or NULL. */
static const struct test *
lang_gate_of(const struct node *n)
{
	if (!n)
		return NULL;
	if (n->kind == N_TEST)
		return gate_test(n->test) ? n->test : NULL;
	if (n->kind == N_ALL)
		for (size_t i = 0; i < n->nkids; i++)
			if (n->kids[i]->kind == N_TEST && gate_test(n->kids[i]->test))
				return n->kids[i]->test;
	return NULL;
}

/* The bit of language value v (ASCII) in rs->gate_langs, added when new;
 * 0 once there are 64. */
static uint64_t
gate_bit(struct ruleset *rs, const char *v)
{
	char low[64];
	size_t n = strlen(v);

	if (n >= sizeof(low))
		return 0;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] | 0x20 : v[i]);
	for (size_t i = 0; i < rs->gate_langs.n; i++)
		if (strcmp(rs->gate_langs.items[i], low) == 0)
			return (uint64_t)1 << i;
	if (rs->gate_langs.n == 64)
		return 0;
	strlist_add(&rs->gate_langs, low);
	return (uint64_t)1 << (rs->gate_langs.n - 1);
}

static void
gates_build(struct ruleset *rs)
{
	rs->ngated = 0;
	rs->gated = xcalloc(rs->nrules + 1, sizeof(*rs->gated));
	strlist_release(&rs->gate_langs);
	for (size_t r = 0; r < rs->nrules; r++) {
		const struct test *t = lang_gate_of(rs->rules[r].cond);
		uint64_t mask = 0;

		rs->rules[r].lang_gate = 0;
		if (!t)
			continue;
		for (size_t i = 0; i < t->is_values.n; i++) {
			uint64_t bit = gate_bit(rs, t->is_values.items[i]);

			if (!bit) {
				mask = 0;
				break;
			}
			mask |= bit;
		}
		if (!mask)
			continue;
		rs->rules[r].lang_gate = mask;
		rs->gated[rs->ngated++] = (uint32_t)r;
	}
}

void
rules_prefilter_build(struct ruleset *rs)
{
	size_t total = 0;
	uint32_t *fill;

	gates_build(rs);

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
	rs->bucket_used = xcalloc(PREFILTER_SIZE / 64, sizeof(*rs->bucket_used));
	for (size_t h = 0; h < PREFILTER_SIZE; h++) {
		if (rs->bucket_start[h + 1])
			rs->bucket_used[h / 64] |= (uint64_t)1 << (h % 64);
		rs->bucket_start[h + 1] += rs->bucket_start[h];
	}
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
			ent->hay = l->hay;
			ent->last_quad = l->len >= 4 ? quad_key(l->hay, load4(w + l->len - 4)) : UINT32_MAX;
		}
	free(fill);
	rs->hay_keys = xcalloc(rs->nhay, sizeof(*rs->hay_keys));
	rs->hay_nkeys = xcalloc(rs->nhay, sizeof(*rs->hay_nkeys));
	for (uint32_t k = 0; k < PREFILTER_SIZE; k++)
		for (uint32_t e = rs->bucket_start[k]; e < rs->bucket_start[k + 1]; e++) {
			const struct prefilter_ent *ent = &rs->bucket_ent[e];
			unsigned h = ent->hay;
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
	free(rs->bucket_used);
	rs->bucket_used = NULL;
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
	for (size_t r = 0; r < rs->nrules; r++) {
		litset_release(&rs->rules[r].lits);
		rs->rules[r].sure = NULL;
	}
	free(rs->bucket_start);
	free(rs->bucket_ent);
	rules_prefilter_keys_free(rs);
	free(rs->hay_used);
	free(rs->always);
	free(rs->gated);
	rules_prefilter_build(rs);
	/* the reference tries every rule: no gate either */
	for (size_t i = 0; i < rs->ngated; i++)
		rs->rules[rs->gated[i]].lang_gate = 0;
	rs->ngated = 0;
	rules_gazetteer_sketch_disable(rs->gaz);
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

/* Whether the byte at p (within base .. end, end excluded) is the text's
 * edge or an ASCII byte that is no word character: a word boundary there
 * in every reading (PCRE2's \b under UCP too). */
static bool
plain_edge(const char *base, const char *end, const char *p)
{
	return p < base || p == end || ((unsigned char)*p < 0x80 && !rules_ascii_word((unsigned char)*p));
}

/* Does word l occur in h, with the word boundaries it needs? A boundary
 * fails for certain only beside an ASCII word character; beside any other
 * byte (a UTF-8 letter perhaps) the occurrence counts. 0: no; 1: yes; 2:
 * yes, and l is a sure word (LIT_SURE) with a plain_edge() on each side
 * of the occurrence. */
static int
lit_found(const struct haystack *h, const struct lit *l)
{
	const char *base = h->exact && l->exact ? h->exact : h->lower;
	const char *w = h->exact && l->exact ? l->exact : l->lower;
	const char *p = base, *end = base + h->len;

	p = memmem(p, (size_t)(end - p), w, l->len);
	while (p) {
		if ((!(l->flags & LIT_WB_LEFT) || p == base || !rules_ascii_word((unsigned char)p[-1])) &&
		    (!(l->flags & LIT_WB_RIGHT) || p + l->len == end ||
		     !rules_ascii_word((unsigned char)p[l->len])))
			return (l->flags & LIT_SURE) && plain_edge(base, end, p - 1) &&
					       plain_edge(base, end, p + l->len)
				       ? 2
				       : 1;
		/* The word is there, but inside another ("pers" of
		 * "personalised", often many times): the next occurrences
		 * by the first byte, without memmem's setup each time. */
		p++;
		while ((p = memchr(p, w[0], (size_t)(end - p))) &&
		       ((size_t)(end - p) < l->len || memcmp(p, w, l->len) != 0))
			p++;
	}
	return 0;
}

/* The trigrams seen in a haystack and the 4-grams seen in a message: a
 * byte a key (tri_map: two), holding the number of the haystack (mod
 * 65536) or of the message (mod 256) that last saw it, so that nothing is
 * cleared but at the wrap. The 4-grams of another haystack only let a
 * word through to lit_found(); but a trigram marked is one whose words
 * were looked up, and a key of one haystack's trigram may be that of
 * another's (the keys hash the haystack in, but collide): tri_map counts
 * haystacks, and a message has several, hence its wider count. A byte map
 * costs fewer instructions a text byte than a bitmap; per thread, as a run
 * may classify on several. Only scan_maps() uses them. */
static _Thread_local uint8_t quad_map[PREFILTER_SIZE], map_gen;
static _Thread_local uint16_t tri_map[PREFILTER_SIZE], tri_gen;

/* found: lit_found()'s answer, not 0 */
static void
cand_mark(struct pf_ctx *c, uint32_t rule, int found)
{
	c->cand[rule] = found == 2 ? PREFILTER_SURE : 1;
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
scan_maps(struct pf_ctx *c, unsigned h, const struct haystack *hay, uint32_t *seen)
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

			tri_map[tri_key(h, x)] = c->tri_gen;
			quad_map[quad_key(h, x)] = c->gen;
		}
		for (size_t j = 0; j < rs->hay_nkeys[h]; j++)
			if (tri_map[rs->hay_keys[h][j]] == c->tri_gen)
				seen[nseen++] = rs->hay_keys[h][j];
	} else {
		for (size_t i = 0; i + 2 < len; i++) {
			uint32_t x = load4((const unsigned char *)lo + i);
			uint32_t k = tri_key(h, x);
			uint32_t k4 = quad_key(h, x);

			quad_map[k4] = c->gen;
			if (!(rs->bucket_used[k / 64] & (uint64_t)1 << (k % 64)))
				continue;
			if (tri_map[k] != c->tri_gen) {
				tri_map[k] = c->tri_gen;
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
			int found;

			/* the word's last 4-gram (one of those checked below)
			 * first: most words are ruled out by it alone */
			if (ent->hay != h ||
			    (ent->last_quad != UINT32_MAX && quad_map[ent->last_quad] != c->gen))
				continue;
			if (c->cand[ent->rule])
				continue;
			if (rules_gated(&rs->rules[ent->rule], c->langs)) {
				c->cand[ent->rule] = PREFILTER_GATED;
				continue;
			}
			l = &rs->rules[ent->rule].lits.v[ent->lit];
			w = (const unsigned char *)l->lower;
			for (size_t j = 0; j + 3 < l->len && all; j++) {
				uint32_t k2 = quad_key(h, load4(w + j));

				all = quad_map[k2] == c->gen;
			}
			/* The trigrams can all be there apart ("gen" and "ent" of
			 * "genomics" and "patients" for "gent"): confirm the word
			 * itself, which costs far less than a PCRE2 scan. */
			if (all && (found = lit_found(hay, l)) > 0)
				cand_mark(c, ent->rule, found);
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
scan_words(struct pf_ctx *c, unsigned h, const struct haystack *hay)
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
		int found;

		if (word_map[rs->word_first[2 * w]] != gen &&
		    word_map[rs->word_first[2 * w + 1]] != gen)
			continue;
		pw = &rs->words[w];
		k = rs->word_keys + pw->keys;
		if (c->cand[pw->rule])
			continue;
		if (rules_gated(&rs->rules[pw->rule], c->langs)) {
			c->cand[pw->rule] = PREFILTER_GATED;
			continue;
		}
		for (uint32_t j = pw->nkeys; j-- > 0 && pass;)
			pass = word_map[k[j]] == gen;
		pass = pass && (word_map[k[pw->nkeys]] == gen || word_map[k[pw->nkeys + 1]] == gen);
		if (pass && (found = lit_found(hay, &rs->rules[pw->rule].lits.v[pw->lit])) > 0)
			cand_mark(c, pw->rule, found);
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
lower_hay(struct pf_ctx *c, struct haystack *hay, const char *src, size_t len, bool canon,
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

/* The text of haystack h: the subject or the body as they are (their exact
 * form set), or the field's values, a line each, gathered in b. */
static const char *
hay_text(struct pf_ctx *c, unsigned h, struct buf *b, size_t *len)
{
	const struct message *m = c->m;

	*len = 0;
	switch (h) {
	case HAY_SUBJECT:
		*len = c->subject_len;
		return c->hays[h].exact = m->subject;
	case HAY_BODY:
		*len = c->body_len;
		return c->hays[h].exact = m->body ? m->body : "";
	case HAY_FROM:
		hay_addr(b, &m->from);
		break;
	case HAY_SENDER:
		hay_addr(b, &m->sender);
		break;
	case HAY_REPLY_TO:
		hay_addr(b, &m->reply_to);
		break;
	case HAY_TO:
		for (size_t i = 0; i < m->nto; i++)
			hay_addr(b, &m->to[i]);
		break;
	case HAY_CC:
		for (size_t i = 0; i < m->ncc; i++)
			hay_addr(b, &m->cc[i]);
		break;
	case HAY_ATT_NAME:
		for (size_t i = 0; i < m->natts; i++)
			hay_add(b, m->atts[i].filename, strlen(m->atts[i].filename));
		break;
	case HAY_ATT_TYPE:
		for (size_t i = 0; i < m->natts; i++)
			hay_add(b, m->atts[i].content_type, strlen(m->atts[i].content_type));
		break;
	default:
		for (size_t i = 0; i < m->nheaders; i++)
			if (rules_same_name(m->headers[i].name, c->rs->hdr_names.items[h - HAY_HEADER]))
				hay_add(b, m->headers[i].value, strlen(m->headers[i].value));
		break;
	}
	*len = b->len;
	return b->data ? b->data : "";
}

/* A number of its own for the next message's marks in quad_map and
 * word_map. */
static void
maps_next_message(struct pf_ctx *c)
{
	if (++map_gen == 0) {
		memset(quad_map, 0, sizeof(quad_map));
		memset(word_map, 0, sizeof(word_map));
		map_gen = 1;
	}
	c->gen = map_gen;
}

/* ... for the next haystack's in tri_map. */
static void
maps_next_haystack(struct pf_ctx *c)
{
	if (++tri_gen == 0) {
		memset(tri_map, 0, sizeof(tri_map));
		tri_gen = 1;
	}
	c->tri_gen = tri_gen;
}

/* Marks in c->cand the rules that may match: one of the words of each must
 * occur in the haystack of its test's field. Each haystack is lowercased,
 * then its words found by scan_words() (or scan_maps()). The cost is the
 * text's length plus the positions that open a word, whatever the number
 * of rules. A literal in a Received: header wakes no rule that tests the
 * body. */
static void
prefilter(struct pf_ctx *c)
{
	const struct ruleset *rs = c->rs;
	struct haystack *hays = c->hays;
	uint32_t *seen = NULL;

	for (unsigned h = 0; h < rs->nhay; h++) {
		struct buf b;
		const char *src;
		size_t len;
		bool by_words;

		if (!rs->hay_used[h])
			continue;
		/* no cap of its own: the message's parts are bounded already,
		 * and a haystack cut short would skip rules that match */
		buf_init(&b, SIZE_MAX / 4);
		src = hay_text(c, h, &b, &len);
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
		maps_next_haystack(c);
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


static size_t
align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

size_t
prefilter_room(const struct ruleset *rs, size_t subject_len, size_t body_len)
{
	return align16(rs->nhay * sizeof(struct haystack)) + hay_room(subject_len) +
	       hay_room(body_len);
}

/* The bits of rs->gate_langs that language lang (as lang_detect() gives
 * it) is, ignoring ASCII case as the gates' patterns ^(?:v|...)$ do; all
 * of them for a value that is not ASCII, which no gate decides. */
static uint64_t
gate_langs_of(const struct ruleset *rs, const char *lang)
{
	for (const char *p = lang; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return ~(uint64_t)0;
	for (size_t i = 0; i < rs->gate_langs.n; i++)
		if (rules_same_name(rs->gate_langs.items[i], lang))
			return (uint64_t)1 << i;
	return 0;
}

void
prefilter_gate_language(struct prefilter_run *run, const char *lang)
{
	run->langs = gate_langs_of(run->rs, lang);
}

void
prefilter_candidates(struct prefilter_run *run)
{
	const struct ruleset *rs = run->rs;
	struct pf_ctx c;

	memset(&c, 0, sizeof(c));
	c.rs = rs;
	c.m = run->m;
	c.subject_len = run->subject_len;
	c.body_len = run->body_len;
	c.hays = run->room;
	memset(c.hays, 0, rs->nhay * sizeof(*c.hays));
	c.subject_mem = (char *)run->room + align16(rs->nhay * sizeof(struct haystack));
	c.body_mem = c.subject_mem + hay_room(run->subject_len);
	c.cand = run->cand;
	c.cands = run->cands;
	c.langs = run->langs;
	maps_next_message(&c);
	prefilter(&c);
	run->ncands = c.ncands;
	run->hazard = c.hazard;
}
