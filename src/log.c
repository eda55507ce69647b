#include "compat.h"

#include <syslog.h>
#include <unistd.h>

#include "log.h"

static int log_verbosity;
static int log_syslog;

void
log_setup(int verbosity)
{
	log_verbosity = verbosity;
	if (!isatty(STDERR_FILENO)) {
		openlog("secdesk", LOG_PID, LOG_MAIL);
		log_syslog = 1;
	}
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	va_list ap;

	if (lvl == LOG_LVL_DEBUG && log_verbosity < 1)
		return;
	if (lvl >= LOG_LVL_WARN && log_verbosity < 0)
		return;
	if (log_syslog) {
		va_start(ap, fmt);
		vsyslog(prio[lvl], fmt, ap);
		va_end(ap);
	}
	va_start(ap, fmt);
	fputs("secdesk: ", stderr);
	if (lvl == LOG_LVL_WARN)
		fputs("warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
