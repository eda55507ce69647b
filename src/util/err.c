#include "compat.h"

#include "err.h"

int
err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
err_prefix(struct err *e, const char *fmt, ...)
{
	char prefix[512], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* Truncation keeps the start: the prefix says where, the rest what. */
	{
		size_t pl = strlen(prefix), ol = strlen(old), room = sizeof(e->msg) - 1;

		if (pl > room - 2)
			pl = room - 2;
		memcpy(e->msg, prefix, pl);
		memcpy(e->msg + pl, ": ", 2);
		if (ol > room - pl - 2)
			ol = room - pl - 2;
		memcpy(e->msg + pl + 2, old, ol);
		e->msg[pl + 2 + ol] = '\0';
	}
}

void
err_clear(struct err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}
