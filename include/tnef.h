/* tnef.h - the files inside Outlook's TNEF (winmail.dat). */
#ifndef SECDESK_TNEF_H
#define SECDESK_TNEF_H

#include <stdbool.h>
#include <stddef.h>

/* Called once per attachment found: its title (8-bit as written, may be
 * "") and its content (pointers into the TNEF data). Returns false to
 * stop. */
typedef bool (*tnef_file_fn)(void *arg, const char *title, size_t title_len,
			     const unsigned char *data, size_t len);

/* Walks a TNEF stream; every length is checked against the data. Returns
 * the number of files reported, or -1 when data is not TNEF. */
int tnef_list(const unsigned char *data, size_t len, tnef_file_fn fn, void *arg);

#endif
