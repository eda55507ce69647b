/* secdesk run / fetch: the cron job, under the run lock. */
#include "compat.h"

#include <getopt.h>
#include <unistd.h>

#include "cli.h"
#include "crashguard.h"
#include "fetch.h"
#include "ingest.h"
#include "lock.h"
#include "log.h"
#include "outbound.h"
#include "store_intake.h"
#include "outage.h"

static void
summary(const struct fetch_stats *st, int released, const struct send_stats *ss, bool sent,
	int errors)
{
	printf("fetched %d, new tickets %d, follow-ups %d, duplicates %d, flagged %d",
	       st->fetched, st->new_tickets, st->followups, st->duplicates, st->flagged);
	if (st->problems)
		printf(" (processing errors %d)", st->problems);
	printf(", poison %d, acks queued %d, acks suppressed %d, partner notices %d",
	       st->poison, st->acks_queued, st->acks_suppressed, st->notices_queued);
	if (st->template_fallbacks || st->held || released)
		printf(", template errors: %d sent with a fallback template, %d held, "
		       "%d released", st->template_fallbacks, st->held, released);
	if (sent)
		printf(", sent %d, deferred %d, failed %d", ss->sent, ss->deferred, ss->failed);
	printf(", errors %d\n", errors);
}

/* A progress line for long fetches, on a terminal only. */
static void
show_progress(void *arg, size_t done, size_t total)
{
	(void)arg;
	fprintf(stderr, "\rsecdesk: %zu of %zu new messages stored", done, total);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* Shared by run and fetch: with_send says whether the outbox goes out too. */
static int
run_job(int argc, char **argv, struct cli_ctx *ctx, bool with_send)
{
	struct fetch_stats st = { 0 };
	struct send_stats ss = { 0 };
	struct ingest *ing = NULL;
	struct err e = ERR_INIT, se = ERR_INIT;
	int lock_fd, rc = EXIT_OK, errors = 0, released = 0;

	if (argc > 1)
		return cli_usage(argv[0]);
	/* Rules and templates are checked before any mail is touched. */
	if (ingest_open(ctx->cfg, &ing, &e) < 0)
		return cli_fail(&e);
	lock_fd = lock_take(ctx->cfg->desk.lock_file, &e);
	/* The lock file keeps this host's runs apart; a store that hosts
	 * share keeps theirs apart too. */
	if (lock_fd >= 0 && store_mailbox_lock(ctx->store, &e) < 0) {
		lock_release(lock_fd);
		lock_fd = -1;
	}
	if (lock_fd < 0) {
		ingest_free(&ing);
		return cli_fail(&e);
	}
	crashguard_install(ctx->cfg->store.local_base);
	if (ctx->verbosity >= 0 && isatty(STDERR_FILENO))
		fetch_set_progress(show_progress, NULL);
	/* Mail held for a broken template goes once its template works. */
	if (ingest_release_held(ing, ctx->store, &released, &st.held, &e) < 0) {
		cli_fail(&e);
		err_clear(&e);
		errors++;
	}
	/* A desk fed by an MTA pipe has no mailbox: its run only sends. */
	if ((ctx->cfg->mailbox.conn.url || !with_send) &&
	    fetch_run(ctx->cfg, ctx->store, ing, &st, &e) < 0) {
		/* A store server gone is no mailbox outage, and nothing can be sent. */
		if (store_lost(ctx->store)) {
			cli_fail(&e);
			with_send = false;
		} else {
			outage_mailbox_failed(ctx, &e);
		}
		rc = e.code ? e.code : EXIT_SOFTWARE;
		errors++;
	} else if (ctx->cfg->mailbox.conn.url) {
		outage_mailbox_ok(ctx);
	}
	if (st.skipped) {
		log_warn("%d message(s) could not be read and were left in the mailbox: %s",
			 st.skipped, st.skip_note);
		errors += st.skipped;
	}
	/* What was stored gets its mail even when the mailbox went away. */
	if (with_send && outbound_send(ctx->cfg, ctx->store, false, &ss, &se) < 0) {
		cli_fail(&se);
		errors++;
		if (rc == EXIT_OK)
			rc = se.code ? se.code : EXIT_TEMPFAIL;
	}
	if (ctx->verbosity >= 0)
		summary(&st, released, &ss, with_send, errors);
	log_note("%s: fetched %d, new tickets %d, follow-ups %d, flagged %d, sent %d, "
		 "deferred %d, failed %d, errors %d", argv[0], st.fetched, st.new_tickets,
		 st.followups, st.flagged, ss.sent, ss.deferred, ss.failed, errors);
	log_debug("stage times: source %.2f s, parser wait %.2f s, store %.2f s, commit %.2f s, "
		  "mark done %.2f s, index wait %.2f s",
		  st.times.source, st.times.parse_wait, st.times.store,
		  st.times.commit, st.times.mark_done, st.times.index_wait);
	if (st.held)
		log_warn("%d mail(s) held in the outbox: no template works for them; fix the "
			 "templates ('secdesk templates check') and the next run sends them",
			 st.held);
	if (st.problems)
		log_warn("%d step(s) of processing failed for single messages, which were "
			 "stored and flagged processing-error: see 'secdesk list'", st.problems);
	else if (st.flagged && ctx->verbosity >= 0)
		log_info("%d message(s) flagged for staff: see 'secdesk list'", st.flagged);
	if (rc == EXIT_OK && st.skipped)
		rc = EXIT_DATAERR;
	store_mailbox_unlock(ctx->store);
	lock_release(lock_fd);
	ingest_free(&ing);
	return rc;
}

int cmd_run(int argc, char **argv, struct cli_ctx *ctx);
int cmd_fetch(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_run(int argc, char **argv, struct cli_ctx *ctx)
{
	return run_job(argc, argv, ctx, true);
}

int
cmd_fetch(int argc, char **argv, struct cli_ctx *ctx)
{
	return run_job(argc, argv, ctx, false);
}
