/* Tickets: load, and the triage changes, each recorded as an event. */
#include "compat.h"

#include <jansson.h>

#include "charset.h"
#include "ticket.h"
#include "xalloc.h"

static const char *const statuses[] = { "new", "open", "pending", "resolved", "closed" };

/* The columns a caller may change with ticket_set_field(). */
static const char *const settable[] = { "status", "queue", "category", "priority",
					"language", "assignee", "subject" };

void
ticket_init(struct ticket *t)
{
	memset(t, 0, sizeof(*t));
}

void
ticket_release(struct ticket *t)
{
	free(t->status);
	free(t->queue);
	free(t->category);
	free(t->priority);
	free(t->language);
	free(t->subject);
	free(t->requester);
	free(t->requester_name);
	free(t->assignee);
	strlist_release(&t->tags);
	ticket_init(t);
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void
ticket_copy(struct ticket *dst, const struct ticket *src)
{
	ticket_release(dst);
	*dst = *src;
	dst->status = dup_or_null(src->status);
	dst->queue = dup_or_null(src->queue);
	dst->category = dup_or_null(src->category);
	dst->priority = dup_or_null(src->priority);
	dst->language = dup_or_null(src->language);
	dst->subject = dup_or_null(src->subject);
	dst->requester = dup_or_null(src->requester);
	dst->requester_name = dup_or_null(src->requester_name);
	dst->assignee = dup_or_null(src->assignee);
	dst->tags = (struct strlist)STRLIST_INIT;
	for (size_t i = 0; i < src->tags.n; i++)
		strlist_add(&dst->tags, src->tags.items[i]);
}

bool
ticket_status_valid(const char *status)
{
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		if (strcmp(statuses[i], status) == 0)
			return true;
	return false;
}

bool
ticket_word_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > TICKET_WORD_MAX || !charset_is_utf8(s, len))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= ' ' || *p == ',' || *p == 0x7f)
			return false;
		/* C1 controls: U+0080..U+009F, C2 80..C2 9F in UTF-8 */
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return false;
	}
	return true;
}

int
ticket_flag_problem(struct store *s, int64_t id, const char *what, const char *reason,
		    struct err *e)
{
	if (ticket_add_flags(s, id, TICKET_FLAG_PROCESSING, e) < 0)
		return -1;
	return store_event(s, id, "secdesk", what, NULL, reason, e);
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return xstrdup(t ? (const char *)t : "");
}

int
ticket_load(struct store *s, int64_t id, struct ticket *t, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	ticket_init(t);
	st = store_prepare(s, "SELECT id, status, queue, category, priority, language, subject,"
			   " requester, requester_name, assignee, flags, merged_into, related_to,"
			   " created, updated FROM tickets WHERE id = ?", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return err_set(e, EXIT_DATAERR, "no ticket #%lld", (long long)id);
	}
	if (rc != SQLITE_ROW) {
		store_error(s, e, "cannot read ticket");
		sqlite3_reset(st);
		return -1;
	}
	t->id = sqlite3_column_int64(st, 0);
	t->status = col_dup(st, 1);
	t->queue = col_dup(st, 2);
	t->category = col_dup(st, 3);
	t->priority = col_dup(st, 4);
	t->language = col_dup(st, 5);
	t->subject = col_dup(st, 6);
	t->requester = col_dup(st, 7);
	t->requester_name = col_dup(st, 8);
	t->assignee = col_dup(st, 9);
	t->flags = (unsigned)sqlite3_column_int64(st, 10);
	t->merged_into = sqlite3_column_int64(st, 11);
	t->related_to = sqlite3_column_int64(st, 12);
	t->created = sqlite3_column_int64(st, 13);
	t->updated = sqlite3_column_int64(st, 14);
	sqlite3_reset(st);

	st = store_prepare(s, "SELECT tag FROM ticket_tags WHERE ticket_id = ? ORDER BY tag", e);
	if (!st)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strlist_add_owned(&t->tags, col_dup(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_error(s, e, "cannot read tags");
		goto fail;
	}
	return 0;
fail:
	ticket_release(t);
	return -1;
}

int
ticket_touch(struct store *s, int64_t id, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE tickets SET updated = ? WHERE id = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, store_now());
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(s, e, "cannot update ticket");
	sqlite3_reset(st);
	return 0;
}

