/* secdesk ingest [FILE]: one message from a file or stdin (an MTA pipe).
 * Exit 75 on a transient failure so that the MTA keeps the mail and retries. */
#include "compat.h"

#include <fcntl.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "crashguard.h"
#include "fdio.h"
#include "fetch.h"
#include "ingest.h"
#include "log.h"
#include "search_index.h"

#define INGEST_MAX_MESSAGE ((size_t)256 * 1024 * 1024)

int cmd_ingest(int argc, char **argv, struct cli_ctx *ctx);

static int
read_all(int fd, struct buf *b, struct err *e)
{
	if (fd_read_all(fd, b) == 0)
		return 0;
	if (errno == EFBIG)
		return err_set(e, EXIT_DATAERR, "message larger than %zu bytes", b->max);
	return err_set(e, EXIT_TEMPFAIL, "cannot read message: %s", strerror(errno));
}

int
cmd_ingest(int argc, char **argv, struct cli_ctx *ctx)
{
	struct ingest_result res;
	struct ingest *ing = NULL;
	struct err e = ERR_INIT;
	struct buf b;
	const char *file = NULL, *source = "stdin";
	int fd = STDIN_FILENO, rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-' && argv[1][1]))
		return cli_usage(argv[0]);
	if (argc == 2 && strcmp(argv[1], "-") != 0) {
		file = argv[1];
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cli_error("cannot read '%s': %s", file, strerror(errno));
			return EXIT_DATAERR;
		}
		source = "file";
	}
	buf_init(&b, INGEST_MAX_MESSAGE);
	rc = read_all(fd, &b, &e);
	if (file)
		close(fd);
	if (rc < 0) {
		buf_release(&b);
		return cli_fail(&e);
	}
	if (b.len == 0) {
		buf_release(&b);
		cli_error("empty message: nothing to ingest");
		return EXIT_DATAERR;
	}
	if (ingest_open(ctx->cfg, &ing, &e) < 0) {
		buf_release(&b);
		return cli_fail(&e);
	}
	crashguard_install(ctx->cfg->store.path);
	rc = intake_one(ing, ctx->store, source, b.data, b.len, &res, &e);
	buf_release(&b);
	ingest_free(&ing);
	if (rc < 0) {
		cli_fail(&e);
		/* Anything but bad configuration is worth a retry by the MTA:
		 * the mail stays in its queue, nothing is lost. */
		return e.code == EXIT_CONFIG ? EXIT_CONFIG : EXIT_TEMPFAIL;
	}
	/* The mail is stored: indexing it is a favour to the next search,
	 * which catches up anyway (and does so while a fetch indexes). */
	if (res.kind != INGEST_DUPLICATE &&
	    search_index_update(ctx->store, 0, NULL, &e) < 0) {
		if (e.code == EXIT_TEMPFAIL)
			log_info("%s", e.msg);
		else
			log_warn("%s", e.msg);
	}
	if (ctx->verbosity >= 0) {
		if (res.kind == INGEST_DUPLICATE)
			printf("already stored\n");
		else
			printf("%s ticket #%lld\n",
			       res.kind == INGEST_NEW_TICKET ? "new" : "added to",
			       (long long)res.ticket_id);
	}
	if (res.problems)
		log_warn("ticket #%lld flagged: %d step(s) of its processing failed; see "
			 "'secdesk show %lld'", (long long)res.ticket_id, res.problems,
			 (long long)res.ticket_id);
	return EXIT_OK;
}
