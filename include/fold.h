/* fold.h - the folding of words that search does beyond case and
 * diacritics, the same when a message is indexed and when it is searched.
 *
 * Unicode's decompositions, which take the accent off é or ö, leave the
 * letters that are not a base letter with a mark: ł, đ, ø, æ, þ, ß. These
 * become l, d, o, ae, th, ss. German writes ä, ö, ü as ae, oe, ue when it
 * has no umlauts: so ae, oe and ue become a, o and u, which makes
 * "foerderfahigkeit" and "Förderfähigkeit" one word. */
#ifndef SECDESK_FOLD_H
#define SECDESK_FOLD_H

#include <stddef.h>

/* Folds the word w of n bytes (UTF-8, already in lower case and without
 * the marks that decompose) into out, which has room for n bytes (the
 * folded word is never longer); returns its length. */
size_t fold_word(const char *w, size_t n, char *out);

#endif
