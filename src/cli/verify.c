/* secdesk verify: reconciles the mailbox with the store, the audit for
 * silent loss. Lists every message on the server that the store lacks
 * (all of them, whatever [mailbox] after would skip: mail read by someone
 * else before secdesk took it shows up too), and every stored message whose
 * copy on the server was not marked done. A message offered under a key the
 * store does not know (a changed UIDVALIDITY) is downloaded and looked up by
 * its SHA-256 before it is called missing. Exit 0 when both lists are
 * empty, 65 when not, another code when the check could not run. With
 * --json the same figures and lists are one JSON document. */
#include "compat.h"

#include <getopt.h>

#include "cli.h"
#include "ingest.h"
#include "sha256.h"
#include "source.h"
#include "source_imap.h"
#include "xalloc.h"

#define VERIFY_BATCH 100

struct lookup {
	struct store *s;
	struct strlist *stored; /* keys whose bytes the store holds */
	struct err *e;
};

static int
lookup_cb(void *arg, const char *key, const char *raw, size_t len)
{
	struct lookup *l = arg;
	char hex[65];
	int r;

	sha256_hex(raw, len, hex);
	r = store_message_raw_known(l->s, hex, l->e);
	if (r < 0)
		return 1;
	if (r == 1)
		strlist_add(l->stored, key);
	return 0;
}

/* \Seen flags by key, for IMAP: says which missing mail was read elsewhere. */
static void
imap_seen(const struct config *cfg, struct strlist *seen_keys)
{
	struct imap_conn *c = NULL;
	struct err e = ERR_INIT;
	uint32_t *uids = NULL;
	unsigned char *seen = NULL;
	size_t n = 0;

	if (imap_conn_open(cfg, &c, &e) == SRC_OK && imap_conn_uids(c, &uids, &seen, &n, &e) == SRC_OK)
		for (size_t i = 0; i < n; i++)
			if (seen[i])
				strlist_add_owned(seen_keys, xasprintf("%u/%u", imap_conn_uidvalidity(c),
								       uids[i]));
	free(uids);
	free(seen);
	imap_conn_free(&c);
}

/* Messages on the server the store lacks. */
static int
check_server(struct cli_ctx *ctx, const struct source_ops *ops, struct source *src,
	     long *missing, json_t *list, struct err *e)
{
	struct source_refs all = SOURCE_REFS_INIT, unknown = SOURCE_REFS_INIT;
	struct strlist stored = STRLIST_INIT, seen = STRLIST_INIT;
	struct lookup l = { ctx->store, &stored, e };
	const char *id = ops->id(src);
	const char *url = ctx->cfg->mailbox.conn.url;
	int rc = source_list_all(ops, src, &all, e);

	for (size_t i = 0; rc == SRC_OK && i < all.keys.n; i++) {
		int r = store_message_intake_known(ctx->store, id, all.keys.items[i], e);

		if (r < 0)
			rc = -1;
		else if (r == 0)
			source_refs_add(&unknown, all.keys.items[i], all.refs.items[i]);
	}
	for (size_t off = 0; rc == SRC_OK && off < unknown.keys.n; off += VERIFY_BATCH) {
		size_t n = unknown.keys.n - off < VERIFY_BATCH ? unknown.keys.n - off : VERIFY_BATCH;

		rc = ops->fetch(src, (const char *const *)unknown.refs.items + off, n, lookup_cb,
				&l, e);
		if (rc == SRC_MSG_BAD) /* unreadable: it stays listed as missing */
			rc = SRC_OK;
	}
	if (rc == SRC_OK && unknown.keys.n > stored.n &&
	    (strncmp(url, "imap://", 7) == 0 || strncmp(url, "imaps://", 8) == 0))
		imap_seen(ctx->cfg, &seen);
	for (size_t i = 0; rc == SRC_OK && i < unknown.keys.n; i++) {
		if (strlist_contains(&stored, unknown.keys.items[i]))
			continue;
		if (list)
			json_array_append_new(list, json_pack("{s:s, s:b}", "key", unknown.keys.items[i],
				"seen", strlist_contains(&seen, unknown.keys.items[i])));
		else
			printf("not in the store: %s %s%s\n", cli_esc(id), cli_esc(unknown.keys.items[i]),
			       strlist_contains(&seen, unknown.keys.items[i]) ? " (seen)" : "");
		(*missing)++;
	}
	source_refs_release(&all);
	source_refs_release(&unknown);
	strlist_release(&stored);
	strlist_release(&seen);
	return rc == SRC_OK ? 0 : -1;
}

