/* secdesk - the global options, and what every command needs before it
 * runs (the table of commands: src/cli/commands.c). */
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

int cmd_help(int argc, char **argv, struct cli_ctx *ctx);

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
		unsigned flags = (cmd->needs & CLI_STORE_CREATE) ? STORE_CREATE : STORE_MAP_PAGES;

		if (store_open(cfg->store.location, flags, &ctx->store, &e) < 0)
			return cli_fail(&e);
	}
	return 0;
}

/* Whether the command's arguments ask for its help: --help or -h before
 * any "--". */
static bool
asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

/* The options before the command. */
struct global_opts {
	const char *config_arg; /* -c */
	enum cli_color_when color;
	bool pager;
	int verbosity;
};

static int
parse_color(const char *arg, enum cli_color_when *out)
{
	if (!arg || strcmp(arg, "always") == 0)
		*out = CLI_COLOR_ALWAYS;
	else if (strcmp(arg, "never") == 0)
		*out = CLI_COLOR_NEVER;
	else if (strcmp(arg, "auto") == 0)
		*out = CLI_COLOR_AUTO;
	else
		return -1;
	return 0;
}

/* Parses the global options into g, up to the command. Returns -1 to go
 * on, else the exit status when an option was all there was to do
 * (--version, --help) or was wrong. */
static int
parse_global(int argc, char **argv, struct global_opts *g, struct cli_ctx *ctx)
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
	int c;

	/* '+': stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+c:vqVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			g->config_arg = optarg;
			break;
		case 'v':
			g->verbosity++;
			break;
		case 'q':
			g->verbosity = -1;
			break;
		case 'V':
			printf("secdesk %s\n", SECDESK_VERSION);
			return finish_stdout(EXIT_OK);
		case 'h':
			ctx->verbosity = g->verbosity;
			cli_output_init(g->color);
			if (g->pager)
				cli_pager_start();
			return finish_stdout(cmd_help(1, argv, ctx));
		case 'P':
			g->pager = false;
			break;
		case 'C':
			if (parse_color(optarg, &g->color) < 0) {
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
	return -1;
}

int
main(int argc, char **argv)
{
	struct global_opts g = { NULL, CLI_COLOR_AUTO, true, 0 };
	struct cli_ctx ctx = { 0 };
	struct config cfg;
	const struct cli_command *cmd;
	cli_command_fn *fn;
	char *config_path = NULL;
	int rc;

	/* A peer that goes away (an IMAP, POP3 or SMTP server, a TLS session, a
	 * pager, a sendmail program) must give EPIPE, which the caller turns
	 * into its error (75 for a server), not kill the run before its summary
	 * line. Programs we start get the default back. */
	signal(SIGPIPE, SIG_IGN);
	memset(&cfg, 0, sizeof(cfg));
	rc = parse_global(argc, argv, &g, &ctx);
	if (rc >= 0)
		return rc;
	ctx.verbosity = g.verbosity;
	ctx.config_arg = g.config_arg;
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = cli_find(argv[optind]);
	if (!cmd) {
		cli_unknown_command(argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	fn = cli_command_fn_of(cmd->name);
	if (!fn) {
		cli_error("'%s' is not available in this build", cmd->name);
		return EXIT_UNAVAILABLE;
	}
	/* "secdesk CMD --help" (anywhere before "--") is "secdesk help CMD",
	 * before any config is needed. */
	if (asks_help(argc - optind, argv + optind)) {
		char *hargv[] = { (char *)"help", argv[optind], NULL };

		cli_output_init(g.color);
		if (g.pager)
			cli_pager_start();
		return finish_stdout(cmd_help(2, hargv, &ctx));
	}
	/* A mistyped option is a usage error before the config is read. */
	if (!(cmd->needs & CLI_HIDDEN) &&
	    cli_check_options(argc - optind, argv + optind) != EXIT_OK) {
		cli_usage(cmd->name);
		return (cmd->needs & CLI_MTA) ? EXIT_TEMPFAIL : EXIT_USAGE;
	}
	cli_output_init(g.color);
	log_setup(ctx.verbosity, cmd->needs & CLI_SYSLOG);
	if (cmd->needs & CLI_MTA)
		log_hide_details();
	ctx.who = acting_user();
	rc = prepare(cmd, g.config_arg, &ctx, &cfg, &config_path);
	if (rc == 0) {
		argc -= optind;
		argv += optind;
		optind = 0; /* getopt_long restarts for the command */
		if (g.pager && (cmd->needs & CLI_PAGER))
			cli_pager_start();
		rc = fn(argc, argv, &ctx);
	}
	store_close(&ctx.store);
	config_release(&cfg);
	free(config_path);
	if (cmd->needs & CLI_MTA)
		return mta_status(finish_stdout(rc));
	return finish_stdout(rc);
}
