/* buf.h - a growable byte buffer with a hard cap (git's strbuf, curl's dynbuf).
 *
 * Invariants: b->data is always NUL-terminated (b->data[b->len] == 0) once
 * anything was added, or NULL for an empty buffer that never grew; b->len
 * never exceeds b->max. Growing past b->max fails with -1 and leaves the
 * buffer unchanged: hitting the cap is an error, never a silent truncation.
 * A max of 0 means BUF_DEFAULT_MAX. */
#ifndef SECDESK_BUF_H
#define SECDESK_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_DEFAULT_MAX ((size_t)256 * 1024 * 1024)

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_INIT { NULL, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
/* Frees the contents; the buffer may be used again. */
void buf_release(struct buf *b);
/* Keeps the memory, empties the contents. */
void buf_reset(struct buf *b);
/* Returns 0, or -1 when the cap would be exceeded. */
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addch_slow(struct buf *b, int c);
/* One byte; inline because parsers call it per character. */
static inline int
buf_addch(struct buf *b, int c)
{
	if (b->data && b->len + 1 < b->cap) {
		b->data[b->len++] = (char)c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_addch_slow(b, c);
}
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Hands the NUL-terminated contents to the caller (never NULL) and resets. */
char *buf_detach(struct buf *b, size_t *len_r);
/* Returns the contents as a C string ("" when empty); owned by the buffer. */
const char *buf_cstr(const struct buf *b);

#endif
