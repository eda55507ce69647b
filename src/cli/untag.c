/* secdesk untag / take: the small triage commands beside status, assign and
 * tag; each change is one event by the acting user, in one short write
 * transaction. */
#include "compat.h"

#include "cli.h"
#include "ticket.h"

int cmd_untag(int argc, char **argv, struct cli_ctx *ctx);
int cmd_take(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_untag(int argc, char **argv, struct cli_ctx *ctx)
{
	struct err e = ERR_INIT;
	struct ticket t;
	int64_t id;

	if (argc != 3 || (id = cli_parse_id(argv[1])) < 0)
		return cli_usage(argv[0]);
	if (store_begin(ctx->store, &e) < 0)
		return cli_fail(&e);
	if (ticket_load(ctx->store, id, &t, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	ticket_release(&t);
	if (ticket_remove_tag(ctx->store, id, argv[2], ctx->who, &e) < 0 ||
	    store_commit(ctx->store, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	return EXIT_OK;
}

int
cmd_take(int argc, char **argv, struct cli_ctx *ctx)
{
	struct err e = ERR_INIT;
	struct ticket t;
	int64_t id;

	if (argc != 2 || (id = cli_parse_id(argv[1])) < 0)
		return cli_usage(argv[0]);
	if (store_begin(ctx->store, &e) < 0)
		return cli_fail(&e);
	if (ticket_load(ctx->store, id, &t, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	ticket_release(&t);
	if (ticket_set_field(ctx->store, id, "assignee", ctx->who, ctx->who, &e) < 0 ||
	    store_commit(ctx->store, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	return EXIT_OK;
}
