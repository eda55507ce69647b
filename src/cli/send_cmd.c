/* secdesk send [--now]: delivers the outbox (what is due, or with --now
 * everything pending, like postqueue -f), under the run lock so that no
 * mail goes out twice from two processes. */
#include "compat.h"

#include <getopt.h>

#include "cli.h"
#include "lock.h"
#include "log.h"
#include "outbound.h"

int cmd_send(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_send(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "now", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct send_stats st = { 0 };
	struct err e = ERR_INIT;
	bool now = false;
	int c, fd, rc = EXIT_OK;
	int64_t breaker;

	while ((c = getopt_long(argc, argv, "n", opts, NULL)) != -1) {
		if (c != 'n')
			return cli_usage(argv[0]);
		now = true;
	}
	if (optind != argc)
		return cli_usage(argv[0]);
	fd = lock_take(ctx->cfg->desk.lock_file, &e);
	if (fd < 0)
		return cli_fail(&e);
	if (outbound_send(ctx->cfg, ctx->store, now, &st, &e) < 0)
		rc = cli_fail(&e);
	lock_release(fd);
	if (ctx->verbosity >= 0 && (st.sent || st.deferred || st.failed || rc == EXIT_OK))
		printf("sent %d, deferred %d, failed %d\n", st.sent, st.deferred, st.failed);
	log_note("send: sent %d, deferred %d, failed %d%s", st.sent, st.deferred, st.failed,
		 rc == EXIT_OK ? "" : " (stopped early)");
	if (st.rcpts_rejected || st.rcpts_deferred)
		log_warn("%d recipient(s) refused for good, %d to retry, of mail sent to the "
			 "others: see 'secdesk outbox'", st.rcpts_rejected, st.rcpts_deferred);
	if (st.failed)
		log_warn("%d mail(s) failed for good: see 'secdesk outbox'", st.failed);
	breaker = outbound_breaker_since(ctx->store);
	if (breaker)
		log_warn("automatic mail was stopped by the hourly limit ([ack] hourly_limit)");
	return rc;
}
