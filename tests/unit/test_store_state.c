/* The store's key/value state (store_state.h): absent keys, set, replace,
 * a value too long for the caller's buffer, delete, and the state kept
 * across a reopen and a rolled-back transaction. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "xalloc.h"
#include "../../src/store/state_ops.h"

#include "unit.h"

/* sqlite_core.c names the area tables by weak references, which take no
 * member out of libsecdesk.a: this one does (the binary links every
 * object). */
extern const struct store_state_ops sqlite_state_ops;
const struct store_state_ops *const test_state_ops_linked = &sqlite_state_ops;

static struct store *
open_store(void)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *p = NULL;

	assert_true(asprintf(&p, "%s/state.db", unit_dir) > 0);
	assert_int_equal(store_open(p, STORE_CREATE, &s, &e), 0);
	free(p);
	return s;
}

static void
test_get_set_delete(void **state)
{
	struct store *s = open_store();
	struct err e = ERR_INIT;
	char v[16];

	(void)state;
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
	store_close(&s);
}

static void
test_kept_and_rolled_back(void **state)
{
	struct store *s = open_store();
	struct err e = ERR_INIT;
	char v[16];

	(void)state;
	assert_int_equal(store_state_set(s, "kept", "1", &e), 0);
	store_close(&s);
	s = open_store();
	assert_int_equal(store_state_get(s, "kept", v, sizeof(v), &e), 1);
	assert_string_equal(v, "1");
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_state_set(s, "kept", "2", &e), 0);
	store_rollback(s);
	assert_int_equal(store_state_get(s, "kept", v, sizeof(v), &e), 1);
	assert_string_equal(v, "1");
	store_close(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_set_delete),
		cmocka_unit_test(test_kept_and_rolled_back),
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
