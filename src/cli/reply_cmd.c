/* secdesk reply ID [--template NAME] [-m TEXT] [--to ADDR] [--cc ADDR]
 * [--attach FILE] [--no-edit] [--dry-run]: a staff answer to the requester,
 * queued in the outbox and recorded on the ticket, which goes to pending.
 * Without -m, $VISUAL or $EDITOR on a draft: the rendered template above a
 * marker line, the quote below it; "-m -" reads the text from stdin. */
#include "compat.h"

#include <getopt.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "fdio.h"
#include "outbound.h"
#include "strlist.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_reply(int argc, char **argv, struct cli_ctx *ctx);

#define REPLY_MAX (1024 * 1024)
/* The files of one reply together: base64 makes them a third larger, and
 * the whole mail stays under the 8 MiB the outbox builds. */
#define ATTACH_MAX (5 * 1024 * 1024)
#define ATTACH_FILES_MAX 16

struct reply_args {
	int64_t id;
	const char *tmpl, *text;
	struct strlist to, cc, attach;
	bool dry_run, no_edit;
};

/* The files to attach, read before anything is queued. */
struct attached {
	struct mime_file f[ATTACH_FILES_MAX];
	struct buf data[ATTACH_FILES_MAX];
	size_t n;
};

static void
attached_release(struct attached *a)
{
	for (size_t i = 0; i < a->n; i++)
		buf_release(&a->data[i]);
	a->n = 0;
}

static int
read_attachments(const struct strlist *paths, struct attached *a)
{
	size_t total = 0;

	if (paths->n > ATTACH_FILES_MAX) {
		cli_error("at most %d files can be attached", ATTACH_FILES_MAX);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < paths->n; i++) {
		const char *path = paths->items[i];

		buf_init(&a->data[i], ATTACH_MAX);
		a->n = i + 1;
		errno = 0;
		if (file_read_all(path, &a->data[i]) < 0) {
			cli_error("cannot attach '%s': %s", path,
				  errno ? strerror(errno) : "larger than 5 MiB");
			return EXIT_NOINPUT;
		}
		total += a->data[i].len;
		if (total > ATTACH_MAX) {
			cli_error("cannot attach '%s': the files together pass 5 MiB", path);
			return EXIT_DATAERR;
		}
		a->f[i] = (struct mime_file){ path, mime_type_guess(path),
					      (const unsigned char *)buf_cstr(&a->data[i]),
					      a->data[i].len };
	}
	return EXIT_OK;
}

