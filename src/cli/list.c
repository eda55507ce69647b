/* secdesk list: tickets, newest activity first, filtered and sorted
 * (ticket_list). Ages are counted from the ticket's creation, as stats
 * counts them; "answered" means a staff reply is in the ticket. */
#include "compat.h"

#include <getopt.h>

#include "buf.h"
#include "cli.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_list(int argc, char **argv, struct cli_ctx *ctx);

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

struct list_opts {
	struct strlist status; /* --status a,b: any of them */
	struct ticket_filter filter;
	bool json;
};

/* s made safe for the terminal (cli_esc: controls, bidi overrides, line
 * breaks as visible escapes), cut to at most width display columns (UTF-8
 * aware; 0: no cut) into out, padded with spaces to pad columns. The
 * columns are those of the escaped form, which is what the terminal shows. */
static const char *
cell(const char *s, int width, int pad, struct buf *out)
{
	int cols = 0;

	buf_reset(out);
	buf_addstr(out, "");
	for (const unsigned char *p = (const unsigned char *)cli_esc(s); *p; p++) {
		if ((*p & 0xc0) != 0x80) {
			if (width && cols == width)
				break;
			cols++;
		}
		buf_addch(out, *p);
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

/* One line per ticket; the columns stay where scripts and the bash
 * completion read them (id first, queue third). */
static void
list_print(const struct ticket *t, struct buf *tmp)
{
	char when[32];
	/* Piped: 60 columns as always; on a terminal: what fits its width. */
	int subj_w = cli_tty() ? cli_width() - 92 : 60;

	if (subj_w < 20)
		subj_w = 20;
	fmt_time_local(t->updated, when, sizeof(when));
	printf("%s%-6lld%s %s%-8s%s ", cli_sgr(CLI_YELLOW), (long long)t->id,
	       cli_sgr(CLI_RESET), cli_status_sgr(t->status), cli_esc(t->status),
	       cli_sgr(CLI_RESET));
	/* Queue and category come from rules, which may copy text from mail. */
	printf("%s ", cell(t->queue, 0, 11, tmp));
	printf("%s ", cell(t->category, 0, 12, tmp));
	printf("%-16s ", when);
	printf("%s ", cell(t->requester, 28, 28, tmp));
	printf("%s", cell(t->subject, subj_w, 0, tmp));
	if (t->flags)
		printf(" %s[!]%s", cli_sgr(CLI_RED CLI_BOLD), cli_sgr(CLI_RESET));
	printf("\n");
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
		case 'j': o->json = true; break;
		default: return -1;
		}
	}
	if (optind != argc)
		return -1;
	if (reverse)
		f->descending = !f->descending;
	f->status = &o->status;
	/* answered only for --json: the table does not show it. */
	f->want_answered = o->json;
	return 0;
}

/* The tickets of hits, loaded one by one, as a table or as JSON. */
static int
list_output(struct store *s, const struct ticket_hit *hits, size_t n, bool json)
{
	struct err e = ERR_INIT;
	struct buf tmp = BUF_INIT;
	json_t *arr = json ? json_array() : NULL;
	int status = EXIT_OK;

	if (!json && n)
		printf("%s%-6s %-8s %-11s %-12s %-16s %-28s %s%s\n", cli_sgr(CLI_BOLD), "ID",
		       "STATUS", "QUEUE", "CATEGORY", "UPDATED", "REQUESTER", "SUBJECT",
		       cli_sgr(CLI_RESET));
	for (size_t i = 0; i < n; i++) {
		struct ticket t;

		if (ticket_load(s, hits[i].id, &t, &e) < 0) {
			status = cli_fail(&e);
			break;
		}
		if (json) {
			json_t *j = cli_ticket_json(&t);

			/* Beyond the fields show and search share: added, never changed. */
			json_object_set_new(j, "answered", json_boolean(hits[i].answered));
			json_object_set_new(j, "related_to", t.related_to
								 ? json_integer(t.related_to)
								 : json_null());
			json_array_append_new(arr, j);
		} else {
			list_print(&t, &tmp);
		}
		ticket_release(&t);
	}
	buf_release(&tmp);
	if (!json)
		return status;
	if (status != EXIT_OK) {
		json_decref(arr);
		return status;
	}
	return cli_print_json(arr);
}

int
cmd_list(int argc, char **argv, struct cli_ctx *ctx)
{
	struct list_opts o = { .status = STRLIST_INIT,
			       .filter = { .sort = TICKET_SORT_UPDATED, .descending = true } };
	struct err e = ERR_INIT;
	struct ticket_hit *hits = NULL;
	size_t n = 0;
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
	if (ticket_list(ctx->store, &o.filter, &hits, &n, &e) < 0)
		status = cli_fail(&e);
	else
		status = list_output(ctx->store, hits, n, o.json);
	free(hits);
	strlist_release(&o.status);
	return status;
}
