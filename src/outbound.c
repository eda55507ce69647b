/* Outbound mail: the acknowledgement (RFC 3834), the partner notification,
 * queued in the ingest transaction; and the delivery of the outbox.
 *
 * First cut: templates are read from templates/KIND.LANG.txt and filled by
 * plain {{name}} substitution; the full engine replaces this. */
#include "compat.h"

#include <gnutls/crypto.h>
#include <strings.h>
#include <sys/stat.h>

#include "buf.h"
#include "outbound.h"
#include "outbox.h"
#include "send.h"
#include "ticket.h"
#include "xalloc.h"

#define TEMPLATE_MAX (256 * 1024)

struct outbound {
	const struct config *cfg;
	const struct ruleset *rules;
	char *domain;
};

static char *
read_file(const char *path, struct err *e)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f) {
		err_set(e, EXIT_CONFIG, "template '%s': %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, TEMPLATE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) < 0) {
			fclose(f);
			buf_release(&b);
			err_set(e, EXIT_CONFIG, "template '%s': too large", path);
			return NULL;
		}
	fclose(f);
	return buf_detach(&b, NULL);
}

int
outbound_open(const struct config *cfg, const struct ruleset *rules, struct outbound **out,
	      struct err *e)
{
	struct outbound *ob = xcalloc(1, sizeof(*ob));
	const char *at = cfg->desk.address ? strrchr(cfg->desk.address, '@') : NULL;

	ob->cfg = cfg;
	ob->rules = rules;
	ob->domain = xstrdup(at && at[1] ? at + 1 : "localhost");
	(void)e;
	*out = ob;
	return 0;
}

void
outbound_free(struct outbound **obp)
{
	struct outbound *ob = *obp;

	if (!ob)
		return;
	free(ob->domain);
	free(ob);
	*obp = NULL;
}

struct var {
	const char *name;
	const char *value;
};

/* {{name}} substitution; header lines lose CR/LF so that no value can add
 * a header. */
static void
render(struct buf *out, const char *tmpl, const struct var *vars, size_t nvars)
{
	bool in_header = true;

	for (const char *p = tmpl; *p;) {
		if (in_header && p[0] == '\n' && p[1] == '\n')
			in_header = false;
		if (p[0] == '{' && p[1] == '{') {
			const char *end = strstr(p + 2, "}}");
			size_t l;

			if (end) {
				l = (size_t)(end - p - 2);
				for (size_t i = 0; i < nvars; i++)
					if (strlen(vars[i].name) == l &&
					    strncmp(vars[i].name, p + 2, l) == 0) {
						for (const char *v = vars[i].value; *v; v++)
							buf_addch(out, in_header &&
								  (*v == '\r' || *v == '\n') ? ' ' : *v);
					}
				p = end + 2;
				continue;
			}
		}
		buf_addch(out, *p++);
	}
}

static void
make_msgid(const struct outbound *ob, char *out, size_t n)
{
	unsigned char r[8];

	gnutls_rnd(GNUTLS_RND_NONCE, r, sizeof(r));
	snprintf(out, n, "secdesk.%lld.%02x%02x%02x%02x%02x%02x%02x%02x@%s",
		 (long long)store_now(), r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
		 ob->domain);
}

static bool
addr_eq(const char *a, const char *b)
{
	return a && b && *a && strcasecmp(a, b) == 0;
}

static bool
has_prefix_ci(const char *s, const char *p)
{
	return strncasecmp(s, p, strlen(p)) == 0;
}

