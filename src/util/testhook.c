/* The test hooks of testhook.h. */
#include "compat.h"

#include <signal.h>

#include "testhook.h"

size_t
testhook_size(const char *name, size_t dflt)
{
	const char *v = getenv(name);
	unsigned long n = v && *v ? strtoul(v, NULL, 10) : 0;

	return n > 0 && n < dflt ? (size_t)n : dflt;
}

bool
testhook_nth(const char *name, unsigned long *count)
{
	const char *v = getenv(name);

	(*count)++;
	return v && *v && strtoul(v, NULL, 10) == *count;
}

void
testhook_source_stop(unsigned long *handed)
{
	if (testhook_nth("SECDESK_FAULT_SOURCE_STOP", handed))
		raise(SIGSTOP);
}

bool
testhook_step_fails(const char *step, const char *msgid, struct err *e)
{
	const char *want = getenv("SECDESK_FAULT_STEP");
	const char *mark = getenv("SECDESK_FAULT_MSGID");

	if (!want || strcmp(want, step) != 0 || !mark || !*mark || !msgid || !strstr(msgid, mark))
		return false;
	err_set(e, EXIT_DATAERR, "%s: fault injected by SECDESK_FAULT_STEP", step);
	return true;
}
