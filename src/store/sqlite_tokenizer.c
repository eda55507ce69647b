/* The FTS5 tokenizer "secdesk": unicode61 without diacritics, then
 * fold_word() (fold.h) on each token. The index and the queries both go
 * through it, so a word and its folded spelling find each other; the
 * snippets' table uses it too, so that the words found are marked. */
#include "compat.h"

#include <pthread.h>
#include <sqlite3.h>

#include "fold.h"
#include "sqlite_tokenizer.h"
#include "xalloc.h"

struct folding_tokenizer {
	fts5_tokenizer inner;
	Fts5Tokenizer *inner_tokenizer;
};

struct token_sink {
	void *ctx;
	int (*emit)(void *ctx, int flags, const char *token, int n, int start, int end);
};

static int
fold_token(void *arg, int flags, const char *token, int n, int start, int end)
{
	struct token_sink *sink = arg;
	char small[128], *out = n <= (int)sizeof(small) ? small : xmalloc((size_t)n);
	int rc;

	rc = sink->emit(sink->ctx, flags, out, (int)fold_word(token, (size_t)n, out), start,
			end);
	if (out != small)
		free(out);
	return rc;
}

static int
folding_tokenize(Fts5Tokenizer *tok, void *ctx, int flags, const char *text, int n,
		 int (*emit)(void *, int, const char *, int, int, int))
{
	struct folding_tokenizer *ft = (struct folding_tokenizer *)tok;
	struct token_sink sink = { ctx, emit };

	return ft->inner.xTokenize(ft->inner_tokenizer, &sink, flags, text, n, fold_token);
}

static int
folding_create(void *api_arg, const char **args, int nargs, Fts5Tokenizer **out)
{
	static const char *unicode61_args[] = { "remove_diacritics", "2" };
	fts5_api *api = api_arg;
	struct folding_tokenizer *ft;
	void *inner_arg;
	int rc;

	(void)args;
	(void)nargs;
	ft = xcalloc(1, sizeof(*ft));
	rc = api->xFindTokenizer(api, "unicode61", &inner_arg, &ft->inner);
	if (rc == SQLITE_OK)
		rc = ft->inner.xCreate(inner_arg, unicode61_args, 2, &ft->inner_tokenizer);
	if (rc != SQLITE_OK) {
		free(ft);
		return rc;
	}
	*out = (Fts5Tokenizer *)ft;
	return SQLITE_OK;
}

static void
folding_delete(Fts5Tokenizer *tok)
{
	struct folding_tokenizer *ft = (struct folding_tokenizer *)tok;

	ft->inner.xDelete(ft->inner_tokenizer);
	free(ft);
}

/* FTS5's API, as its documentation asks to get it: SELECT fts5(?). */
static fts5_api *
fts5_api_of(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	sqlite3_finalize(st);
	return api;
}

int
sqlite_tokenizer_register(sqlite3 *db)
{
	static fts5_tokenizer folding = { folding_create, folding_delete, folding_tokenize };
	fts5_api *api = fts5_api_of(db);

	if (!api)
		return SQLITE_ERROR;
	return api->xCreateTokenizer(api, SQLITE_TOKENIZER_NAME, api, &folding, NULL);
}

/* sqlite_tokenize's tokenizer: one, made at the first call on a connection
 * to an in-memory database that is never closed (FTS5 hands its tokenizers
 * out only through a connection). */
static struct {
	pthread_mutex_t lock;
	sqlite3 *db;
	fts5_tokenizer api;
	Fts5Tokenizer *tok;
	bool failed;
} shared = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool
shared_tokenizer(void)
{
	fts5_api *api;
	void *arg;

	if (shared.tok || shared.failed)
		return shared.tok != NULL;
	shared.failed = true;
	if (sqlite3_open_v2(":memory:", &shared.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite_tokenizer_register(shared.db) != SQLITE_OK || !(api = fts5_api_of(shared.db)) ||
	    api->xFindTokenizer(api, SQLITE_TOKENIZER_NAME, &arg, &shared.api) != SQLITE_OK ||
	    shared.api.xCreate(arg, NULL, 0, &shared.tok) != SQLITE_OK)
		return false;
	shared.failed = false;
	return true;
}

struct word_sink {
	int (*each)(void *arg, const char *word, int len, int start, int end);
	void *arg;
};

static int
word_to_sink(void *ctx, int flags, const char *token, int n, int start, int end)
{
	struct word_sink *sink = ctx;

	(void)flags;
	return sink->each(sink->arg, token, n, start, end) ? SQLITE_DONE : SQLITE_OK;
}

int
sqlite_tokenize(const char *text, size_t n,
		int (*each)(void *arg, const char *word, int len, int start, int end), void *arg)
{
	struct word_sink sink = { each, arg };
	int rc = -1;

	if (n > INT32_MAX)
		n = INT32_MAX;
	pthread_mutex_lock(&shared.lock);
	if (shared_tokenizer()) {
		int st = shared.api.xTokenize(shared.tok, &sink, FTS5_TOKENIZE_DOCUMENT, text, (int)n,
					      word_to_sink);

		rc = st == SQLITE_OK || st == SQLITE_DONE ? 0 : -1;
	}
	pthread_mutex_unlock(&shared.lock);
	return rc;
}
