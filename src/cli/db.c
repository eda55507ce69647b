/* secdesk db init | check [--json] | backup FILE | reindex | copy --to LOCATION */
#include "compat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "filemode.h"
#include "search_index.h"
#include "store.h"
#include "store_copy.h"
#include "xalloc.h"

int cmd_db(int argc, char **argv, struct cli_ctx *ctx);

static int
integrity_add(void *arg, const char *problem)
{
	json_array_append_new(arg, json_string(problem));
	return 0;
}

static int
dangling_add(void *arg, const struct store_dangling_ref *ref)
{
	json_array_append_new(arg, json_pack("{s:s?, s:I, s:s?, s:I}", "table", ref->table,
					     "rowid", (json_int_t)ref->rowid, "parent",
					     ref->parent, "fkid", (json_int_t)ref->ref));
	return 0;
}

/* The search index: derived from the store and rebuilt from it when
 * damaged, so what is wrong with it is reported, never the store's
 * verdict. */
struct index_state {
	char *path;
	bool ok;
	bool stale; /* another store's, or this one's before a restore */
	int64_t upto, pending;
	char *problem;
};

static void
db_index_state(struct store *s, struct index_state *st)
{
	struct err e = ERR_INIT;
	bool current = true;

	memset(st, 0, sizeof(*st));
	/* PostgreSQL keeps the index in the store (messages.search_words). */
	st->path = strcmp(store_backend(s), "postgresql") == 0
			   ? xasprintf("%.*s (messages.search_words)",
				       (int)strcspn(store_path(s), "?"), store_path(s))
			   : search_index_path(store_path(s));
	if (search_index_status(s, &st->upto, &st->pending, &e) < 0 ||
	    store_search_index_check(s, &e) < 0 || search_index_current(s, &current, &e) < 0) {
		st->problem = xstrdup(e.msg);
		return;
	}
	if (!current) {
		st->stale = true;
		st->problem = xstrdup("stale: it does not belong to this store (another store's, or"
				      " this store's before it was restored from a backup)");
		return;
	}
	st->ok = true;
}

static void
db_index_state_release(struct index_state *st)
{
	free(st->path);
	free(st->problem);
}

/* *stale (may be NULL) is set when the index is another store's. */
static json_t *
db_index_json(struct store *s, bool *stale)
{
	struct index_state st;
	json_t *o;

	db_index_state(s, &st);
	o = json_pack("{s:s, s:b, s:b, s:I, s:I, s:s?}", "path", st.path, "ok", st.ok,
		      "stale", st.stale, "indexed_upto", (json_int_t)st.upto,
		      "pending", (json_int_t)st.pending, "error", st.problem);
	if (stale)
		*stale = st.stale;
	db_index_state_release(&st);
	return o;
}

/* Whether the index is stale: the store's verdict stays ok, but check
 * fails, since search would answer from another store's mail until the
 * index is built again. */
static bool
db_index_print(struct store *s)
{
	struct index_state st;
	bool stale;

	db_index_state(s, &st);
	stale = st.stale;
	if (st.stale)
		cli_error("search index %s: %s: run 'secdesk db reindex'", st.path, st.problem);
	else if (st.ok)
		printf("search index %s: ok, %lld messages waiting to be indexed\n", st.path,
		       (long long)st.pending);
	else
		printf("search index %s: %s (it is rebuilt from the store by the next search,"
		       " or by 'secdesk db reindex')\n", st.path, st.problem);
	db_index_state_release(&st);
	return stale;
}

/* ---- file modes: the desk's files readable by more than filemode.h allows */

struct mode_check {
	const char *group; /* [store] group, NULL when unset */
	json_t *found;     /* [{path, mode, group, expected, fix}] */
	size_t outbox_loose;
	struct buf fix;
};

