/* secdesk status / assign / tag / note: the triage commands that change one
 * field, each recorded as an event by the acting user. */
#include "compat.h"

#include <getopt.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_status(int argc, char **argv, struct cli_ctx *ctx);
int cmd_assign(int argc, char **argv, struct cli_ctx *ctx);
int cmd_tag(int argc, char **argv, struct cli_ctx *ctx);
int cmd_note(int argc, char **argv, struct cli_ctx *ctx);

static int
add_tag(struct store *s, int64_t id, const char *field, const char *value, const char *who,
	struct err *e)
{
	(void)field;
	return ticket_add_tag(s, id, value, who, e);
}

static int
add_note(struct store *s, int64_t id, const char *field, const char *value, const char *who,
	 struct err *e)
{
	(void)field;
	return ticket_add_note(s, id, value, who, e);
}

/* ID VALUE, "--" allowed before a value that starts with '-'; argv[2] the
 * value afterwards. */
static int
id_and_value(int argc, char **argv, int64_t *id)
{
	if (cli_plain_args(&argc, argv) < 0 || argc != 3)
		return cli_usage(argv[0]);
	if ((*id = cli_ticket_arg(argv[0], argv[1])) < 0)
		return cli_usage(argv[0]);
	return 0;
}

int
cmd_status(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *status;
	int64_t id = 0;

	if (id_and_value(argc, argv, &id))
		return EXIT_USAGE;
	status = cli_status_arg(argv[0], argv[2]);
	if (!status)
		return EXIT_USAGE;
	return cli_ticket_txn(ctx, id, "status", status, ticket_set_field);
}

int
cmd_assign(int argc, char **argv, struct cli_ctx *ctx)
{
	int64_t id = 0;

	if (id_and_value(argc, argv, &id))
		return EXIT_USAGE;
	return cli_ticket_txn(ctx, id, "assignee", argv[2], ticket_set_field);
}

int
cmd_tag(int argc, char **argv, struct cli_ctx *ctx)
{
	int64_t id = 0;

	if (id_and_value(argc, argv, &id))
		return EXIT_USAGE;
	return cli_ticket_txn(ctx, id, "tag", argv[2], add_tag);
}

static int
read_stdin(struct buf *b)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0)
		if (buf_add(b, chunk, (size_t)n) < 0)
			return -1;
	return n < 0 ? -1 : 0;
}

/* The note's draft in the editor, after a check that the ticket takes
 * one (a merged ticket refuses it before any editor runs). */
static int
cli_note_draft(struct cli_ctx *ctx, int64_t id, struct buf *out)
{
	struct err e = ERR_INIT;
	struct ticket t;
	char *below;
	int rc;

	ticket_init(&t);
	if (ticket_load_live(ctx->store, id, &t, &e) < 0) {
		ticket_release(&t);
		return cli_fail(&e);
	}
	below = xasprintf("# An internal note on ticket #%lld, \"%s\": staff see it, the requester\n"
			  "# and partners never do. Save it empty to add nothing.\n",
			  (long long)t.id, cli_esc(t.subject));
	ticket_release(&t);
	rc = cli_edit("", below, out);
	free(below);
	return rc;
}

int
cmd_note(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "message", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *text = NULL;
	struct buf b;
	int64_t id = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
		if (c != 'm')
			return cli_usage(argv[0]);
		text = optarg;
	}
	if (optind != argc - 1 || (id = cli_ticket_arg(argv[0], argv[optind])) < 0)
		return cli_usage(argv[0]);
	buf_init(&b, 1024 * 1024);
	if (!text) {
		/* As reply does: $EDITOR on a terminal, "-m -" for a pipe. */
		rc = cli_note_draft(ctx, id, &b);
		if (rc != EXIT_OK || b.len == 0) {
			if (rc == EXIT_OK)
				printf("note cancelled: the text was empty; nothing added\n");
			buf_release(&b);
			return rc;
		}
		text = buf_cstr(&b);
	} else if (strcmp(text, "-") == 0) {
		if (read_stdin(&b) < 0) {
			buf_release(&b);
			cli_error("cannot read the note from stdin");
			return EXIT_DATAERR;
		}
		while (b.len && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		text = buf_cstr(&b);
	}
	if (!*text) {
		buf_release(&b);
		cli_error("empty note: nothing added");
		return EXIT_USAGE;
	}
	rc = cli_ticket_txn(ctx, id, "note", text, add_note);
	buf_release(&b);
	return rc;
}
