/* secdesk complete WHAT: the candidates the bash completion offers, one a
 * line, from the desk itself: the commands, options, subcommands and their
 * values from the help table (help_text.c), the queues from the rules, the
 * templates by name, the assignees and ids from the store. A value the
 * shell completes itself is named: "@file", "@dir". Hidden from help. */
#include "compat.h"

#include "cli.h"
#include "config.h"
#include "rules.h"
#include "store.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_complete(int argc, char **argv, struct cli_ctx *ctx);

/* How many of the newest tickets give assignees and ids: enough for
 * what people work on, bounded on a big store. */
#define COMPLETE_TICKETS 500

/* The config (and the store when want_store) of -c, $SECDESK_CONFIG ...,
 * as main's prepare() gets them; complete needs them only for some WHATs. */
struct desk {
	struct config cfg;
	char *path;
	struct store *store;
};

static int
desk_open(struct cli_ctx *ctx, bool want_store, struct desk *d)
{
	struct err e = ERR_INIT;

	memset(d, 0, sizeof(*d));
	d->path = config_find(ctx->config_arg, &e);
	if (!d->path || config_load(&d->cfg, d->path, &e) < 0)
		return cli_fail(&e);
	if (want_store && store_open(d->cfg.store.location, 0, &d->store, &e) < 0)
		return cli_fail(&e);
	return EXIT_OK;
}

static void
desk_close(struct desk *d)
{
	store_close(&d->store);
	config_release(&d->cfg);
	free(d->path);
}

