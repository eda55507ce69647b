/* The background fdatasync() of syncer.h. */
#include "compat.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "syncer.h"
#include "testhook.h"
#include "xalloc.h"

struct syncer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* a request, a sync done, or stopping */
	int fd;
	char *path;
	uint64_t requested; /* the last ticket handed out */
	uint64_t synced;    /* every ticket up to this one is on disk */
	bool stopping;
	bool failed;
	struct err err; /* why, when failed */
	unsigned long syncs; /* for SECDESK_FAULT_SYNC */
};

/* One sync, outside the lock: requests go on meanwhile. */
static int
sync_once(struct syncer *sy, struct err *e)
{
	if (testhook_nth("SECDESK_FAULT_SYNC", &sy->syncs)) {
		errno = EIO;
		return err_set(e, EXIT_IOERR, "cannot sync '%s': %s", sy->path, strerror(errno));
	}
	while (fdatasync(sy->fd) < 0) {
		if (errno != EINTR)
			return err_set(e, EXIT_IOERR, "cannot sync '%s': %s", sy->path,
				       strerror(errno));
	}
	return 0;
}

static void *
syncer_main(void *arg)
{
	struct syncer *sy = arg;

	(void)pthread_setname_np(pthread_self(), "secdesk-sync");
	pthread_mutex_lock(&sy->mu);
	for (;;) {
		struct err e = ERR_INIT;
		uint64_t target;
		int rc;

		while (sy->synced == sy->requested && !sy->stopping)
			pthread_cond_wait(&sy->cond, &sy->mu);
		if (sy->synced == sy->requested || sy->failed)
			break; /* stopping, with nothing left that can succeed */
		/* Everything written before this request is covered. */
		target = sy->requested;
		pthread_mutex_unlock(&sy->mu);
		rc = sync_once(sy, &e);
		pthread_mutex_lock(&sy->mu);
		if (rc < 0) {
			sy->failed = true;
			sy->err = e;
		} else {
			sy->synced = target;
		}
		pthread_cond_broadcast(&sy->cond);
	}
	pthread_mutex_unlock(&sy->mu);
	return NULL;
}

int
syncer_start(const char *path, struct syncer **out, struct err *e)
{
	struct syncer *sy;
	int fd;

	*out = NULL;
	/* fdatasync() reaches the file's data whichever descriptor asks. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, EXIT_IOERR, "cannot open '%s': %s", path, strerror(errno));
	sy = xcalloc(1, sizeof(*sy));
	sy->fd = fd;
	sy->path = xstrdup(path);
	sy->err = (struct err)ERR_INIT;
	pthread_mutex_init(&sy->mu, NULL);
	pthread_cond_init(&sy->cond, NULL);
	if (pthread_create(&sy->thread, NULL, syncer_main, sy) != 0) {
		pthread_mutex_destroy(&sy->mu);
		pthread_cond_destroy(&sy->cond);
		close(fd);
		free(sy->path);
		free(sy);
		return err_set(e, EXIT_SOFTWARE, "cannot start the sync thread");
	}
	*out = sy;
	return 0;
}

uint64_t
syncer_request(struct syncer *sy)
{
	uint64_t ticket;

	pthread_mutex_lock(&sy->mu);
	ticket = ++sy->requested;
	pthread_cond_broadcast(&sy->cond);
	pthread_mutex_unlock(&sy->mu);
	return ticket;
}

int
syncer_wait(struct syncer *sy, uint64_t ticket, struct err *e)
{
	int rc = 0;

	pthread_mutex_lock(&sy->mu);
	while (sy->synced < ticket && !sy->failed)
		pthread_cond_wait(&sy->cond, &sy->mu);
	if (sy->failed) {
		*e = sy->err;
		rc = -1;
	}
	pthread_mutex_unlock(&sy->mu);
	return rc;
}

int
syncer_stop(struct syncer **syp, struct err *e)
{
	struct syncer *sy = *syp;
	int rc = 0;

	if (!sy)
		return 0;
	pthread_mutex_lock(&sy->mu);
	sy->stopping = true;
	pthread_cond_broadcast(&sy->cond);
	pthread_mutex_unlock(&sy->mu);
	pthread_join(sy->thread, NULL);
	if (sy->failed) {
		*e = sy->err;
		rc = -1;
	}
	pthread_mutex_destroy(&sy->mu);
	pthread_cond_destroy(&sy->cond);
	close(sy->fd);
	free(sy->path);
	free(sy);
	*syp = NULL;
	return rc;
}
