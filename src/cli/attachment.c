/* secdesk attachment ID N [-o FILE]: writes attachment N of ticket ID (as
 * numbered by `secdesk show`, from 1, in message order) to FILE, atomically,
 * or to stdout. */
#include "compat.h"

#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "fdio.h"
#include "xalloc.h"

int cmd_attachment(int argc, char **argv, struct cli_ctx *ctx);

/* tmp file beside FILE with O_EXCL, write, fsync, rename. */
static int
write_file(const char *path, const unsigned char *data, size_t len, struct err *e)
{
	char *dup = xstrdup(path);
	char *tmp = xasprintf("%s/.%s.%ld.tmp", dirname(dup), "secdesk-attachment", (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	int rc = 0;

	free(dup);
	if (fd < 0) {
		rc = err_set(e, EXIT_CANTCREAT, "cannot create '%s': %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	if (fd_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		rc = err_set(e, EXIT_IOERR, "cannot write '%s': %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
	} else if (close(fd) < 0 || rename(tmp, path) < 0) {
		rc = err_set(e, EXIT_IOERR, "cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

int
cmd_attachment(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
					       { NULL, 0, NULL, 0 } };
	const char *out = NULL;
	struct attach_info *list = NULL;
	struct err e = ERR_INIT;
	unsigned char *data = NULL;
	size_t n = 0, len = 0;
	int64_t id, num;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else
			return cli_usage(argv[0]);
	}
	if (optind != argc - 2 || (id = cli_ticket_arg(argv[0], argv[optind])) < 0 ||
	    (num = cli_parse_id(argv[optind + 1])) < 0)
		return cli_usage(argv[0]);
	if (attach_list(ctx->store, id, &list, &n, &e) < 0)
		return cli_fail(&e);
	if (num < 1 || (size_t)num > n) {
		cli_error("ticket %lld has no attachment %lld (it has %zu)", (long long)id, (long long)num, n);
		rc = EXIT_DATAERR;
		goto out;
	}
	if (!list[num - 1].sha256) {
		cli_error("attachment %lld ('%s') was over the size limit and was not kept", (long long)num,
			  list[num - 1].filename);
		rc = EXIT_DATAERR;
		goto out;
	}
	if (!out && isatty(STDOUT_FILENO)) {
		cli_error("not writing an attachment to a terminal; use -o FILE");
		rc = EXIT_USAGE;
		goto out;
	}
	if (attach_read(ctx->store, list[num - 1].sha256, &data, &len, &e) < 0) {
		rc = cli_fail(&e);
		goto out;
	}
	if (out) {
		if (write_file(out, data, len, &e) < 0)
			rc = cli_fail(&e);
	} else if (fd_write_all(STDOUT_FILENO, data, len) < 0) {
		cli_error("cannot write to stdout: %s", strerror(errno));
		rc = EXIT_IOERR;
	}
out:
	free(data);
	attach_list_free(list, n);
	return rc;
}
