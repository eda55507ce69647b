/* secdesk watch: stay connected to the IMAP mailbox with IDLE and fetch,
 * process and acknowledge mail as it arrives, reconnecting with back-off.
 * Each pass is an ordinary fetch + send under the run lock, so a cron run
 * and watch never overlap and share every guarantee of fetch_run(). For a
 * source without IDLE (POP3, Maildir, mbox) it polls. */
#include "compat.h"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include "cli.h"
#include "crashguard.h"
#include "fetch.h"
#include "ingest.h"
#include "lock.h"
#include "log.h"
#include "outbound.h"
#include "source_imap.h"
#include "store_intake.h"

#define WATCH_BACKOFF_MIN 2
#define WATCH_BACKOFF_MAX 300
/* RFC 2177: re-issue IDLE at least every 29 minutes. */
#define WATCH_IDLE_DEFAULT (25 * 60)
#define WATCH_POLL_DEFAULT 60

static volatile sig_atomic_t stop_requested;

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Sleeps up to seconds, waking early on a stop request. */
static void
sleep_unless_stopped(int seconds)
{
	for (int i = 0; i < seconds * 10 && !stop_requested; i++)
		usleep(100000);
}

/* One fetch + send pass. Returns 0, or the exit code of a failure. */
static int
fetch_and_send(struct cli_ctx *ctx, struct ingest *ing)
{
	struct fetch_stats st = { 0 };
	struct send_stats ss = { 0 };
	struct err e = ERR_INIT;
	int lock_fd, rc = 0, released = 0, held = 0;

	lock_fd = lock_take(ctx->cfg->desk.lock_file, &e);
	if (lock_fd >= 0 && store_mailbox_lock(ctx->store, &e) < 0) {
		lock_release(lock_fd);
		lock_fd = -1;
	}
	if (lock_fd < 0) {
		log_info("%s: waiting", e.msg);
		return EXIT_TEMPFAIL;
	}
	/* Mail held for a broken template (templates are read at the start). */
	if (ingest_release_held(ing, ctx->store, &released, &held, &e) < 0)
		log_warn("%s", e.msg);
	err_clear(&e);
	if (fetch_run(ctx->cfg, ctx->store, ing, &st, &e) < 0) {
		log_warn("%s", e.msg);
		rc = e.code ? e.code : EXIT_SOFTWARE;
	}
	if (st.skipped)
		log_warn("%d message(s) could not be read and were left in the mailbox: %s",
			 st.skipped, st.skip_note);
	err_clear(&e);
	if (outbound_send(ctx->cfg, ctx->store, false, &ss, &e) < 0)
		log_warn("%s", e.msg);
	store_mailbox_unlock(ctx->store);
	lock_release(lock_fd);
	if (st.fetched && ctx->verbosity >= 0) {
		printf("fetched %d, new tickets %d, follow-ups %d, duplicates %d, acks queued %d, "
		       "sent %d\n", st.fetched, st.new_tickets, st.followups, st.duplicates,
		       st.acks_queued, ss.sent);
		fflush(stdout);
	}
	return rc;
}

static bool
is_imap(const char *url)
{
	return url && (strncmp(url, "imap://", 7) == 0 || strncmp(url, "imaps://", 8) == 0);
}

/* What watch keeps from one round to the next. */
struct watch {
	struct cli_ctx *ctx;
	struct ingest *ing;
	struct imap_conn *conn; /* the IDLE connection; NULL: none open */
	bool imap;              /* the mailbox is IMAP: wait with IDLE, else poll */
	int idle_s, poll_s;
	int backoff;            /* seconds to wait after the next failure */
};

static void
back_off(struct watch *w)
{
	sleep_unless_stopped(w->backoff);
	w->backoff = w->backoff * 2 > WATCH_BACKOFF_MAX ? WATCH_BACKOFF_MAX : w->backoff * 2;
}

/* --idle SECONDS and --poll SECONDS; -1 for a usage error. */
static int
parse_watch_options(int argc, char **argv, struct watch *w)
{
	static const struct option opts[] = {
		{ "idle", required_argument, NULL, 'i' },
		{ "poll", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		long seconds;

		if (c != 'i' && c != 'p')
			return -1;
		seconds = strtol(optarg, &end, 10);
		if (*end || seconds < 1 || seconds > 29 * 60)
			return -1;
		if (c == 'i')
			w->idle_s = (int)seconds;
		else
			w->poll_s = (int)seconds;
	}
	return optind == argc ? 0 : -1;
}

static void
install_stop_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the signal must end a wait in poll(). */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* One round: (re)connect for IDLE, a pass, then wait for mail or the next
 * poll. 0 to go on, EXIT_CONFIG to stop. */
static int
watch_round(struct watch *w)
{
	struct err e = ERR_INIT;
	int rc;

	/* The IDLE connection is opened before the pass, so that mail
	 * arriving during the pass is announced to it. */
	if (w->imap && !w->conn && imap_conn_open(w->ctx->cfg, &w->conn, &e) != SRC_OK) {
		if (e.code == EXIT_CONFIG) {
			cli_fail(&e);
			return EXIT_CONFIG;
		}
		log_warn("%s; retrying in %d s", e.msg, w->backoff);
		back_off(w);
		return 0;
	}
	rc = fetch_and_send(w->ctx, w->ing);
	if (rc == EXIT_CONFIG)
		return rc;
	if (rc != 0) {
		log_info("retrying in %d s", w->backoff);
		imap_conn_free(&w->conn);
		back_off(w);
		return 0;
	}
	w->backoff = WATCH_BACKOFF_MIN;
	if (!w->imap) {
		sleep_unless_stopped(w->poll_s);
		return 0;
	}
	if (imap_conn_idle(w->conn, w->idle_s, &e) < 0) {
		log_warn("%s; reconnecting", e.msg);
		imap_conn_free(&w->conn);
	}
	return 0;
}

int cmd_watch(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_watch(int argc, char **argv, struct cli_ctx *ctx)
{
	struct watch w = {
		.ctx = ctx, .imap = is_imap(ctx->cfg->mailbox.conn.url),
		.idle_s = WATCH_IDLE_DEFAULT, .poll_s = WATCH_POLL_DEFAULT,
		.backoff = WATCH_BACKOFF_MIN,
	};
	struct err e = ERR_INIT;
	int rc = EXIT_OK;

	if (parse_watch_options(argc, argv, &w) < 0)
		return cli_usage(argv[0]);
	if (config_need_mailbox(ctx->cfg, &e) < 0 || ingest_open(ctx->cfg, &w.ing, &e) < 0)
		return cli_fail(&e);
	install_stop_handlers();
	crashguard_install(ctx->cfg->store.local_base);
	if (ctx->verbosity >= 0)
		log_info("watching %s", ctx->cfg->mailbox.conn.url);
	while (!stop_requested && rc == EXIT_OK)
		rc = watch_round(&w);
	imap_conn_free(&w.conn);
	ingest_free(&w.ing);
	if (ctx->verbosity >= 0 && rc == EXIT_OK)
		log_info("watch stopped");
	return rc;
}
