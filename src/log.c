#include "compat.h"

#include <syslog.h>
#include <unistd.h>

#include "log.h"

static int log_verbosity;
static bool log_syslog;
static bool log_stderr = true;

/* syslog(3) writes to /dev/log, which a test cannot read: with
 * $SECDESK_TEST_SYSLOG naming a file, each line goes there too. */
static void
to_syslog(int prio, const char *fmt, va_list ap)
{
	const char *copy_to = getenv("SECDESK_TEST_SYSLOG");
	va_list again;
	FILE *fp;

	va_copy(again, ap);
	vsyslog(prio, fmt, again);
	va_end(again);
	if (!copy_to || !*copy_to)
		return;
	fp = fopen(copy_to, "a");
	if (!fp)
		return;
	fprintf(fp, "secdesk[%ld]: <%d> ", (long)getpid(), prio);
	vfprintf(fp, fmt, ap);
	fputc('\n', fp);
	fclose(fp);
}

void
log_setup(int verbosity, bool always_syslog)
{
	log_verbosity = verbosity;
	if (always_syslog || !isatty(STDERR_FILENO)) {
		openlog("secdesk", LOG_PID, LOG_MAIL);
		log_syslog = true;
	}
}

void
log_hide_details(void)
{
	log_stderr = isatty(STDERR_FILENO);
}

bool
log_details_hidden(void)
{
	return !log_stderr;
}

void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	va_list copy;

	if (lvl == LOG_LVL_DEBUG && log_verbosity < 1)
		return;
	if (lvl >= LOG_LVL_WARN && log_verbosity < 0)
		return;
	if (log_syslog) {
		va_copy(copy, ap);
		to_syslog(prio[lvl], fmt, copy);
		va_end(copy);
	}
	if (!log_stderr)
		return;
	fputs("secdesk: ", stderr);
	if (lvl == LOG_LVL_WARN)
		fputs("warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void
log_note(const char *fmt, ...)
{
	va_list ap;

	if (!log_syslog)
		return;
	va_start(ap, fmt);
	to_syslog(LOG_INFO, fmt, ap);
	va_end(ap);
}
