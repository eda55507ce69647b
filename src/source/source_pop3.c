/* pop3s://USER@HOST[:PORT] and pop3://... (STLS required unless [mailbox]
 * tls = none) as a mail source.
 *
 * A message's key is its UIDL; a server without UIDL gets the SHA-256 of
 * the message ("sha256:HEX"), which costs a download of each message when
 * listing. POP3 has no flags and no folders: after = seen and keep leave
 * the messages on the server (the store knows their keys), delete marks
 * them DELE (applied when the session ends with QUIT), and move:FOLDER is
 * refused. */
#include "compat.h"

#include <strings.h>

#include <gnutls/crypto.h>
#include <libetpan/libetpan.h>

#include "auth.h"
#include "mailconn.h"
#include "mailurl.h"
#include "source.h"
#include "testhook.h"
#include "tls.h"
#include "xalloc.h"

#define POP3_MAX_MESSAGE ((size_t)256 * 1024 * 1024)
#define POP3_DEFAULT_TIMEOUT 60

struct pop_msg {
	char *key;
	unsigned idx;
	uint32_t size;
};

struct source {
	const struct config *cfg;
	struct mailurl url;
	bool tls;
	char *id;
	mailpop3 *pop;
	struct pop_msg *msgs; /* sorted by key */
	size_t n;
	unsigned long handed; /* messages given to callbacks (fault injection) */
};

static const char *
server_said(const mailpop3 *p)
{
	return p && p->pop3_response && *p->pop3_response ? p->pop3_response : "no reason given";
}

static bool
conn_lost(int r)
{
	return r == MAILPOP3_ERROR_STREAM || r == MAILPOP3_ERROR_CONNECTION_REFUSED ||
	       r == MAILPOP3_ERROR_SSL || r == MAILPOP3_ERROR_BAD_STATE;
}

static int
pop_fail(struct source *s, int r, const char *what, struct err *e)
{
	if (conn_lost(r)) {
		err_set(e, EXIT_TEMPFAIL, "pop3 server '%s:%d': connection lost during %s",
			s->url.host, s->url.port, what);
		return SRC_CONN_BAD;
	}
	err_set(e, EXIT_UNAVAILABLE, "pop3 server '%s': %s failed: %s", s->url.host, what,
		server_said(s->pop));
	return SRC_BOX_BAD;
}

static bool
param_listed(clist *params, const char *param)
{
	for (clistiter *p = params ? clist_begin(params) : NULL; p; p = clist_next(p)) {
		const char *v = clist_content(p);

		if (v && strcasecmp(v, param) == 0)
			return true;
	}
	return false;
}

/* Whether CAPA lists name (and, when param is given, that parameter). */
static bool
has_capa(struct source *s, const char *name, const char *param)
{
	clist *caps = NULL;
	bool found = false;

	if (mailpop3_capa(s->pop, &caps) != MAILPOP3_NO_ERROR || !caps)
		return false;
	for (clistiter *it = clist_begin(caps); it && !found; it = clist_next(it)) {
		struct mailpop3_capa *c = clist_content(it);

		if (strcasecmp(c->cap_name, name) != 0)
			continue;
		if (!param) {
			found = true;
			break;
		}
		found = param_listed(c->cap_param, param);
	}
	mailpop3_capa_resp_free(caps);
	return found;
}

static int
pop3_timeout(const struct config *cfg)
{
	return cfg->mailbox.conn.timeout > 0 ? cfg->mailbox.conn.timeout : POP3_DEFAULT_TIMEOUT;
}

static int
connect_tls(struct source *s, struct err *e)
{
	const struct conn_config *cc = &s->cfg->mailbox.conn;
	int r;

	struct mailconn_target t = {
		.proto = MAILCONN_POP3, .host = s->url.host, .port = s->url.port,
		.tls = s->tls, .timeout = pop3_timeout(s->cfg),
	};
	mailstream *stream = mailconn_open(&t, e);

	if (!stream)
		return SRC_CONN_BAD;
	r = mailpop3_connect(s->pop, stream);
	if (r != MAILPOP3_NO_ERROR) {
		mailconn_no_greeting(&t, e);
		return SRC_CONN_BAD;
	}
	mailconn_greeted(s->pop->pop3_stream, t.timeout);
	if (!s->tls) {
		if (cc->tls_none)
			return SRC_OK;
		if (!has_capa(s, "STLS", NULL)) {
			err_set(e, EXIT_UNAVAILABLE, "pop3 server '%s:%d' offers no STLS: not "
				"logging in without encryption (set [mailbox] tls = none to "
				"allow it)", s->url.host, s->url.port);
			return SRC_CONN_BAD;
		}
		r = mailpop3_socket_starttls_with_callback(s->pop, tls_sni_callback, s->url.host);
		if (r != MAILPOP3_NO_ERROR) {
			err_set(e, EXIT_UNAVAILABLE, "pop3 server '%s:%d': STLS failed: %s",
				s->url.host, s->url.port, server_said(s->pop));
			return SRC_CONN_BAD;
		}
	}
	if (tls_verify_stream(s->pop->pop3_stream, "pop3", s->url.host, cc->ca_file, e) < 0)
		return e->code == EXIT_UNAVAILABLE ? SRC_CONN_BAD : SRC_BOX_BAD;
	return SRC_OK;
}

