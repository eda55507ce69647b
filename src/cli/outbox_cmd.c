/* secdesk outbox [--all] [--json]: the outgoing queue; secdesk outbox
 * hold|release|cancel ID: staff's hands on one queued mail. */
#include "compat.h"

#include <getopt.h>

#include "cli.h"
#include "outbound.h"
#include "outbox.h"
#include "xalloc.h"

int cmd_outbox(int argc, char **argv, struct cli_ctx *ctx);

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

static json_t *
row_json(const struct outbox_row *r)
{
	bool sent = strcmp(r->status, "sent") == 0;
	json_t *o = json_object();
	char t[32], created[32];

	fmt_time_utc(sent ? r->sent_at : r->next_try, t, sizeof(t));
	fmt_time_utc(r->created, created, sizeof(created));
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "ticket", r->ticket_id ? json_integer(r->ticket_id) : json_null());
	json_object_set_new(o, "kind", json_string(r->kind));
	json_object_set_new(o, "status", json_string(r->status));
	json_object_set_new(o, "attempts", json_integer(r->attempts));
	json_object_set_new(o, sent ? "sent" : "next_try", json_string(t));
	json_object_set_new(o, "to", json_string(r->rcpts));
	json_object_set_new(o, "last_error", *r->last_error ? json_string(r->last_error)
							    : json_null());
	json_object_set_new(o, "created", json_string(created));
	json_object_set_new(o, "size", json_integer(r->size));
	json_object_set_new(o, "rejected", rejected_json(r->rejected));
	json_object_set_new(o, "delivered", list_json(r->delivered));
	return o;
}

static void
print_row(const struct outbox_row *r)
{
	char t[32], tk[24] = "-";

	/* local time for the person reading; --json keeps UTC */
	fmt_time_local(strcmp(r->status, "sent") == 0 ? r->sent_at : r->next_try, t, sizeof(t));
	if (r->ticket_id)
		snprintf(tk, sizeof(tk), "#%lld", (long long)r->ticket_id);
	printf("%-6lld %-6s %-7s %-8s %3d  %-20s  %s\n", (long long)r->id, tk,
	       cli_esc(r->kind), cli_esc(r->status), r->attempts, t, cli_esc(r->rcpts));
	/* A server's reply quotes what it was sent. */
	if (*r->last_error)
		printf("       last error: %s\n", cli_esc(r->last_error));
	if (*r->delivered)
		printf("       delivered before: %s\n", cli_esc(r->delivered));
	print_rejected(r->rejected);
}

struct listing {
	json_t *arr; /* NULL: print lines */
	int rows;
};

static int
list_row(void *arg, const struct outbox_row *r)
{
	struct listing *l = arg;

	l->rows++;
	if (l->arr)
		json_array_append_new(l->arr, row_json(r));
	else
		print_row(r);
	return 0;
}

/* outbox hold|release|cancel ID, in one transaction. */
static int
outbox_staff_command(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *verb = argv[1];
	struct err e = ERR_INIT;
	int64_t id;
	int rc;

	if (argc != 3 || (id = cli_parse_id(argv[2])) < 0) {
		fprintf(stderr, "usage: secdesk outbox %s ID\n", verb);
		return EXIT_USAGE;
	}
	if (store_begin(ctx->store, &e) < 0)
		return cli_fail(&e);
	if (strcmp(verb, "cancel") == 0)
		rc = outbox_staff_cancel(ctx->store, id, ctx->who, &e);
	else
		rc = outbox_staff_hold(ctx->store, id, strcmp(verb, "hold") == 0, ctx->who, &e);
	if (rc < 0 || store_commit(ctx->store, &e) < 0) {
		store_rollback(ctx->store);
		return cli_fail(&e);
	}
	if (ctx->verbosity >= 0)
		printf("outbox mail %lld %s\n", (long long)id,
		       strcmp(verb, "hold") == 0      ? "held: 'secdesk outbox release' sends it"
		       : strcmp(verb, "release") == 0 ? "released: the next send delivers it"
						      : "cancelled: it will not be sent");
	return EXIT_OK;
}

static bool
is_staff_verb(const char *v)
{
	return strcmp(v, "hold") == 0 || strcmp(v, "release") == 0 || strcmp(v, "cancel") == 0;
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
	struct listing l = { NULL, 0 };
	int c;
	int64_t breaker;

	if (argc >= 2 && is_staff_verb(argv[1]))
		return outbox_staff_command(argc, argv, ctx);
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
	if (json)
		l.arr = json_array();
	else
		printf("%-6s %-6s %-7s %-8s %3s  %-20s  %s\n", "ID", "TICKET", "KIND", "STATUS",
		       "TRY", "NEXT / SENT", "TO");
	if (outbox_list(ctx->store, all, list_row, &l, &e) < 0) {
		json_decref(l.arr);
		return cli_fail(&e);
	}
	breaker = outbound_breaker_since(ctx->store);
	if (breaker) {
		char t[32];

		fmt_time_local(breaker, t, sizeof(t));
		cli_error("automatic mail was stopped by the hourly limit ([ack] hourly_limit) "
			  "at %s", t);
	}
	if (json)
		return cli_print_json(l.arr);
	if (l.rows == 0 && ctx->verbosity >= 0)
		printf("(the outbox is empty)\n");
	return EXIT_OK;
}
