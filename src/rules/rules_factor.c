/* rules_factor.c - a word list's alternation factored by its first letter.
 *
 * A pattern /\b(w1|w2|...)\b/ of a hundred words makes PCRE2 try every
 * word at every place of the text that the start bitmap lets through.
 * Written as /\b(a(?:w1'|w5')|b(?:w2')|...)\b/, it tries each first letter
 * once, then only the words that begin with it: the same texts match, at
 * the same places (only which word of several is reported may change). */
#include "compat.h"

#include "buf.h"
#include "rules_int.h"
#include "xalloc.h"

/* One word of the alternation: body[start .. start+len), its first letter
 * the first klen bytes (0: it begins with something else). */
struct alt {
	size_t start, len, klen;
	bool done;
};

/* The length of the UTF-8 sequence that lead byte c opens, 0 when c opens
 * none. */
static size_t
utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* The bytes of a plain letter that opens s (one that stands for itself and
 * has no quantifier after it), 0 for anything else. */
static size_t
first_letter(const char *s, size_t len)
{
	size_t n;

	if (!len || strchr("\\()[].^$|*+?{} #", s[0]))
		return 0;
	n = utf8_len((unsigned char)s[0]);
	if (!n || n > len)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 0;
	if (n < len && strchr("*+?{", s[n]))
		return 0;
	return n;
}

/* Splits body (len bytes, no group of its own around it) at its top-level
 * '|' into alts (*n of them, at most max). False when the body has what
 * reordering its words could change: a group other than (...) and (?:...)
 * (inline options, branch resets, verbs, lookarounds, recursion), a back
 * reference, \Q, an unbalanced parenthesis or bracket; or too many words. */
static bool
split_alts(const char *body, size_t len, struct alt *alts, size_t max, size_t *n)
{
	size_t depth = 0, start = 0;
	bool in_class = false;

	*n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = body[i];

		if (c == '\\') {
			if (i + 1 >= len)
				return false;
			c = body[++i];
			if ((c >= '0' && c <= '9') || c == 'g' || c == 'k' || c == 'Q' || c == 'E')
				return false;
			continue;
		}
		if (in_class) {
			if (c == ']')
				in_class = false;
			continue;
		}
		if (c == '[') {
			in_class = true;
			/* a ']' or '^]' first is a member */
			if (i + 1 < len && body[i + 1] == '^')
				i++;
			if (i + 1 < len && body[i + 1] == ']')
				i++;
		} else if (c == '(') {
			if (i + 1 < len && (body[i + 1] == '?' || body[i + 1] == '*') &&
			    !(body[i + 1] == '?' && i + 2 < len && body[i + 2] == ':'))
				return false;
			depth++;
		} else if (c == ')') {
			if (!depth)
				return false;
			depth--;
		} else if (c == '|' && !depth) {
			if (*n == max)
				return false;
			alts[(*n)++] = (struct alt){ start, i - start, 0, false };
			start = i + 1;
		}
	}
	if (depth || in_class || *n == max)
		return false;
	alts[(*n)++] = (struct alt){ start, len - start, 0, false };
	return true;
}

/* Writes alts (n of them, each starting at its own place of body) grouped
 * by first letter to out, in the order each letter (or a word without one)
 * first comes, and the words of each letter likewise after it, a letter at
 * a time: a trie. True when some letter had two words or more. */
static bool
write_groups(struct buf *out, const char *body, struct alt *alts, size_t n)
{
	bool grouped = false;

	for (size_t i = 0; i < n; i++)
		alts[i].klen = first_letter(body + alts[i].start, alts[i].len);
	for (size_t i = 0, written = 0; i < n; i++) {
		struct alt *a = &alts[i], *sub;
		size_t same = 0, k = 0;

		if (a->done)
			continue;
		if (written++)
			buf_addch(out, '|');
		if (a->klen)
			for (size_t j = i + 1; j < n; j++)
				if (!alts[j].done && alts[j].klen == a->klen &&
				    memcmp(body + alts[j].start, body + a->start, a->klen) == 0)
					same++;
		if (!same) {
			buf_add(out, body + a->start, a->len);
			a->done = true;
			continue;
		}
		grouped = true;
		sub = xcalloc(same + 1, sizeof(*sub));
		for (size_t j = i; j < n; j++) {
			struct alt *b = &alts[j];

			if (b->done || b->klen != a->klen ||
			    memcmp(body + b->start, body + a->start, a->klen) != 0)
				continue;
			sub[k++] = (struct alt){ b->start + b->klen, b->len - b->klen, 0, false };
			b->done = true;
		}
		buf_add(out, body + a->start, a->klen);
		buf_addstr(out, "(?:");
		write_groups(out, body, sub, k);
		buf_addch(out, ')');
		free(sub);
	}
	return grouped;
}

