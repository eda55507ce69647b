/* libFuzzer target: HTML to text, with small caps so that the cut paths
 * run too. */
#include "compat.h"

#include "charset.h"
#include "html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool cut;
	char *s = charset_clean((const char *)data, size);
	char *t = html_to_text(s, strlen(s), 65536, 16384, &cut);

	if (!charset_is_utf8(t, strlen(t)) || strlen(t) > 16384 + 1)
		abort();
	free(t);
	free(s);
	return 0;
}
