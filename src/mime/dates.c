/* Mail dates (dates.h). */
#include "compat.h"

#include <ctype.h>
#include <strings.h>

#include "dates.h"

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun",
				      "jul", "aug", "sep", "oct", "nov", "dec" };

static const struct {
	const char *name;
	int minutes;
} zones[] = {
	{ "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 }, { "est", -300 }, { "edt", -240 },
	{ "cst", -360 }, { "cdt", -300 }, { "mst", -420 }, { "mdt", -360 }, { "pst", -480 },
	{ "pdt", -420 }, { "cet", 60 }, { "cest", 120 }, { "met", 60 }, { "mest", 120 },
	{ "bst", 60 }, { "eet", 120 }, { "eest", 180 }, { "jst", 540 }, { "ist", 330 },
};

/* The fields of a date as read, before any range check. */
struct date_fields {
	long year, mon, day; /* mon 0..11 */
	long hh, mm, ss;
	long zone;           /* minutes east of UTC */
};

static const char *
skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p != '(')
			return p;
		/* A comment, nested at most a few levels, never past the end. */
		{
			int lvl = 0;

			do {
				if (*p == '(')
					lvl++;
				else if (*p == ')')
					lvl--;
				else if (*p == '\\' && p[1])
					p++;
				p++;
			} while (*p && lvl > 0);
		}
	}
}

static bool
read_num(const char **pp, int max_digits, long *out)
{
	const char *p = *pp;
	long v = 0;
	int n = 0;

	while (isdigit((unsigned char)*p) && n < max_digits) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0)
		return false;
	*out = v;
	*pp = p;
	return true;
}

static bool
starts_iso(const char *p)
{
	return isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
	       isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) && p[4] == '-';
}

/* "2026-11-02" and the 'T' or blank before a time. */
static bool
read_iso_day(const char **pp, struct date_fields *d)
{
	const char *p = *pp;

	if (!read_num(&p, 4, &d->year) || *p++ != '-' || !read_num(&p, 2, &d->mon) ||
	    *p++ != '-' || !read_num(&p, 2, &d->day))
		return false;
	d->mon--;
	if (*p == 'T' || *p == 't' || *p == ' ')
		p++;
	*pp = p;
	return true;
}

/* "Mon, 2 Nov 2026" (weekday optional, "2-Nov-26" too). */
static bool
read_rfc_day(const char **pp, struct date_fields *d)
{
	const char *p = *pp;

	if (isalpha((unsigned char)*p)) {
		while (isalpha((unsigned char)*p))
			p++;
		p = skip_cfws(p);
	}
	if (!read_num(&p, 2, &d->day))
		return false;
	while (*p == ' ' || *p == '-' || *p == '\t')
		p++;
	d->mon = -1;
	for (size_t i = 0; i < ARRAY_SIZE(months); i++)
		if (!strncasecmp(p, months[i], 3))
			d->mon = (long)i;
	if (d->mon < 0)
		return false;
	while (isalpha((unsigned char)*p) || *p == '.')
		p++;
	while (*p == ' ' || *p == '-' || *p == '\t')
		p++;
	if (!read_num(&p, 4, &d->year))
		return false;
	/* RFC 5322 4.3: two-digit years. */
	if (d->year < 50)
		d->year += 2000;
	else if (d->year < 1000)
		d->year += 1900;
	*pp = skip_cfws(p);
	return true;
}

/* "10:00", "10:00:00", "10:00:00.123" (the fraction ignored). */
static bool
read_time(const char **pp, struct date_fields *d)
{
	const char *p = *pp;

	d->ss = 0;
	if (!read_num(&p, 2, &d->hh) || *p++ != ':' || !read_num(&p, 2, &d->mm))
		return false;
	if (*p == ':') {
		p++;
		if (!read_num(&p, 2, &d->ss))
			return false;
		if (*p == '.')
			while (isdigit((unsigned char)*++p))
				;
	}
	*pp = p;
	return true;
}

/* "+0100", "-05", "+05:30" or a zone name; 0 for anything else. */
static long
read_zone(const char *p)
{
	long zone = 0;

	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		long z = 0, zh, zm;
		const char *zs = ++p;

		if (read_num(&p, 4, &z)) {
			if (p - zs <= 2) {
				zh = z;
				zm = 0;
				if (*p == ':') {
					p++;
					if (!read_num(&p, 2, &zm))
						zm = 0;
				}
			} else {
				zh = z / 100;
				zm = z % 100;
			}
			if (zh <= 14 && zm < 60)
				zone = sign * (zh * 60 + zm);
		}
	} else if (isalpha((unsigned char)*p)) {
		for (size_t i = 0; i < ARRAY_SIZE(zones); i++) {
			size_t n = strlen(zones[i].name);

			if (!strncasecmp(p, zones[i].name, n) && !isalpha((unsigned char)p[n]))
				zone = zones[i].minutes;
		}
	}
	return zone;
}

bool
dates_parse(const char *v, time_t *out)
{
	struct date_fields d;
	struct tm tm;
	const char *p = skip_cfws(v);

	if (!(starts_iso(p) ? read_iso_day(&p, &d) : read_rfc_day(&p, &d)) || !read_time(&p, &d))
		return false;
	d.zone = read_zone(skip_cfws(p));
	if (d.year < 1970 || d.year > 9999 || d.mon < 0 || d.mon > 11 || d.day < 1 || d.day > 31 ||
	    d.hh > 23 || d.mm > 59 || d.ss > 60)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)d.year - 1900;
	tm.tm_mon = (int)d.mon;
	tm.tm_mday = (int)d.day;
	tm.tm_hour = (int)d.hh;
	tm.tm_min = (int)d.mm;
	tm.tm_sec = (int)(d.ss == 60 ? 59 : d.ss);
	*out = timegm(&tm) - d.zone * 60;
	return true;
}

time_t
dates_written(bool has_date, time_t date, time_t received)
{
	if (has_date && date <= received && received - date <= DATES_WRITTEN_MAX_AGE)
		return date;
	return received;
}
