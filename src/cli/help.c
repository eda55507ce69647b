/* secdesk help [COMMAND]: the commands, or one command's usage, summary,
 * text and options (help_text.c); help --mdoc writes the same as the
 * COMMANDS section of secdesk(1), so that the page is made from it. */
#include "compat.h"

#include "buf.h"
#include "cli.h"

int cmd_help(int argc, char **argv, struct cli_ctx *ctx);

static void
help_overview(void)
{
	printf("usage: secdesk [-c CONFIG] [-v|-q] [--no-pager] [--color=WHEN] COMMAND [ARGS]\n"
	       "\ncommands:\n");
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (!(c->needs & CLI_HIDDEN))
			printf("  %-11s %s\n", c->name, c->summary);
	printf("\noptions before the command:\n"
	       "  -c CONFIG      the config file\n"
	       "  -v, -q         more, or less, logging\n"
	       "  --no-pager     never page the output\n"
	       "  --color=WHEN   always, never or auto (the default: on a terminal, unless\n"
	       "                 NO_COLOR is set)\n"
	       "\nThe config is -c FILE, else $SECDESK_CONFIG, else ./secdesk.conf, else\n"
	       "/etc/secdesk/secdesk.conf. On a terminal, list, show, search, stats, outbox\n"
	       "and help page through $SECDESK_PAGER, else $PAGER, else less (with LESS=FRX\n"
	       "when LESS is not set). 'secdesk help COMMAND' or 'secdesk COMMAND --help'\n"
	       "shows one command. Unknown commands and options exit with 64.\n");
}

/* "--status S[,S...], -s" */
static void
option_term(const struct cli_option *o, struct buf *out)
{
	buf_reset(out);
	if (o->name)
		buf_addf(out, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	if (o->name && o->short_name)
		buf_addstr(out, ", ");
	if (o->short_name)
		buf_addf(out, "-%c%s%s", o->short_name, !o->name && o->arg ? " " : "",
			 !o->name && o->arg ? o->arg : "");
}

/* Calls each on every paragraph of text (without its blank lines). */
static void
each_paragraph(const char *text, void (*each)(const char *p, size_t n, void *arg), void *arg)
{
	while (*text) {
		const char *end = strstr(text, "\n\n");
		size_t n = end ? (size_t)(end - text) : strlen(text);

		each(text, n, arg);
		text += n;
		while (*text == '\n')
			text++;
	}
}

static bool
is_literal(const char *p, size_t n)
{
	return n >= 2 && p[0] == ' ' && p[1] == ' ';
}

static void
plain_paragraph(const char *p, size_t n, void *arg)
{
	struct buf *out = arg, para = BUF_INIT;

	buf_add(&para, p, n);
	buf_addch(out, '\n');
	if (is_literal(p, n)) {
		buf_add(out, p, n);
		buf_addch(out, '\n');
	} else {
		cli_wrap(buf_cstr(&para), 78, "", out);
	}
	buf_release(&para);
}

static void
help_command(const struct cli_command *c)
{
	const struct cli_help *h = cli_help_of(c->name);
	struct buf out = BUF_INIT, term = BUF_INIT;

	buf_addf(&out, "usage: secdesk %s\n", c->usage);
	if (h && h->text)
		each_paragraph(h->text, plain_paragraph, &out);
	if (h && h->options && h->options[0].help) {
		buf_addstr(&out, "\nOptions:\n");
		for (const struct cli_option *o = h->options; o->help; o++) {
			option_term(o, &term);
			buf_addf(&out, "  %s\n", buf_cstr(&term));
			cli_wrap(o->help, 78, "      ", &out);
		}
	}
	fputs(buf_cstr(&out), stdout);
	buf_release(&out);
	buf_release(&term);
}

/* ---- the same as mdoc, for secdesk(1) ---- */

/* Text for mdoc: a backslash escaped, UTF-8 as \[uXXXX], a lone "--" as
 * \-\- (else read as an em dash). No spaces are added, so that the
 * escaped text wraps as the text does. */
static void
mdoc_escape(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			buf_addstr(out, "\\e");
		} else if (c == '-' && i + 1 < n && s[i + 1] == '-' && (i == 0 || s[i - 1] == ' ') &&
			   (i + 2 == n || s[i + 2] == ' ')) {
			buf_addstr(out, "\\-\\-");
			i++;
		} else if (c >= 0xc0 && c < 0xe0 && i + 1 < n) {
			buf_addf(out, "\\[u%04X]", ((c & 0x1fu) << 6) | ((unsigned char)s[i + 1] & 0x3fu));
			i++;
		} else if (c >= 0xe0 && c < 0xf0 && i + 2 < n) {
			buf_addf(out, "\\[u%04X]", ((c & 0x0fu) << 12) |
				 (((unsigned char)s[i + 1] & 0x3fu) << 6) |
				 ((unsigned char)s[i + 2] & 0x3fu));
			i += 2;
		} else {
			buf_addch(out, (char)c);
		}
	}
}

/* One line of escaped text: a leading '.' or '\'' (a request) made text. */
static void
mdoc_line(const char *s, size_t n, struct buf *out)
{
	if (n && (s[0] == '.' || s[0] == '\''))
		buf_addstr(out, "\\&");
	buf_add(out, s, n);
	buf_addch(out, '\n');
}

