/* libFuzzer target: the whole parser (MIME walk, headers, bodies, HTML,
 * TNEF) on arbitrary bytes, with small limits so that the limit paths are
 * reached too. Every output string must be valid UTF-8. */
#include "compat.h"

#include "charset.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must_be_utf8(const char *s)
{
	if (s && !charset_is_utf8(s, strlen(s)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parse_limits lim = parse_limits_default;
	struct message m;
	struct err e = ERR_INIT;

	lim.max_parts = 50;
	lim.max_depth = 8;
	lim.max_message_size = 4096;
	lim.max_header_size = 8192;
	lim.max_line_length = 2048;
	message_init(&m);
	if (parse_message((const char *)data, size, &lim, &m, &e) == 0) {
		must_be_utf8(m.subject);
		must_be_utf8(m.body);
		must_be_utf8(m.from.name);
		must_be_utf8(m.from.addr);
		for (size_t i = 0; i < m.natts; i++)
			must_be_utf8(m.atts[i].filename);
		for (size_t i = 0; i < m.nheaders; i++)
			must_be_utf8(m.headers[i].value);
	}
	message_release(&m);
	return 0;
}
