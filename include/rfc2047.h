/* rfc2047.h - encoded words (RFC 2047) and encoded parameters (RFC 2231).
 *
 * Both decoders return a new string (the caller frees it) that is valid
 * UTF-8 without control characters (tabs and line breaks become spaces) and
 * never fail: what cannot be decoded is kept as it was written, invalid
 * bytes become U+FFFD. */
#ifndef SECDESK_RFC2047_H
#define SECDESK_RFC2047_H

#include <stddef.h>

/* Decodes the encoded words of an unstructured header value (Subject, a
 * display name). Adjacent encoded words are joined before conversion, so
 * that a character split across two words survives, and the whitespace
 * between them is dropped. Raw 8-bit text outside encoded words is taken as
 * UTF-8 when it is, else detected. */
char *rfc2047_decode(const char *s, size_t len);

/* The value of parameter name (case-insensitive) in a structured header
 * value such as `attachment; filename*0*=utf-8''%E2%82%AC; filename*1=.pdf`:
 * RFC 2231 continuations, charsets and languages, RFC 2047 words inside a
 * quoted value (Outlook), and quoted-pairs. The extended form wins over
 * the plain one. Returns NULL when the parameter is absent. */
char *rfc2231_param(const char *value, const char *name);

/* Like rfc2231_param, but the raw bytes (quotes removed, no charset
 * conversion, no cleaning): for boundary and charset values. */
char *rfc2231_param_raw(const char *value, const char *name);

#endif
