/* Helpers shared by the commands: errors, ids, JSON, times, the triage
 * transaction, and the output (colour, width, pager) every command uses. */
#include "compat.h"

#include <ctype.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "termsafe.h"
#include "ticket.h"

static const char *
esc_slot(const char *s, unsigned flags)
{
	static struct buf slots[CLI_ESC_SLOTS];
	static unsigned next;
	struct buf *b;
	size_t len;

	if (!s)
		return "";
	len = strlen(s);
	if (termsafe_is_clean(s, len, flags))
		return s;
	b = &slots[next++ % CLI_ESC_SLOTS];
	buf_reset(b);
	if (termsafe_escape(b, s, len, flags) < 0)
		return "(text too long to show)";
	return buf_cstr(b);
}

const char *
cli_esc(const char *s)
{
	return esc_slot(s, 0);
}

const char *
cli_esc_lines(const char *s)
{
	return esc_slot(s, TERMSAFE_LINES);
}

/* Messages quote subjects, addresses and servers' replies: escaped whole,
 * since the format cannot tell which arguments came from mail. */
void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
}

int
cli_fail(const struct err *e)
{
	cli_error("%s", e->msg[0] ? e->msg : "unknown error");
	return e->code ? e->code : EXIT_SOFTWARE;
}

int
cli_usage(const char *name)
{
	const struct cli_command *c = cli_find(name);

	fprintf(stderr, "usage: secdesk %s\n", c ? c->usage : name);
	return EXIT_USAGE;
}

int
cli_plain_args(int *argc, char **argv)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			for (int j = i; j < *argc; j++)
				argv[j] = argv[j + 1];
			(*argc)--;
			return 0;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("%s: unknown option '%s'", argv[0], argv[i]);
			return -1;
		}
	}
	return 0;
}

int64_t
cli_parse_id(const char *s)
{
	char *end;
	long long v;

	if (!s || *s == '#')
		s = s ? s + 1 : s;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0)
		return -1;
	return v;
}

int
cli_print_json(json_t *doc)
{
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(doc);
	fputc('\n', stdout);
	return rc == 0 ? EXIT_OK : EXIT_IOERR;
}

