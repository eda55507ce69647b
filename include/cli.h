/* cli.h - what every command of the CLI gets, and the helpers they share.
 *
 * Each command is one file under src/cli/ exporting
 *     int cmd_NAME(int argc, char **argv, struct cli_ctx *ctx);
 * described in the table of src/cli/commands.c (with the flags of what it
 * needs) and named in src/cli/dispatch.c, which main calls it through.
 * argv[0] is the command name; options are parsed by the command (getopt_long
 * with optind reset by main). The return value is the exit status (EXIT_*). */
#ifndef SECDESK_CLI_H
#define SECDESK_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "buf.h"
#include "err.h"
#include "store.h"

struct cli_ctx {
	const char *config_path; /* the file read, NULL when not needed */
	const char *config_arg;  /* -c CONFIG as given, NULL when none */
	struct config *cfg;      /* loaded when the command needs it */
	struct store *store;     /* opened when the command needs it */
	const char *who;         /* the acting user: $SECDESK_USER, else login */
	int verbosity;           /* 0 normal, -1 quiet (-q), 1+ verbose (-v) */
};

enum cli_needs {
	CLI_CONFIG = 1 << 0,       /* load the config first */
	CLI_STORE = 1 << 1,        /* open the store (it must exist) */
	CLI_STORE_CREATE = 1 << 2, /* open, creating it when missing */
	/* Run by an MTA (ingest): any failure exits EXIT_TEMPFAIL so that the
	 * MTA keeps the mail, and what it prints names no local detail. */
	CLI_MTA = 1 << 3,
	CLI_SYSLOG = 1 << 4,       /* runs unattended: always logs to syslog */
	/* A read command: on a terminal its output goes through the pager
	 * (git's USE_PAGER); commands that ask or write stay unpaged. */
	CLI_PAGER = 1 << 5,
	/* Not for people: left out of help and suggestions (complete). */
	CLI_HIDDEN = 1 << 6,
};

struct cli_command {
	const char *name;
	unsigned needs;        /* enum cli_needs */
	const char *usage;     /* "list [--status S] [--json]" */
	const char *summary;   /* one line for help */
};

/* One option of a command: what its help, the man page's section, the
 * check before the config (cli_check_options) and the completion
 * (secdesk complete) know of it. */
struct cli_option {
	const char *name;   /* "status" for --status; NULL when short only */
	char short_name;    /* 'r' for -r; 0 when none */
	const char *arg;    /* the value's name ("S[,S...]"), NULL when none */
	/* What completes the value: words ("csv tsv json"), or one of
	 * @statuses @queues @templates @assignees @ids @file @dir; NULL for
	 * nothing to offer. */
	const char *values;
	/* One paragraph, unwrapped. For a command with subcommands, it begins
	 * with the subcommands it belongs to ("check: ...; test: ..."). */
	const char *help;
};

/* The help of a command (src/cli/help_text.c): the one source of
 * `secdesk help CMD`, `secdesk CMD --help` and the command's entry in
 * secdesk(1) (`secdesk help --mdoc`; tests/e2e/cli_help.sh checks that
 * doc/secdesk.1 holds what it gives). text is paragraphs separated by a
 * blank line, each unwrapped; a paragraph whose lines all begin with two
 * spaces is shown as it is (examples). */
struct cli_help {
	const char *name;
	const char *text;
	const struct cli_option *options; /* ended by { NULL, 0, ... }; may be NULL */
	const char *subcommands;          /* "check test replay", NULL when none */
	/* What completes the operands in turn, as cli_option.values; the
	 * last repeats. NULL: nothing. "@ids @statuses" for status ID STATUS. */
	const char *operands;
};

/* The help of command name, NULL when it has none. */
const struct cli_help *cli_help_of(const char *name);

/* The table (src/cli/commands.c), ended by a NULL name, and the entry of
 * a name (NULL when there is none). */
extern const struct cli_command cli_commands[];
const struct cli_command *cli_find(const char *name);

typedef int cli_command_fn(int argc, char **argv, struct cli_ctx *ctx);
/* The function of command name (src/cli/dispatch.c); NULL when this build
 * has none. */
cli_command_fn *cli_command_fn_of(const char *name);

/* "secdesk: " + message to stderr, text from mail in it made safe as
 * cli_esc_lines() does. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints e->msg and returns e->code (EXIT_SOFTWARE when unset). */
