/* strlist: what fetch.c's window relies on when it forgets the keys it
 * has asked for (strlist_drop_front). */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "strlist.h"

static void
fill(struct strlist *l, int n)
{
	for (int i = 0; i < n; i++) {
		char s[16];

		snprintf(s, sizeof(s), "k%d", i);
		strlist_add(l, s);
	}
}

static void
test_drop_front_keeps_the_rest_in_order(void **state)
{
	struct strlist l = STRLIST_INIT;

	(void)state;
	fill(&l, 5);
	strlist_drop_front(&l, 2);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0], "k2");
	assert_string_equal(l.items[2], "k4");
	strlist_add(&l, "k5");
	assert_int_equal(l.n, 4);
	assert_string_equal(l.items[3], "k5");
	strlist_release(&l);
}

static void
test_drop_front_none_all_and_more(void **state)
{
	struct strlist l = STRLIST_INIT;

	(void)state;
	strlist_drop_front(&l, 0); /* empty, never allocated */
	strlist_drop_front(&l, 3);
	assert_int_equal(l.n, 0);
	fill(&l, 3);
	strlist_drop_front(&l, 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0], "k0");
	strlist_drop_front(&l, 7); /* more than there are: all */
	assert_int_equal(l.n, 0);
	fill(&l, 1);
	assert_string_equal(l.items[0], "k0");
	strlist_release(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_front_keeps_the_rest_in_order),
		cmocka_unit_test(test_drop_front_none_all_and_more),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
