/* secdesk verify: reconciles the mailbox with the store, the audit for
 * silent loss. Lists every message on the server that the store lacks
 * (for IMAP every UID, \Seen or not, so that mail read by someone else
 * before secdesk took it shows up too), and every stored message whose copy
 * on the server was not marked done ([mailbox] after). Exit 0 when both
 * lists are empty, 65 when not, another code when the check could not run. */
#include "compat.h"

#include "cli.h"
#include "source.h"
#include "source_imap.h"
#include "xalloc.h"

static int
in_store(struct store *s, const char *source_id, const char *key, struct err *e)
{
	sqlite3_stmt *q = store_prepare(s, "SELECT 1 FROM intake WHERE source = ? AND key = ?", e);
	int r;

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, source_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	r = sqlite3_step(q);
	sqlite3_reset(q);
	if (r == SQLITE_ROW)
		return 1;
	if (r == SQLITE_DONE)
		return 0;
	return store_error(s, e, "cannot read intake");
}

/* Messages on the server the store lacks. */
static int
check_server(struct cli_ctx *ctx, const struct source_ops *ops, struct source *src,
	     long *missing, struct err *e)
{
	const char *id = ops->id(src);
	const char *url = ctx->cfg->mailbox.conn.url;

	if (strncmp(url, "imap://", 7) == 0 || strncmp(url, "imaps://", 8) == 0) {
		struct imap_conn *c = NULL;
		uint32_t *uids = NULL;
		unsigned char *seen = NULL;
		size_t n = 0;
		int rc = imap_conn_open(ctx->cfg, &c, e);

		if (rc == SRC_OK)
			rc = imap_conn_uids(c, &uids, &seen, &n, e);
		for (size_t i = 0; rc == SRC_OK && i < n; i++) {
			char key[32];
			int r;

			snprintf(key, sizeof(key), "%u/%u", imap_conn_uidvalidity(c), uids[i]);
			r = in_store(ctx->store, id, key, e);
			if (r < 0)
				rc = -1;
			else if (r == 0) {
				printf("not in the store: %s %s%s\n", id, key, seen[i] ? " (seen)" : "");
				(*missing)++;
			}
		}
		free(uids);
		free(seen);
		imap_conn_free(&c);
		return rc == SRC_OK ? 0 : -1;
	}
	{
		struct strlist keys = STRLIST_INIT;
		int rc = ops->list(src, &keys, e);

		for (size_t i = 0; rc == SRC_OK && i < keys.n; i++) {
			int r = in_store(ctx->store, id, keys.items[i], e);

			if (r < 0)
				rc = -1;
			else if (r == 0) {
				printf("not in the store: %s %s\n", id, keys.items[i]);
				(*missing)++;
			}
		}
		strlist_release(&keys);
		return rc == SRC_OK ? 0 : -1;
	}
}

/* Stored messages whose source copy was not marked done. */
static int
check_store(struct cli_ctx *ctx, const char *id, long *undone, struct err *e)
{
	sqlite3_stmt *q;
	int r;

	if (ctx->cfg->mailbox.after == AFTER_KEEP)
		return 0;
	q = store_prepare(ctx->store, "SELECT key, state FROM intake WHERE source = ? AND done = 0 "
			  "ORDER BY id", e);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		printf("not marked done: %s %s (%s)\n", id, (const char *)sqlite3_column_text(q, 0),
		       (const char *)sqlite3_column_text(q, 1));
		(*undone)++;
	}
	sqlite3_reset(q);
	if (r != SQLITE_DONE)
		return store_error(ctx->store, e, "cannot read intake");
	return 0;
}

int cmd_verify(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_verify(int argc, char **argv, struct cli_ctx *ctx)
{
	const struct source_ops *ops;
	struct source *src = NULL;
	struct err e = ERR_INIT;
	long missing = 0, undone = 0;
	char *id;
	int rc;

	if (argc > 1)
		return cli_usage(argv[0]);
	ops = source_find(ctx->cfg->mailbox.conn.url);
	if (!ops) {
		err_set(&e, EXIT_CONFIG, "[mailbox] url: no mail source for '%s'",
			ctx->cfg->mailbox.conn.url);
		return cli_fail(&e);
	}
	rc = ops->open(ctx->cfg, &src, &e);
	if (rc != SRC_OK) {
		if (!e.code)
			e.code = rc == SRC_CONN_BAD ? EXIT_TEMPFAIL : EXIT_UNAVAILABLE;
		return cli_fail(&e);
	}
	id = xstrdup(ops->id(src));
	rc = check_server(ctx, ops, src, &missing, &e);
	/* The mailbox stays locked (mbox) or connected only as long as needed. */
	ops->close(src);
	if (rc == 0)
		rc = check_store(ctx, id, &undone, &e);
	free(id);
	if (rc < 0) {
		if (!e.code)
			e.code = EXIT_TEMPFAIL;
		return cli_fail(&e);
	}
	printf("on the server, not in the store: %ld; stored, not marked done: %ld\n", missing,
	       undone);
	return missing || undone ? EXIT_DATAERR : EXIT_OK;
}
