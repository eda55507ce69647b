/* dir:PATH - the embedded default: one RFC 5322 file per mail in a folder,
 * named by its outbox id (ID.eml), written as a Maildir delivery is
 * (OpenSMTPD mail.maildir.c): a hidden tmp file made with O_EXCL, written,
 * then renamed into place, so that a reader never sees half a mail. The
 * envelope goes on top as Return-Path and X-Envelope-To, as a delivery
 * agent writes it.
 *
 * The disk is synced once per group of mails (dir_sync: the file system
 * holding the folder, files and names at once), and the caller records the
 * group only after that: a mail written but not recorded is delivered
 * again after a crash and, under the same name, replaces its copy. */
#include "compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "filemode.h"
#include "send.h"
#include "xalloc.h"

struct dir_state {
	char *path;
	int dirfd;
};

static int
dir_open(const struct config *cfg, const char *url, void **state, struct err *e)
{
	struct dir_state *d;
	struct stat st;

	(void)cfg;
	if (!*url)
		return err_set(e, EXIT_CONFIG, "[send] url 'dir:' names no folder");
	if (stat(url, &st) < 0 && errno == ENOENT && filemode_mkdir(url) < 0 && errno != EEXIST)
		return err_set(e, EXIT_CANTCREAT, "outbox folder '%s': %s", url, strerror(errno));
	d = xcalloc(1, sizeof(*d));
	d->path = xstrdup(url);
	d->dirfd = open(url, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0) {
		err_set(e, errno == ENOENT || errno == ENOTDIR ? EXIT_CANTCREAT : EXIT_TEMPFAIL,
			"outbox folder '%s': %s", url, strerror(errno));
		free(d->path);
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

/* Creates the tmp file of mail id; a stale one of a killed run with the
 * same pid is replaced. */
static int
tmp_create(struct dir_state *d, const char *tmp)
{
	int fd = filemode_create(d->dirfd, tmp, O_WRONLY);

	if (fd < 0 && errno == EEXIST && unlinkat(d->dirfd, tmp, 0) == 0)
		fd = filemode_create(d->dirfd, tmp, O_WRONLY);
	return fd;
}

static enum send_status
dir_deliver(void *state, const struct send_mail *m, struct err *e)
{
	struct dir_state *d = state;
	struct buf head = BUF_INIT;
	char tmp[64], name[64];
	int fd, saved;

	snprintf(tmp, sizeof(tmp), ".tmp.%lld.%ld", (long long)m->id, (long)getpid());
	snprintf(name, sizeof(name), "%010lld.eml", (long long)m->id);
	buf_addf(&head, "Return-Path: <%s>\n", m->env_from);
	for (size_t i = 0; i < m->nrcpts; i++)
		buf_addf(&head, "X-Envelope-To: <%s>\n", m->rcpts[i]);
	fd = tmp_create(d, tmp);
	if (fd < 0)
		goto fail;
	if (fd_write_all(fd, head.data, head.len) < 0 || fd_write_all(fd, m->data, m->len) < 0) {
		saved = errno;
		close(fd);
		unlinkat(d->dirfd, tmp, 0);
		errno = saved;
		goto fail;
	}
	if (close(fd) < 0 || renameat(d->dirfd, tmp, d->dirfd, name) < 0) {
		saved = errno;
		unlinkat(d->dirfd, tmp, 0);
		errno = saved;
		goto fail;
	}
	buf_release(&head);
	return SEND_OK;
fail:
	err_set(e, EXIT_TEMPFAIL, "outbox folder '%s': %s", d->path, strerror(errno));
	buf_release(&head);
	/* A full disk or a lost folder concerns every mail: stop the run. */
	return SEND_CONN;
}

/* The files written and their names, on disk before they count as sent:
 * one call for the group rather than two fsyncs per mail. */
static int
dir_sync(void *state, struct err *e)
{
	struct dir_state *d = state;

	if (syncfs(d->dirfd) < 0)
		return err_set(e, EXIT_TEMPFAIL, "outbox folder '%s': %s", d->path,
			       strerror(errno));
	return 0;
}

static void
dir_close(void *state)
{
	struct dir_state *d = state;

	if (!d)
		return;
	close(d->dirfd);
	free(d->path);
	free(d);
}

const struct transport_ops send_dir_ops = {
	.prefix = "dir:",
	.open = dir_open,
	.deliver = dir_deliver,
	.close = dir_close,
	.sync = dir_sync,
	.resend_replaces = true,
};
