/* secdesk list: tickets, newest activity first. */
#include "compat.h"

#include <getopt.h>

#include "buf.h"
#include "cli.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_list(int argc, char **argv, struct cli_ctx *ctx);

struct list_filter {
	const char *status;
	const char *queue;
	const char *assignee;
	const char *tag;
	int limit;
};

/* Cuts s to at most width display columns (UTF-8 aware) into out. */
static void
clip(const char *s, int width, struct buf *out)
{
	int cols = 0;

	buf_reset(out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xc0) != 0x80) {
			if (cols == width)
				break;
			cols++;
		}
		buf_addch(out, *p == '\t' || *p == '\n' ? ' ' : *p);
	}
	for (; cols < width; cols++)
		buf_addch(out, ' ');
}

int
cmd_list(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "queue", required_argument, NULL, 'q' },
		{ "assignee", required_argument, NULL, 'a' },
		{ "tag", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct list_filter f = { .limit = 0 };
	struct err e = ERR_INIT;
	struct buf subj = BUF_INIT;
	bool json = false;
	json_t *arr = NULL;
	sqlite3_stmt *st;
	int c, rc, status = EXIT_OK;

	while ((c = getopt_long(argc, argv, "s:q:a:t:n:j", opts, NULL)) != -1) {
		switch (c) {
		case 's': f.status = optarg; break;
		case 'q': f.queue = optarg; break;
		case 'a': f.assignee = optarg; break;
		case 't': f.tag = optarg; break;
		case 'n': f.limit = atoi(optarg); break;
		case 'j': json = true; break;
		default: return cli_usage(argv[0]);
		}
	}
	if (optind != argc)
		return cli_usage(argv[0]);
	if (f.status && !ticket_status_valid(f.status)) {
		cli_error("'%s' is not a status (new, open, pending, resolved, closed)", f.status);
		return EXIT_USAGE;
	}
	st = store_prepare(ctx->store,
			   "SELECT id FROM tickets t WHERE (?1 IS NULL OR status = ?1)"
			   " AND (?2 IS NULL OR queue = ?2 COLLATE NOCASE)"
			   " AND (?3 IS NULL OR assignee = ?3)"
			   " AND (?4 IS NULL OR EXISTS (SELECT 1 FROM ticket_tags g"
			   "      WHERE g.ticket_id = t.id AND g.tag = ?4))"
			   " AND merged_into IS NULL"
			   " ORDER BY updated DESC, id DESC LIMIT ?5", &e);
	if (!st)
		return cli_fail(&e);
	if (f.status)
		sqlite3_bind_text(st, 1, f.status, -1, SQLITE_STATIC);
	if (f.queue)
		sqlite3_bind_text(st, 2, f.queue, -1, SQLITE_STATIC);
	if (f.assignee)
		sqlite3_bind_text(st, 3, f.assignee, -1, SQLITE_STATIC);
	if (f.tag)
		sqlite3_bind_text(st, 4, f.tag, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, f.limit > 0 ? f.limit : -1);

	/* Collect ids first: ticket_load reuses the statement cache. */
	{
		int64_t *ids = NULL;
		size_t n = 0, cap = 0;

		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				ids = xreallocarray(ids, cap, sizeof(*ids));
			}
			ids[n++] = sqlite3_column_int64(st, 0);
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			free(ids);
			store_error(ctx->store, &e, "cannot list tickets");
			return cli_fail(&e);
		}
		if (json)
			arr = json_array();
		else if (n)
			printf("%-6s %-8s %-11s %-12s %-16s %-28s %s\n", "ID", "STATUS", "QUEUE",
			       "CATEGORY", "UPDATED", "REQUESTER", "SUBJECT");
		for (size_t i = 0; i < n; i++) {
			struct ticket t;
			char when[32];

			if (ticket_load(ctx->store, ids[i], &t, &e) < 0) {
				status = cli_fail(&e);
				break;
			}
			if (json) {
				json_array_append_new(arr, cli_ticket_json(&t));
			} else {
				fmt_time_local(t.updated, when, sizeof(when));
				clip(t.requester, 28, &subj);
				printf("%-6lld %-8s %-11s %-12s %-16s %s ", (long long)t.id, t.status,
				       t.queue, t.category, when, buf_cstr(&subj));
				clip(t.subject, 60, &subj);
				printf("%s%s\n", buf_cstr(&subj), t.flags ? " [!]" : "");
			}
			ticket_release(&t);
		}
		free(ids);
	}
	buf_release(&subj);
	if (json) {
		if (status != EXIT_OK) {
			json_decref(arr);
			return status;
		}
		return cli_print_json(arr);
	}
	return status;
}
