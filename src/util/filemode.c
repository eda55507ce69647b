/* The modes and group of the files the desk makes (filemode.h). */
#include "compat.h"

#include <fcntl.h>
#include <grp.h>
#include <unistd.h>

#include "filemode.h"
#include "xalloc.h"

static struct {
	bool shared; /* [store] group is set */
	gid_t gid;
} policy;

void
filemode_set_group(gid_t gid)
{
	mode_t old = umask(0);

	policy.shared = true;
	policy.gid = gid;
	/* SQLite makes -wal and -shm with the store's mode less the umask and
	 * widens them a moment later: another member of the group opening
	 * them in that moment found them read-only ("attempt to write a
	 * readonly database"). Without group bits in the umask they are the
	 * group's to write from the start. */
	umask(old & ~(mode_t)070);
}

mode_t
filemode_file(void)
{
	return policy.shared ? 0660 : 0600;
}

mode_t
filemode_dir(void)
{
	return policy.shared ? 02770 : 0700;
}

/* The group first: a chown by a user who is not root clears the set-group
 * bit that the chmod then sets. */
static int
set_owner_and_mode(int fd, mode_t mode)
{
	if (policy.shared && fchown(fd, (uid_t)-1, policy.gid) < 0)
		return -1;
	return fchmod(fd, mode);
}

int
filemode_fix_fd(int fd)
{
	return set_owner_and_mode(fd, filemode_file());
}

int
filemode_create(int dirfd, const char *path, int flags)
{
	/* 0600 from the start: the file is never readable by more than the
	 * rule allows, even before the chmod. */
	int fd = openat(dirfd, path, flags | O_CREAT | O_EXCL | O_CLOEXEC, 0600), saved;

	if (fd < 0)
		return -1;
	if (set_owner_and_mode(fd, filemode_file()) < 0) {
		saved = errno;
		close(fd);
		unlinkat(dirfd, path, 0);
		errno = saved;
		return -1;
	}
	return fd;
}

int
filemode_open(const char *path, int flags)
{
	/* Another process may create or remove the file in between: retry. */
	for (int tries = 0; tries < 3; tries++) {
		int fd = filemode_create(AT_FDCWD, path, flags);

		if (fd >= 0 || errno != EEXIST)
			return fd;
		fd = open(path, flags | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd;
	}
	return -1;
}

int
filemode_mkdir(const char *path)
{
	int saved;

	if (mkdir(path, 0700) < 0)
		return -1;
	/* By its name: under umask 0777 the new folder cannot be opened. */
	if ((policy.shared && chown(path, (uid_t)-1, policy.gid) < 0) ||
	    chmod(path, filemode_dir()) < 0) {
		saved = errno;
		rmdir(path);
		errno = saved;
		return -1;
	}
	return 0;
}

static int
give_shared_group(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISREG(st.st_mode) || st.st_gid == policy.gid ||
	    (st.st_uid != geteuid() && geteuid() != 0))
		return 0;
	return lchown(path, (uid_t)-1, policy.gid);
}

int
filemode_adopt(const char *path, struct err *e)
{
	if (!policy.shared || give_shared_group(path) == 0)
		return 0;
	return err_set(e, EXIT_CANTCREAT, "'%s': cannot give it to the group of [store] group: %s",
		       path, strerror(errno));
}

/* path quoted for sh: in single quotes, a single quote as '\''. */
static void
add_quoted(struct buf *b, const char *path)
{
	buf_addch(b, '\'');
	for (const char *p = path; *p; p++) {
		if (*p == '\'')
			buf_addstr(b, "'\\''");
		else
			buf_addch(b, *p);
	}
	buf_addch(b, '\'');
}

bool
filemode_too_loose(const struct stat *st, const char *path, mode_t *want, struct buf *fix)
{
	bool dir = S_ISDIR(st->st_mode);
	mode_t allowed = dir ? filemode_dir() : filemode_file();
	bool other_group = policy.shared && (st->st_mode & 0070) && st->st_gid != policy.gid;

	*want = allowed;
	if (!(st->st_mode & 0777 & ~allowed) && !other_group)
		return false;
	buf_reset(fix);
	if (other_group) {
		struct group *g = getgrgid(policy.gid);

		if (g)
			buf_addf(fix, "chgrp %s ", g->gr_name);
		else
			buf_addf(fix, "chgrp %ld ", (long)policy.gid);
		add_quoted(fix, path);
		buf_addstr(fix, " && ");
	}
	buf_addf(fix, "chmod %o ", (unsigned)allowed);
	add_quoted(fix, path);
	return true;
}
