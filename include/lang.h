/* lang.h - offline language detection of inquiry text.
 *
 * By script where it decides (Greek: el, Hebrew: he, Cyrillic: bg), else
 * by function words, rare letters and libexttextcat's character n-gram
 * profiles of the Latin-script member languages (lang_codes[]). The
 * tables and profiles are read once per process, on the first call; each
 * call then allocates only its own sample. Thread-safe. */
#ifndef SECDESK_LANG_H
#define SECDESK_LANG_H

#include <stddef.h>

/* The codes lang_detect() can return, NULL-terminated. */
extern const char *const lang_codes[];

/* The ISO 639-1 code of the likeliest language of text (UTF-8, len bytes;
 * only the first LANG_MAX_SCAN bytes are read, quoted lines left out: some
 * 300 words decide as well as a whole letter and cost less on long mail),
 * or NULL when the text is too short (a greeting alone), has too little
 * evidence, or two languages score alike. When score_r is not NULL it gets the winner's
 * count of function words (of letters, for a language its script
 * decides). */
#define LANG_MAX_SCAN 2048
const char *lang_detect(const char *text, size_t len, int *score_r);
/* lang_detect() of head "\n" text, without joining them (a subject and a
 * body): the same answer for the same bytes. */
const char *lang_detect_joined(const char *head, size_t hlen, const char *text, size_t len,
			       int *score_r);

/* For the tests: the languages (bit i: lang_codes[i]) with word among their
 * function words, as lang_detect() lowercases a word (Latin capitals of
 * ASCII, Latin-1 and Latin Extended-A); 0 for a word of LANG_WORD_MAX bytes
 * or more, which it skips. A word is a run of letters. */
#define LANG_WORD_MAX 24
unsigned lang_word_langs(const char *word, size_t len);

#endif
