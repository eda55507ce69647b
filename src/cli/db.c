/* secdesk db init | check [--json] | backup FILE | reindex */
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
#include "xalloc.h"

int cmd_db(int argc, char **argv, struct cli_ctx *ctx);

/* Copies the live store to path with SQLite's online backup API, a few
 * pages at a time so that ingest and staff keep writing meanwhile. The copy
 * goes to path.tmp (the desk's mode, filemode.h: it holds the mail) and is
 * renamed into place
 * only when complete, so path is never a half-written database. */
static int
db_backup(struct store *s, const char *path, struct err *e)
{
	struct buf tmp = BUF_INIT;
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int fd, rc;

	buf_addf(&tmp, "%s.tmp", path);
	unlink(buf_cstr(&tmp));
	fd = filemode_create(AT_FDCWD, buf_cstr(&tmp), O_WRONLY);
	if (fd < 0) {
		err_set(e, EXIT_CANTCREAT, "cannot create %s: %s", buf_cstr(&tmp), strerror(errno));
		goto fail;
	}
	close(fd);
	if (sqlite3_open_v2(buf_cstr(&tmp), &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		err_set(e, EXIT_CANTCREAT, "cannot open %s: %s", buf_cstr(&tmp),
			dst ? sqlite3_errmsg(dst) : "out of memory");
		goto fail;
	}
	b = sqlite3_backup_init(dst, "main", store_db(s), "main");
	if (!b) {
		err_set(e, EXIT_IOERR, "cannot back up to %s: %s", path, sqlite3_errmsg(dst));
		goto fail;
	}
	do {
		rc = sqlite3_backup_step(b, 1024);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		err_set(e, EXIT_IOERR, "cannot back up to %s: %s", path, sqlite3_errstr(rc));
		goto fail;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		dst = NULL;
		err_set(e, EXIT_IOERR, "cannot finish %s", buf_cstr(&tmp));
		goto fail;
	}
	dst = NULL;
	if (rename(buf_cstr(&tmp), path) < 0) {
		err_set(e, EXIT_CANTCREAT, "cannot rename to %s: %s", path, strerror(errno));
		goto fail;
	}
	buf_release(&tmp);
	return 0;
fail:
	if (dst)
		sqlite3_close(dst);
	if (tmp.data)
		unlink(buf_cstr(&tmp));
	buf_release(&tmp);
	return -1;
}

/* Runs a check pragma and appends what it reports to arr: integrity_check's
 * text lines (its "ok" left out), foreign_key_check's rows as objects.
 * Returns -1 when the pragma could not run. */
static int
db_pragma_json(struct store *s, const char *sql, bool fk, json_t *arr)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (!fk) {
			if (!t || strcmp(t, "ok") != 0)
				json_array_append_new(arr, json_string(t ? t : "?"));
			continue;
		}
		json_array_append_new(arr, json_pack("{s:s?, s:I, s:s?, s:I}",
			"table", t,
			"rowid", (json_int_t)sqlite3_column_int64(st, 1),
			"parent", (const char *)sqlite3_column_text(st, 2),
			"fkid", (json_int_t)sqlite3_column_int64(st, 3)));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The search index: derived from the store and rebuilt from it when
 * damaged, so what is wrong with it is reported, never the store's
 * verdict. */
struct index_state {
	char *path;
	bool ok;
	int64_t upto, pending;
	char *problem;
};

static void
db_index_state(struct store *s, struct index_state *st)
{
	struct err e = ERR_INIT;
	sqlite3_stmt *q;

	memset(st, 0, sizeof(*st));
	st->path = search_index_path(store_path(s));
	if (search_index_status(s, &st->upto, &st->pending, &e) < 0) {
		st->problem = xstrdup(e.msg);
		return;
	}
	if (sqlite3_prepare_v2(store_db(s), "PRAGMA " SEARCH_SCHEMA ".quick_check", -1, &q,
			       NULL) != SQLITE_OK) {
		st->problem = xstrdup(sqlite3_errmsg(store_db(s)));
		return;
	}
	if (sqlite3_step(q) != SQLITE_ROW || !sqlite3_column_text(q, 0) ||
	    strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0)
		st->problem = xstrdup(sqlite3_column_text(q, 0)
					      ? (const char *)sqlite3_column_text(q, 0)
					      : sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(q);
	st->ok = !st->problem;
}

static void
db_index_state_release(struct index_state *st)
{
	free(st->path);
	free(st->problem);
}

static json_t *
db_index_json(struct store *s)
{
	struct index_state st;
	json_t *o;

	db_index_state(s, &st);
	o = json_pack("{s:s, s:b, s:I, s:I, s:s?}", "path", st.path, "ok", st.ok,
		      "indexed_upto", (json_int_t)st.upto, "pending", (json_int_t)st.pending,
		      "error", st.problem);
	db_index_state_release(&st);
	return o;
}

static void
db_index_print(struct store *s)
{
	struct index_state st;

	db_index_state(s, &st);
	if (st.ok)
		printf("search index %s: ok, %lld messages waiting to be indexed\n", st.path,
		       (long long)st.pending);
	else
		printf("search index %s: %s (it is rebuilt from the store by the next search,"
		       " or by 'secdesk db reindex')\n", st.path, st.problem);
	db_index_state_release(&st);
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

/* The store and the files SQLite keeps beside it, the search index, the
 * run lock, and the outbox folder of a dir: transport with its mails. */
static json_t *
db_file_modes(const struct config *cfg)
{
	static const char *const side[] = { "", "-wal", "-shm", "-journal" };
	struct mode_check mc = { cfg->store.group, json_array(), 0, BUF_INIT };
	char *index = search_index_path(cfg->store.path);

	for (size_t i = 0; i < ARRAY_SIZE(side); i++) {
		char *p = xasprintf("%s%s", cfg->store.path, side[i]);
		char *q = xasprintf("%s%s", index, side[i]);

		mode_check_one(&mc, p, false);
		mode_check_one(&mc, q, false);
		free(p);
		free(q);
	}
	free(index);
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

/* The files SQLite writes beside the store, and the folder it creates them
 * in, must be readable and writable by whoever runs the desk (the MTA's
 * pipe user, cron's): a -shm left read-only by a read-only moment keeps
 * every later ingest deferring while the store itself looks fine. Says
 * what to run for each problem (to stderr, and into arr when not NULL);
 * returns how many there are. */
static int
db_check_access(const char *store_path, json_t *arr)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal", "-search",
						"-search-wal", "-search-shm", "-search-journal" };
	struct passwd *pw = getpwuid(geteuid());
	const char *me = pw && pw->pw_name ? pw->pw_name : "this user";
	char *dircopy = xstrdup(store_path), *dir = dirname(dircopy);
	int problems = 0;

	for (size_t i = 0; i <= ARRAY_SIZE(suffixes); i++) {
		bool folder = i == ARRAY_SIZE(suffixes);
		char *path = folder ? xstrdup(dir) : xasprintf("%s%s", store_path, suffixes[i]);
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
	free(dircopy);
	return problems;
}

/* db check --json: the same verdict and exit status as the human form
 * (store_check decides both), with what the pragmas found as fields. */
static int
db_check_json(struct cli_ctx *ctx)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	json_t *integ, *fks, *doc;
	int rc = EXIT_OK, ok;

	json_t *access_problems = json_array();
	int denied = db_check_access(ctx->cfg->store.path, access_problems);

	if (store_open(ctx->cfg->store.location, 0, &s, &e) < 0) {
		json_decref(access_problems);
		return cli_fail(&e);
	}
	ok = store_check(s, &e) == 0;
	if (!ok)
		rc = cli_fail(&e);
	integ = json_array();
	fks = json_array();
	if (db_pragma_json(s, "PRAGMA integrity_check", false, integ) < 0)
		json_array_append_new(integ, json_string(sqlite3_errmsg(store_db(s))));
	if (db_pragma_json(s, "PRAGMA foreign_key_check", true, fks) < 0)
		json_array_append_new(fks, json_pack("{s:s}", "error",
						     sqlite3_errmsg(store_db(s))));
	doc = json_pack("{s:s, s:b, s:i, s:i, s:b, s:o, s:o, s:s?, s:o}",
		"store", ctx->cfg->store.path,
		"ok", ok,
		"schema_version", store_file_version(s),
		"expected_schema_version", store_schema_version(s),
		"integrity_ok", json_array_size(integ) == 0,
		"integrity", integ,
		"foreign_keys", fks,
		"error", ok ? NULL : e.msg,
		"search_index", db_index_json(s));
	json_object_set_new(doc, "file_modes", db_file_modes(ctx->cfg));
	store_close(&s);
	json_object_set_new(doc, "access", access_problems);
	if (ok && denied) {
		json_object_set_new(doc, "ok", json_false());
		rc = EXIT_CANTCREAT;
	}
	cli_print_json(doc);
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
		if (db_backup(s, argv[2], &e) < 0)
			rc = cli_fail(&e);
		else if (ctx->verbosity >= 0)
			printf("store %s: backed up to %s\n", ctx->cfg->store.path, argv[2]);
		store_close(&s);
		return rc;
	}
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
		int denied = db_check_access(ctx->cfg->store.path, NULL);

		if (store_open(ctx->cfg->store.location, 0, &s, &e) < 0)
			return cli_fail(&e);
		if (store_check(s, &e) < 0) {
			rc = cli_fail(&e);
		} else if (denied) {
			rc = EXIT_CANTCREAT;
		} else {
			printf("store %s: ok, schema version %d\n", ctx->cfg->store.path,
			       store_file_version(s));
			db_index_print(s);
		}
		json_decref(db_file_modes(ctx->cfg));
	} else if (strcmp(argv[1], "reindex") == 0) {
		int64_t n = 0;

		if (store_open(ctx->cfg->store.location, 0, &s, &e) < 0)
			return cli_fail(&e);
		if (search_index_rebuild(s, &n, &e) < 0)
			rc = cli_fail(&e);
		else if (ctx->verbosity >= 0)
			printf("search index %s-search: %lld messages indexed\n",
			       ctx->cfg->store.path, (long long)n);
	} else {
		return cli_usage(argv[0]);
	}
	store_close(&s);
	return rc;
}
