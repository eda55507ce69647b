/* html.h - readable text out of an HTML body, with libxml2's HTML parser.
 *
 * Scripts, styles and the head are dropped, block elements become line
 * breaks, list items get "- ", a link keeps its text followed by its address
 * in angle brackets when the two differ, images their alt text. The cost is
 * bounded: at most max_in bytes of HTML are read and at most max_out bytes
 * of text written (0: the defaults below); *truncated_r (may be NULL) says
 * whether a cap was hit. The input must be UTF-8; the result is valid
 * UTF-8, LF line ends, owned by the caller. */
#ifndef SECDESK_HTML_H
#define SECDESK_HTML_H

#include <stdbool.h>
#include <stddef.h>

#define HTML_MAX_IN ((size_t)16 * 1024 * 1024)
#define HTML_MAX_OUT ((size_t)2 * 1024 * 1024)

char *html_to_text(const char *html, size_t len, size_t max_in, size_t max_out, bool *truncated_r);

#endif
