/* The PostgreSQL backend's core (issue 17): connect through libpq, migrate,
 * transactions, the schema version, checks and events. Errors map to exit
 * codes by what they mean for a retry: a server that cannot be reached or
 * is going down is EXIT_TEMPFAIL, a refused login, TLS or a bad URL is
 * EXIT_CONFIG, all before any mail is touched. */
#include "compat.h"

#include <unistd.h>

#include "ascii.h"
#include "buf.h"
#include "config.h"
#include "pg_core.h"
#include "pg_schema.h"
#include "pq.h"
#include "store.h"
#include "xalloc.h"

/* Serialises migrations of one database by concurrent first runs. */
#define PG_MIGRATE_LOCK "SELECT pg_advisory_xact_lock(7105310517)"

/* A statement run more than once in a session is prepared by name, so
 * that the server parses and plans it once (intake runs each of its
 * statements once a mail). Open addressing on the SQL text. */
#define PG_PREPARED_SLOTS 256

struct pg_prepared {
	char *sql; /* NULL: a free slot */
	unsigned uses;
	bool ready; /* prepared on the connection */
};

/* A statement sent ahead of reading its result (libpq's pipeline mode). */
struct pg_ahead {
	char *what; /* for its error */
	struct pg_prepared *preparing; /* or NULL: it prepares this slot */
};

struct pg_store {
	struct store base;
	PGconn *conn;
	char *name; /* the URL without secdesk's parameters: for messages */
	struct pg_prepared prepared[PG_PREPARED_SLOTS];
	struct pg_ahead *ahead; /* sent in libpq's pipeline mode, unread */
	size_t n_ahead, cap_ahead;
};

static struct pg_store *
pg_of(struct store *s)
{
	return (struct pg_store *)s;
}

/* libpq's messages run over lines ("...failed: Connection refused\n\tIs
 * the server running..."): one line, parts joined by "; ", runs of
 * spaces ("FATAL:  password...") as one. */
static void
one_line(const char *msg, char *out, size_t size)
{
	size_t o = 0;
	bool gap = false;

	for (const char *p = msg ? msg : ""; *p && o + 3 < size; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			gap = o > 0;
			continue;
		}
		if (gap) {
			out[o++] = ';';
			out[o++] = ' ';
			gap = false;
			while (*p == ' ')
				p++;
			if (!*p)
				break;
		}
		if (*p == ' ' && o > 0 && out[o - 1] == ' ')
			continue;
		out[o++] = *p;
	}
	out[o] = '\0';
}

/* The exit code of an error with this SQLSTATE (NULL: the connection is
 * gone or the server never answered). */
static int
exit_code_of_sqlstate(const char *state)
{
	static const struct {
		const char *prefix;
		int code;
	} map[] = {
		{ "08", EXIT_TEMPFAIL },    /* connection exception */
		{ "57P", EXIT_TEMPFAIL },   /* shutdown, cannot connect now */
		{ "40", EXIT_TEMPFAIL },    /* serialization failure, deadlock */
		{ "55P03", EXIT_TEMPFAIL }, /* lock_timeout */
		{ "53100", EXIT_IOERR },    /* disk full */
		{ "53", EXIT_TEMPFAIL },    /* too many connections, out of memory */
		{ "28", EXIT_CONFIG },      /* invalid authorization */
		{ "3D", EXIT_CONFIG },      /* no such database */
		{ "42501", EXIT_CANTCREAT }, /* insufficient privilege */
		{ "22", EXIT_DATAERR },     /* data exception */
	};

	if (!state)
		return EXIT_TEMPFAIL;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strncmp(state, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].code;
	return EXIT_SOFTWARE;
}

/* Sets e from a failed result (or, res NULL, from the connection). */
static int
pg_error(struct pg_store *s, const PGresult *res, const char *what, struct err *e)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char line[600];

	one_line(msg ? msg : PQerrorMessage(s->conn), line, sizeof(line));
	if (!state && PQstatus(s->conn) == CONNECTION_OK && res)
		state = "XX000";
	return err_set(e, exit_code_of_sqlstate(state), "store '%s': %s: %s", s->name, what,
		       line);
}

