/* unaligned.h - words read from any byte address, in the host's order
 * (memcpy, which compilers turn into one load). */
#ifndef SECDESK_UNALIGNED_H
#define SECDESK_UNALIGNED_H

#include <stdint.h>
#include <string.h>

static inline uint32_t
load4(const unsigned char *p)
{
	uint32_t x;

	memcpy(&x, p, 4);
	return x;
}

static inline uint64_t
load8(const unsigned char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return x;
}

#endif
