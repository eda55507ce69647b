/* The key/value state (store_state.h) on both backends, the same cases:
 * absent keys, set, replace, a value too long for the caller's buffer,
 * delete, kept across a reopen and undone by a rollback, text bound and
 * never spliced into SQL. PostgreSQL runs in a private server
 * (tests/harness/pg.sh); one that cannot start fails the test. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "store_state.h"
#include "xalloc.h"

#include "unit.h"
#include "pg_unit.h"

static void
test_get_set_delete(void **state)
{
	struct store *s = unit_store_open(state, "state_gsd", NULL);
	struct err e = ERR_INIT;
	char v[16];

	assert_int_equal(store_state_get(s, "outage.test", v, sizeof(v), &e), 0);
	assert_string_equal(v, "");
	assert_int_equal(store_state_set(s, "outage.test", "10 20", &e), 0);
	assert_int_equal(store_state_get(s, "outage.test", v, sizeof(v), &e), 1);
	assert_string_equal(v, "10 20");
	assert_int_equal(store_state_set(s, "outage.test", "30 40", &e), 0);
	assert_int_equal(store_state_get(s, "outage.test", v, sizeof(v), &e), 1);
	assert_string_equal(v, "30 40");
	/* Fifteen bytes fit, sixteen do not: an error, never a cut value. */
	assert_int_equal(store_state_set(s, "outage.test", "123456789012345", &e), 0);
	assert_int_equal(store_state_get(s, "outage.test", v, sizeof(v), &e), 1);
	assert_string_equal(v, "123456789012345");
	assert_int_equal(store_state_set(s, "outage.test", "1234567890123456", &e), 0);
	assert_int_equal(store_state_get(s, "outage.test", v, sizeof(v), &e), -1);
	assert_non_null(strstr(e.msg, "outage.test"));
	assert_int_equal(store_state_delete(s, "outage.test", &e), 0);
	assert_int_equal(store_state_get(s, "outage.test", v, sizeof(v), &e), 0);
	/* Deleting what is not there is no error. */
	assert_int_equal(store_state_delete(s, "outage.test", &e), 0);
	/* An empty value is a value. */
	assert_int_equal(store_state_set(s, "empty", "", &e), 0);
	assert_int_equal(store_state_get(s, "empty", v, sizeof(v), &e), 1);
	assert_string_equal(v, "");
	store_close(&s);
}

static void
test_kept_and_rolled_back(void **state)
{
	char *where = NULL;
	struct store *s = unit_store_open(state, "state_kept", &where);
	struct err e = ERR_INIT;
	char v[64];

	assert_int_equal(store_state_set(s, "kept", "1", &e), 0);
	store_close(&s);
	s = unit_store_open_at(where);
	assert_int_equal(store_state_get(s, "kept", v, sizeof(v), &e), 1);
	assert_string_equal(v, "1");
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_state_set(s, "kept", "2", &e), 0);
	assert_int_equal(store_state_set(s, "new", "x", &e), 0);
	store_rollback(s);
	assert_int_equal(store_state_get(s, "kept", v, sizeof(v), &e), 1);
	assert_string_equal(v, "1");
	assert_int_equal(store_state_get(s, "new", v, sizeof(v), &e), 0);
	/* Quotes and semicolons are data. */
	assert_int_equal(store_state_set(s, "o'hara; DROP TABLE state; --", "it's \"x\"", &e), 0);
	assert_int_equal(store_state_get(s, "o'hara; DROP TABLE state; --", v, sizeof(v), &e), 1);
	assert_string_equal(v, "it's \"x\"");
	assert_int_equal(store_state_get(s, "kept", v, sizeof(v), &e), 1);
	/* The store's id, made by the schema, is there on both. */
	assert_int_equal(store_state_get(s, "store_id", v, sizeof(v), &e), 1);
	assert_int_equal(strlen(v), 32);
	store_close(&s);
	free(where);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_get_set_delete),
		BOTH(test_kept_and_rolled_back),
	};

	return cmocka_run_group_tests(tests, pg_unit_setup, pg_unit_teardown);
}
