/* filemode: files and folders get the desk's mode whatever the umask, an
 * existing file keeps its own, and filemode_too_loose() tells which modes
 * let more people in than the rule, with the command that fixes them
 * (without a group, then with one). */
#include "compat.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "filemode.h"
#include "xalloc.h"
#include "unit.h"

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Runs before filemode_set_group(): the user-only modes. */
static void
test_create_whatever_the_umask(void **state)
{
	static const mode_t masks[] = { 0, 022, 077, 0777 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(masks); i++) {
		mode_t old = umask(masks[i]);
		char *f = xasprintf("%s/f%zu", unit_dir, i), *dir = xasprintf("%s/d%zu", unit_dir, i);
		int fd = filemode_create(AT_FDCWD, f, O_WRONLY);

		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(mode_of(f), 0600);
		/* It must not exist yet. */
		assert_int_equal(filemode_create(AT_FDCWD, f, O_WRONLY), -1);
		assert_int_equal(errno, EEXIST);
		assert_int_equal(filemode_mkdir(dir), 0);
		assert_int_equal(mode_of(dir), 0700);
		assert_int_equal(filemode_mkdir(dir), -1);
		assert_int_equal(errno, EEXIST);
		umask(old);
		free(f);
		free(dir);
	}
}

static void
test_open_keeps_an_existing_mode(void **state)
{
	char *f = xasprintf("%s/lock", unit_dir);
	int fd;

	(void)state;
	fd = filemode_open(f, O_RDWR);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mode_of(f), 0600);
	assert_int_equal(chmod(f, 0640), 0);
	fd = filemode_open(f, O_RDWR);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mode_of(f), 0640);
	free(f);
}

static const struct {
	bool group;      /* with filemode_set_group(getegid()) */
	bool dir;
	mode_t mode;
	bool other_gid;  /* the file's group is not the desk's */
	bool loose;
	const char *fix; /* after the path's quotes, NULL: not loose */
} loose_cases[] = {
	{ false, false, 0600, false, false, NULL },
	{ false, false, 0400, false, false, NULL },
	{ false, false, 0640, false, true, "chmod 600 " },
	{ false, false, 0644, false, true, "chmod 600 " },
	{ false, false, 0606, false, true, "chmod 600 " },
	{ false, false, 0700, false, true, "chmod 600 " },
	{ false, true, 0700, false, false, NULL },
	{ false, true, 0750, false, true, "chmod 700 " },
	{ false, true, 0755, false, true, "chmod 700 " },
	{ true, false, 0660, false, false, NULL },
	{ true, false, 0640, false, false, NULL },
	{ true, false, 0600, true, false, NULL },
	{ true, false, 0664, false, true, "chmod 660 " },
	{ true, false, 0660, true, true, "chgrp " },
	{ true, false, 0640, true, true, "chgrp " },
	{ true, true, 02770, false, false, NULL },
	{ true, true, 0775, false, true, "chmod 2770 " },
};

static void
test_too_loose(void **state)
{
	struct buf fix = BUF_INIT;
	bool grouped = false;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(loose_cases); i++) {
		struct stat st = { 0 };
		mode_t want;
		bool got;

		if (loose_cases[i].group && !grouped) {
			filemode_set_group(getegid());
			grouped = true;
		}
		st.st_mode = (loose_cases[i].dir ? S_IFDIR : S_IFREG) | loose_cases[i].mode;
		st.st_gid = loose_cases[i].other_gid ? getegid() + 1 : getegid();
		got = filemode_too_loose(&st, "/x/it's", &want, &fix);
		if (got != loose_cases[i].loose)
			fail_msg("case %zu: mode %04o: loose %d", i, (unsigned)loose_cases[i].mode, got);
		assert_int_equal(want, loose_cases[i].dir ? filemode_dir() : filemode_file());
		if (got && strncmp(buf_cstr(&fix), loose_cases[i].fix, strlen(loose_cases[i].fix)) != 0)
			fail_msg("case %zu: fix '%s'", i, buf_cstr(&fix));
		if (got)
			assert_non_null(strstr(buf_cstr(&fix), "'/x/it'\\''s'"));
	}
	buf_release(&fix);
}

/* After test_too_loose set a group: the shared modes. */
static void
test_create_with_a_group(void **state)
{
	mode_t old = umask(077);
	char *f = xasprintf("%s/shared", unit_dir), *dir = xasprintf("%s/shared.d", unit_dir);
	int fd = filemode_create(AT_FDCWD, f, O_WRONLY);
	struct stat st;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mode_of(f), 0660);
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_gid, getegid());
	assert_int_equal(filemode_mkdir(dir), 0);
	assert_int_equal(mode_of(dir), 02770);
	umask(old);
	free(f);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_whatever_the_umask),
		cmocka_unit_test(test_open_keeps_an_existing_mode),
		cmocka_unit_test(test_too_loose),
		cmocka_unit_test(test_create_with_a_group),
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
