/* ruleset.c - a loaded ruleset's queues and counts: what every other part
 * of the engine looks up (the bottom of src/rules/). */
#include "compat.h"

#include <strings.h>

#include "rules_int.h"

size_t
rules_count(const struct ruleset *rs)
{
	return rs->nrules;
}

size_t
rules_queue_count(const struct ruleset *rs)
{
	return rs->nqueues;
}

const struct queue *
rules_queue_at(const struct ruleset *rs, size_t i)
{
	return i < rs->nqueues ? &rs->queues[i] : NULL;
}

const struct queue *
rules_queue(const struct ruleset *rs, const char *id)
{
	if (!rs || !id)
		return NULL;
	/* (the first bytes alike but for case first: a route looks the
	 * queue up among some sixty for each mail it routes) */
	for (size_t i = 0; i < rs->nqueues; i++)
		if ((rs->queues[i].id[0] | 0x20) == (id[0] | 0x20) &&
		    strcasecmp(rs->queues[i].id, id) == 0)
			return &rs->queues[i];
	return NULL;
}

const struct queue *
rules_contact_queue(const struct ruleset *rs, const char *addr)
{
	if (!rs || !addr || !*addr)
		return NULL;
	for (size_t i = 0; i < rs->nqueues; i++)
		for (size_t k = 0; k < rs->queues[i].contacts.n; k++)
			if (strcasecmp(rs->queues[i].contacts.items[k], addr) == 0)
				return &rs->queues[i];
	return NULL;
}
