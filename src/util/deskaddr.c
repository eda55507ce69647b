/* The desk's own addresses (deskaddr.h): plain string work on local@domain,
 * below the config that names them. */
#include "compat.h"

#include <strings.h>

#include "deskaddr.h"
#include "xalloc.h"

/* An address cut into what identifies a mailbox: the local part without
 * its "+detail", the domain without a trailing dot. */
struct mailbox_id {
	const char *local;
	size_t local_len;
	const char *domain;
	size_t domain_len;
};

static bool
mailbox_id_of(const char *addr, struct mailbox_id *id)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	size_t full;

	if (!at)
		return false;
	full = (size_t)(at - addr);
	id->local = addr;
	id->local_len = strcspn(addr, "+");
	if (id->local_len > full)
		id->local_len = full;
	id->domain = at + 1;
	id->domain_len = strlen(id->domain);
	if (id->domain_len && id->domain[id->domain_len - 1] == '.')
		id->domain_len--;
	return id->local_len > 0 && id->domain_len > 0;
}

static bool
same_mailbox(const struct mailbox_id *a, const char *addr)
{
	struct mailbox_id b;

	return mailbox_id_of(addr, &b) && a->local_len == b.local_len &&
	       a->domain_len == b.domain_len &&
	       strncasecmp(a->local, b.local, a->local_len) == 0 &&
	       strncasecmp(a->domain, b.domain, a->domain_len) == 0;
}

bool
deskaddr_is_desk(const char *addr, const char *address, const struct strlist *aliases)
{
	struct mailbox_id id;

	if (!mailbox_id_of(addr, &id))
		return false;
	if (address && same_mailbox(&id, address))
		return true;
	for (size_t i = 0; aliases && i < aliases->n; i++)
		if (same_mailbox(&id, aliases->items[i]))
			return true;
	return false;
}

bool
deskaddr_valid(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);

	if (!at || at == s || at == s + len - 1 || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || strchr("\"<>(),;:[]\\", c))
			return false;
	}
	return true;
}

static const char list_separators[] = ", \t";

int
deskaddr_parse_list(const char *list, struct strlist *out, const char **bad_r, size_t *bad_len)
{
	const char *p;

	/* Checked whole first, so that a bad entry adds nothing. */
	for (p = list; *p;) {
		size_t n;

		p += strspn(p, list_separators);
		n = strcspn(p, list_separators);
		if (n && !deskaddr_valid(p, n)) {
			*bad_r = p;
			*bad_len = n;
			return -1;
		}
		p += n;
	}
	for (p = list; *p;) {
		size_t n;

		p += strspn(p, list_separators);
		n = strcspn(p, list_separators);
		if (n)
			strlist_add_owned(out, xstrndup(p, n));
		p += n;
	}
	return 0;
}
