/* pg_unit.h - what the store area tests that run on both backends share:
 * a private PostgreSQL server started by tests/harness/pg.sh in the test's
 * folder (one that cannot start fails the group, it is never skipped), a
 * fresh store per case on either backend, and the superuser's view of a
 * database for checks. A case registered with
 *     cmocka_unit_test_prestate(test_x, "sqlite") / (test_x, "pg")
 * opens its store with unit_store_open(state, "name"). Include after
 * cmocka.h, xalloc.h and unit.h. */
#ifndef SECDESK_PG_UNIT_H
#define SECDESK_PG_UNIT_H

#include <sys/wait.h>
#include <unistd.h>

#include "pq.h"
#include "store.h"

/* sqlite_core.c names its area tables by weak references, which take no
 * member out of libsecdesk.a: these do (the binary links every object). */
struct store_intake_ops;
struct store_message_ops;
struct store_ticket_ops;
struct store_state_ops;
extern const struct store_intake_ops sqlite_intake_ops;
extern const struct store_message_ops sqlite_message_ops;
extern const struct store_ticket_ops sqlite_ticket_ops;
extern const struct store_state_ops sqlite_state_ops;
const void *const pg_unit_linked[] = { &sqlite_intake_ops, &sqlite_message_ops,
				       &sqlite_ticket_ops, &sqlite_state_ops };

/* The two backends a case runs on, as its cmocka initial state. */
static UNIT_UNUSED char unit_backend_sqlite[] = "sqlite", unit_backend_pg[] = "pg";
#define BOTH(fn)                                                                  \
	{ .name = #fn " (sqlite)", .test_func = fn, .initial_state = unit_backend_sqlite }, \
	{ .name = #fn " (pg)", .test_func = fn, .initial_state = unit_backend_pg }

static char pg_unit_env[2048]; /* what the harness printed: PG_PORT=... */
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

/* The server's stop, by a shell that waits for this process to end: a
 * test that crashes or is killed leaves no server behind. It ignores the
 * signals of a Ctrl-C or a kill of the run's process group. */
static FILE *pg_unit_stopper;

static FILE *
pg_unit_stop_at_exit(const char *top, const char *dir)
{
	char *cmd = xasprintf("trap '' HUP INT TERM; cat >/dev/null;"
			      " exec sh '%s/tests/harness/pg.sh' stop '%s' >/dev/null", top, dir);
	/* "e": the descriptor is this process's alone, not its children's. */
	FILE *f = popen(cmd, "we");

	free(cmd);
	return f;
}

/* Group setup: the folder, the server, the run role's password file. */
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
	pg_unit_stopper = pg_unit_stop_at_exit(top, pg_unit_dir);
	if (!pg_unit_stopper)
		return -1;
	envfile = xasprintf("%s/pg.env", unit_dir);
	cmd = xasprintf("sh '%s/tests/harness/pg.sh' start '%s' >'%s'", top, pg_unit_dir,
			envfile);
	if (system(cmd) != 0) {
		fprintf(stderr, "# cannot start PostgreSQL (tests/harness/pg.sh): is the "
			"postgresql package installed (contrib/install-deps.sh test)?\n");
		return -1;
	}
	f = fopen(envfile, "r");
	n = f ? fread(pg_unit_env, 1, sizeof(pg_unit_env) - 1, f) : 0;
	pg_unit_env[n] = '\0';
	if (f)
		fclose(f);
	free(cmd);
	free(envfile);
	unit_write_file("run.pw", pg_env("PG_RUN_PASS"));
	pw = xasprintf("%s/run.pw", unit_dir);
	if (chmod(pw, 0600) != 0)
		return -1;
	free(pw);
	unsetenv("PGPASSWORD");
	setenv("PGPASSFILE", "/nonexistent/pgpass", 1);
	store_set_busy_timeout(20000);
	return 0;
}

/* Stops the server (closing the stopper's input) before the folder goes. */
static UNIT_UNUSED int
pg_unit_teardown(void **state)
{
	int rc = pclose(pg_unit_stopper);

	pg_unit_stopper = NULL;
	free(pg_unit_dir);
	return unit_dir_teardown(state) < 0 || rc != 0 ? -1 : 0;
}

/* The superuser over the socket (trusted), in db. */
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

/* sql as the superuser in db: the first value of the first row
 * (allocated; "" when none). */
static UNIT_UNUSED char *
pg_admin_sql(const char *db, const char *sql)
{
	PGconn *c = pg_admin(db);
	PGresult *r = PQexec(c, sql);
	char *v;

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("'%s': %s", sql, PQerrorMessage(c));
	v = xstrdup(PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
	return v;
}

/* The database of case name on PostgreSQL. */
static UNIT_UNUSED char *
pg_unit_db(const char *name)
{
	return xasprintf("t_%s", name);
}

/* The location of a fresh store named name on the case's backend (a new
 * database owned by the run role, or a new file). */
static UNIT_UNUSED char *
unit_store_location(void **state, const char *name)
{
	char *db, *sql, *url;

	if (strcmp((const char *)*state, "pg") != 0)
		return xasprintf("%s/%s.db", unit_dir, name);
	db = pg_unit_db(name);
	sql = xasprintf("CREATE DATABASE %s OWNER %s", db, pg_env("PG_RUN_USER"));
	free(pg_admin_sql("postgres", sql));
	url = xasprintf("postgresql://%s@127.0.0.1:%s/%s?password_file=%s/run.pw",
			pg_env("PG_RUN_USER"), pg_env("PG_PORT"), db, unit_dir);
	free(sql);
	free(db);
	return url;
}

static UNIT_UNUSED struct store *
unit_store_open_at(const char *location)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;

	if (store_open(location, STORE_CREATE, &s, &e) < 0)
		fail_msg("store_open '%s': %s", location, e.msg);
	return s;
}

/* A fresh store for the case (its location into *where unless NULL, for
 * a second connection; the caller frees it). */
static UNIT_UNUSED struct store *
unit_store_open(void **state, const char *name, char **where)
{
	char *loc = unit_store_location(state, name);
	struct store *s = unit_store_open_at(loc);

	if (where)
		*where = loc;
	else
		free(loc);
	return s;
}

static UNIT_UNUSED bool
unit_is_pg(void **state)
{
	return strcmp((const char *)*state, "pg") == 0;
}

/* Waits (boundedly) until a session of the case's database waits for a
 * lock: the second of two writers has reached the first's row. */
static UNIT_UNUSED void
pg_unit_wait_for_waiter(const char *name)
{
	char *db = pg_unit_db(name);
	char *sql = xasprintf("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND "
			      "wait_event_type = 'Lock'", db);
	int i;

	for (i = 0; i < 2000; i++) {
		char *n = pg_admin_sql(db, sql);
		bool waiting = strcmp(n, "0") != 0;

		free(n);
		if (waiting)
			break;
		usleep(10000);
	}
	free(sql);
	free(db);
	if (i == 2000)
		fail_msg("the second writer never waited for the first");
}

#endif
