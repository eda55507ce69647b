/* log.h - messages of a run for people and for syslog.
 *
 * Only the CLI layer logs; library code returns errors. On a terminal the
 * messages go to stderr; otherwise (cron, systemd) to stderr and syslog. */
#ifndef SECDESK_LOG_H
#define SECDESK_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* verbosity: -1 quiet (errors only), 0 normal (warnings + info), 1 debug. */
void log_setup(int verbosity);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
