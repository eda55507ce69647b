/* Text from mail made safe for a terminal (termsafe.h). */
#include "compat.h"

#include "termsafe.h"
#include "utf8.h"

/* Code points that steer how a terminal draws text rather than being text. */
static bool
steering(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Whether the ASCII byte c at s[i] (of n) is shown as an escape. */
static bool
control_escaped(const unsigned char *s, size_t i, size_t n, unsigned flags)
{
	unsigned c = s[i];

	if (c == 0x7f)
		return true;
	if (c >= 0x20)
		return false;
	if (!(flags & TERMSAFE_LINES))
		return true;
	if (c == '\n' || c == '\t')
		return false;
	return !(c == '\r' && i + 1 < n && s[i + 1] == '\n');
}

/* The length of the next piece of s[i..n) that stays as it is (up to the
 * next character to escape); *esc_len is the length of that character, 0
 * at the end. */
static size_t
clean_run(const unsigned char *s, size_t i, size_t n, unsigned flags, size_t *esc_len)
{
	size_t start = i;

	*esc_len = 0;
	while (i < n) {
		unsigned cp;
		size_t l;

		if (s[i] < 0x80) {
			if (control_escaped(s, i, n, flags)) {
				*esc_len = 1;
				break;
			}
			i++;
			continue;
		}
		l = utf8_decode(s + i, n - i, &cp);
		if (l == 0 || steering(cp)) {
			*esc_len = l ? l : 1;
			break;
		}
		i += l;
	}
	return i - start;
}

int
termsafe_escape(struct buf *out, const char *str, size_t len, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		size_t esc_len, run = clean_run(s, i, len, flags, &esc_len);
		unsigned cp;

		if (run && buf_add(out, s + i, run) < 0)
			return -1;
		i += run;
		if (!esc_len)
			break;
		if (esc_len == 1) {
			if (buf_addf(out, "\\x%02x", s[i]) < 0)
				return -1;
		} else {
			utf8_decode(s + i, len - i, &cp);
			if (buf_addf(out, "\\u%04x", cp) < 0)
				return -1;
		}
		i += esc_len;
	}
	return 0;
}

bool
termsafe_is_clean(const char *str, size_t len, unsigned flags)
{
	size_t esc_len;

	return clean_run((const unsigned char *)str, 0, len, flags, &esc_len) == len;
}
