/* bare_pg - the PostgreSQL storage limit of this machine, for make bench
 * (bench/pg.sh): reads the mails of a Maildir and inserts each into the
 * tables of secdesk's schema (which `secdesk db init` made) as secdesk's
 * intake does: the raw bytes, a ticket, the message with its search words
 * (a 'simple' tsvector), the intake row, a 'created' event and an ack
 * queued in the outbox, in one statement per mail, transactions of 100. No
 * parsing beyond splitting header and body, no rules, no template.
 * With -r, one INSERT per row instead (six round trips a mail), as the
 * plainest loop would write it.
 * usage: bare_pg [-r] MAILDIR CONNINFO */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "sha256.h"
#include "xalloc.h"

/* One mail: $1 sha256, $2 size, $3 bytes, $4 subject, $5 from, $6 now,
 * $7 body, $8 intake key, $9 the ack's bytes. */
static const char insert_mail[] =
	"WITH r AS (INSERT INTO raws (sha256, size, data) VALUES ($1, $2, $3) RETURNING id),"
	" t AS (INSERT INTO tickets (subject, requester, created, updated)"
	"  VALUES ($4, $5, $6, $6) RETURNING id),"
	" m AS (INSERT INTO messages (ticket_id, direction, kind, from_addr, subject, body,"
	"  names, raw_id, created, search_words) SELECT t.id, 'in', 'inquiry', $5, $4, $7, $5,"
	"  r.id, $6, to_tsvector('simple', $4 || ' ' || $7 || ' ' || $5) FROM t, r"
	"  RETURNING id, ticket_id, raw_id),"
	" i AS (INSERT INTO intake (source, key, raw_id, state, message_id, done, created)"
	"  SELECT 'maildir:inbox', $8, m.raw_id, 'stored', m.id, 1, $6 FROM m),"
	" e AS (INSERT INTO events (ticket_id, at, who, what) SELECT m.ticket_id, $6, 'secdesk',"
	"  'created' FROM m)"
	" INSERT INTO outbox (ticket_id, message_id, kind, rcpts, data, next_try, created)"
	"  SELECT m.ticket_id, m.id, 'ack', $5, $9, $6, $6 FROM m";

/* The same rows, a statement each: $1.. as above, the ids in between. */
static const char *const insert_rows[] = {
	"INSERT INTO raws (sha256, size, data) VALUES ($1, $2, $3) RETURNING id",
	"INSERT INTO tickets (subject, requester, created, updated) VALUES ($1, $2, $3, $3)"
	" RETURNING id",
	"INSERT INTO messages (ticket_id, direction, kind, from_addr, subject, body, names,"
	" raw_id, created, search_words) VALUES ($1, 'in', 'inquiry', $2, $3, $4, $2, $5, $6,"
	" to_tsvector('simple', $3 || ' ' || $4 || ' ' || $2)) RETURNING id",
	"INSERT INTO intake (source, key, raw_id, state, message_id, done, created)"
	" VALUES ('maildir:inbox', $1, $2, 'stored', $3, 1, $4)",
	"INSERT INTO events (ticket_id, at, who, what) VALUES ($1, $2, 'secdesk', 'created')",
	"INSERT INTO outbox (ticket_id, message_id, kind, rcpts, data, next_try, created)"
	" VALUES ($1, $2, 'ack', $3, $4, $5, $5)",
};

static bool by_rows;

static int
exec(PGconn *db, const char *sql)
{
	PGresult *res = PQexec(db, sql);
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;

	if (rc < 0)
		fprintf(stderr, "bare_pg: %s: %s", sql, PQerrorMessage(db));
	PQclear(res);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
list_names(const char *dir, size_t *n)
{
	char **names = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, *n, sizeof(*names), name_cmp);
	return names;
}

