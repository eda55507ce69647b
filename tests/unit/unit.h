/* unit.h - what the cmocka unit tests share: one private folder per test
 * program, made before its group and removed with all it holds after, and
 * files written into it. Include after cmocka.h and xalloc.h. */
#ifndef SECDESK_UNIT_H
#define SECDESK_UNIT_H

#include <ftw.h>
#include <sys/stat.h>

#define UNIT_UNUSED __attribute__((unused))

static char unit_dir[] = "/tmp/secdesk-unit.XXXXXX";

static int
unit_remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* cmocka group setup and teardown for unit_dir. */
static UNIT_UNUSED int
unit_dir_setup(void **state)
{
	(void)state;
	return mkdtemp(unit_dir) ? 0 : -1;
}

static UNIT_UNUSED int
unit_dir_teardown(void **state)
{
	(void)state;
	return nftw(unit_dir, unit_remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* Writes text to unit_dir/name. */
static UNIT_UNUSED void
unit_write_file(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", unit_dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(p);
}

#endif