static int
print_queues(struct cli_ctx *ctx)
{
	struct err e = ERR_INIT;
	struct ruleset *rs = NULL;
	struct desk d;
	int rc = desk_open(ctx, false, &d);

	if (rc == EXIT_OK && rules_load(d.cfg.rules.dir, &rs, &e) < 0)
		rc = cli_fail(&e);
	for (size_t i = 0; rc == EXIT_OK && i < rules_queue_count(rs); i++)
		printf("%s\n", rules_queue_at(rs, i)->id);
	rules_free(&rs);
	desk_close(&d);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
print_sorted(struct strlist *l)
{
	if (l->n)
		qsort(l->items, l->n, sizeof(*l->items), cmp_str);
	for (size_t i = 0; i < l->n; i++)
		printf("%s\n", l->items[i]);
}

static int
print_templates(struct cli_ctx *ctx)
{
	struct strlist names = STRLIST_INIT;
	struct desk d;
	int rc = desk_open(ctx, false, &d);

	if (rc == EXIT_OK) {
		cli_template_names(d.cfg.templates.dir, &names);
		print_sorted(&names);
	}
	strlist_release(&names);
	desk_close(&d);
	return rc;
}

/* The ids of the newest live tickets, or the assignees they have. */
static int
print_from_tickets(struct cli_ctx *ctx, bool assignees)
{
	struct ticket_filter f = { .sort = TICKET_SORT_UPDATED, .descending = true,
				   .limit = COMPLETE_TICKETS };
	struct strlist seen = STRLIST_INIT;
	struct ticket_hit *hits = NULL;
	struct err e = ERR_INIT;
	size_t n = 0;
	struct desk d;
	int rc = desk_open(ctx, true, &d);

	if (rc == EXIT_OK && ticket_list(d.store, &f, &hits, &n, &e) < 0)
		rc = cli_fail(&e);
	for (size_t i = 0; rc == EXIT_OK && i < n; i++) {
		struct ticket t;

		if (!assignees) {
			printf("%lld\n", (long long)hits[i].id);
			continue;
		}
		if (ticket_load(d.store, hits[i].id, &t, &e) < 0) {
			rc = cli_fail(&e);
			break;
		}
		if (*t.assignee && !strlist_contains(&seen, t.assignee))
			strlist_add(&seen, t.assignee);
		ticket_release(&t);
	}
	print_sorted(&seen);
	strlist_release(&seen);
	free(hits);
	desk_close(&d);
	return rc;
}

/* Prints the candidates of a values spec (cli_option.values): its words,
 * or what one @name stands for. */
static int
print_spec(struct cli_ctx *ctx, const char *spec)
{
	if (!spec)
		return EXIT_OK;
	if (strcmp(spec, "@statuses") == 0) {
		for (size_t i = 0; cli_statuses[i]; i++)
			printf("%s\n", cli_statuses[i]);
		return EXIT_OK;
	}
	if (strcmp(spec, "@commands") == 0) {
		for (const struct cli_command *c = cli_commands; c->name; c++)
			if (!(c->needs & CLI_HIDDEN))
				printf("%s\n", c->name);
		return EXIT_OK;
	}
	if (strcmp(spec, "@queues") == 0)
		return print_queues(ctx);
	if (strcmp(spec, "@templates") == 0)
		return print_templates(ctx);
	if (strcmp(spec, "@assignees") == 0)
		return print_from_tickets(ctx, true);
	if (strcmp(spec, "@ids") == 0)
		return print_from_tickets(ctx, false);
	/* words, or @file / @dir for the shell */
	for (const char *p = spec; *p;) {
		size_t n = strcspn(p, " ");

		if (n)
			printf("%.*s\n", (int)n, p);
		p += n + (p[n] == ' ');
	}
	return EXIT_OK;
}

/* The spec of operand n (1-based) of cmd: the nth word of its operands,
 * the last one repeating. */
static int
print_operand(struct cli_ctx *ctx, const struct cli_help *h, long n)
{
	const char *p = h->operands, *word = NULL;
	char *spec;
	int rc;

	if (!p)
		return EXIT_OK;
	for (long i = 0; i < n && *p; i++) {
		size_t len = strcspn(p, " ");

		word = p;
		p += len + (p[len] == ' ');
	}
	spec = xstrndup(word, strcspn(word, " "));
	rc = print_spec(ctx, spec);
	free(spec);
	return rc;
}

/* Whether option o of a command with subcommands is one of sub: its help
 * names the subcommands it belongs to ("check: ...; test: ..."). */
static bool
option_of(const struct cli_option *o, const char *sub)
{
	size_t n = strlen(sub);

	if (!sub[0])
		return true;
	if (strncmp(o->help, sub, n) == 0 && (o->help[n] == ':' || o->help[n] == ' '))
		return true;
	for (const char *p = o->help; (p = strstr(p, sub)); p += n)
		if (p > o->help && (p[-1] == ' ' || p[-1] == ';') && p[n] == ':')
			return true;
	return false;
}

static int
print_options(const struct cli_help *h, const char *sub)
{
	for (const struct cli_option *o = h->options; o && o->help; o++)
		if (o->name && (!h->subcommands || option_of(o, sub)))
			printf("--%s\n", o->name);
	return EXIT_OK;
}

/* The values of option opt ("--status", "-s"); EXIT_DATAERR, printing
 * nothing, when it takes none (so that the shell offers options). */
static int
print_values(struct cli_ctx *ctx, const struct cli_help *h, const char *opt)
{
	bool is_long = strncmp(opt, "--", 2) == 0;

	opt += is_long ? 2 : opt[0] == '-';
	for (const struct cli_option *o = h->options; o && o->help; o++) {
		if (is_long ? !(o->name && strcmp(o->name, opt) == 0)
			    : !(o->short_name && opt[0] == o->short_name && !opt[1]))
			continue;
		return o->arg ? print_spec(ctx, o->values) : EXIT_DATAERR;
	}
	return EXIT_DATAERR;
}

int
cmd_complete(int argc, char **argv, struct cli_ctx *ctx)
{
	const struct cli_help *h = argc >= 3 ? cli_help_of(argv[2]) : NULL;
	const char *what = argc >= 2 ? argv[1] : "";
	long n;

	if (argc == 2 && strcmp(what, "commands") == 0)
		return print_spec(ctx, "@commands");
	if (argc == 2 && strcmp(what, "statuses") == 0)
		return print_spec(ctx, "@statuses");
	if (argc == 2 && strcmp(what, "queues") == 0)
		return print_queues(ctx);
	if (argc == 2 && strcmp(what, "templates") == 0)
		return print_templates(ctx);
	if (argc == 2 && strcmp(what, "assignees") == 0)
		return print_from_tickets(ctx, true);
	if (argc == 2 && strcmp(what, "ids") == 0)
		return print_from_tickets(ctx, false);
	if ((argc == 3 || argc == 4) && h && strcmp(what, "options") == 0)
		return print_options(h, argc == 4 ? argv[3] : "");
	if (argc == 3 && h && strcmp(what, "subcommands") == 0)
		return print_spec(ctx, h->subcommands);
	if (argc == 4 && h && strcmp(what, "values") == 0)
		return print_values(ctx, h, argv[3]);
	if (argc == 4 && h && strcmp(what, "operands") == 0 &&
	    (n = cli_parse_count(argv[3])) > 0)
		return print_operand(ctx, h, n);
	return cli_usage(argv[0]);
}
