/* lang_detect() scans its sample word to word with a bitmap of word bytes
 * and a quick no by the word's shape: checked against a byte-at-a-time
 * scan that looks every word up (lang_word_langs()), over texts made of
 * stop words in every case, Latin-1 capitals, broken UTF-8, long words,
 * digits and punctuation, words across the bitmap's 64-byte words and
 * across the LANG_MAX_SCAN limit; lang_detect_joined() against
 * lang_detect() of the joined text. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "lang.h"
#include "xalloc.h"

static bool
ref_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* lang_detect() as it was written first: byte by byte, every word looked up. */
static const char *
ref_detect(const char *text, size_t len, int *score_r)
{
	int score[16] = { 0 };
	size_t nlang = 0, i = 0, best = 0, second;

	while (lang_codes[nlang])
		nlang++;
	if (len > LANG_MAX_SCAN)
		len = LANG_MAX_SCAN;
	while (i < len) {
		size_t start;
		unsigned mask;

		while (i < len && !ref_word_byte((unsigned char)text[i]))
			i++;
		start = i;
		while (i < len && ref_word_byte((unsigned char)text[i]))
			i++;
		if (i == start || i - start >= LANG_WORD_MAX)
			continue;
		mask = lang_word_langs(text + start, i - start);
		for (size_t l = 0; l < nlang; l++)
			if (mask & (1u << l))
				score[l]++;
	}
	for (size_t l = 1; l < nlang; l++)
		if (score[l] > score[best])
			best = l;
	second = best == 0 ? 1 : 0;
	for (size_t l = 0; l < nlang; l++)
		if (l != best && score[l] > score[second])
			second = l;
	*score_r = score[best];
	if (score[best] < 2 || score[best] <= score[second])
		return NULL;
	return lang_codes[best];
}

static const char *const pieces[] = {
	/* stop words, some in capitals (Latin-1 ones fold, Ę and Ł do not) */
	"the", "The", "THE", "and", "please", "Regards", "der", "DIE", "für", "FÜR", "Für",
	"grüßen", "GRÜßEN", "möchten", "MÖCHTEN", "über", "ÜBER", "können", "le", "les", "où",
	"OÙ", "très", "TRÈS", "été", "ÉTÉ", "è", "È", "più", "PIÙ", "de", "el", "más", "MÁS",
	"días", "DÍAS", "het", "een", "não", "NÃO", "são", "à", "À", "é", "É", "się", "SIĘ",
	"że", "ŻE", "dziękuję", "DZIĘKUJĘ", "dzień", "był", "BYŁ", "ja", "on", "või", "VÕI",
	"aitäh", "AITÄH", "tänan", "informações", "INFORMAÇÕES", "información", "i", "w", "z",
	"o", "a",
	/* other words, near misses */
	"thee", "them", "andy", "pleased", "dies", "projekti", "taotlus", "x", "Q",
	"abcdefghijklmnopqrstuvw", "abcdefghijklmnopqrstuvwx", "thethethethethethethethe",
	"thethethethethethethethethe", "informazioni", "INFORMAZIONI",
	/* separators */
	" ", "  ", "\n", "\t", ",", ". ", "-", "'", "1", "2024", "_", "@", "[", "`", "{", "\x7f",
	/* bytes beyond ASCII: broken sequences, C3 before a byte it does not
	 * pair with, other scripts */
	"\xc3", "\xc3\xc3\x80", "\xc3\x97", "\xc3\x9f", "\xc3\xa0", "\x80", "\xff", "\xe2\x82\xac",
	"\xd0\x9f\xd1\x80\xd0\xb8", "\xc3" "the", "the\xc3", "\xc3\x9e", "\xc3\x9f" "the",
};

/* A text of about len bytes of random pieces, glued or spaced. */
static char *
random_text(unsigned *seed, size_t len, size_t *len_r)
{
	struct buf b = BUF_INIT;

	while (b.len < len) {
		const char *p = pieces[(size_t)rand_r(seed) % ARRAY_SIZE(pieces)];

		buf_addstr(&b, p);
		if (rand_r(seed) % 3)
			buf_addch(&b, ' ');
	}
	return buf_detach(&b, len_r);
}

static void
check_same(const char *text, size_t len)
{
	int s1, s2;
	const char *a = lang_detect(text, len, &s1), *b = ref_detect(text, len, &s2);

	if (a != b || s1 != s2)
		fail_msg("len %zu: got %s (%d), the reference %s (%d)", len, a ? a : "-", s1,
			 b ? b : "-", s2);
}

static void
test_against_reference(void **state)
{
	unsigned seed = 17;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t len, want = (size_t)rand_r(&seed) % (round % 10 == 0 ? 6000 : 300);
		char *text = random_text(&seed, want, &len);

		check_same(text, len);
		/* every cut of a short text: words end at the text's end and
		 * at every place of the bitmap's words */
		if (round < 200)
			for (size_t k = 0; k < len; k++)
				check_same(text, k);
		free(text);
	}
}

/* A word at every place around the LANG_MAX_SCAN limit and around the
 * bitmap's 64-bit words. */
static void
test_limits(void **state)
{
	static const char *const words[] = { "the", "THE", "für", "GRÜßEN", "się", "abc" };
	size_t n = LANG_MAX_SCAN + 64;
	char *text = xmalloc(n);

	(void)state;
	for (size_t w = 0; w < ARRAY_SIZE(words); w++) {
		size_t wl = strlen(words[w]);

		for (size_t at = 0; at + wl <= n; at++) {
			if (at > 200 && (at < LANG_MAX_SCAN - 40 || at > LANG_MAX_SCAN + 10) &&
			    at % 64 > 2 && at % 64 < 60)
				continue;
			memset(text, ' ', n);
			memcpy(text, "the and the ", 12);
			memcpy(text + at, words[w], wl);
			check_same(text, n);
			check_same(text, at + wl);
		}
	}
	free(text);
}

static void
test_joined(void **state)
{
	unsigned seed = 4;

	(void)state;
	for (int round = 0; round < 1000; round++) {
		size_t hl, tl;
		char *h = random_text(&seed, (size_t)rand_r(&seed) % (round % 50 == 0 ? 5000 : 80), &hl);
		char *t = random_text(&seed, (size_t)rand_r(&seed) % 5000, &tl);
		char *j = xasprintf("%s\n%s", h, t);
		int s1, s2;
		const char *a = lang_detect_joined(h, hl, t, tl, &s1);
		const char *b = lang_detect(j, hl + 1 + tl, &s2);

		if (a != b || s1 != s2)
			fail_msg("round %d: joined %s (%d), the joined text %s (%d)", round,
				 a ? a : "-", s1, b ? b : "-", s2);
		free(h);
		free(t);
		free(j);
	}
	assert_string_equal(lang_detect_joined("Anfrage", 7, "Sehr geehrte Damen und Herren", 29,
					       NULL),
			    "de");
	assert_null(lang_detect_joined(NULL, 0, NULL, 0, NULL));
	assert_null(lang_detect(NULL, 0, NULL));
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_against_reference),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_joined),
	};

	return cmocka_run_group_tests(t, NULL, NULL);
}
