/* The store's intake area (store_intake.h): staging once per key, pending
 * rows and their bytes, marks, parser crashes, and the listing read a
 * window at a time against the intake rows. */
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

#define SRC "maildir:/test"

static struct store *
open_store(const char *name)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", unit_dir, name) > 0);
	assert_int_equal(store_open(p, STORE_CREATE, &s, &e), 0);
	free(p);
	return s;
}

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
	struct store *s = open_store("stage.db");
	struct intake_pending *rows;
	struct err e = ERR_INIT;
	int64_t id1 = 0, id2 = 0, other = 0, raw_id = 0;
	size_t n, len;
	char *raw;

	(void)state;
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
	struct store *s = open_store("listing.db");
	struct err e = ERR_INIT;
	struct seen sn = { 0 };
	int64_t id_a, id_b;
	size_t read, fresh;

	(void)state;
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stage_once_pending_and_marks),
		cmocka_unit_test(test_listing_window),
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
