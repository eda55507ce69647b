/* The desk's VERP bounce address: built when a notice or reply is handed
 * to the transport, recognised when its bounce comes back (verp.h). */
#include "compat.h"

#include <ctype.h>

#include "outbox.h"
#include "sha256.h"
#include "verp.h"
#include "xalloc.h"

#define VERP_TAG "+bounce-"

bool
verp_kind(const char *kind)
{
	return strcmp(kind, "notice") == 0 || strcmp(kind, "reply") == 0;
}

static void
check_of(const char *message_id, char check[9])
{
	char hex[65];

	sha256_hex(message_id, strlen(message_id), hex);
	memcpy(check, hex, 8);
	check[8] = '\0';
}

/* Outbox row id with its recorded message: 1 found, 0 none (no row, or no
 * message recorded for it), -1 error. */
static int
sent_mail(struct store *s, int64_t id, struct outbox_ref *ref, struct err *e)
{
	int rc = outbox_lookup(s, id, ref, e);

	if (rc > 0 && !*ref->message_id) {
		outbox_ref_release(ref);
		rc = 0;
	}
	return rc;
}

char *
verp_sender(struct store *s, const char *desk_address, int64_t outbox_id, struct err *e)
{
	const char *at = strrchr(desk_address, '@');
	struct outbox_ref ref;
	char check[9];

	if (!at || sent_mail(s, outbox_id, &ref, e) <= 0)
		return NULL;
	check_of(ref.message_id, check);
	outbox_ref_release(&ref);
	return xasprintf("%.*s" VERP_TAG "%lld-%s%s", (int)(at - desk_address), desk_address,
			 (long long)outbox_id, check, at);
}

int
verp_parse(const char *desk_address, const char *addr, int64_t *outbox_id, char check[9])
{
	const char *at = strrchr(desk_address, '@');
	size_t local_len, tag_len = strlen(VERP_TAG);
	const char *p = addr;
	long long id = 0;

	if (!at)
		return 0;
	local_len = (size_t)(at - desk_address);
	if (strncasecmp(p, desk_address, local_len) != 0 ||
	    strncasecmp(p + local_len, VERP_TAG, tag_len) != 0)
		return 0;
	p += local_len + tag_len;
	if (!isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p) && id < 1000000000000LL)
		id = id * 10 + (*p++ - '0');
	if (*p++ != '-')
		return 0;
	for (int i = 0; i < 8; i++, p++) {
		if (!isxdigit((unsigned char)*p))
			return 0;
		check[i] = (char)tolower((unsigned char)*p);
	}
	check[8] = '\0';
	if (strcasecmp(p, at) != 0 || id <= 0)
		return 0;
	*outbox_id = id;
	return 1;
}

/* Finds a bounce address of the desk inside a header value ("Name
 * <addr>", a list): 1 with the id and check, else 0. */
static int
find_in_value(const char *desk_address, const char *value, int64_t *id, char check[9])
{
	const char *at = strrchr(desk_address, '@');
	size_t local_len = at ? (size_t)(at - desk_address) : 0;

	for (const char *p = value; at && *p; p++) {
		char addr[320];
		size_t n = 0;

		if (p != value && !strchr(" \t<,:;\"", p[-1]))
			continue;
		if (strncasecmp(p, desk_address, local_len) != 0)
			continue;
		while (p[n] && !strchr(" \t>,;\"", p[n]) && n < sizeof(addr) - 1) {
			addr[n] = p[n];
			n++;
		}
		addr[n] = '\0';
		if (verp_parse(desk_address, addr, id, check))
			return 1;
	}
	return 0;
}

int
verp_match(struct store *s, const char *desk_address, const struct message *m,
	   struct verp_hit *hit, struct err *e)
{
	static const char *const names[] = { "Delivered-To", "X-Original-To", "Envelope-To",
					      "To" };
	char check[9], want[9];
	struct outbox_ref ref;
	int64_t id = 0;
	int found = 0, rc;

	memset(hit, 0, sizeof(*hit));
	for (size_t i = 0; !found && i < m->nheaders; i++)
		for (size_t k = 0; !found && k < ARRAY_SIZE(names); k++)
			if (strcasecmp(m->headers[i].name, names[k]) == 0)
				found = find_in_value(desk_address, m->headers[i].value, &id,
						      check);
	if (!found)
		return 0;
	rc = sent_mail(s, id, &ref, e);
	if (rc <= 0)
		return rc;
	check_of(ref.message_id, want);
	if (strcmp(want, check) == 0) {
		hit->outbox_id = id;
		hit->ticket_id = ref.ticket_id;
		snprintf(hit->kind, sizeof(hit->kind), "%s", ref.kind);
		snprintf(hit->rcpts, sizeof(hit->rcpts), "%s", ref.rcpts);
	}
	outbox_ref_release(&ref);
	return strcmp(want, check) == 0;
}
