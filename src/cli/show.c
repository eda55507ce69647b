/* secdesk show ID: one ticket with its messages and history. */
#include "compat.h"

#include <getopt.h>

#include "attach.h"
#include "cli.h"
#include "ticket.h"

int cmd_show(int argc, char **argv, struct cli_ctx *ctx);

static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

static json_t *
message_flags_json(unsigned flags)
{
	static const char *const names[] = { "parse-error", "bounce", "autoreply", "list",
					     "oversize", "truncated", "spam", "poison" };
	json_t *a = json_array();

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (flags & (1u << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}

static json_t *
col_time_json(sqlite3_stmt *st, int i)
{
	char buf[32];

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return json_null();
	fmt_time_utc(sqlite3_column_int64(st, i), buf, sizeof(buf));
	return json_string(buf);
}

static int
show_messages(struct cli_ctx *ctx, int64_t id, json_t *arr, struct err *e)
{
	sqlite3_stmt *st = store_prepare(ctx->store,
		"SELECT id, direction, kind, from_name, from_addr, to_addrs, cc_addrs, subject,"
		" date, message_id, in_reply_to, body, flags, parse_note, created"
		" FROM messages WHERE ticket_id = ? ORDER BY created, id", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (arr) {
			json_t *m = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s,"
					      " s:s, s:s, s:o, s:o}",
					      "id", (json_int_t)sqlite3_column_int64(st, 0),
					      "direction", col(st, 1), "kind", col(st, 2),
					      "from", col(st, 4), "from_name", col(st, 3),
					      "to", col(st, 5), "cc", col(st, 6),
					      "subject", col(st, 7), "date", col_time_json(st, 8),
					      "message_id", col(st, 9), "in_reply_to", col(st, 10),
					      "body", col(st, 11),
					      "flags", message_flags_json(
							       (unsigned)sqlite3_column_int64(st, 12)),
					      "received", col_time_json(st, 14));
			if (sqlite3_column_type(st, 13) != SQLITE_NULL)
				json_object_set_new(m, "parse_note", json_string(col(st, 13)));
			json_array_append_new(arr, m);
		} else {
			char when[32] = "";
			int64_t t = sqlite3_column_type(st, 8) == SQLITE_NULL
					    ? sqlite3_column_int64(st, 14)
					    : sqlite3_column_int64(st, 8);

			fmt_time_local(t, when, sizeof(when));
			printf("\n--- %s %s (%s) %s\n", when,
			       strcmp(col(st, 1), "in") == 0 ? "from" : "to",
			       col(st, 2), strcmp(col(st, 1), "in") == 0 ? col(st, 4) : col(st, 5));
			printf("Subject: %s\n", col(st, 7));
			if (sqlite3_column_type(st, 13) != SQLITE_NULL)
				printf("Note: %s\n", col(st, 13));
			printf("\n%s\n", col(st, 11));
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(ctx->store, e, "cannot read messages");
	return 0;
}

/* Numbered as `secdesk attachment ID N` takes them. */
static int
show_attachments(struct cli_ctx *ctx, int64_t id, json_t *arr, struct err *e)
{
	struct attach_info *list = NULL;
	size_t n = 0;

	if (attach_list(ctx->store, id, &list, &n, e) < 0)
		return -1;
	if (!arr && n)
		printf("\nAttachments (secdesk attachment %lld N):\n", (long long)id);
	for (size_t i = 0; i < n; i++) {
		if (arr) {
			json_array_append_new(arr, json_pack("{s:I, s:I, s:s, s:s, s:I, s:b}",
				"n", (json_int_t)(i + 1), "message", (json_int_t)list[i].message_row_id,
				"filename", list[i].filename, "content_type", list[i].content_type,
				"size", (json_int_t)list[i].size, "kept", list[i].sha256 != NULL));
		} else {
			printf("  %zu. %s (%s, %lld bytes)%s\n", i + 1,
			       *list[i].filename ? list[i].filename : "(no name)",
			       list[i].content_type, (long long)list[i].size,
			       list[i].sha256 ? "" : " - not kept: over the size limit");
		}
	}
	attach_list_free(list, n);
	return 0;
}

static int
show_events(struct cli_ctx *ctx, int64_t id, json_t *arr, struct err *e)
{
	sqlite3_stmt *st = store_prepare(ctx->store,
		"SELECT at, who, what, old_value, new_value FROM events WHERE ticket_id = ?"
		" ORDER BY at, id", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (!arr)
		printf("\nHistory:\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (arr) {
			json_t *ev = json_pack("{s:o, s:s, s:s}", "at", col_time_json(st, 0),
					       "who", col(st, 1), "what", col(st, 2));

			json_object_set_new(ev, "old", sqlite3_column_type(st, 3) == SQLITE_NULL
							       ? json_null() : json_string(col(st, 3)));
			json_object_set_new(ev, "new", sqlite3_column_type(st, 4) == SQLITE_NULL
							       ? json_null() : json_string(col(st, 4)));
			json_array_append_new(arr, ev);
		} else {
			char when[32];

			fmt_time_local(sqlite3_column_int64(st, 0), when, sizeof(when));
			printf("  %s  %-10s %-10s", when, col(st, 1), col(st, 2));
			if (sqlite3_column_type(st, 3) != SQLITE_NULL)
				printf(" %s ->", col(st, 3));
			if (sqlite3_column_type(st, 4) != SQLITE_NULL)
				printf(" %s", col(st, 4));
			printf("\n");
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(ctx->store, e, "cannot read events");
	return 0;
}

int
cmd_show(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct err e = ERR_INIT;
	struct ticket t;
	json_t *doc = NULL, *msgs = NULL, *evs = NULL, *atts = NULL;
	bool json = false;
	int64_t id;
	int c;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c != 'j')
			return cli_usage(argv[0]);
		json = true;
	}
	if (optind != argc - 1 || (id = cli_parse_id(argv[optind])) < 0)
		return cli_usage(argv[0]);
	if (ticket_load(ctx->store, id, &t, &e) < 0)
		return cli_fail(&e);
	if (json) {
		doc = cli_ticket_json(&t);
		msgs = json_array();
		evs = json_array();
		atts = json_array();
	} else {
		char created[32], updated[32], flags[128];

		fmt_time_local(t.created, created, sizeof(created));
		fmt_time_local(t.updated, updated, sizeof(updated));
		ticket_flags_str(t.flags, flags, sizeof(flags));
		printf("Ticket #%lld  %s\n", (long long)t.id, t.subject);
		printf("Status:    %s\nQueue:     %s\nCategory:  %s\nPriority:  %s\n", t.status,
		       t.queue, t.category, t.priority);
		printf("Language:  %s\nRequester: %s%s%s%s\nAssignee:  %s\n",
		       *t.language ? t.language : "-", t.requester_name,
		       *t.requester_name ? " <" : "", t.requester, *t.requester_name ? ">" : "",
		       *t.assignee ? t.assignee : "-");
		printf("Tags:      ");
		for (size_t i = 0; i < t.tags.n; i++)
			printf("%s%s", i ? ", " : "", t.tags.items[i]);
		printf("%s\nCreated:   %s\nUpdated:   %s\n", t.tags.n ? "" : "-", created, updated);
		if (*flags)
			printf("Flags:     %s\n", flags);
		if (t.merged_into)
			printf("Merged into #%lld\n", (long long)t.merged_into);
		if (t.related_to)
			printf("Possible follow-up of #%lld (its tag was used by another sender)\n",
			       (long long)t.related_to);
	}
	if (show_messages(ctx, id, msgs, &e) < 0 || show_attachments(ctx, id, atts, &e) < 0 ||
	    show_events(ctx, id, evs, &e) < 0) {
		json_decref(doc);
		json_decref(msgs);
		json_decref(evs);
		json_decref(atts);
		ticket_release(&t);
		return cli_fail(&e);
	}
	if (json) {
		json_object_set_new(doc, "messages", msgs);
		json_object_set_new(doc, "attachments", atts);
		json_object_set_new(doc, "events", evs);
		json_object_set_new(doc, "related_to",
				    t.related_to ? json_integer(t.related_to) : json_null());
	}
	ticket_release(&t);
	return json ? cli_print_json(doc) : EXIT_OK;
}
