/* parse_bench - parse throughput: loads the mails given (files, or the
 * files of Maildir-like folders and their new/ and cur/) into memory and
 * parses them all ROUNDS times, as ingest does (parse_message, then
 * message_release), printing MB/s, messages/s and peak RSS.
 * usage: parse_bench [-r ROUNDS] [-q] PATH... */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "parse.h"
#include "xalloc.h"

struct mail {
	char *data;
	size_t len;
};

static struct mail *mails;
static size_t nmails, cap;

static void
load_file(const char *path)
{
	struct buf b = BUF_INIT;

	buf_init(&b, 0);
	if (file_read_all(path, &b) < 0) {
		buf_release(&b);
		return;
	}
	if (nmails == cap) {
		cap = cap ? cap * 2 : 1024;
		mails = xreallocarray(mails, cap, sizeof(*mails));
	}
	mails[nmails].len = b.len;
	mails[nmails].data = buf_detach(&b, NULL);
	nmails++;
}

static void
load(const char *path, int depth)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (stat(path, &st) < 0)
		return;
	if (S_ISREG(st.st_mode)) {
		load_file(path);
		return;
	}
	if (!S_ISDIR(st.st_mode) || depth > 2 || !(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		char *sub;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "tmp"))
			continue;
		sub = xasprintf("%s/%s", path, de->d_name);
		load(sub, depth + 1);
		free(sub);
	}
	closedir(d);
}

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
	int rounds = 1, opt;
	bool quiet = false;
	size_t bytes = 0;
	double t0, t1;
	struct rusage ru;

	while ((opt = getopt(argc, argv, "r:q")) != -1) {
		if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'q')
			quiet = true;
		else
			return EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++)
		load(argv[i], 0);
	if (nmails == 0) {
		fprintf(stderr, "usage: parse_bench [-r ROUNDS] [-q] PATH...\n");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < nmails; i++)
		bytes += mails[i].len;
	t0 = now();
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < nmails; i++) {
			struct message m;
			struct err e = ERR_INIT;

			message_init(&m);
			if (parse_message(mails[i].data, mails[i].len, &parse_limits_default, &m, &e) < 0)
				fprintf(stderr, "parse_bench: %s\n", e.msg);
			message_release(&m);
		}
	}
	t1 = now();
	getrusage(RUSAGE_SELF, &ru);
	if (!quiet)
		printf("%zu messages x %d, %.1f MB: %.1f MB/s, %.0f messages/s, %.3f s per round; peak RSS %ld MB\n",
		       nmails, rounds, (double)bytes / 1e6, (double)bytes * rounds / 1e6 / (t1 - t0),
		       (double)nmails * rounds / (t1 - t0), (t1 - t0) / rounds, ru.ru_maxrss / 1024);
	else
		printf("%.3f s, peak RSS %ld MB\n", (t1 - t0) / rounds, ru.ru_maxrss / 1024);
	for (size_t i = 0; i < nmails; i++)
		free(mails[i].data);
	free(mails);
	return 0;
}