int
ticket_set_field(struct store *s, int64_t id, const char *field, const char *value,
		 const char *who, struct err *e)
{
	struct ticket t;
	const char *old = NULL;
	sqlite3_stmt *st;
	char sql[128];
	bool ok = false;
	int rc = -1;

	for (size_t i = 0; i < ARRAY_SIZE(settable); i++)
		if (strcmp(settable[i], field) == 0)
			ok = true;
	if (!ok)
		return err_set(e, EXIT_SOFTWARE, "cannot set ticket field '%s'", field);
	if (strcmp(field, "status") == 0 && !ticket_status_valid(value))
		return err_set(e, EXIT_DATAERR, "'%s' is not a status (new, open, pending, "
			       "resolved, closed)", value);
	if (ticket_load(s, id, &t, e) < 0)
		return -1;
	if (!strcmp(field, "status"))
		old = t.status;
	else if (!strcmp(field, "queue"))
		old = t.queue;
	else if (!strcmp(field, "category"))
		old = t.category;
	else if (!strcmp(field, "priority"))
		old = t.priority;
	else if (!strcmp(field, "language"))
		old = t.language;
	else if (!strcmp(field, "assignee"))
		old = t.assignee;
	else
		old = t.subject;
	if (strcmp(old, value) == 0) {
		rc = 0;
		goto out;
	}
	/* field is one of the fixed names above, never from input. */
	snprintf(sql, sizeof(sql), "UPDATE tickets SET %s = ?, updated = ? WHERE id = ?", field);
	st = store_prepare(s, sql, e);
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, store_now());
	sqlite3_bind_int64(st, 3, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(s, e, "cannot update ticket");
		sqlite3_reset(st);
		goto out;
	}
	sqlite3_reset(st);
	rc = store_event(s, id, who, field, old, value, e);
out:
	ticket_release(&t);
	return rc;
}

int
ticket_add_tag(struct store *s, int64_t id, const char *tag, const char *who, struct err *e)
{
	sqlite3_stmt *st;
	int changes;

	if (!ticket_word_valid(tag))
		return err_set(e, EXIT_DATAERR, "'%s' is not a tag (one word, no commas)", tag);
	st = store_prepare(s, "INSERT OR IGNORE INTO ticket_tags (ticket_id, tag) "
			   "SELECT id, ? FROM tickets WHERE id = ?", e);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(s, e, "cannot tag ticket");
	sqlite3_reset(st);
	changes = sqlite3_changes(store_db(s));
	if (!changes)
		return 0;
	if (ticket_touch(s, id, e) < 0)
		return -1;
	return store_event(s, id, who, "tag", NULL, tag, e);
}

int
ticket_remove_tag(struct store *s, int64_t id, const char *tag, const char *who,
		  struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "DELETE FROM ticket_tags WHERE ticket_id = ? "
					 "AND tag = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(s, e, "cannot untag ticket");
	sqlite3_reset(st);
	if (!sqlite3_changes(store_db(s)))
		return 0;
	if (ticket_touch(s, id, e) < 0)
		return -1;
	return store_event(s, id, who, "untag", tag, NULL, e);
}

int
ticket_add_flags(struct store *s, int64_t id, unsigned flags, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE tickets SET flags = flags | ? WHERE id = ?", e);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, flags);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_error(s, e, "cannot flag ticket");
	sqlite3_reset(st);
	return 0;
}

int
ticket_watchers(struct store *s, int64_t id, struct strlist *out, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT addr FROM watchers WHERE ticket_id = ?"
					 " ORDER BY addr", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strlist_add(out, (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot read watchers");
	return 0;
}

int
ticket_add_note(struct store *s, int64_t id, const char *text, const char *who,
		struct err *e)
{
	struct ticket t;

	if (ticket_load(s, id, &t, e) < 0)
		return -1;
	ticket_release(&t);
	if (ticket_touch(s, id, e) < 0)
		return -1;
	return store_event(s, id, who, "note", NULL, text, e);
}

static const char *const flag_names[] = { "parse-error", "bounce", "autoreply", "spam",
					  "poison", "send-failed", "possible-followup",
					  "oversize", "processing-error" };

void *
ticket_flags_json(unsigned flags)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++)
		if (flags & (1u << i))
			json_array_append_new(a, json_string(flag_names[i]));
	return a;
}