void
fmt_time_utc(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
fmt_time_local(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

json_t *
cli_ticket_json(const struct ticket *t)
{
	char created[32], updated[32];
	json_t *tags = json_array();

	for (size_t i = 0; i < t->tags.n; i++)
		json_array_append_new(tags, json_string(t->tags.items[i]));
	fmt_time_utc(t->created, created, sizeof(created));
	fmt_time_utc(t->updated, updated, sizeof(updated));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s,"
			 " s:o, s:o}",
			 "id", (json_int_t)t->id, "status", t->status, "queue", t->queue,
			 "category", t->category, "priority", t->priority, "language", t->language,
			 "subject", t->subject, "requester", t->requester, "requester_name",
			 t->requester_name, "assignee", t->assignee, "tags", tags, "created",
			 created, "updated", updated, "merged_into",
			 t->merged_into ? json_integer(t->merged_into) : json_null(), "flags",
			 ticket_flags_json(t->flags));
}

int
cli_ticket_txn(struct cli_ctx *ctx, int64_t id, const char *field, const char *value,
	       cli_ticket_op *op)
{
	struct err e = ERR_INIT;
	struct ticket t;

	if (store_begin(ctx->store, &e) < 0)
		return cli_fail(&e);
	/* Loaded first so that a missing or merged ticket is its own clear
	 * error. */
	if (ticket_load_live(ctx->store, id, &t, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	ticket_release(&t);
	if (op(ctx->store, id, field, value, ctx->who, &e) < 0 ||
	    store_commit(ctx->store, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	return EXIT_OK;
}

int64_t
cli_parse_duration(const char *s)
{
	char *end;
	long long v;
	int64_t unit;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v <= 0 || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (*end) {
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	if (v > INT64_MAX / unit)
		return -1;
	return (int64_t)v * unit;
}

long
cli_parse_count(const char *s)
{
	char *end;
	long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0)
		return -1;
	return v;
}

/* ---- output: colour, width, pager ---- */

static struct {
	bool color;
	bool tty;          /* stdout was a terminal when we started */
	int width;
	pid_t pager;       /* 0: none */
	int saved_stderr;  /* the terminal, while stderr goes to the pager */
} cli_out = { false, false, 78, 0, -1 };

void
cli_output_init(enum cli_color_when when)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM"), *cols;
	struct winsize ws;
	long n;

	cli_out.tty = isatty(STDOUT_FILENO);
	if (when == CLI_COLOR_ALWAYS)
		cli_out.color = true;
	else if (when == CLI_COLOR_NEVER)
		cli_out.color = false;
	else
		cli_out.color = cli_out.tty && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
	cli_out.width = 78;
	if (cli_out.tty) {
		cli_out.width = 80;
		cols = getenv("COLUMNS");
		n = cols ? cli_parse_count(cols) : -1;
		if (n > 0 && n < 10000)
			cli_out.width = (int)n;
		else if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
			cli_out.width = ws.ws_col;
	}
	if (cli_out.width < 20)
		cli_out.width = 20;
}

bool
cli_tty(void)
{
	return cli_out.tty;
}

bool
cli_color(void)
{
	return cli_out.color;
}

const char *
cli_sgr(const char *sgr)
{
	return cli_out.color ? sgr : "";
}

const char *
cli_status_sgr(const char *status)
{
	if (!cli_out.color || !status)
		return "";
	if (strcmp(status, "new") == 0)
		return CLI_BOLD CLI_YELLOW;
	if (strcmp(status, "open") == 0)
		return CLI_GREEN;
	if (strcmp(status, "pending") == 0)
		return CLI_CYAN;
	if (strcmp(status, "resolved") == 0)
		return CLI_BLUE;
	return CLI_DIM;
}

int
cli_width(void)
{
	return cli_out.width;
}

bool
cli_pager_active(void)
{
	return cli_out.pager > 0;
}

/* git's pager.c: which program, "" or "cat" meaning none. */
static const char *
pager_program(void)
{
	const char *p = getenv("SECDESK_PAGER");

	if (!p)
		p = getenv("PAGER");
	if (!p)
		p = "less";
	if (!*p || strcmp(p, "cat") == 0)
		return NULL;
	return p;
}

/* A pager named without shell syntax must exist, else the output would
 * go to a shell saying "not found" instead of the terminal: then no pager
 * (git checks the same by running it without a shell). */
static bool
pager_exists(const char *prog)
{
	const char *path = getenv("PATH"), *p;
	struct buf b = BUF_INIT;
	bool found = false;

	if (strpbrk(prog, " \t|&;<>()$`\\\"'*?[#~=%"))
		return true;
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	for (p = path ? path : "/usr/bin:/bin"; !found && *p;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);

		buf_reset(&b);
		buf_addf(&b, "%.*s/%s", (int)n, n ? p : ".", prog);
		found = access(buf_cstr(&b), X_OK) == 0;
		p += n + (colon ? 1 : 0);
	}
	buf_release(&b);
	return found;
}

static void
pager_wait(void)
{
	pid_t pid = cli_out.pager;

	cli_out.pager = 0;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Interrupted while paging: let the pager finish with what it has (the
 * user quits it), then die of the same signal, so that the shell does not
 * take the terminal back while less still uses it. */
static void
pager_signal(int sig)
{
	close(STDOUT_FILENO);
	if (cli_out.saved_stderr >= 0)
		close(STDERR_FILENO);
	if (cli_out.pager > 0)
		while (waitpid(cli_out.pager, NULL, 0) < 0 && errno == EINTR)
			;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
pager_atexit(void)
{
	cli_pager_finish(0);
}

void
cli_pager_start(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	const char *prog;
	int fd[2];
	pid_t pid;

	if (!cli_out.tty || cli_out.pager > 0)
		return;
	prog = pager_program();
	if (!prog || !pager_exists(prog))
		return;
	fflush(stdout);
	fflush(stderr);
	if (pipe(fd) < 0)
		return;
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return;
	}
	if (pid == 0) {
		dup2(fd[0], STDIN_FILENO);
		close(fd[0]);
		close(fd[1]);
		signal(SIGPIPE, SIG_DFL);
		setenv("LESS", "FRX", 0);
		setenv("LV", "-c", 0);
		execl("/bin/sh", "sh", "-c", prog, (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	dup2(fd[1], STDOUT_FILENO);
	if (isatty(STDERR_FILENO)) {
		cli_out.saved_stderr = dup(STDERR_FILENO);
		if (cli_out.saved_stderr >= 0)
			dup2(fd[1], STDERR_FILENO);
	}
	close(fd[1]);
	cli_out.pager = pid;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], pager_signal);
	atexit(pager_atexit);
}

int
cli_pager_finish(int rc)
{
	if (cli_out.pager <= 0)
		return rc;
	fflush(stdout);
	fflush(stderr);
	/* Writes to a pipe fail only when its reader is gone: the user quit. */
	clearerr(stdout);
	close(STDOUT_FILENO);
	if (cli_out.saved_stderr >= 0)
		close(STDERR_FILENO);
	pager_wait();
	if (cli_out.saved_stderr >= 0) {
		dup2(cli_out.saved_stderr, STDERR_FILENO);
		close(cli_out.saved_stderr);
		cli_out.saved_stderr = -1;
	}
	return rc;
}

/* Display columns of the UTF-8 text s[0..n): code points (no wide-char
 * tables: a CJK glyph counts one, which only makes a line a little long). */
static int
cols_of(const char *s, size_t n)
{
	int c = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* Length of the quote prefix ("> > ", ">>") or of the leading blanks. */
static size_t
line_prefix(const char *line, size_t len, bool *quoted)
{
	size_t pre = 0;

	*quoted = false;
	while (pre < len && (line[pre] == '>' || line[pre] == ' ' || line[pre] == '\t')) {
		if (line[pre] == '>')
			*quoted = true;
		else if (line[pre] == '\t' && *quoted)
			break;
		pre++;
	}
	return pre;
}

/* Wraps one line whose first pre bytes are its prefix. */
static void
wrap_line(const char *line, size_t len, size_t pre, bool quoted, int width, const char *indent,
	  struct buf *o)
{
	/* Pieces after the first repeat the prefix; ">text" goes on as "> ". */
	bool cont_space = quoted && line[pre - 1] != ' ', first = true;
	/* "- item" goes on under its text. */
	int hang = !quoted && pre + 1 < len && strchr("-*+", line[pre]) && line[pre + 1] == ' '
			   ? 2 : 0;
	int col = cols_of(line, pre);

	buf_addstr(o, indent);
	buf_add(o, line, pre);
	for (size_t i = pre; i < len;) {
		size_t w = i, we;
		int wc;

		while (w < len && line[w] == ' ')
			w++;
		if (w == len)
			break;
		for (we = w; we < len && line[we] != ' '; we++)
			;
		wc = cols_of(line + w, we - w);
		if (!first && col + 1 + wc > width) {
			buf_addch(o, '\n');
			buf_addstr(o, indent);
			buf_add(o, line, pre);
			if (cont_space)
				buf_addch(o, ' ');
			for (int h = 0; h < hang; h++)
				buf_addch(o, ' ');
			col = cols_of(line, pre) + (cont_space ? 1 : 0) + hang;
			first = true;
		}
		if (!first) {
			buf_addch(o, ' ');
			col++;
		}
		buf_add(o, line + w, we - w);
		col += wc;
		first = false;
		i = we;
	}
	buf_addch(o, '\n');
}

/* The writer's line breaks are kept: a short line is never joined to the
 * next (a list, an address, a signature), and what a long line leaves over
 * stays on lines of its own. Paragraphs of format=flowed mail arrive here
 * as one line each (flowed_decode()), so they still flow to the width. */
void
cli_wrap(const char *text, int width, const char *indent, struct buf *o)
{
	int w = width - cols_of(indent, strlen(indent));

	if (w < 20)
		w = 20;
	while (*text) {
		const char *eol = strchr(text, '\n');
		size_t n = eol ? (size_t)(eol - text) : strlen(text), pre;
		const char *next = eol ? eol + 1 : text + n;
		bool quoted;

		while (n && text[n - 1] == '\r')
			n--;
		pre = line_prefix(text, n, &quoted);
		if (pre == n && !quoted) {
			buf_addch(o, '\n'); /* blank: no trailing indent */
		} else if (cols_of(text, n) <= w) {
			buf_addstr(o, indent);
			buf_add(o, text, n);
			buf_addch(o, '\n');
		} else {
			wrap_line(text, n, pre, quoted, w, indent, o);
		}
		text = next;
	}
}
