/* libFuzzer target: the RFC 2047 and RFC 2231 decoders. The input is split
 * at its first NUL: a header value and a parameter name. */
#include "compat.h"

#include "charset.h"
#include "rfc2047.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	char *name = NULL;
	char *r;

	r = rfc2047_decode((const char *)data, size);
	if (!charset_is_utf8(r, strlen(r)))
		abort();
	free(r);
	if (strlen(s) + 1 < size)
		name = xstrndup((const char *)data + strlen(s) + 1, size - strlen(s) - 1);
	r = rfc2231_param(s, name && *name ? name : "filename");
	free(name);
	if (r && !charset_is_utf8(r, strlen(r)))
		abort();
	free(r);
	r = rfc2231_param_raw(s, "boundary");
	free(r);
	free(s);
	return 0;
}
