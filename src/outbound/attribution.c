/* The attribution line above a reply's quote, in the reply's language:
 * "Am 30.11.2026 um 09:15 schrieb Jürgen Müller:" (outbound_int.h). */
#include "compat.h"

#include <time.h>

#include "outbound_int.h"
#include "xalloc.h"

/* Per language: the date as strftime writes it with numbers only (no
 * locale needed; English spells the month itself), and the sentence with
 * %D the date, %T the time (HH:MM) and %N the author. */
static const struct {
	const char lang[3];
	const char *date;
	const char *line;
} attributions[] = {
	{ "bg", "%d.%m.%Y", "На %D в %T %N написа:" },
	{ "ca", "%d/%m/%Y", "El %D a les %T, %N va escriure:" },
	{ "cs", "%d. %m. %Y", "Dne %D v %T %N napsal(a):" },
	{ "da", "%d.%m.%Y", "Den %D kl. %T skrev %N:" },
	{ "de", "%d.%m.%Y", "Am %D um %T schrieb %N:" },
	{ "el", "%d/%m/%Y", "Στις %D, %T, ο/η %N έγραψε:" },
	{ "en", NULL, "On %D, at %T, %N wrote:" },
	{ "es", "%d/%m/%Y", "El %D a las %T, %N escribió:" },
	{ "et", "%d.%m.%Y", "%N kirjutas %D kell %T:" },
	{ "fi", "%d.%m.%Y", "%N kirjoitti %D klo %T:" },
	{ "fr", "%d/%m/%Y", "Le %D à %T, %N a écrit :" },
	{ "he", "%d/%m/%Y", "בתאריך %D בשעה %T, %N כתב/ה:" },
	{ "hr", "%d. %m. %Y.", "Dana %D u %T, %N je napisao/la:" },
	{ "hu", "%Y. %m. %d.", "%D %T időpontban %N ezt írta:" },
	{ "it", "%d/%m/%Y", "Il %D alle %T, %N ha scritto:" },
	{ "lt", "%Y-%m-%d", "%D %T, %N rašė:" },
	{ "lv", "%d.%m.%Y", "%D %T, %N rakstīja:" },
	{ "nl", "%d-%m-%Y", "Op %D om %T schreef %N:" },
	{ "no", "%d.%m.%Y", "Den %D kl. %T skrev %N:" },
	{ "pl", "%d.%m.%Y", "W dniu %D o %T %N pisze:" },
	{ "pt", "%d/%m/%Y", "Em %D às %T, %N escreveu:" },
	{ "ro", "%d.%m.%Y", "Pe %D la %T, %N a scris:" },
	{ "sk", "%d. %m. %Y", "Dňa %D o %T %N napísal(a):" },
	{ "sl", "%d. %m. %Y", "Dne %D ob %T je %N napisal(a):" },
	{ "sv", "%Y-%m-%d", "Den %D kl. %T skrev %N:" },
	{ "tr", "%d.%m.%Y", "%D %T tarihinde %N şunu yazdı:" },
};

/* t in zone tz (NULL: the system's) into tm. glibc converts in one zone
 * at a time, TZ's: set for the call, and given back. */
static void
zoned_time(int64_t t, const char *tz, struct tm *tm)
{
	time_t tt = (time_t)t;
	char *saved = NULL;

	if (tz) {
		const char *old = getenv("TZ");

		saved = old ? xstrdup(old) : NULL;
		setenv("TZ", tz, 1);
		tzset();
	}
	localtime_r(&tt, tm);
	if (tz) {
		if (saved)
			setenv("TZ", saved, 1);
		else
			unsetenv("TZ");
		tzset();
		free(saved);
	}
}

char *
attribution_line(const char *lang, int64_t date, const char *author, const char *tz)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	size_t i = 0, en = 0;
	char day[32], hm[8];
	struct buf b = BUF_INIT;
	struct tm tm;

	for (; i < ARRAY_SIZE(attributions); i++) {
		if (strcmp(attributions[i].lang, "en") == 0)
			en = i;
		if (lang && strcmp(attributions[i].lang, lang) == 0)
			break;
	}
	if (i == ARRAY_SIZE(attributions))
		i = en;
	zoned_time(date, tz, &tm);
	if (attributions[i].date)
		strftime(day, sizeof(day), attributions[i].date, &tm);
	else
		snprintf(day, sizeof(day), "%d %s %d", tm.tm_mday, months[tm.tm_mon],
			 tm.tm_year + 1900);
	snprintf(hm, sizeof(hm), "%02d:%02d", tm.tm_hour, tm.tm_min);
	buf_init(&b, 0);
	for (const char *p = attributions[i].line; *p; p++) {
		if (p[0] == '%' && (p[1] == 'D' || p[1] == 'T' || p[1] == 'N')) {
			buf_addstr(&b, p[1] == 'D' ? day : p[1] == 'T' ? hm : author);
			p++;
		} else {
			buf_addch(&b, *p);
		}
	}
	return buf_detach(&b, NULL);
}
