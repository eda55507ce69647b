/* Message-IDs and Return-Path (msgid.h). */
#include "compat.h"

#include <ctype.h>

#include "charset.h"
#include "msgid.h"
#include "xalloc.h"

void
msgid_list(const char *v, struct strlist *out, size_t max)
{
	const char *p = v;
	bool bracketed = strchr(v, '<') != NULL;

	while (*p && out->n < max) {
		const char *s, *e;

		if (bracketed) {
			s = strchr(p, '<');
			if (!s)
				break;
			s++;
			e = strchr(s, '>');
			if (!e) {
				/* No '>' left: this is the last id (and no
				 * later '<' is searched to the end again). */
				e = s + strcspn(s, " \t,<");
				bracketed = false;
				max = out->n + 1;
			}
		} else {
			while (*p && (isspace((unsigned char)*p) || *p == ','))
				p++;
			s = p;
			e = s + strcspn(s, " \t,");
			if (e == s)
				break;
			if (!memchr(s, '@', (size_t)(e - s))) {
				p = e;
				continue;
			}
		}
		{
			const char *a = s, *b = e;

			while (a < b && isspace((unsigned char)*a))
				a++;
			while (b > a && isspace((unsigned char)b[-1]))
				b--;
			if (b > a)
				strlist_add_owned(out, charset_clean(a, (size_t)(b - a)));
		}
		p = *e ? e + 1 : e;
	}
}

void
msgid_first(char **dst, const char *raw)
{
	struct strlist l = STRLIST_INIT;

	if (!raw)
		return;
	msgid_list(raw, &l, 1);
	if (l.n) {
		free(*dst);
		*dst = l.items[0];
		l.items[0] = NULL;
		l.n = 0;
	} else if (*raw && !strpbrk(raw, " \t")) {
		free(*dst);
		*dst = charset_clean(raw, strlen(raw));
	}
	strlist_release(&l);
}

char *
msgid_return_path(const char *raw)
{
	struct strlist l = STRLIST_INIT;
	char *path;

	if (strstr(raw, "<>"))
		return xstrdup("");
	msgid_list(raw, &l, 1);
	path = l.n ? xstrdup(l.items[0]) : charset_clean(raw, strlen(raw));
	strlist_release(&l);
	return path;
}
