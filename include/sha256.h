/* sha256.h - SHA-256 through GnuTLS (gnutls_hash_fast), as hex. */
#ifndef SECDESK_SHA256_H
#define SECDESK_SHA256_H

#include <stddef.h>

/* The SHA-256 of the len bytes at data as 64 lower-case hex digits and a
 * NUL in hex. Never fails. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
