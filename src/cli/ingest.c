/* secdesk ingest [FILE]: one message from a file or stdin (an MTA pipe).
 * Exit 0 once the mail is stored (bad mail is stored and flagged); main()
 * turns every other outcome into 75 so that the MTA keeps the mail and
 * retries instead of bouncing an inquiry (CLI_MTA). */
#include "compat.h"

#include <fcntl.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "crashguard.h"
#include "fdio.h"
#include "fetch.h"
#include "ingest.h"
#include "lock.h"
#include "log.h"
#include "outbound.h"
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

/* One line per mail for the mail log, as an MTA's delivery agent writes. */
static void
log_ingested(const struct ingest_result *res, size_t len)
{
	if (res->kind == INGEST_DUPLICATE) {
		log_note("ingest: %zu bytes: already stored", len);
		return;
	}
	log_note("ingest: %zu bytes: %s ticket #%lld%s, acks queued %d, partner notices %d",
		 len, res->kind == INGEST_NEW_TICKET ? "new" : "added to",
		 (long long)res->ticket_id, res->msg_flags & MSG_BOUNCE ? " (bounce)" :
		 res->msg_flags ? " (flagged)" : "", res->acks_queued, res->notices_queued);
}

/* [send] immediate: the acknowledgement goes out now rather than at the
 * next `secdesk send`. The mail is stored whatever happens here: a busy
 * run lock or an unreachable server leave the outbox to the next send. */
static void
send_now(struct cli_ctx *ctx)
{
	struct send_stats st = { 0 };
	struct err e = ERR_INIT;
	int fd = lock_take(ctx->cfg->desk.lock_file, &e);

	if (fd < 0) {
		log_debug("not sending now: %s", e.msg);
		return;
	}
	if (outbound_send(ctx->cfg, ctx->store, false, &st, &e) < 0)
		log_warn("the outbox waits for the next send: %s", e.msg);
	else
		log_note("send: sent %d, deferred %d, failed %d", st.sent, st.deferred, st.failed);
	lock_release(fd);
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
	size_t b_len;

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
	crashguard_install(ctx->cfg->store.local_base);
	rc = intake_one(ing, ctx->store, source, b.data, b.len, &res, &e);
	b_len = b.len;
	buf_release(&b);
	ingest_free(&ing);
	if (rc < 0)
		return cli_fail(&e);
	log_ingested(&res, b_len);
	/* The mail is stored: indexing it is a favour to the next search,
	 * which catches up anyway (and does so while a fetch indexes). A
	 * busy index is expected with parallel pipes: not worth a log line. */
	if (res.kind != INGEST_DUPLICATE &&
	    search_index_update(ctx->store, 0, NULL, &e) < 0) {
		if (e.code == EXIT_TEMPFAIL)
			log_debug("%s", e.msg);
		else
			log_warn("%s", e.msg);
	}
	if (ctx->cfg->send.immediate && res.kind != INGEST_DUPLICATE)
		send_now(ctx);
	if (ctx->verbosity >= 0) {
		if (res.kind == INGEST_DUPLICATE)
			printf("already stored\n");
		else if (res.continues)
			printf("new ticket #%lld, follow-up of closed #%lld\n",
			       (long long)res.ticket_id, (long long)res.continues);
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
