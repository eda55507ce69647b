/* msgid.h - msg-id fields (Message-ID, In-Reply-To, References) and the
 * Return-Path, read leniently: each <...>, else bare words with an '@'.
 * Every string returned is valid UTF-8 without the angle brackets. */
#ifndef SECDESK_MSGID_H
#define SECDESK_MSGID_H

#include <stddef.h>

#include "strlist.h"

/* Appends the msg-ids of field value v to out until out holds max. */
void msgid_list(const char *v, struct strlist *out, size_t max);

/* Replaces *dst (freed) with the first msg-id of raw, or with raw itself
 * when it has none but is one word; leaves *dst when raw is NULL or has
 * nothing usable. */
void msgid_first(char **dst, const char *raw);

/* The envelope sender of a Return-Path value: "" for the null path <>,
 * else the first bracketed or bare address, else the value cleaned.
 * Allocated. */
char *msgid_return_path(const char *raw);

#endif
