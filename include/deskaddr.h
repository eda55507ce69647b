/* deskaddr.h - is this address the desk itself?
 *
 * The desk is [desk] address and each of [desk] aliases. An address is the
 * desk when, compared with one of them, its local part is the same in any
 * case once a "+detail" is taken off both (secretariat+x@ is secretariat@),
 * and its domain is the same in any case, with or without one trailing
 * dot. Nothing else is the desk: not a longer local part (secretariat2@),
 * not a subdomain or a longer domain. Pure functions, no allocation but
 * deskaddr_parse_list's list. */
#ifndef SECDESK_DESKADDR_H
#define SECDESK_DESKADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "strlist.h"

/* Is addr (a bare local@domain) the desk whose address is address, with
 * the further addresses aliases (NULL: none)? false for NULL or "". */
bool deskaddr_is_desk(const char *addr, const char *address, const struct strlist *aliases);

/* Does s[0..len) look like a bare local@domain: one '@' with text on both
 * sides, no blank, control, quote, bracket or comma? */
bool deskaddr_valid(const char *s, size_t len);

/* Appends the addresses of list, separated by commas and/or blanks (runs of
 * them, at either end too), to out. Returns 0, or -1 with *bad_r and
 * *bad_len naming the first entry that is not an address (nothing is added
 * then). */
int deskaddr_parse_list(const char *list, struct strlist *out, const char **bad_r,
			size_t *bad_len);

#endif
