/* secdesk merge ID INTO: a duplicate ticket joins another (ticket_merge):
 * its messages, tags and watchers move to INTO, its requester becomes a
 * participant there, and ID stays as a closed stub pointing at INTO
 * (merged_into) so that replies threaded to it and old references still
 * find their way. One write transaction, an event on both tickets. */
#include "compat.h"

#include "cli.h"
#include "ticket.h"

int cmd_merge(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_merge(int argc, char **argv, struct cli_ctx *ctx)
{
	struct err e = ERR_INIT;
	int64_t from, into;

	if (cli_plain_args(&argc, argv) < 0 || argc != 3 ||
	    (from = cli_ticket_arg(argv[0], argv[1])) < 0 ||
	    (into = cli_ticket_arg(argv[0], argv[2])) < 0)
		return cli_usage(argv[0]);
	if (store_begin(ctx->store, &e) < 0)
		return cli_fail(&e);
	if (ticket_merge(ctx->store, from, into, ctx->who, &e) < 0 ||
	    store_commit(ctx->store, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	if (ctx->verbosity >= 0)
		printf("#%lld: merged into #%lld\n", (long long)from, (long long)into);
	return EXIT_OK;
}
