/* lang.h - offline language detection of inquiry text by stop words.
 *
 * Small and predictable: each language has a list of its most frequent
 * function words; the text's words are counted against them. Knows en, de,
 * fr, it, es, nl, pt, pl, et (ISO 639-1). No allocation after the first call. */
#ifndef SECDESK_LANG_H
#define SECDESK_LANG_H

#include <stddef.h>

/* The codes lang_detect() can return, NULL-terminated. */
extern const char *const lang_codes[];

/* The ISO 639-1 code of the likeliest language of text (UTF-8, len bytes;
 * only the first LANG_MAX_SCAN bytes are read: some 600 words, a hundred
 * and more of them stop words, decide as well as a whole letter and cost
 * less on long mail), or NULL when the text has too few known words or two
 * languages score alike. When score_r is not NULL it gets the winner's
 * count of stop words. */
#define LANG_MAX_SCAN 4096
const char *lang_detect(const char *text, size_t len, int *score_r);
/* lang_detect() of head "\n" text, without joining them (a subject and a
 * body): the same answer for the same bytes. */
const char *lang_detect_joined(const char *head, size_t hlen, const char *text, size_t len,
			       int *score_r);

/* For the tests: the languages (bit i: lang_codes[i]) with word among their
 * stop words, as lang_detect() lowercases a word (ASCII and Latin-1
 * capitals); 0 for a word of LANG_WORD_MAX bytes or more, which it skips.
 * A word is a run of ASCII letters and bytes beyond ASCII. */
#define LANG_WORD_MAX 24
unsigned lang_word_langs(const char *word, size_t len);

#endif
