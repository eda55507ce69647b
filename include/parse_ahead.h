/* parse_ahead.h - parses and classifies (ingest_classify) the messages of a
 * batch in a second thread while the first one stores them: with two cores,
 * a run costs about the larger of the two instead of their sum.
 *
 * Messages are taken in the order they were pushed. The raw bytes pushed
 * must stay valid until parse_ahead_finish(). */
#ifndef SECDESK_PARSE_AHEAD_H
#define SECDESK_PARSE_AHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ingest.h"
#include "message.h"
#include "rules.h"

struct parse_ahead;

/* Starts the thread for at most cap messages. */
struct parse_ahead *parse_ahead_start(struct ingest *ing, size_t cap);
/* Queues raw (intake row intake_id, for crashguard.h) for parsing; returns
 * its index. */
size_t parse_ahead_push(struct parse_ahead *pa, const char *raw, size_t len, int64_t intake_id);
/* Waits for message i (at most timeout_s seconds: a parser that hangs longer
 * kills the process, as INTAKE_PARSE_ALARM does, so that the next run
 * isolates the message) and moves it into m and its rule outcome into ro
 * (both to be released by the caller when 0 is returned). Returns what
 * parsing and classifying returned. */
int parse_ahead_take(struct parse_ahead *pa, size_t i, struct message *m, struct rule_outcome *ro,
		     struct err *e, unsigned timeout_s);
/* Stops the thread and frees what was not taken; accepts NULL. */
void parse_ahead_finish(struct parse_ahead **pa);

/* Test hook for the poison path: a message holding the text of
 * $SECDESK_FAULT_PARSE_CRASH kills the process in the parser, as a parser
 * crash would. */
void intake_fault_injection(const char *raw, size_t len);

#endif
