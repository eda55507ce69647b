/* secdesk list: tickets, newest activity first, filtered and sorted.
 *
 * The SQL is built from fixed pieces for the filters given (every value is
 * bound), so that SQLite plans each combination with its indexes. Ages are
 * counted from the ticket's creation, as stats counts them; "answered"
 * means a staff reply (kind 'reply') is in the ticket: acknowledgements,
 * partner notices and reminders are automatic and do not count. */
#include "compat.h"

#include <getopt.h>

#include "buf.h"
#include "cli.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_list(int argc, char **argv, struct cli_ctx *ctx);

#define LIST_ANSWERED                                                                  \
	"EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id"                     \
	" AND m.direction = 'out' AND m.kind = 'reply')"

/* --sort FIELD: the SQL key, ascending. The priority key is also the
 * expression of the tickets_priority index (store_schema.c): keep them
 * alike. */
static const struct {
	const char *name;
	const char *key;
} list_sorts[] = {
	{ "id", "t.id" },
	{ "created", "t.created" },
	{ "updated", "t.updated" },
	{ "priority", "CASE t.priority WHEN 'low' THEN 0 WHEN 'normal' THEN 1 WHEN 'high'"
		      " THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END" },
	{ "queue", "t.queue COLLATE NOCASE" },
	{ "status", "CASE t.status WHEN 'new' THEN 0 WHEN 'open' THEN 1 WHEN 'pending'"
		    " THEN 2 WHEN 'resolved' THEN 3 ELSE 4 END" },
};

struct list_opts {
	struct strlist status; /* --status a,b: any of them */
	const char *queue;
	const char *assignee;
	const char *tag;
	const char *category;
	int64_t older_than; /* seconds, 0: no filter */
	bool unanswered;
	const char *sort_key;
	bool descending;
	long limit; /* 0: all */
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
			o->sort_key = list_sorts[i].key;
			o->descending = desc;
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

		if (!ticket_status_valid(one)) {
			cli_error("'%s' is not a status (new, open, pending, resolved, closed)", one);
			free(one);
			return -1;
		}
		strlist_add_owned(&o->status, one);
		p += n + (comma ? 1 : 0);
	}
	if (!o->status.n) {
		cli_error("--status: no status given");
		return -1;
	}
	return 0;
}

