/* secdesk list: tickets, newest activity first, filtered and sorted
 * (ticket_list). Ages are counted from the ticket's creation, as stats
 * counts them; "answered" means a staff reply is in the ticket. */
#include "compat.h"

#include <getopt.h>

#include "buf.h"
#include "cli.h"
#include "ticket.h"
#include "utf8.h"
#include "xalloc.h"

int cmd_list(int argc, char **argv, struct cli_ctx *ctx);

/* The statuses list shows without --status or --all: all but closed. */
static const char *const list_default_statuses[] = { "new", "open", "pending", "resolved" };

/* --sort FIELD, ascending. */
static const struct {
	const char *name;
	enum ticket_sort sort;
} list_sorts[] = {
	{ "id", TICKET_SORT_ID },
	{ "created", TICKET_SORT_CREATED },
	{ "updated", TICKET_SORT_UPDATED },
	{ "priority", TICKET_SORT_PRIORITY },
	{ "queue", TICKET_SORT_QUEUE },
	{ "status", TICKET_SORT_STATUS },
};

/* How the tickets are written. */
enum list_format { LIST_TABLE, LIST_CSV, LIST_TSV, LIST_JSON, LIST_TEMPLATE };

struct list_opts {
	struct strlist status; /* --status a,b: any of them */
	struct ticket_filter filter;
	enum list_format format;
	const char *template; /* --format with %{key}s */
	bool all;             /* --all: closed tickets and spam too */
};

/* The table's width when stdout is no terminal: COLUMNS when set, else 78
 * (the manual's piped width), so that piped output does not depend on the
 * terminal it was started from. */
#define LIST_PIPED_WIDTH 78

static int
list_width(void)
{
	const char *cols = getenv("COLUMNS");
	long n;

	if (cli_tty())
		return cli_width();
	n = cols && *cols ? cli_parse_count(cols) : -1;
	return n >= 20 && n < 10000 ? (int)n : LIST_PIPED_WIDTH;
}

/* The columns a terminal gives code point cp: none for a combining mark or
 * a zero-width character, two for the wide East Asian ranges and emoji. */
static int
cp_width(unsigned cp)
{
	if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x483 && cp <= 0x489) ||
	    (cp >= 0x591 && cp <= 0x5bd) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
	    (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe00 && cp <= 0xfe0f) ||
	    (cp >= 0xfe20 && cp <= 0xfe2f) || cp == 0xfeff)
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
	    (cp >= 0x3041 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
	    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
	    (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) ||
	    (cp >= 0x1f300 && cp <= 0x1f64f) || (cp >= 0x1f900 && cp <= 0x1f9ff) ||
	    (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

/* The display columns of s (escaped already: no controls); a byte that is
 * no UTF-8 counts one, as the terminal shows one replacement for it. */
static int
text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	int cols = 0;

	while (n) {
		unsigned cp;
		size_t k = utf8_decode(p, n, &cp);

		cols += k ? cp_width(cp) : 1;
		k = k ? k : 1;
		p += k;
		n -= k;
	}
	return cols;
}

/* s made safe for the terminal (cli_esc: controls, bidi overrides, line
 * breaks as visible escapes), cut to at most width display columns with
 * "…" where it was cut (0: no cut) into out, padded with spaces to pad
 * columns. The columns are those of the escaped form, which is what the
 * terminal shows; a character is escaped alone so that a cut never splits
 * its escape. */
static const char *
cell(const char *s, int width, int pad, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	bool cut = width > 0 && text_width(cli_esc(s)) > width;
	int cols = 0, room = cut ? width - 1 : width;

	buf_reset(out);
	buf_addstr(out, "");
	while (n) {
		char one[5];
		size_t k = utf8_decode(p, n, NULL);
		const char *esc;
		int w;

		k = k ? k : 1;
		memcpy(one, p, k);
		one[k] = '\0';
		esc = cli_esc(one);
		w = text_width(esc);
		if (width > 0 && cols + w > room)
			break;
		buf_addstr(out, esc);
		cols += w;
		p += k;
		n -= k;
	}
	if (cut) {
		buf_addstr(out, "\xe2\x80\xa6"); /* … */
		cols++;
	}
	for (; cols < pad; cols++)
		buf_addch(out, ' ');
	return buf_cstr(out);
}

static int
list_parse_sort(struct list_opts *o, const char *arg)
{
	bool desc = false;

	if (*arg == '-' || *arg == '+') {
		desc = *arg == '-';
		arg++;
	}
	for (size_t i = 0; i < ARRAY_SIZE(list_sorts); i++) {
		if (strcmp(arg, list_sorts[i].name) == 0) {
			o->filter.sort = list_sorts[i].sort;
			o->filter.descending = desc;
			return 0;
		}
	}
	cli_error("--sort: '%s' is not one of id, created, updated, priority, queue, status", arg);
	return -1;
}

static int
list_parse_status(struct list_opts *o, const char *arg)
{
	const char *p = arg;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *one = xstrndup(p, n);
		const char *status = cli_status_arg("list --status", one);

		free(one);
		if (!status)
			return -1;
		strlist_add(&o->status, status);
		p += n + (comma ? 1 : 0);
	}
	if (!o->status.n) {
		cli_error("--status: no status given");
		return -1;
	}
	return 0;
}

