/* charset.c - bytes in any charset to valid UTF-8, over iconv and uchardet.
 *
 * Mail lies about its charset in well-known ways: ISO-8859-1 text carries
 * windows-1252 quotes, GB2312 text carries GBK characters, and much text
 * declares nothing at all. Labels are mapped to the supersets clients really
 * use, undeclared text is detected, and no byte ever makes a conversion
 * fail: it becomes U+FFFD. */
#include "compat.h"

#include <iconv.h>
#include <pthread.h>
#include <strings.h>
#include <uchardet/uchardet.h>

#include "buf.h"
#include "charset.h"
#include "lazylib.h"
#include "utf8.h"
#include "xalloc.h"

_Static_assert(sizeof(UCHARDET_SONAME) > 1, "the build found no uchardet to open (Makefile: soname)");

static const char REPLACEMENT[] = "\xef\xbf\xbd";

static inline bool
plain_ascii(unsigned c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n';
}

/* The scans below look at blocks of this many bytes, in loops of a
 * constant count, which -O2 vectorises (its cost model takes no loop whose
 * count it does not know), then byte by byte where a block fails. */
#define SCAN_BLOCK 64

/* Are the SCAN_BLOCK bytes at p all plain_ascii()? */
static inline bool
block_plain(const unsigned char *p)
{
	unsigned char ok = 1;

	/* plain_ascii() spelt with one compare for the printable range */
	for (size_t k = 0; k < SCAN_BLOCK; k++)
		ok &= ((unsigned char)(p[k] - 0x20) < 0x5f) | (p[k] == '\t') | (p[k] == '\n');
	return ok;
}

/* The end of the run of plain_ascii() bytes that starts at p. */
static const unsigned char *
plain_span(const unsigned char *p, const unsigned char *end)
{
	while (end - p >= SCAN_BLOCK && block_plain(p))
		p += SCAN_BLOCK;
	while (p < end && plain_ascii(*p))
		p++;
	return p;
}

/* charset_clean(), or NULL as soon as an invalid UTF-8 sequence turns up
 * when strict: one pass for text declared UTF-8, which is most often
 * valid (where charset_is_utf8() and then charset_clean() read it twice).
 * The buffer is sized from the input once: the output only outgrows it
 * by the U+FFFD of invalid bytes (three for one). */
static char *
clean_to_utf8(const char *s, size_t len, bool strict)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	struct buf b = BUF_INIT;

	buf_init(&b, 0);
	if (len >= b.max)
		return xstrdup("");
	b.cap = len + 1;
	b.data = xmalloc(b.cap);
	while (p < end) {
		const unsigned char *q = plain_span(p, end);
		size_t n;

		/* Near the cap (only U+FFFDs grow the text): the run is added
		 * if it fits, dropped if not, as ever. */
		buf_add(&b, p, (size_t)(q - p));
		p = q;
		if (p == end)
			break;
		n = utf8_decode(p, (size_t)(end - p), NULL);
		if (n == 0) {
			if (strict) {
				buf_release(&b);
				return NULL;
			}
			buf_add(&b, REPLACEMENT, 3);
			p++;
			continue;
		}
		if (n == 1) {
			/* A control character: a lone CR is a line end, the rest
			 * goes. */
			if (*p == '\r' && !(p + 1 < end && p[1] == '\n'))
				buf_addch(&b, '\n');
			p++;
			continue;
		}
		buf_add(&b, p, n);
		p += n;
	}
	b.data[b.len] = '\0';
	return buf_detach(&b, NULL);
}

char *
charset_clean(const char *s, size_t len)
{
	return clean_to_utf8(s, len, false);
}

/* Are the SCAN_BLOCK bytes at p all ASCII? */
static inline bool
block_ascii(const unsigned char *p)
{
	unsigned char high = 0;

	for (size_t k = 0; k < SCAN_BLOCK; k++)
		high |= p[k];
	return !(high & 0x80);
}

