/* rules_dump - prints everything the rule engine decides for each mail:
 * the outcome of rules_apply(), then every event of rules_apply_trace()
 * and its outcome, and lang_detect() of the body (code and score). Two
 * builds of the engine give the same dump when they classify alike: the
 * check that a change of the engine's insides changes no outcome.
 *     rules_dump RULES_DIR FILE...   (a FILE "-": file names from stdin)
 * A file that does not parse is named with its error; it stops nothing. */
#include "compat.h"

#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "lang.h"
#include "parse.h"
#include "rules.h"
#include "xalloc.h"

static const char *
s_or(const char *s)
{
	return s ? s : "-";
}

static void
outcome_print(const char *what, const struct rule_outcome *o)
{
	printf("  %s: queue=%s category=%s priority=%s language=%s assignee=%s no_ack=%d "
	       "reason=%s spam=%d stopped=%d\n",
	       what, s_or(o->queue), s_or(o->category), s_or(o->priority), s_or(o->language),
	       s_or(o->assignee), o->no_ack, s_or(o->no_ack_reason), o->spam, o->stopped);
	printf("  %s tags:", what);
	for (size_t i = 0; i < o->tags.n; i++)
		printf(" %s", o->tags.items[i]);
	printf("\n");
	for (size_t i = 0; i < o->errors.n; i++)
		printf("  %s error: %s\n", what, o->errors.items[i]);
}

static void
on_event(void *arg, const struct rule_trace_event *ev)
{
	(void)arg;
	printf("  ev %d %s:%d '%s' text=%s matched=%d value=%s note=%s\n", (int)ev->kind,
	       s_or(ev->file), ev->line, s_or(ev->rule), s_or(ev->text), ev->matched,
	       s_or(ev->value), s_or(ev->note));
}

static void
dump(const struct ruleset *rs, const char *path, struct buf *raw)
{
	struct message m;
	struct err e = ERR_INIT;
	struct rule_outcome o;
	const char *lang;
	int score;

	printf("== %s\n", path);
	buf_reset(raw);
	if (file_read_all(path, raw) < 0) {
		printf("  unreadable\n");
		return;
	}
	message_init(&m);
	if (parse_message(raw->data ? raw->data : "", raw->len, &parse_limits_default, &m, &e) <
	    0) {
		printf("  parse error: %s\n", e.msg);
		message_release(&m);
		return;
	}
	rule_outcome_init(&o);
	printf("  apply rc=%d\n", rules_apply(rs, &m, NULL, &o, &e));
	outcome_print("apply", &o);
	rule_outcome_release(&o);
	rule_outcome_init(&o);
	printf("  trace rc=%d\n", rules_apply_trace(rs, &m, NULL, &o, on_event, NULL, &e));
	outcome_print("trace", &o);
	rule_outcome_release(&o);
	lang = lang_detect(m.body, m.body ? strlen(m.body) : 0, &score);
	printf("  lang_detect(body)=%s score=%d\n", s_or(lang), score);
	message_release(&m);
}

int
main(int argc, char **argv)
{
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;
	struct buf raw = BUF_INIT;

	if (argc < 3) {
		fputs("usage: rules_dump RULES_DIR FILE...\n", stderr);
		return EXIT_USAGE;
	}
	if (rules_load(argv[1], &rs, &e) < 0) {
		fprintf(stderr, "rules_dump: %s\n", e.msg);
		return EXIT_CONFIG;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			char *line = NULL;
			size_t cap = 0;
			ssize_t n;

			while ((n = getline(&line, &cap, stdin)) > 0) {
				if (line[n - 1] == '\n')
					line[n - 1] = '\0';
				if (*line)
					dump(rs, line, &raw);
			}
			free(line);
		} else {
			dump(rs, argv[i], &raw);
		}
	}
	buf_release(&raw);
	rules_free(&rs);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
