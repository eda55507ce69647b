/* xalloc.h - allocation that never returns NULL.
 *
 * Out of memory is fatal in exactly one place: these wrappers print
 * "secdesk: out of memory" and abort. Callers never test their result. */
#ifndef SECDESK_XALLOC_H
#define SECDESK_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array of nmemb elements of size bytes; checks the product. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
/* Copies n bytes of s and NUL-terminates. */
char *xstrndup(const char *s, size_t n);
/* Allocates the formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