int cli_fail(const struct err *e);
/* Prints "usage: secdesk USAGE" of the command and returns EXIT_USAGE. */
int cli_usage(const char *name);

/* For commands without options: -1 when an argument after argv[0] looks
 * like an option ("-x", "--x"), so that a mistyped option is a usage error
 * and not a value; "--" ends that and is taken out of argv (so that
 * "tag 1 -- -x" tags "-x"). "-" alone is an argument. */
int cli_plain_args(int *argc, char **argv);

/* The line of an editor's draft below which nothing is sent. */
#define CLI_EDIT_MARKER "# ---- everything below this line is not sent ----"
/* Lets the user write in $VISUAL, else $EDITOR, else vi, on a draft of
 * above and, when below is not NULL, the marker line and below (for
 * reference). What is left above the marker, lines starting with '#'
 * dropped and blank lines at either end trimmed, goes into out; out is
 * left empty when that is empty or what above was: the user cancelled.
 * EXIT_USAGE without a terminal (stdin and stdout), another code when the
 * draft or the editor fails; each said on stderr. */
int cli_edit(const char *above, const char *below, struct buf *out);

/* Parses a ticket id argument; -1 when not a positive integer. */
int64_t cli_parse_id(const char *s);
/* cli_parse_id() for command cmd: when arg is no ticket number, says so
 * ("show: 'abc' is not a ticket number") and returns -1. */
int64_t cli_ticket_arg(const char *cmd, const char *arg);

/* The conventions every command keeps (doc/secdesk.1, tests/e2e/
 * cli_conventions.sh): a name (status, queue) in any case; an unknown one
 * refused with the valid ones (EXIT_USAGE); each change one line on stdout
 * unless -q; a no-op said and exit 0. */

/* The statuses, in their order (new ... closed), ended by NULL. */
extern const char *const cli_statuses[];
/* The status arg names, in any case; NULL (said, with the valid ones) when
 * it names none. what is the option or command that took it. */
const char *cli_status_arg(const char *what, const char *arg);
/* The queue arg names in rs, in any case; NULL (said, with every queue of
 * the rules) when there is none. */
struct ruleset;
struct queue;
const struct queue *cli_queue_arg(const struct ruleset *rs, const char *what, const char *arg);
/* For a filter: loads the rules of ctx and checks that arg names a queue.
 * Returns EXIT_OK, or the exit status (said): EXIT_USAGE for an unknown
 * queue, the rules' own error when they cannot be loaded. */
int cli_check_queue(struct cli_ctx *ctx, const char *what, const char *arg);
/* The names of the templates in dir: NAME of every NAME.LANG.txt or
 * NAME.LANG.tmpl (README and _partials are none), each once, added to
 * names. A folder that cannot be read adds nothing. */
struct strlist;
void cli_template_names(const char *dir, struct strlist *names);
/* Checks that name is a template of ctx's templates folder: EXIT_OK, or
 * EXIT_USAGE (said, with the templates there are). */
int cli_check_template(struct cli_ctx *ctx, const char *what, const char *name);
/* The commands of the table nearest to the mistyped name, at most two
 * edits away (a letter added, dropped, changed or two swapped), appended
 * to out as "status or stats"; false (nothing appended) when none is. */
bool cli_nearest_commands(const char *name, struct buf *out);
/* "secdesk: 'NAME' is not a secdesk command; did you mean list?" (or
 * "see 'secdesk help'" when none is near). */
void cli_unknown_command(const char *name);
/* Checks argv (argv[0] the command) against the options the help table
 * gives the command (cli_help_of), before any config is read: an unknown
 * option or a missing value is said and gives EXIT_USAGE; else EXIT_OK. */
int cli_check_options(int argc, char **argv);

/* Prints one JSON document to stdout, then a newline; takes the reference. */
int cli_print_json(json_t *doc);

/* Formats t (UTC seconds) as RFC 3339 UTC, "2026-11-28T19:30:00Z". */
void fmt_time_utc(int64_t t, char *out, size_t n);
/* Formats t in local time for people: "2026-11-28 20:30". */
void fmt_time_local(int64_t t, char *out, size_t n);

/* A ticket as JSON (the fields DESIGN.md fixes); NULL when there is none. */
struct ticket;
json_t *cli_ticket_json(const struct ticket *t);

