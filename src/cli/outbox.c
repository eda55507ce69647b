/* secdesk outbox [--all] [--json]: the outgoing queue. */
#include "compat.h"

#include <getopt.h>

#include "cli.h"
#include "outbound.h"
#include "xalloc.h"

int cmd_outbox(int argc, char **argv, struct cli_ctx *ctx);

static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? (const char *)v : "";
}

/* The rejected column: one "addr reply" line per recipient refused. */
static json_t *
rejected_json(const char *v)
{
	json_t *a = json_array();

	while (*v) {
		size_t l = strcspn(v, "\n"), sp = strcspn(v, " ");
		json_t *o = json_object();

		if (sp > l)
			sp = l;
		json_object_set_new(o, "to", json_stringn(v, sp));
		json_object_set_new(o, "reply", json_stringn(v + (sp < l ? sp + 1 : l),
							      l - (sp < l ? sp + 1 : l)));
		json_array_append_new(a, o);
		v += l;
		if (*v)
			v++;
	}
	return a;
}

static void
print_rejected(const char *v)
{
	while (*v) {
		size_t l = strcspn(v, "\n");

		char *line = xstrndup(v, l);

		printf("       rejected: %s\n", cli_esc(line));
		free(line);
		v += l;
		if (*v)
			v++;
	}
}

/* "a,b" as a JSON list. */
static json_t *
list_json(const char *v)
{
	json_t *a = json_array();

	while (*v) {
		size_t l = strcspn(v, ",");

		if (l)
			json_array_append_new(a, json_stringn(v, l));
		v += l;
		if (*v)
			v++;
	}
	return a;
}

int
cmd_outbox(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, all = false;
	struct err e = ERR_INIT;
	sqlite3_stmt *st;
	json_t *arr = NULL;
	int c, rc, rows = 0;
	int64_t breaker;

	while ((c = getopt_long(argc, argv, "ja", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'a')
			all = true;
		else
			return cli_usage(argv[0]);
	}
	if (optind != argc)
		return cli_usage(argv[0]);
	st = store_prepare(ctx->store, "SELECT id, coalesce(ticket_id, 0), kind, status,"
			   " attempts, next_try, rcpts, coalesce(last_error, ''), created,"
			   " coalesce(sent_at, 0), length(data), rejected, delivered FROM outbox"
			   " WHERE ?1 OR status <> 'sent' OR rejected <> '' ORDER BY id", &e);
	if (!st)
		return cli_fail(&e);
	sqlite3_bind_int(st, 1, all);
	if (json)
		arr = json_array();
	else
		printf("%-6s %-6s %-7s %-8s %3s  %-20s  %s\n", "ID", "TICKET", "KIND", "STATUS",
		       "TRY", "NEXT / SENT", "TO");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), tid = sqlite3_column_int64(st, 1);
		const char *status = col(st, 3);
		int64_t when = strcmp(status, "sent") == 0 ? sqlite3_column_int64(st, 9)
							   : sqlite3_column_int64(st, 5);
		char t[32], created[32];

		fmt_time_utc(when, t, sizeof(t));
		fmt_time_utc(sqlite3_column_int64(st, 8), created, sizeof(created));
		rows++;
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "id", json_integer(id));
			json_object_set_new(o, "ticket", tid ? json_integer(tid) : json_null());
			json_object_set_new(o, "kind", json_string(col(st, 2)));
			json_object_set_new(o, "status", json_string(status));
			json_object_set_new(o, "attempts", json_integer(sqlite3_column_int(st, 4)));
			json_object_set_new(o, strcmp(status, "sent") == 0 ? "sent" : "next_try",
					    json_string(t));
			json_object_set_new(o, "to", json_string(col(st, 6)));
			json_object_set_new(o, "last_error", *col(st, 7) ? json_string(col(st, 7))
									 : json_null());
			json_object_set_new(o, "created", json_string(created));
			json_object_set_new(o, "size", json_integer(sqlite3_column_int64(st, 10)));
			json_object_set_new(o, "rejected", rejected_json(col(st, 11)));
			json_object_set_new(o, "delivered", list_json(col(st, 12)));
			json_array_append_new(arr, o);
		} else {
			char tk[24] = "-";

			if (tid)
				snprintf(tk, sizeof(tk), "#%lld", (long long)tid);
			printf("%-6lld %-6s %-7s %-8s %3d  %-20s  %s\n", (long long)id, tk,
			       cli_esc(col(st, 2)), cli_esc(status), sqlite3_column_int(st, 4), t,
			       cli_esc(col(st, 6)));
			/* A server's reply quotes what it was sent. */
			if (*col(st, 7))
				printf("       last error: %s\n", cli_esc(col(st, 7)));
			if (*col(st, 12))
				printf("       delivered before: %s\n", cli_esc(col(st, 12)));
			print_rejected(col(st, 11));
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		store_error(ctx->store, &e, "cannot read the outbox");
		return cli_fail(&e);
	}
	breaker = outbound_breaker_since(ctx->store);
	if (breaker) {
		char t[32];

		fmt_time_utc(breaker, t, sizeof(t));
		cli_error("automatic mail was stopped by the hourly limit ([ack] hourly_limit) "
			  "at %s", t);
	}
	if (json)
		return cli_print_json(arr);
	if (rows == 0 && ctx->verbosity >= 0)
		printf("(the outbox is empty)\n");
	return EXIT_OK;
}
