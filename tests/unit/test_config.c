/* Config: good files load, every bad one is refused with file:line. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "xalloc.h"

#include "unit.h"


static const char base[] = "[desk]\n"
			   "name = ICPerMed Secretariat\n"
			   "address = secretariat@icpermed.example ; the desk\n"
			   "tag = ICPerMed\n"
			   "[mailbox]\n"
			   "url = maildir:inbox\n"
			   "[store]\n"
			   "path = secdesk.db\n"
			   "[send]\n"
			   "url = dir:outbox\n"
			   "[rules]\n"
			   "dir = rules\n"
			   "[templates]\n"
			   "dir = /etc/secdesk/templates\n";

static char *
write_conf(const char *text)
{
	char *path = NULL;
	FILE *fp;

	assert_true(asprintf(&path, "%s/secdesk.conf", unit_dir) > 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
test_good(void **state)
{
	struct config cfg;
	struct err e = ERR_INIT;
	char *path = write_conf(base), *want;

	(void)state;
	assert_int_equal(config_load(&cfg, path, &e), 0);
	assert_string_equal(cfg.desk.address, "secretariat@icpermed.example");
	assert_string_equal(cfg.desk.tag, "ICPerMed");
	assert_int_equal(cfg.mailbox.after, AFTER_SEEN);
	assert_int_equal(cfg.mailbox.batch, 100);
	assert_null(cfg.mailbox.trusted_authserv_id);
	/* Relative paths are relative to the config file's folder. */
	want = NULL;
	assert_true(asprintf(&want, "maildir:%s/inbox", cfg.dir) > 0);
	assert_string_equal(cfg.mailbox.conn.url, want);
	free(want);
	assert_true(asprintf(&want, "%s/secdesk.db", cfg.dir) > 0);
	assert_string_equal(cfg.store.path, want);
	free(want);
	/* This host's files of the store (crash evidence) sit beside it. */
	want = NULL;
	assert_true(asprintf(&want, "%s/secdesk.db.crashes", cfg.dir) > 0);
	assert_string_equal(cfg.store.crash_file, want);
	free(want);
	assert_string_equal(cfg.templates.dir, "/etc/secdesk/templates");
	config_release(&cfg);
	free(path);
}

/* A server's store has no file: this host's files of it (the run lock, the
 * crash evidence) go to the config's folder, not to a name made of the URL. */
static void
test_pg_local_files(void **state)
{
	struct config cfg;
	struct err e = ERR_INIT;
	const char *key = "path = secdesk.db", *at = strstr(base, key);
	char *text = NULL, *path, *want = NULL;

	(void)state;
	assert_non_null(at);
	assert_true(asprintf(&text, "%.*surl = postgresql://u@h/d%s", (int)(at - base), base,
			     at + strlen(key)) > 0);
	path = write_conf(text);
	assert_int_equal(config_load(&cfg, path, &e), 0);
	assert_true(asprintf(&want, "%s/secdesk.crashes", cfg.dir) > 0);
	assert_string_equal(cfg.store.crash_file, want);
	free(want);
	want = NULL;
	assert_true(asprintf(&want, "%s/secdesk.lock", cfg.dir) > 0);
	assert_string_equal(cfg.desk.lock_file, want);
	free(want);
	config_release(&cfg);
	free(path);
	free(text);
}

static void
test_values(void **state)
{
	struct config cfg;
	struct err e = ERR_INIT;
	char *text = NULL, *path;

	(void)state;
	assert_true(asprintf(&text, "%s[limits]\nmax_message_size = 25M\n[ack]\n"
				    "per_sender_window = 2h\nenabled = no\n[mailbox]\n"
				    "trusted_authserv_id = mx.icpermed.example\n", base) > 0);
	path = write_conf(text);
	assert_int_equal(config_load(&cfg, path, &e), 0);
	assert_int_equal(cfg.limits.max_message_size, 25 * 1024 * 1024);
	assert_int_equal(cfg.ack.per_sender_window, 7200);
	assert_false(cfg.ack.enabled);
	assert_string_equal(cfg.mailbox.trusted_authserv_id, "mx.icpermed.example");
	config_release(&cfg);
	free(text);
	free(path);
}

/* [store] index_thread: yes by default on SQLite, no on PostgreSQL; the
 * key, when given, decides on either. */