/* Prose as mandoc wants it: each sentence on a line of its own, lines of
 * at most 78 bytes, broken between words. */
static void
mdoc_prose(const char *text, size_t len, struct buf *out)
{
	struct buf esc = BUF_INIT;
	const char *p;
	size_t n, start = 0;

	mdoc_escape(text, len, &esc);
	p = buf_cstr(&esc);
	n = esc.len;
	while (start < n) {
		size_t end = start, line_end, last_space = 0;

		/* the sentence: up to ". " (or ? !), or the end */
		while (end < n && !(strchr(".?!", p[end]) && end + 1 < n && p[end + 1] == ' '))
			end++;
		if (end < n)
			end++;
		/* its lines */
		for (size_t s = start; s < end;) {
			line_end = s;
			last_space = 0;
			while (line_end < end && line_end - s < 78) {
				if (p[line_end] == ' ')
					last_space = line_end;
				line_end++;
			}
			if (line_end < end && last_space > s)
				line_end = last_space;
			mdoc_line(p + s, line_end - s, out);
			s = line_end;
			while (s < end && p[s] == ' ')
				s++;
		}
		start = end;
		while (start < n && p[start] == ' ')
			start++;
	}
	buf_release(&esc);
}

/* Lines that begin with two spaces (examples), as they are. */
static void
mdoc_literal(const char *p, size_t n, struct buf *out)
{
	buf_addstr(out, ".Bd -literal -offset indent\n");
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;

		struct buf esc = BUF_INIT;

		mdoc_escape(p + 2, len > 2 ? len - 2 : 0, &esc);
		mdoc_line(esc.data ? esc.data : "", esc.len, out);
		buf_release(&esc);
		p += len + (nl ? 1 : 0);
		n -= len + (nl ? 1 : 0);
	}
	buf_addstr(out, ".Ed\n");
}

static void
mdoc_option(const struct cli_option *o, struct buf *out)
{
	buf_addstr(out, ".It");
	if (o->name)
		buf_addf(out, " Fl -%s%s%s", o->name, o->arg ? " Ar " : "", o->arg ? o->arg : "");
	if (o->name && o->short_name)
		buf_addstr(out, " ,");
	if (o->short_name)
		buf_addf(out, " Fl %c%s%s", o->short_name, !o->name && o->arg ? " Ar " : "",
			 !o->name && o->arg ? o->arg : "");
	buf_addch(out, '\n');
	mdoc_prose(o->help, strlen(o->help), out);
}

static void
mdoc_command(const struct cli_command *c, struct buf *out)
{
	const struct cli_help *h = cli_help_of(c->name);
	const char *rest = c->usage + strlen(c->name);
	while (*rest == ' ')
		rest++;
	buf_addf(out, ".It Cm %s", c->name);
	if (*rest)
		buf_addf(out, " Li \"%s\"", rest);
	buf_addch(out, '\n');
	/* Paragraphs after the first begin with .Pp. */
	for (const char *t = h && h->text ? h->text : ""; *t;) {
		const char *end = strstr(t, "\n\n");
		size_t n = end ? (size_t)(end - t) : strlen(t);

		if (is_literal(t, n)) {
			mdoc_literal(t, n, out);
		} else {
			if (t != h->text)
				buf_addstr(out, ".Pp\n");
			mdoc_prose(t, n, out);
		}
		t += n;
		while (*t == '\n')
			t++;
	}
	if (h && h->options && h->options[0].help) {
		buf_addstr(out, ".Bl -tag -width Ds\n");
		for (const struct cli_option *o = h->options; o->help; o++)
			mdoc_option(o, out);
		buf_addstr(out, ".El\n");
	}
}

/* The body of secdesk(1)'s COMMANDS section, between its .Sh lines. */
static void
help_mdoc(void)
{
	struct buf out = BUF_INIT;

	buf_addstr(&out, ".\\\" Made by 'secdesk help --mdoc' from src/cli/help_text.c and\n"
			 ".\\\" src/cli/commands.c: change them, then 'make man'.\n"
			 ".Bl -tag -width Ds\n");
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (!(c->needs & CLI_HIDDEN))
			mdoc_command(c, &out);
	buf_addstr(&out, ".El\n.Pp\n");
	{
		static const char every[] = "Every change made by a command is recorded as an "
					    "event with who, when and what.";

		mdoc_prose(every, strlen(every), &out);
	}
	fputs(buf_cstr(&out), stdout);
	buf_release(&out);
}

int
cmd_help(int argc, char **argv, struct cli_ctx *ctx)
{
	const struct cli_command *c;

	(void)ctx;
	if (argc == 2 && strcmp(argv[1], "--mdoc") == 0) {
		help_mdoc();
		return EXIT_OK;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return cli_usage("help");
	if (argc < 2) {
		help_overview();
		return EXIT_OK;
	}
	c = cli_find(argv[1]);
	if (!c) {
		cli_unknown_command(argv[1]);
		return cli_usage("help");
	}
	help_command(c);
	return EXIT_OK;
}