/* The keys of --format '%{key}', CSV and TSV, in the CSV's order. Times in
 * UTC (RFC 3339), as --json gives them: output for scripts. */
static const char *const list_keys[] = { "id",       "status",   "queue",
					 "category", "priority", "language",
					 "assignee", "requester", "requester_name",
					 "subject",  "created",  "updated",
					 "flags",    "tags",     NULL };

/* The value of key for t into out; false for an unknown key. */
static bool
ticket_value(const struct ticket *t, const char *key, size_t klen, struct buf *out)
{
	char tmp[64];
	const char *v = NULL;

	buf_reset(out);
	buf_addstr(out, "");
#define KEY_IS(k) (klen == strlen(k) && memcmp(key, k, klen) == 0)
	if (KEY_IS("id")) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)t->id);
		v = tmp;
	} else if (KEY_IS("status")) {
		v = t->status;
	} else if (KEY_IS("queue")) {
		v = t->queue;
	} else if (KEY_IS("category")) {
		v = t->category;
	} else if (KEY_IS("priority")) {
		v = t->priority;
	} else if (KEY_IS("language")) {
		v = t->language;
	} else if (KEY_IS("assignee")) {
		v = t->assignee;
	} else if (KEY_IS("requester")) {
		v = t->requester;
	} else if (KEY_IS("requester_name")) {
		v = t->requester_name;
	} else if (KEY_IS("subject")) {
		v = t->subject;
	} else if (KEY_IS("created") || KEY_IS("updated")) {
		fmt_time_utc(KEY_IS("created") ? t->created : t->updated, tmp, sizeof(tmp));
		v = tmp;
	} else if (KEY_IS("flags")) {
		ticket_flags_str(t->flags, tmp, sizeof(tmp));
		v = tmp;
	} else if (KEY_IS("tags")) {
		for (size_t i = 0; i < t->tags.n; i++) {
			if (i)
				buf_addch(out, ',');
			buf_addstr(out, t->tags.items[i]);
		}
		return true;
	} else {
		return false;
	}
#undef KEY_IS
	buf_addstr(out, v ? v : "");
	return true;
}

/* Checks the keys of a --format template; -1 (said) on an unknown one or
 * an unclosed %{. */
static int
template_check(const char *tmpl)
{
	struct ticket t;
	struct buf b = BUF_INIT;
	int rc = 0;

	ticket_init(&t);
	for (const char *p = tmpl; *p && rc == 0; p++) {
		const char *end;

		if (p[0] != '%' || p[1] != '{')
			continue;
		end = strchr(p + 2, '}');
		if (!end) {
			cli_error("--format: '%%{' without '}' in '%s'", tmpl);
			rc = -1;
		} else if (!ticket_value(&t, p + 2, (size_t)(end - p - 2), &b)) {
			cli_error("--format: unknown key '%.*s' (keys: id, status, queue, category, "
				  "priority, language, assignee, requester, requester_name, subject, "
				  "created, updated, flags, tags)",
				  (int)(end - p - 2), p + 2);
			rc = -1;
		} else {
			p = end;
		}
	}
	buf_release(&b);
	ticket_release(&t);
	return rc;
}

/* One ticket through the template: %{key} its value (made safe for the
 * terminal, on one line), %% a percent sign, \n and \t a newline and a tab;
 * a newline after each ticket. */
static void
template_print(const struct ticket *t, const char *tmpl, struct buf *tmp)
{
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');

			(void)ticket_value(t, p + 2, (size_t)(end - p - 2), tmp);
			fputs(cli_esc(buf_cstr(tmp)), stdout);
			p = end;
		} else if (p[0] == '%' && p[1] == '%') {
			putchar('%');
			p++;
		} else if (p[0] == '\\' && (p[1] == 'n' || p[1] == 't')) {
			putchar(p[1] == 'n' ? '\n' : '\t');
			p++;
		} else {
			putchar(*p);
		}
	}
	putchar('\n');
}

