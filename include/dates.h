/* dates.h - the Date: field of a mail, as RFC 5322 writes it and as
 * clients really do. Pure functions, safe from any thread. */
#ifndef SECDESK_DATES_H
#define SECDESK_DATES_H

#include <stdbool.h>
#include <time.h>

/* Reads v as a date and stores it in *out as UTC epoch seconds: the
 * weekday optional, two- or four-digit years (RFC 5322 4.3), seconds
 * optional, numeric or named zones (an unknown zone counts as UTC),
 * comments; also "2026-11-02 10:00:00" and "2026-11-02T10:00:00Z".
 * Returns false (and leaves *out) when v is no date or one out of range
 * (years 1970 to 9999). */
bool dates_parse(const char *v, time_t *out);

#endif