static void
mode_check_one(struct mode_check *mc, const char *path, bool in_outbox)
{
	struct stat st;
	struct group *g;
	mode_t want;
	char mode[8], expected[8], gid[24];
	const char *group;

	if (lstat(path, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) ||
	    !filemode_too_loose(&st, path, &want, &mc->fix))
		return;
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
	snprintf(expected, sizeof(expected), "%04o", (unsigned)want);
	g = getgrgid(st.st_gid);
	snprintf(gid, sizeof(gid), "%ld", (long)st.st_gid);
	group = g ? g->gr_name : gid;
	json_array_append_new(mc->found, json_pack("{s:s, s:s, s:s, s:s, s:s}", "path", path,
						   "mode", mode, "group", group, "expected",
						   expected, "fix", buf_cstr(&mc->fix)));
	/* The outbox's mails are summed up in one line below. */
	if (in_outbox) {
		mc->outbox_loose++;
		return;
	}
	if (mc->group)
		cli_error("warning: '%s' has mode %s and group %s, looser than %s for group %s:"
			  " run %s", path, mode, group, expected, mc->group, buf_cstr(&mc->fix));
	else
		cli_error("warning: '%s' has mode %s, looser than %s: run %s", path, mode,
			  expected, buf_cstr(&mc->fix));
}

/* The store's files (store_files: the database, the search index and the
 * files beside them), the run lock, and the outbox folder of a dir:
 * transport with its mails. */
static json_t *
db_file_modes(const struct config *cfg)
{
	struct mode_check mc = { cfg->store.group, json_array(), 0, BUF_INIT };
	struct strlist files = STRLIST_INIT;

	store_files(cfg->store.location, &files);
	for (size_t i = 0; i < files.n; i++)
		mode_check_one(&mc, files.items[i], false);
	strlist_release(&files);
	mode_check_one(&mc, cfg->desk.lock_file, false);
	if (strncmp(cfg->send.conn.url, "dir:", 4) == 0) {
		const char *dir = cfg->send.conn.url + 4;
		DIR *d = opendir(dir);
		struct dirent *de;

		mode_check_one(&mc, dir, false);
		while (d && (de = readdir(d))) {
			char *p;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			p = xasprintf("%s/%s", dir, de->d_name);
			mode_check_one(&mc, p, true);
			free(p);
		}
		if (d)
			closedir(d);
		if (mc.outbox_loose)
			cli_error("warning: %zu mails in the outbox folder '%s' are readable by "
				  "others: run find '%s' -type f -exec chmod %o {} +",
				  mc.outbox_loose, dir, dir, (unsigned)filemode_file());
	}
	buf_release(&mc.fix);
	return mc.found;
}

/* With [store] group, the store's folder should be the group's with the
 * set-group-ID bit, so that what SQLite creates there (-wal, -shm) is the
 * group's from the start rather than the group of whoever ran first.
 * Warns (stderr) with the commands to run; the store itself works
 * without it, since secdesk hands those files to the group. */
static void
db_check_folder_group(const struct config *cfg)
{
	char *copy, *dir;
	struct stat st;

	if (!cfg->store.group || !cfg->store.path)
		return;
	copy = xstrdup(cfg->store.path);
	dir = dirname(copy);
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_gid != cfg->store.gid || !(st.st_mode & S_ISGID) ||
	     (st.st_mode & 070) != 070))
		cli_error("warning: the store's folder '%s' is not shared with group %s: run "
			  "chgrp %s '%s' && chmod 2770 '%s' (secdesk.conf(5), [store] group)", dir,
			  cfg->store.group, cfg->store.group, dir, dir);
	free(copy);
}

/* The store's files (store_files), and the folder the database library
 * creates its side files in, must be readable and writable by whoever runs
 * the desk (the MTA's pipe user, cron's): a side file left read-only by a
 * read-only moment keeps every later ingest deferring while the store
 * itself looks fine. Says what to run for each problem (to stderr, and
 * into arr when not NULL); returns how many there are. */
