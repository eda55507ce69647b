/* auth.h - credentials for a mail server: the user name, a password from
 * password_file or the environment (never argv), or an OAuth 2 access token
 * printed by oauth_token_command (XOAUTH2). */
#ifndef SECDESK_AUTH_H
#define SECDESK_AUTH_H

#include "config.h"
#include "err.h"
#include "mailurl.h"

/* The longest token or password accepted. */
#define AUTH_MAX_SECRET 16384

struct auth {
	char *user;
	char *password;    /* NULL when token is set */
	char *oauth_token; /* NULL unless oauth_token_command is set */
};

/* Fills a from conn: the user from conn->user, else the URL's user; the
 * token from conn->oauth_token_command when set, else the password via
 * config_read_secret(conn->password_file, env) (mode 0600 checked there).
 * Returns 0, or -1 with e set (EXIT_CONFIG; EXIT_TEMPFAIL when the token
 * command fails). */
int auth_load(struct auth *a, const struct conn_config *conn, const struct mailurl *u,
	      const char *env, struct err *e);
/* Wipes the secrets and frees. */
void auth_release(struct auth *a);

/* Runs command with /bin/sh -c; returns its first line of output
 * (allocated), or NULL with e set when it fails or prints nothing. */
char *auth_run_token_command(const char *command, struct err *e);

#endif