bool
charset_is_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		size_t n;

		if (end - p >= SCAN_BLOCK && block_ascii(p)) {
			p += SCAN_BLOCK;
			continue;
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = utf8_decode(p, (size_t)(end - p), NULL);
		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/* Does one of the SCAN_BLOCK bytes at p have the top bit set or equal ESC? */
static inline bool
block_8bit(const unsigned char *p)
{
	unsigned char found = 0;

	for (size_t k = 0; k < SCAN_BLOCK; k++)
		found |= (p[k] >= 0x80) | (p[k] == 0x1b);
	return found;
}

bool
charset_is_8bit(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i + SCAN_BLOCK <= len && !block_8bit(p + i))
		i += SCAN_BLOCK;
	for (; i < len; i++)
		if (p[i] >= 0x80 || p[i] == 0x1b)
			return true;
	return false;
}

struct alias {
	const char *label;
	const char *name; /* NULL: the label says nothing, detect */
};

/* The labels mail is known to misuse, mapped to what the text really is
 * (the WHATWG encoding standard makes the same choices for the web). */
static const struct alias aliases[] = {
	{ "iso-8859-1", "WINDOWS-1252" },
	{ "iso8859-1", "WINDOWS-1252" },
	{ "iso_8859-1", "WINDOWS-1252" },
	{ "latin1", "WINDOWS-1252" },
	{ "latin-1", "WINDOWS-1252" },
	{ "l1", "WINDOWS-1252" },
	/* 8-bit bytes under an ASCII label: the label was a default. */
	{ "us-ascii", NULL },
	{ "ascii", NULL },
	{ "ansi_x3.4-1968", NULL },
	{ "cp1252", "WINDOWS-1252" },
	{ "x-cp1252", "WINDOWS-1252" },
	{ "iso-8859-9", "WINDOWS-1254" },
	{ "latin5", "WINDOWS-1254" },
	{ "iso-8859-11", "CP874" },
	{ "tis-620", "CP874" },
	{ "windows-874", "CP874" },
	{ "gb2312", "GB18030" },
	{ "gbk", "GB18030" },
	{ "x-gbk", "GB18030" },
	{ "euc-cn", "GB18030" },
	{ "cp936", "GB18030" },
	{ "gb_2312-80", "GB18030" },
	{ "chinese", "GB18030" },
	{ "big5", "BIG5-HKSCS" },
	{ "x-x-big5", "BIG5-HKSCS" },
	{ "ks_c_5601-1987", "CP949" },
	{ "ks_c_5601", "CP949" },
	{ "euc-kr", "CP949" },
	{ "korean", "CP949" },
	{ "shift_jis", "CP932" },
	{ "shift-jis", "CP932" },
	{ "sjis", "CP932" },
	{ "x-sjis", "CP932" },
	{ "ms_kanji", "CP932" },
	{ "windows-31j", "CP932" },
	{ "iso-2022-jp", "ISO-2022-JP-3" },
	{ "csiso2022jp", "ISO-2022-JP-3" },
	{ "utf8", "UTF-8" },
	{ "utf-8", "UTF-8" },
	{ "x-utf-8", "UTF-8" },
	{ "unicode-1-1-utf-7", "UTF-7" },
	{ "utf-7", "UTF-7" },
	{ "unknown-8bit", NULL },
	{ "x-unknown", NULL },
	{ "unknown", NULL },
	{ "default", NULL },
	{ "default_charset", NULL },
	{ "x-user-defined", NULL },
	{ "none", NULL },
	{ "charset", NULL },
	{ "8bit", NULL },
};

const char *
charset_canonical(const char *label)
{
	unsigned first;

	if (!label || !*label)
		return NULL;
	/* The labels of the table are lowercase: a first byte that differs
	 * (but for case) rules one out without a call. */
	first = (unsigned char)label[0] | 0x20;
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if ((unsigned char)aliases[i].label[0] == first && strcasecmp(label, aliases[i].label) == 0)
			return aliases[i].name;
	return label;
}

/* iconv with every invalid or truncated sequence replaced, never failing.
 * Returns NULL only when iconv does not know the charset. */
static char *
iconv_all(const char *name, const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	iconv_t cd;
	char *in = (char *)s, out[8192], *res;
	size_t inleft = len;

	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return NULL;
	buf_init(&b, 0);
	while (inleft > 0) {
		char *o = out;
		size_t oleft = sizeof(out);
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);
		int err = errno;

		if (buf_add(&b, out, sizeof(out) - oleft) < 0)
			break;
		if (r != (size_t)-1)
			continue;
		if (err == E2BIG)
			continue;
		/* EILSEQ (bad byte) or EINVAL (truncated at the end): one byte
		 * becomes U+FFFD and the conversion goes on from a clean
		 * state. */
		buf_add(&b, REPLACEMENT, 3);
		in++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	{
		/* Flushes a stateful encoding's final shift sequence. */
		char *o = out;
		size_t oleft = sizeof(out);

		iconv(cd, NULL, NULL, &o, &oleft);
		buf_add(&b, out, sizeof(out) - oleft);
	}
	iconv_close(cd);
	res = charset_clean(b.data ? b.data : "", b.len);
	buf_release(&b);
	return res;
}

