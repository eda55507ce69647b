/* secdesk rules check [--json] | rules test FILE [--json] | rules replay MAILDIR|--tickets [--apply]:
 * the tools for rule authors. */
#include "compat.h"

#include <dirent.h>
#include <getopt.h>
#include <sys/stat.h>

#include "autoreply.h"
#include "buf.h"
#include "cli.h"
#include "lang.h"
#include "parse.h"
#include "rules.h"
#include "ticket.h"
#include "xalloc.h"

int cmd_rules(int argc, char **argv, struct cli_ctx *ctx);

static int
slurp(const char *path, char **data, size_t *len, struct err *e)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;

	if (!f)
		return err_set(e, EXIT_DATAERR, "cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) < 0) {
			fclose(f);
			buf_release(&b);
			return err_set(e, EXIT_DATAERR, "'%s' is too large", path);
		}
	if (ferror(f)) {
		fclose(f);
		buf_release(&b);
		return err_set(e, EXIT_IOERR, "cannot read '%s': %s", path, strerror(errno));
	}
	fclose(f);
	*data = buf_detach(&b, len);
	return 0;
}

/* One "file:line:col: message" of rules_check as an object; an error
 * without a position (a folder that cannot be read) has file and message
 * only, line and col null. The position is the first ":N:N: " so that a
 * colon in a message does not move it. */
static json_t *
rules_error_json(const char *s)
{
	for (const char *p = strchr(s, ':'); p; p = strchr(p + 1, ':')) {
		char *end;
		long line, col;

		if (p[1] < '0' || p[1] > '9')
			continue;
		line = strtol(p + 1, &end, 10);
		if (*end != ':' || end[1] < '0' || end[1] > '9')
			continue;
		col = strtol(end + 1, &end, 10);
		if (*end != ':')
			continue;
		end++;
		while (*end == ' ')
			end++;
		return json_pack("{s:s%, s:I, s:I, s:s}", "file", s, (size_t)(p - s),
				 "line", (json_int_t)line, "col", (json_int_t)col, "message", end);
	}
	return json_pack("{s:n, s:n, s:n, s:s}", "file", "line", "col", "message", s);
}

static int
rules_check_cmd(struct cli_ctx *ctx, bool json)
{
	struct strlist errs = STRLIST_INIT;
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;
	size_t n = rules_check(ctx->cfg->rules.dir, &errs);
	json_t *arr = json ? json_array() : NULL;

	for (size_t i = 0; i < errs.n; i++)
		if (json)
			json_array_append_new(arr, rules_error_json(errs.items[i]));
		else
			cli_error("%s", errs.items[i]);
	strlist_release(&errs);
	if (n) {
		if (json)
			cli_print_json(arr);
		return EXIT_CONFIG;
	}
	if (rules_load(ctx->cfg->rules.dir, &rs, &e) < 0) {
		/* rules_check found nothing yet loading failed: report it in
		 * the same shape, with no position. */
		if (json) {
			json_array_append_new(arr, rules_error_json(e.msg));
			cli_print_json(arr);
			return e.code ? e.code : EXIT_SOFTWARE;
		}
		return cli_fail(&e);
	}
	if (json)
		cli_print_json(arr);
	else if (ctx->verbosity >= 0)
		printf("%s: %zu rules, %zu queues: ok\n", ctx->cfg->rules.dir, rules_count(rs),
		       rules_queue_count(rs));
	rules_free(&rs);
	return EXIT_OK;
}

/* ---------- rules test ---------- */

struct trace_out {
	bool json;
	json_t *rules;   /* array of rule objects (json) */
	json_t *cur;     /* the rule being traced */
	int verbosity;
};

/* One event of the trace into the JSON document: a rule object per rule,
 * its tests and actions inside it. */
