/* The draft in $VISUAL or $EDITOR for reply and note (cli.h). */
#include "compat.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "fdio.h"

#define DRAFT_MAX (1024 * 1024)

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
		setenv("SECDESK_EDITOR_CMD", ed, 1);
		execl("/bin/sh", "sh", "-c", "exec $SECDESK_EDITOR_CMD \"$1\"", "sh", path,
		      (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* text up to the marker line (all of it without one), lines starting with
 * '#' left out, blank lines and trailing blanks at either end trimmed. */
static void
draft_text(const char *text, struct buf *out)
{
	size_t start = 0;

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p + 1) : strlen(p);

		if (strncmp(p, CLI_EDIT_MARKER, strlen(CLI_EDIT_MARKER)) == 0)
			break;
		if (*p != '#')
			buf_add(out, p, l);
		p += l;
	}
	while (out->len && strchr(" \t\r\n", out->data[out->len - 1]))
		out->data[--out->len] = '\0';
	while (start < out->len && out->data[start] == '\n')
		start++;
	if (start) {
		memmove(out->data, out->data + start, out->len - start + 1);
		out->len -= start;
	}
}

static int
write_draft(int fd, const char *above, const char *below)
{
	FILE *f = fdopen(fd, "w");
	int rc;

	if (!f) {
		close(fd);
		return -1;
	}
	fputs(above, f);
	if (below) {
		if (*above && above[strlen(above) - 1] != '\n')
			fputc('\n', f);
		fprintf(f, "%s\n%s", CLI_EDIT_MARKER, below);
	}
	rc = ferror(f) ? -1 : 0;
	return fclose(f) != 0 ? -1 : rc;
}

int
cli_edit(const char *above, const char *below, struct buf *out)
{
	char path[] = "/tmp/secdesk-draft.XXXXXX";
	struct buf raw = BUF_INIT, before = BUF_INIT;
	int fd, rc = EXIT_DATAERR;

	if (!isatty(STDIN_FILENO) || !cli_tty()) {
		cli_error("no terminal for an editor: give the text with -m TEXT (-m - reads it "
			  "from stdin)");
		return EXIT_USAGE;
	}
	fd = mkstemp(path);
	if (fd < 0 || write_draft(fd, above, below) < 0) {
		cli_error("cannot write a draft: %s", strerror(errno));
		if (fd >= 0)
			unlink(path);
		return EXIT_CANTCREAT;
	}
	if (run_editor(path) < 0) {
		cli_error("the editor failed: nothing done (the draft is left in %s)", path);
		return EXIT_DATAERR;
	}
	buf_init(&raw, DRAFT_MAX);
	buf_init(&before, DRAFT_MAX);
	if (file_read_all(path, &raw) < 0) {
		cli_error("cannot read the draft %s", path);
		goto out;
	}
	draft_text(buf_cstr(&raw), out);
	draft_text(above, &before);
	if (out->len == 0 || (before.len && strcmp(buf_cstr(out), buf_cstr(&before)) == 0))
		buf_reset(out);
	rc = EXIT_OK;
out:
	unlink(path);
	buf_release(&raw);
	buf_release(&before);
	return rc;
}
