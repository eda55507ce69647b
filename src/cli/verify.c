/* secdesk verify [--reingest] [--json]: reconciles the mailbox with the
 * store, the audit for silent loss. Lists every message on the server that the store lacks
 * (all of them, whatever [mailbox] after would skip: mail read by someone
 * else before secdesk took it shows up too), and every stored message whose
 * copy on the server was not marked done. A message offered under a key the
 * store does not know (a changed UIDVALIDITY) is downloaded and looked up by
 * its SHA-256 before it is called missing. Exit 0 when both lists are
 * empty, 65 when not, another code when the check could not run. With
 * --json the same figures and lists are one JSON document.
 *
 * With after = move:FOLDER the folder is read too: mail there was
 * processed, and the store must have it (by its bytes); what it lacks was
 * lost by a restore from a backup. --reingest stores that mail again
 * through the usual intake, once, without repeating its acknowledgement
 * and partner notice (ingest_set_replay). */
#include "compat.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <sys/stat.h>

#include "cli.h"
#include "fetch.h"
#include "ingest.h"
#include "log.h"
#include "mailurl.h"
#include "search_index.h"
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

/* ---- the folder of after = move:FOLDER ---- */

/* The URL of the folder processed mail is moved to, as each source moves
 * it (a Maildir++ subfolder, an mbox beside the inbox, an IMAP folder on
 * the same server); NULL when the source has none. */
static char *
moved_url(const struct config *cfg, struct err *e)
{
	const char *url = cfg->mailbox.conn.url, *folder = cfg->mailbox.after_folder;

	if (strncmp(url, "maildir:", 8) == 0)
		return xasprintf("%s/.%s", url, folder);
	if (strncmp(url, "mbox:", 5) == 0) {
		char *copy = xstrdup(url + 5), *dir = dirname(copy);
		char *u = folder[0] == '/' ? xasprintf("mbox:%s", folder)
					   : xasprintf("mbox:%s/%s", dir, folder);

		free(copy);
		return u;
	}
	if (strncmp(url, "imap://", 7) == 0 || strncmp(url, "imaps://", 8) == 0) {
		struct mailurl u;
		char *out;

		if (mailurl_parse(&u, url, url[4] == 's' ? 993 : 143, e) < 0)
			return NULL;
		free(u.path);
		u.path = xstrdup(folder);
		out = mailurl_format(&u, url[4] == 's' ? 993 : 143);
		mailurl_release(&u);
		return out;
	}
	err_set(e, EXIT_CONFIG, "[mailbox] after = move: not for '%s'", url);
	return NULL;
}

struct moved_check {
	struct cli_ctx *ctx;
	struct ingest *ing; /* --reingest: the intake to store with, else NULL */
	const char *source;
	json_t *list;       /* NULL: printed instead */
	long missing, reingested;
	struct err *e;
};

