/* rules.h - the rule engine: rules/NN-name.rules (PCRE2) and the queue list.
 *
 * Loaded once per run (patterns JIT-compiled once); applied to every new
 * inbound message. Owned by the rule-engine module (rules*.c). */
#ifndef SECDESK_RULES_H
#define SECDESK_RULES_H

#include <stdbool.h>

#include "err.h"
#include "message.h"
#include "strlist.h"
#include "ticket.h"

struct ruleset;

/* A routing target: a partner country (ISO 3166-1 alpha-2), a region, the
 * European Commission ("EC") or the secretariat's own default queue. */
struct queue {
	char *id;       /* "DE", "EC", "secretariat", ... */
	char *name;     /* display name */
	char *language; /* ISO 639-1 of the partner, "" when unknown */
	struct strlist contacts; /* addresses that get partner notifications */
};

/* What the rules decided for one message. Strings NULL when not set. */
struct rule_outcome {
	char *queue;
	char *category;
	char *priority;
	char *language;
	char *assignee;
	struct strlist tags;
	bool no_ack;          /* acknowledgement suppressed */
	char *no_ack_reason;  /* the rule that suppressed it, or NULL */
	bool spam;
	bool stopped;
	struct strlist errors; /* rules skipped for this message (match limit...) */
};

void rule_outcome_init(struct rule_outcome *o);
void rule_outcome_release(struct rule_outcome *o);

/* Loads every *.rules file of dir in name order and the queue list.
 * Errors: EXIT_CONFIG with "file:line:col: what was expected". */
int rules_load(const char *dir, struct ruleset **out, struct err *e);
void rules_free(struct ruleset **rs);

/* Applies the rules to m (t is the ticket for a follow-up, NULL for a new
 * one). Never fails on hostile mail: a rule that hits a PCRE2 limit is
 * skipped and named in out->errors. -1 only on internal error. */
int rules_apply(const struct ruleset *rs, const struct message *m, const struct ticket *t,
		struct rule_outcome *out, struct err *e);

/* The queue named id, or NULL. */
const struct queue *rules_queue(const struct ruleset *rs, const char *id);
/* The queue whose contacts include addr (case-insensitive), or NULL. */
const struct queue *rules_contact_queue(const struct ruleset *rs, const char *addr);

#endif
