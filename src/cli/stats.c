/* secdesk stats: the desk's figures (report.h): counts by status and queue,
 * open tickets by queue and status, waiting tickets by age, the median time
 * to the first staff answer per queue, new tickets per week. */
#include "compat.h"

#include <getopt.h>

#include "cli.h"
#include "report.h"

int cmd_stats(int argc, char **argv, struct cli_ctx *ctx);

/* A section title, bold on a terminal (as list's header line); a leading
 * newline stays outside the colour. */
static void
print_title(const char *title)
{
	if (*title == '\n') {
		putchar('\n');
		title++;
	}
	printf("%s%s%s\n", cli_sgr(CLI_BOLD), title, cli_sgr(CLI_RESET));
}

/* statuses: the keys are status words, coloured as list colours them. The
 * colour goes around the padded field so that the columns stay aligned. */
static void
print_counts(const char *title, const json_t *obj, bool statuses)
{
	const char *k;
	json_t *v;

	print_title(title);
	if (!json_object_size(obj))
		printf("  (none)\n");
	json_object_foreach((json_t *)obj, k, v)
		printf("  %s%-16s%s %6lld\n", statuses ? cli_status_sgr(k) : "", cli_esc(k),
		       statuses ? cli_sgr(CLI_RESET) : "", (long long)json_integer_value(v));
}

static void
print_open(const json_t *obj)
{
	const char *k;
	json_t *v;

	print_title("\nOpen, by queue and status");
	if (!json_object_size(obj)) {
		printf("  (none)\n");
		return;
	}
	printf("  %-16s %s%6s%s %s%6s%s %s%7s%s\n", "", cli_status_sgr("new"), "new",
	       cli_sgr(CLI_RESET), cli_status_sgr("open"), "open", cli_sgr(CLI_RESET),
	       cli_status_sgr("pending"), "pending", cli_sgr(CLI_RESET));
	json_object_foreach((json_t *)obj, k, v)
		printf("  %-16s %6lld %6lld %7lld\n", cli_esc(k),
		       (long long)json_integer_value(json_object_get(v, "new")),
		       (long long)json_integer_value(json_object_get(v, "open")),
		       (long long)json_integer_value(json_object_get(v, "pending")));
}

static void
print_answers(const json_t *doc)
{
	const json_t *all = json_object_get(doc, "first_answer_median_seconds");
	const char *k;
	json_t *v;
	char d[32];

	print_title("\nMedian time to first answer, by queue");
	if (!json_is_integer(all)) {
		printf("  (no ticket answered yet)\n");
		return;
	}
	json_object_foreach(json_object_get(doc, "first_answer_by_queue"), k, v) {
		report_duration(json_integer_value(json_object_get(v, "median_seconds")), d,
				sizeof(d));
		printf("  %-16s %9s  (%lld answered)\n", cli_esc(k), d,
		       (long long)json_integer_value(json_object_get(v, "answered")));
	}
	report_duration(json_integer_value(all), d, sizeof(d));
	printf("  %-16s %9s  (%lld answered)\n", "all queues", d,
	       (long long)json_integer_value(json_object_get(doc, "first_answered")));
}

static void
print_weeks(const json_t *arr)
{
	size_t i;
	json_t *v;

	print_title("\nNew tickets per week");
	json_array_foreach((json_t *)arr, i, v)
		printf("  %-8s %-10s %6lld\n", json_string_value(json_object_get(v, "week")),
		       json_string_value(json_object_get(v, "start")),
		       (long long)json_integer_value(json_object_get(v, "tickets")));
}

/* The creation window, in local time, as ", created from A to B". */
static void
print_period(int64_t from, int64_t to)
{
	char a[32], b[32];

	if (from)
		fmt_time_local(from, a, sizeof(a));
	if (to)
		fmt_time_local(to, b, sizeof(b));
	if (from && to)
		printf(", created from %s to %s", a, b);
	else if (from)
		printf(", created since %s", a);
	else if (to)
		printf(", created before %s", b);
}

int
cmd_stats(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct err e = ERR_INIT;
	json_t *doc;
	bool json = false;
	const char *since = NULL, *until = NULL;
	int64_t now = store_now(), from, to;
	int c;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 's')
			since = optarg;
		else if (c == 'u')
			until = optarg;
		else
			return cli_usage(argv[0]);
	}
	if (optind != argc)
		return cli_usage(argv[0]);
	if (report_parse_period(since, until, now, &from, &to) < 0)
		return cli_usage(argv[0]);
	if (report_figures_period(ctx->store, now, from, to, &doc, &e) < 0)
		return cli_fail(&e);
	if (json)
		return cli_print_json(doc);
	printf("%lld tickets, %lld waiting", (long long)json_integer_value(json_object_get(doc, "total")),
	       (long long)json_integer_value(json_object_get(doc, "waiting")));
	print_period(from, to);
	printf("\n\n");
	print_counts("By status", json_object_get(doc, "by_status"), true);
	print_counts("\nBy queue", json_object_get(doc, "by_queue"), false);
	print_counts("\nWaiting, by queue", json_object_get(doc, "waiting_by_queue"), false);
	print_open(json_object_get(doc, "open_by_queue_status"));
	print_counts("\nWaiting, by age", json_object_get(doc, "waiting_by_age"), false);
	print_answers(doc);
	print_weeks(json_object_get(doc, "tickets_per_week"));
	json_decref(doc);
	return EXIT_OK;
}
