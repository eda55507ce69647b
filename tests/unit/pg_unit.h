/* pg_unit.h - a private PostgreSQL server for a cmocka group (the test's
 * folder, tests/harness/pg.sh: one that cannot start fails the group, never
 * skips it), fresh databases owned by the run role, SQL as the superuser.
 * Include after unit.h. */
#ifndef SECDESK_PG_UNIT_H
#define SECDESK_PG_UNIT_H

#include <libpq-fe.h>

static char pg_unit_env[2048];
static char *pg_unit_dir;

/* The harness's value of key (PG_PORT, PG_RUN_USER, ...). */
static UNIT_UNUSED const char *
pg_env(const char *key)
{
	static struct {
		char key[32];
		char val[256];
	} seen[32];
	static int nseen;
	size_t klen = strlen(key);

	for (int i = 0; i < nseen; i++)
		if (strcmp(seen[i].key, key) == 0)
			return seen[i].val;
	for (const char *p = pg_unit_env; nseen < 32 && (p = strstr(p, key)); p += klen) {
		if ((p == pg_unit_env || p[-1] == ' ' || p[-1] == '\n') && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, " \n");

			snprintf(seen[nseen].key, sizeof(seen[0].key), "%s", key);
			snprintf(seen[nseen].val, sizeof(seen[0].val), "%.*s", (int)n, p + klen + 1);
			return seen[nseen++].val;
		}
	}
	fail_msg("harness gave no %s", key);
	return NULL;
}

static UNIT_UNUSED int
pg_unit_setup(void **state)
{
	const char *top = getenv("TOP") ? getenv("TOP") : ".";
	char *cmd, *envfile, *pw;
	FILE *f;
	size_t n;

	if (unit_dir_setup(state) < 0)
		return -1;
	pg_unit_dir = xasprintf("%s/pg", unit_dir);
	envfile = xasprintf("%s/pg.env", unit_dir);
	cmd = xasprintf("sh '%s/tests/harness/pg.sh' start '%s' >'%s'", top, pg_unit_dir, envfile);
	n = 0;
	if (system(cmd) == 0 && (f = fopen(envfile, "r"))) {
		n = fread(pg_unit_env, 1, sizeof(pg_unit_env) - 1, f);
		fclose(f);
	}
	pg_unit_env[n] = '\0';
	free(cmd);
	free(envfile);
	if (n == 0) {
		fprintf(stderr, "# cannot start PostgreSQL (tests/harness/pg.sh): is the "
			"postgresql package installed (contrib/install-deps.sh test)?\n");
		return -1;
	}
	pw = xasprintf("%s\n", pg_env("PG_RUN_PASS"));
	unit_write_file("run.pw", pw);
	free(pw);
	pw = xasprintf("%s/run.pw", unit_dir);
	chmod(pw, 0600);
	free(pw);
	unsetenv("PGPASSWORD");
	setenv("PGPASSFILE", "/nonexistent/pgpass", 1);
	/* The areas another branch writes may not be in this build. */
	setenv("SECDESK_TEST_PG_CORE", "1", 1);
	store_set_busy_timeout(5000);
	return 0;
}

static UNIT_UNUSED int
pg_unit_teardown(void **state)
{
	char *cmd = xasprintf("sh '%s/tests/harness/pg.sh' stop '%s'",
			      getenv("TOP") ? getenv("TOP") : ".", pg_unit_dir);
	int rc = system(cmd);

	free(cmd);
	free(pg_unit_dir);
	return unit_dir_teardown(state) < 0 || rc != 0 ? -1 : 0;
}

/* The superuser over the socket (trusted). */
static UNIT_UNUSED PGconn *
pg_admin(const char *db)
{
	char *sock = xasprintf("%s/run", pg_unit_dir);
	const char *kw[] = { "host", "port", "user", "dbname", NULL };
	const char *val[] = { sock, pg_env("PG_PORT"), pg_env("PG_ADMIN"), db, NULL };
	PGconn *c = PQconnectdbParams(kw, val, 0);

	free(sock);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("admin connection: %s", PQerrorMessage(c));
	return c;
}

/* sql (with params $1.. given as text, NULL for NULL) as the superuser on
 * c; the first value of the first row, allocated ("" when none). */
static UNIT_UNUSED char *
pg_sql_on(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	char *v;

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("'%s': %s", sql, PQerrorMessage(c));
	v = xstrdup(PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static UNIT_UNUSED char *
pg_sql(const char *db, const char *sql)
{
	PGconn *c = pg_admin(db);
	char *v = pg_sql_on(c, sql, 0, NULL);

	PQfinish(c);
	return v;
}

static UNIT_UNUSED void
pg_assert_sql(const char *db, const char *sql, const char *want)
{
	char *got = pg_sql(db, sql);

	if (strcmp(got, want) != 0)
		fail_msg("'%s': expected '%s', got '%s'", sql, want, got);
	free(got);
}

/* A fresh database owned by the run role, and the URL to it. */
static UNIT_UNUSED char *
pg_make_db(const char *name)
{
	char *sql = xasprintf("CREATE DATABASE %s OWNER %s", name, pg_env("PG_RUN_USER"));

	free(pg_sql("postgres", sql));
	free(sql);
	return xasprintf("postgresql://%s@127.0.0.1:%s/%s?password_file=%s/run.pw",
			 pg_env("PG_RUN_USER"), pg_env("PG_PORT"), name, unit_dir);
}

#endif
