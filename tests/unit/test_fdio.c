/* fdio: whole reads, to the end, within a buffer's cap. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "fdio.h"
#include "xalloc.h"

#include "unit.h"

/* unit_dir/name, of 200,000 bytes (more than one read's chunk): its
 * path, and its text in *text. */
static char *
big_file(const char *name, char **text, size_t *len)
{
	char *p = xasprintf("%s/%s", unit_dir, name), *t = xmalloc(200000);
	FILE *f;

	for (size_t i = 0; i < 200000; i++)
		t[i] = (char)('a' + i % 23);
	*len = 200000;
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(t, 1, *len, f), *len);
	assert_int_equal(fclose(f), 0);
	*text = t;
	return p;
}

static void
test_a_file_is_read_whole(void **state)
{
	size_t len;
	char *t, *p = big_file("big", &t, &len);
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_addstr(&b, ">"), 0); /* appended to what is there */
	assert_int_equal(file_read_all(p, &b), 0);
	assert_int_equal(b.len, len + 1);
	assert_memory_equal(b.data + 1, t, len);
	buf_release(&b);
	free(t);
	free(p);
}

static void
test_the_cap_is_efbig(void **state)
{
	size_t len;
	char *t, *p = big_file("capped", &t, &len);
	struct buf b;

	(void)state;
	buf_init(&b, 100000);
	errno = 0;
	assert_int_equal(file_read_all(p, &b), -1);
	assert_int_equal(errno, EFBIG);
	assert_true(b.len <= 100000);
	buf_release(&b);
	free(t);
	free(p);
}

static void
test_a_missing_file_keeps_errno(void **state)
{
	char *p = xasprintf("%s/absent", unit_dir);
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	errno = 0;
	assert_int_equal(file_read_all(p, &b), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(b.len, 0);
	buf_release(&b);
	free(p);
}

static void
test_a_pipe_is_read_to_its_end(void **state)
{
	int fds[2];
	struct buf b;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "one ", 4), 4);
	assert_int_equal(write(fds[1], "two", 3), 3);
	close(fds[1]);
	buf_init(&b, 0);
	assert_int_equal(fd_read_all(fds[0], &b), 0);
	assert_string_equal(buf_cstr(&b), "one two");
	close(fds[0]);
	/* A closed descriptor: read's own error. */
	errno = 0;
	assert_int_equal(fd_read_all(fds[0], &b), -1);
	assert_int_equal(errno, EBADF);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_file_is_read_whole),
		cmocka_unit_test(test_the_cap_is_efbig),
		cmocka_unit_test(test_a_missing_file_keeps_errno),
		cmocka_unit_test(test_a_pipe_is_read_to_its_end),
	};

	return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
