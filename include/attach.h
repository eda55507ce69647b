/* attach.h - attachments of a parsed message into the store, stored once by
 * SHA-256 (blobs) and listed per message (attachments). */
#ifndef SECDESK_ATTACH_H
#define SECDESK_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "message.h"
#include "store.h"

/* Inside the caller's transaction. Parts not kept (oversize) are recorded
 * with their name, type and size, without content. */
int attach_store(struct store *s, int64_t message_row_id, const struct message *m,
		 struct err *e);

/* One stored attachment, as listed for a ticket. */
struct attach_info {
	int64_t message_row_id;
	int idx;            /* position in its message */
	char *filename;
	char *content_type;
	int64_t size;
	char *sha256;       /* NULL when not kept (oversize) */
};

/* The attachments of a ticket, in message then part order; number n of
 * `secdesk attachment ID N` is (*list)[n - 1]. Free with attach_list_free. */
int attach_list(struct store *s, int64_t ticket_id, struct attach_info **list, size_t *n,
		struct err *e);
void attach_list_free(struct attach_info *list, size_t n);

/* The content of a kept attachment (by its sha256) into *data (malloc'd)
 * and *len; EXIT_DATAERR when it is not in the store. */
int attach_read(struct store *s, const char *sha256, unsigned char **data, size_t *len,
		struct err *e);

#endif
