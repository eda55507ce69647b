#include "compat.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "filemode.h"
#include "lock.h"

int
lock_take(const char *path, struct err *e)
{
	char pid[32] = "";
	ssize_t n;
	int fd = filemode_open(path, O_RDWR);

	if (fd < 0)
		return err_set(e, EXIT_CANTCREAT, "cannot open lock file '%s': %s", path,
			       strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;

		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		if (saved == EWOULDBLOCK)
			return err_set(e, EXIT_TEMPFAIL, "another secdesk run is in progress%s%s%s "
				       "(lock '%s'); try again later", *pid ? " (pid " : "", pid,
				       *pid ? ")" : "", path);
		return err_set(e, EXIT_CANTCREAT, "cannot lock '%s': %s", path, strerror(saved));
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		/* The PID is only a hint for the message above. */
	}
	return fd;
}

void
lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
