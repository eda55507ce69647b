/* The intake area (store_intake.h) on both backends, the same cases:
 * staging once per key, pending rows and their bytes, marks, parser
 * crashes, the listing read a window at a time against the intake rows;
 * and the mailbox's lock for hosts that share a store: on PostgreSQL one
 * session holds it, another (another process too) is refused with
 * EXIT_TEMPFAIL at once, and a holder that dies frees it. PostgreSQL runs
 * in a private server (tests/harness/pg.sh); one that cannot start fails
 * the test. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ingest.h"
#include "store.h"
#include "store_intake.h"
#include "xalloc.h"

#include "unit.h"
#include "pg_unit.h"

#define SRC "maildir:/test"

/* Stages key with the bytes raw in a transaction of its own: what
 * store_intake_stage returned. */
static int
stage(struct store *s, const char *key, const char *raw, int64_t *intake_id)
{
	struct err e = ERR_INIT;
	int64_t raw_id;
	int rc;

	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(ingest_store_raw(s, raw, strlen(raw), &raw_id, &e), 0);
	rc = store_intake_stage(s, SRC, key, raw_id, intake_id, &e);
	assert_int_equal(store_commit(s, &e), 0);
	return rc;
}

static void
test_stage_once_pending_and_marks(void **state)
{
	struct store *s = unit_store_open(state, "intake_stage", NULL);
	struct intake_pending *rows;
	struct err e = ERR_INIT;
	int64_t id1 = 0, id2 = 0, other = 0, raw_id = 0;
	size_t n, len;
	char *raw;

	assert_int_equal(stage(s, "k1", "Subject: one\n\nbody one\n", &id1), 1);
	assert_int_equal(stage(s, "k2", "Subject: two\n\nbody two\n", &id2), 1);
	/* The same key again, whatever its bytes: staged before. */
	assert_int_equal(stage(s, "k1", "Subject: other\n\n", &other), 0);
	assert_int_equal(other, 0);

	assert_int_equal(store_intake_pending(s, SRC, 0, &rows, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].id, id1);
	assert_int_equal(rows[1].id, id2);
	assert_int_equal(rows[0].size, strlen("Subject: one\n\nbody one\n"));
	assert_int_equal(rows[0].attempts, 0);
	assert_int_equal(store_intake_raw(s, rows[1].raw_id, &raw, &len, &e), 0);
	assert_string_equal(raw, "Subject: two\n\nbody two\n");
	assert_int_equal(len, strlen(raw));
	free(raw);
	free(rows);
	/* Another source's rows count only when older than asked. */
	assert_int_equal(store_intake_pending(s, "imap://elsewhere", 0, &rows, &n, &e), 0);
	assert_int_equal(n, 0);
	free(rows);

	/* A parser crash counts against a pending row only. */
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_intake_crashed(s, id1, &e), 0);
	assert_int_equal(store_intake_crashed(s, id1, &e), 0);
	assert_int_equal(store_intake_stored(s, id2, 0, false, &e), 0);
	assert_int_equal(store_intake_crashed(s, id2, &e), 0);
	/* done is recorded only for rows no longer pending. */
	assert_int_equal(store_intake_done(s, SRC, "k1", &e), 0);
	assert_int_equal(store_intake_done(s, SRC, "k2", &e), 0);
	assert_int_equal(store_commit(s, &e), 0);

	assert_int_equal(store_intake_pending(s, SRC, 0, &rows, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, id1);
	assert_int_equal(rows[0].attempts, 2);
	free(rows);
	assert_int_equal(store_intake_pending_raw(s, id1, &raw_id, &raw, &len, &e), 0);
	assert_non_null(raw);
	assert_string_equal(raw, "Subject: one\n\nbody one\n");
	free(raw);
	/* A row processed meanwhile: no bytes, no error. */
	assert_int_equal(store_intake_pending_raw(s, id2, &raw_id, &raw, &len, &e), 0);
	assert_null(raw);
	/* A raws id that does not exist is an error that says so. */
	assert_int_equal(store_intake_raw(s, 999999, &raw, &len, &e), -1);
	assert_non_null(strstr(e.msg, "cannot read staged message"));
	store_close(&s);
}

