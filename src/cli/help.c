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
	  "  --all              closed tickets and spam too: without it (and without\n"
	  "                     --status closed or --category spam) they are left out\n"
	  "Output:\n"
	  "  --format table     the default: one line a ticket, subject and requester\n"
	  "                     cut (with ...) to the terminal's width, COLUMNS, or\n"
	  "                     78 columns when piped\n"
	  "  --format csv|tsv   a header line, then a line a ticket (CSV as RFC 4180;\n"
	  "                     TSV with tab, newline and backslash written \\t \\n \\\\)\n"
	  "  --format json      an array of tickets as show gives them, without\n"
	  "                     messages, plus 'answered' and 'related_to'\n"
	  "  --json             the same as --format json\n"
	  "  --format '%{id} %{subject}'\n"
	  "                     a line a ticket; keys: id, status, queue, category,\n"
	  "                     priority, language, assignee, requester,\n"
	  "                     requester_name, subject, created, updated, flags,\n"
	  "                     tags; %% is a percent sign, \\n and \\t a newline, a tab\n"
	  "Marks in the table:\n"
	  "  [!]                the ticket has flags (bounce, spam, parse error, failed\n"
	  "                     delivery, processing error, ...): 'secdesk show' names them\n"
	  "  colours            on a terminal, the status: new bold yellow, open\n"
	  "                     green, pending cyan, resolved blue, closed dim\n"
	  "Dates are shown in local time (TZ); they are stored, and given by --json,\n"
	  "CSV, TSV and --format, in UTC (RFC 3339).\n" },
	{ "show",
	  "The ticket, then its thread: the messages in the order they reached the\n"
	  "store, each with its date in local time, its direction (in/out), its kind,\n"
	  "From, To, Cc, its attachments (numbered as 'secdesk attachment ID N' takes\n"
	  "them) and its text wrapped to the terminal (78 columns when piped), quote\n"
	  "markers kept. Partner correspondence is marked [partner]; automatic mail\n"
	  "(acknowledgements, partner notifications, reminders, auto-replies,\n"
	  "bounces) says so. The history's events stand between the messages at\n"
	  "their time, each with who did what.\n"
	  "  --json             the ticket with 'messages', 'attachments' and\n"
	  "                     'events'; times in UTC. A message that cannot be\n"
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
