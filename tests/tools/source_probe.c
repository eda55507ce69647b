/* source_probe CONFIG COMMAND - drives a mail source through its interface
 * (source.h), without the store, to test a backend on its own:
 *   list           prints the keys
 *   fetch          prints "KEY SIZE SHA256" of every message
 *   done           fetches every message, then marks them all done
 * Exit status: 0, or the err code of the first failure (message on stderr). */
#include "compat.h"

#include <gnutls/crypto.h>

#include "config.h"
#include "source.h"
#include "strlist.h"

static int
print_cb(void *arg, const char *key, const char *raw, size_t len)
{
	unsigned char d[32];
	char hex[65];

	(void)arg;
	gnutls_hash_fast(GNUTLS_DIG_SHA256, raw, len, d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	printf("%s %zu %s\n", key, len, hex);
	return 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct err e = ERR_INIT;
	const struct source_ops *ops = NULL;
	struct source *src = NULL;
	struct source_refs all = SOURCE_REFS_INIT;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: source_probe CONFIG list|fetch|done\n");
		return EXIT_USAGE;
	}
	if (config_load(&cfg, argv[1], &e) < 0)
		goto fail;
	ops = source_find(cfg.mailbox.conn.url);
	if (!ops) {
		err_set(&e, EXIT_CONFIG, "no source for '%s'", cfg.mailbox.conn.url);
		goto fail;
	}
	if ((rc = ops->open(&cfg, &src, &e)) != SRC_OK)
		goto fail;
	fprintf(stderr, "source: %s\n", ops->id(src));
	if ((rc = source_list_all(ops, src, &all, &e)) != SRC_OK)
		goto fail;
	if (strcmp(argv[2], "list") == 0) {
		for (size_t i = 0; i < all.keys.n; i++)
			printf("%s\n", all.keys.items[i]);
	} else {
		size_t batch = cfg.mailbox.batch > 0 ? (size_t)cfg.mailbox.batch : 100;

		for (size_t off = 0; off < all.keys.n; off += batch) {
			size_t n = all.keys.n - off < batch ? all.keys.n - off : batch;

			rc = ops->fetch(src, (const char *const *)all.refs.items + off, n, print_cb, NULL,
					&e);
			if (rc != SRC_OK && rc != SRC_MSG_BAD)
				goto fail;
			if (rc == SRC_MSG_BAD)
				fprintf(stderr, "skipped: %s\n", e.msg);
			if (strcmp(argv[2], "done") == 0 &&
			    (rc = ops->mark_done(src, (const char *const *)all.refs.items + off, n, &e)) !=
				    SRC_OK)
				goto fail;
		}
	}
	ops->close(src);
	source_refs_release(&all);
	config_release(&cfg);
	return fflush(stdout) == 0 ? 0 : EXIT_IOERR;
fail:
	fprintf(stderr, "source_probe: %s\n", e.msg);
	if (src && ops)
		ops->close(src);
	source_refs_release(&all);
	return e.code ? e.code : EXIT_SOFTWARE;
}
