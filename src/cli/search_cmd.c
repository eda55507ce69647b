/* secdesk search: full-text search over the messages (search.h; the index
 * is brought up to date first), results by ticket, best rank first, each
 * with a snippet of its best message. */
#include "compat.h"

#include <getopt.h>

#include "buf.h"
#include "cli.h"
#include "log.h"
#include "search.h"
#include "search_index.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_search(int argc, char **argv, struct cli_ctx *ctx);

#define SEARCH_INDEX_WAIT_MS 2000

/* The words of the command line, joined by blanks, as one query. */
static int
search_args_parse(int argc, char **argv, struct search_node **q, struct err *e)
{
	struct buf text = BUF_INIT;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (i)
			buf_addch(&text, ' ');
		buf_addstr(&text, argv[i]);
	}
	rc = search_parse(buf_cstr(&text), store_now(), q, e);
	buf_release(&text);
	return rc;
}

/* Mail stored since the index's last update is indexed first. While a
 * fetch is indexing, what is indexed so far is searched. */
static int
refresh_index(struct cli_ctx *ctx, struct err *e)
{
	if (search_index_update(ctx->store, SEARCH_INDEX_WAIT_MS, NULL, e) >= 0)
		return 0;
	if (e->code != EXIT_TEMPFAIL || search_index_attach(ctx->store, e) < 0)
		return -1;
	log_warn("the search index is being updated: the newest mail may be missing");
	*e = (struct err)ERR_INIT;
	return 0;
}

/* A hit as two lines of text, coloured as list does it: id and status
 * word. hit's snippet is made one line. */
static void
print_hit(const struct ticket *t, struct search_hit *hit)
{
	char when[32];

	/* One line per snippet: its line breaks would start the next line at
	 * column 0. */
	for (char *sp = hit->snippet; *sp; sp++)
		if (*sp == '\n' || *sp == '\r' || *sp == '\t')
			*sp = ' ';
	fmt_time_local(t->updated, when, sizeof(when));
	printf("%s#%lld%s  %s%s%s  %s  %s  %s\n    %s\n", cli_sgr(CLI_YELLOW), (long long)t->id,
	       cli_sgr(CLI_RESET), cli_status_sgr(t->status), cli_esc(t->status),
	       cli_sgr(CLI_RESET), cli_esc(t->queue), when, cli_esc(t->subject),
	       cli_esc(hit->snippet));
}

int
cmd_search(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct err e = ERR_INIT;
	struct search_hits h = { 0 };
	struct search_node *q = NULL;
	bool json = false;
	int limit = 50, c, status = EXIT_OK;
	json_t *arr = NULL;
	int64_t *ids = NULL;
	struct ticket *ts = NULL;

	while ((c = getopt_long(argc, argv, "jn:", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'n': limit = atoi(optarg); break;
		default: return cli_usage(argv[0]);
		}
	}
	if (optind >= argc || limit <= 0)
		return cli_usage(argv[0]);
	if (refresh_index(ctx, &e) < 0)
		return cli_fail(&e);
	if (search_args_parse(argc - optind, argv + optind, &q, &e) < 0)
		return e.code == EXIT_USAGE && !e.msg[0] ? cli_usage(argv[0]) : cli_fail(&e);
	if (store_search(ctx->store, q, (size_t)limit, &h, &e) < 0) {
		status = cli_fail(&e);
		goto out;
	}
	ids = xcalloc(h.n ? h.n : 1, sizeof(*ids));
	ts = xcalloc(h.n ? h.n : 1, sizeof(*ts));
	for (size_t i = 0; i < h.n; i++)
		ids[i] = h.v[i].ticket_id;
	if (ticket_load_many(ctx->store, ids, h.n, ts, &e) < 0) {
		status = cli_fail(&e);
		goto out;
	}
	if (json)
		arr = json_array();
	for (size_t i = 0; i < h.n; i++) {
		if (json) {
			json_t *o = cli_ticket_json(&ts[i]);

			json_object_set_new(o, "snippet", json_string(h.v[i].snippet));
			json_object_set_new(o, "rank", json_real(h.v[i].rank));
			json_array_append_new(arr, o);
		} else {
			print_hit(&ts[i], &h.v[i]);
		}
		ticket_release(&ts[i]);
	}
	if (json)
		status = cli_print_json(arr);
	else if (!h.n && ctx->verbosity >= 0) {
		fprintf(stderr, "secdesk: no ticket matches\n");
	}
out:
	free(ids);
	free(ts);
	search_node_free(q);
	search_hits_release(&h);
	return status;
}
