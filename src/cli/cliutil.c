/* Helpers shared by the commands: errors, ids, JSON, times, the triage
 * transaction, and the output (colour, width, pager) every command uses. */
#include "compat.h"

#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "rules.h"
#include "termsafe.h"
#include "ticket.h"
#include "xalloc.h"

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

int64_t
cli_ticket_arg(const char *cmd, const char *arg)
{
	int64_t id = cli_parse_id(arg);

	if (id < 0)
		cli_error("%s: '%s' is not a ticket number", cmd, arg ? arg : "");
	return id;
}

const char *const cli_statuses[] = { "new", "open", "pending", "resolved", "closed", NULL };

const char *
cli_status_arg(const char *what, const char *arg)
{
	for (size_t i = 0; cli_statuses[i]; i++)
		if (strcasecmp(cli_statuses[i], arg) == 0)
			return cli_statuses[i];
	cli_error("%s: '%s' is not a status; the statuses: new, open, pending, resolved, closed",
		  what, arg);
	return NULL;
}

const struct queue *
cli_queue_arg(const struct ruleset *rs, const char *what, const char *arg)
{
	const struct queue *q = rules_queue(rs, arg);
	struct buf all = BUF_INIT;

	if (q)
		return q;
	for (size_t i = 0; i < rules_queue_count(rs); i++)
		buf_addf(&all, "%s%s", i ? ", " : "", rules_queue_at(rs, i)->id);
	cli_error("%s: '%s' is not a queue; the queues: %s", what, arg, buf_cstr(&all));
	buf_release(&all);
	return NULL;
}

int
cli_check_queue(struct cli_ctx *ctx, const char *what, const char *arg)
{
	struct err e = ERR_INIT;
	struct ruleset *rs = NULL;
	int rc = EXIT_OK;

	if (rules_load_queues(ctx->cfg->rules.dir, &rs, &e) < 0)
		return cli_fail(&e);
	if (!cli_queue_arg(rs, what, arg))
		rc = EXIT_USAGE;
	rules_free(&rs);
	return rc;
}

void
cli_template_names(const char *dir, struct strlist *names)
{
	DIR *dh = opendir(dir);
	struct dirent *de;

	if (!dh)
		return;
	while ((de = readdir(dh))) {
		const char *dot = strchr(de->d_name, '.');
		const char *ext = strrchr(de->d_name, '.');
		char *name;

		if (!dot || dot == de->d_name || de->d_name[0] == '_' || dot == ext ||
		    (strcmp(ext, ".txt") != 0 && strcmp(ext, ".tmpl") != 0))
			continue;
		name = xstrndup(de->d_name, (size_t)(dot - de->d_name));
		if (strlist_contains(names, name))
			free(name);
		else
			strlist_add_owned(names, name);
	}
	closedir(dh);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cli_check_template(struct cli_ctx *ctx, const char *what, const char *name)
{
	struct strlist names = STRLIST_INIT;
	struct buf all = BUF_INIT;
	int rc = EXIT_OK;

	cli_template_names(ctx->cfg->templates.dir, &names);
	if (!strlist_contains(&names, name)) {
		if (names.n)
			qsort(names.items, names.n, sizeof(*names.items), cmp_name);
		for (size_t i = 0; i < names.n; i++)
			buf_addf(&all, "%s%s", i ? ", " : "", names.items[i]);
		cli_error("%s: '%s' is not a template; the templates: %s", what, name,
			  all.len ? buf_cstr(&all) : "(none)");
		rc = EXIT_USAGE;
	}
	buf_release(&all);
	strlist_release(&names);
	return rc;
}

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent
 * swaps), in any case: "lst" is 1 from "list", "sohw" 1 from "show". */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *d;
	size_t r;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	d = xcalloc((la + 1) * (lb + 1), sizeof(*d));
#define D(i, j) d[(i) * (lb + 1) + (j)]
	for (size_t i = 0; i <= la; i++)
		D(i, 0) = i;
	for (size_t j = 0; j <= lb; j++)
		D(0, j) = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t v = D(i - 1, j) + 1;

			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < v)
				v = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	}
	r = D(la, lb);
#undef D
	free(d);
	return r;
}

bool
cli_nearest_commands(const char *name, struct buf *out)
{
	const struct cli_command *near[3];
	size_t best_d = SIZE_MAX, len = strlen(name), n = 0;

	for (const struct cli_command *c = cli_commands; c->name; c++) {
		size_t dist;

		if (c->needs & CLI_HIDDEN)
			continue;
		dist = edit_distance(name, c->name);
		if (dist < best_d) {
			best_d = dist;
			n = 0;
		}
		if (dist == best_d && n < ARRAY_SIZE(near))
			near[n++] = c;
	}
	/* At most two edits, and fewer than half the letters. */
	if (!n || best_d > 2 || best_d * 2 >= len)
		return false;
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", near[i]->name);
	return true;
}

void
cli_unknown_command(const char *name)
{
	struct buf near = BUF_INIT;

	if (cli_nearest_commands(name, &near))
		cli_error("'%s' is not a secdesk command; did you mean %s?", name, buf_cstr(&near));
	else
		cli_error("'%s' is not a secdesk command; see 'secdesk help'", name);
	buf_release(&near);
}

/* The option --name (n bytes of it, as getopt_long takes it: whole, or a
 * prefix of one option only); NULL when none, *ambiguous when several. */
