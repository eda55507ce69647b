/* outage.h - cron etiquette for a mailbox that cannot be reached.
 *
 * A transient failure of the mailbox (EXIT_TEMPFAIL) is said once when it
 * starts and once when it ends ("mailbox reachable again after 2h 10m");
 * in between, quiet runs (-q, the cron job) stay silent until the outage
 * is older than [mailbox] alert_after, then say so once an hour. Runs
 * without -q say every failure, as before. The outage's start and when it
 * was last said are kept in the store (store_state.h), so that separate
 * runs agree. Syslog gets every failure. Exit codes are the caller's. */
#ifndef SECDESK_OUTAGE_H
#define SECDESK_OUTAGE_H

#include "cli.h"

/* The mailbox failed with e: says it, or not, as above. */
void outage_mailbox_failed(struct cli_ctx *ctx, const struct err *e);
/* The mailbox was reached: ends an outage, saying so once. */
void outage_mailbox_ok(struct cli_ctx *ctx);

#endif
