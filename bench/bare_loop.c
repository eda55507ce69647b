/* bare_loop - the storage limit of this machine, for make bench: reads the
 * mails of a Maildir and inserts them into SQLite with the same FTS5 index
 * as secdesk (WAL, synchronous=FULL, commits of 100), with no parsing
 * beyond splitting header and body.
 * usage: bare_loop MAILDIR DB */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"

static int
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bare_loop: %s: %s\n", sql, msg);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	sqlite3 *db;
	sqlite3_stmt *ins, *fts;
	struct buf b = BUF_INIT;
	char **names = NULL, path[8192], dir[4096];
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	if (argc != 3) {
		fprintf(stderr, "usage: bare_loop MAILDIR DB\n");
		return EXIT_USAGE;
	}
	snprintf(dir, sizeof(dir), "%s/new", argv[1]);
	if (!(d = opendir(dir))) {
		perror(dir);
		return EXIT_IOERR;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);

	if (sqlite3_open(argv[2], &db) != SQLITE_OK)
		return EXIT_CANTCREAT;
	if (exec(db, "PRAGMA journal_mode = WAL") || exec(db, "PRAGMA synchronous = FULL") ||
	    exec(db, "CREATE TABLE mails (id INTEGER PRIMARY KEY, raw BLOB, subject TEXT,"
		     " body TEXT, names TEXT)") ||
	    exec(db, "CREATE VIRTUAL TABLE mails_fts USING fts5(subject, body, names,"
		     " content='mails', content_rowid='id',"
		     " tokenize='unicode61 remove_diacritics 2')"))
		return EXIT_SOFTWARE;
	sqlite3_prepare_v2(db, "INSERT INTO mails (raw, subject, body, names) VALUES (?, ?, ?, ?)",
			   -1, &ins, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO mails_fts (rowid, subject, body, names) "
			   "VALUES (?, ?, ?, ?)", -1, &fts, NULL);
	for (size_t i = 0; i < n; i++) {
		char chunk[65536];
		const char *body, *subj, *from;
		ssize_t r;
		int fd;

		if (i % 100 == 0 && exec(db, "BEGIN"))
			return EXIT_SOFTWARE;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fd = open(path, O_RDONLY);
		buf_reset(&b);
		while (fd >= 0 && (r = read(fd, chunk, sizeof(chunk))) > 0)
			buf_add(&b, chunk, (size_t)r);
		if (fd >= 0)
			close(fd);
		body = strstr(buf_cstr(&b), "\n\n");
		body = body ? body + 2 : "";
		subj = strstr(buf_cstr(&b), "\nSubject: ");
		subj = subj ? subj + 10 : "";
		from = strstr(buf_cstr(&b), "\nFrom: ");
		from = from ? from + 7 : "";
		sqlite3_bind_blob(ins, 1, b.data, (int)b.len, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, subj, (int)strcspn(subj, "\n"), SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, body, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, from, (int)strcspn(from, "\n"), SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			return EXIT_SOFTWARE;
		sqlite3_reset(ins);
		sqlite3_bind_int64(fts, 1, sqlite3_last_insert_rowid(db));
		sqlite3_bind_text(fts, 2, subj, (int)strcspn(subj, "\n"), SQLITE_STATIC);
		sqlite3_bind_text(fts, 3, body, -1, SQLITE_STATIC);
		sqlite3_bind_text(fts, 4, from, (int)strcspn(from, "\n"), SQLITE_STATIC);
		if (sqlite3_step(fts) != SQLITE_DONE)
			return EXIT_SOFTWARE;
		sqlite3_reset(fts);
		if ((i % 100 == 99 || i == n - 1) && exec(db, "COMMIT"))
			return EXIT_SOFTWARE;
		free(names[i]);
	}
	free(names);
	buf_release(&b);
	sqlite3_finalize(ins);
	sqlite3_finalize(fts);
	sqlite3_close(db);
	return 0;
}
