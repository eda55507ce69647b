/* secdesk report --html FILE: the figures of `stats` as one self-contained
 * HTML page with SVG charts (report.h), written atomically. */
#include "compat.h"

#include <getopt.h>

#include "cli.h"
#include "report.h"
#include "rules.h"

int cmd_report(int argc, char **argv, struct cli_ctx *ctx);

/* The creation window, in local time, after the page's date. */
static void
period_note(char *when, size_t n, int64_t from, int64_t to)
{
	char a[32] = "", b[32] = "";
	size_t len = strlen(when);

	if (!from && !to)
		return;
	if (from)
		fmt_time_local(from, a, sizeof(a));
	if (to)
		fmt_time_local(to, b, sizeof(b));
	snprintf(when + len, n - len, "; tickets created %s%s%s%s", from ? "from " : "", a,
		 to ? (from ? " to " : "before ") : "", b);
}

int
cmd_report(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "html", required_argument, NULL, 'h' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct err e = ERR_INIT, re = ERR_INIT;
	struct ruleset *rs = NULL;
	struct buf page = BUF_INIT;
	const char *file = NULL, *since = NULL, *until = NULL;
	int64_t from, to;
	json_t *fig = NULL;
	int64_t now = store_now();
	char when[160];
	time_t tt = (time_t)now;
	struct tm tm;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'h')
			file = optarg;
		else if (c == 's')
			since = optarg;
		else if (c == 'u')
			until = optarg;
		else
			return cli_usage(argv[0]);
	}
	if (optind != argc || !file || !*file)
		return cli_usage(argv[0]);
	if (report_parse_period(since, until, now, &from, &to) < 0)
		return cli_usage(argv[0]);
	/* The queues' display names are a nicety: a rule set that does not
	 * load (rules check says why) leaves the ids alone in the page. */
	if (rules_load(ctx->cfg->rules.dir, &rs, &re) < 0 && ctx->verbosity > 0)
		cli_error("queue names left out: %s", re.msg);
	if (report_figures_period(ctx->store, now, from, to, &fig, &e) < 0)
		goto fail;
	localtime_r(&tt, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M %Z", &tm);
	period_note(when, sizeof(when), from, to);
	{
		struct report_html_opts o = { ctx->cfg->desk.name, when, rs };

		if (report_html(fig, &o, &page, &e) < 0 ||
		    report_write_file(file, page.data, page.len, &e) < 0)
			goto fail;
	}
	if (ctx->verbosity >= 0)
		printf("report written to %s (%lld tickets, %lld waiting)\n", file,
		       (long long)json_integer_value(json_object_get(fig, "total")),
		       (long long)json_integer_value(json_object_get(fig, "waiting")));
	rc = EXIT_OK;
	goto out;
fail:
	rc = cli_fail(&e);
out:
	json_decref(fig);
	buf_release(&page);
	rules_free(&rs);
	return rc;
}
