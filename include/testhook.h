/* testhook.h - what tests set in the environment to reach code paths that
 * real runs reach only with large mailboxes or at unlucky moments. Unset,
 * they change nothing. */
#ifndef SECDESK_TESTHOOK_H
#define SECDESK_TESTHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* The positive number in $name when it is below dflt (a smaller window, a
 * shorter span), else dflt. */
size_t testhook_size(const char *name, size_t dflt);

/* Counts one more event (*count) and tells whether that makes the number
 * in $name: a fault a test places at the Nth sync, message, ... */
bool testhook_nth(const char *name, unsigned long *count);

/* Counts one more message handed over by a source (*handed) and stops
 * this process with SIGSTOP when that makes $SECDESK_FAULT_SOURCE_STOP, so
 * that a test can kill it or take the server away at a known point. */
void testhook_source_stop(unsigned long *handed);

/* A fault a test places at one step of one message's processing: true,
 * with e set (EXIT_DATAERR), when $SECDESK_FAULT_STEP names step and the
 * message's Message-ID (msgid, may be NULL) contains the text of
 * $SECDESK_FAULT_MSGID. Steps: parse, rules, thread, ticket, attach, ack,
 * notice. Safe on any thread. */
bool testhook_step_fails(const char *step, const char *msgid, struct err *e);

#endif
