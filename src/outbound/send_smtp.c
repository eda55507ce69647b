/* smtp://HOST[:PORT] and smtps://HOST[:PORT] - SMTP submission over one
 * connection reused for the whole queue.
 *
 * libetpan's mailsmtp connects, says EHLO, runs STARTTLS and XOAUTH2; the
 * certificate is verified by tls.c before anything else is sent. smtp://
 * requires STARTTLS unless [send] tls = none is said. The mail transaction
 * itself (MAIL, RCPT, DATA) is written here on libetpan's stream, so that it
 * can be pipelined (RFC 2920) when the server offers PIPELINING: one round
 * trip for the envelope, one for the message. AUTH PLAIN and LOGIN are
 * written here too, which needs no SASL plugin. */
#include "compat.h"

#include <libetpan/libetpan.h>
#include <strings.h>

#include "auth.h"
#include "buf.h"
#include "mailconn.h"
#include "mailurl.h"
#include "mimeout.h"
#include "send.h"
#include "tls.h"
#include "xalloc.h"

#define SMTP_DEFAULT_TIMEOUT 60
#define SMTP_REPLY_LINES 100

struct smtp_state {
	mailsmtp *smtp;
	struct mailurl url;
	bool pipelining;
	bool dirty;   /* a transaction was left half done: RSET first */
	struct buf out;
	struct buf reply;
};

/* Reads one reply (all its lines); -1 when the connection is gone or the
 * server does not speak SMTP. The text of the last reply is in st->reply. */