static bool
has_iso2022_escape(const char *s, size_t len)
{
	const char *p = memchr(s, 0x1b, len);

	return p && (size_t)(s + len - p) >= 3 && p[1] == '$' && (p[2] == 'B' || p[2] == '@');
}

/* uchardet, opened at the first text of no declared charset that is not
 * UTF-8 (lazylib.h). */
#define UCHARDET_FUNCTIONS(F) \
	F(uchardet_new) F(uchardet_handle_data) F(uchardet_data_end) F(uchardet_get_charset) \
	F(uchardet_delete)
static struct {
	UCHARDET_FUNCTIONS(LAZYLIB_MEMBER)
} ud_fns;
static pthread_once_t ud_once = PTHREAD_ONCE_INIT;

static void
ud_load(void)
{
	LAZYLIB_LOAD(&ud_fns, UCHARDET_SONAME, UCHARDET_FUNCTIONS);
}

/* What uchardet makes of s; "" when it is unsure. */
static void
guess_charset(const char *s, size_t len, char *name, size_t size)
{
	uchardet_t ud;

	pthread_once(&ud_once, ud_load);
	ud = ud_fns.uchardet_new();
	/* A short text is read in full, a long one by its first 64 KiB
	 * (enough to tell). */
	if (ud_fns.uchardet_handle_data(ud, s, len < 65536 ? len : 65536) == 0) {
		ud_fns.uchardet_data_end(ud);
		snprintf(name, size, "%s", ud_fns.uchardet_get_charset(ud));
	}
	ud_fns.uchardet_delete(ud);
}

char *
charset_detect_to_utf8(const char *s, size_t len)
{
	char name[64] = "";
	char *res;

	if (!charset_is_8bit(s, len))
		return charset_clean(s, len);
	/* ISO-2022-JP is 7-bit (valid UTF-8 too): its escapes tell. */
	if (has_iso2022_escape(s, len))
		snprintf(name, sizeof(name), "ISO-2022-JP-3");
	else if (charset_is_utf8(s, len))
		return charset_clean(s, len);
	else
		guess_charset(s, len, name, sizeof(name));
	/* uchardet reports plain "ASCII" or ISO-8859-1 for most Western
	 * text: read it as the superset. */
	if (!*name || !strcasecmp(name, "ascii") || !strcasecmp(name, "iso-8859-1"))
		snprintf(name, sizeof(name), "WINDOWS-1252");
	{
		const char *canon = charset_canonical(name);

		res = iconv_all(canon ? canon : "WINDOWS-1252", s, len);
	}
	if (!res)
		res = iconv_all("WINDOWS-1252", s, len);
	return res ? res : charset_clean(s, len);
}

char *
charset_to_utf8(const char *label, const char *s, size_t len)
{
	const char *name = charset_canonical(label);
	char *res;

	if (!name)
		return charset_detect_to_utf8(s, len);
	if (!strcasecmp(name, "UTF-8")) {
		/* Declared UTF-8 that is not: some clients send Latin-1 under
		 * a UTF-8 label. */
		res = clean_to_utf8(s, len, true);
		return res ? res : charset_detect_to_utf8(s, len);
	}
	/* Pure ASCII is the same in every charset secdesk meets, except the
	 * 7-bit ones (UTF-7, ISO-2022 with escapes, HZ). */
	if (!charset_is_8bit(s, len) && strncasecmp(name, "UTF-7", 5) != 0 &&
	    strncasecmp(name, "HZ", 2) != 0 && strncasecmp(name, "UTF-16", 6) != 0 &&
	    strncasecmp(name, "UTF-32", 6) != 0 && strncasecmp(name, "UCS", 3) != 0)
		return charset_clean(s, len);
	res = iconv_all(name, s, len);
	if (!res)
		res = charset_detect_to_utf8(s, len);
	return res;
}
