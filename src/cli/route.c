/* secdesk route ID QUEUE: staff re-route a ticket; recorded as an event;
 * the new queue's partner is told where it came from, the old one that it
 * moved. */
#include "compat.h"

#include "cli.h"
#include "outbound.h"
#include "rules.h"
#include "ticket.h"

int cmd_route(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_route(int argc, char **argv, struct cli_ctx *ctx)
{
	struct err e = ERR_INIT;
	struct ruleset *rs = NULL;
	struct outbound *ob = NULL;
	const struct queue *q;
	struct ticket t;
	int64_t id;
	int rc;

	if (argc != 3)
		return cli_usage("route");
	id = cli_parse_id(argv[1]);
	if (id < 0) {
		cli_error("bad ticket id '%s'", argv[1]);
		return EXIT_USAGE;
	}
	if (rules_load(ctx->cfg->rules.dir, &rs, &e) < 0)
		return cli_fail(&e);
	q = rules_queue(rs, argv[2]);
	if (!q) {
		cli_error("unknown queue '%s' (see %s/00-queues.rules)", argv[2],
			  ctx->cfg->rules.dir);
		rules_free(&rs);
		return EXIT_DATAERR;
	}
	ticket_init(&t);
	if (outbound_open(ctx->cfg, rs, &ob, &e) < 0 || store_begin(ctx->store, &e) < 0)
		goto fail;
	if (ticket_load_live(ctx->store, id, &t, &e) < 0)
		goto fail_txn;
	if (strcmp(t.queue ? t.queue : "", q->id) == 0) {
		store_rollback(ctx->store);
		if (ctx->verbosity >= 0)
			printf("#%lld is already in queue %s\n", (long long)id, q->id);
		rc = EXIT_OK;
		goto out;
	}
	if (ticket_set_field(ctx->store, id, "queue", q->id, ctx->who, &e) < 0 ||
	    outbound_on_route(ob, ctx->store, id, t.queue, &e) < 0 || store_commit(ctx->store, &e) < 0)
		goto fail_txn;
	if (ctx->verbosity >= 0)
		printf("#%lld routed to %s (%s)\n", (long long)id, q->id, q->name);
	rc = EXIT_OK;
	goto out;
fail_txn:
	store_rollback(ctx->store);
fail:
	rc = cli_fail(&e);
out:
	ticket_release(&t);
	outbound_free(&ob);
	rules_free(&rs);
	return rc;
}
