/* The folding of words for search (fold.h). */
#include "compat.h"

#include "fold.h"

/* The letters without a decomposition, as UTF-8, and what they become. */
static const struct {
	const char *letter;
	const char *as;
} letters[] = {
	{ "\xc5\x82", "l" },  /* ł */
	{ "\xc4\x91", "d" },  /* đ */
	{ "\xc3\xb8", "o" },  /* ø */
	{ "\xc3\xa6", "ae" }, /* æ */
	{ "\xc3\xbe", "th" }, /* þ */
	{ "\xc3\x9f", "ss" }, /* ß */
	{ "\xc5\x93", "oe" }, /* œ */
};

/* The letters of w as one of letters[] spells them; the bytes of w taken
 * go to *used. NULL when w does not start with one. */
static const char *
special_letter(const char *w, size_t n, size_t *used)
{
	if (n < 2 || (unsigned char)w[0] < 0xc3 || (unsigned char)w[0] > 0xc5)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(letters); i++) {
		if (w[0] == letters[i].letter[0] && w[1] == letters[i].letter[1]) {
			*used = 2;
			return letters[i].as;
		}
	}
	return NULL;
}

/* Appends c to out (o bytes long): German's ae, oe, ue for ä, ö, ü lose
 * their e, also where a letter above made them. */
static size_t
put_folded(char *out, size_t o, char c)
{
	if (c == 'e' && o > 0 && (out[o - 1] == 'a' || out[o - 1] == 'o' || out[o - 1] == 'u'))
		return o;
	out[o] = c;
	return o + 1;
}

/* One pass, out may be w: it never gets ahead of what is read. */
size_t
fold_word(const char *w, size_t n, char *out)
{
	size_t o = 0, used;

	for (size_t i = 0; i < n;) {
		const char *as = special_letter(w + i, n - i, &used);

		if (!as) {
			o = put_folded(out, o, w[i++]);
			continue;
		}
		/* Never longer than the two bytes it replaces. */
		for (; *as; as++)
			o = put_folded(out, o, *as);
		i += used;
	}
	return o;
}