static int settle(struct pg_store *s, PGresult **last, const char *last_what, struct err *e);

static bool
piped(struct pg_store *s)
{
	return PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF;
}

PGconn *
pg_conn(struct store *base)
{
	struct pg_store *s = pg_of(base);
	struct err ignored = ERR_INIT;

	/* Direct use needs the results of what was sent ahead read first; a
	 * failure among them has left the transaction refusing all but a
	 * rollback, which its user will see. */
	if (piped(s))
		settle(s, NULL, NULL, &ignored);
	return s->conn;
}

const char *
pg_name(struct store *s)
{
	return pg_of(s)->name;
}

int
pg_fail(struct store *s, const PGresult *res, const char *what, struct err *e)
{
	return pg_error(pg_of(s), res, what, e);
}

/* sql's slot, claimed when free; NULL when the table is full. */
static struct pg_prepared *
prepared_slot(struct pg_store *s, const char *sql)
{
	uint32_t h = 2166136261u;

	for (const char *c = sql; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	for (size_t i = 0; i < PG_PREPARED_SLOTS; i++) {
		struct pg_prepared *p = &s->prepared[(h + i) % PG_PREPARED_SLOTS];

		if (!p->sql)
			p->sql = xstrdup(sql);
		if (strcmp(p->sql, sql) == 0)
			return p;
	}
	return NULL;
}

static void
ahead_push(struct pg_store *s, const char *what, struct pg_prepared *preparing)
{
	if (s->n_ahead == s->cap_ahead) {
		s->cap_ahead = s->cap_ahead ? 2 * s->cap_ahead : 16;
		s->ahead = xreallocarray(s->ahead, s->cap_ahead, sizeof(*s->ahead));
	}
	s->ahead[s->n_ahead++] = (struct pg_ahead){ xstrdup(what), preparing };
}

/* Reads one statement's results, up to the NULL that ends them: a failure
 * into e unless failed is set already; its last good result into *keep
 * when keep is not NULL. */
static bool
read_statement(struct pg_store *s, const char *what, bool failed, PGresult **keep,
	       struct err *e)
{
	PGresult *res;

	while ((res = PQgetResult(s->conn))) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_FATAL_ERROR && !failed) {
			pg_error(s, res, what, e);
			failed = true;
		}
		if (keep && !failed && st != PGRES_PIPELINE_ABORTED) {
			PQclear(*keep);
			*keep = res;
		} else {
			PQclear(res);
		}
	}
	return failed;
}

/* Reads the results of the statements sent ahead and then of the one sent
 * last (last_what, its result into *last; last NULL: none), through the
 * pipeline's sync point, and leaves pipeline mode. 0, or -1 with the first
 * failure in e: the statements after it were not run. */
static int
settle(struct pg_store *s, PGresult **last, const char *last_what, struct err *e)
{
	bool failed = false;
	PGresult *res;

	if (last)
		*last = NULL;
	if (!PQpipelineSync(s->conn))
		failed = pg_error(s, NULL, last_what ? last_what : "cannot run", e) < 0;
	for (size_t i = 0; i < s->n_ahead; i++) {
		failed = read_statement(s, s->ahead[i].what, failed, NULL, e);
		if (s->ahead[i].preparing)
			s->ahead[i].preparing->ready = !failed;
		free(s->ahead[i].what);
	}
	s->n_ahead = 0;
	if (last)
		failed = read_statement(s, last_what, failed, last, e);
	while ((res = PQgetResult(s->conn))) {
		bool synced = PQresultStatus(res) == PGRES_PIPELINE_SYNC;

		PQclear(res);
		if (synced)
			break;
	}
	if (!PQexitPipelineMode(s->conn) && !failed)
		failed = pg_error(s, NULL, last_what ? last_what : "cannot run", e) < 0;
	if (failed && last) {
		PQclear(*last);
		*last = NULL;
	}
	return failed ? -1 : 0;
}

int
pg_settle(struct store *base, struct err *e)
{
	struct pg_store *s = pg_of(base);

	return piped(s) ? settle(s, NULL, NULL, e) : 0;
}

