/* syncer: a ticket is waited for until its sync is through; a failed sync
 * fails that wait and every later one, and the stop. */
#include "compat.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "syncer.h"
#include "xalloc.h"
#include "unit.h"

static char *
make_file(const char *name)
{
	char *path = xasprintf("%s/%s", unit_dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	close(fd);
	return path;
}

static void
append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
test_tickets_are_waited_for_in_order(void **state)
{
	char *path = make_file("wal");
	struct syncer *sy;
	struct err e = ERR_INIT;
	uint64_t t1, t2, t3;

	(void)state;
	unsetenv("SECDESK_FAULT_SYNC");
	assert_int_equal(syncer_start(path, &sy, &e), 0);
	/* Nothing asked yet: ticket 0 is through at once. */
	assert_int_equal(syncer_wait(sy, 0, &e), 0);
	append(path, "one");
	t1 = syncer_request(sy);
	append(path, "two");
	t2 = syncer_request(sy);
	t3 = syncer_request(sy);
	assert_true(t1 < t2 && t2 < t3);
	/* The last first: the earlier ones are through with it. */
	assert_int_equal(syncer_wait(sy, t3, &e), 0);
	assert_int_equal(syncer_wait(sy, t1, &e), 0);
	assert_int_equal(syncer_wait(sy, t2, &e), 0);
	assert_int_equal(syncer_stop(&sy, &e), 0);
	assert_null(sy);
	assert_int_equal(syncer_stop(&sy, &e), 0); /* NULL: nothing to do */
	free(path);
}

static void
test_a_failed_sync_fails_every_later_wait(void **state)
{
	char *path = make_file("wal2");
	struct syncer *sy;
	struct err e = ERR_INIT;
	uint64_t t1, t2, t3;

	(void)state;
	setenv("SECDESK_FAULT_SYNC", "2", 1);
	assert_int_equal(syncer_start(path, &sy, &e), 0);
	t1 = syncer_request(sy);
	assert_int_equal(syncer_wait(sy, t1, &e), 0);
	t2 = syncer_request(sy); /* the second sync fails */
	assert_int_equal(syncer_wait(sy, t2, &e), -1);
	assert_int_equal(e.code, EXIT_IOERR);
	assert_non_null(strstr(e.msg, "cannot sync"));
	assert_non_null(strstr(e.msg, path));
	e = (struct err)ERR_INIT;
	t3 = syncer_request(sy);
	assert_int_equal(syncer_wait(sy, t3, &e), -1);
	/* Even a ticket that was through before: nothing is trusted after. */
	e = (struct err)ERR_INIT;
	assert_int_equal(syncer_wait(sy, t1, &e), -1);
	e = (struct err)ERR_INIT;
	assert_int_equal(syncer_stop(&sy, &e), -1);
	assert_int_equal(e.code, EXIT_IOERR);
	unsetenv("SECDESK_FAULT_SYNC");
	free(path);
}

static void
test_a_missing_file_is_an_error(void **state)
{
	char *path = xasprintf("%s/absent", unit_dir);
	struct syncer *sy = (struct syncer *)1;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(syncer_start(path, &sy, &e), -1);
	assert_null(sy);
	assert_int_equal(e.code, EXIT_IOERR);
	assert_non_null(strstr(e.msg, "absent"));
	free(path);
}

/* Many requests from one thread while the syncer works: every wait ends. */
static void
test_requests_while_syncing(void **state)
{
	char *path = make_file("wal3");
	struct syncer *sy;
	struct err e = ERR_INIT;

	(void)state;
	unsetenv("SECDESK_FAULT_SYNC");
	assert_int_equal(syncer_start(path, &sy, &e), 0);
	for (int i = 0; i < 200; i++) {
		uint64_t t;

		append(path, "x");
		t = syncer_request(sy);
		if (i % 10 == 9)
			assert_int_equal(syncer_wait(sy, t, &e), 0);
	}
	/* Stopping waits for what was asked. */
	assert_int_equal(syncer_stop(&sy, &e), 0);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tickets_are_waited_for_in_order),
		cmocka_unit_test(test_a_failed_sync_fails_every_later_wait),
		cmocka_unit_test(test_a_missing_file_is_an_error),
		cmocka_unit_test(test_requests_while_syncing),
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