char *
rules_factor_alternation(const char *pattern)
{
	static const char *const opens[] = { "\\b(?:", "\\b(" };
	const char *body = NULL;
	size_t len = strlen(pattern), blen, n;
	const char *open = NULL;
	struct alt *alts;
	struct buf out = BUF_INIT;
	char *res = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(opens) && !body; i++)
		if (strncmp(pattern, opens[i], strlen(opens[i])) == 0) {
			open = opens[i];
			body = pattern + strlen(open);
		}
	if (!body || len < strlen(open) + 3 || strcmp(pattern + len - 3, ")\\b") != 0 ||
	    *body == '?' || *body == '*')
		return NULL;
	blen = (size_t)(pattern + len - 3 - body);
	alts = xcalloc(blen + 1, sizeof(*alts));
	/* the closing parenthesis must be the opening one's: the body splits
	 * with its own parentheses balanced */
	if (split_alts(body, blen, alts, blen + 1, &n) && n > 1) {
		buf_addstr(&out, open);
		if (write_groups(&out, body, alts, n)) {
			buf_addstr(&out, ")\\b");
			res = xstrdup(buf_cstr(&out));
		}
	}
	buf_release(&out);
	free(alts);
	return res;
}

/* Whether alternative a (len bytes) is plain ASCII text that matches
 * itself (caseless, its ASCII letters in either case), with *any_word set
 * when \w* ends it. */
static bool
plain_alt(const char *a, size_t len, bool *any_word)
{
	*any_word = len > 3 && memcmp(a + len - 3, "\\w*", 3) == 0;
	if (*any_word)
		len -= 3;
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!rules_ascii_word((unsigned char)a[i]) && !strchr(" -'", a[i]))
			return false;
	return true;
}

void
rules_sure_words(const char *pattern, struct litset *lits)
{
	static const char *const opens[] = { "\\b(?:", "\\b(" };
	size_t len = strlen(pattern), blen = 0, n = 0;
	const char *body = NULL;
	struct alt *alts;

	for (size_t i = 0; i < ARRAY_SIZE(opens) && !body; i++)
		if (strncmp(pattern, opens[i], strlen(opens[i])) == 0) {
			body = pattern + strlen(opens[i]);
			blen = len - strlen(opens[i]);
		}
	if (!body || blen < 3 || strcmp(pattern + len - 3, ")\\b") != 0 || *body == '?' ||
	    *body == '*')
		return;
	blen -= 3;
	alts = xcalloc(blen + 1, sizeof(*alts));
	if (split_alts(body, blen, alts, blen + 1, &n))
		for (size_t i = 0; i < n; i++) {
			const char *a = body + alts[i].start;
			size_t wlen = alts[i].len;
			bool any_word;

			if (!plain_alt(a, wlen, &any_word))
				continue;
			wlen -= any_word ? 3 : 0;
			/* the word as rules_literals() read it: whole, with a
			 * boundary before it, and after it unless \w* follows */
			for (size_t k = 0; k < lits->n; k++) {
				struct lit *l = &lits->v[k];
				unsigned wb = LIT_WB_LEFT | (any_word ? 0u : LIT_WB_RIGHT);

				if (l->len == wlen && (l->flags & (LIT_WB_LEFT | LIT_WB_RIGHT)) == wb &&
				    strncasecmp(l->lower, a, wlen) == 0)
					l->flags |= LIT_SURE;
			}
		}
	free(alts);
}
