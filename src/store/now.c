/* The store's clock, below the backends that stamp what they write. */
#include "compat.h"

#include "store.h"

int64_t
store_now(void)
{
	const char *fake = getenv("SECDESK_NOW");

	if (fake && *fake)
		return strtoll(fake, NULL, 10);
	return (int64_t)time(NULL);
}
