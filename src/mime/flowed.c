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

/* Appends one line of text (no LF; depth '>' already taken off, with
 * them prefix) as flowed lines of at most width columns where it has
 * spaces to break at. */
static void
flowed_line(struct buf *b, const char *p, size_t len, int depth, size_t width)
{
	size_t room = width > (size_t)depth + 21 ? width - (size_t)depth - 1 : 20;

	/* Trailing blanks would make a fixed line flowed. */
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	do {
		size_t cut = len;

		if (len > room) {
			/* The last space that leaves the line within room; else
			 * the first after it: a long word stays whole. */
			cut = room;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0) {
				cut = room;
				while (cut < len && p[cut] != ' ')
					cut++;
			}
		}
		for (int i = 0; i < depth; i++)
			buf_addch(b, '>');
		/* Space-stuffing (RFC 3676 4.4): a quote mark's space, or a
		 * line that would read as one, or as a mbox From_ line. */
		if ((depth > 0 && len > 0) || (cut && (*p == ' ' || *p == '>')) ||
		    (cut >= 5 && memcmp(p, "From ", 5) == 0))
			buf_addch(b, ' ');
		buf_add(b, p, cut);
		if (cut < len) {
			/* The space broken at ends this line: a soft break. */
			buf_addch(b, ' ');
			cut++;
		}
		buf_addch(b, '\n');
		p += cut;
		len -= cut;
	} while (len > 0);
}

char *
flowed_encode(const char *s, size_t len, size_t width)
{
	struct buf b = BUF_INIT;
	const char *p = s, *end = s + len;

	buf_init(&b, 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((nl ? nl : end) - p);
		int depth = 0;

		if (l && p[l - 1] == '\r')
			l--;
		if (l == 3 && memcmp(p, "-- ", 3) == 0) {
			/* The signature separator keeps its space (4.3). */
			buf_addstr(&b, "-- \n");
		} else {
			while ((size_t)depth < l && p[depth] == '>')
				depth++;
			if (depth > 0 && (size_t)depth < l && p[depth] == ' ')
				flowed_line(&b, p + depth + 1, l - (size_t)depth - 1, depth, width);
			else
				flowed_line(&b, p + depth, l - (size_t)depth, depth, width);
		}
		p = nl ? nl + 1 : end;
	}
	return buf_detach(&b, NULL);
}