/* The RFC 3834 checks on the mail alone; the reason, or NULL to answer. */
static const char *
no_ack_reason(const struct outbound *ob, const struct message *m)
{
	const char *v, *local = m->from.addr, *at;
	size_t ll;

	if (m->flags & (MSG_BOUNCE | MSG_POISON | MSG_PARSE_ERROR))
		return "delivery report or unreadable mail";
	if ((v = message_header(m, "Auto-Submitted")) && strncasecmp(v, "no", 2) != 0)
		return "auto-submitted";
	if (m->return_path && !*m->return_path)
		return "null sender";
	if (!*local || !strchr(local, '@'))
		return "no sender address";
	at = strchr(local, '@');
	ll = (size_t)(at - local);
	if ((ll == 14 && has_prefix_ci(local, "mailer-daemon")) ||
	    (ll == 10 && has_prefix_ci(local, "postmaster")) || has_prefix_ci(local, "owner-") ||
	    (ll > 8 && strncasecmp(at - 8, "-request", 8) == 0) || has_prefix_ci(local, "noreply") ||
	    has_prefix_ci(local, "no-reply"))
		return "automatic sender";
	for (size_t i = 0; i < m->nheaders; i++)
		if (has_prefix_ci(m->headers[i].name, "List-"))
			return "list mail";
	if ((v = message_header(m, "Precedence")) &&
	    (strcasestr(v, "bulk") || strcasestr(v, "list") || strcasestr(v, "junk")))
		return "bulk mail";
	if ((v = message_header(m, "X-Auto-Response-Suppress")) &&
	    (strcasestr(v, "all") || strcasestr(v, "oof") || strcasestr(v, "autoreply")))
		return "auto-response suppressed";
	if (addr_eq(m->from.addr, ob->cfg->desk.address))
		return "from the desk itself";
	if (ob->rules && rules_contact_queue(ob->rules, m->from.addr))
		return "from a partner contact";
	return NULL;
}

static int64_t
count_query(struct store *s, const char *sql, const char *text, int64_t n, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, sql, e);
	int64_t v = 0;
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot query");
	return v;
}

static char *
load_template(const struct outbound *ob, const char *kind, const char *lang, struct err *e)
{
	char *path = xasprintf("%s/%s.%s.txt", ob->cfg->templates.dir, kind,
			       lang && *lang ? lang : "en");
	struct stat st;
	char *t;

	if (stat(path, &st) < 0) {
		free(path);
		path = xasprintf("%s/%s.en.txt", ob->cfg->templates.dir, kind);
	}
	t = read_file(path, e);
	free(path);
	return t;
}

static int64_t
record_out(struct store *s, int64_t ticket_id, const char *kind, const char *from_name,
	   const char *from_addr, const char *to, const char *subject, const char *msgid,
	   const char *irt, const char *refs, const char *body, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO messages (ticket_id, direction, kind,"
					 " from_name, from_addr, to_addrs, subject, date,"
					 " message_id, in_reply_to, refs, body, created) VALUES"
					 " (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", e);
	int64_t now = store_now();

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ticket_id);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, from_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, from_addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_text(st, 8, msgid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, irt, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, refs, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 12, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, e, "cannot record outgoing mail");
	}
	sqlite3_reset(st);
	return sqlite3_last_insert_rowid(store_db(s));
}

