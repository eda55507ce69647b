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

	if (cli_plain_args(&argc, argv) < 0 || argc != 3 ||
	    (id = cli_ticket_arg(argv[0], argv[1])) < 0)
		return cli_usage(argv[0]);
	if (rules_load(ctx->cfg->rules.dir, &rs, &e) < 0)
		return cli_fail(&e);
	q = cli_queue_arg(rs, argv[0], argv[2]);
	if (!q) {
		rules_free(&rs);
		return EXIT_USAGE;
	}
	ticket_init(&t);
	if (outbound_open(ctx->cfg, rs, &ob, &e) < 0 || store_begin(ctx->store, &e) < 0)
		goto fail;
	if (ticket_load_live(ctx->store, id, &t, &e) < 0)
		goto fail_txn;
	if (strcmp(t.queue ? t.queue : "", q->id) == 0) {
		store_rollback(ctx->store);
		if (ctx->verbosity >= 0)
			printf("#%lld: queue is already %s\n", (long long)id, q->id);
		rc = EXIT_OK;
		goto out;
	}
	if (ticket_set_field(ctx->store, id, "queue", q->id, ctx->who, &e) < 0 ||
	    outbound_on_route(ob, ctx->store, id, t.queue, &e) < 0 || store_commit(ctx->store, &e) < 0)
		goto fail_txn;
	if (ctx->verbosity >= 0)
		printf("#%lld: queue %s -> %s (%s)\n", (long long)id, cli_esc(t.queue), q->id,
		       cli_esc(q->name));
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