static const struct cli_option *
option_long(const struct cli_option *opts, const char *name, size_t n, bool *ambiguous)
{
	const struct cli_option *found = NULL;
	int prefixes = 0;

	*ambiguous = false;
	for (const struct cli_option *o = opts; o && o->help; o++) {
		if (!o->name || strncmp(o->name, name, n) != 0)
			continue;
		if (o->name[n] == '\0')
			return o;
		found = o;
		prefixes++;
	}
	*ambiguous = prefixes > 1;
	return prefixes == 1 ? found : NULL;
}

static const struct cli_option *
option_short(const struct cli_option *opts, char c)
{
	for (const struct cli_option *o = opts; o && o->help; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

/* Checks the option argv[*i] (which begins with '-'), stepping *i over
 * its value when that is the next argument. */
static int
check_option(const struct cli_option *opts, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *eq;
	const struct cli_option *o;
	bool ambiguous;

	if (a[1] == '-') {
		eq = strchr(a + 2, '=');
		o = option_long(opts, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2), &ambiguous);
		if (!o) {
			cli_error("%s: %s option '%s'; put -- before an argument that begins with '-'",
				  argv[0], ambiguous ? "ambiguous" : "unknown", a);
			return -1;
		}
		if (!o->arg && eq) {
			cli_error("%s: option '--%s' takes no value", argv[0], o->name);
			return -1;
		}
		if (o->arg && !eq && ++*i >= argc) {
			cli_error("%s: option '--%s' needs a value (%s)", argv[0], o->name, o->arg);
			return -1;
		}
		return 0;
	}
	for (const char *p = a + 1; *p; p++) {
		o = option_short(opts, *p);
		if (!o) {
			cli_error("%s: unknown option '-%c'%s%s%s; put -- before an argument that "
				  "begins with '-'", argv[0], *p, p > a + 1 || p[1] ? " in '" : "",
				  p > a + 1 || p[1] ? a : "", p > a + 1 || p[1] ? "'" : "");
			return -1;
		}
		if (o->arg) {
			if (!p[1] && ++*i >= argc) {
				cli_error("%s: option '-%c' needs a value (%s)", argv[0], *p, o->arg);
				return -1;
			}
			break;
		}
	}
	return 0;
}

int
cli_check_options(int argc, char **argv)
{
	const struct cli_help *h = cli_help_of(argv[0]);
	const struct cli_option *opts = h ? h->options : NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (argv[i][0] == '-' && argv[i][1] && check_option(opts, argc, argv, &i) < 0)
			return EXIT_USAGE;
	}
	return EXIT_OK;
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

/* The value field has in t, for the line that says what changed. */
static const char *
ticket_field(const struct ticket *t, const char *field)
{
	if (strcmp(field, "status") == 0)
		return t->status;
	if (strcmp(field, "assignee") == 0)
		return t->assignee;
	if (strcmp(field, "queue") == 0)
		return t->queue;
	return NULL;
}

/* Whether op would change nothing on t; then says so when say. */
static bool
ticket_noop(const struct ticket *t, const char *field, const char *value, bool say)
{
	const char *old = ticket_field(t, field);
	bool tagged = strlist_contains(&t->tags, value);

	if (!say)
		return (old && strcmp(old, value) == 0) ||
		       (strcmp(field, "tag") == 0 && tagged) ||
		       (strcmp(field, "untag") == 0 && !tagged);
	if (old && strcmp(old, value) == 0)
		printf("#%lld: %s is already %s\n", (long long)t->id, field, cli_esc(value));
	else if (strcmp(field, "tag") == 0 && tagged)
		printf("#%lld: already tagged %s\n", (long long)t->id, cli_esc(value));
	else if (strcmp(field, "untag") == 0 && !tagged)
		printf("#%lld: not tagged %s\n", (long long)t->id, cli_esc(value));
	else
		return false;
	return true;
}

/* The line that says what op did to t (as it was before). */
static void
ticket_said(const struct ticket *t, const char *field, const char *value)
{
	const char *old = ticket_field(t, field);

	if (old)
		printf("#%lld: %s %s -> %s\n", (long long)t->id, field,
		       *old ? cli_esc(old) : "(none)", cli_esc(value));
	else if (strcmp(field, "tag") == 0)
		printf("#%lld: tagged %s\n", (long long)t->id, cli_esc(value));
	else if (strcmp(field, "untag") == 0)
		printf("#%lld: untagged %s\n", (long long)t->id, cli_esc(value));
	else
		printf("#%lld: %s added\n", (long long)t->id, field);
}

int
cli_ticket_txn(struct cli_ctx *ctx, int64_t id, const char *field, const char *value,
	       cli_ticket_op *op)
{
	struct err e = ERR_INIT;
	struct ticket t;
	bool noop;

	if (store_begin(ctx->store, &e) < 0)
		return cli_fail(&e);
	/* Loaded first so that a missing or merged ticket is its own clear
	 * error, and the change can be said. */
	if (ticket_load_live(ctx->store, id, &t, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	noop = ticket_noop(&t, field, value, false);
	if (noop) {
		store_rollback(ctx->store);
		ticket_noop(&t, field, value, ctx->verbosity >= 0);
		ticket_release(&t);
		return EXIT_OK;
	}
	if (op(ctx->store, id, field, value, ctx->who, &e) < 0 ||
	    store_commit(ctx->store, &e) < 0) {
		store_rollback(ctx->store);
		ticket_release(&t);
		return cli_fail(&e);
	}
	if (ctx->verbosity >= 0)
		ticket_said(&t, field, value);
	ticket_release(&t);
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