void
ticket_flags_str(unsigned flags, char *out, size_t n)
{
	size_t off = 0;

	if (n)
		out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(flag_names) && off < n; i++)
		if (flags & (1u << i))
			off += (size_t)snprintf(out + off, n - off, "%s%s", off ? "," : "",
						flag_names[i]);
}

int
ticket_load_live(struct store *s, int64_t id, struct ticket *t, struct err *e)
{
	int64_t into;

	if (ticket_load(s, id, t, e) < 0)
		return -1;
	if (!t->merged_into)
		return 0;
	into = t->merged_into;
	ticket_release(t);
	return err_set(e, EXIT_DATAERR, "ticket #%lld is merged into #%lld: use #%lld",
		       (long long)id, (long long)into, (long long)into);
}

/* One statement of a merge, ?1 the merged ticket, ?2 the one it goes into. */
static int
merge_exec(struct store *s, const char *sql, int64_t from, int64_t into, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, sql, e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, into);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot merge");
	return 0;
}

static int
merge_check(struct store *s, int64_t from, int64_t into, struct err *e)
{
	struct ticket a, b;
	int rc = 0;

	if (from == into)
		return err_set(e, EXIT_DATAERR, "cannot merge ticket #%lld into itself",
			       (long long)from);
	if (ticket_load(s, from, &a, e) < 0)
		return -1;
	if (ticket_load(s, into, &b, e) < 0) {
		ticket_release(&a);
		return -1;
	}
	if (a.merged_into)
		rc = err_set(e, EXIT_DATAERR, "ticket #%lld is already merged into #%lld",
			     (long long)from, (long long)a.merged_into);
	else if (b.merged_into)
		rc = err_set(e, EXIT_DATAERR, "ticket #%lld is merged into #%lld: merge into that",
			     (long long)into, (long long)b.merged_into);
	ticket_release(&a);
	ticket_release(&b);
	return rc;
}

/* from's requester becomes a participant (a watcher) of into, for mail
 * they wrote themselves: a bounce's MAILER-DAEMON never becomes a
 * recipient of into's replies. Before the messages move. */
static int
merge_participant(struct store *s, int64_t from, int64_t into, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT OR IGNORE INTO watchers (ticket_id, addr)"
		" SELECT ?2, f.requester FROM tickets f JOIN tickets i ON i.id = ?2"
		" WHERE f.id = ?1 AND f.requester <> '' AND f.requester <> i.requester COLLATE NOCASE"
		" AND EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = ?1"
		" AND m.direction = 'in' AND m.kind IN ('inquiry', 'followup')"
		" AND m.from_addr = f.requester COLLATE NOCASE AND (m.flags & ?3) = 0)", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, into);
	sqlite3_bind_int64(st, 3, TICKET_IMPERSONAL_FLAGS);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot merge");
	return 0;
}

int
ticket_merge(struct store *s, int64_t from, int64_t into, const char *who, struct err *e)
{
	char sa[32], sb[32];

	if (merge_check(s, from, into, e) < 0)
		return -1;
	snprintf(sa, sizeof(sa), "%lld", (long long)from);
	snprintf(sb, sizeof(sb), "%lld", (long long)into);
	if (merge_participant(s, from, into, e) < 0 ||
	    merge_exec(s, "UPDATE messages SET ticket_id = ?2 WHERE ticket_id = ?1", from, into,
		       e) < 0 ||
	    merge_exec(s, "INSERT OR IGNORE INTO ticket_tags (ticket_id, tag)"
			  " SELECT ?2, tag FROM ticket_tags WHERE ticket_id = ?1", from, into, e) < 0 ||
	    merge_exec(s, "INSERT OR IGNORE INTO watchers (ticket_id, addr)"
			  " SELECT ?2, addr FROM watchers WHERE ticket_id = ?1", from, into, e) < 0 ||
	    /* Tickets merged earlier into from follow it. */
	    merge_exec(s, "UPDATE tickets SET merged_into = ?2 WHERE merged_into = ?1", from, into,
		       e) < 0 ||
	    ticket_set_field(s, from, "status", "closed", who, e) < 0 ||
	    merge_exec(s, "UPDATE tickets SET merged_into = ?2 WHERE id = ?1", from, into, e) < 0 ||
	    store_event(s, from, who, "merged", NULL, sb, e) < 0 ||
	    store_event(s, into, who, "merged-from", NULL, sa, e) < 0 || ticket_touch(s, into, e) < 0)
		return -1;
	return 0;
}
