/* Which function runs each command of the table (commands.c): the one
 * file of the CLI that points at every command, so that nothing below the
 * commands needs to. */
#include "compat.h"

#include "cli.h"

#define CMD(name) int cmd_##name(int argc, char **argv, struct cli_ctx *ctx)
/* Commands built by other modules are weak here, so that the table names the
 * whole contract while a module is still on its way; a missing one says so. */
#define WEAK_CMD(name) CMD(name) __attribute__((weak))

CMD(run);
CMD(fetch);
CMD(ingest);
CMD(list);
CMD(show);
CMD(status);
CMD(assign);
CMD(tag);
CMD(note);
CMD(db);
CMD(help);
CMD(complete);
WEAK_CMD(send);
WEAK_CMD(reply);
WEAK_CMD(outbox);
WEAK_CMD(templates);
WEAK_CMD(rules);
WEAK_CMD(route);
WEAK_CMD(watch);
WEAK_CMD(verify);
WEAK_CMD(attachment);
WEAK_CMD(search);
WEAK_CMD(merge);
WEAK_CMD(untag);
WEAK_CMD(take);
WEAK_CMD(stats);
WEAK_CMD(report);
WEAK_CMD(remind);

#define FN(name) { #name, cmd_##name }

static const struct {
	const char *name;
	cli_command_fn *fn;
} command_fns[] = {
	FN(run), FN(fetch), FN(send), FN(ingest), FN(list), FN(show), FN(search),
	FN(status), FN(assign), FN(take), FN(route), FN(tag), FN(untag), FN(merge),
	FN(note), FN(reply), FN(outbox), FN(attachment), FN(rules), FN(templates),
	FN(stats), FN(report), FN(remind), FN(watch), FN(verify), FN(db), FN(help), FN(complete),
};

cli_command_fn *
cli_command_fn_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(command_fns); i++)
		if (strcmp(command_fns[i].name, name) == 0)
			return command_fns[i].fn;
	return NULL;
}
