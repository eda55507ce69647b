/* libFuzzer target: Authentication-Results (authres.c). The input is one
 * field value; its verdict must be one of the enum's, and a verdict for the
 * trusted id must not depend on an unrelated From domain's case. */
#include "compat.h"

#include "authres.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = xstrndup((const char *)data, size);
	struct header h[2] = { { (char *)"Authentication-Results", value },
			       { (char *)"Received", (char *)"x" } };
	enum authres_dmarc v = authres_dmarc_field(value, "mx.example.org", "example.org");
	enum authres_dmarc upper = authres_dmarc_field(value, "MX.EXAMPLE.ORG", "EXAMPLE.ORG");

	if (v < AUTHRES_INVALID || v > AUTHRES_DMARC_FAIL || v != upper)
		abort();
	v = authres_dmarc_message(h, 2, "mx.example.org", "example.org");
	if (v < AUTHRES_NOT_OURS || v > AUTHRES_DMARC_FAIL)
		abort();
	free(value);
	return 0;
}
