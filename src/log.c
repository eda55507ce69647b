#include "compat.h"

#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "termsafe.h"

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
	struct buf msg = BUF_INIT, safe = BUF_INIT;
	va_list ap;

	if (lvl == LOG_LVL_DEBUG && log_verbosity < 1)
		return;
	if (lvl >= LOG_LVL_WARN && log_verbosity < 0)
		return;
	/* Messages quote subjects and addresses: nothing from mail may steer
	 * the terminal or the log viewer (termsafe.h). */
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	termsafe_escape(&safe, buf_cstr(&msg), msg.len, TERMSAFE_LINES);
	if (log_syslog)
		syslog(prio[lvl], "%s", buf_cstr(&safe));
	fprintf(stderr, "secdesk: %s%s\n", lvl == LOG_LVL_WARN ? "warning: " : "",
		buf_cstr(&safe));
	buf_release(&msg);
	buf_release(&safe);
}
