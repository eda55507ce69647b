/* cli.h - what every command of the CLI gets, and the helpers they share.
 *
 * Each command is one file under src/cli/ exporting
 *     int cmd_NAME(int argc, char **argv, struct cli_ctx *ctx);
 * listed in the table in src/main.c with the flags of what it needs.
 * argv[0] is the command name; options are parsed by the command (getopt_long
 * with optind reset by main). The return value is the exit status (EXIT_*). */
#ifndef SECDESK_CLI_H
#define SECDESK_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "store.h"

struct cli_ctx {
	const char *config_path; /* the file read, NULL when not needed */
	struct config *cfg;      /* loaded when the command needs it */
	struct store *store;     /* opened when the command needs it */
	const char *who;         /* the acting user: $SECDESK_USER, else login */
	int verbosity;           /* 0 normal, -1 quiet (-q), 1+ verbose (-v) */
};

enum cli_needs {
	CLI_CONFIG = 1 << 0,       /* load the config first */
	CLI_STORE = 1 << 1,        /* open the store (it must exist) */
	CLI_STORE_CREATE = 1 << 2, /* open, creating it when missing */
};

struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv, struct cli_ctx *ctx);
	unsigned needs;        /* enum cli_needs */
	const char *usage;     /* "list [--status S] [--json]" */
	const char *summary;   /* one line for help */
};

/* The table (src/main.c). */
extern const struct cli_command cli_commands[];
const struct cli_command *cli_find(const char *name);

/* "secdesk: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints e->msg and returns e->code (EXIT_SOFTWARE when unset). */
int cli_fail(const struct err *e);
/* Prints "usage: secdesk USAGE" of the command and returns EXIT_USAGE. */
int cli_usage(const char *name);

/* Parses a ticket id argument; -1 when not a positive integer. */
int64_t cli_parse_id(const char *s);

/* Prints one JSON document to stdout, then a newline; takes the reference. */
int cli_print_json(json_t *doc);

/* Formats t (UTC seconds) as RFC 3339 UTC, "2026-11-28T19:30:00Z". */
void fmt_time_utc(int64_t t, char *out, size_t n);
/* Formats t in local time for people: "2026-11-28 20:30". */
void fmt_time_local(int64_t t, char *out, size_t n);

/* A ticket as JSON (the fields DESIGN.md fixes); NULL when there is none. */
struct ticket;
json_t *cli_ticket_json(const struct ticket *t);

#endif
