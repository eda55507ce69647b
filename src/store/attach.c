/* attach.c - attachments into and out of the store. Contents are stored
 * once by SHA-256 (two tickets with the same file share them); each
 * message lists its parts. The backend's message table does the storing. */
#include "compat.h"

#include "attach.h"
#include "backend.h"
#include "message_ops.h"
#include "xalloc.h"

int
attach_store(struct store *s, int64_t message_row_id, const struct message *m, struct err *e)
{
	const struct store_message_ops *ops = s->ops->message;

	for (size_t i = 0; i < m->natts; i++) {
		const struct attachment *a = &m->atts[i];
		bool kept = a->data && a->sha256[0];

		if (kept && ops->put_blob(s, a->sha256, a->data, a->size, e) < 0)
			return -1;
		if (ops->add_attachment(s, message_row_id, i, a->filename ? a->filename : "",
					a->content_type ? a->content_type : "", a->size,
					kept ? a->sha256 : NULL, e) < 0)
			return -1;
	}
	return 0;
}

int
attach_list(struct store *s, int64_t ticket_id, struct attach_info **list, size_t *n,
	    struct err *e)
{
	*list = NULL;
	*n = 0;
	if (s->ops->message->ticket_attachments(s, ticket_id, list, n, e) == 0)
		return 0;
	attach_list_free(*list, *n);
	*list = NULL;
	*n = 0;
	return -1;
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
	int found;

	*data = NULL;
	*len = 0;
	found = s->ops->message->read_blob(s, sha256, data, len, e);
	if (found == 0)
		return err_set(e, EXIT_DATAERR, "attachment content '%s' is not in the store", sha256);
	return found < 0 ? -1 : 0;
}
