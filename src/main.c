/* secdesk - the command table and what every command needs before it runs
 * (git.c's commands[]). */
#include "compat.h"

#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "filemode.h"
#include "log.h"
#include "store.h"
#include "xalloc.h"

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

#define S CLI_STORE
#define SC CLI_STORE_CREATE
#define C CLI_CONFIG
#define L CLI_SYSLOG

const struct cli_command cli_commands[] = {
	{ "run", cmd_run, C | SC | L, "run", "fetch, process and send: the cron job" },
	{ "fetch", cmd_fetch, C | SC | L, "fetch", "fetch and process new mail" },
	{ "send", cmd_send, C | SC | L, "send [--now]", "deliver the outbox" },
	{ "ingest", cmd_ingest, C | SC | L | CLI_MTA, "ingest [FILE]", "process one message from FILE or stdin" },
	{ "list", cmd_list, C | S,
	  "list [--status S[,S...]] [--queue Q] [--assignee U] [--tag T] [--category C]"
	  " [--older-than AGE] [--unanswered] [--sort [-]FIELD] [--reverse] [--limit N] [--json]",
	  "list tickets" },
	{ "show", cmd_show, C | S, "show ID [--json]", "show a ticket with its messages and history" },
	{ "search", cmd_search, C | S, "search [--limit N] [--json] [--] QUERY", "full-text search over tickets" },
	{ "status", cmd_status, C | S, "status ID STATUS", "set a ticket's status" },
	{ "assign", cmd_assign, C | S, "assign ID USER", "assign a ticket" },
	{ "take", cmd_take, C | S, "take ID", "assign a ticket to yourself" },
	{ "route", cmd_route, C | S, "route ID QUEUE", "route a ticket to a queue" },
	{ "tag", cmd_tag, C | S, "tag ID TAG", "tag a ticket" },
	{ "untag", cmd_untag, C | S, "untag ID TAG", "remove a tag" },
	{ "merge", cmd_merge, C | S, "merge ID INTO", "merge a ticket into another" },
	{ "note", cmd_note, C | S, "note ID [-m TEXT]", "add an internal note" },
	{ "reply", cmd_reply, C | S, "reply ID [--template NAME] [-m TEXT]",
	  "reply to the requester" },
	{ "outbox", cmd_outbox, C | S, "outbox [--json]", "show the outgoing queue" },
	{ "attachment", cmd_attachment, C | S, "attachment ID N [-o FILE]",
	  "write out an attachment" },
	{ "rules", cmd_rules, C, "rules check [--json] | rules test FILE [--json] | rules replay MAILDIR|--tickets [--apply]",
	  "lint, trace and replay the rules" },
	{ "templates", cmd_templates, C, "templates check", "lint the templates" },
	{ "stats", cmd_stats, C | S, "stats [--json]", "counts by status, queue, age" },
	{ "report", cmd_report, C | S, "report --html FILE", "an HTML report of the figures" },
	{ "remind", cmd_remind, C | S, "remind [--dry-run] [--json]", "send digests of waiting tickets" },
	{ "watch", cmd_watch, C | SC | L, "watch", "stay connected and process mail as it arrives" },
	{ "verify", cmd_verify, C | S, "verify [--json]", "reconcile the mailbox with the store" },
	{ "db", cmd_db, C, "db init | db check [--json] | db backup FILE | db reindex", "create, verify or back up the store; rebuild the search index" },
	{ "help", cmd_help, 0, "help [COMMAND]", "show help" },
	{ NULL, NULL, 0, NULL, NULL },
};

const struct cli_command *
cli_find(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static const char *
acting_user(void)
{
	const char *u = getenv("SECDESK_USER");
	struct passwd *pw;

	if (u && *u)
		return u;
	u = getlogin();
	if (u && *u)
		return u;
	pw = getpwuid(getuid());
	if (pw && pw->pw_name)
		return pw->pw_name;
	return "unknown";
}

static void
usage(FILE *to)
{
	fputs("usage: secdesk [-c CONFIG] [-v|-q] [--no-pager] [--color=WHEN] COMMAND [ARGS]\n"
	      "       secdesk --version | --help | help COMMAND\n", to);
}

/* The read commands whose output goes through the pager on a terminal
 * (git's USE_PAGER); commands that ask or write stay unpaged. */
static bool
paged(const struct cli_command *cmd)
{
	static const char *const names[] = { "list", "show", "search", "stats", "outbox",
					      "help" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(cmd->name, names[i]) == 0)
			return true;
	return false;
}

/* What ingest tells an MTA when the mail is not stored: the MTA keeps the
 * mail and retries (EX_TEMPFAIL), and passes this text on to the sender
 * when it finally gives up, so it names no path, user or config line:
 * those went to syslog (and to stderr on a terminal). */
static int
mta_status(int rc)
{
	if (rc == EXIT_OK)
		return rc;
	if (log_details_hidden())
		fputs("secdesk: the inquiry desk cannot take this message now; it stays "
		      "queued and will be retried (details in the mail log)\n", stderr);
	log_note("ingest: not stored (exit %d): the MTA keeps the message and retries", rc);
	return EXIT_TEMPFAIL;
}

/* A short write on stdout (full disk, closed pipe) must not pass as success. */
static int
finish_stdout(int rc)
{
	/* While paging, a failed write means the user quit the pager: fine. */
	if (cli_pager_active())
		return cli_pager_finish(rc);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			cli_error("cannot write output: %s", strerror(errno));
		return rc ? rc : EXIT_IOERR;
	}
	return rc;
}

