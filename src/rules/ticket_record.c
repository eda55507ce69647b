/* The words a ticket carries (ticket_record.h): checked where the rules
 * set them and again where the store writes them. */
#include "compat.h"

#include "charset.h"
#include "ticket_record.h"

bool
ticket_word_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > TICKET_WORD_MAX || !charset_is_utf8(s, len))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= ' ' || *p == ',' || *p == 0x7f)
			return false;
		/* C1 controls: U+0080..U+009F, C2 80..C2 9F in UTF-8 */
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return false;
	}
	return true;
}