static int
login(struct source *s, struct err *e)
{
	struct auth a;
	int r = MAILPOP3_ERROR_DENIED;

	if (s->cfg->mailbox.conn.oauth_token_command)
		return err_set(e, EXIT_CONFIG, "oauth_token_command: XOAUTH2 is supported for "
			       "imap and imaps only"), SRC_BOX_BAD;
	if (auth_load(&a, &s->cfg->mailbox.conn, &s->url, "SECDESK_MAILBOX_PASSWORD", e) < 0)
		return SRC_BOX_BAD;
	if (has_capa(s, "SASL", "PLAIN"))
		r = mailpop3_auth(s->pop, "PLAIN", s->url.host, NULL, NULL, a.user, a.user,
				  a.password, NULL);
	else if (has_capa(s, "SASL", "LOGIN"))
		r = mailpop3_auth(s->pop, "LOGIN", s->url.host, NULL, NULL, a.user, a.user,
				  a.password, NULL);
	/* Without a SASL mechanism in common: USER/PASS, encrypted. */
	if (r != MAILPOP3_NO_ERROR && !conn_lost(r))
		r = mailpop3_login(s->pop, a.user, a.password);
	if (r != MAILPOP3_NO_ERROR) {
		if (conn_lost(r))
			r = pop_fail(s, r, "login", e);
		else {
			err_set(e, EXIT_CONFIG, "pop3 server '%s': login as '%s' refused: %s",
				s->url.host, a.user, server_said(s->pop));
			r = SRC_BOX_BAD;
		}
		auth_release(&a);
		return r;
	}
	auth_release(&a);
	return SRC_OK;
}

/* A new POP3 session: connect, TLS verified, login. */
static int
session_start(struct source *s, struct err *e)
{
	int rc;

	s->pop = mailpop3_new(0, NULL);
	mailpop3_set_timeout(s->pop, pop3_timeout(s->cfg));
	if ((rc = connect_tls(s, e)) != SRC_OK)
		return rc;
	return login(s, e);
}

static void
po_close(struct source *s)
{
	if (!s)
		return;
	if (s->pop) {
		/* QUIT is what makes DELE take effect. */
		if (s->pop->pop3_stream)
			mailpop3_quit(s->pop);
		mailpop3_free(s->pop);
	}
	for (size_t i = 0; i < s->n; i++)
		free(s->msgs[i].key);
	free(s->msgs);
	free(s->id);
	mailurl_release(&s->url);
	free(s);
}

static int
po_open(const struct config *cfg, struct source **out, struct err *e)
{
	const char *url = cfg->mailbox.conn.url;
	struct source *s;
	bool tls = strncmp(url, "pop3s:", 6) == 0;
	int rc;

	if (cfg->mailbox.after == AFTER_MOVE) {
		err_set(e, EXIT_CONFIG, "[mailbox] after = move: POP3 has no folders (use seen, "
			"delete or keep)");
		return config_prefix_err(cfg, "mailbox", "after", e), SRC_BOX_BAD;
	}
	if (tls && cfg->mailbox.conn.tls_none) {
		err_set(e, EXIT_CONFIG, "[mailbox] tls = none contradicts url '%s'", url);
		return config_prefix_err(cfg, "mailbox", "tls", e), SRC_BOX_BAD;
	}
	s = xcalloc(1, sizeof(*s));
	s->cfg = cfg;
	s->tls = tls;
	if (mailurl_parse(&s->url, url, tls ? 995 : 110, e) < 0) {
		free(s);
		return config_prefix_err(cfg, "mailbox", "url", e), SRC_BOX_BAD;
	}
	if ((rc = session_start(s, e)) != SRC_OK) {
		po_close(s);
		return rc;
	}
	free(s->url.path);
	s->url.path = xstrdup("");
	s->id = mailurl_format(&s->url, tls ? 995 : 110);
	*out = s;
	return SRC_OK;
}

static const char *
po_id(struct source *s)
{
	return s->id;
}

static int
msg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pop_msg *)a)->key, ((const struct pop_msg *)b)->key);
}