static void
trace_json(struct trace_out *o, const struct rule_trace_event *ev)
{
	json_t *entry;

	switch (ev->kind) {
	case RULE_TRACE_SKIP:
		json_array_append_new(o->rules,
				      json_pack("{s:s, s:s, s:i, s:s, s:s}", "rule", ev->rule, "file",
						ev->file, "line", ev->line, "result", "skipped", "why",
						ev->note));
		break;
	case RULE_TRACE_RULE:
		o->cur = json_pack("{s:s, s:s, s:i, s:[], s:[]}", "rule", ev->rule, "file", ev->file,
				   "line", ev->line, "tests", "actions");
		json_array_append_new(o->rules, o->cur);
		break;
	case RULE_TRACE_TEST:
		entry = json_pack("{s:s, s:b}", "test", ev->text, "matched", ev->matched);
		if (ev->value)
			json_object_set_new(entry, "captured", json_string(ev->value));
		if (ev->note)
			json_object_set_new(entry, "error", json_string(ev->note));
		json_array_append_new(json_object_get(o->cur, "tests"), entry);
		break;
	case RULE_TRACE_END:
		json_object_set_new(o->cur, "result", json_string(ev->matched ? "matched" : "no match"));
		break;
	case RULE_TRACE_ERROR:
		json_object_set_new(o->cur, "result", json_string("error"));
		json_object_set_new(o->cur, "error", json_string(ev->note));
		break;
	case RULE_TRACE_ACTION:
		entry = json_pack("{s:s}", "action", ev->text);
		if (ev->note)
			json_object_set_new(entry, "note", json_string(ev->note));
		json_array_append_new(json_object_get(o->cur, "actions"), entry);
		break;
	}
}

/* What a test matched, from the mail: at most 200 bytes of it, cut at a
 * character before escaping so that no escape is cut in two. */
static void
print_captured(const char *captured)
{
	size_t n = strnlen(captured, 200);
	char *shown;

	while (n && n < strlen(captured) && ((unsigned char)captured[n] & 0xc0) == 0x80)
		n--;
	shown = xstrndup(captured, n);
	printf("  => \"%s\"", cli_esc(shown));
	free(shown);
}

/* One event of the trace as a line of text. */
static void
trace_text(const struct trace_out *o, const struct rule_trace_event *ev)
{
	switch (ev->kind) {
	case RULE_TRACE_SKIP:
		if (o->verbosity > 0)
			printf("  - %s:%d \"%s\": skipped (%s)\n", cli_esc(ev->file), ev->line,
			       cli_esc(ev->rule), cli_esc(ev->note));
		break;
	case RULE_TRACE_RULE:
		printf("%s:%d \"%s\"\n", cli_esc(ev->file), ev->line, cli_esc(ev->rule));
		break;
	case RULE_TRACE_TEST:
		printf("    %s %s", ev->matched ? "yes" : "no ", cli_esc(ev->text));
		if (ev->value)
			print_captured(ev->value);
		if (ev->note)
			printf("  (%s)", cli_esc(ev->note));
		putchar('\n');
		break;
	case RULE_TRACE_END:
		printf("  => %s\n", ev->matched ? "MATCHED" : "no match");
		break;
	case RULE_TRACE_ERROR:
		printf("  => SKIPPED: %s\n", cli_esc(ev->note));
		break;
	case RULE_TRACE_ACTION:
		printf("    do %s", cli_esc(ev->text));
		if (ev->note)
			printf("  (%s)", cli_esc(ev->note));
		putchar('\n');
		break;
	}
}

static void
trace_cb(void *arg, const struct rule_trace_event *ev)
{
	struct trace_out *o = arg;

	if (o->json)
		trace_json(o, ev);
	else
		trace_text(o, ev);
}

/* Whether an acknowledgement would go out, as far as the message and the
 * rules tell: the RFC 3834 decision the desk takes (autoreply.h), without
 * the store's counts (the ticket's earlier ack, the rate limits). why_r
 * owns the text it is given. */
static bool
ack_decision(const struct config *cfg, const struct ruleset *rs, const struct message *m,
	     const struct rule_outcome *o, char **why_r)
{
	struct autoreply_ctx c = { 0 };
	enum autoreply_reason why;

	if (o->spam) {
		*why_r = xstrdup("no: marked as spam");
		return false;
	}
	if (o->no_ack) {
		*why_r = xstrdup(o->no_ack_reason ? o->no_ack_reason : "suppressed by a rule");
		return false;
	}
	c.enabled = cfg->ack.enabled;
	c.desk_address = cfg->desk.address;
	c.desk_aliases = &cfg->desk.aliases;
	c.from_partner = rules_contact_queue(rs, m->from.addr) != NULL;
	why = autoreply_decide(m, &c);
	if (why != AR_YES) {
		*why_r = xasprintf("no: %s", autoreply_reason_str(why));
		return false;
	}
	*why_r = xstrdup("yes: a new inquiry from a person");
	return true;
}

