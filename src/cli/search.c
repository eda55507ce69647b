/* secdesk search: full-text search over the messages (FTS5 messages_fts),
 * results by ticket, best rank first, each with a snippet of its best
 * message. */
#include "compat.h"

#include <getopt.h>

#include "buf.h"
#include "cli.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_search(int argc, char **argv, struct cli_ctx *ctx);

/* The words of the query, each quoted as an FTS5 string: mail text and
 * staff input are data, so '"', '-', ':' or 'NEAR' never become syntax or a
 * parse error. Words are ANDed; a word ending in '*' stays a prefix query. */
static void
search_fts_query(int argc, char **argv, struct buf *q)
{
	for (int i = 0; i < argc; i++) {
		const char *p = argv[i];

		while (*p) {
			size_t n;
			bool prefix;

			while (*p == ' ' || *p == '\t' || *p == '\n')
				p++;
			if (!*p)
				break;
			n = strcspn(p, " \t\n");
			prefix = n > 1 && p[n - 1] == '*';
			if (q->len)
				buf_addch(q, ' ');
			buf_addch(q, '"');
			for (size_t k = 0; k < n - (prefix ? 1 : 0); k++) {
				if (p[k] == '"')
					buf_addch(q, '"');
				buf_addch(q, p[k]);
			}
			buf_addch(q, '"');
			if (prefix)
				buf_addch(q, '*');
			p += n;
		}
	}
}

struct hit {
	int64_t id;
	double rank;
	char *snippet;
};

int
cmd_search(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct err e = ERR_INIT;
	struct buf q = BUF_INIT;
	struct hit *hits = NULL;
	size_t n = 0, cap = 0;
	bool json = false;
	int limit = 50, c, rc, status = EXIT_OK;
	sqlite3_stmt *st;
	json_t *arr = NULL;

	while ((c = getopt_long(argc, argv, "jn:", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'n': limit = atoi(optarg); break;
		default: return cli_usage(argv[0]);
		}
	}
	if (optind >= argc || limit <= 0)
		return cli_usage(argv[0]);
	search_fts_query(argc - optind, argv + optind, &q);
	if (!q.len) {
		buf_release(&q);
		return cli_usage(argv[0]);
	}
	/* Messages in rank order; the first hit of a ticket is its best. A
	 * merged ticket's messages count for the ticket it was merged into. */
	st = store_prepare(ctx->store,
			   "SELECT COALESCE(t.merged_into, t.id), f.rank,"
			   " snippet(messages_fts, -1, '[', ']', '...', 12)"
			   " FROM messages_fts f JOIN messages m ON m.id = f.rowid"
			   " JOIN tickets t ON t.id = m.ticket_id"
			   " WHERE messages_fts MATCH ?1 ORDER BY f.rank", &e);
	if (!st) {
		buf_release(&q);
		return cli_fail(&e);
	}
	sqlite3_bind_text(st, 1, buf_cstr(&q), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < (size_t)limit) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *snip = (const char *)sqlite3_column_text(st, 2);
		bool seen = false;

		for (size_t i = 0; i < n && !seen; i++)
			seen = hits[i].id == id;
		if (seen)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			hits = xreallocarray(hits, cap, sizeof(*hits));
		}
		hits[n].id = id;
		hits[n].rank = sqlite3_column_double(st, 1);
		hits[n].snippet = xstrdup(snip ? snip : "");
		n++;
	}
	sqlite3_reset(st);
	buf_release(&q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_error(ctx->store, &e, "cannot search");
		status = cli_fail(&e);
		goto out;
	}
	if (json)
		arr = json_array();
	for (size_t i = 0; i < n; i++) {
		struct ticket t;

		if (ticket_load(ctx->store, hits[i].id, &t, &e) < 0) {
			status = cli_fail(&e);
			break;
		}
		if (json) {
			json_t *o = cli_ticket_json(&t);

			json_object_set_new(o, "snippet", json_string(hits[i].snippet));
			json_object_set_new(o, "rank", json_real(hits[i].rank));
			json_array_append_new(arr, o);
		} else {
			char when[32];

			fmt_time_local(t.updated, when, sizeof(when));
			printf("#%lld  %s  %s  %s  %s\n    %s\n", (long long)t.id, t.status,
			       t.queue, when, t.subject, hits[i].snippet);
		}
		ticket_release(&t);
	}
	if (json) {
		if (status == EXIT_OK)
			status = cli_print_json(arr);
		else
			json_decref(arr);
	} else if (!n && ctx->verbosity >= 0) {
		fprintf(stderr, "secdesk: no ticket matches\n");
	}
out:
	for (size_t i = 0; i < n; i++)
		free(hits[i].snippet);
	free(hits);
	return status;
}
