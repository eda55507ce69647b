/* secdesk db init | check [--json] | backup FILE */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "store.h"

int cmd_db(int argc, char **argv, struct cli_ctx *ctx);

/* Copies the live store to path with SQLite's online backup API, a few
 * pages at a time so that ingest and staff keep writing meanwhile. The copy
 * goes to path.tmp (mode 0600: it holds the mail) and is renamed into place
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
	fd = open(buf_cstr(&tmp), O_WRONLY | O_CREAT | O_EXCL, 0600);
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

/* db check --json: the same verdict and exit status as the human form
 * (store_check decides both), with what the pragmas found as fields. */
static int
db_check_json(struct cli_ctx *ctx)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	json_t *integ, *fks, *doc;
	int rc = EXIT_OK, ok;

	if (store_open(ctx->cfg->store.path, 0, &s, &e) < 0)
		return cli_fail(&e);
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
	doc = json_pack("{s:s, s:b, s:i, s:i, s:b, s:o, s:o, s:s?}",
		"store", ctx->cfg->store.path,
		"ok", ok,
		"schema_version", store_file_version(s),
		"expected_schema_version", store_schema_version(),
		"integrity_ok", json_array_size(integ) == 0,
		"integrity", integ,
		"foreign_keys", fks,
		"error", ok ? NULL : e.msg);
	store_close(&s);
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
		if (store_open(ctx->cfg->store.path, 0, &s, &e) < 0)
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
		if (store_open(ctx->cfg->store.path, STORE_CREATE, &s, &e) < 0)
			return cli_fail(&e);
		printf("store %s: schema version %d\n", ctx->cfg->store.path,
		       store_file_version(s));
	} else if (strcmp(argv[1], "check") == 0) {
		if (store_open(ctx->cfg->store.path, 0, &s, &e) < 0)
			return cli_fail(&e);
		if (store_check(s, &e) < 0)
			rc = cli_fail(&e);
		else
			printf("store %s: ok, schema version %d\n", ctx->cfg->store.path,
			       store_file_version(s));
	} else {
		return cli_usage(argv[0]);
	}
	store_close(&s);
	return rc;
}