static void
test_index_thread(void **state)
{
	static const struct {
		const char *store; /* the [store] section's lines */
		bool want;
	} cases[] = {
		{ "path = secdesk.db\n", true },
		{ "url = sqlite:secdesk.db\n", true },
		{ "path = secdesk.db\nindex_thread = no\n", false },
		{ "url = postgresql://desk@localhost/desk\n", false },
		{ "url = postgres://desk@localhost/desk\nindex_thread = no\n", false },
		{ "url = postgresql://desk@localhost/desk\nindex_thread = yes\n", true },
	};
	const char *line = strstr(base, "path = secdesk.db\n");

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct config cfg;
		struct err e = ERR_INIT;
		char *text = NULL, *path;

		assert_true(asprintf(&text, "%.*s%s%s", (int)(line - base), base, cases[i].store,
				     line + strlen("path = secdesk.db\n")) > 0);
		path = write_conf(text);
		assert_int_equal(config_load(&cfg, path, &e), 0);
		if (cfg.store.index_thread != cases[i].want)
			fail_msg("case %zu (%s): index_thread %d", i, cases[i].store,
				 cfg.store.index_thread);
		config_release(&cfg);
		free(text);
		free(path);
	}
}

/* [notice] attach and [staff "USER"] sections. */
static void
test_notice_staff(void **state)
{
	static const struct {
		const char *value;
		size_t want;
	} attach[] = {
		{ "no", 0 }, { "yes", SIZE_MAX }, { "under:10K", 10 * 1024 }, { "under:2M", 2 << 20 },
	};
	struct config cfg;
	struct err e = ERR_INIT;
	char *text = NULL, *path, *want = NULL;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(attach); i++) {
		assert_true(asprintf(&text, "%s[notice]\nattach = %s\n", base, attach[i].value) > 0);
		path = write_conf(text);
		assert_int_equal(config_load(&cfg, path, &e), 0);
		assert_true(cfg.notice.attach_max == attach[i].want);
		config_release(&cfg);
		free(text);
		free(path);
	}
	path = write_conf(base);
	assert_int_equal(config_load(&cfg, path, &e), 0);
	assert_true(cfg.notice.attach_max == 0);
	assert_null(config_staff_find(&cfg, "alice"));
	config_release(&cfg);
	free(path);
	assert_true(asprintf(&text, "%s[staff \"alice\"]\nname = Alice Martin\n"
			     "[staff \"bob.b\"]\nsignature = Bob\\nDLR\n[staff \"alice\"]\n"
			     "signature_file = sig/alice\n", base) > 0);
	path = write_conf(text);
	assert_int_equal(config_load(&cfg, path, &e), 0);
	assert_int_equal(cfg.nstaff, 2);
	assert_string_equal(config_staff_find(&cfg, "alice")->name, "Alice Martin");
	assert_true(asprintf(&want, "%s/sig/alice", cfg.dir) > 0);
	assert_string_equal(config_staff_find(&cfg, "alice")->signature_file, want);
	assert_string_equal(config_staff_find(&cfg, "bob.b")->signature, "Bob\nDLR");
	assert_null(config_staff_find(&cfg, "bob.b")->name);
	assert_null(config_staff_find(&cfg, "carol"));
	config_release(&cfg);
	free(want);
	free(text);
	free(path);
}

/* [desk] aliases: a list, blanks forgiven; the desk is any of them. */
static void
test_aliases(void **state)
{
	struct config cfg;
	struct err e = ERR_INIT;
	char *text = NULL, *path;

	(void)state;
	assert_true(asprintf(&text, "%s[desk]\naliases =  office@icpermed.example ,"
			     "ICPerMed@DLR.example. ,\n", base) > 0);
	path = write_conf(text);
	assert_int_equal(config_load(&cfg, path, &e), 0);
	assert_int_equal(cfg.desk.aliases.n, 2);
	assert_string_equal(cfg.desk.aliases.items[0], "office@icpermed.example");
	assert_string_equal(cfg.desk.aliases.items[1], "ICPerMed@DLR.example.");
	assert_true(config_is_desk(&cfg, "Secretariat+x@icpermed.example"));
	assert_true(config_is_desk(&cfg, "icpermed@dlr.example"));
	assert_true(config_is_desk(&cfg, "office+y@icpermed.example."));
	assert_false(config_is_desk(&cfg, "office2@icpermed.example"));
	assert_false(config_is_desk(&cfg, "ana@example.org"));
	config_release(&cfg);
	free(path);
	free(text);
	/* None given: the address alone. */
	path = write_conf(base);
	assert_int_equal(config_load(&cfg, path, &e), 0);
	assert_int_equal(cfg.desk.aliases.n, 0);
	assert_true(config_is_desk(&cfg, "secretariat@icpermed.example"));
	assert_false(config_is_desk(&cfg, "office@icpermed.example"));
	config_release(&cfg);
	free(path);
}

