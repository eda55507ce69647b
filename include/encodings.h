/* encodings.h - the MIME transfer encodings, both ways: base64 and
 * quoted-printable for bodies (RFC 2045) and for encoded words (RFC 2047
 * "B" and "Q"). One decoder and one encoder of each, for the parser,
 * rfc2047.c and mimeout.c.
 *
 * The decoders are lenient (mail in the wild breaks every rule) and never
 * fail: what does not decode is skipped (base64) or kept as written
 * (quoted-printable). They append to out; when out's cap would be passed,
 * nothing is appended. */
#ifndef SECDESK_ENCODINGS_H
#define SECDESK_ENCODINGS_H

#include <stddef.h>

#include "buf.h"

/* What a base64 decoder does with '=' (padding). */
enum base64_pad {
	BASE64_PAD_SKIPPED, /* skipped like any byte outside the alphabet (bodies) */
	BASE64_PAD_ENDS,    /* ends the data (encoded words) */
};

/* Appends the bytes of base64 text s[0..len); characters outside the
 * alphabet are skipped, missing padding is fine. */
void base64_decode(struct buf *out, const char *s, size_t len, enum base64_pad pad);

enum qp_flavour {
	QP_BODY,         /* RFC 2045 6.7: soft line breaks, trailing blanks dropped */
	QP_ENCODED_WORD, /* RFC 2047 4.2: as a body, and '_' is a space */
};

/* Appends the bytes of quoted-printable text s[0..len) (LF line ends). An
 * '=' not followed by two hex digits or a line end stays literally. */
void qp_decode(struct buf *out, const char *s, size_t len, enum qp_flavour flavour);

/* The base64 length of n bytes (padded). */
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes the padded base64 of d[0..len) at o, BASE64_LEN(len) characters
 * without a line break or NUL; returns the end. */
char *base64_encode_to(char *o, const unsigned char *d, size_t len);

/* Appends data as a base64 body: lines of 76 characters, each ended by
 * CRLF (the last one too). */
void mime_base64_encode(struct buf *b, const unsigned char *data, size_t len);

/* Appends text (LF or CRLF line ends) as a quoted-printable body with CRLF
 * line ends and lines of at most 76 characters; a blank before a line end
 * and "From " at a line start are encoded. */
void mime_qp_encode(struct buf *b, const char *text, size_t len);

/* Content-Transfer-Encoding values the parser decodes; the rest are read
 * as they are (7bit, 8bit, binary, and anything unknown). */
enum cte { CTE_IDENTITY, CTE_BASE64, CTE_QP };

/* The encoding a Content-Transfer-Encoding value names (NULL: identity);
 * case, blanks and quotes around the token are ignored. */
enum cte cte_kind(const char *value);

/* Appends s[0..len) decoded as kind says. */
void cte_decode(enum cte kind, const char *s, size_t len, struct buf *out);

#endif
