/* secdesk stats: ticket counts by status, by queue and by the age of the
 * tickets still waiting (new, open, pending). Merged stubs do not count. */
#include "compat.h"

#include <getopt.h>

#include "cli.h"

int cmd_stats(int argc, char **argv, struct cli_ctx *ctx);

/* Age buckets of waiting tickets, by time since created. */
static const struct {
	const char *name;
	int64_t upto; /* seconds; 0: no bound */
} stats_ages[] = {
	{ "under 1 day", 86400 },
	{ "1-3 days", 3 * 86400 },
	{ "3-7 days", 7 * 86400 },
	{ "1-4 weeks", 28 * 86400 },
	{ "over 4 weeks", 0 },
};
#define NAGES (sizeof(stats_ages) / sizeof(stats_ages[0]))

/* Runs a two-column (name, count) query into obj, keeping the order. */
static int
stats_group(struct store *s, const char *sql, json_t *obj, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, sql, e);
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);

		json_object_set_new(obj, k ? k : "", json_integer(sqlite3_column_int64(st, 1)));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, e, "cannot count tickets");
	return 0;
}

static void
stats_print(const char *title, json_t *obj)
{
	const char *k;
	json_t *v;

	printf("%s\n", title);
	if (!json_object_size(obj))
		printf("  (none)\n");
	json_object_foreach(obj, k, v)
		printf("  %-16s %6lld\n", k, (long long)json_integer_value(v));
}

int
cmd_stats(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct err e = ERR_INIT;
	json_t *doc, *by_status, *by_queue, *by_age, *waiting_q;
	bool json = false;
	int c;
	int64_t now = store_now(), total = 0, waiting = 0;
	sqlite3_stmt *st;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c != 'j')
			return cli_usage(argv[0]);
		json = true;
	}
	if (optind != argc)
		return cli_usage(argv[0]);
	doc = json_object();
	by_status = json_object();
	by_queue = json_object();
	by_age = json_object();
	waiting_q = json_object();
	json_object_set_new(doc, "by_status", by_status);
	json_object_set_new(doc, "by_queue", by_queue);
	json_object_set_new(doc, "waiting_by_queue", waiting_q);
	json_object_set_new(doc, "waiting_by_age", by_age);
	/* Every status appears, zero or not, so scripts can rely on the keys. */
	if (stats_group(ctx->store,
			"SELECT s, (SELECT count(*) FROM tickets WHERE status = s"
			"  AND merged_into IS NULL) FROM (SELECT 'new' AS s UNION ALL"
			"  SELECT 'open' UNION ALL SELECT 'pending' UNION ALL"
			"  SELECT 'resolved' UNION ALL SELECT 'closed')", by_status, &e) < 0 ||
	    stats_group(ctx->store,
			"SELECT queue, count(*) FROM tickets WHERE merged_into IS NULL"
			" GROUP BY queue ORDER BY count(*) DESC, queue", by_queue, &e) < 0 ||
	    stats_group(ctx->store,
			"SELECT queue, count(*) FROM tickets WHERE merged_into IS NULL"
			" AND status IN ('new','open','pending')"
			" GROUP BY queue ORDER BY count(*) DESC, queue", waiting_q, &e) < 0)
		goto fail;
	for (size_t i = 0; i < NAGES; i++) {
		int64_t lo = i ? stats_ages[i - 1].upto : 0, hi = stats_ages[i].upto;
		int rc;

		st = store_prepare(ctx->store,
				   "SELECT count(*) FROM tickets WHERE merged_into IS NULL"
				   " AND status IN ('new','open','pending')"
				   " AND ?1 - created >= ?2 AND (?3 = 0 OR ?1 - created < ?3)", &e);
		if (!st)
			goto fail;
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, lo);
		sqlite3_bind_int64(st, 3, hi);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(st);
			store_error(ctx->store, &e, "cannot count tickets");
			goto fail;
		}
		json_object_set_new(by_age, stats_ages[i].name,
				    json_integer(sqlite3_column_int64(st, 0)));
		waiting += sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	{
		const char *k;
		json_t *v;

		json_object_foreach(by_status, k, v)
			total += json_integer_value(v);
	}
	json_object_set_new(doc, "total", json_integer(total));
	json_object_set_new(doc, "waiting", json_integer(waiting));
	if (json)
		return cli_print_json(doc);
	printf("%lld tickets, %lld waiting\n\n", (long long)total, (long long)waiting);
	stats_print("By status", by_status);
	stats_print("\nBy queue", by_queue);
	stats_print("\nWaiting, by queue", waiting_q);
	stats_print("\nWaiting, by age", by_age);
	json_decref(doc);
	return EXIT_OK;
fail:
	json_decref(doc);
	return cli_fail(&e);
}
