/* rules.c - the foundation's rule engine: no rules, every inquiry stays in
 * the secretariat queue. The PCRE2 rule engine replaces this file. */
#include "compat.h"

#include "rules.h"
#include "xalloc.h"

struct ruleset {
	char *dir;
};

void
rule_outcome_init(struct rule_outcome *o)
{
	memset(o, 0, sizeof(*o));
}

void
rule_outcome_release(struct rule_outcome *o)
{
	free(o->queue);
	free(o->category);
	free(o->priority);
	free(o->language);
	free(o->assignee);
	free(o->no_ack_reason);
	strlist_release(&o->tags);
	strlist_release(&o->errors);
	rule_outcome_init(o);
}

int
rules_load(const char *dir, struct ruleset **out, struct err *e)
{
	(void)e;
	*out = xcalloc(1, sizeof(**out));
	(*out)->dir = xstrdup(dir);
	return 0;
}

void
rules_free(struct ruleset **rs)
{
	if (!*rs)
		return;
	free((*rs)->dir);
	free(*rs);
	*rs = NULL;
}

int
rules_apply(const struct ruleset *rs, const struct message *m, const struct ticket *t,
	    struct rule_outcome *out, struct err *e)
{
	(void)rs;
	(void)m;
	(void)t;
	(void)out;
	(void)e;
	return 0;
}

const struct queue *
rules_queue(const struct ruleset *rs, const char *id)
{
	(void)rs;
	(void)id;
	return NULL;
}

const struct queue *
rules_contact_queue(const struct ruleset *rs, const char *addr)
{
	(void)rs;
	(void)addr;
	return NULL;
}
