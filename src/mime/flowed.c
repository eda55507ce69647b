/* flowed.c - format=flowed (RFC 3676) decoding. */
#include "compat.h"

#include "buf.h"
#include "flowed.h"
#include "xalloc.h"

char *
flowed_decode(const char *s, size_t len, bool delsp)
{
	struct buf b = BUF_INIT;
	const char *p = s, *end = s + len;
	int open_depth = -1; /* quote depth of the paragraph being joined */

	buf_init(&b, 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *t = p;
		int depth = 0;
		bool flowed;

		while (t < le && *t == '>') {
			depth++;
			t++;
		}
		/* Space-stuffing (RFC 3676 4.4). */
		if (t < le && *t == ' ')
			t++;
		/* The signature separator is never flowed (4.3). */
		flowed = le > t && le[-1] == ' ' && !(le - t == 3 && !memcmp(t, "-- ", 3));
		if (open_depth >= 0 && depth != open_depth) {
			/* A flowed line followed by another depth: the paragraph
			 * ends there (4.5). */
			buf_addch(&b, '\n');
			open_depth = -1;
		}
		if (open_depth < 0 && depth > 0) {
			for (int i = 0; i < depth; i++)
				buf_addch(&b, '>');
			buf_addch(&b, ' ');
		}
		buf_add(&b, t, (size_t)(le - t) - (flowed && delsp ? 1 : 0));
		if (flowed) {
			open_depth = depth;
		} else {
			open_depth = -1;
			if (nl)
				buf_addch(&b, '\n');
		}
		p = nl ? nl + 1 : end;
	}
	return buf_detach(&b, NULL);
}