struct undone_listing {
	const char *source;
	json_t *list; /* NULL: printed instead */
	long *undone;
};

static int
list_undone(void *arg, const char *key, const char *state)
{
	struct undone_listing *ul = arg;

	if (ul->list)
		json_array_append_new(ul->list, json_pack("{s:s?, s:s?}", "key", key,
							  "state", state));
	else
		printf("not marked done: %s %s (%s)\n", cli_esc(ul->source), cli_esc(key),
		       cli_esc(state));
	(*ul->undone)++;
	return 0;
}

/* Stored messages whose source copy was not marked done. */
static int
check_store(struct cli_ctx *ctx, const char *id, long *undone, json_t *list, struct err *e)
{
	struct undone_listing ul = { id, list, undone };

	if (ctx->cfg->mailbox.after == AFTER_KEEP)
		return 0;
	return store_message_each_undone_intake(ctx->store, id, list_undone, &ul, e);
}

int cmd_verify(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_verify(int argc, char **argv, struct cli_ctx *ctx)
{
	const struct source_ops *ops;
	struct source *src = NULL;
	struct config all;
	struct err e = ERR_INIT;
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *not_stored = NULL, *not_done = NULL;
	long missing = 0, undone = 0;
	bool json = false;
	char *id;
	int rc, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return cli_usage(argv[0]);
		json = true;
	}
	if (optind != argc)
		return cli_usage(argv[0]);
	if (config_need_mailbox(ctx->cfg, &e) < 0)
		return cli_fail(&e);
	ops = source_find(ctx->cfg->mailbox.conn.url);
	if (!ops) {
		err_set(&e, EXIT_CONFIG, "[mailbox] url: no mail source for '%s'",
			ctx->cfg->mailbox.conn.url);
		return cli_fail(&e);
	}
	/* The source opened as for after = keep lists every message, and
	 * verify marks nothing. The copy shares the strings of ctx->cfg. */
	all = *ctx->cfg;
	all.mailbox.after = AFTER_KEEP;
	rc = ops->open(&all, &src, &e);
	if (rc != SRC_OK) {
		if (!e.code)
			e.code = rc == SRC_CONN_BAD ? EXIT_TEMPFAIL : EXIT_UNAVAILABLE;
		return cli_fail(&e);
	}
	id = xstrdup(ops->id(src));
	if (json) {
		not_stored = json_array();
		not_done = json_array();
	}
	rc = check_server(ctx, ops, src, &missing, not_stored, &e);
	/* The mailbox stays locked (mbox) or connected only as long as needed. */
	ops->close(src);
	if (rc == 0)
		rc = check_store(ctx, id, &undone, not_done, &e);
	if (rc < 0) {
		free(id);
		json_decref(not_stored);
		json_decref(not_done);
		if (!e.code)
			e.code = EXIT_TEMPFAIL;
		return cli_fail(&e);
	}
	if (json) {
		cli_print_json(json_pack("{s:s, s:b, s:I, s:I, s:b, s:o, s:o}",
			"source", id,
			"ok", !missing && !undone,
			"not_in_store", (json_int_t)missing,
			"not_marked_done", (json_int_t)undone,
			"marks_checked", ctx->cfg->mailbox.after != AFTER_KEEP,
			"missing", not_stored,
			"undone", not_done));
		free(id);
		return missing || undone ? EXIT_DATAERR : EXIT_OK;
	}
	free(id);
	printf("on the server, not in the store: %ld; stored, not marked done: %ld\n", missing,
	       undone);
	return missing || undone ? EXIT_DATAERR : EXIT_OK;
}
