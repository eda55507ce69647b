/* mailurl: server URLs parsed into parts, every bad one refused with
 * EXIT_CONFIG; formatted back without secrets. Table-driven. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth.h"
#include "mailurl.h"

static const struct {
	const char *url;
	int default_port;
	const char *scheme, *user, *host;
	int port;
	const char *path;
	const char *formatted;
} good[] = {
	{ "imaps://desk@imap.example.org/INBOX", 993, "imaps", "desk", "imap.example.org", 993,
	  "INBOX", "imaps://desk@imap.example.org/INBOX" },
	{ "IMAPS://desk@imap.example.org:1993/INBOX", 993, "imaps", "desk", "imap.example.org",
	  1993, "INBOX", "imaps://desk@imap.example.org:1993/INBOX" },
	{ "imap://imap.example.org", 143, "imap", NULL, "imap.example.org", 143, "",
	  "imap://imap.example.org" },
	{ "pop3s://a%40b.org@pop.example.org:995", 995, "pop3s", "a@b.org", "pop.example.org", 995,
	  "", "pop3s://a@b.org@pop.example.org" },
	{ "imaps://desk@[::1]:9993/Shared%20Inbox", 993, "imaps", "desk", "::1", 9993,
	  "Shared Inbox", "imaps://desk@[::1]:9993/Shared Inbox" },
	{ "imaps://user@corp.example@imap.example.org/INBOX", 993, "imaps", "user@corp.example",
	  "imap.example.org", 993, "INBOX", "imaps://user@corp.example@imap.example.org/INBOX" },
	{ "smtp://127.0.0.1:2525", 587, "smtp", NULL, "127.0.0.1", 2525, "",
	  "smtp://127.0.0.1:2525" },
};

static const struct {
	const char *url;
	const char *why; /* a part of the message */
} bad[] = {
	{ "imaps:/host", "expected SCHEME://HOST" },
	{ "://host", "expected SCHEME://HOST" },
	{ "imaps://desk:secret@host/INBOX", "password does not belong" },
	{ "imaps://@host/INBOX", "bad user name" },
	{ "imaps:///INBOX", "no host" },
	{ "imaps://desk@host:0/INBOX", "bad port" },
	{ "imaps://desk@host:65536/INBOX", "bad port" },
	{ "imaps://desk@host:99x/INBOX", "bad port" },
	{ "imaps://desk@host:/INBOX", "bad port" },
	{ "imaps://desk@[::1/INBOX", "unclosed" },
	{ "imaps://desk@ho st/INBOX", "bad character" },
	{ "imaps://desk@host/IN%0ABOX", "bad %-escape" },
	{ "imaps://desk@host/IN%zz", "bad %-escape" },
	{ "imaps://desk@host/IN%4", "bad %-escape" },
	{ "imaps://de%0Ask@host/INBOX", "bad user name" },
};

static void
test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct mailurl u;
		struct err e = ERR_INIT;
		char *f;

		if (mailurl_parse(&u, good[i].url, good[i].default_port, &e) != 0)
			fail_msg("%s: %s", good[i].url, e.msg);
		assert_string_equal(u.scheme, good[i].scheme);
		if (good[i].user)
			assert_string_equal(u.user, good[i].user);
		else
			assert_null(u.user);
		assert_string_equal(u.host, good[i].host);
		assert_int_equal(u.port, good[i].port);
		assert_string_equal(u.path, good[i].path);
		f = mailurl_format(&u, good[i].default_port);
		assert_string_equal(f, good[i].formatted);
		free(f);
		mailurl_release(&u);
	}
}

static void
test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct mailurl u;
		struct err e = ERR_INIT;

		if (mailurl_parse(&u, bad[i].url, 993, &e) != -1)
			fail_msg("%s: accepted", bad[i].url);
		assert_int_equal(e.code, EXIT_CONFIG);
		if (!strstr(e.msg, bad[i].why))
			fail_msg("%s: '%s' does not say '%s'", bad[i].url, e.msg, bad[i].why);
		assert_null(u.scheme);
	}
}

static void
test_no_port(void **state)
{
	struct mailurl u;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(mailurl_parse(&u, "x://host", 0, &e), -1);
	assert_non_null(strstr(e.msg, "no port"));
}

/* The user from the config wins over the url's; without either, a clear
 * EXIT_CONFIG. */
static void
test_auth_user(void **state)
{
	struct conn_config cc = { 0 };
	struct mailurl u;
	struct auth a;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(mailurl_parse(&u, "imaps://urluser@host/INBOX", 993, &e), 0);
	setenv("SECDESK_TEST_PW", "pw", 1);
	assert_int_equal(auth_load(&a, &cc, &u, "SECDESK_TEST_PW", &e), 0);
	assert_string_equal(a.user, "urluser");
	assert_string_equal(a.password, "pw");
	auth_release(&a);
	cc.user = (char *)"confuser";
	assert_int_equal(auth_load(&a, &cc, &u, "SECDESK_TEST_PW", &e), 0);
	assert_string_equal(a.user, "confuser");
	auth_release(&a);
	mailurl_release(&u);
	cc.user = NULL;
	assert_int_equal(mailurl_parse(&u, "imaps://host/INBOX", 993, &e), 0);
	assert_int_equal(auth_load(&a, &cc, &u, "SECDESK_TEST_PW", &e), -1);
	assert_int_equal(e.code, EXIT_CONFIG);
	mailurl_release(&u);
	unsetenv("SECDESK_TEST_PW");
}

/* The token command: its first line; failure and silence are errors. */
static void
test_token_command(void **state)
{
	struct err e = ERR_INIT;
	char *t;

	(void)state;
	t = auth_run_token_command("printf 'ya29.token\\nsecond line\\n'", &e);
	assert_non_null(t);
	assert_string_equal(t, "ya29.token");
	free(t);
	assert_null(auth_run_token_command("exit 2", &e));
	assert_int_equal(e.code, EXIT_TEMPFAIL);
	assert_null(auth_run_token_command("true", &e));
	assert_int_equal(e.code, EXIT_CONFIG);
	assert_null(auth_run_token_command("head -c 20000 /dev/zero | tr '\\0' x", &e));
	assert_non_null(strstr(e.msg, "too much"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_no_port),
		cmocka_unit_test(test_auth_user),
		cmocka_unit_test(test_token_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
