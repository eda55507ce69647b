/* The intake area of the store (store_intake.h): hands each operation to
 * the backend. */
#include "compat.h"

#include "backend.h"
#include "intake_ops.h"
#include "store_message.h"

int
store_intake_listing_begin(struct store *s, struct err *e)
{
	if (s->ops->intake->listing_begin(s, e) < 0)
		return -1;
	s->in_txn = true;
	return 0;
}

int
store_intake_listing_add(struct store *s, const char *key, const char *where, struct err *e)
{
	return s->ops->intake->listing_add(s, key, where, e);
}

int
store_intake_listing_end(struct store *s, struct err *e)
{
	if (s->ops->intake->listing_end(s, e) < 0) {
		store_rollback(s);
		return -1;
	}
	s->in_txn = false;
	return 0;
}

int
store_intake_listing_read(struct store *s, const char *source_id, bool by_key,
			  const char *after_key, int64_t after_seq, size_t limit,
			  store_listed_fn each, void *arg, size_t *read, struct err *e)
{
	return s->ops->intake->listing_read(s, source_id, by_key, after_key, after_seq, limit,
					    each, arg, read, e);
}

int
store_intake_listing_fresh(struct store *s, const char *source_id, size_t *n, struct err *e)
{
	return s->ops->intake->listing_fresh(s, source_id, n, e);
}

int
store_intake_settle_unlisted(struct store *s, const char *source_id, struct err *e)
{
	return s->ops->intake->settle_unlisted(s, source_id, e);
}

int
store_intake_stage(struct store *s, const char *source_id, const char *key, int64_t raw_id,
		   int64_t *intake_id, struct err *e)
{
	return s->ops->intake->stage(s, source_id, key, raw_id, intake_id, e);
}

int
store_intake_stored(struct store *s, int64_t intake_id, int64_t message_id, bool poison,
		    struct err *e)
{
	return s->ops->intake->stored(s, intake_id, message_id, poison, e);
}

int
store_intake_done(struct store *s, const char *source_id, const char *key, struct err *e)
{
	return s->ops->intake->done(s, source_id, key, e);
}

int
store_intake_stage_raw(struct store *s, const char *source_id, const char *key,
		       const char *raw, size_t len, const char *sha256, int64_t *raw_id,
		       int64_t *intake_id, struct err *e)
{
	if (s->ops->intake->stage_raw)
		return s->ops->intake->stage_raw(s, source_id, key, raw, len, sha256, raw_id,
						 intake_id, e);
	if (store_message_put_raw(s, raw, len, sha256, raw_id, e) < 0)
		return -1;
	return store_intake_stage(s, source_id, key, *raw_id, intake_id, e);
}

int
store_intake_done_keys(struct store *s, const char *source_id, const char *const *keys,
		       size_t n, struct err *e)
{
	if (n && s->ops->intake->done_keys)
		return s->ops->intake->done_keys(s, source_id, keys, n, e);
	for (size_t i = 0; i < n; i++)
		if (store_intake_done(s, source_id, keys[i], e) < 0)
			return -1;
	return 0;
}

int
store_intake_crashed(struct store *s, int64_t intake_id, struct err *e)
{
	return s->ops->intake->crashed(s, intake_id, e);
}

int
store_intake_pending(struct store *s, const char *source_id, int64_t older_than,
		     struct intake_pending **rows, size_t *n, struct err *e)
{
	*rows = NULL;
	*n = 0;
	return s->ops->intake->pending(s, source_id, older_than, rows, n, e);
}

int
store_intake_raw(struct store *s, int64_t raw_id, char **raw, size_t *len, struct err *e)
{
	*raw = NULL;
	*len = 0;
	return s->ops->intake->raw(s, raw_id, raw, len, e);
}

int
store_intake_pending_raw(struct store *s, int64_t intake_id, int64_t *raw_id, char **raw,
			 size_t *len, struct err *e)
{
	*raw = NULL;
	*len = 0;
	return s->ops->intake->pending_raw(s, intake_id, raw_id, raw, len, e);
}

int
store_mailbox_lock(struct store *s, struct err *e)
{
	if (!s->ops->intake->mailbox_lock)
		return 0;
	return s->ops->intake->mailbox_lock(s, true, e);
}

void
store_mailbox_unlock(struct store *s)
{
	struct err ignored = ERR_INIT;

	/* A lost connection released it with the session. */
	if (s && s->ops->intake->mailbox_lock)
		s->ops->intake->mailbox_lock(s, false, &ignored);
}
