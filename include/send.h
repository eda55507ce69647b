/* send.h - the transports that hand a queued mail on: one interface, one
 * table (send.c), one file per backend (send_dir.c, send_sendmail.c,
 * send_smtp.c), each parsing its own part of [send] url.
 *
 * A transport is opened once per delivery run and reused for every mail
 * (one SMTP connection for the whole queue). */
#ifndef SECDESK_SEND_H
#define SECDESK_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/* The outcome of one delivery, graded by scope (isync's DRV_*). */
enum send_status {
	SEND_OK,        /* accepted */
	SEND_DEFER,     /* this mail failed for now (4xx): retry it later */
	SEND_REJECT,    /* this mail failed for good (5xx) */
	SEND_CONN,      /* the transport is gone: stop, retry everything later */
};

/* One mail as the outbox holds it. The strings are not owned. */
struct send_mail {
	int64_t id;           /* outbox.id, for names and messages */
	const char *env_from; /* envelope sender; "" is the null sender <> */
	const char *const *rcpts;
	size_t nrcpts;
	const char *data;     /* the whole RFC 5322 message, CRLF or LF line ends */
	size_t len;
	/* Per recipient, for a transport that hears each one (SMTP); NULL
	 * for all or nothing. The caller sets every rcpt_status[i] to
	 * SEND_OK and rcpt_reply[i] to NULL; the transport sets
	 * SEND_DEFER or SEND_REJECT with the server's reply (allocated, the
	 * caller frees) for a recipient it refused. With both arrays given,
	 * a mail some recipients took is SEND_OK: it went to those, and the
	 * caller retries the deferred ones and records the rejected ones.
	 * Without them, a deferred recipient defers the whole mail. */
	enum send_status *rcpt_status;
	char **rcpt_reply;
};

struct transport;

struct transport_ops {
	const char *prefix;  /* "dir:", "sendmail:", "smtp://", "smtps://" */
	/* Opens the transport for url. -1 with EXIT_TEMPFAIL when a server
	 * cannot be reached, EXIT_CONFIG when the url or settings are wrong. */
	int (*open)(const struct config *cfg, const char *url, void **state, struct err *e);
	/* Delivers one mail; e->msg says why when it is not SEND_OK (the
	 * server's reply for SMTP). */
	enum send_status (*deliver)(void *state, const struct send_mail *m, struct err *e);
	/* Ends the session politely (QUIT) and frees the state. */
	void (*close)(void *state);
	/* Makes every mail deliver took so far durable; the caller records
	 * their outcomes only after it. NULL: a mail is durable once deliver
	 * returns (a server's reply, a program's exit). */
	int (*sync)(void *state, struct err *e);
	/* A mail delivered again replaces its earlier copy (dir: names each
	 * file by its outbox id), so outcomes may be recorded in groups; else
	 * each is recorded before the next mail goes, so that a kill re-sends
	 * at most the mail in flight. */
	bool resend_replaces;
};

extern const struct transport_ops send_dir_ops;
extern const struct transport_ops send_sendmail_ops;
extern const struct transport_ops send_smtp_ops;
extern const struct transport_ops send_smtps_ops;

/* The backend for url, or NULL. */
const struct transport_ops *send_find(const char *url);

int send_open(const struct config *cfg, struct transport **out, struct err *e);
enum send_status send_deliver(struct transport *t, const struct send_mail *m, struct err *e);
/* Does a mail delivered again replace its earlier copy (transport_ops)? */
bool send_resend_replaces(const struct transport *t);
/* transport_ops.sync: 0 at once for a transport without one. */
int send_sync(struct transport *t, struct err *e);
/* Accepts NULL; sets *t to NULL. */
void send_close(struct transport **t);

#endif
