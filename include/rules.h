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

struct ruleset;
struct ticket;

/* A routing target: a partner country (ISO 3166-1 alpha-2), a region, the
 * European Commission ("EC") or the secretariat's own default queue. */
struct queue {
	char *id;       /* "DE", "EC", "secretariat", ... */
	char *name;     /* display name */
	char *language; /* ISO 639-1 of the partner, "" when unknown */
	struct strlist contacts; /* addresses that get partner notifications */
};

/* The points that `score` actions gave one target: a queue id, or
 * "category:" and a category. */
struct rule_score {
	char *target;
	int points;
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
	/* the weighing (`score` actions): the totals in the order first
	 * scored, each piece of evidence ("+6 DE: rule 'NAME'"), and why the
	 * queue and the category were chosen (NULL when nothing was scored) */
	struct rule_score *scores;
	size_t nscores;
	struct strlist evidence;
	char *queue_why;
	char *category_why;
};

void rule_outcome_init(struct rule_outcome *o);
void rule_outcome_release(struct rule_outcome *o);

/* Loads every *.rules file of dir in name order and the queue list.
 * Errors: EXIT_CONFIG with "file:line:col: what was expected". */
int rules_load(const char *dir, struct ruleset **out, struct err *e);
/* The queue list alone, as rules_load() gives it, for a command that only
 * names queues: the rules are skipped, not compiled. */
int rules_load_queues(const char *dir, struct ruleset **out, struct err *e);
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

/* ---- beyond what ingest uses: the tools for rule authors ---- */

/* Every error of the rule files of dir, each "file:line:col: message",
 * appended to errs (rules check). Returns how many; 0 when the rules load. */
size_t rules_check(const char *dir, struct strlist *errs);

/* How many rules and queues were loaded; the queue at index i (0..n-1),
 * in the order declared (the default queue "secretariat" is always there). */
size_t rules_count(const struct ruleset *rs);
size_t rules_queue_count(const struct ruleset *rs);
const struct queue *rules_queue_at(const struct ruleset *rs, size_t i);

/* One step of rules_apply_trace(), for `secdesk rules test`. Strings are
 * valid during the callback only. */
enum rule_trace_kind {
	RULE_TRACE_RULE,   /* a rule starts: file, line, rule */
	RULE_TRACE_SKIP,   /* rule not tried: note says why (prefilter) */
	RULE_TRACE_TEST,   /* a test: text, matched, value = the text it matched */
	RULE_TRACE_END,    /* the rule's conditions: matched */
	RULE_TRACE_ACTION, /* an action of a matching rule: text, value = argument,
			      note when it changed nothing and why */
	RULE_TRACE_ERROR,  /* the rule was skipped for this message: note */
};

struct rule_trace_event {
	enum rule_trace_kind kind;
	const char *file;
	int line;
	const char *rule;
	const char *text;
	bool matched;
	const char *value;
	const char *note;
};

typedef void (*rule_trace_fn)(void *arg, const struct rule_trace_event *ev);

/* rules_apply() that reports every step to fn (which may be NULL). Also
 * gives the language detected from the text (out->language is it when no
 * rule set one). */
int rules_apply_trace(const struct ruleset *rs, const struct message *m, const struct ticket *t,
		      struct rule_outcome *out, rule_trace_fn fn, void *arg, struct err *e);

/* The weighing after all rules, when no `route` decided: the queue with
 * the most points wins when it has more than 0 and leads every other queue
 * (the secretariat's own points included) by RULES_SCORE_MARGIN or more;
 * otherwise the secretariat decides. The category with the most points
 * wins when it has more than 0 and no other has as many; otherwise the
 * category stays unset (general). A `score` gives at most
 * RULES_SCORE_MAX points, or takes as many. */
#define RULES_SCORE_MARGIN 3
#define RULES_SCORE_MAX 100

/* PCRE2 limits applied to every match (per test, per field value). */
#define RULES_MATCH_LIMIT 100000
#define RULES_DEPTH_LIMIT 2000
#define RULES_HEAP_LIMIT_KIB 16384
/* Bytes of the body that the tests see (a longer body is cut there). */
#define RULES_BODY_MAX (256 * 1024)

#endif
