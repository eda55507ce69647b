#include "compat.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "crashguard.h"
#include "store_intake.h"

static char evidence_path[4096];
static _Thread_local volatile int64_t parsing_id;

/* Async-signal-safe: open, write, fsync, close only. */
static void
write_evidence(int64_t id)
{
	char line[32];
	int n = 0, fd;
	char digits[24];
	int nd = 0;

	if (id <= 0 || !evidence_path[0])
		return;
	while (id > 0 && nd < (int)sizeof(digits)) {
		digits[nd++] = (char)('0' + id % 10);
		id /= 10;
	}
	while (nd > 0)
		line[n++] = digits[--nd];
	line[n++] = '\n';
	fd = open(evidence_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) == n)
		fsync(fd);
	close(fd);
}

static void
on_fatal(int sig)
{
	write_evidence(parsing_id);
	/* SA_RESETHAND restored the default action: die of the same signal. */
	raise(sig);
}

void
crashguard_install(const char *local_base)
{
	/* Under AddressSanitizer its own SIGSEGV report matters more. */
#if defined(__SANITIZE_ADDRESS__)
	static const int sigs[] = { SIGABRT, SIGALRM };
#else
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM };
#endif
	struct sigaction sa;

	snprintf(evidence_path, sizeof(evidence_path), "%s.crashes", local_base);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

void
crashguard_enter(int64_t intake_id)
{
	parsing_id = intake_id;
}

void
crashguard_leave(void)
{
	parsing_id = 0;
}

int
crashguard_collect(struct store *s, struct err *e)
{
	char line[64];
	FILE *fp;
	int rc = 0;

	if (!evidence_path[0])
		return 0;
	fp = fopen(evidence_path, "r");
	if (!fp)
		return errno == ENOENT ? 0 : err_set(e, EXIT_IOERR, "cannot read '%s': %s",
						     evidence_path, strerror(errno));
	if (store_begin(s, e) < 0) {
		fclose(fp);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), fp))
		rc = store_intake_crashed(s, strtoll(line, NULL, 10), e);
	fclose(fp);
	if (rc < 0) {
		store_rollback(s);
		return -1;
	}
	if (store_commit(s, e) < 0)
		return -1;
	/* Counted and committed: the evidence has done its work. */
	unlink(evidence_path);
	return 0;
}

void
intake_fault_injection(const char *raw, size_t len)
{
	const char *marker = getenv("SECDESK_FAULT_PARSE_CRASH");

	if (marker && *marker && memmem(raw, len, marker, strlen(marker)))
		abort();
}
