/* search_parse: the tree a query gives (as search_node_str writes it), and
 * the refusals, each naming its column. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "search.h"

/* 2026-12-07 00:00 UTC; the tests run with TZ=UTC. */
#define NOW 1796601600

static const struct {
	const char *query;
	const char *tree;
} parses[] = {
	{ "call", "any:call" },
	{ "  call  ", "any:call" },
	{ "call budget", "(and any:call any:budget)" },
	{ "call AND budget", "(and any:call any:budget)" },
	{ "call OR budget", "(or any:call any:budget)" },
	{ "a b OR c", "(or (and any:a any:b) any:c)" },
	{ "a OR b c", "(or any:a (and any:b any:c))" },
	{ "a (b OR c)", "(and any:a (or any:b any:c))" },
	{ "-spam", "(not any:spam)" },
	{ "NOT spam", "(not any:spam)" },
	{ "NOT NOT spam", "(not (not any:spam))" },
	{ "NOT a b", "(and (not any:a) any:b)" },
	{ "-(a OR b)", "(not (or any:a any:b))" },
	{ "-\"a b\"", "(not any:\"a b\")" },
	{ "- a", "(and any:- any:a)" },
	{ "or and not", "(and (and any:or any:and) any:not)" },
	{ "\"joint call\"", "any:\"joint call\"" },
	{ "budg*", "any:budg*" },
	{ "e-mail", "any:e-mail" },
	{ "a-b -c", "(and any:a-b (not any:c))" },
	{ "subject:call", "subject:call" },
	{ "Subject:\"joint call\"", "subject:\"joint call\"" },
	{ "from:anna to:bob body:x*", "(and (and from:anna to:bob) body:x*)" },
	{ "queue:DE status:open", "(and queue=DE status=open)" },
	{ "tag:urgent category:funding assignee:alice", "(and (and tag=urgent category=funding) assignee=alice)" },
	{ "id:5", "id=5" },
	{ "id:#12", "id=12" },
	{ "Re: call", "(and any:Re: any:call)" },
	{ "http://x.example", "any:http://x.example" },
	{ "date:2026", "date[1767225600,1798761600)" },
	{ "date:2026-11", "date[1793491200,1796083200)" },
	{ "date:2026-11-10", "date[1794268800,1794355200)" },
	{ "date:2026-11..2026-12", "date[1793491200,1798761600)" },
	{ "date:2026-11..", "date[1793491200,0)" },
	{ "date:..2026-11", "date[0,1796083200)" },
	{ "after:2026-12-05", "date[1796428800,0)" },
	{ "before:2026-12-05", "date[0,1796428800)" },
	{ "date:today", "date[1796601600,1796688000)" },
	{ "date:yesterday", "date[1796515200,1796601600)" },
	{ "date:7d..", "date[1795996800,0)" },
	{ "date:7d", "date[1795996800,0)" },
	{ "date:..1w", "date[0,1795996800)" },
	{ "date:2026-12-31", "date[1798675200,1798761600)" },
};

static const struct {
	const char *query;
	const char *error;
} refusals[] = {
	{ "", "no words to search for" },
	{ "   ", "no words to search for" },
	{ "call OR", "a word expected after the operator at column 8" },
	{ "OR call", "a word expected before the operator at column 1" },
	{ "call AND", "a word expected after the operator at column 9" },
	{ "NOT", "a word expected after the operator at column 4" },
	{ "(call", "'(' without ')' at column 1" },
	{ "call)", "')' without '(' at column 5" },
	{ "()", "')' without '(' at column 2" },
	{ "call \"joint", "unclosed quote at column 6" },
	{ "\"\"", "empty phrase at column 1" },
	{ "subject:", "expected after the field at column 9" },
	{ "queue:", "a value expected after the field at column 7" },
	{ "date:soon", "a date expected" },
	{ "date:2026-13", "a date expected" },
	{ "date:..", "a date expected" },
	{ "after:2026..2027", "a date expected" },
	{ "date:2026-11..x", "a date expected (YYYY, YYYY-MM, YYYY-MM-DD, today, yesterday, or Nd, Nw, Nm, Ny ago) at column 15" },
	{ "id:abc", "id: takes a ticket number at column 4" },
	{ "call *", "'*' ends a word, it is not one at column 6" },
};

static void
test_parses(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parses); i++) {
		struct search_node *q = NULL;
		struct err e = ERR_INIT;
		char *tree;

		if (search_parse(parses[i].query, NOW, &q, &e) < 0)
			fail_msg("'%s': %s", parses[i].query, e.msg);
		tree = search_node_str(q);
		if (strcmp(tree, parses[i].tree) != 0)
			fail_msg("'%s': got %s, expected %s", parses[i].query, tree, parses[i].tree);
		free(tree);
		search_node_free(q);
	}
}

static void
test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		struct search_node *q = NULL;
		struct err e = ERR_INIT;

		if (search_parse(refusals[i].query, NOW, &q, &e) == 0)
			fail_msg("'%s' was taken", refusals[i].query);
		assert_null(q);
		assert_int_equal(e.code, EXIT_USAGE);
		if (!strstr(e.msg, refusals[i].error))
			fail_msg("'%s': got '%s', expected '%s'", refusals[i].query, e.msg,
				 refusals[i].error);
	}
}

/* Nesting past the limit is refused, not recursed into. */
static void
test_deep_nesting(void **state)
{
	char query[2000];
	struct search_node *q = NULL;
	struct err e = ERR_INIT;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 500; i++)
		query[n++] = '(';
	memcpy(query + n, "x", 2);
	assert_int_equal(search_parse(query, NOW, &q, &e), -1);
	assert_non_null(strstr(e.msg, "too deeply nested"));
	/* A run of dashes is one NOT of a word that begins with dashes. */
	memset(query, '-', 1000);
	memcpy(query + 1000, "x", 2);
	assert_int_equal(search_parse(query, NOW, &q, &e), 0);
	assert_int_equal(q->kind, SEARCH_NOT);
	search_node_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_deep_nesting),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
