/* charset.c's scans (sixteen-byte blocks, one pass for text declared
 * UTF-8) against a reference that reads one byte at a time: every kind of
 * byte at every position of the first block and past it, and random mixes. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "charset.h"
#include "xalloc.h"

/* Length of the valid UTF-8 sequence at p (0: invalid), as RFC 3629 has
 * it: the reference for the tests, written apart from charset.c's. */
static size_t
ref_seq(const unsigned char *p, const unsigned char *end)
{
	size_t n = p[0] < 0x80 ? 1 : p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;

	if (n == 0 || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/* What charset_clean() promises: printable ASCII, tab, newline and valid
 * UTF-8 kept; a lone CR a newline; other controls dropped; each byte of an
 * invalid sequence U+FFFD. */
static char *
ref_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	struct buf b = BUF_INIT;

	buf_init(&b, 0);
	while (p < end) {
		size_t n = ref_seq(p, end);

		if (n == 0) {
			buf_add(&b, "\xef\xbf\xbd", 3);
			p++;
		} else if (n == 1 && (*p < 0x20 || *p == 0x7f) && *p != '\t' && *p != '\n') {
			if (*p == '\r' && !(p + 1 < end && p[1] == '\n'))
				buf_addch(&b, '\n');
			p++;
		} else {
			buf_add(&b, p, n);
			p += n;
		}
	}
	return buf_detach(&b, NULL);
}

static bool
ref_is_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		size_t n = ref_seq(p, end);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

static bool
ref_is_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80 || s[i] == 0x1b)
			return true;
	return false;
}

static void
check(const char *s, size_t len)
{
	char *a = ref_clean(s, len), *b = charset_clean(s, len);

	assert_string_equal(a, b);
	free(b);
	assert_int_equal(ref_is_utf8(s, len), charset_is_utf8(s, len));
	assert_int_equal(ref_is_8bit(s, len), charset_is_8bit(s, len));
	/* declared UTF-8: valid text is cleaned, other text detected */
	b = charset_to_utf8("utf-8", s, len);
	if (ref_is_utf8(s, len)) {
		assert_string_equal(a, b);
	} else {
		char *d = charset_detect_to_utf8(s, len);

		assert_string_equal(d, b);
		free(d);
	}
	free(a);
	free(b);
}

/* Each kind of byte at each position of the first block and past it, in
 * a run of plain letters of each length around it. */
static void
test_every_position(void **state)
{
	static const char *const odd[] = { "\x01", "\x1f", "\x7f", "\x80", "\xff", "\r", "\r\n", "\t",
					   "\n", "\x1b", " ", "~", "\xc3\xa9", "\xe2\x82\xac",
					   "\xf0\x9f\x98\x80", "\xc3", "\xed\xa0\x80", "\xc0\xaf" };
	char s[64];

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(odd); k++)
		for (size_t len = 1; len <= 26; len++)
			for (size_t pos = 0; pos < len; pos++) {
				size_t n = strlen(odd[k]), total = len + n - 1;

				memset(s, 'a', sizeof(s));
				memcpy(s + pos, odd[k], n);
				check(s, total);
			}
}

/* The same over many blocks of a long plain run: one odd byte at each
 * position, and two (the second run starts anywhere after the first odd
 * byte). */
static void
test_long_runs(void **state)
{
	static const char *const odd[] = { "\x01", "\x7f", "\x80", "\xff", "\r", "\r\n", "\t", "\n",
					   " ", "~", "\x1f", "\xc3\xa9", "\xe2\x82\xac", "\xc3" };
	static const size_t lens[] = { 15, 16, 17, 31, 32, 33, 63, 64, 65, 79, 80, 81, 127, 128, 129, 200 };
	char s[256];

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(odd); k++)
		for (size_t l = 0; l < ARRAY_SIZE(lens); l++)
			for (size_t pos = 0; pos < lens[l]; pos++) {
				size_t n = strlen(odd[k]), total = lens[l] + n - 1;

				memset(s, 'a', sizeof(s));
				memcpy(s + pos, odd[k], n);
				check(s, total);
				if (pos + n + 70 < total) {
					memcpy(s + pos + n + 70, "\x80", 1);
					check(s, total);
				}
			}
}

static void
test_random_mixes(void **state)
{
	static const char *const pieces[] = { "a", "Z", " ", "\t", "\n", "\r", "\r\n", "\x01",
					      "\x1b", "\x7f", "\x80", "\xc3\xa9", "\xe2\x82\xac",
					      "\xc3", "\xff", "hello world ", "0123456789abcdef" };
	uint32_t seed = 12345;
	char s[512];

	(void)state;
	for (int it = 0; it < 20000; it++) {
		size_t n = 0;
		int np;

		seed = seed * 1103515245u + 12345u;
		np = (int)((seed >> 16) % 24);
		for (int k = 0; k < np; k++) {
			const char *p;
			size_t l;

			seed = seed * 1103515245u + 12345u;
			p = pieces[(seed >> 16) % ARRAY_SIZE(pieces)];
			l = strlen(p);
			memcpy(s + n, p, l);
			n += l;
		}
		check(s, n);
	}
}

/* Latin-1 under a UTF-8 label: detected, not cleaned into U+FFFD. */
static void
test_utf8_label_on_latin1(void **state)
{
	char *t;
	static const char latin1[] = "Nous souhaitons d\xe9poser une demande pour l'appel \xe0 projets, "
				     "merci de votre r\xe9ponse tr\xe8s rapide.";

	(void)state;
	t = charset_to_utf8("UTF-8", latin1, strlen(latin1));
	assert_string_equal(t, "Nous souhaitons déposer une demande pour l'appel à projets, "
			       "merci de votre réponse très rapide.");
	free(t);
	/* valid: a CR before LF and other controls go, in the one pass */
	t = charset_to_utf8("utf-8", "caf\xc3\xa9\r\nok\x01\r", 11);
	assert_string_equal(t, "café\nok\n");
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_position),
		cmocka_unit_test(test_long_runs),
		cmocka_unit_test(test_random_mixes),
		cmocka_unit_test(test_utf8_label_on_latin1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