static json_t *
strlist_json(const struct strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->items[i]));
	return a;
}

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The weighing for rules test: the evidence, the totals, and why. */
static void
print_weighing(const struct rule_outcome *o)
{
	if (!o->nscores)
		return;
	printf("\nweighing:\n  evidence:\n");
	for (size_t i = 0; i < o->evidence.n; i++)
		printf("    %s\n", o->evidence.items[i]);
	printf("  totals:  ");
	for (size_t i = 0; i < o->nscores; i++)
		printf(" %s %d%s", o->scores[i].target, o->scores[i].points,
		       i + 1 < o->nscores ? "," : "");
	printf("\n");
	if (o->queue_why)
		printf("  queue:    %s\n", o->queue_why);
	if (o->category_why)
		printf("  category: %s\n", o->category_why);
}

static json_t *
weighing_json(const struct rule_outcome *o)
{
	json_t *totals = json_object();

	for (size_t i = 0; i < o->nscores; i++)
		json_object_set_new(totals, o->scores[i].target, json_integer(o->scores[i].points));
	return json_pack("{s:o, s:o, s:o, s:o, s:i}", "evidence", strlist_json(&o->evidence),
			 "totals", totals, "queue_why", jstr(o->queue_why), "category_why",
			 jstr(o->category_why), "margin", RULES_SCORE_MARGIN);
}

/* The language of the mail's subject and body (lang.h), or NULL. */
static const char *
detect_language(const struct message *m)
{
	char *sample = xasprintf("%s\n%s", m->subject, m->body ? m->body : "");
	const char *lang = lang_detect(sample, strlen(sample), NULL);

	free(sample);
	return lang;
}

/* The result of rules test as one JSON document; takes the trace's rules
 * array. */
static int
print_test_json(const char *file, json_t *trace_rules, const struct rule_outcome *o,
		const char *lang, bool ack, const char *why)
{
	json_t *doc = json_pack(
		"{s:s, s:o, s:{s:s, s:o, s:o, s:o, s:o, s:o, s:b}, s:o, s:{s:b, s:s}, s:o}", "file",
		file, "rules", trace_rules, "ticket", "queue",
		o->queue ? o->queue : TICKET_DEFAULT_QUEUE, "category", jstr(o->category),
		"priority", jstr(o->priority), "language", jstr(o->language), "assignee",
		jstr(o->assignee), "tags", strlist_json(&o->tags), "spam", o->spam,
		"detected_language", jstr(lang), "acknowledgement", "sent", ack, "why", why, "errors",
		strlist_json(&o->errors));

	json_object_set_new(doc, "weighing", weighing_json(o));
	return cli_print_json(doc) < 0 ? EXIT_IOERR : EXIT_OK;
}

/* The result of rules test as text, after the trace. */
static void
print_test_text(const struct rule_outcome *o, const char *lang, const char *why)
{
	print_weighing(o);
	printf("\nresult:\n  queue:    %s\n  category: %s\n  priority: %s\n"
	       "  language: %s%s\n  assignee: %s\n  spam:     %s\n  tags:    ",
	       o->queue ? cli_esc(o->queue) : TICKET_DEFAULT_QUEUE " (default)",
	       o->category ? cli_esc(o->category) : "-", o->priority ? cli_esc(o->priority) : "-",
	       o->language ? cli_esc(o->language) : "-",
	       lang && o->language && strcmp(lang, o->language) == 0 ? " (detected)" : "",
	       o->assignee ? cli_esc(o->assignee) : "-", o->spam ? "yes" : "no");
	for (size_t i = 0; i < o->tags.n; i++)
		printf(" %s", cli_esc(o->tags.items[i]));
	printf("%s\n  acknowledgement: %s\n", o->tags.n ? "" : " -", cli_esc(why));
	for (size_t i = 0; i < o->errors.n; i++)
		printf("  error: %s\n", cli_esc(o->errors.items[i]));
}