/* Is sql prepared, or to be prepared now (at its second use)? Its name
 * into name; NULL: run it unnamed. */
static struct pg_prepared *
prepared_for(struct pg_store *s, const char *sql, char name[16])
{
	struct pg_prepared *p = prepared_slot(s, sql);

	if (!p || (!p->ready && ++p->uses < 2) ||
	    PQtransactionStatus(s->conn) == PQTRANS_INERROR)
		return NULL;
	snprintf(name, 16, "sd%d", (int)(p - s->prepared) % PG_PREPARED_SLOTS);
	return p;
}

/* Prepares p when it is not yet: at once, or in the pipeline. */
static int
prepare(struct pg_store *s, struct pg_prepared *p, const char *name, int n, const char *what,
	struct err *e)
{
	PGresult *res;

	if (p->ready)
		return 0;
	if (piped(s)) {
		if (!PQsendPrepare(s->conn, name, p->sql, n, NULL))
			return pg_error(s, NULL, what, e);
		/* Taken as ready by the statements behind it in the pipeline:
		 * if it fails, they are not run. */
		p->ready = true;
		ahead_push(s, what, p);
		return 0;
	}
	res = PQprepare(s->conn, name, p->sql, n, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_error(s, res, what, e);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	p->ready = true;
	return 0;
}

int
pg_send(struct store *base, const char *sql, const struct pg_values *v, bool ahead,
	const char *what, struct err *e)
{
	struct pg_store *s = pg_of(base);
	struct pg_prepared *p;
	char name[16];
	int sent;

	/* Outside a transaction block a pipeline's statements would share one
	 * implicit transaction: there, each runs on its own, at once. */
	if (ahead && !piped(s) &&
	    (PQtransactionStatus(s->conn) != PQTRANS_INTRANS || !PQenterPipelineMode(s->conn)))
		ahead = false;
	p = prepared_for(s, sql, name);
	if (p && prepare(s, p, name, v->n, what, e) < 0)
		return -1;
	sent = p ? PQsendQueryPrepared(s->conn, name, v->n, v->val, v->len, v->fmt, v->binary)
		 : PQsendQueryParams(s->conn, sql, v->n, NULL, v->val, v->len, v->fmt,
				     v->binary);
	if (!sent)
		return pg_error(s, NULL, what, e);
	if (ahead)
		ahead_push(s, what, NULL);
	return ahead ? 1 : 0;
}

int
pg_result(struct store *base, PGresult **out, const char *what, struct err *e)
{
	struct pg_store *s = pg_of(base);
	PGresult *res;

	*out = NULL;
	if (piped(s))
		return settle(s, out, what, e);
	while ((res = PQgetResult(s->conn))) {
		PQclear(*out);
		*out = res;
	}
	return 0;
}

/* Runs sql (one statement or several, without parameters). */
static int
pg_exec(struct pg_store *s, const char *sql, const char *what, struct err *e)
{
	PGresult *res = PQexec(pg_conn(&s->base), sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = pg_error(s, res, what, e);
	PQclear(res);
	return rc;
}

/* The first column of the first row of sql as an int; NULL is 0. */
static int
pg_query_int(struct pg_store *s, const char *sql, int *out, struct err *e)
{
	PGresult *res = PQexec(pg_conn(&s->base), sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		rc = pg_error(s, res, "cannot read the schema", e);
	else
		*out = PQgetisnull(res, 0, 0) ? 0 : atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/* Outside a transaction the table is asked at once, in one round trip: a
 * new database has none, an error that aborts nothing there. */
static int
read_version_direct(struct pg_store *s, int *version, struct err *e)
{
	PGresult *res = PQexec(s->conn, "SELECT max(version) FROM schema_version");
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	int rc = 0;

	*version = 0;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		if (!PQgetisnull(res, 0, 0))
			*version = atoi(PQgetvalue(res, 0, 0));
	} else if (!state || strcmp(state, "42P01") != 0) { /* 42P01: undefined table */
		rc = pg_error(s, res, "cannot read the schema", e);
	}
	PQclear(res);
	return rc;
}

static int
read_version(struct pg_store *s, int *version, struct err *e)
{
	int present = 0;

	if (PQtransactionStatus(s->conn) == PQTRANS_IDLE)
		return read_version_direct(s, version, e);
	if (pg_query_int(s, "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog."
			 "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
			 "current_schema() AND c.relname = 'schema_version'", &present, e) < 0)
		return -1;
	*version = 0;
	if (!present)
		return 0;
	return pg_query_int(s, "SELECT max(version) FROM schema_version", version, e);
}

/* A database with tables of its own but no version is not ours. */
static int
refuse_foreign_database(struct pg_store *s, struct err *e)
{
	int n = 0;

	if (pg_query_int(s, "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = "
			 "current_schema()", &n, e) < 0)
		return -1;
	if (n > 0)
		return err_set(e, EXIT_DATAERR, "store '%s' is not a secdesk store (%d tables "
			       "and no schema_version)", s->name, n);
	return 0;
}

static int
migrate_steps(struct pg_store *s, int have, int want, struct err *e)
{
	char sql[128];

	if (have == 0 && (refuse_foreign_database(s, e) < 0 ||
			  pg_exec(s, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
				  "INSERT INTO schema_version VALUES (0)",
				  "cannot create the schema", e) < 0))
		return -1;
	for (int v = have; v < want; v++) {
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", v + 1);
		if (pg_exec(s, pg_schema_step(v), "cannot create the schema", e) < 0 ||
		    pg_exec(s, sql, "cannot record the schema version", e) < 0)
			return -1;
	}
	return 0;
}

/* Brings the schema to this program's version in one transaction; a
 * second process doing the same waits on the advisory lock, then finds
 * nothing to do. Without STORE_CREATE an empty database is refused. */
static int
migrate(struct pg_store *s, unsigned flags, struct err *e)
{
	int have = 0, want = pg_schema_steps();

	if (read_version(s, &have, e) < 0)
		return -1;
	if (have > want)
		goto newer;
	if (have == want)
		return 0;
	if (have == 0 && !(flags & STORE_CREATE))
		return err_set(e, EXIT_CANTCREAT, "store '%s' has no secdesk schema (run "
			       "'secdesk db init')", s->name);
	if (flags & STORE_READONLY)
		return err_set(e, EXIT_DATAERR, "store '%s' has schema version %d, older than "
			       "this secdesk (%d): run 'secdesk db init'", s->name, have, want);
	if (pg_exec(s, "BEGIN", "cannot begin", e) < 0)
		return -1;
	if (pg_exec(s, PG_MIGRATE_LOCK, "cannot lock the schema", e) < 0 ||
	    read_version(s, &have, e) < 0)
		goto fail;
	if (have > want) {
		pg_exec(s, "ROLLBACK", "cannot roll back", &(struct err)ERR_INIT);
		goto newer;
	}
	if (migrate_steps(s, have, want, e) < 0 || pg_exec(s, "COMMIT", "cannot commit", e) < 0)
		goto fail;
	return 0;
fail:
	pg_exec(s, "ROLLBACK", "cannot roll back", &(struct err)ERR_INIT);
	/* A staff role (no DDL) that runs db init: say whose job it is. */
	if (e->code == EXIT_CANTCREAT) {
		char reason[sizeof(e->msg)];

		memcpy(reason, e->msg, sizeof(reason));
		err_set(e, EXIT_CANTCREAT, "%s (db init needs the role that owns the schema)",
			reason);
	}
	err_prefix(e, "migrating to schema version %d", want);
	return -1;
newer:
	return err_set(e, EXIT_DATAERR, "store '%s' has schema version %d, newer than this "
		       "secdesk (%d): upgrade secdesk", s->name, have, want);
}

/* The URL as libpq takes it, the password file and the name for messages,
 * from the location: its query parameters, password_file taken out. */
struct pg_location {
	char *conninfo;      /* for libpq */
	char *name;          /* for messages: without password_file and sslrootcert */
	char *password_file; /* NULL: libpq's own ways (PGPASSFILE, service) */
};

static char *
percent_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi = i + 2 < n && s[i] == '%' ? ascii_hexval(s[i + 1]) : -1;
		int lo = hi >= 0 ? ascii_hexval(s[i + 2]) : -1;

		if (lo >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* "postgresql://user:secret@host/db" named as "postgresql://user@host/db":
 * pg_connect refuses such a URL, and its message must not show the secret. */
static void
name_without_password(char *name)
{
	char *auth = strstr(name, "://"), *end, *at, *colon;

	if (!auth)
		return;
	auth += 3;
	end = auth + strcspn(auth, "/?");
	at = memchr(auth, '@', (size_t)(end - auth));
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon)
		memmove(colon, at, strlen(at) + 1);
}

static void
location_split(const char *location, struct pg_location *loc)
{
	const char *q = strchr(location, '?');
	struct buf conninfo = BUF_INIT, name = BUF_INIT;
	size_t base = q ? (size_t)(q - location) : strlen(location);
	char sep_c = '?', sep_n = '?';

	*loc = (struct pg_location){ 0 };
	buf_add(&conninfo, location, base);
	buf_add(&name, location, base);
	for (const char *p = q ? q + 1 : NULL; p && *p;) {
		size_t n = strcspn(p, "&");

		if (strncmp(p, "password_file=", 14) == 0) {
			free(loc->password_file);
			loc->password_file = percent_decode(p + 14, n - 14);
		} else if (n > 0) {
			buf_addch(&conninfo, sep_c);
			buf_add(&conninfo, p, n);
			sep_c = '&';
			if (strncmp(p, "sslrootcert=", 12) != 0) {
				buf_addch(&name, sep_n);
				buf_add(&name, p, n);
				sep_n = '&';
			}
		}
		p += n + (p[n] == '&');
	}
	loc->conninfo = buf_detach(&conninfo, NULL);
	loc->name = buf_detach(&name, NULL);
	name_without_password(loc->name);
}

static void
location_release(struct pg_location *loc)
{
	free(loc->conninfo);
	free(loc->name);
	free(loc->password_file);
}

/* Is host (one of libpq's host list) on this machine? A socket folder,
 * the loopback addresses and localhost are; no host at all is the socket,
 * unless $PGHOST names one. */
static bool
host_is_local(const char *host)
{
	static const char *const local[] = { "localhost", "127.0.0.1", "::1" };

	if (!host || !*host) {
		host = getenv("PGHOST");
		if (!host || !*host)
			return true;
	}
	if (host[0] == '/' || host[0] == '@')
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(local); i++)
		if (strcmp(host, local[i]) == 0)
			return true;
	return false;
}

static bool
hosts_are_local(const char *hosts)
{
	char *copy = xstrdup(hosts ? hosts : ""), *save = NULL;
	bool local = true;

	if (!*copy)
		local = host_is_local(NULL);
	for (char *h = strtok_r(copy, ",", &save); h; h = strtok_r(NULL, ",", &save))
		local = local && host_is_local(h);
	free(copy);
	return local;
}

/* libpq 15 verifies a server against ~/.postgresql/root.crt only; where
 * that is missing, secdesk's default as for mail servers: the system's. */
#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

static bool
user_root_cert_exists(void)
{
	const char *home = getenv("HOME");
	char *path;
	bool yes;

	if (!home || !*home)
		return false;
	path = xasprintf("%s/.postgresql/root.crt", home);
	yes = access(path, R_OK) == 0;
	free(path);
	return yes;
}

/* The keyword/value pairs for PQconnectdbParams, NULL-terminated. */
struct pg_params {
	const char *kw[64];
	const char *val[64];
	int n;
	char timeout[16];
	char *options; /* the server options, with secdesk's */
};

static void
params_add(struct pg_params *p, const char *kw, const char *val)
{
	if (p->n < (int)ARRAY_SIZE(p->kw) - 1) {
		p->kw[p->n] = kw;
		p->val[p->n] = val;
		p->n++;
	}
	p->kw[p->n] = NULL;
	p->val[p->n] = NULL;
}

/* The session as the startup packet sets it, with no round trip of its
 * own: UTF-8 text, and lock waits bounded like SQLite's busy timeout (a
 * lock not had in time is EXIT_TEMPFAIL). After the URL's options (or
 * PGOPTIONS), which an explicit options parameter would otherwise drop. */
static void
params_session(struct pg_params *p, const char *options, int busy_timeout_ms)
{
	if (!options)
		options = getenv("PGOPTIONS");
	p->options = xasprintf("%s%s-c lock_timeout=%d", options ? options : "",
			       options && *options ? " " : "", busy_timeout_ms);
	params_add(p, "options", p->options);
	params_add(p, "client_encoding", "UTF8");
}

static void
params_release(struct pg_params *p)
{
	free(p->options);
	p->options = NULL;
}

/* What the URL says, plus what secdesk adds by default: TLS verified
 * against the host name for a server elsewhere, with the system's CAs
 * unless told otherwise, a connect timeout (the
 * busy timeout), the password from its file, the session's settings. A
 * password in the URL itself would show in every message: refused. */
static int
params_from_url(PQconninfoOption *opts, const struct pg_location *loc, const char *password,
		int busy_timeout_ms, struct pg_params *p, struct err *e)
{
	const char *hosts = NULL, *hostaddr = NULL, *options = NULL;
	const char *sslmode = getenv("PGSSLMODE");
	bool timeout = false, rootcert = false;

	p->n = 0;
	p->options = NULL;
	params_add(p, "fallback_application_name", "secdesk");
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || strcmp(o->keyword, "client_encoding") == 0)
			continue;
		if (strcmp(o->keyword, "options") == 0) {
			options = o->val;
			continue;
		}
		if (strcmp(o->keyword, "password") == 0)
			return err_set(e, EXIT_CONFIG, "store '%s': a password in the url: put it "
				       "in [store] password_file (mode 0600) instead", loc->name);
		hosts = strcmp(o->keyword, "host") == 0 ? o->val : hosts;
		hostaddr = strcmp(o->keyword, "hostaddr") == 0 ? o->val : hostaddr;
		sslmode = strcmp(o->keyword, "sslmode") == 0 ? o->val : sslmode;
		timeout = timeout || strcmp(o->keyword, "connect_timeout") == 0;
		rootcert = rootcert || strcmp(o->keyword, "sslrootcert") == 0;
		params_add(p, o->keyword, o->val);
	}
	if (!sslmode && !(hosts_are_local(hosts) && (!hostaddr || hosts_are_local(hostaddr)))) {
		sslmode = "verify-full";
		params_add(p, "sslmode", sslmode);
	}
	if (sslmode && strncmp(sslmode, "verify-", 7) == 0 && !rootcert &&
	    !getenv("PGSSLROOTCERT") && !user_root_cert_exists())
		params_add(p, "sslrootcert", SYSTEM_CA_FILE);
	if (!timeout) {
		snprintf(p->timeout, sizeof(p->timeout), "%d",
			 busy_timeout_ms < 2000 ? 2 : busy_timeout_ms / 1000);
		params_add(p, "connect_timeout", p->timeout);
	}
	if (password)
		params_add(p, "password", password);
	params_session(p, options, busy_timeout_ms);
	return 0;
}

