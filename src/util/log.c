#include "compat.h"

#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "termsafe.h"

static int log_verbosity;
static bool log_syslog;
static bool log_stderr = true;

/* syslog(3) writes to /dev/log, which a test cannot read: with
 * $SECDESK_TEST_SYSLOG naming a file, each line goes there too. */
static void
syslog_line(int prio, const char *line)
{
	const char *copy_to = getenv("SECDESK_TEST_SYSLOG");
	FILE *fp;

	syslog(prio, "%s", line);
	if (!copy_to || !*copy_to)
		return;
	fp = fopen(copy_to, "a");
	if (!fp)
		return;
	fprintf(fp, "secdesk[%ld]: <%d> %s\n", (long)getpid(), prio, line);
	fclose(fp);
}

/* Messages quote subjects and addresses: nothing from mail may steer the
 * terminal or the log viewer (termsafe.h). safe receives the escaped text. */
static void
format_safe(struct buf *safe, const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT;

	buf_vaddf(&msg, fmt, ap);
	termsafe_escape(safe, buf_cstr(&msg), msg.len, TERMSAFE_LINES);
	buf_release(&msg);
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
	struct buf safe = BUF_INIT;

	if (lvl == LOG_LVL_DEBUG && log_verbosity < 1)
		return;
	if (lvl >= LOG_LVL_WARN && log_verbosity < 0)
		return;
	format_safe(&safe, fmt, ap);
	if (log_syslog)
		syslog_line(prio[lvl], buf_cstr(&safe));
	if (log_stderr)
		fprintf(stderr, "secdesk: %s%s\n", lvl == LOG_LVL_WARN ? "warning: " : "",
			buf_cstr(&safe));
	buf_release(&safe);
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
	struct buf safe = BUF_INIT;
	va_list ap;

	if (!log_syslog)
		return;
	va_start(ap, fmt);
	format_safe(&safe, fmt, ap);
	va_end(ap);
	syslog_line(LOG_INFO, buf_cstr(&safe));
	buf_release(&safe);
}
