/* rules_lits.c - the words a pattern's every match must contain (its
 * literals, for the prefilter), read from the pattern's text, and the sets
 * they are kept in. Knows nothing of rules or messages. */
#include "compat.h"

#include "buf.h"
#include "rules_int.h"
#include "xalloc.h"

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

/* Adds a word unless the same one is there. A word-boundary flag is only
 * kept where the word's own end is an ASCII word character: then "a
 * boundary there" means "no ASCII word character beside it", which the
 * prefilter can check byte-wise. */
void
litset_add(struct litset *l, const char *lower, const char *exact, size_t len, unsigned flags,
	   unsigned hay)
{
	if (!rules_ascii_word((unsigned char)lower[0]))
		flags &= ~(unsigned)LIT_WB_LEFT;
	if (!rules_ascii_word((unsigned char)lower[len - 1]))
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
	if (!rules_ascii_word((unsigned char)lower[0]))
		flags &= ~(unsigned)LIT_WB_LEFT;
	if (!rules_ascii_word((unsigned char)lower[len - 1]))
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

void
litset_move(struct litset *to, struct litset *from)
{
	litset_release(to);
	*to = *from;
	from->v = NULL;
	from->n = from->cap = 0;
}

/* The shortest word of the set: how selective it is (0 when empty). */
size_t
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

/* Reading one branch: where it stands in the pattern, the best set of
 * words found so far and the word being read. at_start / after_wb tell
 * whether the next atom opens the branch or follows a \b; was_start /
 * was_wb are the same for the atom being read. */
struct seq {
	const char *p;
	size_t *i;
	bool ci;
	int depth;
	struct litset *out;
	size_t bestscore;
	struct run run;
	bool at_start, after_wb;
	bool was_start, was_wb;
};

static void
seq_flush(struct seq *st, unsigned endflags)
{
	flush_run(&st->run, st->ci, st->out, &st->bestscore, endflags);
}

/* A backslash escape: a letter or digit one (\d, \w, \b...) ends the word,
 * \b marking its edges; any other escaped byte stands for itself and is
 * handed back in *lit. 1 when dealt with, 0 when *lit is to be read as a
 * literal, -2 beyond reading. */
static int
atom_escape(struct seq *st, unsigned char *lit)
{
	const char *p = st->p;
	size_t *i = st->i;
	unsigned char n = (unsigned char)p[*i + 1];

	if (!n || n >= 0x80 || strchr("pPxkgNocQEuUlLC", n))
		return -2;
	if ((n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9')) {
		*i += 2;
		seq_flush(st, n == 'b' ? LIT_WB_RIGHT : 0);
		if (skip_quant(p, i) < 0 && n == 'b') {
			st->after_wb = true;
			st->at_start = st->was_start;
		}
		return 1;
	}
	*lit = n;
	(*i)++;
	return 0;
}

/* A character class [...] (with its quantifier): it ends the word. */
static int
atom_class(struct seq *st)
{
	const char *p = st->p;
	size_t *i = st->i;

	seq_flush(st, 0);
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
	if (!p[*i])
		return -2;
	(*i)++;
	(void)skip_quant(p, i);
	return 0;
}

/* Past a group's "(?:", "(?<name>" or "(?P<name>"; -2 for any other "(?". */
static int
skip_group_opening(const char *p, size_t *i)
{
	if (p[*i] != '?')
		return 0;
	if (p[*i + 1] == ':') {
		*i += 2;
		return 0;
	}
	if ((p[*i + 1] == '<' && p[*i + 2] != '=' && p[*i + 2] != '!') ||
	    (p[*i + 1] == 'P' && p[*i + 2] == '<')) {
		while (p[*i] && p[*i] != '>')
			(*i)++;
		if (p[*i])
			(*i)++;
		return 0;
	}
	return -2;
}

/* The group's first and last words inherit what stands around the group
 * (quant: what skip_quant() said of the group's quantifier); a repeated
 * group's words have no single occurrence bounded on both sides. */
static void
group_edge_flags(const struct seq *st, struct litset *sub, int quant)
{
	const char *p = st->p;
	size_t i = *st->i;

	for (size_t k = 0; k < sub->n; k++) {
		unsigned f = sub->v[k].flags & (LIT_WB_LEFT | LIT_WB_RIGHT);

		if (quant < 0 && (sub->v[k].flags & LIT_AT_START))
			f |= st->was_wb ? LIT_WB_LEFT : st->was_start ? LIT_AT_START : 0u;
		if (quant < 0 && (sub->v[k].flags & LIT_AT_END)) {
			if (p[i] == '\\' && p[i + 1] == 'b')
				f |= LIT_WB_RIGHT;
			else if (!p[i] || p[i] == '|' || p[i] == ')')
				f |= LIT_AT_END;
		}
		sub->v[k].flags = f;
	}
}

/* A group (...) with its quantifier: its alternatives' words replace the
 * best set when they are more selective and the group must occur. */
static int
atom_group(struct seq *st)
{
	const char *p = st->p;
	size_t *i = st->i;
	struct litset sub = LITSET_INIT;
	int quant, alt_rc;

	seq_flush(st, 0);
	(*i)++;
	if (skip_group_opening(p, i) < 0 || st->depth > 20)
		return -2;
	alt_rc = lits_alt(p, i, st->ci, &sub, st->depth + 1);
	if (alt_rc == -2 || p[*i] != ')') {
		litset_release(&sub);
		return -2;
	}
	(*i)++;
	quant = skip_quant(p, i);
	group_edge_flags(st, &sub, quant);
	if (quant != 1 && alt_rc == 0 && lits_score(&sub) >= 3 &&
	    lits_score(&sub) > st->bestscore) {
		st->bestscore = lits_score(&sub);
		litset_move(st->out, &sub);
	}
	litset_release(&sub);
	return 0;
}

/* A literal of n bytes at s followed by a quantifier quant: an optional one
 * ends the word, a repeated one is its last byte. */
static void
atom_literal(struct seq *st, const char *s, size_t n, int quant)
{
	if (quant == 1) {
		seq_flush(st, 0);
		return;
	}
	run_add(&st->run, s, n, st->was_start, st->was_wb);
	if (quant == 0)
		seq_flush(st, 0);
}

/* A letter beyond ASCII (its UTF-8 bytes). Caseless, it may have other
 * forms (and other lengths): the word stops there, but at the Latin
 * letters latin_fold() folds. Case-sensitive, its bytes are the word's. */
static void
atom_non_ascii(struct seq *st)
{
	const char *p = st->p;
	size_t *i = st->i;
	size_t start = *i, n;
	int quant;

	(*i)++;
	while (((unsigned char)p[*i] & 0xc0) == 0x80)
		(*i)++;
	n = *i - start;
	quant = skip_quant(p, i);
	if (st->ci && !(n == 2 && latin_caseless_safe((unsigned char)p[start],
						      (unsigned char)p[start + 1]))) {
		seq_flush(st, 0);
		return;
	}
	atom_literal(st, p + start, n, quant);
}

/* The atom at p[*i] and its quantifier; 0, or -2 beyond reading. */
static int
seq_atom(struct seq *st)
{
	unsigned char c = (unsigned char)st->p[*st->i];
	char ch;
	int rc;

	switch (c) {
	case '\\':
		rc = atom_escape(st, &c);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		break;
	case '[':
		return atom_class(st);
	case '(':
		return atom_group(st);
	case '.':
	case '^':
	case '$':
		seq_flush(st, 0);
		(*st->i)++;
		(void)skip_quant(st->p, st->i);
		return 0;
	case '*':
	case '+':
	case '?':
		return -2;
	default:
		if (c >= 0x80) {
			atom_non_ascii(st);
			return 0;
		}
		break;
	}
	(*st->i)++;
	ch = (char)c;
	atom_literal(st, &ch, 1, skip_quant(st->p, st->i));
	return 0;
}

/* One branch of an alternation: the best set of required words of its
 * items. 0 with out filled (maybe empty), -2 when the pattern is beyond this
 * reading (then no prefilter at all). Words that open or close the branch
 * are flagged LIT_AT_START / LIT_AT_END, words right after or before a \b
 * LIT_WB_LEFT / LIT_WB_RIGHT. */
static int
lits_seq(const char *p, size_t *i, bool ci, struct litset *out, int depth)
{
	struct seq st = {
		.p = p, .i = i, .ci = ci, .depth = depth, .out = out,
		.run = { BUF_INIT, BUF_INIT, 0 }, .at_start = true,
	};
	int rc = 0;

	while (p[*i] && p[*i] != '|' && p[*i] != ')') {
		st.was_start = st.at_start;
		st.was_wb = st.after_wb;
		st.at_start = false;
		st.after_wb = false;
		rc = seq_atom(&st);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		seq_flush(&st, LIT_AT_END);
	buf_release(&st.run.lower);
	buf_release(&st.run.exact);
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

