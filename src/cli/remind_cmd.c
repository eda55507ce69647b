/* secdesk remind [--dry-run] [--json]: from cron, a digest of the tickets
 * waiting longer than [remind] after to each queue's contacts and each
 * assignee with an address (remind.h), queued in the outbox for `send`.
 * One summary line; -v lists each digest (and, with --dry-run, prints it). */
#include "compat.h"

#include <getopt.h>

#include "cli.h"
#include "remind.h"
#include "rules.h"

int cmd_remind(int argc, char **argv, struct cli_ctx *ctx);

static const char *
state_name(const struct remind_digest *d, bool dry_run)
{
	switch (d->state) {
	case REMIND_QUEUED:
		return "queued";
	case REMIND_RATE_LIMITED:
		return "rate-limited";
	case REMIND_DUE:
		break;
	}
	return dry_run ? "would-queue" : "skipped";
}

static json_t *
plan_json(const struct remind_plan *p, const struct remind_opts *o, bool dry_run, int queued,
	  int limited, int skipped)
{
	json_t *doc = json_object(), *tickets = json_array(), *digests = json_array();
	json_t *noaddr = json_array(), *unmailed = json_array();
	char t[32];

	json_object_set_new(doc, "dry_run", json_boolean(dry_run));
	json_object_set_new(doc, "after_seconds", json_integer(o->after));
	json_object_set_new(doc, "min_interval_seconds", json_integer(o->min_interval));
	for (size_t i = 0; i < p->ntickets; i++) {
		const struct remind_ticket *rt = &p->tickets[i];
		json_t *x = json_object();

		json_object_set_new(x, "id", json_integer(rt->id));
		json_object_set_new(x, "queue", json_string(rt->queue));
		json_object_set_new(x, "status", json_string(rt->status));
		json_object_set_new(x, "assignee", json_string(rt->assignee));
		json_object_set_new(x, "subject", json_string(rt->subject));
		json_object_set_new(x, "tags", json_string(rt->tags));
		fmt_time_utc(rt->since, t, sizeof(t));
		json_object_set_new(x, "waiting_since", json_string(t));
		json_object_set_new(x, "waiting_seconds", json_integer(o->now - rt->since));
		json_array_append_new(tickets, x);
	}
	for (size_t k = 0; k < p->ndigests; k++) {
		const struct remind_digest *d = &p->digests[k];
		json_t *x = json_object(), *ids = json_array();

		json_object_set_new(x, "to", json_string(d->to));
		json_object_set_new(x, "queue", d->queue ? json_string(d->queue) : json_null());
		for (size_t j = 0; j < d->n; j++)
			json_array_append_new(ids, json_integer(p->tickets[d->tix[j]].id));
		json_object_set_new(x, "tickets", ids);
		json_object_set_new(x, "state", json_string(state_name(d, dry_run)));
		json_object_set_new(x, "outbox_id", d->state == REMIND_QUEUED
						    ? json_integer(d->outbox_id) : json_null());
		if (d->last_sent) {
			fmt_time_utc(d->last_sent, t, sizeof(t));
			json_object_set_new(x, "last_sent", json_string(t));
		} else {
			json_object_set_new(x, "last_sent", json_null());
		}
		json_array_append_new(digests, x);
	}
	for (size_t i = 0; i < p->no_address.n; i++)
		json_array_append_new(noaddr, json_string(p->no_address.items[i]));
	for (size_t i = 0; i < p->unmailed.n; i++)
		json_array_append_new(unmailed, json_integer(strtoll(p->unmailed.items[i] + 1,
								      NULL, 10)));
	json_object_set_new(doc, "tickets", tickets);
	json_object_set_new(doc, "digests", digests);
	json_object_set_new(doc, "queued", json_integer(queued));
	json_object_set_new(doc, "rate_limited", json_integer(limited));
	json_object_set_new(doc, "skipped", json_integer(skipped));
	json_object_set_new(doc, "assignees_without_address", noaddr);
	json_object_set_new(doc, "unmailed_tickets", unmailed);
	json_object_set_new(doc, "requester_skips", json_integer(p->requester_skips));
	json_object_set_new(doc, "desk_address_skipped", json_boolean(p->desk_skipped));
	return doc;
}

