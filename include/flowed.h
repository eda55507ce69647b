/* flowed.h - text/plain; format=flowed (RFC 3676): to paragraphs and back. */
#ifndef SECDESK_FLOWED_H
#define SECDESK_FLOWED_H

#include <stdbool.h>
#include <stddef.h>

/* Joins flowed lines (ending in a space) with the next line of the same
 * quote depth, removes space-stuffing, and with delsp the trailing space of
 * each flowed line. Quoted lines come out as "> " per level. The input is
 * UTF-8 with LF line ends; the result is owned by the caller. */
char *flowed_decode(const char *s, size_t len, bool delsp);

/* Text (UTF-8, LF line ends) as format=flowed without DelSp: lines longer
 * than width (counting the quote marks) broken after a space, the space
 * left at the line's end (a soft break); trailing blanks of the others
 * removed, so that they stay fixed; lines starting with '>' kept at their
 * quote depth, the continuation of a long one too; space-stuffing where a
 * line starts with a space, '>' after the marks, or "From ". A word longer
 * than width stays whole. "-- " is kept as it is. Owned by the caller;
 * flowed_decode(result, delsp false) gives the text back but for the
 * trailing blanks and the "> " spacing of quote marks. */
char *flowed_encode(const char *s, size_t len, size_t width);

#endif