static int
db_check_access(const struct config *cfg, json_t *arr)
{
	struct passwd *pw = getpwuid(geteuid());
	const char *me = pw && pw->pw_name ? pw->pw_name : "this user";
	char *dircopy = xstrdup(cfg->store.path), *dir = dirname(dircopy);
	struct strlist files = STRLIST_INIT;
	int problems = 0;

	store_files(cfg->store.location, &files);
	for (size_t i = 0; i <= files.n; i++) {
		bool folder = i == files.n;
		char *path = xstrdup(folder ? dir : files.items[i]);
		struct stat st;
		char *fix;

		if (stat(path, &st) < 0 || access(path, folder ? W_OK | X_OK : R_OK | W_OK) == 0) {
			free(path);
			continue;
		}
		if (st.st_uid != geteuid())
			fix = xasprintf("chown %s: '%s' (as root)%s", me, path,
					(st.st_mode & (folder ? 0300 : 0600)) == (folder ? 0300u : 0600u)
						? "" : folder ? ", then chmod u+wx" : ", then chmod u+rw");
		else
			fix = xasprintf("chmod %s '%s'", folder ? "u+rwx" : "u+rw", path);
		cli_error("%s '%s' is not %s by %s: run %s", folder ? "the store folder" : "file",
			  path, folder ? "writable" : "readable and writable", me, fix);
		if (arr)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "path", path, "fix", fix));
		free(fix);
		free(path);
		problems++;
	}
	strlist_release(&files);
	free(dircopy);
	return problems;
}

/* db check --json: the same verdict and exit status as the human form
 * (store_check decides both), with what the pragmas found as fields. */
static int
db_check_json(struct cli_ctx *ctx)
{
	struct store *s = NULL;
	struct err e = ERR_INIT, ce = ERR_INIT;
	json_t *integ, *fks, *doc;
	int rc = EXIT_OK, ok;
	bool stale = false;

	json_t *access_problems = json_array();
	int denied = db_check_access(ctx->cfg, access_problems);

	if (store_open(ctx->cfg->store.location, 0, &s, &e) < 0) {
		json_decref(access_problems);
		return cli_fail(&e);
	}
	ok = store_check(s, &e) == 0;
	if (!ok)
		rc = cli_fail(&e);
	integ = json_array();
	fks = json_array();
	/* What the checks could not do is in their lists, as before. */
	if (store_integrity_problems(s, integrity_add, integ, &ce) < 0)
		json_array_append_new(integ, json_string(ce.msg));
	err_clear(&ce);
	if (store_dangling_refs(s, dangling_add, fks, &ce) < 0)
		json_array_append_new(fks, json_pack("{s:s}", "error", ce.msg));
	err_clear(&ce);
	doc = json_pack("{s:s, s:b, s:i, s:i, s:b, s:o, s:o, s:s?, s:o}",
		"store", ctx->cfg->store.path,
		"ok", ok,
		"schema_version", store_file_version(s),
		"expected_schema_version", store_schema_version(s),
		"integrity_ok", json_array_size(integ) == 0,
		"integrity", integ,
		"foreign_keys", fks,
		"error", ok ? NULL : e.msg,
		"search_index", db_index_json(s, &stale));
	json_object_set_new(doc, "file_modes", db_file_modes(ctx->cfg));
	db_check_folder_group(ctx->cfg);
	store_close(&s);
	json_object_set_new(doc, "access", access_problems);
	if (ok && denied) {
		json_object_set_new(doc, "ok", json_false());
		rc = EXIT_CANTCREAT;
	} else if (ok && stale) {
		json_object_set_new(doc, "ok", json_false());
		rc = EXIT_DATAERR;
	}
	cli_print_json(doc);
	return rc;
}