static void
print_digests(struct cli_ctx *ctx, const struct remind_opts *o, const struct remind_plan *p,
	      bool dry_run, const struct ruleset *rs)
{
	for (size_t k = 0; k < p->ndigests; k++) {
		const struct remind_digest *d = &p->digests[k];
		char when[32];

		printf("%s: %zu ticket%s (", cli_esc(d->to), d->n, d->n == 1 ? "" : "s");
		for (size_t j = 0; j < d->n; j++)
			printf("%s#%lld", j ? " " : "", (long long)p->tickets[d->tix[j]].id);
		printf(") %s", state_name(d, dry_run));
		if (d->state == REMIND_RATE_LIMITED) {
			fmt_time_local(d->last_sent, when, sizeof(when));
			printf(" (last digest %s)", when);
		}
		putchar('\n');
		if (dry_run && ctx->verbosity > 0 && d->state == REMIND_DUE) {
			struct buf text = BUF_INIT;
			struct err e = ERR_INIT;

			if (remind_render(ctx->cfg, rs, o, p, d, &text, &e) < 0)
				cli_error("%s", e.msg);
			else
				printf("\n%s\n", cli_esc_lines(buf_cstr(&text)));
			buf_release(&text);
		}
	}
}

/* The one line of a run: how many waited, what was queued, who is out of
 * reach. */
static void
print_summary(const struct remind_opts *o, const struct remind_plan *p, bool dry_run,
	      int queued, int limited, int skipped)
{
	char after[32];

	remind_age(o->after, after, sizeof(after));
	printf("remind: %zu ticket%s waiting more than %s; %d digest%s %s, %d rate-limited, "
	       "%d skipped", p->ntickets, p->ntickets == 1 ? "" : "s", after, queued,
	       queued == 1 ? "" : "s", dry_run ? "would be queued" : "queued", limited, skipped);
	if (p->no_address.n) {
		printf("; assignees without address:");
		for (size_t i = 0; i < p->no_address.n; i++)
			printf(" %s", cli_esc(p->no_address.items[i]));
	}
	if (p->unmailed.n) {
		printf("; reaching nobody:");
		for (size_t i = 0; i < p->unmailed.n; i++)
			printf(" %s", cli_esc(p->unmailed.items[i]));
	}
	putchar('\n');
}

int
cmd_remind(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct err e = ERR_INIT;
	struct ruleset *rs = NULL;
	struct remind_opts o;
	struct remind_plan p;
	bool dry_run = false, json = false, in_txn = false;
	int c, rc, queued = 0, limited = 0, skipped = 0;

	while ((c = getopt_long(argc, argv, "nj", opts, NULL)) != -1) {
		if (c == 'n')
			dry_run = true;
		else if (c == 'j')
			json = true;
		else
			return cli_usage(argv[0]);
	}
	if (optind != argc)
		return cli_usage(argv[0]);
	memset(&p, 0, sizeof(p));
	if (remind_opts_from_config(ctx->cfg, &o, &e) < 0)
		return cli_fail(&e);
	/* The queue list says who the contacts are: without it, no digest. */
	if (rules_load(ctx->cfg->rules.dir, &rs, &e) < 0)
		goto fail;
	/* One write transaction from the rate-limit check to the last queued
	 * digest, so that two reminders at once cannot both send. */
	if (!dry_run) {
		if (store_begin(ctx->store, &e) < 0)
			goto fail;
		in_txn = true;
	}
	if (remind_collect(ctx->store, rs, &o, &p, &e) < 0)
		goto fail;
	if (!dry_run) {
		if (remind_queue(ctx->store, ctx->cfg, rs, &o, &p, &skipped, &e) < 0 ||
		    store_commit(ctx->store, &e) < 0)
			goto fail;
		in_txn = false;
	}
	for (size_t k = 0; k < p.ndigests; k++) {
		if (p.digests[k].state == REMIND_QUEUED ||
		    (dry_run && p.digests[k].state == REMIND_DUE))
			queued++;
		else if (p.digests[k].state == REMIND_RATE_LIMITED)
			limited++;
	}
	if (json) {
		rc = cli_print_json(plan_json(&p, &o, dry_run, queued, limited, skipped));
	} else {
		if (ctx->verbosity > 0 || dry_run)
			print_digests(ctx, &o, &p, dry_run, rs);
		if (ctx->verbosity >= 0)
			print_summary(&o, &p, dry_run, queued, limited, skipped);
		rc = EXIT_OK;
	}
	/* A digest that could not be built is a partial failure for cron. */
	if (rc == EXIT_OK && skipped)
		rc = EXIT_DATAERR;
	goto out;
fail:
	if (in_txn)
		store_rollback(ctx->store);
	rc = cli_fail(&e);
out:
	remind_plan_release(&p);
	remind_opts_release(&o);
	rules_free(&rs);
	return rc;
}