static int
read_reply(struct smtp_state *st, int *code)
{
	buf_reset(&st->reply);
	for (int n = 0; n < SMTP_REPLY_LINES; n++) {
		char *l = mailstream_read_line_remove_eol(st->smtp->stream, st->smtp->line_buffer);

		if (!l)
			return -1;
		if (strlen(l) < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
		    l[2] < '0' || l[2] > '9' || (l[3] && l[3] != ' ' && l[3] != '-'))
			return -1;
		if (st->reply.len < 400) {
			if (st->reply.len)
				buf_addch(&st->reply, ' ');
			buf_add(&st->reply, l, strnlen(l, 400));
		}
		if (l[3] != '-') {
			*code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
			/* Nothing from the server may break our own records. */
			for (char *p = st->reply.data; p && *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
					*p = ' ';
			return 0;
		}
	}
	return -1;
}

static int
flush_out(struct smtp_state *st)
{
	if (st->out.len && mailstream_write(st->smtp->stream, st->out.data, st->out.len) < 0)
		return -1;
	buf_reset(&st->out);
	return mailstream_flush(st->smtp->stream) < 0 ? -1 : 0;
}

/* One command, one reply. */
static int
command(struct smtp_state *st, const char *line, int *code)
{
	buf_reset(&st->out);
	buf_addf(&st->out, "%s\r\n", line);
	if (flush_out(st) < 0)
		return -1;
	return read_reply(st, code);
}

static void
b64(struct buf *b, const char *s, size_t n)
{
	struct buf t = BUF_INIT;

	mime_base64_encode(&t, (const unsigned char *)s, n);
	/* One line: drop the CRLFs the MIME encoder puts in. */
	for (size_t i = 0; i < t.len; i++)
		if (t.data[i] != '\r' && t.data[i] != '\n')
			buf_addch(b, t.data[i]);
	buf_release(&t);
}

static int
auth_failed(struct smtp_state *st, int code, const char *user, struct err *e)
{
	return err_set(e, code >= 400 && code < 500 ? EXIT_TEMPFAIL : EXIT_CONFIG,
		       "smtp server '%s': login as '%s' refused: %s", st->url.host, user,
		       buf_cstr(&st->reply));
}

static int
authenticate(struct smtp_state *st, const struct config *cfg, struct err *e)
{
	const struct conn_config *cc = &cfg->send.conn;
	struct auth a;
	struct buf line = BUF_INIT;
	int code = 0, rc = -1;

	if (!cc->user && !st->url.user && !cc->password_file && !cc->oauth_token_command &&
	    !getenv("SECDESK_SEND_PASSWORD"))
		return 0;
	if (auth_load(&a, cc, &st->url, "SECDESK_SEND_PASSWORD", e) < 0)
		return -1;
	if (a.oauth_token) {
		if (mailsmtp_oauth2_authenticate(st->smtp, a.user, a.oauth_token) != MAILSMTP_NO_ERROR) {
			err_set(e, EXIT_CONFIG, "smtp server '%s': XOAUTH2 as '%s' refused: %s",
				st->url.host, a.user, st->smtp->response ? st->smtp->response : "");
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (st->smtp->auth & MAILSMTP_AUTH_PLAIN) {
		struct buf cred = BUF_INIT;

		buf_addch(&cred, '\0');
		buf_addstr(&cred, a.user);
		buf_addch(&cred, '\0');
		buf_addstr(&cred, a.password);
		buf_addstr(&line, "AUTH PLAIN ");
		b64(&line, cred.data, cred.len);
		explicit_bzero(cred.data, cred.len);
		buf_release(&cred);
		if (command(st, line.data, &code) < 0)
			goto lost;
	} else if (st->smtp->auth & MAILSMTP_AUTH_LOGIN) {
		if (command(st, "AUTH LOGIN", &code) < 0)
			goto lost;
		if (code == 334) {
			b64(&line, a.user, strlen(a.user));
			if (command(st, line.data, &code) < 0)
				goto lost;
		}
		if (code == 334) {
			explicit_bzero(line.data, line.len);
			buf_reset(&line);
			b64(&line, a.password, strlen(a.password));
			if (command(st, line.data, &code) < 0)
				goto lost;
		}
	} else {
		err_set(e, EXIT_CONFIG, "smtp server '%s' offers no AUTH PLAIN or LOGIN",
			st->url.host);
		goto out;
	}
	if (code != 235) {
		auth_failed(st, code, a.user, e);
		goto out;
	}
	rc = 0;
	goto out;
lost:
	err_set(e, EXIT_TEMPFAIL, "smtp server '%s': connection lost during login", st->url.host);
out:
	if (line.data)
		explicit_bzero(line.data, line.len);
	buf_release(&line);
	auth_release(&a);
	return rc;
}

static int
ehlo(struct smtp_state *st, struct err *e)
{
	int r = mailesmtp_ehlo(st->smtp);

	if (r == MAILSMTP_ERROR_NOT_IMPLEMENTED)
		r = mailsmtp_helo(st->smtp);
	if (r != MAILSMTP_NO_ERROR)
		return err_set(e, EXIT_TEMPFAIL, "smtp server '%s': EHLO: %s", st->url.host,
			       st->smtp->response ? st->smtp->response : mailsmtp_strerror(r));
	st->pipelining = (st->smtp->esmtp & MAILSMTP_ESMTP_PIPELINING) != 0;
	return 0;
}

static void
smtp_free(struct smtp_state *st)
{
	if (!st)
		return;
	if (st->smtp)
		mailsmtp_free(st->smtp);
	mailurl_release(&st->url);
	buf_release(&st->out);
	buf_release(&st->reply);
	free(st);
}

/* TCP (and TLS for smtps) by mailconn, which says why it failed, then the
 * greeting: MAILSMTP_NO_ERROR, or another code with e set (75). */
static int
smtp_connect(struct smtp_state *st, bool tls, const struct conn_config *cc, struct err *e)
{
	struct mailconn_target t = {
		.proto = MAILCONN_SMTP, .host = st->url.host, .port = st->url.port, .tls = tls,
		.timeout = cc->timeout > 0 ? cc->timeout : SMTP_DEFAULT_TIMEOUT,
	};
	mailstream *s = mailconn_open(&t, e);
	int r;

	if (!s)
		return MAILSMTP_ERROR_CONNECTION_REFUSED;
	r = mailsmtp_connect(st->smtp, s);
	if (r == MAILSMTP_NO_ERROR) {
		mailconn_greeted(st->smtp->stream, t.timeout);
		return r;
	}
	if (st->smtp->response)
		err_set(e, EXIT_TEMPFAIL, "smtp server '%s:%d': refused the session: %s",
			st->url.host, st->url.port, st->smtp->response);
	else
		mailconn_no_greeting(&t, e);
	return r;
}

static int
smtp_open_common(const struct config *cfg, bool tls, void **state, struct err *e)
{
	const struct conn_config *cc = &cfg->send.conn;
	struct smtp_state *st = xcalloc(1, sizeof(*st));
	int r;

	buf_init(&st->out, 0);
	buf_init(&st->reply, 0);
	if (mailurl_parse(&st->url, cc->url, tls ? 465 : 587, e) < 0) {
		config_prefix_err(cfg, "send", "url", e);
		goto fail;
	}
	if (tls && cc->tls_none) {
		err_set(e, EXIT_CONFIG, "[send] tls = none contradicts url '%s'", cc->url);
		config_prefix_err(cfg, "send", "tls", e);
		goto fail;
	}
	st->smtp = mailsmtp_new(0, NULL);
	mailsmtp_set_timeout(st->smtp, cc->timeout > 0 ? cc->timeout : SMTP_DEFAULT_TIMEOUT);
	if ((r = smtp_connect(st, tls, cc, e)) != MAILSMTP_NO_ERROR)
		goto fail;
	if (tls && tls_verify_stream(st->smtp->stream, "smtp", st->url.host, cc->ca_file, e) < 0)
		goto fail;
	if (ehlo(st, e) < 0)
		goto fail;
	if (!tls && !cc->tls_none) {
		/* smtp:// means STARTTLS: no mail and no password in clear. */
		if (!(st->smtp->esmtp & MAILSMTP_ESMTP_STARTTLS)) {
			err_set(e, EXIT_UNAVAILABLE, "smtp server '%s:%d' offers no STARTTLS: not "
				"sending without encryption (set [send] tls = none to allow it)",
				st->url.host, st->url.port);
			goto fail;
		}
		r = mailsmtp_socket_starttls_with_callback(st->smtp, tls_sni_callback, st->url.host);
		if (r != MAILSMTP_NO_ERROR) {
			err_set(e, EXIT_UNAVAILABLE, "smtp server '%s:%d': STARTTLS failed: %s",
				st->url.host, st->url.port, mailsmtp_strerror(r));
			goto fail;
		}
		if (tls_verify_stream(st->smtp->stream, "smtp", st->url.host, cc->ca_file, e) < 0)
			goto fail;
		/* What the server offered before TLS cannot be trusted. */
		if (ehlo(st, e) < 0)
			goto fail;
	}
	if (authenticate(st, cfg, e) < 0)
		goto fail;
	*state = st;
	return 0;
fail:
	smtp_free(st);
	return -1;
}

static int
smtp_open(const struct config *cfg, const char *url, void **state, struct err *e)
{
	(void)url;
	return smtp_open_common(cfg, false, state, e);
}

static int
smtps_open(const struct config *cfg, const char *url, void **state, struct err *e)
{
	(void)url;
	return smtp_open_common(cfg, true, state, e);
}

static enum send_status
grade(struct smtp_state *st, int code, const char *what, struct err *e)
{
	err_set(e, code >= 500 ? EXIT_DATAERR : EXIT_TEMPFAIL, "smtp server '%s': %s: %s",
		st->url.host, what, buf_cstr(&st->reply));
	if (code == 421)
		return SEND_CONN;
	return code >= 500 ? SEND_REJECT : SEND_DEFER;
}

static enum send_status
connection_lost(struct smtp_state *st, struct err *e)
{
	err_set(e, EXIT_TEMPFAIL, "smtp server '%s:%d': connection lost", st->url.host,
		st->url.port);
	return SEND_CONN;
}

/* The message, CRLF line ends, dot-stuffed, with the final dot line. */
static void
add_data(struct buf *b, const char *d, size_t n)
{
	bool bol = true;

	for (size_t i = 0; i < n; i++) {
		char c = d[i];

		if (bol && c == '.')
			buf_addch(b, '.');
		if (c == '\n' && (i == 0 || d[i - 1] != '\r'))
			buf_addch(b, '\r');
		if (c == '\r' && (i + 1 >= n || d[i + 1] != '\n')) {
			/* A bare CR is not a line end: drop it, as SMTP wants. */
			continue;
		}
		buf_addch(b, c);
		bol = c == '\n';
	}
	if (!bol)
		buf_addstr(b, "\r\n");
	buf_addstr(b, ".\r\n");
}

/* Reads n more replies (to commands sent in one group) while the reply
 * that said why stays the one st->reply holds; false when the connection
 * is gone. With dot, a 354 among them is answered with an empty mail. */
static bool
drain_replies(struct smtp_state *st, size_t n, bool dot)
{
	struct buf why = BUF_INIT;
	bool ok = true;
	int code;

	buf_addstr(&why, buf_cstr(&st->reply));
	for (size_t i = 0; ok && i < n; i++) {
		ok = read_reply(st, &code) == 0;
		if (ok && dot && code == 354)
			ok = command(st, ".", &code) == 0;
	}
	buf_reset(&st->reply);
	buf_addstr(&st->reply, buf_cstr(&why));
	buf_release(&why);
	return ok;
}

/* A mail whose envelope the server cannot take: bad addresses never leave. */
static bool
envelope_ok(const struct send_mail *m, struct err *e)
{
	if (*m->env_from && !mime_addr_ok(m->env_from)) {
		err_set(e, EXIT_DATAERR, "bad envelope sender '%s'", m->env_from);
		return false;
	}
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (!mime_addr_ok(m->rcpts[i])) {
			err_set(e, EXIT_DATAERR, "bad recipient '%s'", m->rcpts[i]);
			return false;
		}
	}
	return true;
}

/* MAIL FROM, the RCPT TOs and, when piped, DATA; SEND_OK when the server
 * took MAIL FROM and the RCPT replies are to be read. */
static enum send_status
send_envelope(struct smtp_state *st, const struct send_mail *m, bool data_piped, struct err *e)
{
	int code;

	st->dirty = true;
	buf_reset(&st->out);
	buf_addf(&st->out, "MAIL FROM:<%s>\r\n", m->env_from);
	if (!st->pipelining) {
		if (flush_out(st) < 0 || read_reply(st, &code) < 0)
			return connection_lost(st, e);
		if (code / 100 != 2)
			return grade(st, code, "MAIL FROM", e);
	}
	for (size_t i = 0; i < m->nrcpts; i++)
		buf_addf(&st->out, "RCPT TO:<%s>\r\n", m->rcpts[i]);
	if (data_piped)
		buf_addstr(&st->out, "DATA\r\n");
	if (flush_out(st) < 0)
		return connection_lost(st, e);
	if (!st->pipelining)
		return SEND_OK;
	if (read_reply(st, &code) < 0)
		return connection_lost(st, e);
	if (code / 100 == 2)
		return SEND_OK;
	/* Read the replies to the rest of the group, then say why. */
	if (!drain_replies(st, m->nrcpts + (data_piped ? 1 : 0), false))
		return connection_lost(st, e);
	return grade(st, code, "MAIL FROM", e);
}

/* The replies to the RCPT TOs, into m's outcomes; SEND_OK when the mail
 * goes on to DATA. */
static enum send_status
read_rcpt_replies(struct smtp_state *st, const struct send_mail *m, bool data_piped,
		  struct err *e)
{
	int code, accepted = 0, temp = 0, perm = 0;
	bool closing = false;

	for (size_t i = 0; i < m->nrcpts; i++) {
		if (read_reply(st, &code) < 0)
			return connection_lost(st, e);
		if (code / 100 == 2) {
			accepted++;
			continue;
		}
		if (code == 421)
			closing = true;
		if (code / 100 == 4)
			temp = code;
		else
			perm = code;
		if (m->rcpt_status) {
			m->rcpt_status[i] = code / 100 == 4 ? SEND_DEFER : SEND_REJECT;
			free(m->rcpt_reply[i]);
			m->rcpt_reply[i] = xstrdup(buf_cstr(&st->reply));
		}
	}
	/* Nobody took it, the server is closing, or a recipient that may
	 * work later that the caller cannot retry alone: the whole mail is
	 * retried later (or failed), so that nobody gets it twice. */
	if (accepted == 0 || closing || (temp && !m->rcpt_status)) {
		if (data_piped && !drain_replies(st, 1, true))
			return connection_lost(st, e);
		return grade(st, closing ? 421 : temp ? temp : perm, "RCPT TO", e);
	}
	return SEND_OK;
}

/* DATA (unless piped), the mail and its end. */
static enum send_status
send_data(struct smtp_state *st, const struct send_mail *m, bool data_piped, struct err *e)
{
	int code;

	if (!data_piped) {
		buf_reset(&st->out);
		buf_addstr(&st->out, "DATA\r\n");
		if (flush_out(st) < 0)
			return connection_lost(st, e);
	}
	if (read_reply(st, &code) < 0)
		return connection_lost(st, e);
	if (code != 354)
		return grade(st, code, "DATA", e);
	buf_reset(&st->out);
	add_data(&st->out, m->data, m->len);
	if (flush_out(st) < 0 || read_reply(st, &code) < 0)
		return connection_lost(st, e);
	st->dirty = false;
	if (code / 100 != 2)
		return grade(st, code, "end of data", e);
	return SEND_OK;
}

static enum send_status
smtp_deliver(void *state, const struct send_mail *m, struct err *e)
{
	struct smtp_state *st = state;
	/* DATA joins the pipelined group only for one recipient: with more,
	 * a 354 after a deferred recipient could not be taken back. */
	bool data_piped = st->pipelining && m->nrcpts == 1;
	enum send_status ss;
	int code;

	if (st->dirty) {
		if (command(st, "RSET", &code) < 0)
			return connection_lost(st, e);
		st->dirty = false;
	}
	if (!envelope_ok(m, e))
		return SEND_REJECT;
	ss = send_envelope(st, m, data_piped, e);
	if (ss == SEND_OK)
		ss = read_rcpt_replies(st, m, data_piped, e);
	if (ss == SEND_OK)
		ss = send_data(st, m, data_piped, e);
	return ss;
}

static void
smtp_close(void *state)
{
	struct smtp_state *st = state;
	int code;

	if (!st)
		return;
	if (st->smtp && st->smtp->stream)
		(void)command(st, "QUIT", &code);
	smtp_free(st);
}

const struct transport_ops send_smtp_ops = {
	.prefix = "smtp://",
	.open = smtp_open,
	.deliver = smtp_deliver,
	.close = smtp_close,
};

const struct transport_ops send_smtps_ops = {
	.prefix = "smtps://",
	.open = smtps_open,
	.deliver = smtp_deliver,
	.close = smtp_close,
};
