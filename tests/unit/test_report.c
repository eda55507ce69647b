/* The figures and the HTML page (report.h): durations, medians (odd and
 * even counts), ISO weeks across a year's end, escaping of hostile text,
 * the page's cap, and the atomic write. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "store.h"
#include "store_sqlite.h"
#include "xalloc.h"

static char tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/secdesk-report.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

static void
sql(struct store *s, const char *q)
{
	struct err e = ERR_INIT;

	if (store_exec(s, q, &e) < 0)
		fail_msg("%s: %s", q, e.msg);
}

static void
test_duration(void **state)
{
	static const struct {
		int64_t secs;
		const char *want;
	} cases[] = {
		{ -1, "0s" }, { 0, "0s" }, { 59, "59s" }, { 60, "1m" }, { 3599, "59m" },
		{ 3600, "1h 0m" }, { 86399, "23h 59m" }, { 86400, "1d 0h" }, { 90061, "1d 1h" },
		{ 400 * 86400LL, "400d 0h" },
	};
	char b[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		report_duration(cases[i].secs, b, sizeof(b));
		assert_string_equal(b, cases[i].want);
	}
}

static struct store *
open_store(const char *name)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	char *p = xasprintf("%s/%s", tmpdir, name);

	assert_int_equal(store_open(p, STORE_CREATE, &s, &e), 0);
	free(p);
	return s;
}

static void
test_medians_and_weeks(void **state)
{
	/* Thursday 2027-01-07 12:00 UTC: ISO week 2027-W01 began Monday
	 * 2027-01-04; the week before is 2026-W53. */
	const int64_t now = 1799323200;
	struct store *s = open_store("m.db");
	struct err e = ERR_INIT;
	json_t *fig = NULL, *w;
	char *q;

	(void)state;
	/* DE: answers after 100, 300, 200, 1000 s (even: median 250); FR: 50
	 * (odd); one DE ticket unanswered; merged stub answered (ignored). */
	q = xasprintf("INSERT INTO tickets (id, status, queue, created, updated) VALUES"
		      " (1, 'pending', 'DE', %lld, 0), (2, 'pending', 'DE', %lld, 0),"
		      " (3, 'pending', 'DE', %lld, 0), (4, 'closed', 'DE', %lld, 0),"
		      " (5, 'pending', 'FR', %lld, 0), (6, 'new', 'DE', %lld, 0),"
		      " (7, 'closed', 'FR', %lld, 0)",
		      (long long)(now - 1000), (long long)(now - 2000), (long long)(now - 8 * 86400),
		      (long long)(now - 3000), (long long)(now - 4000), (long long)now,
		      (long long)(now - 5000));
	sql(s, q);
	free(q);
	sql(s, "UPDATE tickets SET merged_into = 5 WHERE id = 7");
	q = xasprintf("INSERT INTO messages (ticket_id, direction, kind, created) VALUES"
		      " (1, 'out', 'reply', %lld), (1, 'out', 'reply', %lld),"
		      " (2, 'out', 'reply', %lld), (3, 'out', 'reply', %lld),"
		      " (4, 'out', 'reply', %lld), (4, 'out', 'ack', %lld),"
		      " (5, 'out', 'reply', %lld), (6, 'out', 'ack', %lld),"
		      " (7, 'out', 'reply', %lld)",
		      (long long)(now - 900), (long long)(now - 10), (long long)(now - 1700),
		      (long long)(now - 8 * 86400 + 200), (long long)(now - 2000),
		      (long long)(now - 2999), (long long)(now - 3950), (long long)now,
		      (long long)(now - 4999));
	sql(s, q);
	free(q);
	assert_int_equal(report_figures(s, now, &fig, &e), 0);
	w = json_object_get(json_object_get(fig, "first_answer_by_queue"), "DE");
	assert_int_equal(json_integer_value(json_object_get(w, "answered")), 4);
	assert_int_equal(json_integer_value(json_object_get(w, "median_seconds")), 250);
	w = json_object_get(json_object_get(fig, "first_answer_by_queue"), "FR");
	assert_int_equal(json_integer_value(json_object_get(w, "answered")), 1);
	assert_int_equal(json_integer_value(json_object_get(w, "median_seconds")), 50);
	/* All: 50 100 200 300 1000. */
	assert_int_equal(json_integer_value(json_object_get(fig, "first_answer_median_seconds")),
			 200);
	assert_int_equal(json_integer_value(json_object_get(fig, "total")), 6);
	w = json_object_get(fig, "tickets_per_week");
	assert_int_equal(json_array_size(w), REPORT_WEEKS);
	assert_string_equal(json_string_value(json_object_get(json_array_get(w, 11), "week")),
			    "2027-W01");
	assert_string_equal(json_string_value(json_object_get(json_array_get(w, 11), "start")),
			    "2027-01-04");
	assert_string_equal(json_string_value(json_object_get(json_array_get(w, 10), "week")),
			    "2026-W53");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(w, 11), "tickets")), 5);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(w, 10), "tickets")), 1);
	json_decref(fig);
	store_close(&s);
}