struct bad_case {
	const char *extra;  /* appended to base */
	const char *expect; /* part of the error */
};

static const struct bad_case bad_cases[] = {
	{ "[mailbox]\ncolour = blue\n", "secdesk.conf:16: unknown key 'colour' in [mailbox]" },
	{ "[mailbx]\nurl = x\n", "secdesk.conf:16: unknown section [mailbx]" },
	{ "[mailbox]\nafter = later\n", "secdesk.conf:16: [mailbox] after: 'later' is not" },
	{ "[mailbox]\nafter = move:\n", "[mailbox] after: 'move:' is not" },
	{ "[mailbox]\nbatch = -3\n", "[mailbox] batch: '-3' is not a number" },
	{ "[mailbox]\nbatch = 0\n", "secdesk.conf:16: [mailbox] batch: must be 1 to 10000" },
	{ "[mailbox]\nalert_after = soon\n",
	  "secdesk.conf:16: [mailbox] alert_after: 'soon' is not a duration" },
	{ "[store]\nurl = sqlite:other.db\n",
	  "secdesk.conf:16: [store] url: path and url both given" },
	{ "[mailbox]\ntrusted_authserv_id = mx.example.org; dmarc=pass\n",
	  "secdesk.conf:16: [mailbox] trusted_authserv_id: 'mx.example.org; dmarc=pass' is not an "
	  "authserv-id" },
	{ "[mailbox]\ntrusted_authserv_id = mx example\n",
	  "[mailbox] trusted_authserv_id: 'mx example' is not an authserv-id" },
	{ "[mailbox]\ntrusted_authserv_id =\n", "[mailbox] trusted_authserv_id: '' is not" },
	{ "[mailbox]\ntls = off\n", "[mailbox] tls: 'off' is not 'none' or 'required'" },
	{ "[mailbox]\ntimeout = 5 minutes\n", "[mailbox] timeout: '5 minutes' is not a duration" },
	{ "[limits]\nmax_message_size = 10X\n", "[limits] max_message_size: '10X' is not a size" },
	{ "[ack]\nenabled = perhaps\n", "[ack] enabled: 'perhaps' is not yes or no" },
	{ "[store]\npath = other.db\n", "secdesk.conf:16: [store] path: given twice" },
	{ "[desk]\naliases = office@icpermed.example, nope\n",
	  "secdesk.conf:16: [desk] aliases: 'nope' is not a mail address" },
	{ "[desk]\naliases = a@b.example\naliases = c@d.example\n",
	  "secdesk.conf:17: [desk] aliases: given twice" },
	{ "just words\n", "secdesk.conf:15: syntax error" },
	{ "[notice]\nattach = maybe\n",
	  "secdesk.conf:16: [notice] attach: 'maybe' is not no, yes or under:SIZE" },
	{ "[notice]\nattach = under:\n", "[notice] attach: 'under:' is not" },
	{ "[notice]\nattach = under:0\n", "[notice] attach: 'under:0' is not" },
	{ "[staff \"al ice\"]\nname = A\n", "secdesk.conf:16: [staff \"al ice\"]: expected" },
	{ "[staff alice]\nname = A\n", "unknown section [staff alice]" },
	{ "[staff \"alice\"]\nphone = 1\n", "secdesk.conf:16: unknown key 'phone' in [staff" },
	{ "[staff \"alice\"]\nname = A\nname = B\n", "secdesk.conf:17: [staff \"alice\"] name: given twice" },
	{ "[staff \"alice\"]\nsignature = A\nsignature_file = a.sig\n",
	  "secdesk.conf:17: [staff \"alice\"]: signature and signature_file: give one" },
	/* "!" replaces the [send] url line of base instead of appending. */
	{ "!url = nourl\n", "secdesk.conf:10: [send] url: 'nourl' is not a URL" },
	{ "!url = dir:\n", "secdesk.conf:10: [send] url: 'dir:' names no path" },
	/* "@" replaces the [desk] address line. */
	{ "@address = secretariat\n",
	  "secdesk.conf:3: [desk] address: 'secretariat' is not a mail address" },
};

