/* secdesk untag / take: the small triage commands beside status, assign and
 * tag; each change is one event by the acting user, in one short write
 * transaction (cli_ticket_txn). */
#include "compat.h"

#include "cli.h"
#include "ticket.h"

int cmd_untag(int argc, char **argv, struct cli_ctx *ctx);
int cmd_take(int argc, char **argv, struct cli_ctx *ctx);

static int
remove_tag(struct store *s, int64_t id, const char *field, const char *value, const char *who,
	   struct err *e)
{
	(void)field;
	return ticket_remove_tag(s, id, value, who, e);
}

/* Atomic (ticket_take): of two staff taking one ticket, the second is
 * told who has it. */
static int
take(struct store *s, int64_t id, const char *field, const char *value, const char *who,
     struct err *e)
{
	(void)field;
	(void)value;
	return ticket_take(s, id, who, e);
}

int
cmd_untag(int argc, char **argv, struct cli_ctx *ctx)
{
	int64_t id;

	if (cli_plain_args(&argc, argv) < 0 || argc != 3 ||
	    (id = cli_ticket_arg(argv[0], argv[1])) < 0)
		return cli_usage(argv[0]);
	return cli_ticket_txn(ctx, id, "untag", argv[2], remove_tag);
}

int
cmd_take(int argc, char **argv, struct cli_ctx *ctx)
{
	int64_t id;

	if (cli_plain_args(&argc, argv) < 0 || argc != 2 ||
	    (id = cli_ticket_arg(argv[0], argv[1])) < 0)
		return cli_usage(argv[0]);
	return cli_ticket_txn(ctx, id, "assignee", ctx->who, take);
}
