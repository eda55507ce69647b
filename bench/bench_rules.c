/* bench_rules - classification alone: messages/s of rules_apply over a
 * folder of mail (the labelled corpus's *.eml, or a Maildir's new/ and
 * cur/ such as gen_mail writes), with the rules of a folder.
 *     bench_rules [-c] [-p] [-n MAX] [-i PASSES] RULES_DIR MAIL_DIR [SECONDS]
 * -c: check first that the prefilter changes no outcome (every message
 * also classified with every rule tried; exit 1 on a difference).
 * -p: a profile besides (for each rule: how often the prefilter let it
 * through, how often it matched, the time spent in it), the 15 dearest.
 * -n: read at most MAX messages.
 * -i: classify every message PASSES times (0: none), whatever the time: a
 * fixed work to compare builds by their task-clock (perf stat), the run
 * with -i 0 telling what reading and parsing cost. */
#include "compat.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "parse.h"
#include "rules.h"
#include "rules_int.h"
#include "xalloc.h"

static double
clock_at(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now(void)
{
	return clock_at(CLOCK_MONOTONIC);
}

/* CPU time of this process: on a machine shared with other work it says
 * what classification costs more steadily than the wall clock. */
static double
cpu(void)
{
	return clock_at(CLOCK_PROCESS_CPUTIME_ID);
}

struct corpus {
	struct message *msgs;
	char **raws;
	size_t n, max, bytes;
};

static int
corpus_add_file(struct corpus *c, const char *path, struct err *e)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[8192];
	size_t k, len;

	if (!f)
		return 0;
	while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, k);
	fclose(f);
	c->msgs = xreallocarray(c->msgs, c->n + 1, sizeof(*c->msgs));
	c->raws = xreallocarray(c->raws, c->n + 1, sizeof(*c->raws));
	c->raws[c->n] = buf_detach(&b, &len);
	c->bytes += len;
	message_init(&c->msgs[c->n]);
	if (parse_message(c->raws[c->n], len, &parse_limits_default, &c->msgs[c->n], e) < 0)
		return -1;
	c->n++;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of dir (only *.eml when eml_only), in name order. */
static int
corpus_add_dir(struct corpus *c, const char *dir, bool eml_only, struct err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct strlist names = STRLIST_INIT;
	int rc = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || (eml_only && !strstr(de->d_name, ".eml")))
			continue;
		strlist_add(&names, de->d_name);
	}
	closedir(d);
	if (names.n)
		qsort(names.items, names.n, sizeof(*names.items), name_cmp);
	for (size_t i = 0; i < names.n && c->n < c->max && rc == 0; i++) {
		char *p = xasprintf("%s/%s", dir, names.items[i]);

		rc = corpus_add_file(c, p, e);
		free(p);
	}
	strlist_release(&names);
	return rc;
}

struct prof {
	const struct ruleset *rs;
	size_t nrules;
	const char **names;
	const char **files;
	int *lines;
	unsigned long *tried, *matched;
	double *secs;
	size_t cur, next;
	double t0;
};

static void
prof_event(void *arg, const struct rule_trace_event *ev)
{
	struct prof *p = arg;

	switch (ev->kind) {
	case RULE_TRACE_SKIP:
		p->cur = p->next++;
		break;
	case RULE_TRACE_RULE:
		/* each rule gives one RULE or SKIP event, in order */
		p->cur = p->next++;
		p->names[p->cur] = ev->rule;
		p->files[p->cur] = ev->file;
		p->lines[p->cur] = ev->line;
		p->tried[p->cur]++;
		p->t0 = now();
		break;
	case RULE_TRACE_END:
	case RULE_TRACE_ERROR:
		p->secs[p->cur] += now() - p->t0;
		if (ev->kind == RULE_TRACE_END && ev->matched)
			p->matched[p->cur]++;
		break;
	default:
		break;
	}
}

static void
profile(const struct ruleset *rs, const struct corpus *c)
{
	struct prof p = { 0 };
	struct err e = ERR_INIT;
	double total = 0;

	p.rs = rs;
	p.nrules = rules_count(rs) + 1;
	p.names = xcalloc(p.nrules, sizeof(*p.names));
	p.files = xcalloc(p.nrules, sizeof(*p.files));
	p.lines = xcalloc(p.nrules, sizeof(*p.lines));
	p.tried = xcalloc(p.nrules, sizeof(*p.tried));
	p.matched = xcalloc(p.nrules, sizeof(*p.matched));
	p.secs = xcalloc(p.nrules, sizeof(*p.secs));
	for (size_t i = 0; i < c->n; i++) {
		struct rule_outcome o;

		rule_outcome_init(&o);
		p.next = 0;
		rules_apply_trace(rs, &c->msgs[i], NULL, &o, prof_event, &p, &e);
		rule_outcome_release(&o);
	}
	for (size_t i = 0; i < p.nrules; i++)
		total += p.secs[i];
	printf("profile over %zu messages: %.1f ms in rules tried (the rest is prefilter and setup)\n",
	       c->n, total * 1000);
	for (int k = 0; k < (getenv("BENCH_ALL") ? 1000 : 15); k++) {
		size_t best = SIZE_MAX;

		for (size_t i = 0; i < p.nrules; i++)
			if (p.names[i] && p.secs[i] > 0 && (best == SIZE_MAX || p.secs[i] > p.secs[best]))
				best = i;
		if (best == SIZE_MAX)
			break;
		printf("  %7.2f ms  tried %6lu  matched %6lu  %s:%d %s\n", p.secs[best] * 1000,
		       p.tried[best], p.matched[best], p.files[best], p.lines[best], p.names[best]);
		p.secs[best] = 0;
	}
	free(p.names);
	free(p.files);
	free(p.lines);
	free(p.tried);
	free(p.matched);
	free(p.secs);
}

