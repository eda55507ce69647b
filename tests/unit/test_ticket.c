/* ticket_word_valid: what a tag, category or assignee may be, whether staff
 * type it or a rule's capture brings it from mail. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ticket.h"

static const struct {
	const char *word;
	bool ok;
} words[] = {
	{ "press", true },
	{ "org-acme", true },
	{ "dangerous-attachment", true },
	{ "Förderung", true },
	{ "日本", true },
	{ "a.b_c/d", true },
	{ "", false },
	{ "Acme,Inc", false },
	{ "two words", false },
	{ "tab\tbed", false },
	{ "new\nline", false },
	{ "cr\r", false },
	{ "esc\x1b[31m", false },
	{ "del\x7f", false },
	{ "c1\xc2\x85" "x", false },  /* NEL */
	{ "c1\xc2\x9b" "x", false },  /* CSI */
	{ "bad\xff", false },         /* not UTF-8 */
	{ "cut\xc3", false },         /* a sequence cut short */
	{ "nbsp\xc2\xa0ok", true },   /* U+00A0 is no control */
};

static void
test_words(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (ticket_word_valid(words[i].word) != words[i].ok)
			fail_msg("case %zu: expected %s", i, words[i].ok ? "valid" : "invalid");
}

static void
test_word_length(void **state)
{
	char w[TICKET_WORD_MAX + 2];

	(void)state;
	memset(w, 'x', sizeof(w));
	w[TICKET_WORD_MAX] = '\0';
	assert_true(ticket_word_valid(w));
	w[TICKET_WORD_MAX] = 'x';
	w[TICKET_WORD_MAX + 1] = '\0';
	assert_false(ticket_word_valid(w));
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_word_length),
	};

	return cmocka_run_group_tests(t, NULL, NULL);
}
