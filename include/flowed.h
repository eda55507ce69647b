/* flowed.h - text/plain; format=flowed (RFC 3676) back to paragraphs. */
#ifndef SECDESK_FLOWED_H
#define SECDESK_FLOWED_H

#include <stdbool.h>
#include <stddef.h>

/* Joins flowed lines (ending in a space) with the next line of the same
 * quote depth, removes space-stuffing, and with delsp the trailing space of
 * each flowed line. Quoted lines come out as "> " per level. The input is
 * UTF-8 with LF line ends; the result is owned by the caller. */
char *flowed_decode(const char *s, size_t len, bool delsp);

#endif