/* The exit code of a connection libpq could not make. libpq gives no
 * SQLSTATE for it: its text decides, in English (a server whose
 * lc_messages is another language makes every failure EXIT_TEMPFAIL). */
static int
exit_code_of_connect_failure(PGconn *conn)
{
	static const char *const transient[] = {
		"shutting down", "starting up", "recovery", "too many", "timeout", "timed out",
		"Connection refused", "closed the connection", "SSL SYSCALL", "No route",
		"unreachable", "Network is", "could not translate host name",
	};
	static const char *const config[] = {
		"authentication failed", "pg_hba.conf", "does not exist", "SSL", "certificate",
		"permission denied", "not permitted", "configuration parameter",
		"invalid value for parameter",
	};
	const char *msg = PQerrorMessage(conn);

	if (PQconnectionNeedsPassword(conn))
		return EXIT_CONFIG;
	for (size_t i = 0; i < ARRAY_SIZE(transient); i++)
		if (strstr(msg, transient[i]))
			return EXIT_TEMPFAIL;
	for (size_t i = 0; i < ARRAY_SIZE(config); i++)
		if (strstr(msg, config[i]))
			return EXIT_CONFIG;
	return EXIT_TEMPFAIL;
}

static int
connect_failed(struct pg_store *s, struct err *e)
{
	char line[700];

	one_line(PQerrorMessage(s->conn), line, sizeof(line));
	if (PQconnectionNeedsPassword(s->conn))
		return err_set(e, EXIT_CONFIG, "store '%s': the server asks for a password: set "
			       "[store] password_file (or PGPASSFILE): %s", s->name, line);
	return err_set(e, exit_code_of_connect_failure(s->conn), "store '%s': cannot connect: "
		       "%s", s->name, line);
}

