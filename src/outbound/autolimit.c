/* What the RFC 3834 decision needs from the store, and the limits on
 * automatic mail (outbound_int.h): the per-sender limit, a partner's
 * hourly notices, the hourly breaker. The decision itself is autoreply.c. */
#include "compat.h"

#include <limits.h>

#include "outbound_int.h"
#include "xalloc.h"

/* The state row of the hourly breaker: when it last opened. */
#define BREAKER_KEY "ack_breaker"
#define HOUR 3600

/* ---- a set of addresses (the queues' contacts) ---- */

static uint64_t
addr_hash(const char *addr)
{
	uint64_t h = 1469598103934665603ull;

	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		h = (h ^ (unsigned char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p)) * 1099511628211ull;
	return h;
}

static bool
ascii_caseeq(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

static bool
addrset_has(const struct addrset *set, const char *addr)
{
	if (!addr || set->cap == 0)
		return false;
	for (size_t i = addr_hash(addr) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		if (!set->v[i])
			return false;
		if (ascii_caseeq(set->v[i], addr))
			return true;
	}
}

static void
addrset_put(struct addrset *set, char *low)
{
	size_t i = addr_hash(low) & (set->cap - 1);

	while (set->v[i])
		i = (i + 1) & (set->cap - 1);
	set->v[i] = low;
}

static void
addrset_add(struct addrset *set, const char *addr)
{
	char *low;

	if (!addr || addrset_has(set, addr))
		return;
	if (2 * (set->n + 1) > set->cap) {
		char **old = set->v;
		size_t oldcap = set->cap;

		set->cap = oldcap ? 2 * oldcap : 64;
		set->v = xcalloc(set->cap, sizeof(*set->v));
		for (size_t k = 0; k < oldcap; k++)
			if (old[k])
				addrset_put(set, old[k]);
		free(old);
	}
	low = xstrdup(addr);
	for (char *p = low; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	addrset_put(set, low);
	set->n++;
}

void
addrset_release(struct addrset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

/* rules_contact_queue(ob->rules, addr) != NULL, from a set made once: it
 * compares with every contact of every queue, for each inquiry. */
static bool
is_contact(struct outbound *ob, const char *addr)
{
	if (!ob->rules || !addr || !*addr)
		return false;
	if (!ob->contacts_made) {
		for (size_t i = 0; i < rules_queue_count(ob->rules); i++) {
			const struct queue *q = rules_queue_at(ob->rules, i);

			for (size_t k = 0; k < q->contacts.n; k++)
				addrset_add(&ob->contacts, q->contacts.items[k]);
		}
		ob->contacts_made = true;
	}
	return addrset_has(&ob->contacts, addr);
}

/* ---- the log of automatic mail ---- */

/* Is entry i of l logged? A limit set to 0 is off and keeps no records:
 * turned on later, it counts from then. */
static bool
autolog_logged(const struct config *cfg, const struct autolog *l, size_t i)
{
	return l->key[i] ? cfg->notice.hourly_limit_per_partner > 0 : cfg->ack.per_sender_limit > 0;
}

int
autolog_flush(const struct config *cfg, struct store *s, struct autolog *l, struct err *e)
{
	const char *logged[AUTOLOG_MAX];
	int64_t now = store_now(), mails = 0;
	size_t nlogged = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (autolog_logged(cfg, l, i))
			logged[nlogged++] = l->addr[i];
		mails += !l->key[i];
	}
	l->n = 0;
	return outbox_auto_record(s, logged, nlogged, now, now / 60,
				  cfg->ack.hourly_limit > 0 ? mails : 0, e);
}

int
autolog_add(const struct config *cfg, struct store *s, struct autolog *l, const char *addr,
	    bool key, struct err *e)
{
	if (l->n == AUTOLOG_MAX && autolog_flush(cfg, s, l, e) < 0)
		return -1;
	l->key[l->n] = key;
	l->addr[l->n++] = addr;
	return 0;
}

/* Automatic mail of the last hour, to the minute. */
static int64_t
hourly_count(struct store *s, struct err *e)
{
	int64_t n;

	return outbox_auto_counted(s, (store_now() - HOUR) / 60, &n, e) < 0 ? -1 : n;
}

/* ---- the breaker ---- */

int64_t
outbound_breaker_since(struct store *s)
{
	struct err ignored = ERR_INIT;
	int64_t t = 0;

	if (outbox_state_get(s, BREAKER_KEY, &t, &ignored) < 0)
		return 0;
	if (t <= 0 || t < store_now() - HOUR)
		return 0;
	return t;
}

/* Staff hear of it once an hour, by the state row that 'secdesk send' and
 * 'outbox' report. */
int
autolimit_trip_breaker(struct store *s, struct err *e)
{
	if (outbound_breaker_since(s) != 0)
		return 0;
	return outbox_state_set(s, BREAKER_KEY, store_now(), e);
}

int
outbound_auto_take(const struct config *cfg, struct store *s, const char *addr, struct err *e)
{
	struct autolog log = { .n = 0 };

	if (cfg->ack.hourly_limit > 0) {
		int64_t v = hourly_count(s, e);

		if (v < 0)
			return -1;
		if (v >= cfg->ack.hourly_limit)
			return autolimit_trip_breaker(s, e) < 0 ? -1 : 0;
	}
	if (autolog_add(cfg, s, &log, addr, false, e) < 0 || autolog_flush(cfg, s, &log, e) < 0)
		return -1;
	return 1;
}

/* ---- the counts of the decision ---- */

static int
clamp_int(int64_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/* The counts autoreply_decide_counts needs into c. */
static int
count_for_decision(struct outbound *ob, struct store *s, const struct message *m,
		   const struct ingest_result *res, struct autoreply_ctx *c, struct err *e)
{
	int64_t sender, hourly = 0;

	/* A ticket opened by this very message has had no ack yet. */
	if (res->kind != INGEST_NEW_TICKET &&
	    outbox_ticket_acked(s, res->ticket_id, &c->already_acked, e) < 0)
		return -1;
	/* Both counts in one step: one round trip on a server. */
	if (outbox_auto_recent(s, c->per_sender_limit > 0 ? m->from.addr : NULL,
			       store_now() - ob->cfg->ack.per_sender_window,
			       (store_now() - HOUR) / 60, &sender,
			       c->hourly_limit > 0 ? &hourly : NULL, e) < 0)
		return -1;
	c->sender_recent = clamp_int(sender);
	c->hourly_recent = clamp_int(hourly);
	return 0;
}

int
autolimit_decide_ack(struct outbound *ob, struct store *s, const struct message *m,
		     const struct ingest_result *res, enum autoreply_reason *why, struct err *e)
{
	struct autoreply_ctx c = { 0 };

	c.enabled = ob->cfg->ack.enabled;
	c.desk_address = ob->cfg->desk.address;
	c.desk_aliases = &ob->cfg->desk.aliases;
	c.rules_no_ack = res->no_ack;
	c.from_partner = res->partner || is_contact(ob, m->from.addr);
	c.per_sender_limit = ob->cfg->ack.per_sender_limit;
	c.hourly_limit = ob->cfg->ack.hourly_limit;
	/* The cheap checks first: most mail that gets no ack stops here. */
	*why = autoreply_decide(m, &c);
	if (*why != AR_YES)
		return 0;
	if (count_for_decision(ob, s, m, res, &c, e) < 0)
		return -1;
	*why = autoreply_decide_counts(&c);
	return 0;
}

int
autolimit_notice_over(struct outbound *ob, struct store *s, const struct notice_plan *pl,
		      bool acked, struct err *e)
{
	int limit = ob->cfg->notice.hourly_limit_per_partner;
	char *key = limit > 0 ? xasprintf("notice:%s", pl->queue_id) : NULL;
	int64_t v, hourly = 0;
	int rc;

	/* Both counts in one step: one round trip on a server. */
	rc = outbox_auto_recent(s, key, store_now() - HOUR, (store_now() - HOUR) / 60, &v,
				ob->cfg->ack.hourly_limit > 0 ? &hourly : NULL, e);
	free(key);
	if (rc < 0)
		return -1;
	if (limit > 0 && v >= limit)
		return 1;
	if (ob->cfg->ack.hourly_limit > 0) {
		if (hourly + (acked ? 1 : 0) + (int64_t)pl->nto > ob->cfg->ack.hourly_limit)
			return autolimit_trip_breaker(s, e) < 0 ? -1 : 1;
	}
	return 0;
}
