/* SHA-256 as hex (sha256.h): the hash of raw mail (ingest) and the check
 * of a bounce address (verp). */
#include "compat.h"

#include <gnutls/crypto.h>

#include "sha256.h"

void
sha256_hex(const void *data, size_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char d[32];

	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d);
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[64] = '\0';
}