static int
pg_connect(struct pg_store *s, const struct pg_location *loc, int busy_timeout_ms,
	   struct err *e)
{
	PQconninfoOption *opts;
	struct pg_params p = { .n = 0 };
	char *errmsg = NULL, *password = NULL;
	int rc = -1;

	opts = PQconninfoParse(loc->conninfo, &errmsg);
	if (!opts) {
		char line[400];

		one_line(errmsg ? errmsg : "out of memory", line, sizeof(line));
		PQfreemem(errmsg);
		return err_set(e, EXIT_CONFIG, "store '%s': %s", loc->name, line);
	}
	if (loc->password_file && !(password = config_read_secret(loc->password_file, NULL, e))) {
		err_prefix(e, "store '%s'", loc->name);
		goto out;
	}
	if (params_from_url(opts, loc, password, busy_timeout_ms, &p, e) < 0)
		goto out;
	s->conn = PQconnectdbParams(p.kw, p.val, 0);
	if (!s->conn)
		err_set(e, EXIT_TEMPFAIL, "store '%s': cannot connect: out of memory", loc->name);
	else if (PQstatus(s->conn) != CONNECTION_OK)
		connect_failed(s, e);
	else
		rc = 0;
out:
	params_release(&p);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	PQconninfoFree(opts);
	return rc;
}

