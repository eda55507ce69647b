/* The commands: name, what each needs before it runs, usage and summary
 * (git's command-list). Data only, so that help and usage messages read it
 * from below the commands; the functions are found by cli_command_fn()
 * (dispatch.c). */
#include "compat.h"

#include "cli.h"

#define S CLI_STORE
#define SC CLI_STORE_CREATE
#define C CLI_CONFIG
#define L CLI_SYSLOG
#define P CLI_PAGER

const struct cli_command cli_commands[] = {
	{ "run", C | SC | L, "run", "fetch, process and send: the cron job" },
	{ "fetch", C | SC | L, "fetch", "fetch and process new mail" },
	{ "send", C | SC | L, "send [--now]", "deliver the outbox" },
	{ "ingest", C | SC | L | CLI_MTA, "ingest [FILE]", "process one message from FILE or stdin" },
	{ "list", C | S | P,
	  "list [--status S[,S...]] [--queue Q] [--assignee U] [--tag T] [--category C]"
	  " [--older-than AGE] [--unanswered] [--sort [-]FIELD] [--reverse] [--limit N] [--all]"
	  " [--format table|csv|tsv|json|TEMPLATE] [--json]",
	  "list tickets" },
	{ "show", C | S | P, "show ID [--json]", "show a ticket with its messages and history" },
	{ "search", C | S | P, "search [--limit N] [--json] [--] QUERY", "full-text search over tickets" },
	{ "status", C | S, "status ID STATUS", "set a ticket's status" },
	{ "assign", C | S, "assign ID USER", "assign a ticket" },
	{ "take", C | S, "take ID", "assign a ticket to yourself" },
	{ "route", C | S, "route ID QUEUE", "route a ticket to a queue" },
	{ "tag", C | S, "tag ID TAG", "tag a ticket" },
	{ "untag", C | S, "untag ID TAG", "remove a tag" },
	{ "merge", C | S, "merge ID INTO", "merge a ticket into another" },
	{ "note", C | S, "note ID [-m TEXT|-]", "add an internal note" },
	{ "reply", C | S, "reply ID [--template NAME] [-m TEXT|- | --no-edit] [--to ADDR] "
	  "[--cc ADDR] [--attach FILE] [--dry-run]", "reply to the requester" },
	{ "outbox", C | S | P, "outbox [--all] [--json] | outbox hold|release|cancel ID",
	  "show the outgoing queue; hold, release or cancel a mail" },
	{ "attachment", C | S, "attachment ID N [-o FILE]",
	  "write out an attachment" },
	{ "rules", C, "rules check [--json] | rules test FILE [--json] | rules replay MAILDIR|--tickets [--apply]",
	  "lint, trace and replay the rules" },
	{ "templates", C, "templates check", "lint the templates" },
	{ "stats", C | S | P, "stats [--since DATE] [--until DATE] [--json]", "counts by status, queue, age" },
	{ "report", C | S, "report --html FILE [--since DATE] [--until DATE]", "an HTML report of the figures" },
	{ "remind", C | S, "remind [--dry-run] [--json]", "send digests of waiting tickets" },
	{ "watch", C | SC | L, "watch", "stay connected and process mail as it arrives" },
	{ "verify", C | S, "verify [--reingest] [--json]", "reconcile the mailbox with the store" },
	{ "db", C, "db init | db check [--json] | db backup FILE | db reindex | db copy --to URL", "create, verify, back up or copy the store; rebuild the search index" },
	{ "help", P, "help [COMMAND]", "show help" },
	{ "complete", CLI_HIDDEN, "complete WHAT [CMD [N|OPTION]]",
	  "the candidates of the shell's completion" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_command *
cli_find(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}