static void
test_html_escapes(void **state)
{
	struct store *s = open_store("h.db");
	struct err e = ERR_INIT;
	struct report_html_opts o = { "Desk <&> \"x\"", "2027-01-07 13:00 CET", NULL };
	struct buf page = BUF_INIT;
	json_t *fig = NULL;

	(void)state;
	/* Markup, a control character and a broken UTF-8 byte in a queue. */
	sql(s, "INSERT INTO tickets (status, queue, created, updated) VALUES"
	       " ('new', '<script>a&b</script>' || char(7) || 'x' || CAST(X'ff' AS TEXT), 0, 0)");
	assert_int_equal(report_figures(s, 1799323200, &fig, &e), 0);
	/* The queue is kept (jansson takes UTF-8 keys only: the bad byte is
	 * replaced, the ticket not dropped). */
	assert_int_equal(json_object_size(json_object_get(fig, "by_queue")), 1);
	assert_int_equal(json_object_size(json_object_get(fig, "open_by_queue_status")), 1);
	assert_int_equal(report_html(fig, &o, &page, &e), 0);
	assert_null(strstr(page.data, "<script"));
	assert_null(strstr(page.data, "\x07"));
	assert_null(strstr(page.data, "\xff"));
	/* The control shown as the terminal shows it (termsafe.h). */
	assert_non_null(strstr(page.data, "&lt;script&gt;a&amp;b&lt;/script&gt;\\x07x\xef\xbf\xbd"));
	assert_non_null(strstr(page.data, "<title>Desk &lt;&amp;&gt; &quot;x&quot;: tickets"));
	assert_non_null(strstr(page.data, "2027-01-07 13:00 CET"));
	assert_null(strstr(page.data, "http"));
	buf_release(&page);
	/* The cap: a page that does not fit is an error, never cut short. */
	buf_init(&page, 1000);
	assert_int_equal(report_html(fig, &o, &page, &e), -1);
	assert_int_equal(e.code, EXIT_SOFTWARE);
	buf_release(&page);
	json_decref(fig);
	store_close(&s);
}

static void
test_write_file(void **state)
{
	struct err e = ERR_INIT;
	char *p = xasprintf("%s/r.html", tmpdir), *bad = xasprintf("%s/no/r.html", tmpdir);
	struct stat st;
	char b[16] = "";
	FILE *f;

	(void)state;
	assert_int_equal(report_write_file(p, "one", 3, &e), 0);
	assert_int_equal(report_write_file(p, "two!", 4, &e), 0);
	f = fopen(p, "r");
	assert_non_null(f);
	assert_non_null(fgets(b, sizeof(b), f));
	fclose(f);
	assert_string_equal(b, "two!");
	assert_int_equal(stat(p, &st), 0);
	/* The desk's mode (filemode.h), whatever the umask. */
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(report_write_file(bad, "x", 1, &e), -1);
	assert_int_equal(e.code, EXIT_CANTCREAT);
	assert_non_null(strstr(e.msg, "cannot write"));
	/* A folder in the way: the rename fails, the temporary file goes. */
	assert_int_equal(report_write_file(tmpdir, "x", 1, &e), -1);
	assert_int_equal(e.code, EXIT_CANTCREAT);
	{
		char *cmd = xasprintf("ls -a '%s' | grep -q secdesk-report", tmpdir);

		assert_int_not_equal(system(cmd), 0);
		free(cmd);
	}
	free(p);
	free(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test_setup_teardown(test_medians_and_weeks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_html_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