/* A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line
 * break, its quotes doubled. */
static void
csv_field(const char *v)
{
	if (!v[strcspn(v, ",\"\r\n")]) {
		fputs(v, stdout);
		return;
	}
	putchar('"');
	for (; *v; v++) {
		if (*v == '"')
			putchar('"');
		putchar(*v);
	}
	putchar('"');
}

/* A TSV field: tab, line breaks and backslash written \t, \n, \r, \\ so
 * that a ticket is one line and a field never splits. */
static void
tsv_field(const char *v)
{
	for (; *v; v++) {
		switch (*v) {
		case '\t': fputs("\\t", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		default: putchar(*v); break;
		}
	}
}

/* A header line of the keys (t NULL), or t's values. */
static void
sv_print(const struct ticket *t, bool csv, struct buf *tmp)
{
	for (size_t k = 0; list_keys[k]; k++) {
		const char *v = list_keys[k];

		if (k)
			putchar(csv ? ',' : '\t');
		if (t) {
			(void)ticket_value(t, list_keys[k], strlen(list_keys[k]), tmp);
			v = buf_cstr(tmp);
		}
		if (csv)
			csv_field(v);
		else
			tsv_field(v);
	}
	putchar(csv ? '\r' : '\n');
	if (csv)
		putchar('\n');
}

/* The widths of the table's columns, from the tickets and the width of
 * the output. The columns stay where scripts and the bash completion read
 * them (id first, queue third). */
struct table {
	int id, status, queue, category, requester, subject;
	bool marks; /* some ticket has the [!] mark */
};

static int
imax(int a, int b)
{
	return a > b ? a : b;
}

static void
table_layout(struct table *tb, const struct ticket *ts, size_t n, int width)
{
	int req = 9, subj = 7, fixed, flex;

	*tb = (struct table){ 2, 6, 5, 8, 0, 0, false };
	for (size_t i = 0; i < n; i++) {
		char id[24];

		snprintf(id, sizeof(id), "%lld", (long long)ts[i].id);
		tb->id = imax(tb->id, (int)strlen(id));
		tb->status = imax(tb->status, text_width(cli_esc(ts[i].status)));
		tb->queue = imax(tb->queue, text_width(cli_esc(ts[i].queue)));
		tb->category = imax(tb->category, text_width(cli_esc(ts[i].category)));
		req = imax(req, text_width(cli_esc(ts[i].requester)));
		subj = imax(subj, text_width(cli_esc(ts[i].subject)));
		tb->marks |= ts[i].flags != 0;
	}
	/* queue and category come from rules, which may copy text from mail */
	tb->queue = tb->queue < 16 ? tb->queue : 16;
	tb->category = tb->category < 16 ? tb->category : 16;
	/* id, status, queue, category, the date (16), a space after each */
	fixed = tb->id + tb->status + tb->queue + tb->category + 16 + 5;
	flex = width - fixed - 1 - (tb->marks ? 4 : 0);
	/* a narrow terminal: the category goes before requester and subject
	 * get too small to read */
	if (flex < 24) {
		flex += tb->category + 1;
		tb->category = 0;
	}
	if (req + subj <= flex) {
		tb->requester = req;
		tb->subject = subj;
		return;
	}
	/* the requester gets what the subjects leave, a third at least */
	tb->requester = imax(8, req < imax(flex / 3, flex - subj) ? req : imax(flex / 3, flex - subj));
	tb->subject = imax(8, flex - tb->requester);
}

static void
table_header(const struct table *tb, struct buf *tmp)
{
	printf("%s%-*s %-*s ", cli_sgr(CLI_BOLD), tb->id, "ID", tb->status, "STATUS");
	printf("%s ", cell("QUEUE", tb->queue, tb->queue, tmp));
	if (tb->category)
		printf("%s ", cell("CATEGORY", tb->category, tb->category, tmp));
	printf("%-16s ", "UPDATED");
	printf("%s ", cell("REQUESTER", tb->requester, tb->requester, tmp));
	printf("%s%s\n", cell("SUBJECT", tb->subject, 0, tmp), cli_sgr(CLI_RESET));
}

static void
table_row(const struct table *tb, const struct ticket *t, struct buf *tmp)
{
	char when[32];

	fmt_time_local(t->updated, when, sizeof(when));
	printf("%s%-*lld%s %s%s%s ", cli_sgr(CLI_YELLOW), tb->id, (long long)t->id,
	       cli_sgr(CLI_RESET), cli_status_sgr(t->status),
	       cell(t->status, tb->status, tb->status, tmp), cli_sgr(CLI_RESET));
	printf("%s ", cell(t->queue, tb->queue, tb->queue, tmp));
	if (tb->category)
		printf("%s ", cell(t->category, tb->category, tb->category, tmp));
	printf("%-16s ", when);
	printf("%s ", cell(t->requester, tb->requester, tb->requester, tmp));
	printf("%s", cell(t->subject, tb->subject, 0, tmp));
	/* the mark after the subject's column, so that the marks line up */
	if (t->flags)
		printf("%*s %s[!]%s", tb->subject - text_width(buf_cstr(tmp)), "",
		       cli_sgr(CLI_RED CLI_BOLD), cli_sgr(CLI_RESET));
	printf("\n");
}

/* --format: a name or a template. */
static int
list_parse_format(struct list_opts *o, const char *arg)
{
	static const struct {
		const char *name;
		enum list_format format;
	} names[] = { { "table", LIST_TABLE },
		      { "csv", LIST_CSV },
		      { "tsv", LIST_TSV },
		      { "json", LIST_JSON } };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(arg, names[i].name) == 0) {
			o->format = names[i].format;
			return 0;
		}
	if (!strstr(arg, "%{")) {
		cli_error("--format: '%s' is not one of table, csv, tsv, json, nor a template "
			  "with %%{key}",
			  arg);
		return -1;
	}
	if (template_check(arg) < 0)
		return -1;
	o->format = LIST_TEMPLATE;
	o->template = arg;
	return 0;
}

