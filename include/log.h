/* log.h - messages of a run for people and for syslog.
 *
 * Only the CLI layer logs; library code returns errors. On a terminal the
 * messages go to stderr; otherwise (cron, systemd) to stderr and syslog.
 * The commands that run unattended (run, fetch, send, ingest) log to syslog
 * always, as MTAs do: LOG_MAIL, ident "secdesk". */
#ifndef SECDESK_LOG_H
#define SECDESK_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* verbosity: -1 quiet (errors only), 0 normal (warnings + info), 1 debug.
 * always_syslog: log to syslog even when stderr is a terminal. */
void log_setup(int verbosity, bool always_syslog);
/* From now on, messages reach stderr only when it is a terminal: for a
 * command whose output an MTA passes back to senders (ingest), which must
 * not see local paths or config lines. syslog still gets everything. */
void log_hide_details(void);
/* Whether log_hide_details() holds stderr back (stderr is no terminal). */
bool log_details_hidden(void);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* One line to syslog only (LOG_INFO), whatever stderr is: what a run or a
 * mail came to, for the mail log. Nothing when syslog is not open. */
void log_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
