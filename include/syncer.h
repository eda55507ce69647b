/* syncer.h - fdatasync() of one file in a thread of its own, on request.
 *
 * A writer that must know its writes are on disk before it acts on them,
 * but need not stop for the disk meanwhile, asks for a sync (a ticket)
 * and goes on; before it acts, it waits for that ticket. One fdatasync()
 * covers every request made before it started, so syncs group themselves
 * when the disk is slower than the requests. Its use: the send loop
 * (outbound.c) commits each mail's mark with synchronous=NORMAL and has
 * the WAL synced meanwhile (store_sync_begin). */
#ifndef SECDESK_SYNCER_H
#define SECDESK_SYNCER_H

#include <stdint.h>

#include "err.h"

struct syncer;

/* Opens path (which must exist) and starts the thread. */
int syncer_start(const char *path, struct syncer **out, struct err *e);

/* Asks for a sync of everything written to the file so far, from any
 * descriptor and any process: the ticket to wait for. */
uint64_t syncer_request(struct syncer *sy);

/* Waits until the sync of ticket is through: 0, or -1 when that sync (or
 * an earlier one) failed. A failure is final: every later wait fails. */
int syncer_wait(struct syncer *sy, uint64_t ticket, struct err *e);

/* Stops the thread, when it has done what was asked, and closes the file;
 * -1 when a sync failed. *syp becomes NULL; a NULL *syp is nothing to do. */
int syncer_stop(struct syncer **syp, struct err *e);

#endif
