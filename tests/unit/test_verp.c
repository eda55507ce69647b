/* verp: the desk's bounce address parsed back into its outbox id and
 * check, and every look-alike refused. Table-driven. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "verp.h"

#define DESK "secretariat@icpermed.example"

static const struct {
	const char *addr;
	long long id;
	const char *check;
} good[] = {
	{ "secretariat+bounce-42-0123abcd@icpermed.example", 42, "0123abcd" },
	{ "Secretariat+Bounce-7-DEADBEEF@ICPerMed.example", 7, "deadbeef" },
	{ "secretariat+bounce-999999-ffffffff@icpermed.example", 999999, "ffffffff" },
};

static const char *const bad[] = {
	"secretariat@icpermed.example",                        /* the plain address */
	"secretariat+bounce-42@icpermed.example",              /* no check */
	"secretariat+bounce-42-0123abc@icpermed.example",      /* short check */
	"secretariat+bounce-42-0123abcg@icpermed.example",     /* not hex */
	"secretariat+bounce-42-0123abcde@icpermed.example",    /* long check */
	"secretariat+bounce--0123abcd@icpermed.example",       /* no id */
	"secretariat+bounce-0-0123abcd@icpermed.example",      /* id 0 */
	"secretariat+bounce-x1-0123abcd@icpermed.example",
	"secretariat+bounce-42-0123abcd@elsewhere.example",    /* another domain */
	"secretariat+bounce-42-0123abcd@icpermed.example.org",
	"other+bounce-42-0123abcd@icpermed.example",           /* another desk */
	"xsecretariat+bounce-42-0123abcd@icpermed.example",
	"secretariat+bounced-42-0123abcd@icpermed.example",
	"secretariat+bounce-42-0123abcd",
	"",
};

static void
test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		int64_t id = 0;
		char check[9] = "";

		assert_int_equal(verp_parse(DESK, good[i].addr, &id, check), 1);
		assert_int_equal(id, good[i].id);
		assert_string_equal(check, good[i].check);
	}
}

static void
test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t id = 0;
		char check[9] = "";

		if (verp_parse(DESK, bad[i], &id, check) != 0)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void
test_kinds(void **state)
{
	(void)state;
	assert_true(verp_kind("notice"));
	assert_true(verp_kind("reply"));
	assert_false(verp_kind("ack"));
	assert_false(verp_kind("remind"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