static void pg_close(struct store *base);

static int
pg_open(const char *location, unsigned flags, int busy_timeout_ms, struct store **out,
	struct err *e)
{
	struct pg_store *s = xcalloc(1, sizeof(*s));
	struct pg_location loc;

	location_split(location, &loc);
	s->name = xstrdup(loc.name);
	if (pg_connect(s, &loc, busy_timeout_ms, e) < 0 || migrate(s, flags, e) < 0) {
		location_release(&loc);
		pg_close(&s->base);
		return -1;
	}
	location_release(&loc);
	*out = &s->base;
	return 0;
}

static bool
pg_lost(struct store *base)
{
	return PQstatus(pg_conn(base)) != CONNECTION_OK;
}

static void
pg_close(struct store *base)
{
	struct pg_store *s = pg_of(base);

	for (size_t i = 0; i < PG_PREPARED_SLOTS; i++)
		free(s->prepared[i].sql);
	for (size_t i = 0; i < s->n_ahead; i++)
		free(s->ahead[i].what);
	free(s->ahead);
	PQfinish(s->conn);
	free(s->name);
	free(s);
}

/* READ COMMITTED, as PostgreSQL's default: no lock taken up front (SQLite's
 * BEGIN IMMEDIATE); what two writers share is locked by the statements. */