/* The ids (and whether each is answered) in the order asked. */
static int
list_query(struct cli_ctx *ctx, const struct list_opts *o, int64_t **ids_r, bool **ans_r,
	   size_t *n_r, struct err *e)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st;
	int64_t *ids = NULL;
	bool *ans = NULL;
	size_t n = 0, cap = 0;
	int rc, p = 1;

	/* answered only for --json: a lookup per row that the table does not show. */
	buf_addf(&sql, "SELECT t.id, %s FROM tickets t WHERE t.merged_into IS NULL",
		 o->json ? LIST_ANSWERED : "0");
	/* "+": not by the (status, queue) index, which then sorts every
	 * match; walking tickets_updated stops at the limit (1 ms, not 70, for
	 * --status new --limit 50 of 100,000 tickets). */
	if (o->status.n) {
		buf_addstr(&sql, " AND +t.status IN (");
		for (size_t i = 0; i < o->status.n; i++)
			buf_addstr(&sql, i ? ", ?" : "?");
		buf_addstr(&sql, ")");
	}
	if (o->queue)
		buf_addstr(&sql, " AND t.queue = ? COLLATE NOCASE");
	if (o->assignee)
		buf_addstr(&sql, " AND t.assignee = ?");
	if (o->category)
		buf_addstr(&sql, " AND t.category = ? COLLATE NOCASE");
	if (o->tag)
		buf_addstr(&sql, " AND EXISTS (SELECT 1 FROM ticket_tags g"
				 " WHERE g.ticket_id = t.id AND g.tag = ?)");
	if (o->older_than)
		buf_addstr(&sql, " AND t.created <= ?");
	if (o->unanswered)
		buf_addstr(&sql, " AND NOT " LIST_ANSWERED);
	buf_addf(&sql, " ORDER BY %s %s, t.id %s LIMIT ?", o->sort_key,
		 o->descending ? "DESC" : "ASC", o->descending ? "DESC" : "ASC");
	st = store_prepare(ctx->store, buf_cstr(&sql), e);
	buf_release(&sql);
	if (!st)
		return -1;
	for (size_t i = 0; i < o->status.n; i++)
		sqlite3_bind_text(st, p++, o->status.items[i], -1, SQLITE_STATIC);
	if (o->queue)
		sqlite3_bind_text(st, p++, o->queue, -1, SQLITE_STATIC);
	if (o->assignee)
		sqlite3_bind_text(st, p++, o->assignee, -1, SQLITE_STATIC);
	if (o->category)
		sqlite3_bind_text(st, p++, o->category, -1, SQLITE_STATIC);
	if (o->tag)
		sqlite3_bind_text(st, p++, o->tag, -1, SQLITE_STATIC);
	if (o->older_than)
		sqlite3_bind_int64(st, p++, store_now() - o->older_than);
	sqlite3_bind_int64(st, p, o->limit > 0 ? o->limit : -1);

	/* Collected first: ticket_load reuses the statement cache. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ids = xreallocarray(ids, cap, sizeof(*ids));
			ans = xreallocarray(ans, cap, sizeof(*ans));
		}
		ids[n] = sqlite3_column_int64(st, 0);
		ans[n++] = sqlite3_column_int(st, 1) != 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(ids);
		free(ans);
		return store_error(ctx->store, e, "cannot list tickets");
	}
	*ids_r = ids;
	*ans_r = ans;
	*n_r = n;
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

int
cmd_list(int argc, char **argv, struct cli_ctx *ctx)
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
	struct list_opts o = { .status = STRLIST_INIT, .sort_key = "t.updated", .descending = true };
	struct err e = ERR_INIT;
	struct buf tmp = BUF_INIT;
	bool reverse = false, *ans = NULL;
	int64_t *ids = NULL;
	size_t n = 0;
	json_t *arr = NULL;
	int c, status = EXIT_OK;

	while ((c = getopt_long(argc, argv, "s:q:a:t:n:rj", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (list_parse_status(&o, optarg) < 0)
				goto usage;
			break;
		case 'q': o.queue = optarg; break;
		case 'a': o.assignee = optarg; break;
		case 't': o.tag = optarg; break;
		case 'C': o.category = optarg; break;
		case 'o':
			o.older_than = cli_parse_duration(optarg);
			if (o.older_than < 0) {
				cli_error("--older-than: '%s' is not a duration like 30m, 12h, 7d, 2w",
					  optarg);
				goto usage;
			}
			break;
		case 'u': o.unanswered = true; break;
		case 'S':
			if (list_parse_sort(&o, optarg) < 0)
				goto usage;
			break;
		case 'r': reverse = true; break;
		case 'n':
			o.limit = cli_parse_count(optarg);
			if (o.limit < 0) {
				cli_error("--limit: '%s' is not a positive number", optarg);
				goto usage;
			}
			break;
		case 'j': o.json = true; break;
		default: goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (reverse)
		o.descending = !o.descending;
	if (list_query(ctx, &o, &ids, &ans, &n, &e) < 0) {
		strlist_release(&o.status);
		return cli_fail(&e);
	}
	if (o.json)
		arr = json_array();
	else if (n)
		printf("%s%-6s %-8s %-11s %-12s %-16s %-28s %s%s\n", cli_sgr(CLI_BOLD), "ID",
		       "STATUS", "QUEUE", "CATEGORY", "UPDATED", "REQUESTER", "SUBJECT",
		       cli_sgr(CLI_RESET));
	for (size_t i = 0; i < n; i++) {
		struct ticket t;

		if (ticket_load(ctx->store, ids[i], &t, &e) < 0) {
			status = cli_fail(&e);
			break;
		}
		if (o.json) {
			json_t *j = cli_ticket_json(&t);

			/* Beyond the fields show and search share: added, never changed. */
			json_object_set_new(j, "answered", json_boolean(ans[i]));
			json_object_set_new(j, "related_to", t.related_to
								 ? json_integer(t.related_to)
								 : json_null());
			json_array_append_new(arr, j);
		} else {
			list_print(&t, &tmp);
		}
		ticket_release(&t);
	}
	free(ids);
	free(ans);
	buf_release(&tmp);
	strlist_release(&o.status);
	if (o.json) {
		if (status != EXIT_OK) {
			json_decref(arr);
			return status;
		}
		return cli_print_json(arr);
	}
	return status;

usage:
	strlist_release(&o.status);
	return cli_usage(argv[0]);
}