static int
rules_test_cmd(struct cli_ctx *ctx, const char *file, bool json)
{
	struct err e = ERR_INIT;
	struct ruleset *rs = NULL;
	struct message m;
	struct rule_outcome o;
	struct trace_out to = { 0 };
	char *raw = NULL;
	size_t len = 0;
	const char *lang;
	int rc = EXIT_SOFTWARE;
	bool ack;
	char *why = NULL;

	message_init(&m);
	rule_outcome_init(&o);
	if (rules_load(ctx->cfg->rules.dir, &rs, &e) < 0)
		return cli_fail(&e);
	if (slurp(file, &raw, &len, &e) < 0 ||
	    parse_message(raw, len, &parse_limits_default, &m, &e) < 0) {
		rc = cli_fail(&e);
		goto out;
	}
	to.json = json;
	to.verbosity = ctx->verbosity;
	to.rules = json_array();
	if (!json)
		printf("message: %s\nfrom: %s <%s>\nsubject: %s\n\n", cli_esc(file),
		       cli_esc(m.from.name), cli_esc(m.from.addr), cli_esc(m.subject));
	if (rules_apply_trace(rs, &m, NULL, &o, trace_cb, &to, &e) < 0) {
		json_decref(to.rules);
		rc = cli_fail(&e);
		goto out;
	}
	lang = detect_language(&m);
	ack = ack_decision(ctx->cfg, rs, &m, &o, &why);
	if (json) {
		rc = print_test_json(file, to.rules, &o, lang, ack, why);
	} else {
		json_decref(to.rules);
		print_test_text(&o, lang, why);
		rc = EXIT_OK;
	}
out:
	free(why);
	rule_outcome_release(&o);
	message_release(&m);
	free(raw);
	rules_free(&rs);
	return rc;
}

/* ---------- rules replay ---------- */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The mail files of a Maildir (cur/ and new/) or of a plain folder. */
static void
list_mail(const char *dir, struct strlist *files)
{
	static const char *const subs[] = { "cur", "new", "" };
	size_t first = files->n;

	for (size_t s = 0; s < ARRAY_SIZE(subs); s++) {
		char *d = *subs[s] ? xasprintf("%s/%s", dir, subs[s]) : xstrdup(dir);
		DIR *dh = opendir(d);
		struct dirent *de;

		if (dh) {
			while ((de = readdir(dh))) {
				char *p;
				struct stat st;

				if (de->d_name[0] == '.')
					continue;
				p = xasprintf("%s/%s", d, de->d_name);
				if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
				    !strstr(de->d_name, "MANIFEST"))
					strlist_add_owned(files, p);
				else
					free(p);
			}
			closedir(dh);
		}
		free(d);
	}
	if (files->n > first)
		qsort(files->items + first, files->n - first, sizeof(char *), name_cmp);
}

static bool
differs(const char *now, const char *would)
{
	return would && strcmp(now ? now : "", would) != 0;
}

/* How many tickets would move from one queue to another. */
struct queue_moves {
	struct queue_move {
		char *from, *to;
		int n;
	} *v;
	size_t n;
};

static void
queue_moves_add(struct queue_moves *qm, const char *from, const char *to)
{
	for (size_t i = 0; i < qm->n; i++)
		if (strcmp(qm->v[i].from, from) == 0 && strcmp(qm->v[i].to, to) == 0) {
			qm->v[i].n++;
			return;
		}
	qm->v = xreallocarray(qm->v, qm->n + 1, sizeof(*qm->v));
	qm->v[qm->n].from = xstrdup(from);
	qm->v[qm->n].to = xstrdup(to);
	qm->v[qm->n++].n = 1;
}

static int
queue_move_cmp(const void *a, const void *b)
{
	const struct queue_move *x = a, *y = b;
	int c = strcmp(x->from, y->from);

	return c ? c : strcmp(x->to, y->to);
}