static void
outcome_str(struct buf *b, const struct rule_outcome *o)
{
	buf_reset(b);
	buf_addf(b, "queue=%s category=%s priority=%s language=%s assignee=%s no_ack=%d spam=%d "
		    "stopped=%d errors=%zu tags=",
		 o->queue ? o->queue : "-", o->category ? o->category : "-",
		 o->priority ? o->priority : "-", o->language ? o->language : "-",
		 o->assignee ? o->assignee : "-", o->no_ack, o->spam, o->stopped, o->errors.n);
	for (size_t i = 0; i < o->tags.n; i++)
		buf_addf(b, "%s%s", i ? "," : "", o->tags.items[i]);
}

/* Every message classified with the prefilter and with every rule tried:
 * the outcomes must be the same. Returns the number of differences. */
static size_t
check(const char *dir, const struct ruleset *rs, const struct corpus *c)
{
	struct ruleset *all = NULL;
	struct err e = ERR_INIT;
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t bad = 0;

	if (rules_load(dir, &all, &e) < 0)
		return 1;
	rules_prefilter_disable(all);
	for (size_t i = 0; i < c->n; i++) {
		struct rule_outcome o1, o2;

		rule_outcome_init(&o1);
		rule_outcome_init(&o2);
		rules_apply(rs, &c->msgs[i], NULL, &o1, &e);
		rules_apply(all, &c->msgs[i], NULL, &o2, &e);
		outcome_str(&a, &o1);
		outcome_str(&b, &o2);
		if (strcmp(buf_cstr(&a), buf_cstr(&b)) != 0) {
			printf("prefilter changes message %zu (%s):\n  with:    %s\n  without: %s\n",
			       i, c->msgs[i].subject, buf_cstr(&a), buf_cstr(&b));
			bad++;
		}
		rule_outcome_release(&o1);
		rule_outcome_release(&o2);
	}
	printf("check: %zu of %zu messages classified alike with and without the prefilter\n",
	       c->n - bad, c->n);
	buf_release(&a);
	buf_release(&b);
	rules_free(&all);
	return bad;
}

int
main(int argc, char **argv)
{
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;
	struct corpus c = { 0 };
	size_t done = 0;
	double secs, t0, t1;
	bool prof = false, chk = false;
	long passes = -1;
	int opt;
	struct stat st;
	char *sub;

	c.max = SIZE_MAX;
	while ((opt = getopt(argc, argv, "cpn:i:")) != -1) {
		switch (opt) {
		case 'c':
			chk = true;
			break;
		case 'p':
			prof = true;
			break;
		case 'n':
			c.max = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			passes = strtol(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind < 2)
		goto usage;
	secs = argc - optind > 2 ? atof(argv[optind + 2]) : 1.0;
	t0 = now();
	if (rules_load(argv[optind], &rs, &e) < 0) {
		fprintf(stderr, "bench_rules: %s\n", e.msg);
		return EXIT_CONFIG;
	}
	t1 = now();
	sub = xasprintf("%s/new", argv[optind + 1]);
	if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* a Maildir */
		if (corpus_add_dir(&c, sub, false, &e) == 0) {
			free(sub);
			sub = xasprintf("%s/cur", argv[optind + 1]);
			(void)corpus_add_dir(&c, sub, false, &e);
		}
	} else {
		(void)corpus_add_dir(&c, argv[optind + 1], true, &e);
	}
	free(sub);
	if (!c.n) {
		fprintf(stderr, "bench_rules: no mail in '%s'\n", argv[optind + 1]);
		return EXIT_DATAERR;
	}
	if (chk && check(argv[optind], rs, &c) > 0)
		return 1;
	if (passes >= 0) {
		double cstart = cpu(), cel;

		for (long p = 0; p < passes; p++)
			for (size_t i = 0; i < c.n; i++) {
				struct rule_outcome o;

				rule_outcome_init(&o);
				rules_apply(rs, &c.msgs[i], NULL, &o, &e);
				rule_outcome_release(&o);
			}
		cel = cpu() - cstart;
		printf("%zu rules: %ld passes over %zu messages in %.2f s CPU (%.1f us a message)\n",
		       rules_count(rs), passes, c.n, cel,
		       passes > 0 ? cel * 1e6 / ((double)passes * (double)c.n) : 0.0);
	} else {
		double start = now(), cstart = cpu(), el, cel;

		do {
			for (size_t i = 0; i < c.n; i++) {
				struct rule_outcome o;

				rule_outcome_init(&o);
				rules_apply(rs, &c.msgs[i], NULL, &o, &e);
				rule_outcome_release(&o);
			}
			done += c.n;
			el = now() - start;
			cel = cpu() - cstart;
		} while (cel < secs);
		printf("%zu rules: %.0f msgs/s, %.1f MB/s of CPU time (%zu messages of %.1f KB on "
		       "average in %.2f s CPU, %.2f s wall: %.0f msgs/s; load %.0f ms)\n",
		       rules_count(rs), (double)done / cel,
		       (double)c.bytes * ((double)done / (double)c.n) / cel / 1e6, done,
		       (double)c.bytes / (double)c.n / 1024, cel, el, (double)done / el,
		       (t1 - t0) * 1000);
	}
	if (prof)
		profile(rs, &c);
	for (size_t i = 0; i < c.n; i++) {
		message_release(&c.msgs[i]);
		free(c.raws[i]);
	}
	free(c.msgs);
	free(c.raws);
	rules_free(&rs);
	return 0;
usage:
	fputs("usage: bench_rules [-c] [-p] [-n MAX] [-i PASSES] RULES_DIR MAIL_DIR [SECONDS]\n",
	      stderr);
	return EXIT_USAGE;
}