static int
db_copy_count(void *arg, const char *table, int64_t from_rows, int64_t to_rows)
{
	(void)arg;
	printf("  %-16s %8lld %8lld%s\n", table, (long long)from_rows, (long long)to_rows,
	       from_rows == to_rows ? "" : "  DIFFERENT");
	return 0;
}

/* db copy --to LOCATION: the desk into an empty store (another backend's),
 * then each table's rows counted on both and both checked. */
static int
db_copy(struct cli_ctx *ctx, const char *to_location)
{
	struct store *from = NULL, *to = NULL;
	struct err e = ERR_INIT;
	int rc = EXIT_OK;

	if (store_open(ctx->cfg->store.location, STORE_READONLY, &from, &e) < 0)
		return cli_fail(&e);
	if (store_open(to_location, STORE_CREATE, &to, &e) < 0) {
		store_close(&from);
		return cli_fail(&e);
	}
	printf("copying store %s to %s\n  %-16s %8s %8s\n", store_path(from), store_path(to),
	       "table", "from", "to");
	if (store_copy(from, to, db_copy_count, NULL, &e) < 0 || store_check(from, &e) < 0 ||
	    store_check(to, &e) < 0)
		rc = cli_fail(&e);
	else
		printf("store %s: ok, schema version %d, the same rows as %s\n", store_path(to),
		       store_file_version(to), store_path(from));
	store_close(&to);
	store_close(&from);
	return rc;
}

int
cmd_db(int argc, char **argv, struct cli_ctx *ctx)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	int rc = EXIT_OK;

	if (argc == 3 && strcmp(argv[1], "backup") == 0) {
		if (store_open(ctx->cfg->store.location, 0, &s, &e) < 0)
			return cli_fail(&e);
		if (store_backup(s, argv[2], &e) < 0)
			rc = cli_fail(&e);
		else if (ctx->verbosity >= 0)
			printf("store %s: backed up to %s\n", ctx->cfg->store.path, argv[2]);
		store_close(&s);
		return rc;
	}
	if (argc == 4 && strcmp(argv[1], "copy") == 0 && strcmp(argv[2], "--to") == 0)
		return db_copy(ctx, argv[3]);
	if (argc == 3 && strcmp(argv[1], "check") == 0 && strcmp(argv[2], "--json") == 0)
		return db_check_json(ctx);
	if (argc != 2)
		return cli_usage(argv[0]);
	if (strcmp(argv[1], "init") == 0) {
		if (store_open(ctx->cfg->store.location, STORE_CREATE, &s, &e) < 0)
			return cli_fail(&e);
		printf("store %s: schema version %d\n", ctx->cfg->store.path,
		       store_file_version(s));
	} else if (strcmp(argv[1], "check") == 0) {
		int denied = db_check_access(ctx->cfg, NULL);

		if (store_open(ctx->cfg->store.location, 0, &s, &e) < 0)
			return cli_fail(&e);
		if (store_check(s, &e) < 0) {
			rc = cli_fail(&e);
		} else if (denied) {
			rc = EXIT_CANTCREAT;
		} else {
			printf("store %s: ok, schema version %d\n", ctx->cfg->store.path,
			       store_file_version(s));
			if (db_index_print(s))
				rc = EXIT_DATAERR;
		}
		json_decref(db_file_modes(ctx->cfg));
		db_check_folder_group(ctx->cfg);
	} else if (strcmp(argv[1], "reindex") == 0) {
		int64_t n = 0;

		if (store_open(ctx->cfg->store.location, 0, &s, &e) < 0)
			return cli_fail(&e);
		if (search_index_rebuild(s, &n, &e) < 0)
			rc = cli_fail(&e);
		else if (ctx->verbosity >= 0)
			printf("search index %s%s: %lld messages indexed\n", ctx->cfg->store.path,
			       strcmp(store_backend(s), "postgresql") == 0 ? "" : "-search",
			       (long long)n);
	} else {
		return cli_usage(argv[0]);
	}
	store_close(&s);
	return rc;
}
