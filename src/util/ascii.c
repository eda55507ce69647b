/* ASCII byte tests (ascii.h). */
#include "compat.h"

#include "ascii.h"

int
ascii_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int
ascii_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

bool
ascii_eq_ci(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!lit[i] ||
		    ascii_lower((unsigned char)s[i]) != ascii_lower((unsigned char)lit[i]))
			return false;
	return lit[i] == '\0';
}

bool
ascii_is_token_char(char ch)
{
	return ch > ' ' && ch < 0x7f && !strchr("()<>@,;:\\\"/[]?=", ch);
}

bool
ascii_is_token(const char *s, size_t max_len)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++)
		if (!ascii_is_token_char(s[n]))
			return false;
	return n > 0 && n <= max_len;
}
