/* Cron etiquette for mailbox outages (see outage.h). */
#include "compat.h"

#include <inttypes.h>

#include "log.h"
#include "outage.h"
#include "store_state.h"

#define OUTAGE_KEY "outage.mailbox"
/* Once the outage is older than alert_after, quiet runs say it this often. */
#define OUTAGE_REPEAT 3600

struct outage {
	int64_t start; /* when the first failing run saw it */
	int64_t said;  /* when a quiet run last said it */
};

/* "2h 10m", "3d 4h", "45m", "20s": for people. */
static void
fmt_span(int64_t secs, char *out, size_t n)
{
	int64_t d, h, m;

	if (secs < 0)
		secs = 0;
	d = secs / 86400;
	h = secs % 86400 / 3600;
	m = secs % 3600 / 60;
	if (d)
		snprintf(out, n, "%" PRId64 "d %" PRId64 "h", d, h);
	else if (h)
		snprintf(out, n, "%" PRId64 "h %" PRId64 "m", h, m);
	else if (m)
		snprintf(out, n, "%" PRId64 "m", m);
	else
		snprintf(out, n, "%" PRId64 "s", secs);
}

/* 1 with *o filled, 0 when there is no outage, -1 when the store cannot
 * say (then the failure is said, as without etiquette). */
static int
outage_load(struct store *s, struct outage *o)
{
	struct err e = ERR_INIT;
	char v[64];
	int r = store_state_get(s, OUTAGE_KEY, v, sizeof(v), &e);

	if (r <= 0)
		return r;
	if (sscanf(v, "%" SCNd64 " %" SCNd64, &o->start, &o->said) != 2)
		return 0;
	return 1;
}

static void
outage_save(struct store *s, const struct outage *o)
{
	struct err e = ERR_INIT;
	char v[64];

	snprintf(v, sizeof(v), "%" PRId64 " %" PRId64, o->start, o->said);
	if (store_state_set(s, OUTAGE_KEY, v, &e) < 0)
		log_warn("cannot keep the mailbox's outage in the store: %s", e.msg);
}

/* Whether a quiet run says the outage now: once it is older than
 * alert_after, the first run past that point, then once an hour. */
static bool
quiet_run_speaks(const struct outage *o, int64_t now, int alert_after)
{
	if (now - o->start < alert_after)
		return false;
	return o->said < o->start + alert_after || now - o->said >= OUTAGE_REPEAT;
}

void
outage_mailbox_failed(struct cli_ctx *ctx, const struct err *e)
{
	int64_t now = store_now();
	int alert_after = ctx->cfg->mailbox.alert_after;
	struct outage o = { now, now };
	char span[32], after[32];
	int known;

	if (e->code != EXIT_TEMPFAIL || !ctx->store) {
		cli_fail(e);
		return;
	}
	known = outage_load(ctx->store, &o);
	fmt_span(alert_after, after, sizeof(after));
	if (known <= 0) {
		o.start = o.said = now;
		outage_save(ctx->store, &o);
		if (ctx->verbosity < 0)
			cli_error("%s (quiet runs say it again when it has lasted %s)", e->msg,
				  after);
		else
			cli_fail(e);
		return;
	}
	fmt_span(now - o.start, span, sizeof(span));
	if (ctx->verbosity >= 0) {
		cli_error("%s (failing for %s)", e->msg, span);
		return;
	}
	if (!quiet_run_speaks(&o, now, alert_after)) {
		log_note("mailbox still unreachable (for %s): %s", span, e->msg);
		return;
	}
	o.said = now;
	outage_save(ctx->store, &o);
	cli_error("mailbox unreachable for %s: %s", span, e->msg);
}

void
outage_mailbox_ok(struct cli_ctx *ctx)
{
	struct outage o;
	struct err e = ERR_INIT;
	char span[32];

	if (!ctx->store || outage_load(ctx->store, &o) <= 0)
		return;
	fmt_span(store_now() - o.start, span, sizeof(span));
	if (store_state_delete(ctx->store, OUTAGE_KEY, &e) < 0) {
		log_warn("cannot clear the mailbox's outage in the store: %s", e.msg);
		return;
	}
	cli_error("mailbox reachable again after %s", span);
}