/* The moves per queue pair, then frees them. */
static void
queue_moves_print(struct queue_moves *qm, bool apply)
{
	if (qm->n) {
		qsort(qm->v, qm->n, sizeof(*qm->v), queue_move_cmp);
		printf("queue moves%s:\n", apply ? " (applied)" : "");
	}
	for (size_t i = 0; i < qm->n; i++) {
		printf("  %s -> %s: %d\n", qm->v[i].from, qm->v[i].to, qm->v[i].n);
		free(qm->v[i].from);
		free(qm->v[i].to);
	}
	free(qm->v);
	qm->v = NULL;
	qm->n = 0;
}

/* The first inbound message of a ticket, copied out of the store's walk. */
struct replay_item {
	int64_t id;
	char *raw;
	size_t len;
};

struct replay_items {
	struct replay_item *v;
	size_t n;
};

static int
replay_item_add(void *arg, int64_t ticket_id, const char *raw, size_t len, struct err *e)
{
	struct replay_items *items = arg;
	struct replay_item *it;

	(void)e;
	items->v = xreallocarray(items->v, items->n + 1, sizeof(*items->v));
	it = &items->v[items->n++];
	it->id = ticket_id;
	it->len = len;
	it->raw = xmalloc(len + 1);
	memcpy(it->raw, raw, len);
	it->raw[len] = '\0';
	return 0;
}

static void
replay_items_free(struct replay_items *items)
{
	for (size_t i = 0; i < items->n; i++)
		free(items->v[i].raw);
	free(items->v);
}

/* Sets field of ticket id to value in a transaction of its own; says why
 * not when it fails. */
static int
replay_apply(struct cli_ctx *ctx, struct store *s, int64_t id, const char *field,
	     const char *value)
{
	struct err e = ERR_INIT;

	if (store_begin(s, &e) < 0 || ticket_set_field(s, id, field, value, ctx->who, &e) < 0 ||
	    store_commit(s, &e) < 0) {
		store_rollback(s);
		cli_error("ticket #%lld: %s", (long long)id, e.msg);
		return -1;
	}
	return 0;
}

/* Prints (and with apply, makes) what the rules would change in ticket t
 * given outcome o. Returns whether anything would change; *rc becomes
 * EXIT_DATAERR when a change could not be applied. */
static bool
replay_changes(struct cli_ctx *ctx, struct store *s, const struct ticket *t,
	       const struct rule_outcome *o, bool apply, struct queue_moves *moves, int *rc)
{
	const char *f[] = { "queue", "category", "priority", "language" };
	const char *now[] = { t->queue, t->category, t->priority, t->language };
	const char *would[] = { o->queue ? o->queue : TICKET_DEFAULT_QUEUE, o->category,
				o->priority, o->language };
	bool any = false;

	if (differs(now[0], would[0]))
		queue_moves_add(moves, *now[0] ? now[0] : "-", would[0]);
	for (size_t k = 0; k < ARRAY_SIZE(f); k++) {
		if (!differs(now[k], would[k]))
			continue;
		if (!any)
			printf("#%lld %s\n", (long long)t->id, cli_esc(t->subject));
		any = true;
		printf("    %s: %s -> %s\n", f[k], *now[k] ? cli_esc(now[k]) : "-",
		       cli_esc(would[k]));
		if (apply && replay_apply(ctx, s, t->id, f[k], would[k]) < 0)
			*rc = EXIT_DATAERR;
	}
	return any;
}

