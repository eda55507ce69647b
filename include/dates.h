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

/* How long before its receipt a mail's Date is still believed. */
#define DATES_WRITTEN_MAX_AGE (30 * 24 * 60 * 60)

/* When a mail was written, for ticket ages, response times and weekly
 * counts: its Date (date, when has_date) when that is not after received
 * and at most DATES_WRITTEN_MAX_AGE before it; otherwise received (a
 * clock that is wrong, a date made up, a mail resent years later). */
time_t dates_written(bool has_date, time_t date, time_t received);

#endif
