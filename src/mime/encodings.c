/* Base64 and quoted-printable, decoded and encoded (encodings.h). */
#include "compat.h"

#include <ctype.h>

#include "ascii.h"
#include "encodings.h"

/* The value of each base64 letter plus one; 0 for a byte outside the
 * alphabet. */
static const signed char b64tab[256] = {
	['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,
	['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
	['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
	['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
	['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63,
	['/'] = 64,
};

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Four letters of the alphabet at s as three bytes at o; false when one of
 * them is outside it. */
static bool
b64_quad(const char *s, unsigned char *o)
{
	int a = b64tab[(unsigned char)s[0]], b = b64tab[(unsigned char)s[1]];
	int c = b64tab[(unsigned char)s[2]], d = b64tab[(unsigned char)s[3]];
	unsigned x;

	if (!a || !b || !c || !d)
		return false;
	x = (unsigned)(a - 1) << 18 | (unsigned)(b - 1) << 12 | (unsigned)(c - 1) << 6 |
	    (unsigned)(d - 1);
	o[0] = (unsigned char)(x >> 16);
	o[1] = (unsigned char)(x >> 8);
	o[2] = (unsigned char)x;
	return true;
}

void
base64_decode(struct buf *out, const char *s, size_t len, enum base64_pad pad)
{
	unsigned acc = 0;
	int bits = 0;
	unsigned char *o;
	size_t k = 0;

	if (buf_grow(out, len / 4 * 3 + 3) < 0)
		return;
	o = (unsigned char *)out->data + out->len;
	for (size_t i = 0; i < len; i++) {
		int v;

		/* On a byte boundary most of a line goes four letters at a time. */
		if (bits == 0 && len - i >= 4 && b64_quad(s + i, o + k)) {
			k += 3;
			i += 3;
			continue;
		}
		if (s[i] == '=' && pad == BASE64_PAD_ENDS)
			break;
		v = b64tab[(unsigned char)s[i]];
		if (v == 0)
			continue;
		acc = (acc << 6) | (unsigned)(v - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits);
		}
	}
	out->len += k;
	out->data[out->len] = '\0';
}

/* Copies the literal text [p, stop) (no '=' in it) to o: trailing blanks
 * of each line dropped (RFC 2045 6.7), '_' as a space in an encoded word.
 * Returns the end of what was written. */
static char *
qp_literal(char *o, const char *p, const char *stop, enum qp_flavour flavour)
{
	while (p < stop) {
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		const char *le = nl ? nl : stop, *te = le;

		if (nl)
			while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
				te--;
		for (size_t i = 0; i < (size_t)(te - p); i++)
			o[i] = flavour == QP_ENCODED_WORD && p[i] == '_' ? ' ' : p[i];
		o += te - p;
		if (nl)
			*o++ = '\n';
		p = nl ? nl + 1 : stop;
	}
	return o;
}

/* What follows an '=' at p: a soft line break (nothing written), an
 * escaped byte, or a literal '='. Returns where the text goes on. */
static const char *
qp_escape(const char *p, const char *end, char **o)
{
	const char *q = p;

	if (p < end && *p == '\n')
		return p + 1;
	if (end - p >= 2 && ascii_hexval((unsigned char)p[0]) >= 0 &&
	    ascii_hexval((unsigned char)p[1]) >= 0) {
		*(*o)++ = (char)(ascii_hexval((unsigned char)p[0]) * 16 +
				 ascii_hexval((unsigned char)p[1]));
		return p + 2;
	}
	/* "=" followed by blanks up to the line end is a soft break too. */
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (q < end && *q == '\n' && q > p)
		return q + 1;
	*(*o)++ = '=';
	return p;
}

void
qp_decode(struct buf *out, const char *s, size_t len, enum qp_flavour flavour)
{
	const char *p = s, *end = s + len;
	char *start, *o;

	if (buf_grow(out, len) < 0)
		return;
	start = o = out->data + out->len;
	while (p < end) {
		const char *eq = memchr(p, '=', (size_t)(end - p));

		o = qp_literal(o, p, eq ? eq : end, flavour);
		if (!eq)
			break;
		p = qp_escape(eq + 1, end, &o);
	}
	out->len += (size_t)(o - start);
	out->data[out->len] = '\0';
}

char *
base64_encode_to(char *o, const unsigned char *d, size_t len)
{
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)d[i] << 16;
		size_t r = len - i;

		if (r > 1)
			v |= (unsigned)d[i + 1] << 8;
		if (r > 2)
			v |= d[i + 2];
		*o++ = b64chars[(v >> 18) & 63];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = r > 1 ? b64chars[(v >> 6) & 63] : '=';
		*o++ = r > 2 ? b64chars[v & 63] : '=';
	}
	return o;
}

/* Bytes per base64 body line: 57 make 76 characters. */
#define B64_LINE_BYTES 57

void
mime_base64_encode(struct buf *b, const unsigned char *d, size_t len)
{
	for (size_t i = 0; i < len; i += B64_LINE_BYTES) {
		size_t n = len - i < B64_LINE_BYTES ? len - i : B64_LINE_BYTES;
		char line[BASE64_LEN(B64_LINE_BYTES) + 2];
		char *e = base64_encode_to(line, d + i, n);

		*e++ = '\r';
		*e++ = '\n';
		buf_add(b, line, (size_t)(e - line));
	}
}

/* The quoted-printable form of byte i of p[0..len) at column col, into enc;
 * its length is returned and *eol says whether a line end follows it. A
 * blank before a line end and "From " at a line start (mangled by mbox
 * writers) are encoded. */
static size_t
qp_byte(const unsigned char *p, size_t i, size_t len, size_t col, char enc[3], bool *eol)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c = p[i];

	*eol = i + 1 == len || p[i + 1] == '\n' ||
	       (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n');
	if ((c >= 33 && c <= 126 && c != '=' &&
	     !(col == 0 && c == 'F' && len - i >= 5 && memcmp(p + i, "From ", 5) == 0)) ||
	    ((c == ' ' || c == '\t') && !*eol)) {
		enc[0] = (char)c;
		return 1;
	}
	enc[0] = '=';
	enc[1] = hex[c >> 4];
	enc[2] = hex[c & 15];
	return 3;
}

void
mime_qp_encode(struct buf *b, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		char enc[3];
		size_t el;
		bool eol;

		if (c == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		if (c == '\n') {
			buf_addstr(b, "\r\n");
			col = 0;
			continue;
		}
		el = qp_byte(p, i, len, col, enc, &eol);
		/* Encoded lines stay within 76 characters, "=" included. */
		if (col + el > 75 && !(eol && col + el <= 76)) {
			buf_addstr(b, "=\r\n");
			col = 0;
		}
		buf_add(b, enc, el);
		col += el;
	}
}

enum cte
cte_kind(const char *value)
{
	char enc[32] = "";

	if (value) {
		size_t i = 0;

		while (*value == ' ' || *value == '\t' || *value == '"')
			value++;
		for (; value[i] && i + 1 < sizeof(enc) && !isspace((unsigned char)value[i]) &&
		       value[i] != ';' && value[i] != '"';
		     i++)
			enc[i] = (char)tolower((unsigned char)value[i]);
		enc[i] = '\0';
	}
	if (!strcmp(enc, "base64"))
		return CTE_BASE64;
	if (!strcmp(enc, "quoted-printable"))
		return CTE_QP;
	return CTE_IDENTITY;
}

void
cte_decode(enum cte kind, const char *s, size_t len, struct buf *out)
{
	if (kind == CTE_BASE64)
		base64_decode(out, s, len, BASE64_PAD_SKIPPED);
	else if (kind == CTE_QP)
		qp_decode(out, s, len, QP_BODY);
	else
		buf_add(out, s, len);
}
