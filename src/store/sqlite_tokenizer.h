/* sqlite_tokenizer.h - the search index's tokenizer (private to src/store/). */
#ifndef SECDESK_SQLITE_TOKENIZER_H
#define SECDESK_SQLITE_TOKENIZER_H

#include <sqlite3.h>

/* The name the index's and the snippets' FTS5 tables give as tokenize=. */
#define SQLITE_TOKENIZER_NAME "secdesk"

/* Registers the tokenizer on db's connection; an SQLite error code. */
int sqlite_tokenizer_register(sqlite3 *db);

#endif
