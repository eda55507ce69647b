/* dir:PATH - the embedded default: one RFC 5322 file per mail in a folder,
 * written as a Maildir delivery is (OpenSMTPD mail.maildir.c): a hidden tmp
 * file made with O_EXCL, written, fsynced, then renamed into place, so that
 * a reader never sees half a mail. The envelope goes on top as Return-Path
 * and X-Envelope-To, as a delivery agent writes it. */
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
	unsigned seq;
	char host[64];
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
	if (gethostname(d->host, sizeof(d->host) - 1) < 0 || !d->host[0])
		snprintf(d->host, sizeof(d->host), "localhost");
	for (char *p = d->host; *p; p++)
		if (*p == '/' || *p == ':' || *p == '.')
			*p = '_';
	*state = d;
	return 0;
}

static enum send_status
dir_deliver(void *state, const struct send_mail *m, struct err *e)
{
	struct dir_state *d = state;
	struct buf head = BUF_INIT;
	char tmp[128], name[128];
	int fd, saved;
	long long now = (long long)time(NULL);

	d->seq++;
	snprintf(tmp, sizeof(tmp), ".tmp.%lld.%ld.%u", now, (long)getpid(), d->seq);
	snprintf(name, sizeof(name), "%lld.%06lld.%ld_%u.%s.eml", now, (long long)m->id,
		 (long)getpid(), d->seq, d->host);
	buf_addf(&head, "Return-Path: <%s>\n", m->env_from);
	for (size_t i = 0; i < m->nrcpts; i++)
		buf_addf(&head, "X-Envelope-To: <%s>\n", m->rcpts[i]);
	fd = filemode_create(d->dirfd, tmp, O_WRONLY);
	if (fd < 0)
		goto fail;
	if (fd_write_all(fd, head.data, head.len) < 0 || fd_write_all(fd, m->data, m->len) < 0 ||
	    fsync(fd) < 0) {
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
	/* The rename itself must reach the disk before the mail counts as sent. */
	if (fsync(d->dirfd) < 0)
		goto fail;
	buf_release(&head);
	return SEND_OK;
fail:
	err_set(e, EXIT_TEMPFAIL, "outbox folder '%s': %s", d->path, strerror(errno));
	buf_release(&head);
	/* A full disk or a lost folder concerns every mail: stop the run. */
	return SEND_CONN;
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
};
