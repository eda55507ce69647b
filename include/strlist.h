/* strlist.h - a growable list of owned C strings. */
#ifndef SECDESK_STRLIST_H
#define SECDESK_STRLIST_H

#include <stddef.h>

struct strlist {
	char **items;
	size_t n;
	size_t cap;
};

#define STRLIST_INIT { NULL, 0, 0 }

/* Appends a copy of s. */
void strlist_add(struct strlist *l, const char *s);
/* Appends s, taking ownership. */
void strlist_add_owned(struct strlist *l, char *s);
int strlist_contains(const struct strlist *l, const char *s);
/* Frees the first n strings (at most all) and moves the rest to the front. */
void strlist_drop_front(struct strlist *l, size_t n);
void strlist_release(struct strlist *l);

#endif
