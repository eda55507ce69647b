/* mailurl.h - the server URLs of [mailbox] url and [send] url:
 * SCHEME://[USER@]HOST[:PORT][/PATH], HOST a name, an IPv4 address or an
 * [IPv6] literal; USER and PATH may be %-encoded. A password in the URL is
 * refused: secrets come from password_file or the environment. */
#ifndef SECDESK_MAILURL_H
#define SECDESK_MAILURL_H

#include "err.h"

struct mailurl {
	char *scheme; /* lowercase: "imaps", "pop3", "smtp"... */
	char *user;   /* decoded; NULL when the URL has none */
	char *host;   /* without brackets */
	int port;     /* the scheme's default when the URL has none */
	char *path;   /* decoded, without the leading '/'; "" when none */
};

/* Fills u. default_port is used when the URL names none (0: required).
 * Returns 0, or -1 with e set (EXIT_CONFIG, naming the problem). */
int mailurl_parse(struct mailurl *u, const char *url, int default_port, struct err *e);
void mailurl_release(struct mailurl *u);

/* The URL rebuilt without secrets, the port only when not default_port:
 * "imaps://desk@imap.example.org/INBOX". Allocated. */
char *mailurl_format(const struct mailurl *u, int default_port);

#endif
