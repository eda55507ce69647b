/* attach_basic.c - the foundation's attach_store: the basic parser keeps no
 * attachments yet, so there is nothing to store. Replaced by the MIME work. */
#include "compat.h"

#include "attach.h"

int
attach_store(struct store *s, int64_t message_row_id, const struct message *m, struct err *e)
{
	(void)s;
	(void)message_row_id;
	(void)m;
	(void)e;
	return 0;
}
