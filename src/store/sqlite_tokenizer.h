/* sqlite_tokenizer.h - the search index's tokenizer (private to src/store/). */
#ifndef SECDESK_SQLITE_TOKENIZER_H
#define SECDESK_SQLITE_TOKENIZER_H

#include <sqlite3.h>

/* The name the index's and the snippets' FTS5 tables give as tokenize=. */
#define SQLITE_TOKENIZER_NAME "secdesk"

/* Registers the tokenizer on db's connection; an SQLite error code. */
int sqlite_tokenizer_register(sqlite3 *db);

/* Splits text (n bytes of UTF-8) into the words the index holds, as the
 * tokenizer does for SQLite's index: each word folded, with the byte
 * offsets of its spelling in text. each's non-zero return stops it. For
 * the other backends, so that every backend indexes and looks for the same
 * words. Safe from any thread. 0, or -1 when the tokenizer cannot run. */
int sqlite_tokenize(const char *text, size_t n,
		    int (*each)(void *arg, const char *word, int len, int start, int end),
		    void *arg);

#endif