static int
pg_begin(struct store *s, struct err *e)
{
	return pg_exec(pg_of(s), "BEGIN", "cannot begin", e);
}

/* PostgreSQL answers COMMIT in a transaction that an error has aborted by
 * rolling it back, without an error: that must not pass for a commit. */
static int
pg_commit(struct store *base, struct err *e)
{
	struct pg_store *s = pg_of(base);
	PGresult *res;
	int rc = 0;

	if (pg_settle(base, e) < 0)
		return -1;
	if (PQtransactionStatus(s->conn) == PQTRANS_INERROR)
		return err_set(e, EXIT_SOFTWARE, "store '%s': cannot commit: a statement of the "
			       "transaction failed", s->name);
	res = PQexec(s->conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_error(s, res, "cannot commit", e);
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rc = err_set(e, EXIT_SOFTWARE, "store '%s': cannot commit: the server rolled "
			     "the transaction back", s->name);
	PQclear(res);
	return rc;
}

void
pg_rollback(struct store *base)
{
	struct pg_store *s = pg_of(base);
	PGconn *c = pg_conn(base); /* what was sent ahead, read */

	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(s->conn, "ROLLBACK"));
}

static int
pg_schema_version(void)
{
	return pg_schema_steps();
}

static int
pg_file_version(struct store *base)
{
	struct err ignored = ERR_INIT;
	int v = -1;

	if (read_version(pg_of(base), &v, &ignored) < 0)
		return -1;
	return v;
}