static int
parse_args(int argc, char **argv, struct cli_ctx *ctx, struct reply_args *a)
{
	static const struct option opts[] = {
		{ "template", required_argument, NULL, 't' },
		{ "message", required_argument, NULL, 'm' },
		{ "to", required_argument, NULL, 'T' },
		{ "cc", required_argument, NULL, 'C' },
		{ "attach", required_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-edit", no_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "t:m:a:n", opts, NULL)) != -1) {
		if (c == 't')
			a->tmpl = optarg;
		else if (c == 'm')
			a->text = optarg;
		else if (c == 'T')
			strlist_add(&a->to, optarg);
		else if (c == 'C')
			strlist_add(&a->cc, optarg);
		else if (c == 'a')
			strlist_add(&a->attach, optarg);
		else if (c == 'n')
			a->dry_run = true;
		else if (c == 'E')
			a->no_edit = true;
		else
			return cli_usage(argv[0]);
	}
	if (optind != argc - 1 || (a->id = cli_ticket_arg(argv[0], argv[optind])) < 0)
		return cli_usage(argv[0]);
	if (a->tmpl && (!*a->tmpl || strchr(a->tmpl, '/') || strchr(a->tmpl, '.'))) {
		cli_error("'%s' is not a template name (e.g. reply)", a->tmpl);
		return EXIT_USAGE;
	}
	if (a->tmpl && cli_check_template(ctx, "reply --template", a->tmpl) != EXIT_OK)
		return EXIT_USAGE;
	if (a->text && a->no_edit) {
		cli_error("-m and --no-edit: -m already sends without an editor");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* -m TEXT, or "-m -": stdin; trimmed, and not empty. */
static int
message_text(const char *arg, struct buf *b)
{
	if (strcmp(arg, "-") == 0 ? fd_read_all(STDIN_FILENO, b) < 0 : buf_addstr(b, arg) < 0) {
		cli_error("cannot read the reply (at most 1 MiB)");
		return EXIT_DATAERR;
	}
	while (b->len && strchr(" \t\r\n", b->data[b->len - 1]))
		b->data[--b->len] = '\0';
	if (b->len == 0) {
		cli_error("empty reply: nothing queued");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* The draft in the editor: the rendered template, the marker, the quote.
 * out stays empty when the user cancels. */
static int
edit_reply(struct cli_ctx *ctx, struct outbound *ob, const struct reply_args *a,
	   struct reply_opts *o, struct buf *out)
{
	struct buf above = BUF_INIT, quote = BUF_INIT, below = BUF_INIT;
	struct err e = ERR_INIT;
	int rc;

	buf_init(&above, REPLY_MAX);
	buf_init(&quote, REPLY_MAX);
	if (store_begin(ctx->store, &e) < 0)
		return cli_fail(&e);
	rc = outbound_reply_draft(ob, ctx->store, a->id, o, &above, &quote, &e);
	store_rollback(ctx->store);
	if (rc < 0) {
		rc = cli_fail(&e);
		goto out;
	}
	buf_addf(&below, "# Reply to ticket #%lld. Above the marker: the mail as it goes, greeting "
		 "and\n# signature included; lines starting with '#' are left out. Save it "
		 "empty or\n# unchanged to cancel.%s\n", (long long)a->id,
		 quote.len ? " The quote below is added as it is:" : "");
	buf_add(&below, buf_cstr(&quote), quote.len);
	rc = cli_edit(buf_cstr(&above), buf_cstr(&below), out);
out:
	buf_release(&above);
	buf_release(&quote);
	buf_release(&below);
	return rc;
}

/* Queues the reply (or, dry, prints it) in one transaction. */
static int
queue_reply(struct cli_ctx *ctx, struct outbound *ob, const struct reply_args *a,
	    const struct reply_opts *o)
{
	struct err e = ERR_INIT;
	int64_t outbox_id = 0;

	if (store_begin(ctx->store, &e) < 0)
		return cli_fail(&e);
	if (outbound_reply_with(ob, ctx->store, a->id, o, &outbox_id, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	if (o->dry_run) {
		store_rollback(ctx->store);
		for (const char *p = buf_cstr(o->dry_run); *p; p++)
			if (*p != '\r')
				putchar(*p);
		return EXIT_OK;
	}
	if (store_commit(ctx->store, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	if (ctx->verbosity >= 0)
		printf("reply to #%lld queued (outbox %lld); the ticket is pending. "
		       "'secdesk send' delivers it.\n", (long long)a->id, (long long)outbox_id);
	return EXIT_OK;
}

int
cmd_reply(int argc, char **argv, struct cli_ctx *ctx)
{
	struct reply_args a = { .to = STRLIST_INIT, .cc = STRLIST_INIT, .attach = STRLIST_INIT };
	struct attached files = { .n = 0 };
	struct outbound *ob = NULL;
	struct err e = ERR_INIT;
	struct buf text = BUF_INIT, dry = BUF_INIT;
	struct reply_opts o = { .who = ctx->who };
	int rc = parse_args(argc, argv, ctx, &a);

	buf_init(&text, REPLY_MAX);
	buf_init(&dry, 0);
	if (rc != EXIT_OK || (rc = read_attachments(&a.attach, &files)) != EXIT_OK ||
	    (a.text && (rc = message_text(a.text, &text)) != EXIT_OK))
		goto out;
	o = (struct reply_opts){ .tmpl_kind = a.tmpl, .text = a.text ? buf_cstr(&text) : NULL,
				 .who = ctx->who, .to = &a.to, .cc = &a.cc, .files = files.f,
				 .nfiles = files.n, .dry_run = a.dry_run ? &dry : NULL };
	/* Templates are checked before anything is stored. */
	if (outbound_open(ctx->cfg, NULL, &ob, &e) < 0) {
		rc = cli_fail(&e);
		goto out;
	}
	if (!a.text && !a.no_edit) {
		rc = edit_reply(ctx, ob, &a, &o, &text);
		if (rc != EXIT_OK)
			goto out;
		if (text.len == 0) {
			printf("reply cancelled: the text was empty or unchanged; nothing queued\n");
			goto out;
		}
		o.above = buf_cstr(&text);
	}
	rc = queue_reply(ctx, ob, &a, &o);
out:
	outbound_free(&ob);
	attached_release(&files);
	buf_release(&text);
	buf_release(&dry);
	strlist_release(&a.to);
	strlist_release(&a.cc);
	strlist_release(&a.attach);
	return rc;
}
