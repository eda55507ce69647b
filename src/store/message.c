/* The message area's face (store_message.h): each operation handed to the
 * backend's table, and what every backend shares: following merged
 * tickets, a parsed message laid out as a row. */
#include "compat.h"

#include "backend.h"
#include "buf.h"
#include "message.h"
#include "message_ops.h"
#include "store_message.h"

/* Merges chain at most this deep: a longer chain (or a loop) stops here. */
#define MERGE_HOPS_MAX 32

int
store_message_put_raw(struct store *s, const char *raw, size_t len, const char *sha256,
		      int64_t *raw_id, struct err *e)
{
	return s->ops->message->put_raw(s, raw, len, sha256, raw_id, e);
}

int
store_message_raw_known(struct store *s, const char *sha256, struct err *e)
{
	return s->ops->message->raw_known(s, sha256, e);
}

int
store_message_intake_known(struct store *s, const char *source, const char *key,
			   struct err *e)
{
	return s->ops->message->intake_known(s, source, key, e);
}

int
store_message_each_undone_intake(struct store *s, const char *source,
				 int (*each)(void *arg, const char *key, const char *state),
				 void *arg, struct err *e)
{
	return s->ops->message->each_undone_intake(s, source, each, arg, e);
}

int64_t
store_message_ticket_by_msgid(struct store *s, const char *msgid, bool desk_sent,
			      struct err *e)
{
	if (!msgid || !*msgid)
		return 0;
	return s->ops->message->ticket_by_msgid(s, msgid, desk_sent, e);
}

int64_t
store_message_live_ticket(struct store *s, int64_t id, struct err *e)
{
	for (int hops = 0; id > 0 && hops < MERGE_HOPS_MAX; hops++) {
		int64_t next = s->ops->message->merged_into(s, id, e);

		if (next < 0)
			return -1;
		if (next == 0)
			return id;
		id = next;
	}
	return id;
}

int64_t
store_message_ticket_exists(struct store *s, int64_t id, struct err *e)
{
	return s->ops->message->ticket_exists(s, id, e);
}

int
store_message_is_watcher(struct store *s, int64_t ticket_id, const char *addr, struct err *e)
{
	return s->ops->message->is_watcher(s, ticket_id, addr, e);
}

int
store_message_add_watcher(struct store *s, int64_t ticket_id, const char *addr,
			  struct err *e)
{
	return s->ops->message->add_watcher(s, ticket_id, addr, e);
}

int
store_message_create_ticket(struct store *s, struct ticket *t, struct err *e)
{
	return s->ops->message->create_ticket(s, t, e);
}

static void
join_addrs(struct buf *b, const struct address *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(b, ", ");
		if (*a[i].name)
			buf_addf(b, "%s <%s>", a[i].name, a[i].addr);
		else
			buf_addstr(b, a[i].addr);
	}
}

int
store_message_add_inbound(struct store *s, int64_t ticket_id, int64_t raw_id,
			  const char *kind, const struct message *m, int64_t *id,
			  struct err *e)
{
	struct buf to = BUF_INIT, cc = BUF_INIT, refs = BUF_INIT, names = BUF_INIT;
	struct store_message_row row = {
		.ticket_id = ticket_id,
		.raw_id = raw_id,
		.direction = "in",
		.kind = kind,
		.from_name = m->from.name,
		.from_addr = m->from.addr,
		.subject = m->subject,
		.has_date = m->has_date,
		.date = (int64_t)m->date,
		.message_id = m->message_id,
		.in_reply_to = m->in_reply_to,
		.body = m->body ? m->body : "",
		.flags = m->flags,
		.parse_note = m->parse_note,
		.created = store_now(),
	};
	int rc;

	join_addrs(&to, m->to, m->nto);
	join_addrs(&cc, m->cc, m->ncc);
	for (size_t i = 0; i < m->references.n; i++)
		buf_addf(&refs, "%s%s", i ? " " : "", m->references.items[i]);
	buf_addf(&names, "%s %s %s %s", m->from.name, m->from.addr, buf_cstr(&to), buf_cstr(&cc));
	row.to_addrs = buf_cstr(&to);
	row.cc_addrs = buf_cstr(&cc);
	row.refs = buf_cstr(&refs);
	row.names = buf_cstr(&names);
	rc = s->ops->message->add_message(s, &row, id, e);
	buf_release(&to);
	buf_release(&cc);
	buf_release(&refs);
	buf_release(&names);
	return rc;
}

int64_t
store_message_by_raw(struct store *s, int64_t raw_id, struct err *e)
{
	return s->ops->message->message_by_raw(s, raw_id, e);
}

int
store_message_each_same_sender(struct store *s, const char *msgid, const char *from_addr,
			       int (*each)(void *arg, int64_t row_id, const char *subject,
					   const char *body),
			       void *arg, struct err *e)
{
	return s->ops->message->each_same_sender(s, msgid, from_addr, each, arg, e);
}

int
store_message_find_stored(struct store *s, int64_t raw_id, const char *msgid,
			  const char *from_addr,
			  int (*each)(void *arg, int64_t row_id, const char *subject,
				      const char *body),
			  void *arg, struct err *e)
{
	int64_t id;

	if (s->ops->message->find_stored)
		return s->ops->message->find_stored(s, raw_id, msgid, from_addr, each, arg, e);
	id = store_message_by_raw(s, raw_id, e);
	if (id != 0)
		return id < 0 ? -1 : 1;
	if (!*msgid)
		return 0;
	return store_message_each_same_sender(s, msgid, from_addr, each, arg, e);
}

int
store_message_each_attachment(struct store *s, int64_t row_id,
			      int (*each)(void *arg, int64_t size, const char *sha256),
			      void *arg, struct err *e)
{
	return s->ops->message->each_message_attachment(s, row_id, each, arg, e);
}

int
store_savepoint_begin(struct store *s, struct err *e)
{
	return s->ops->message->savepoint(s, STORE_SAVEPOINT_BEGIN, e);
}

int
store_savepoint_release(struct store *s, struct err *e)
{
	return s->ops->message->savepoint(s, STORE_SAVEPOINT_RELEASE, e);
}

int
store_savepoint_rollback(struct store *s, struct err *e)
{
	return s->ops->message->savepoint(s, STORE_SAVEPOINT_ROLLBACK, e);
}

bool
store_txn_active(struct store *s)
{
	return s->ops->message->txn_active(s);
}
