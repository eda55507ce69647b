/* mimeout.h - well-formed MIME for mail that goes out.
 *
 * UTF-8 throughout; header values RFC 2047-encoded when they are not ASCII
 * and folded under 78 columns; the body 7bit, quoted-printable or base64,
 * whichever the text needs; CRLF line ends. No header is built from data
 * that holds CR, LF or another control character: such a value is refused
 * (EXIT_DATAERR), never cleaned up behind the caller's back. */
#ifndef SECDESK_MIMEOUT_H
#define SECDESK_MIMEOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
/* the body encoders mime_qp_encode() and mime_base64_encode() */
#include "encodings.h"
#include "err.h"

#define MIME_LINE_MAX 78
/* The longest address written (RFC 5321 4.5.3.1.3, without the brackets). */
#define MIME_ADDR_MAX 254

/* Is v fit for a header value: valid UTF-8, no control characters but tab? */
bool mime_value_ok(const char *v);
/* Is addr a plain ASCII local@domain without spaces, brackets or controls,
 * at most MIME_ADDR_MAX long? */
bool mime_addr_ok(const char *addr);

/* Appends "Name: value" CRLF: unstructured text (Subject...), encoded-words
 * when needed, folded. Blanks between words become one space (a fold, or
 * one within an encoded word); a word too long for a line goes as encoded
 * words, never splitting a character, so that no line passes
 * MIME_LINE_MAX but for a long header name. */
int mime_header(struct buf *b, const char *name, const char *value, struct err *e);
/* Appends a header that carries raw tokens (Message-ID lists, Date...):
 * ASCII only, folded at the spaces of value. */
int mime_header_raw(struct buf *b, const char *name, const char *value, struct err *e);

struct mime_addr {
	const char *name; /* display name, NULL or "" for none */
	const char *addr;
};
/* Appends "Name: Display <addr>, ..." with display names quoted or
 * encoded as needed (a long word or quoted string encoded, as for
 * mime_header), their blanks made single spaces and trimmed, folded
 * between words and addresses. */
int mime_header_addrs(struct buf *b, const char *name, const struct mime_addr *a, size_t n,
		      struct err *e);

/* Appends MIME-Version, Content-Type text/plain; charset=utf-8 and the
 * Content-Transfer-Encoding the text needs, the empty line and the encoded
 * body (LF or CRLF in text; CRLF out). text must be valid UTF-8. */
int mime_text_body(struct buf *b, const char *text, struct err *e);
/* mime_text_body's part with flags: MIME_TEXT_VERSION writes the
 * MIME-Version line (a whole message's body; not inside a multipart),
 * MIME_TEXT_FLOWED says format=flowed (RFC 3676; text already flowed,
 * flowed_encode). */
#define MIME_TEXT_VERSION 1u
#define MIME_TEXT_FLOWED 2u
int mime_text_part(struct buf *b, const char *text, unsigned flags, struct err *e);
/* A file to attach: its name (a path: the last component is used), its
 * type, its bytes. */
struct mime_file {
	const char *name;
	const char *type;
	const unsigned char *data;
	size_t len;
};
/* The type of a file from its name's extension (the common document,
 * image and archive kinds); "application/octet-stream" when unknown. */
const char *mime_type_guess(const char *filename);
/* Appends an attachment's part headers (Content-Type type with the name,
 * Content-Disposition attachment with the file name: the last component
 * of filename, RFC 2231-encoded when not ASCII) and data in base64, ending
 * in CRLF. EXIT_DATAERR when the name or type cannot go in a header. */
int mime_attachment_part(struct buf *b, const char *filename, const char *type,
			 const unsigned char *data, size_t len, struct err *e);

/* A multipart/mixed body (RFC 2046 5.1.3), the one way outgoing mail
 * carries files: mime_multipart_begin appends the MIME-Version and
 * Content-Type lines, the empty line, the preamble and the first part's
 * delimiter, after which the caller writes the first part (a
 * mime_text_part); mime_multipart_file appends a delimiter and a file's
 * part (as mime_attachment_part; on an error nothing is appended);
 * mime_multipart_end the closing delimiter. The boundary is made from seed
 * (a Message-ID, a digest). EXIT_DATAERR when the mail grows too large. */
struct mime_multipart {
	char boundary[64];
};
int mime_multipart_begin(struct buf *b, struct mime_multipart *mp, const char *seed,
			 struct err *e);
int mime_multipart_file(struct buf *b, const struct mime_multipart *mp,
			const struct mime_file *f, struct err *e);
int mime_multipart_end(struct buf *b, const struct mime_multipart *mp, struct err *e);

/* "<unique@domain>" without the angle brackets, into out. */
void mime_message_id(const char *domain, char *out, size_t n);
/* An RFC 5322 date in UTC: "Sat, 28 Nov 2026 19:30:00 +0000". */
void mime_date(int64_t t, char *out, size_t n);

#endif
