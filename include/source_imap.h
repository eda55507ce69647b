/* source_imap.h - the IMAP connection behind the imap:// and imaps://
 * sources, for the commands that need more than the source interface
 * (secdesk watch: IDLE; secdesk verify: every UID on the server). */
#ifndef SECDESK_SOURCE_IMAP_H
#define SECDESK_SOURCE_IMAP_H

#include <stdint.h>

#include "config.h"
#include "err.h"
#include "source.h"

struct imap_conn;

/* Connects to [mailbox] url (TLS verified, or STARTTLS required unless
 * tls = none), logs in and selects the mailbox. Returns SRC_OK or a graded
 * failure with e set. */
int imap_conn_open(const struct config *cfg, struct imap_conn **out, struct err *e);
void imap_conn_free(struct imap_conn **c);

uint32_t imap_conn_uidvalidity(const struct imap_conn *c);

/* Waits with IDLE (RFC 2177) until the server reports new mail or
 * max_seconds pass or a signal arrives. Returns 1 when mail may have arrived, 0 on time-out,
 * or SRC_CONN_BAD / SRC_BOX_BAD with e set. Without IDLE on the server it
 * sleeps max_seconds, polling with NOOP every 30 s. */
int imap_conn_idle(struct imap_conn *c, int max_seconds, struct err *e);

/* Every UID in the mailbox (sorted), with its \Seen flag. */
int imap_conn_uids(struct imap_conn *c, uint32_t **uids, unsigned char **seen, size_t *n,
		   struct err *e);

#endif
