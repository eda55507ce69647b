/* secdesk merge ID INTO: a duplicate ticket joins another. Its messages,
 * tags and watchers move to INTO; ID stays as a closed stub pointing at INTO
 * (merged_into) so that replies threaded to it and old references still
 * find their way. One write transaction, an event on both tickets. */
#include "compat.h"

#include "cli.h"
#include "ticket.h"

int cmd_merge(int argc, char **argv, struct cli_ctx *ctx);

static int
merge_exec(struct store *s, const char *sql, int64_t from, int64_t into, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, sql, e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, into);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot merge");
	return 0;
}

static int
merge_move(struct store *s, int64_t from, int64_t into, const char *who, struct err *e)
{
	struct ticket a, b;
	char sa[32], sb[32];
	int bad = 0;

	if (ticket_load(s, from, &a, e) < 0)
		return -1;
	if (ticket_load(s, into, &b, e) < 0) {
		ticket_release(&a);
		return -1;
	}
	if (a.merged_into)
		bad = err_set(e, EXIT_DATAERR, "ticket #%lld is already merged into #%lld",
			      (long long)from, (long long)a.merged_into);
	else if (b.merged_into)
		bad = err_set(e, EXIT_DATAERR, "ticket #%lld is merged into #%lld: merge into that",
			      (long long)into, (long long)b.merged_into);
	ticket_release(&a);
	ticket_release(&b);
	if (bad)
		return -1;
	snprintf(sa, sizeof(sa), "%lld", (long long)from);
	snprintf(sb, sizeof(sb), "%lld", (long long)into);
	if (merge_exec(s, "UPDATE messages SET ticket_id = ?2 WHERE ticket_id = ?1", from, into,
		       e) < 0 ||
	    merge_exec(s, "INSERT OR IGNORE INTO ticket_tags (ticket_id, tag)"
			  " SELECT ?2, tag FROM ticket_tags WHERE ticket_id = ?1", from, into, e) < 0 ||
	    merge_exec(s, "INSERT OR IGNORE INTO watchers (ticket_id, addr)"
			  " SELECT ?2, addr FROM watchers WHERE ticket_id = ?1", from, into, e) < 0 ||
	    /* Tickets merged earlier into ID follow it. */
	    merge_exec(s, "UPDATE tickets SET merged_into = ?2 WHERE merged_into = ?1", from, into,
		       e) < 0 ||
	    merge_exec(s, "UPDATE tickets SET merged_into = ?2 WHERE id = ?1", from, into, e) < 0)
		return -1;
	if (ticket_set_field(s, from, "status", "closed", who, e) < 0 ||
	    store_event(s, from, who, "merged", NULL, sb, e) < 0 ||
	    store_event(s, into, who, "merged-from", NULL, sa, e) < 0 ||
	    ticket_touch(s, into, e) < 0)
		return -1;
	return 0;
}

int
cmd_merge(int argc, char **argv, struct cli_ctx *ctx)
{
	struct err e = ERR_INIT;
	int64_t from, into;

	if (argc != 3 || (from = cli_parse_id(argv[1])) < 0 || (into = cli_parse_id(argv[2])) < 0)
		return cli_usage(argv[0]);
	if (from == into) {
		cli_error("cannot merge ticket #%lld into itself", (long long)from);
		return EXIT_DATAERR;
	}
	if (store_begin(ctx->store, &e) < 0)
		return cli_fail(&e);
	if (merge_move(ctx->store, from, into, ctx->who, &e) < 0 ||
	    store_commit(ctx->store, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	if (ctx->verbosity >= 0)
		printf("ticket #%lld merged into #%lld\n", (long long)from, (long long)into);
	return EXIT_OK;
}
