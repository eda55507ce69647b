/* secdesk help [COMMAND]: the commands, or one command's usage, summary
 * and, for the commands with many options, what they mean. */
#include "compat.h"

#include "cli.h"

int cmd_help(int argc, char **argv, struct cli_ctx *ctx);

/* More than the one-line summary, for the commands that need it. */
static const struct {
	const char *name;
	const char *text;
} help_details[] = {
	{ "list",
	  "Filters (all given must match):\n"
	  "  --status S[,S...]  new, open, pending, resolved, closed (any of them)\n"
	  "  --queue Q          the queue (a partner), in any case\n"
	  "  --assignee U       the assignee; --assignee '' for unassigned tickets\n"
	  "  --tag T            tickets with this tag\n"
	  "  --category C       the category, in any case\n"
	  "  --older-than AGE   created more than AGE ago: 30m, 12h, 7d, 2w\n"
	  "                     (minutes, hours, days, weeks; counted from the\n"
	  "                     ticket's creation, as stats counts ages)\n"
	  "  --unanswered       no staff reply yet: acknowledgements, partner\n"
	  "                     notifications and reminders do not count\n"
	  "Order:\n"
	  "  --sort FIELD       id, created, updated, priority, queue or status,\n"
	  "                     ascending; -FIELD for descending. The default is\n"
	  "                     -updated: newest activity first. priority goes\n"
	  "                     low, normal, high, urgent; status new, open,\n"
	  "                     pending, resolved, closed; ties by id.\n"
	  "  --reverse, -r      the other way round\n"
	  "  --limit N          at most N tickets\n"
	  "  --json             an array of tickets as show gives them, without\n"
	  "                     messages, plus 'answered' and 'related_to'\n"
	  "Dates are shown in local time (TZ); they are stored, and given by --json,\n"
	  "in UTC (RFC 3339).\n" },
	{ "show",
	  "The ticket, then its thread: the messages in the order they reached the\n"
	  "store, each with its date in local time, its direction (in/out), its kind,\n"
	  "From, To, Cc, its attachments (numbered as 'secdesk attachment ID N' takes\n"
	  "them) and its text as written, lines longer than the terminal (78 columns\n"
	  "when piped) wrapped, quote markers kept. Partner correspondence is marked\n"
	  "[partner]; automatic mail (acknowledgements, partner notifications,\n"
	  "reminders, auto-replies, bounces) says so. The history's events stand\n"
	  "between the messages at their time, each with who did what.\n"
	  "  --json             the ticket with 'messages', 'attachments' and\n"
	  "                     'events', 'follow_up_of' and 'continued_in' (the\n"
	  "                     closed ticket it continues, the tickets that\n"
	  "                     continue it); times in UTC. A message that cannot be\n"
	  "                     written as JSON is an error (exit 65), never left out.\n" },
};

static void
help_overview(void)
{
	printf("usage: secdesk [-c CONFIG] [-v|-q] [--no-pager] [--color=WHEN] COMMAND [ARGS]\n"
	       "\ncommands:\n");
	for (const struct cli_command *c = cli_commands; c->name; c++)
		printf("  %-11s %s\n", c->name, c->summary);
	printf("\noptions before the command:\n"
	       "  -c CONFIG      the config file\n"
	       "  -v, -q         more, or less, logging\n"
	       "  --no-pager     never page the output\n"
	       "  --color=WHEN   always, never or auto (the default: on a terminal, unless\n"
	       "                 NO_COLOR is set)\n"
	       "\nThe config is -c FILE, else $SECDESK_CONFIG, else ./secdesk.conf, else\n"
	       "/etc/secdesk/secdesk.conf. On a terminal, list, show, search, stats, outbox\n"
	       "and help page through $SECDESK_PAGER, else $PAGER, else less (with LESS=FRX\n"
	       "when LESS is not set). 'secdesk help COMMAND' or 'secdesk COMMAND --help'\n"
	       "shows one command. Unknown commands and options exit with 64.\n");
}

int
cmd_help(int argc, char **argv, struct cli_ctx *ctx)
{
	const struct cli_command *c;

	(void)ctx;
	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return cli_usage("help");
	if (argc < 2) {
		help_overview();
		return EXIT_OK;
	}
	c = cli_find(argv[1]);
	if (!c) {
		cli_error("'%s' is not a secdesk command; see 'secdesk help'", argv[1]);
		return cli_usage("help");
	}
	printf("usage: secdesk %s\n\n%s\n", c->usage, c->summary);
	for (size_t i = 0; i < ARRAY_SIZE(help_details); i++)
		if (strcmp(c->name, help_details[i].name) == 0)
			printf("\n%s", help_details[i].text);
	return EXIT_OK;
}