/* Output as git does it. cli_output_init() (main, once, before any output)
 * decides colour and the text width: colour when stdout is a terminal and
 * $NO_COLOR is unset or empty and TERM is not "dumb", or as --color says
 * (always wins over NO_COLOR, never over the terminal); width from $COLUMNS
 * or the terminal, 78 when stdout is not a terminal. */
enum cli_color_when { CLI_COLOR_AUTO, CLI_COLOR_NEVER, CLI_COLOR_ALWAYS };
void cli_output_init(enum cli_color_when when);
/* Sends stdout through the pager when stdout is a terminal: $SECDESK_PAGER,
 * else $PAGER, else "less" run by /bin/sh with LESS=FRX (when LESS is
 * unset) and LV=-c; an empty value or "cat" pages nothing. stderr goes to
 * the pager too when it is the same terminal, so that messages stay in
 * order. A user quitting the pager early is not an error (SIGPIPE is
 * ignored by main; see cli_pager_finish). */
void cli_pager_start(void);
/* True between cli_pager_start() and cli_pager_finish() when a pager runs. */
bool cli_pager_active(void);
/* Flushes stdout, closes the pipe, waits for the pager to end, and gives
 * stderr back. Returns rc; a write error on stdout while paging means the
 * user quit the pager and does not change rc. Safe to call more than once
 * (also registered with atexit). */
int cli_pager_finish(int rc);

/* Whether stdout was a terminal when the command started (before a pager
 * took it). */
bool cli_tty(void);
/* Whether to colour stdout (decided by cli_output_init). */
bool cli_color(void);
/* SGR sequences for cli_sgr(). */
#define CLI_RESET "\033[m"
#define CLI_BOLD "\033[1m"
#define CLI_DIM "\033[2m"
#define CLI_RED "\033[31m"
#define CLI_GREEN "\033[32m"
#define CLI_YELLOW "\033[33m"
#define CLI_BLUE "\033[34m"
#define CLI_MAGENTA "\033[35m"
#define CLI_CYAN "\033[36m"
/* sgr when colour is on, else "". */
const char *cli_sgr(const char *sgr);
/* The colour of a ticket status (new, open, ...), "" when colour is off. */
const char *cli_status_sgr(const char *status);
/* The width to format text for: the terminal's columns, 78 when piped. */
int cli_width(void);

/* Appends text to out wrapped at width display columns (UTF-8 code
 * points), each output line starting with indent. A line is broken only at
 * spaces; a word longer than the width stays whole (URLs). A quoted line
 * ("> > text") keeps its quote markers on every piece it is broken into;
 * an unquoted line keeps its leading blanks. Only lines longer than the
 * width are broken; lines are never joined (the writer's line breaks stay).
 * Carriage returns are dropped. */
void cli_wrap(const char *text, int width, const char *indent, struct buf *out);

/* Text from mail for a printf (termsafe.h): s itself when nothing in it
 * needs an escape, else its escaped form in one of CLI_ESC_SLOTS buffers
 * reused in turn, so that one printf can take that many. cli_esc() is for
 * one-line fields (newline and tab escaped too), cli_esc_lines() for text
 * of several lines (a body). NULL gives "". */
#define CLI_ESC_SLOTS 8
const char *cli_esc(const char *s);
const char *cli_esc_lines(const char *s);

/* Parses a duration "30m", "12h", "7d", "2w" into seconds; -1 when it is
 * not a positive number followed by one of those units. */
int64_t cli_parse_duration(const char *s);
/* Parses a positive decimal integer ("50"); -1 otherwise. */
long cli_parse_count(const char *s);

/* The "begin; check the ticket exists; op; commit" of every triage command.
 * op is ticket_set_field or has its shape; it gets ctx->who as who. Prints
 * the error and rolls back on failure; returns the exit status. A merged
 * ticket is refused (EXIT_DATAERR, naming where it went). field is the
 * ticket field set ("status", "assignee"), or "tag", "untag", "note": the
 * change is said in one line ("#5: status open -> pending") unless
 * ctx->verbosity < 0, and so is a no-op ("#1: not tagged x"), exit 0. */
typedef int cli_ticket_op(struct store *s, int64_t id, const char *field, const char *value,
			  const char *who, struct err *e);
int cli_ticket_txn(struct cli_ctx *ctx, int64_t id, const char *field, const char *value,
		   cli_ticket_op *op);

#endif
