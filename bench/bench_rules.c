/* bench_rules - classification alone: messages/s of rules_apply over the
 * labelled corpus, with the rules of a folder.
 *     bench_rules RULES_DIR MAIL_DIR [SECONDS] */
#include "compat.h"

#include <dirent.h>

#include "buf.h"
#include "parse.h"
#include "rules.h"
#include "xalloc.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct ruleset *rs = NULL;
	struct err e = ERR_INIT;
	struct message *msgs = NULL;
	char **raws = NULL;
	size_t n = 0, done = 0;
	double secs = argc > 3 ? atof(argv[3]) : 1.0, t0, t1;
	DIR *d;
	struct dirent *de;

	if (argc < 3) {
		fputs("usage: bench_rules RULES_DIR MAIL_DIR [SECONDS]\n", stderr);
		return EXIT_USAGE;
	}
	t0 = now();
	if (rules_load(argv[1], &rs, &e) < 0) {
		fprintf(stderr, "bench_rules: %s\n", e.msg);
		return EXIT_CONFIG;
	}
	t1 = now();
	d = opendir(argv[2]);
	if (!d)
		return EXIT_USAGE;
	while ((de = readdir(d))) {
		char *p;
		FILE *f;
		struct buf b = BUF_INIT;
		char chunk[8192];
		size_t k, len;

		if (!strstr(de->d_name, ".eml"))
			continue;
		p = xasprintf("%s/%s", argv[2], de->d_name);
		f = fopen(p, "rb");
		free(p);
		if (!f)
			continue;
		while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_add(&b, chunk, k);
		fclose(f);
		msgs = xreallocarray(msgs, n + 1, sizeof(*msgs));
		raws = xreallocarray(raws, n + 1, sizeof(*raws));
		raws[n] = buf_detach(&b, &len);
		message_init(&msgs[n]);
		if (parse_message(raws[n], len, &parse_limits_default, &msgs[n], &e) < 0)
			return EXIT_DATAERR;
		n++;
	}
	closedir(d);
	if (!n)
		return EXIT_DATAERR;
	{
		double start = now(), el;

		do {
			for (size_t i = 0; i < n; i++) {
				struct rule_outcome o;

				rule_outcome_init(&o);
				rules_apply(rs, &msgs[i], NULL, &o, &e);
				rule_outcome_release(&o);
			}
			done += n;
			el = now() - start;
		} while (el < secs);
		printf("%zu rules: %.0f msgs/s (%zu messages in %.2f s; load %.0f ms)\n",
		       rules_count(rs), (double)done / el, done, el, (t1 - t0) * 1000);
	}
	for (size_t i = 0; i < n; i++) {
		message_release(&msgs[i]);
		free(raws[i]);
	}
	free(msgs);
	free(raws);
	rules_free(&rs);
	return 0;
}
