#include "compat.h"

#include "strlist.h"
#include "xalloc.h"

void
strlist_add_owned(struct strlist *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->items = xreallocarray(l->items, l->cap, sizeof(*l->items));
	}
	l->items[l->n++] = s;
}

void
strlist_add(struct strlist *l, const char *s)
{
	strlist_add_owned(l, xstrdup(s));
}

int
strlist_contains(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return 1;
	return 0;
}

void
strlist_drop_front(struct strlist *l, size_t n)
{
	if (n > l->n)
		n = l->n;
	for (size_t i = 0; i < n; i++)
		free(l->items[i]);
	if (l->n > n)
		memmove(l->items, l->items + n, (l->n - n) * sizeof(*l->items));
	l->n -= n;
}

void
strlist_release(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}