/* The raw bytes and the intake row in one step, and a batch of keys
 * marked done in one: as stage() and store_intake_done one by one. */
static void
test_stage_raw_and_done_keys(void **state)
{
	struct store *s = unit_store_open(state, "intake_stage_raw", NULL);
	static const char *const keys[] = { "a", "b", "c\"{,}" };
	const char *raw = "Subject: one\n\nbody\n";
	struct intake_pending *rows = NULL;
	struct err e = ERR_INIT;
	int64_t raw1 = 0, raw2 = 0, id1 = 0, id2 = 0, id3 = 0, other = 0;
	size_t n = 0;

	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_intake_stage_raw(s, SRC, keys[0], raw, strlen(raw),
						"ab" "0000000000000000000000000000000000000000000000000000000000000a",
						&raw1, &id1, &e), 1);
	/* The same bytes under another key: the same raw row, a new intake row. */
	assert_int_equal(store_intake_stage_raw(s, SRC, keys[1], raw, strlen(raw),
						"ab" "0000000000000000000000000000000000000000000000000000000000000a",
						&raw2, &id2, &e), 1);
	assert_int_equal(raw1, raw2);
	assert_true(id2 > id1);
	assert_int_equal(store_intake_stage_raw(s, SRC, keys[2], "x", 1,
						"cd" "0000000000000000000000000000000000000000000000000000000000000a",
						&raw2, &id3, &e), 1);
	/* A key staged before: 0, the raw row's id still given. */
	assert_int_equal(store_intake_stage_raw(s, SRC, keys[0], "y", 1,
						"ef" "0000000000000000000000000000000000000000000000000000000000000a",
						&raw2, &other, &e), 0);
	assert_int_equal(other, 0);
	assert_true(raw2 > 0);
	assert_int_equal(store_intake_stored(s, id1, 0, false, &e), 0);
	assert_int_equal(store_intake_stored(s, id3, 0, false, &e), 0);
	/* id2 is still pending: done leaves it. */
	assert_int_equal(store_intake_done_keys(s, SRC, keys, 3, &e), 0);
	assert_int_equal(store_intake_done_keys(s, SRC, keys, 0, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(store_intake_pending(s, SRC, 0, &rows, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, id2);
	free(rows);
	store_close(&s);
}

struct seen {
	char keys[8][16];
	enum intake_listed states[8];
	size_t n;
};

static int
remember(void *arg, const char *key, const char *where, enum intake_listed state, int64_t seq)
{
	struct seen *sn = arg;

	(void)where;
	(void)seq;
	assert_true(sn->n < 8);
	snprintf(sn->keys[sn->n], sizeof(sn->keys[0]), "%s", key);
	sn->states[sn->n++] = state;
	return 0;
}

static void
test_listing_window(void **state)
{
	static const char *const listed[] = { "c", "a", "d", "b", "a" };
	struct store *s = unit_store_open(state, "intake_listing", NULL);
	struct err e = ERR_INIT;
	struct seen sn = { 0 };
	int64_t id_a, id_b;
	size_t read, fresh;

	assert_int_equal(stage(s, "a", "Subject: a\n\n", &id_a), 1);
	assert_int_equal(stage(s, "b", "Subject: b\n\n", &id_b), 1);
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_intake_stored(s, id_a, 0, false, &e), 0);
	assert_int_equal(store_intake_stored(s, id_b, 0, false, &e), 0);
	assert_int_equal(store_intake_done(s, SRC, "b", &e), 0);
	assert_int_equal(store_commit(s, &e), 0);

	assert_int_equal(store_intake_listing_begin(s, &e), 0);
	for (size_t i = 0; i < ARRAY_SIZE(listed); i++)
		assert_int_equal(store_intake_listing_add(s, listed[i], NULL, &e), 0);
	assert_int_equal(store_intake_listing_end(s, &e), 0);

	assert_int_equal(store_intake_listing_fresh(s, SRC, &fresh, &e), 0);
	assert_int_equal(fresh, 2); /* c, d */
	/* In key order, two at a time: a (stored, unmarked), b (done)... */
	assert_int_equal(store_intake_listing_read(s, SRC, true, "", 0, 2, remember, &sn, &read,
						   &e), 0);
	assert_int_equal(read, 2);
	assert_string_equal(sn.keys[0], "a");
	assert_int_equal(sn.states[0], INTAKE_LISTED_UNMARKED);
	assert_string_equal(sn.keys[1], "b");
	assert_int_equal(sn.states[1], INTAKE_LISTED_DONE);
	/* ...then c and d, fresh, and the end (fewer than asked). */
	assert_int_equal(store_intake_listing_read(s, SRC, true, "b", 0, 3, remember, &sn, &read,
						   &e), 0);
	assert_int_equal(read, 2);
	assert_string_equal(sn.keys[2], "c");
	assert_int_equal(sn.states[2], INTAKE_LISTED_FRESH);
	assert_string_equal(sn.keys[3], "d");
	/* In the listing's order, a key listed twice is there once. */
	sn.n = 0;
	assert_int_equal(store_intake_listing_read(s, SRC, false, NULL, 0, 10, remember, &sn, &read,
						   &e), 0);
	assert_int_equal(read, 4);
	assert_string_equal(sn.keys[0], "c");
	assert_string_equal(sn.keys[1], "a");

	/* Stored rows no longer listed are settled as done. */
	assert_int_equal(store_intake_listing_begin(s, &e), 0);
	assert_int_equal(store_intake_listing_add(s, "c", NULL, &e), 0);
	assert_int_equal(store_intake_listing_end(s, &e), 0);
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_intake_settle_unlisted(s, SRC, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(store_intake_listing_begin(s, &e), 0);
	assert_int_equal(store_intake_listing_add(s, "a", NULL, &e), 0);
	assert_int_equal(store_intake_listing_end(s, &e), 0);
	sn.n = 0;
	assert_int_equal(store_intake_listing_read(s, SRC, true, "", 0, 10, remember, &sn, &read,
						   &e), 0);
	assert_int_equal(read, 1);
	assert_int_equal(sn.states[0], INTAKE_LISTED_DONE);
	store_close(&s);
}

/* Keys sort as bytes on both backends, whatever the database's locale;
 * a listing read in pieces sees each key once. */
static void
test_listing_bytes_order(void **state)
{
	static const char *const listed[] = { "b", "B", "a-1", "a_1", "a1", "\xc3\xa9", "Z", "1" };
	static const char *const sorted[] = { "1", "B", "Z", "a-1", "a1", "a_1", "b", "\xc3\xa9" };
	struct store *s = unit_store_open(state, "intake_order", NULL);
	struct err e = ERR_INIT;
	struct seen sn = { 0 };
	size_t read;

	assert_int_equal(store_intake_listing_begin(s, &e), 0);
	for (size_t i = 0; i < ARRAY_SIZE(listed); i++)
		assert_int_equal(store_intake_listing_add(s, listed[i], "loc", &e), 0);
	assert_int_equal(store_intake_listing_end(s, &e), 0);
	assert_int_equal(store_intake_listing_read(s, SRC, true, "", 0, 3, remember, &sn, &read,
						   &e), 0);
	assert_int_equal(read, 3);
	assert_int_equal(store_intake_listing_read(s, SRC, true, sn.keys[2], 0, 8, remember, &sn,
						   &read, &e), 0);
	assert_int_equal(read, 5);
	for (size_t i = 0; i < ARRAY_SIZE(sorted); i++)
		assert_string_equal(sn.keys[i], sorted[i]);
	/* A second listing starts empty. */
	assert_int_equal(store_intake_listing_begin(s, &e), 0);
	assert_int_equal(store_intake_listing_add(s, "only", NULL, &e), 0);
	assert_int_equal(store_intake_listing_end(s, &e), 0);
	sn.n = 0;
	assert_int_equal(store_intake_listing_read(s, SRC, false, NULL, 0, 10, remember, &sn,
						   &read, &e), 0);
	assert_int_equal(read, 1);
	assert_string_equal(sn.keys[0], "only");
	store_close(&s);
}

/* Two stores (two connections, as two hosts): on PostgreSQL the second
 * is refused at once while the first holds the mailbox, and gets it once
 * the first lets go or closes; on SQLite (one host, the lock file does
 * it) there is nothing more to take. */
static void
test_mailbox_lock_two_connections(void **state)
{
	char *where = NULL;
	struct store *a = unit_store_open(state, "intake_lock2", &where), *b;
	struct err e = ERR_INIT;

	b = unit_store_open_at(where);
	assert_int_equal(store_mailbox_lock(a, &e), 0);
	if (!unit_is_pg(state)) {
		assert_int_equal(store_mailbox_lock(b, &e), 0);
		goto out;
	}
	assert_int_equal(store_mailbox_lock(b, &e), -1);
	assert_int_equal(e.code, EXIT_TEMPFAIL);
	assert_non_null(strstr(e.msg, "another secdesk run is in progress"));
	assert_non_null(strstr(e.msg, "try again later"));
	/* It names the session that holds it. */
	assert_non_null(strstr(e.msg, "(server process "));
	assert_non_null(strstr(e.msg, "client 127.0.0.1)"));
	assert_null(strstr(e.msg, "password_file"));
	assert_null(strchr(e.msg, '\n'));
	err_clear(&e);
	/* Transactions come and go under it: the lock is the session's. */
	assert_int_equal(store_begin(a, &e), 0);
	store_rollback(a);
	assert_int_equal(store_mailbox_lock(b, &e), -1);
	err_clear(&e);
	store_mailbox_unlock(a);
	assert_int_equal(store_mailbox_lock(b, &e), 0);
	assert_int_equal(store_mailbox_lock(a, &e), -1);
	err_clear(&e);
	/* Closing the store lets go of it, once the server has ended that
	 * session, a moment after the client hung up: asked again until then. */
	store_close(&b);
	int rc = store_mailbox_lock(a, &e);
	for (int tries = 0; rc < 0 && e.code == EXIT_TEMPFAIL && tries < 500; tries++) {
		err_clear(&e);
		usleep(10000);
		rc = store_mailbox_lock(a, &e);
	}
	assert_int_equal(rc, 0);
out:
	store_close(&a);
	store_close(&b);
	free(where);
}

/* A child process holds the mailbox: this one is refused with
 * EXIT_TEMPFAIL, then, the child gone without letting go (as a run killed
 * on its host), takes it. */
static void
test_mailbox_lock_two_processes(void **state)
{
	char *where = NULL;
	struct store *s = unit_store_open(state, "intake_lockp", &where);
	struct err e = ERR_INIT;
	int held[2], go[2], status = 0, rc = -1;
	char c;
	pid_t pid;

	store_close(&s);
	assert_int_equal(pipe(held), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *cs = NULL;
		struct err ce = ERR_INIT;

		if (store_open(where, 0, &cs, &ce) < 0 || store_mailbox_lock(cs, &ce) < 0)
			_exit(1);
		if (write(held[1], "h", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(0); /* without unlocking or closing */
	}
	assert_int_equal(read(held[0], &c, 1), 1);
	s = unit_store_open_at(where);
	if (unit_is_pg(state)) {
		assert_int_equal(store_mailbox_lock(s, &e), -1);
		assert_int_equal(e.code, EXIT_TEMPFAIL);
		assert_non_null(strstr(e.msg, "another secdesk run is in progress"));
		err_clear(&e);
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The server ends the child's session when it sees the connection
	 * closed: until then the lock is still the child's. */
	for (int i = 0; i < 1000 && rc < 0; i++) {
		err_clear(&e);
		rc = store_mailbox_lock(s, &e);
		if (rc < 0) {
			assert_int_equal(e.code, EXIT_TEMPFAIL);
			usleep(10000);
		}
	}
	assert_int_equal(rc, 0);
	store_mailbox_unlock(s);
	store_close(&s);
	close(held[0]);
	close(held[1]);
	close(go[0]);
	close(go[1]);
	free(where);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_stage_once_pending_and_marks),
		BOTH(test_stage_raw_and_done_keys),
		BOTH(test_listing_window),
		BOTH(test_listing_bytes_order),
		BOTH(test_mailbox_lock_two_connections),
		BOTH(test_mailbox_lock_two_processes),
	};

	return cmocka_run_group_tests(tests, pg_unit_setup, pg_unit_teardown);
}