/* Renders kind for ticket t to rcpt and queues it. */
static int
queue_auto(struct outbound *ob, struct store *s, const struct ticket *t,
	   const struct message *m, const char *kind, const char *mkind, const char *rcpt,
	   bool reply_to_desk, struct err *e)
{
	struct buf out = BUF_INIT, refs = BUF_INIT, subj = BUF_INIT;
	char id[32], msgid[160], date[64];
	char *tmpl;
	const char *body;
	time_t now = (time_t)store_now();
	struct tm tm;
	int64_t mid;
	int rc = -1;

	tmpl = load_template(ob, kind, t->language, e);
	if (!tmpl)
		return -1;
	snprintf(id, sizeof(id), "%lld", (long long)t->id);
	buf_addf(&subj, "[%s #%lld] %s", ob->cfg->desk.tag, (long long)t->id, t->subject);
	{
		struct var vars[] = {
			{ "id", id },
			{ "tag", ob->cfg->desk.tag },
			{ "subject", t->subject },
			{ "tagged_subject", buf_cstr(&subj) },
			{ "requester", t->requester },
			{ "requester_name", *t->requester_name ? t->requester_name : t->requester },
			{ "queue", t->queue },
			{ "desk_name", ob->cfg->desk.name },
			{ "desk_address", ob->cfg->desk.address },
			{ "body", m && m->body ? m->body : "" },
		};
		struct buf r = BUF_INIT;

		render(&r, tmpl, vars, ARRAY_SIZE(vars));
		free(tmpl);
		tmpl = buf_detach(&r, NULL);
	}
	make_msgid(ob, msgid, sizeof(msgid));
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (m) {
		for (size_t i = 0; i < m->references.n; i++)
			buf_addf(&refs, "<%s> ", m->references.items[i]);
		if (*m->message_id)
			buf_addf(&refs, "<%s>", m->message_id);
	}
	buf_addf(&out, "From: %s <%s>\r\n", ob->cfg->desk.name, ob->cfg->desk.address);
	buf_addf(&out, "To: %s\r\n", rcpt);
	if (reply_to_desk)
		buf_addf(&out, "Reply-To: %s <%s>\r\n", ob->cfg->desk.name,
			 ob->cfg->desk.address);
	buf_addf(&out, "Date: %s\r\nMessage-ID: <%s>\r\n", date, msgid);
	if (m && *m->message_id)
		buf_addf(&out, "In-Reply-To: <%s>\r\nReferences: %s\r\n", m->message_id,
			 buf_cstr(&refs));
	buf_addstr(&out, "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n"
		   "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		   "Content-Transfer-Encoding: 8bit\r\n");
	/* The template's own header lines (Subject), then the body. */
	body = strstr(tmpl, "\n\n");
	body = body ? body + 2 : "";
	for (const char *p = tmpl; *p && p < body; p++) {
		if (*p == '\n')
			buf_addstr(&out, "\r\n");
		else
			buf_addch(&out, *p);
	}
	for (const char *p = body; *p; p++) {
		if (*p == '\n')
			buf_addstr(&out, "\r\n");
		else
			buf_addch(&out, *p);
	}
	mid = record_out(s, t->id, mkind, ob->cfg->desk.name, ob->cfg->desk.address, rcpt,
			 buf_cstr(&subj), msgid, m ? m->message_id : "", buf_cstr(&refs), body, e);
	if (mid < 0)
		goto out;
	if (outbox_queue(s, t->id, mid, mkind, "", rcpt, out.data, out.len, NULL, e) < 0)
		goto out;
	rc = 0;
out:
	free(tmpl);
	buf_release(&out);
	buf_release(&refs);
	buf_release(&subj);
	return rc;
}

static int
queue_notices(struct outbound *ob, struct store *s, const struct ticket *t,
	      const struct message *m, int *n, struct err *e)
{
	const struct queue *q = ob->rules ? rules_queue(ob->rules, t->queue) : NULL;

	if (!q)
		return 0;
	for (size_t i = 0; i < q->contacts.n; i++) {
		if (queue_auto(ob, s, t, m, "partner", "notice", q->contacts.items[i], true, e) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

int
outbound_after_ingest(struct outbound *ob, struct store *s, const struct message *m,
		      struct ingest_result *res, struct err *e)
{
	struct ticket t;
	const char *why;
	int64_t n;
	int rc = -1;

	ticket_init(&t);
	if (ticket_load(s, res->ticket_id, &t, e) < 0)
		return -1;
	why = res->no_ack ? "suppressed by the rules" : no_ack_reason(ob, m);
	if (!why && !ob->cfg->ack.enabled)
		why = "acknowledgements disabled";
	if (!why) {
		n = count_query(s, "SELECT count(*) FROM messages WHERE ticket_id = ?2"
				" AND direction = 'out' AND kind = 'ack' AND ?1 IS NOT NULL",
				"", t.id, e);
		if (n < 0)
			goto out;
		if (n > 0)
			why = "already acknowledged";
	}
	if (!why) {
		n = count_query(s, "SELECT count(*) FROM autoreply_log WHERE addr = ?1 AND at > ?2",
				m->from.addr, store_now() - ob->cfg->ack.per_sender_window, e);
		if (n < 0)
			goto out;
		if (n >= ob->cfg->ack.per_sender_limit)
			why = "sender over the rate limit";
	}
	if (!why) {
		sqlite3_stmt *st;

		if (queue_auto(ob, s, &t, m, "ack", "ack", m->from.addr, false, e) < 0)
			goto out;
		st = store_prepare(s, "INSERT INTO autoreply_log (addr, at) VALUES (?, ?)", e);
		if (!st)
			goto out;
		sqlite3_bind_text(st, 1, m->from.addr, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, store_now());
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_reset(st);
			store_error(s, e, "cannot log acknowledgement");
			goto out;
		}
		sqlite3_reset(st);
		res->acks_queued++;
	} else {
		res->acks_suppressed++;
	}
	if (res->kind == INGEST_NEW_TICKET && res->routed &&
	    strcmp(t.queue, TICKET_DEFAULT_QUEUE) != 0 &&
	    queue_notices(ob, s, &t, m, &res->notices_queued, e) < 0)
		goto out;
	rc = 0;
out:
	ticket_release(&t);
	return rc;
}

int
outbound_on_route(struct outbound *ob, struct store *s, int64_t ticket_id, struct err *e)
{
	struct ticket t;
	int n = 0, rc;

	if (ticket_load(s, ticket_id, &t, e) < 0)
		return -1;
	rc = queue_notices(ob, s, &t, NULL, &n, e);
	ticket_release(&t);
	return rc;
}

/* Splits "a, b" into the array rcpts points into (the string is modified). */
static size_t
split_rcpts(char *list, const char **rcpts, size_t max)
{
	size_t n = 0;

	for (char *p = list; *p && n < max;) {
		char *end;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		end = p + strcspn(p, ",");
		rcpts[n++] = p;
		if (*end)
			*end++ = '\0';
		p = end;
	}
	return n;
}

int
outbound_send(const struct config *cfg, struct store *s, bool all, struct send_stats *st,
	      struct err *e)
{
	struct transport *tr = NULL;
	int64_t *ids = NULL, last = 0;
	size_t n = 0;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	for (;;) {
		free(ids);
		if (outbox_due(s, all, store_now(), last, 200, &ids, &n, e) < 0)
			return -1;
		if (n == 0)
			break;
		if (!tr && send_open(cfg, &tr, e) < 0) {
			free(ids);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			struct outbox_item it;
			struct send_mail sm;
			const char *rcpts[64];
			struct err de = ERR_INIT;
			enum send_status ss;
			int lr;

			last = ids[i];
			lr = outbox_load(s, ids[i], &it, e);
			if (lr < 0)
				goto fail;
			if (lr > 0)
				continue;
			sm.id = it.id;
			sm.env_from = it.env_from;
			sm.rcpts = rcpts;
			sm.nrcpts = split_rcpts(it.rcpts, rcpts, ARRAY_SIZE(rcpts));
			sm.data = it.data;
			sm.len = it.len;
			ss = send_deliver(tr, &sm, &de);
			outbox_item_release(&it);
			if (ss == SEND_CONN) {
				err_set(e, EXIT_TEMPFAIL, "%s", de.msg);
				goto fail;
			}
			if (store_begin(s, e) < 0)
				goto fail;
			if (ss == SEND_OK)
				lr = outbox_mark_sent(s, ids[i], e);
			else
				lr = outbox_mark_failed(s, ids[i], de.msg, ss == SEND_REJECT,
							cfg->send.max_attempts,
							cfg->send.retry_base, e);
			if (lr < 0 || store_commit(s, e) < 0) {
				store_rollback(s);
				goto fail;
			}
			if (ss == SEND_OK)
				st->sent++;
			else if (ss == SEND_REJECT)
				st->failed++;
			else
				st->deferred++;
		}
	}
	goto out;
fail:
	rc = -1;
out:
	free(ids);
	send_close(&tr);
	return rc;
}