/* Parses the options into o; -1 on a usage error (said). */
static int
list_parse_args(int argc, char **argv, struct list_opts *o)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "queue", required_argument, NULL, 'q' },
		{ "assignee", required_argument, NULL, 'a' },
		{ "tag", required_argument, NULL, 't' },
		{ "category", required_argument, NULL, 'C' },
		{ "older-than", required_argument, NULL, 'o' },
		{ "unanswered", no_argument, NULL, 'u' },
		{ "sort", required_argument, NULL, 'S' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'F' },
		{ "all", no_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	struct ticket_filter *f = &o->filter;
	bool reverse = false;
	int c;

	while ((c = getopt_long(argc, argv, "s:q:a:t:n:rj", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (list_parse_status(o, optarg) < 0)
				return -1;
			break;
		case 'q': f->queue = optarg; break;
		case 'a': f->assignee = optarg; break;
		case 't': f->tag = optarg; break;
		case 'C': f->category = optarg; break;
		case 'o':
			f->older_than = cli_parse_duration(optarg);
			if (f->older_than < 0) {
				cli_error("--older-than: '%s' is not a duration like 30m, 12h, 7d, 2w",
					  optarg);
				return -1;
			}
			break;
		case 'u': f->unanswered = true; break;
		case 'S':
			if (list_parse_sort(o, optarg) < 0)
				return -1;
			break;
		case 'r': reverse = true; break;
		case 'n':
			f->limit = cli_parse_count(optarg);
			if (f->limit < 0) {
				cli_error("--limit: '%s' is not a positive number", optarg);
				return -1;
			}
			break;
		case 'j': o->format = LIST_JSON; break;
		case 'F':
			if (list_parse_format(o, optarg) < 0)
				return -1;
			break;
		case 'A': o->all = true; break;
		default: return -1;
		}
	}
	if (optind != argc)
		return -1;
	if (reverse)
		f->descending = !f->descending;
	/* Closed tickets only when asked for: --all, or --status naming them. */
	if (!o->status.n && !o->all)
		for (size_t i = 0; i < ARRAY_SIZE(list_default_statuses); i++)
			strlist_add(&o->status, list_default_statuses[i]);
	f->status = &o->status;
	/* answered only for --json: the other forms do not show it. */
	f->want_answered = o->format == LIST_JSON;
	return 0;
}

/* Spam is left out unless --all or --category spam asks for it. */
static bool
list_hides(const struct list_opts *o, const struct ticket *t)
{
	if (o->all || (o->filter.category && strcasecmp(o->filter.category, "spam") == 0))
		return false;
	return (t->flags & TICKET_FLAG_SPAM) || strcasecmp(t->category, "spam") == 0;
}

/* The tickets of hits (their answered flags alongside) that o does not
 * hide, at most limit (0: all). */
static int
list_load(struct store *s, const struct list_opts *o, const struct ticket_hit *hits,
	  size_t n, long limit, struct ticket **out, bool **answered, size_t *nout)
{
	struct err e = ERR_INIT;
	int64_t *ids = xcalloc(n ? n : 1, sizeof(*ids));
	int rc;

	*out = xcalloc(n ? n : 1, sizeof(**out));
	*answered = xcalloc(n ? n : 1, sizeof(**answered));
	*nout = 0;
	for (size_t i = 0; i < n; i++)
		ids[i] = hits[i].id;
	rc = ticket_load_many(s, ids, n, *out, &e);
	free(ids);
	if (rc < 0)
		return cli_fail(&e);
	/* The shown ones move up over the hidden ones; the rest is released. */
	for (size_t i = 0; i < n; i++) {
		struct ticket *t = &(*out)[i];

		if (list_hides(o, t) || (limit && *nout >= (size_t)limit)) {
			ticket_release(t);
			continue;
		}
		(*answered)[*nout] = hits[i].answered;
		if (*nout != i) {
			(*out)[*nout] = *t;
			ticket_init(t);
		}
		(*nout)++;
	}
	return EXIT_OK;
}

static int
list_json(const struct ticket *ts, const bool *answered, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *j = cli_ticket_json(&ts[i]);

		/* Beyond the fields show and search share: added, never changed. */
		json_object_set_new(j, "answered", json_boolean(answered[i]));
		json_object_set_new(j, "related_to",
				    ts[i].related_to ? json_integer(ts[i].related_to) : json_null());
		json_array_append_new(arr, j);
	}
	return cli_print_json(arr);
}