static int
prepare(const struct cli_command *cmd, const char *config_arg, struct cli_ctx *ctx,
	struct config *cfg, char **config_path)
{
	struct err e = ERR_INIT;

	if (!(cmd->needs & (CLI_CONFIG | CLI_STORE | CLI_STORE_CREATE)))
		return 0;
	*config_path = config_find(config_arg, &e);
	if (!*config_path || config_load(cfg, *config_path, &e) < 0)
		return cli_fail(&e);
	ctx->config_path = *config_path;
	ctx->cfg = cfg;
	store_set_busy_timeout(cfg->store.busy_timeout * 1000);
	if (cfg->store.group)
		filemode_set_group(cfg->store.gid);
	if (cmd->needs & (CLI_STORE | CLI_STORE_CREATE)) {
		unsigned flags = (cmd->needs & CLI_STORE_CREATE) ? STORE_CREATE : 0;

		if (store_open(cfg->store.location, flags, &ctx->store, &e) < 0)
			return cli_fail(&e);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "no-pager", no_argument, NULL, 'P' },
		{ "color", optional_argument, NULL, 'C' },
		{ "colour", optional_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_color_when color = CLI_COLOR_AUTO;
	bool pager = true;
	struct cli_ctx ctx = { 0 };
	struct config cfg;
	const struct cli_command *cmd;
	const char *config_arg = NULL;
	char *config_path = NULL;
	int c, rc;

	/* A peer that goes away (an IMAP, POP3 or SMTP server, a TLS session, a
	 * pager, a sendmail program) must give EPIPE, which the caller turns
	 * into its error (75 for a server), not kill the run before its summary
	 * line. Programs we start get the default back. */
	signal(SIGPIPE, SIG_IGN);
	memset(&cfg, 0, sizeof(cfg));
	/* '+': stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+c:vqVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_arg = optarg;
			break;
		case 'v':
			ctx.verbosity++;
			break;
		case 'q':
			ctx.verbosity = -1;
			break;
		case 'V':
			printf("secdesk %s\n", SECDESK_VERSION);
			return finish_stdout(EXIT_OK);
		case 'h':
			cli_output_init(color);
			if (pager)
				cli_pager_start();
			return finish_stdout(cmd_help(1, argv, &ctx));
		case 'P':
			pager = false;
			break;
		case 'C':
			if (!optarg || strcmp(optarg, "always") == 0) {
				color = CLI_COLOR_ALWAYS;
			} else if (strcmp(optarg, "never") == 0) {
				color = CLI_COLOR_NEVER;
			} else if (strcmp(optarg, "auto") == 0) {
				color = CLI_COLOR_AUTO;
			} else {
				cli_error("--color: '%s' is not always, never or auto", optarg);
				usage(stderr);
				return EXIT_USAGE;
			}
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = cli_find(argv[optind]);
	if (!cmd) {
		cli_error("'%s' is not a secdesk command; see 'secdesk help'", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!cmd->fn) {
		cli_error("'%s' is not available in this build", cmd->name);
		return EXIT_UNAVAILABLE;
	}
	/* "secdesk CMD --help" (first argument) is "secdesk help CMD", before
	 * any config is needed. */
	if (optind + 1 < argc && (strcmp(argv[optind + 1], "--help") == 0 ||
				  strcmp(argv[optind + 1], "-h") == 0)) {
		char *hargv[] = { (char *)"help", argv[optind], NULL };

		cli_output_init(color);
		if (pager)
			cli_pager_start();
		return finish_stdout(cmd_help(2, hargv, &ctx));
	}
	cli_output_init(color);
	log_setup(ctx.verbosity, cmd->needs & CLI_SYSLOG);
	if (cmd->needs & CLI_MTA)
		log_hide_details();
	ctx.who = acting_user();
	rc = prepare(cmd, config_arg, &ctx, &cfg, &config_path);
	if (rc == 0) {
		argc -= optind;
		argv += optind;
		optind = 0; /* getopt_long restarts for the command */
		if (pager && paged(cmd))
			cli_pager_start();
		rc = cmd->fn(argc, argv, &ctx);
	}
	store_close(&ctx.store);
	config_release(&cfg);
	free(config_path);
	if (cmd->needs & CLI_MTA)
		return mta_status(finish_stdout(rc));
	return finish_stdout(rc);
}
