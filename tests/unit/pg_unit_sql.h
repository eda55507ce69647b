/* pg_unit_sql.h - more of the superuser's view for the tests of the
 * outbox, search and admin areas: statements with parameters, checks of
 * one value, and a database of a given name. Include after pg_unit.h. */
#ifndef SECDESK_PG_UNIT_SQL_H
#define SECDESK_PG_UNIT_SQL_H

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
	return pg_admin_sql(db, sql);
}

static UNIT_UNUSED void
pg_assert_sql(const char *db, const char *sql, const char *want)
{
	char *got = pg_admin_sql(db, sql);

	if (strcmp(got, want) != 0)
		fail_msg("'%s': expected '%s', got '%s'", sql, want, got);
	free(got);
}

/* A fresh database named name, owned by the run role, and the URL to it. */
static UNIT_UNUSED char *
pg_make_db(const char *name)
{
	char *sql = xasprintf("CREATE DATABASE %s OWNER %s", name, pg_env("PG_RUN_USER"));

	free(pg_admin_sql("postgres", sql));
	free(sql);
	return xasprintf("postgresql://%s@127.0.0.1:%s/%s?password_file=%s/run.pw",
			 pg_env("PG_RUN_USER"), pg_env("PG_PORT"), name, unit_dir);
}

#endif