static int
list_output(const struct list_opts *o, const struct ticket *ts, const bool *answered,
	    size_t n)
{
	struct buf tmp = BUF_INIT;
	struct table tb;

	switch (o->format) {
	case LIST_JSON:
		return list_json(ts, answered, n);
	case LIST_CSV:
	case LIST_TSV:
		sv_print(NULL, o->format == LIST_CSV, &tmp);
		for (size_t i = 0; i < n; i++)
			sv_print(&ts[i], o->format == LIST_CSV, &tmp);
		break;
	case LIST_TEMPLATE:
		for (size_t i = 0; i < n; i++)
			template_print(&ts[i], o->template, &tmp);
		break;
	case LIST_TABLE:
		if (!n)
			break;
		table_layout(&tb, ts, n, list_width());
		table_header(&tb, &tmp);
		for (size_t i = 0; i < n; i++)
			table_row(&tb, &ts[i], &tmp);
		break;
	}
	buf_release(&tmp);
	return EXIT_OK;
}

int
cmd_list(int argc, char **argv, struct cli_ctx *ctx)
{
	struct list_opts o = { .status = STRLIST_INIT,
			       .filter = { .sort = TICKET_SORT_UPDATED, .descending = true } };
	struct err e = ERR_INIT;
	struct ticket_hit *hits = NULL;
	struct ticket *ts = NULL;
	bool *answered = NULL;
	size_t n = 0, nt = 0;
	long limit;
	int status;

	if (list_parse_args(argc, argv, &o) < 0) {
		strlist_release(&o.status);
		return cli_usage(argv[0]);
	}
	/* A queue the rules do not know is a mistake, not an empty list. */
	if (o.filter.queue &&
	    (status = cli_check_queue(ctx, "list --queue", o.filter.queue)) != EXIT_OK) {
		strlist_release(&o.status);
		return status;
	}
	/* The limit counts the tickets shown: spam is left out after the
	 * store has chosen. The store is asked for as many, and for four
	 * times more while spam left fewer and there may be more: never
	 * for every ticket of a big store to show a few. */
	limit = o.filter.limit;
	for (long want = limit;; want *= 4) {
		o.filter.limit = want;
		if (ticket_list(ctx->store, &o.filter, &hits, &n, &e) < 0) {
			status = cli_fail(&e);
			break;
		}
		status = list_load(ctx->store, &o, hits, n, limit, &ts, &answered, &nt);
		if (status != EXIT_OK || !limit || nt >= (size_t)limit || n < (size_t)want)
			break;
		for (size_t i = 0; i < nt; i++)
			ticket_release(&ts[i]);
		free(ts);
		free(answered);
		free(hits);
		ts = NULL;
		answered = NULL;
		hits = NULL;
		n = nt = 0;
	}
	if (status == EXIT_OK)
		status = list_output(&o, ts, answered, nt);
	for (size_t i = 0; i < nt; i++)
		ticket_release(&ts[i]);
	free(ts);
	free(answered);
	free(hits);
	strlist_release(&o.status);
	return status;
}