static void
test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		struct config cfg;
		struct err e = ERR_INIT;
		char *text = NULL, *path;

		/* Duplicated sections are allowed by INI; keys are checked. */
		if (bad_cases[i].extra[0] == '!' || bad_cases[i].extra[0] == '@') {
			const char *line = bad_cases[i].extra[0] == '!'
						   ? "url = dir:outbox\n"
						   : "address = secretariat@icpermed.example ; the desk\n";
			const char *at = strstr(base, line);

			assert_true(asprintf(&text, "%.*s%s%s", (int)(at - base), base,
					     bad_cases[i].extra + 1, at + strlen(line)) > 0);
		} else {
			assert_true(asprintf(&text, "%s%s", base, bad_cases[i].extra) > 0);
		}
		path = write_conf(text);
		assert_int_equal(config_load(&cfg, path, &e), -1);
		assert_int_equal(e.code, EXIT_CONFIG);
		if (!strstr(e.msg, bad_cases[i].expect))
			fail_msg("case %zu: '%s' does not contain '%s'", i, e.msg,
				 bad_cases[i].expect);
		config_release(&cfg);
		free(text);
		free(path);
	}
}

static void
test_missing(void **state)
{
	static const char *const required[] = { "address = ", "path = ", "url = dir",
						"dir = rules", "dir = /etc" };
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		struct config cfg;
		struct err e = ERR_INIT;
		char text[sizeof(base)], *line, *end, *path;

		memcpy(text, base, sizeof(base));
		line = strstr(text, required[i]);
		assert_non_null(line);
		end = strchr(line, '\n') + 1;
		memmove(line, end, strlen(end) + 1);
		path = write_conf(text);
		assert_int_equal(config_load(&cfg, path, &e), -1);
		assert_int_equal(e.code, EXIT_CONFIG);
		assert_non_null(strstr(e.msg, "missing required key"));
		config_release(&cfg);
		free(path);
	}
}

/* Pipe mode: without [mailbox] url the config loads, and the commands that
 * read a mailbox get a config error that says why. */
static void
test_no_mailbox(void **state)
{
	struct config cfg;
	struct err e = ERR_INIT;
	char text[sizeof(base)], *line, *end, *path;

	(void)state;
	memcpy(text, base, sizeof(base));
	line = strstr(text, "url = maildir");
	assert_non_null(line);
	end = strchr(line, '\n') + 1;
	memmove(line, end, strlen(end) + 1);
	path = write_conf(text);
	assert_int_equal(config_load(&cfg, path, &e), 0);
	assert_null(cfg.mailbox.conn.url);
	assert_false(cfg.send.immediate);
	assert_int_equal(config_need_mailbox(&cfg, &e), -1);
	assert_int_equal(e.code, EXIT_CONFIG);
	assert_non_null(strstr(e.msg, "no [mailbox] url"));
	config_release(&cfg);
	free(path);
}

static void
test_secret(void **state)
{
	struct err e = ERR_INIT;
	char *path = NULL, *secret;
	FILE *fp;

	(void)state;
	assert_true(asprintf(&path, "%s/pass", unit_dir) > 0);
	fp = fopen(path, "w");
	fputs("s3cret\n", fp);
	fclose(fp);
	chmod(path, 0644);
	assert_null(config_read_secret(path, NULL, &e));
	assert_int_equal(e.code, EXIT_CONFIG);
	assert_non_null(strstr(e.msg, "0600"));
	chmod(path, 0600);
	secret = config_read_secret(path, NULL, &e);
	assert_string_equal(secret, "s3cret");
	free(secret);
	setenv("SECDESK_TEST_PASS", "fromenv", 1);
	secret = config_read_secret(NULL, "SECDESK_TEST_PASS", &e);
	assert_string_equal(secret, "fromenv");
	free(secret);
	unsetenv("SECDESK_TEST_PASS");
	assert_null(config_read_secret(NULL, "SECDESK_TEST_PASS", &e));
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_pg_local_files),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_index_thread),
		cmocka_unit_test(test_notice_staff),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_no_mailbox),
		cmocka_unit_test(test_secret),
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