static void
read_file(const char *path, struct buf *b)
{
	char chunk[65536];
	ssize_t r;
	int fd = open(path, O_RDONLY);

	buf_reset(b);
	while (fd >= 0 && (r = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(b, chunk, (size_t)r);
	if (fd >= 0)
		close(fd);
}

/* A header's value up to the end of its line, as a copy. */
static char *
header(const char *mail, const char *name)
{
	const char *p = strstr(mail, name);

	p = p ? p + strlen(name) : "";
	return xstrndup(p, strcspn(p, "\r\n"));
}

/* Runs prepared statement "rowN" with n text values; the id it returned
 * into out (when not NULL). */
static int
row(PGconn *db, int i, int n, const char *const *v, const int *len, const int *fmt,
    char out[24])
{
	char name[16]; /* "row" and any int */
	PGresult *res;
	int rc = 0;

	snprintf(name, sizeof(name), "row%d", i);
	res = PQexecPrepared(db, name, n, v, len, fmt, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "bare_pg: %s", PQerrorMessage(db));
		rc = -1;
	} else if (out) {
		snprintf(out, 24, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

static int
insert_rows_of(PGconn *db, const char *name, const struct buf *b, const char *ack,
	       const char *hex, const char *size, const char *now, const char *subj,
	       const char *from, const char *body)
{
	char raw[24], ticket[24], msg[24];

	return row(db, 0, 3, (const char *[]){ hex, size, b->data }, (int[]){ 0, 0, (int)b->len },
		   (int[]){ 0, 0, 1 }, raw) < 0 ||
	       row(db, 1, 3, (const char *[]){ subj, from, now }, NULL, NULL, ticket) < 0 ||
	       row(db, 2, 6, (const char *[]){ ticket, from, subj, body, raw, now }, NULL, NULL,
		   msg) < 0 ||
	       row(db, 3, 4, (const char *[]){ name, raw, msg, now }, NULL, NULL, NULL) < 0 ||
	       row(db, 4, 2, (const char *[]){ ticket, now }, NULL, NULL, NULL) < 0 ||
	       row(db, 5, 5, (const char *[]){ ticket, msg, from, ack, now },
		   (int[]){ 0, 0, 0, (int)strlen(ack), 0 }, (int[]){ 0, 0, 0, 1, 0 }, NULL) < 0
		       ? -1
		       : 0;
}

static int
insert_one(PGconn *db, const char *name, const struct buf *b, const char *ack)
{
	const char *body = strstr(buf_cstr(b), "\n\n");
	char *subj = header(buf_cstr(b), "\nSubject: ");
	char *from = header(buf_cstr(b), "\nFrom: ");
	char hex[65], size[24], now[24];
	const char *v[9] = { hex, size, b->data, subj, from, now, body ? body + 2 : "", name, ack };
	int len[9] = { 0, 0, (int)b->len, 0, 0, 0, 0, 0, (int)strlen(ack) };
	int fmt[9] = { 0, 0, 1, 0, 0, 0, 0, 0, 1 };
	PGresult *res;
	int rc = 0;

	sha256_hex(b->data, b->len, hex);
	snprintf(size, sizeof(size), "%zu", b->len);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (by_rows) {
		rc = insert_rows_of(db, name, b, ack, hex, size, now, subj, from, v[6]);
		free(subj);
		free(from);
		return rc;
	}
	res = PQexecPrepared(db, "mail", 9, v, len, fmt, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "bare_pg: %s: %s", name, PQerrorMessage(db));
		rc = -1;
	}
	PQclear(res);
	free(subj);
	free(from);
	return rc;
}

int
main(int argc, char **argv)
{
	static const char ack[] = "From: secretariat@icpermed.example\nSubject: Re: your "
				  "inquiry\n\nThank you for your message. We will answer soon.\n";
	struct buf b = BUF_INIT;
	char path[8192], dir[4096];
	char **names;
	size_t n;
	PGconn *db;
	PGresult *res;

	by_rows = argc == 4 && strcmp(argv[1], "-r") == 0;
	argv += by_rows;
	argc -= by_rows;
	if (argc != 3) {
		fprintf(stderr, "usage: bare_pg [-r] MAILDIR CONNINFO\n");
		return EXIT_USAGE;
	}
	snprintf(dir, sizeof(dir), "%s/new", argv[1]);
	if (!(names = list_names(dir, &n))) {
		perror(dir);
		return EXIT_IOERR;
	}
	db = PQconnectdb(argv[2]);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "bare_pg: %s", PQerrorMessage(db));
		return EXIT_TEMPFAIL;
	}
	for (int i = -1; i < (int)ARRAY_SIZE(insert_rows); i++) {
		char name[16]; /* "row" and any int */

		snprintf(name, sizeof(name), "row%d", i);
		res = i < 0 ? PQprepare(db, "mail", insert_mail, 9, NULL)
			    : PQprepare(db, name, insert_rows[i], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fprintf(stderr, "bare_pg: %s", PQerrorMessage(db));
			return EXIT_SOFTWARE;
		}
		PQclear(res);
	}
	for (size_t i = 0; i < n; i++) {
		if (i % 100 == 0 && exec(db, "BEGIN"))
			return EXIT_SOFTWARE;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		read_file(path, &b);
		if (insert_one(db, names[i], &b, ack) < 0)
			return EXIT_SOFTWARE;
		if ((i % 100 == 99 || i == n - 1) && exec(db, "COMMIT"))
			return EXIT_SOFTWARE;
		free(names[i]);
	}
	free(names);
	buf_release(&b);
	PQfinish(db);
	return 0;
}