/* Appends the names the query returns, one per row, to problems. */
static int
collect_names(struct pg_store *s, const char *sql, const char *what, struct buf *problems,
	      struct err *e)
{
	PGresult *res = PQexec(pg_conn(&s->base), sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_error(s, res, "cannot check", e);
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++)
		buf_addf(problems, "%s%s %s", problems->len ? "; " : "", what,
			 PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

static int
check_tables(struct pg_store *s, struct buf *problems, struct err *e)
{
	for (const char *const *t = pg_schema_tables; *t; t++) {
		const char *params[1] = { *t };
		PGresult *res = PQexecParams(s->conn, "SELECT to_regclass($1) IS NULL", 1, NULL,
					     params, NULL, NULL, 0);

		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			pg_error(s, res, "cannot check", e);
			PQclear(res);
			return -1;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
			buf_addf(problems, "%stable %s missing", problems->len ? "; " : "", *t);
		PQclear(res);
	}
	return 0;
}

/* The schema version, every table, the search index, and no index or
 * constraint left invalid (by a failed CREATE INDEX CONCURRENTLY or a
 * NOT VALID constraint). */
static int
pg_check(struct store *base, struct err *e)
{
	struct pg_store *s = pg_of(base);
	struct buf problems = BUF_INIT;
	int have = pg_file_version(base), rc = -1;

	buf_init(&problems, 4096);
	if (have != pg_schema_steps())
		buf_addf(&problems, "schema version %d, expected %d", have, pg_schema_steps());
	if (check_tables(s, &problems, e) < 0 ||
	    collect_names(s, "SELECT 'messages_search' WHERE to_regclass('messages_search') "
			  "IS NULL", "missing search index", &problems, e) < 0 ||
	    collect_names(s, "SELECT c.relname FROM pg_catalog.pg_index i JOIN pg_catalog."
			  "pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON "
			  "n.oid = c.relnamespace WHERE n.nspname = current_schema() AND NOT "
			  "i.indisvalid", "invalid index", &problems, e) < 0 ||
	    collect_names(s, "SELECT conname FROM pg_catalog.pg_constraint c JOIN pg_catalog."
			  "pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = "
			  "current_schema() AND NOT c.convalidated", "constraint not validated",
			  &problems, e) < 0)
		goto out;
	rc = problems.len ? err_set(e, EXIT_DATAERR, "store '%s': %s", s->name,
				    buf_cstr(&problems))
			  : 0;
out:
	buf_release(&problems);
	return rc;
}

/* Each area's table is defined in its pg_AREA.c. */
extern const struct store_intake_ops pg_intake_ops;
extern const struct store_message_ops pg_message_ops;
extern const struct store_ticket_ops pg_ticket_ops;
extern const struct store_outbox_ops pg_outbox_ops;
extern const struct store_search_ops pg_search_ops;
extern const struct store_admin_ops pg_admin_ops;
extern const struct store_state_ops pg_state_ops;

const struct store_ops pg_store_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.lost = pg_lost,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.schema_version = pg_schema_version,
	.file_version = pg_file_version,
	.check = pg_check,
	.event = pg_event,
	.intake = &pg_intake_ops,
	.message = &pg_message_ops,
	.ticket = &pg_ticket_ops,
	.outbox = &pg_outbox_ops,
	.search = &pg_search_ops,
	.admin = &pg_admin_ops,
	.state = &pg_state_ops,
};
