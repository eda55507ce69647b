/* secdesk help [COMMAND] */
#include "compat.h"

#include "cli.h"

int cmd_help(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_help(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)ctx;
	if (argc > 2)
		return cli_usage(argv[0]);
	if (argc == 2) {
		const struct cli_command *c = cli_find(argv[1]);

		if (!c) {
			cli_error("'%s' is not a secdesk command", argv[1]);
			return EXIT_USAGE;
		}
		printf("usage: secdesk %s\n\n%s\n", c->usage, c->summary);
		if (!c->fn)
			printf("(not available in this build)\n");
		return EXIT_OK;
	}
	printf("usage: secdesk [-c CONFIG] [-v|-q] COMMAND [ARGS]\n\ncommands:\n");
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (c->fn)
			printf("  %-11s %s\n", c->name, c->summary);
	printf("\nThe config is -c FILE, else $SECDESK_CONFIG, else ./secdesk.conf, else\n"
	       "/etc/secdesk/secdesk.conf. 'secdesk help COMMAND' shows one command.\n");
	return EXIT_OK;
}