static int
moved_cb(void *arg, const char *key, const char *raw, size_t len)
{
	struct moved_check *mc = arg;
	struct ingest_result res;
	char hex[65];
	int r;

	sha256_hex(raw, len, hex);
	r = store_message_raw_known(mc->ctx->store, hex, mc->e);
	if (r != 0)
		return r < 0 ? 1 : 0;
	mc->missing++;
	if (mc->ing) {
		if (intake_one(mc->ing, mc->ctx->store, mc->source, raw, len, &res, mc->e) < 0)
			return 1;
		mc->reingested++;
	}
	if (mc->list) {
		json_t *o = json_pack("{s:s}", "key", key);

		if (mc->ing)
			json_object_set_new(o, "ticket", json_integer(res.ticket_id));
		json_array_append_new(mc->list, o);
	}
	else if (mc->ing)
		printf("processed, not in the store: %s %s: reingested into ticket #%lld\n",
		       cli_esc(mc->source), cli_esc(key), (long long)res.ticket_id);
	else
		printf("processed, not in the store: %s %s\n", cli_esc(mc->source), cli_esc(key));
	return 0;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A source whose listing order means nothing is taken in the order of its
 * keys (fetch does the same), so that mail is stored again in the order it
 * came: its ref is found after its key, joined by a NUL-free separator. */
static void
refs_sort_by_key(struct source_refs *all)
{
	char **pairs = xcalloc(all->keys.n ? all->keys.n : 1, sizeof(*pairs));
	size_t n = all->keys.n;

	for (size_t i = 0; i < n; i++)
		pairs[i] = xasprintf("%s%c%s", all->keys.items[i], '\001', all->refs.items[i]);
	qsort(pairs, n, sizeof(*pairs), key_cmp);
	source_refs_release(all);
	for (size_t i = 0; i < n; i++) {
		char *sep = strchr(pairs[i], '\001');

		*sep = '\0';
		source_refs_add(all, pairs[i], sep + 1);
		free(pairs[i]);
	}
	free(pairs);
}

/* Every message of the folder is read and looked up by its bytes: its key
 * there is not the one it was taken in under. */
static int
check_moved(struct moved_check *mc, const struct config *cfg)
{
	const struct source_ops *ops = source_find(cfg->mailbox.conn.url);
	struct source_refs all = SOURCE_REFS_INIT;
	struct source *src = NULL;
	int rc;

	if (!ops)
		return err_set(mc->e, EXIT_CONFIG, "no mail source for '%s'", cfg->mailbox.conn.url);
	rc = ops->open(cfg, &src, mc->e);
	if (rc != SRC_OK)
		return -1;
	mc->source = ops->id(src);
	rc = source_list_all(ops, src, &all, mc->e);
	if (rc == SRC_OK && ops->by_key)
		refs_sort_by_key(&all);
	for (size_t off = 0; rc == SRC_OK && off < all.refs.n; off += VERIFY_BATCH) {
		size_t n = all.refs.n - off < VERIFY_BATCH ? all.refs.n - off : VERIFY_BATCH;

		rc = ops->fetch(src, (const char *const *)all.refs.items + off, n, moved_cb, mc,
				mc->e);
		if (rc == SRC_MSG_BAD)
			rc = SRC_OK;
	}
	source_refs_release(&all);
	ops->close(src);
	mc->source = NULL;
	return rc == SRC_OK ? 0 : -1;
}

/* Opens the folder as a source of its own (after = keep: nothing marked).
 * A folder that is not there yet has had nothing moved to it: *checked
 * false, no error. */
static int
verify_moved(struct cli_ctx *ctx, bool reingest, json_t *list, long *missing, long *reingested,
	     bool *checked, struct err *e)
{
	struct config moved = *ctx->cfg; /* shares the strings of ctx->cfg */
	struct moved_check mc = { ctx, NULL, NULL, list, 0, 0, e };
	char *url = moved_url(ctx->cfg, e);
	struct stat st;
	int rc = -1;

	*checked = false;
	if (!url)
		return -1;
	moved.mailbox.conn.url = url;
	moved.mailbox.after = AFTER_KEEP;
	if ((strncmp(url, "maildir:", 8) == 0 || strncmp(url, "mbox:", 5) == 0) &&
	    stat(strchr(url, ':') + 1, &st) < 0 && errno == ENOENT) {
		free(url);
		return 0;
	}
	if (reingest) {
		if (ingest_open(ctx->cfg, &mc.ing, e) < 0)
			goto out;
		ingest_set_replay(mc.ing, true);
	}
	rc = check_moved(&mc, &moved);
	*checked = rc == 0;
	*missing = mc.missing;
	*reingested = mc.reingested;
	if (mc.reingested) {
		struct err ie = ERR_INIT;

		if (search_index_update(ctx->store, -1, NULL, &ie) < 0)
			log_warn("%s", ie.msg);
	}
out:
	ingest_free(&mc.ing);
	free(url);
	return rc;
}

int cmd_verify(int argc, char **argv, struct cli_ctx *ctx);

/* What verify found: the counts, and with --json the lists. */
struct verify_found {
	json_t *not_stored, *not_done, *moved_list; /* NULL without --json */
	long missing, undone, moved_missing, reingested;
	bool moved_checked;
};

static void
verify_found_release(struct verify_found *f)
{
	json_decref(f->not_stored);
	json_decref(f->not_done);
	json_decref(f->moved_list);
	f->not_stored = f->not_done = f->moved_list = NULL;
}

/* The mailbox opened as for after = keep, so that it lists every message
 * and verify marks nothing; *id its name (the caller frees it). The source
 * keeps pointing at *all: it must outlive the source. */
static int
open_whole_mailbox(struct cli_ctx *ctx, struct config *all, const struct source_ops **ops,
		   struct source **src, char **id, struct err *e)
{
	int rc;

	*ops = source_find(ctx->cfg->mailbox.conn.url);
	if (!*ops)
		return err_set(e, EXIT_CONFIG, "[mailbox] url: no mail source for '%s'",
			       ctx->cfg->mailbox.conn.url);
	/* The copy shares the strings of ctx->cfg. */
	*all = *ctx->cfg;
	all->mailbox.after = AFTER_KEEP;
	rc = (*ops)->open(all, src, e);
	if (rc != SRC_OK) {
		if (!e->code)
			e->code = rc == SRC_CONN_BAD ? EXIT_TEMPFAIL : EXIT_UNAVAILABLE;
		return -1;
	}
	*id = xstrdup((*ops)->id(*src));
	return 0;
}

/* The mailbox, the store's marks and the move folder compared. */
static int
verify_all(struct cli_ctx *ctx, bool reingest, struct verify_found *f, char **id,
	   struct err *e)
{
	const struct source_ops *ops;
	struct source *src = NULL;
	struct config all;
	int rc;

	if (open_whole_mailbox(ctx, &all, &ops, &src, id, e) < 0)
		return -1;
	rc = check_server(ctx, ops, src, &f->missing, f->not_stored, e);
	/* The mailbox stays locked (mbox) or connected only as long as needed. */
	ops->close(src);
	if (rc == 0)
		rc = check_store(ctx, *id, &f->undone, f->not_done, e);
	if (rc == 0 && ctx->cfg->mailbox.after == AFTER_MOVE)
		rc = verify_moved(ctx, reingest, f->moved_list, &f->moved_missing,
				  &f->reingested, &f->moved_checked, e);
	/* Mail stored again is no longer missing. */
	f->moved_missing -= f->reingested;
	return rc;
}

static void
print_verify_json(struct cli_ctx *ctx, const char *id, struct verify_found *f)
{
	json_t *doc = json_pack("{s:s, s:b, s:I, s:I, s:b, s:o, s:o}",
		"source", id,
		"ok", !f->missing && !f->undone && !f->moved_missing,
		"not_in_store", (json_int_t)f->missing,
		"not_marked_done", (json_int_t)f->undone,
		"marks_checked", ctx->cfg->mailbox.after != AFTER_KEEP,
		"missing", f->not_stored,
		"undone", f->not_done);

	f->not_stored = f->not_done = NULL; /* the document has them */
	/* The folder's fields only where there is one: the others' document
	 * stays as it was. */
	if (ctx->cfg->mailbox.after == AFTER_MOVE) {
		json_object_update_new(doc, json_pack("{s:s, s:b, s:I, s:I, s:o}",
			"moved_folder", ctx->cfg->mailbox.after_folder,
			"moved_checked", f->moved_checked,
			"moved_not_in_store", (json_int_t)f->moved_missing,
			"reingested", (json_int_t)f->reingested,
			"moved_missing", f->moved_list));
		f->moved_list = NULL;
	}
	cli_print_json(doc);
}

static void
print_verify_text(struct cli_ctx *ctx, const struct verify_found *f)
{
	const char *folder = ctx->cfg->mailbox.after_folder;

	printf("on the server, not in the store: %ld; stored, not marked done: %ld\n",
	       f->missing, f->undone);
	if (ctx->cfg->mailbox.after != AFTER_MOVE)
		return;
	if (f->moved_checked)
		printf("processed into %s, not in the store: %ld%s; reingested: %ld\n",
		       cli_esc(folder), f->moved_missing,
		       f->moved_missing ? " (secdesk verify --reingest stores them again)" : "",
		       f->reingested);
	else
		printf("processed into %s: the folder is not there yet, nothing to check\n",
		       cli_esc(folder));
}

int
cmd_verify(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "reingest", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct verify_found f = { 0 };
	struct err e = ERR_INIT;
	bool json = false, reingest = false;
	char *id = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'r')
			reingest = true;
		else
			return cli_usage(argv[0]);
	}
	if (optind != argc)
		return cli_usage(argv[0]);
	if (config_need_mailbox(ctx->cfg, &e) < 0)
		return cli_fail(&e);
	if (reingest && ctx->cfg->mailbox.after != AFTER_MOVE) {
		cli_error("verify --reingest: needs [mailbox] after = move:FOLDER, where processed"
			  " mail is kept (mail still in the inbox is taken by the next run)");
		return EXIT_USAGE;
	}
	if (json) {
		f.not_stored = json_array();
		f.not_done = json_array();
		f.moved_list = json_array();
	}
	if (verify_all(ctx, reingest, &f, &id, &e) < 0) {
		free(id);
		verify_found_release(&f);
		if (!e.code)
			e.code = EXIT_TEMPFAIL;
		return cli_fail(&e);
	}
	if (json)
		print_verify_json(ctx, id, &f);
	else
		print_verify_text(ctx, &f);
	free(id);
	verify_found_release(&f);
	rc = f.missing || f.undone || f.moved_missing ? EXIT_DATAERR : EXIT_OK;
	return rc;
}
