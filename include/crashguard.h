/* crashguard.h - evidence of which message crashed or hung the parser.
 *
 * While a thread parses a message it names the message's intake id here.
 * If the process then dies of a crash signal (SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL, SIGABRT) or of the parse alarm (SIGALRM), a handler appends that
 * id to a file beside the store before the process ends. The next run
 * counts one attempt against each id listed, so that a poison message is
 * set aside after INTAKE_MAX_ATTEMPTS, while a kill -9 from outside, which
 * leaves no evidence, blames no message. */
#ifndef SECDESK_CRASHGUARD_H
#define SECDESK_CRASHGUARD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* Installs the handlers; the evidence file is LOCAL_BASE.crashes, on this
 * host (config.h: store.local_base; a server's URL names no file). */
void crashguard_install(const char *local_base);
/* The calling thread now parses intake row id (0: no longer parsing). */
void crashguard_enter(int64_t intake_id);
void crashguard_leave(void);
/* Counts the evidence into intake.attempts and removes the file. */
int crashguard_collect(struct store *s, struct err *e);

/* Test hook for the poison path: a message holding the text of
 * $SECDESK_FAULT_PARSE_CRASH kills the process in the parser, as a parser
 * crash would. */
void intake_fault_injection(const char *raw, size_t len);

#endif