static char *
hash_key(const char *raw, size_t len)
{
	unsigned char d[32];
	char hex[65];

	gnutls_hash_fast(GNUTLS_DIG_SHA256, raw, len, d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return xasprintf("sha256:%s", hex);
}

static int
ignore_key(void *arg, const char *key, const char *where)
{
	(void)arg;
	(void)key;
	(void)where;
	return 0;
}

static int
po_list(struct source *s, source_key_cb cb, void *arg, struct err *e)
{
	carray *tab = NULL;
	int r;

	for (size_t i = 0; i < s->n; i++)
		free(s->msgs[i].key);
	s->n = 0;
	r = mailpop3_list(s->pop, &tab);
	if (r != MAILPOP3_NO_ERROR)
		return pop_fail(s, r, "listing the messages", e);
	free(s->msgs);
	s->msgs = xcalloc(carray_count(tab) + 1, sizeof(*s->msgs));
	for (unsigned i = 0; i < carray_count(tab); i++) {
		struct mailpop3_msg_info *mi = carray_get(tab, i);
		char *key;

		if (!mi || mi->msg_deleted)
			continue;
		if (mi->msg_uidl && *mi->msg_uidl) {
			key = xstrdup(mi->msg_uidl);
		} else {
			char *raw;
			size_t len;

			r = mailpop3_retr(s->pop, mi->msg_index, &raw, &len);
			if (r != MAILPOP3_NO_ERROR)
				return pop_fail(s, r, "reading a message without UIDL", e);
			key = hash_key(raw, len);
			mailpop3_retr_free(raw);
		}
		s->msgs[s->n].key = key;
		s->msgs[s->n].idx = mi->msg_index;
		s->msgs[s->n].size = mi->msg_size;
		s->n++;
	}
	qsort(s->msgs, s->n, sizeof(*s->msgs), msg_cmp);
	for (size_t i = 0; i < s->n; i++) {
		int rc;

		if (i > 0 && strcmp(s->msgs[i].key, s->msgs[i - 1].key) == 0)
			continue;
		if ((rc = cb(arg, s->msgs[i].key, NULL)) != 0)
			return rc;
	}
	return SRC_OK;
}

static struct pop_msg *
find_msg(struct source *s, const char *key)
{
	struct pop_msg k = { .key = (char *)key };

	return bsearch(&k, s->msgs, s->n, sizeof(k), msg_cmp);
}

static int
po_fetch(struct source *s, const char *const *keys, size_t n, source_msg_cb cb, void *arg,
	 struct err *e)
{
	int rc = SRC_OK;

	for (size_t i = 0; i < n; i++) {
		struct pop_msg *m = find_msg(s, keys[i]);
		char *raw;
		size_t len;
		int r;

		if (!m)
			continue;
		if (m->size > POP3_MAX_MESSAGE) {
			err_set(e, EXIT_DATAERR, "pop3 message %s is %u bytes, more than %zu: left "
				"on the server", keys[i], m->size, POP3_MAX_MESSAGE);
			rc = SRC_MSG_BAD;
			continue;
		}
		r = mailpop3_retr(s->pop, m->idx, &raw, &len);
		if (r != MAILPOP3_NO_ERROR) {
			if (conn_lost(r))
				return pop_fail(s, r, "fetching messages", e);
			err_set(e, EXIT_DATAERR, "pop3 message %s: %s", keys[i], server_said(s->pop));
			rc = SRC_MSG_BAD;
			continue;
		}
		r = cb(arg, m->key, raw, len);
		mailpop3_retr_free(raw);
		if (r != 0)
			return r;
		testhook_source_stop(&s->handed);
	}
	return rc;
}

/* DELE takes effect only at QUIT, and mark_done must be durable when it
 * returns (the store then records the keys as done): so each batch ends
 * the session with QUIT and starts a new one, listing the mailbox again. */
static int
po_mark_done(struct source *s, const char *const *keys, size_t n, struct err *e)
{
	size_t deleted = 0;
	int rc;

	if (s->cfg->mailbox.after != AFTER_DELETE)
		return SRC_OK;
	for (size_t i = 0; i < n; i++) {
		struct pop_msg *m = find_msg(s, keys[i]);
		int r;

		if (!m)
			continue;
		r = mailpop3_dele(s->pop, m->idx);
		if (r != MAILPOP3_NO_ERROR && r != MAILPOP3_ERROR_NO_SUCH_MESSAGE)
			return pop_fail(s, r, "deleting messages", e);
		deleted++;
	}
	if (!deleted)
		return SRC_OK;
	if (mailpop3_quit(s->pop) != MAILPOP3_NO_ERROR) {
		err_set(e, EXIT_TEMPFAIL, "pop3 server '%s:%d': QUIT failed: messages not deleted",
			s->url.host, s->url.port);
		return SRC_CONN_BAD;
	}
	mailpop3_free(s->pop);
	s->pop = NULL;
	if ((rc = session_start(s, e)) != SRC_OK)
		return rc;
	/* The new session numbers the messages anew: list them again, for
	 * the table alone. */
	return po_list(s, ignore_key, NULL, e);
}

const struct source_ops source_pop3s_ops = {
	.scheme = "pop3s",
	.open = po_open,
	.id = po_id,
	.list = po_list,
	.fetch = po_fetch,
	.mark_done = po_mark_done,
	.close = po_close,
};

const struct source_ops source_pop3_ops = {
	.scheme = "pop3",
	.open = po_open,
	.id = po_id,
	.list = po_list,
	.fetch = po_fetch,
	.mark_done = po_mark_done,
	.close = po_close,
};
