/* err.h - the error a library function returns to its caller.
 *
 * Library code never exits and never prints: it fills a struct err with an
 * exit code (sysexits.h, see compat.h) and a message, and returns -1. Only the
 * CLI prints the message and picks the exit status. */
#ifndef SECDESK_ERR_H
#define SECDESK_ERR_H

struct err {
	int code;       /* EXIT_* from compat.h; 0 when no error */
	char msg[1024]; /* lowercase, no trailing newline */
};

#define ERR_INIT { 0, "" }

/* Sets code and message; always returns -1 so that callers can
 * "return err_set(e, EXIT_CONFIG, ...)". e may be NULL. */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "prefix: ". */
void err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);

#endif
