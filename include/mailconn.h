/* mailconn.h - the TCP (and implicit TLS) connection to a mail server, with
 * errors that say why it failed and what to do next.
 *
 * libetpan's *_socket_connect and *_ssl_connect say only "cannot connect".
 * mailconn_open() connects itself (getaddrinfo, connect with a timeout), so
 * that a DNS failure, a refused or unreachable host and a timeout are told
 * apart, waits for the server's first bytes at most the greeting timeout,
 * and names a plain server spoken to with TLS, or a TLS port spoken to in
 * plain, as such. The stream it returns goes to mailimap_connect(),
 * mailpop3_connect() or mailsmtp_connect(), which read the greeting and take
 * the stream (they free it on failure too). */
#ifndef SECDESK_MAILCONN_H
#define SECDESK_MAILCONN_H

#include <stdbool.h>

#include <libetpan/libetpan.h>

#include "err.h"

enum mailconn_proto { MAILCONN_IMAP, MAILCONN_POP3, MAILCONN_SMTP };

/* Seconds to wait for a server's greeting: 10, or
 * $SECDESK_TEST_GREETING_TIMEOUT (tests). */
#define MAILCONN_GREETING_TIMEOUT 10
int mailconn_greeting_timeout(void);

struct mailconn_target {
	enum mailconn_proto proto;
	const char *host;
	int port;
	bool tls;    /* TLS from the first byte (imaps, pop3s, smtps) */
	int timeout; /* seconds for the TCP connection and the TLS handshake */
	/* Set by mailconn_open(): the start of what a plain server sent first,
	 * printable, for the message when the greeting is not understood. */
	char said[80];
};

/* Connects to t->host:t->port (TLS with SNI when t->tls; the certificate is
 * NOT verified here: tls_verify_stream() after the greeting). For a plain
 * connection, the greeting has begun to arrive when it returns. The stream's
 * reads time out after the greeting timeout: call mailconn_greeted() once
 * the greeting is read. Returns the stream, or NULL with e set:
 * EXIT_TEMPFAIL for DNS failure, refused, unreachable, timed out, no
 * greeting, a plain/TLS mismatch and a failed handshake; the message names
 * host:port, the cause (the system's or GnuTLS's words) and a next step. */
mailstream *mailconn_open(struct mailconn_target *t, struct err *e);

/* Sets the stream's read timeout to timeout seconds (the [mailbox] or [send]
 * timeout) once the greeting was read. */
void mailconn_greeted(mailstream *s, int timeout);

/* Fills e for a greeting that the protocol's connect could not read (the
 * stream is gone): a server that said something else, or nothing. */
void mailconn_no_greeting(const struct mailconn_target *t, struct err *e);

#endif
