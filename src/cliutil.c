/* Helpers shared by the commands: errors, ids, JSON, times. */
#include "compat.h"

#include "cli.h"
#include "ticket.h"

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fputs("secdesk: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int
cli_fail(const struct err *e)
{
	cli_error("%s", e->msg[0] ? e->msg : "unknown error");
	return e->code ? e->code : EXIT_SOFTWARE;
}

int
cli_usage(const char *name)
{
	const struct cli_command *c = cli_find(name);

	fprintf(stderr, "usage: secdesk %s\n", c ? c->usage : name);
	return EXIT_USAGE;
}

int64_t
cli_parse_id(const char *s)
{
	char *end;
	long long v;

	if (!s || *s == '#')
		s = s ? s + 1 : s;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0)
		return -1;
	return v;
}

int
cli_print_json(json_t *doc)
{
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(doc);
	fputc('\n', stdout);
	return rc == 0 ? EXIT_OK : EXIT_IOERR;
}

void
fmt_time_utc(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
fmt_time_local(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

json_t *
cli_ticket_json(const struct ticket *t)
{
	char created[32], updated[32];
	json_t *tags = json_array();

	for (size_t i = 0; i < t->tags.n; i++)
		json_array_append_new(tags, json_string(t->tags.items[i]));
	fmt_time_utc(t->created, created, sizeof(created));
	fmt_time_utc(t->updated, updated, sizeof(updated));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s,"
			 " s:o, s:o}",
			 "id", (json_int_t)t->id, "status", t->status, "queue", t->queue,
			 "category", t->category, "priority", t->priority, "language", t->language,
			 "subject", t->subject, "requester", t->requester, "requester_name",
			 t->requester_name, "assignee", t->assignee, "tags", tags, "created",
			 created, "updated", updated, "merged_into",
			 t->merged_into ? json_integer(t->merged_into) : json_null(), "flags",
			 ticket_flags_json(t->flags));
}
