/* secdesk reply ID [--template NAME] [-m TEXT]: a staff answer to the
 * requester, queued in the outbox and recorded on the ticket, which goes to
 * pending. Without -m, $VISUAL or $EDITOR on a prepared draft; "-m -"
 * reads the text from stdin. */
#include "compat.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "fdio.h"
#include "outbound.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_reply(int argc, char **argv, struct cli_ctx *ctx);

#define REPLY_MAX (1024 * 1024)

/* Runs the user's editor on path, as git does: through sh, with the file
 * as a separate argument (never pasted into the command line). */
static int
run_editor(const char *path)
{
	const char *ed = getenv("VISUAL");
	pid_t pid;
	int status;

	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL); /* main ignores it */
		execl("/bin/sh", "sh", "-c", "exec $SECDESK_EDITOR_CMD \"$1\"", "sh", path,
		      (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The draft: comment lines (#) say what is being answered; they are
 * dropped from the text. */
static int
edit_text(struct cli_ctx *ctx, int64_t id, struct buf *out)
{
	struct err e = ERR_INIT;
	struct ticket t;
	char path[] = "/tmp/secdesk-reply.XXXXXX";
	struct buf raw = BUF_INIT;
	const char *ed = getenv("VISUAL");
	FILE *f;
	int fd, rc = -1;

	if (ticket_load_live(ctx->store, id, &t, &e) < 0) {
		cli_fail(&e);
		return -1;
	}
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		cli_error("cannot create a draft: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		ticket_release(&t);
		return -1;
	}
	fprintf(f, "\n# Your reply to ticket #%lld, \"%s\", from %s.\n"
		"# Lines starting with '#' are dropped; an empty reply sends nothing.\n",
		(long long)t.id, t.subject, t.requester);
	ticket_release(&t);
	if (fclose(f) != 0)
		goto out;
	if (!ed || !*ed)
		ed = getenv("EDITOR");
	setenv("SECDESK_EDITOR_CMD", ed && *ed ? ed : "vi", 1);
	if (run_editor(path) < 0) {
		cli_error("the editor failed: nothing queued (draft left in %s)", path);
		buf_release(&raw);
		return -1;
	}
	buf_init(&raw, REPLY_MAX);
	if (file_read_all(path, &raw) < 0) {
		cli_error("cannot read the draft %s", path);
		goto out;
	}
	for (const char *p = buf_cstr(&raw); *p;) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p + 1) : strlen(p);

		if (*p != '#')
			buf_add(out, p, l);
		p += l;
	}
	rc = 0;
out:
	unlink(path);
	buf_release(&raw);
	return rc;
}

static void
trim(struct buf *b)
{
	size_t start = 0;

	while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' ' ||
			  b->data[b->len - 1] == '\r'))
		b->data[--b->len] = '\0';
	while (start < b->len && b->data[start] == '\n')
		start++;
	if (start) {
		memmove(b->data, b->data + start, b->len - start + 1);
		b->len -= start;
	}
}

int
cmd_reply(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "template", required_argument, NULL, 't' },
		{ "message", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tmpl = NULL, *text = NULL;
	struct outbound *ob = NULL;
	struct err e = ERR_INIT;
	struct buf b;
	int64_t id, outbox_id = 0;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "t:m:", opts, NULL)) != -1) {
		if (c == 't')
			tmpl = optarg;
		else if (c == 'm')
			text = optarg;
		else
			return cli_usage(argv[0]);
	}
	if (optind != argc - 1 || (id = cli_ticket_arg(argv[0], argv[optind])) < 0)
		return cli_usage(argv[0]);
	if (tmpl && (!*tmpl || strchr(tmpl, '/') || strchr(tmpl, '.'))) {
		cli_error("'%s' is not a template name (e.g. reply)", tmpl);
		return EXIT_USAGE;
	}
	if (tmpl && cli_check_template(ctx, "reply --template", tmpl) != EXIT_OK)
		return EXIT_USAGE;
	buf_init(&b, REPLY_MAX);
	if (text && strcmp(text, "-") == 0) {
		if (fd_read_all(STDIN_FILENO, &b) < 0) {
			cli_error("cannot read the reply from stdin");
			rc = EXIT_DATAERR;
			goto out;
		}
	} else if (text) {
		if (buf_addstr(&b, text) < 0) {
			cli_error("the reply is too long");
			rc = EXIT_DATAERR;
			goto out;
		}
	} else if (edit_text(ctx, id, &b) < 0) {
		rc = EXIT_DATAERR;
		goto out;
	}
	trim(&b);
	if (b.len == 0) {
		cli_error("empty reply: nothing queued");
		rc = EXIT_USAGE;
		goto out;
	}
	/* Templates are checked before anything is stored. */
	if (outbound_open(ctx->cfg, NULL, &ob, &e) < 0 || store_begin(ctx->store, &e) < 0) {
		rc = cli_fail(&e);
		goto out;
	}
	if (outbound_reply(ob, ctx->store, id, tmpl, b.data, ctx->who, &outbox_id, &e) < 0 ||
	    store_commit(ctx->store, &e) < 0) {
		store_rollback(ctx->store);
		rc = cli_fail(&e);
		goto out;
	}
	if (ctx->verbosity >= 0)
		printf("reply to #%lld queued (outbox %lld); the ticket is pending. "
		       "'secdesk send' delivers it.\n", (long long)id, (long long)outbox_id);
out:
	outbound_free(&ob);
	buf_release(&b);
	return rc;
}
