/* bounce.h - does a mail look like a bounce or an auto-reply by what it
 * says, not by its DSN structure?
 *
 * Many delivery failures carry no multipart/report (qmail, Exchange, old
 * sendmail, webmail providers) and many vacation programs no
 * Auto-Submitted. These are the signals left: a known phrase at the start
 * of the Subject, in the languages of the consortium's members, a
 * mailer-service sender, and a returned copy of secdesk's own mail in the
 * body. Pure functions of their arguments, safe from any thread; the
 * phrase pattern is compiled once, on first use. */
#ifndef SECDESK_BOUNCE_H
#define SECDESK_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>

enum bounce_subject {
	BOUNCE_SUBJECT_NONE = 0,
	BOUNCE_SUBJECT_FAILURE,   /* a delivery failure or delay notice */
	BOUNCE_SUBJECT_AUTOREPLY, /* an automatic answer: out of office, vacation */
};

/* What the subject starts with, past reply and forward prefixes ("Re:",
 * "Fwd:", "AW:", "SV:", "Odp:"...) and blanks: a whole known phrase (not
 * the start of a longer word), compared without regard to case. *strong
 * (may be NULL) tells a phrase that people do not start a subject with
 * ("Unzustellbar", "Automatic reply:") from one that needs a sender or
 * structure signal beside it ("Delivery Status", "Zwrot", "Absence").
 * NULL or "" is BOUNCE_SUBJECT_NONE. */
enum bounce_subject bounce_subject_kind(const char *subject, bool *strong);

/* Is this a mail system's own sender: the local part of addr is
 * MAILER-DAEMON, postmaster, mailer, mail-daemon (and their spellings), or
 * the display name is one a mail system uses ("Mail Delivery System",
 * "Mail Delivery Subsystem")? addr and name may be NULL or "". */
bool bounce_mailer_sender(const char *addr, const char *name);

/* Does text (the body of a mail, headers of enclosed parts included) hold
 * a returned copy of secdesk's own mail: a header line, perhaps quoted
 * with '>', "Message-ID: <TIME.HEX.secdesk@...>", or the two header lines
 * secdesk's automatic mail carries, Auto-Submitted then
 * X-Auto-Response-Suppress: All? Reads at most the first BOUNCE_SCAN_MAX
 * bytes. */
#define BOUNCE_SCAN_MAX (1024 * 1024)
bool bounce_quotes_desk_mail(const char *text, size_t len);

#endif
