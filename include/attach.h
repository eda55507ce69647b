/* attach.h - attachments of a parsed message into the store, stored once by
 * SHA-256 (blobs) and listed per message (attachments). */
#ifndef SECDESK_ATTACH_H
#define SECDESK_ATTACH_H

#include <stdint.h>

#include "err.h"
#include "message.h"
#include "store.h"

/* Inside the caller's transaction. Parts not kept (oversize) are recorded
 * with their name, type and size, without content. */
int attach_store(struct store *s, int64_t message_row_id, const struct message *m,
		 struct err *e);

#endif
