/* The desk's VERP bounce address: built when a notice or reply is handed
 * to the transport, recognised when its bounce comes back (verp.h). */
#include "compat.h"

#include <ctype.h>

#include "ingest.h"
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

	ingest_sha256(message_id, strlen(message_id), hex);
	memcpy(check, hex, 8);
	check[8] = '\0';
}

/* The Message-ID of outbox row id's mail: 1 found, 0 none, -1 error. */
static int
outbox_message_id(struct store *s, int64_t id, char *out, size_t n, struct err *e)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT m.message_id FROM outbox o JOIN messages m "
					 "ON m.id = o.message_id WHERE o.id = ?", e);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) && sqlite3_column_bytes(st, 0) > 0) {
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the outbox");
	return 0;
}

char *
verp_sender(struct store *s, const char *desk_address, int64_t outbox_id, struct err *e)
{
	const char *at = strrchr(desk_address, '@');
	char msgid[1024], check[9];

	if (!at || outbox_message_id(s, outbox_id, msgid, sizeof(msgid), e) <= 0)
		return NULL;
	check_of(msgid, check);
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
	char check[9], want[9], msgid[1024];
	int64_t id = 0;
	sqlite3_stmt *st;
	int found = 0, rc;

	memset(hit, 0, sizeof(*hit));
	for (size_t i = 0; !found && i < m->nheaders; i++)
		for (size_t k = 0; !found && k < ARRAY_SIZE(names); k++)
			if (strcasecmp(m->headers[i].name, names[k]) == 0)
				found = find_in_value(desk_address, m->headers[i].value, &id,
						      check);
	if (!found)
		return 0;
	rc = outbox_message_id(s, id, msgid, sizeof(msgid), e);
	if (rc <= 0)
		return rc;
	check_of(msgid, want);
	if (strcmp(want, check) != 0)
		return 0;
	st = store_prepare(s, "SELECT coalesce(ticket_id, 0), kind, rcpts FROM outbox WHERE id = ?",
			   e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		hit->outbox_id = id;
		hit->ticket_id = sqlite3_column_int64(st, 0);
		snprintf(hit->kind, sizeof(hit->kind), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(hit->rcpts, sizeof(hit->rcpts), "%s",
			 (const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, e, "cannot read the outbox");
	return rc == SQLITE_ROW;
}