static int
replay_tickets(struct cli_ctx *ctx, const struct ruleset *rs, bool apply)
{
	struct queue_moves moves = { NULL, 0 };
	struct err e = ERR_INIT;
	struct store *s = NULL;
	int rc = EXIT_OK, n = 0, changed = 0;
	struct replay_items items = { NULL, 0 };

	if (store_open(ctx->cfg->store.location, 0, &s, &e) < 0)
		return cli_fail(&e);
	/* The first inbound message of every ticket: what the rules saw. Copied
	 * first, so that the walk is over before tickets are changed. */
	if (ticket_first_raws(s, replay_item_add, &items, &e) < 0) {
		replay_items_free(&items);
		store_close(&s);
		return cli_fail(&e);
	}
	for (size_t i = 0; i < items.n; i++) {
		const struct replay_item *it = &items.v[i];
		struct message m;
		struct rule_outcome o;
		struct ticket t;

		message_init(&m);
		rule_outcome_init(&o);
		ticket_init(&t);
		if (parse_message(it->raw, it->len, &parse_limits_default, &m, &e) < 0 ||
		    ticket_load(s, it->id, &t, &e) < 0 || rules_apply(rs, &m, NULL, &o, &e) < 0) {
			cli_error("ticket #%lld: %s", (long long)it->id, e.msg);
			err_clear(&e);
			rc = EXIT_DATAERR;
		} else {
			n++;
			changed += replay_changes(ctx, s, &t, &o, apply, &moves, &rc);
		}
		ticket_release(&t);
		rule_outcome_release(&o);
		message_release(&m);
	}
	replay_items_free(&items);
	store_close(&s);
	queue_moves_print(&moves, apply);
	printf("%d tickets, %d would change%s\n", n, changed, apply ? " (applied)" : "");
	return rc;
}

static int
replay_folder(const struct ruleset *rs, const char *dir)
{
	struct strlist files = STRLIST_INIT;
	struct err e = ERR_INIT;
	int rc = EXIT_OK;

	list_mail(dir, &files);
	if (!files.n) {
		cli_error("no mail in '%s'", dir);
		return EXIT_DATAERR;
	}
	for (size_t i = 0; i < files.n; i++) {
		struct message m;
		struct rule_outcome o;
		char *raw = NULL;
		size_t len = 0;

		message_init(&m);
		rule_outcome_init(&o);
		if (slurp(files.items[i], &raw, &len, &e) < 0 ||
		    parse_message(raw, len, &parse_limits_default, &m, &e) < 0 ||
		    rules_apply(rs, &m, NULL, &o, &e) < 0) {
			cli_error("%s: %s", files.items[i], e.msg);
			err_clear(&e);
			rc = EXIT_DATAERR;
		} else {
			printf("%s\t%s\t%s\t%s%s\t%s\n", cli_esc(files.items[i]),
			       o.queue ? cli_esc(o.queue) : TICKET_DEFAULT_QUEUE,
			       o.category ? cli_esc(o.category) : "-",
			       o.language ? cli_esc(o.language) : "-", o.spam ? "\tspam" : "",
			       cli_esc(m.subject));
		}
		rule_outcome_release(&o);
		message_release(&m);
		free(raw);
	}
	strlist_release(&files);
	return rc;
}

int
cmd_rules(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "apply", no_argument, NULL, 'a' },
		{ "tickets", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, apply = false, tickets = false;
	const char *sub;
	int c;

	if (argc < 2)
		return cli_usage("rules");
	sub = argv[1];
	argc--;
	argv++;
	/* 0, not 1: getopt starts afresh, permuting (FILE --json as --json
	 * FILE), not in main's "+" mode. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'a':
			apply = true;
			break;
		case 't':
			tickets = true;
			break;
		default:
			return cli_usage("rules");
		}
	}
	if (strcmp(sub, "check") == 0) {
		if (optind != argc || apply || tickets)
			return cli_usage("rules");
		return rules_check_cmd(ctx, json);
	}
	if (strcmp(sub, "test") == 0) {
		if (optind + 1 != argc || apply || tickets)
			return cli_usage("rules");
		return rules_test_cmd(ctx, argv[optind], json);
	}
	if (strcmp(sub, "replay") == 0) {
		struct ruleset *rs = NULL;
		struct err e = ERR_INIT;
		int rc;

		if (json || (tickets ? optind != argc : optind + 1 != argc) ||
		    (apply && !tickets)) {
			if (apply && !tickets)
				cli_error("--apply works with --tickets only: mail in a folder "
					  "has no ticket to change");
			return cli_usage("rules");
		}
		if (rules_load(ctx->cfg->rules.dir, &rs, &e) < 0)
			return cli_fail(&e);
		rc = tickets ? replay_tickets(ctx, rs, apply) : replay_folder(rs, argv[optind]);
		rules_free(&rs);
		return rc;
	}
	cli_error("unknown subcommand 'rules %s' (expected check, test or replay)", sub);
	return cli_usage("rules");
}
