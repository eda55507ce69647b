/* attach.c - attachments into and out of the store. Contents are stored
 * once by SHA-256 in blobs (INSERT OR IGNORE: two tickets with the same file
 * share one row); each message lists its parts in attachments. */
#include "compat.h"

#include "attach.h"
#include "xalloc.h"

int
attach_store(struct store *s, int64_t message_row_id, const struct message *m, struct err *e)
{
	for (size_t i = 0; i < m->natts; i++) {
		const struct attachment *a = &m->atts[i];
		bool kept = a->data && a->sha256[0];
		sqlite3_stmt *st;

		if (kept) {
			st = store_prepare(s, "INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?1, ?2, ?3)", e);
			if (!st)
				return -1;
			sqlite3_bind_text(st, 1, a->sha256, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)a->size);
			sqlite3_bind_blob64(st, 3, a->data, a->size, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				return store_error(s, e, "cannot store an attachment");
		}
		st = store_prepare(s,
				   "INSERT INTO attachments (message_id, idx, filename, content_type, size, sha256)"
				   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				   e);
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, message_row_id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		sqlite3_bind_text(st, 3, a->filename ? a->filename : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, a->content_type ? a->content_type : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)a->size);
		if (kept)
			sqlite3_bind_text(st, 6, a->sha256, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 6);
		if (sqlite3_step(st) != SQLITE_DONE)
			return store_error(s, e, "cannot record an attachment");
	}
	return 0;
}

static char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrdup((const char *)t) : NULL;
}

int
attach_list(struct store *s, int64_t ticket_id, struct attach_info **list, size_t *n,
	    struct err *e)
{
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT a.message_id, a.idx, a.filename, a.content_type, a.size, a.sha256"
		" FROM attachments a JOIN messages m ON m.id = a.message_id"
		" WHERE m.ticket_id = ?1 ORDER BY a.message_id, a.idx",
		e);
	int rc;

	*list = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ticket_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct attach_info *a;

		*list = xreallocarray(*list, *n + 1, sizeof(**list));
		a = &(*list)[(*n)++];
		a->message_row_id = sqlite3_column_int64(st, 0);
		a->idx = sqlite3_column_int(st, 1);
		a->filename = col_text(st, 2);
		a->content_type = col_text(st, 3);
		a->size = sqlite3_column_int64(st, 4);
		a->sha256 = col_text(st, 5);
		if (!a->filename)
			a->filename = xstrdup("");
		if (!a->content_type)
			a->content_type = xstrdup("");
	}
	if (rc != SQLITE_DONE) {
		attach_list_free(*list, *n);
		*list = NULL;
		*n = 0;
		return store_error(s, e, "cannot list attachments");
	}
	return 0;
}

void
attach_list_free(struct attach_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].filename);
		free(list[i].content_type);
		free(list[i].sha256);
	}
	free(list);
}

int
attach_read(struct store *s, const char *sha256, unsigned char **data, size_t *len, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT data FROM blobs WHERE sha256 = ?1", e);
	int rc;

	*data = NULL;
	*len = 0;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);

		*data = xmalloc(n + 1);
		if (n)
			memcpy(*data, b, n);
		*len = n;
		sqlite3_reset(st);
		return 0;
	}
	if (rc == SQLITE_DONE)
		return err_set(e, EXIT_DATAERR, "attachment content '%s' is not in the store", sha256);
	return store_error(s, e, "cannot read an attachment");
}
