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
nap(int seconds)
{
	for (int i = 0; i < seconds * 10 && !stop_requested; i++)
		usleep(100000);
}

/* One fetch + send pass. Returns 0, or the exit code of a failure. */
static int
pass(struct cli_ctx *ctx, struct ingest *ing)
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

int cmd_watch(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_watch(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "idle", required_argument, NULL, 'i' },
		{ "poll", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa;
	struct ingest *ing = NULL;
	struct imap_conn *conn = NULL;
	struct err e = ERR_INIT;
	int idle_s = WATCH_IDLE_DEFAULT, poll_s = WATCH_POLL_DEFAULT;
	int backoff = WATCH_BACKOFF_MIN, c, rc = EXIT_OK;
	bool imap = is_imap(ctx->cfg->mailbox.conn.url);

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		long v;

		if (c != 'i' && c != 'p')
			return cli_usage(argv[0]);
		v = strtol(optarg, &end, 10);
		if (*end || v < 1 || v > 29 * 60)
			return cli_usage(argv[0]);
		if (c == 'i')
			idle_s = (int)v;
		else
			poll_s = (int)v;
	}
	if (optind != argc)
		return cli_usage(argv[0]);
	if (config_need_mailbox(ctx->cfg, &e) < 0 || ingest_open(ctx->cfg, &ing, &e) < 0)
		return cli_fail(&e);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the signal must end a wait in poll(). */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	crashguard_install(ctx->cfg->store.path);
	if (ctx->verbosity >= 0)
		log_info("watching %s", ctx->cfg->mailbox.conn.url);
	while (!stop_requested) {
		int r;

		/* The IDLE connection is opened before the pass, so that mail
		 * arriving during the pass is announced to it. */
		if (imap && !conn) {
			err_clear(&e);
			if (imap_conn_open(ctx->cfg, &conn, &e) != SRC_OK) {
				if (e.code == EXIT_CONFIG) {
					cli_fail(&e);
					rc = EXIT_CONFIG;
					break;
				}
				log_warn("%s; retrying in %d s", e.msg, backoff);
				nap(backoff);
				backoff = backoff * 2 > WATCH_BACKOFF_MAX ? WATCH_BACKOFF_MAX
									 : backoff * 2;
				continue;
			}
		}
		r = pass(ctx, ing);
		if (r == EXIT_CONFIG) {
			rc = r;
			break;
		}
		if (r != 0) {
			log_info("retrying in %d s", backoff);
			imap_conn_free(&conn);
			nap(backoff);
			backoff = backoff * 2 > WATCH_BACKOFF_MAX ? WATCH_BACKOFF_MAX : backoff * 2;
			continue;
		}
		backoff = WATCH_BACKOFF_MIN;
		if (!imap) {
			nap(poll_s);
			continue;
		}
		err_clear(&e);
		r = imap_conn_idle(conn, idle_s, &e);
		if (r < 0) {
			log_warn("%s; reconnecting", e.msg);
			imap_conn_free(&conn);
		}
	}
	imap_conn_free(&conn);
	ingest_free(&ing);
	if (ctx->verbosity >= 0 && rc == EXIT_OK)
		log_info("watch stopped");
	return rc;
}
