/* The fetch's helper thread (index_thread.h). */
#include "compat.h"

#include <pthread.h>
#include <signal.h>

#include "clock.h"
#include "index_thread.h"
#include "log.h"
#include "search_index.h"
#include "xalloc.h"

struct index_thread {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	unsigned long commits, seen; /* commits poked; commits the last pass saw */
	bool stop;
	struct store *s; /* the thread's own connection */
};

/* One pass: the index, then the store's checkpoint. false when indexing
 * must stop (logged). */
static bool
index_pass(struct index_thread *t)
{
	struct err e = ERR_INIT;

	if (search_index_update(t->s, 0, NULL, &e) < 0 && e.code != EXIT_TEMPFAIL) {
		log_warn("%s; search will catch up", e.msg);
		return false;
	}
	e = (struct err)ERR_INIT;
	if (store_checkpoint(t->s, &e) < 0) {
		log_warn("%s", e.msg);
		return false;
	}
	return true;
}

static void *
index_loop(void *arg)
{
	struct index_thread *t = arg;
	bool working = true, last = false;

	while (working && !last) {
		pthread_mutex_lock(&t->lock);
		while (t->seen == t->commits && !t->stop)
			pthread_cond_wait(&t->wake, &t->lock);
		t->seen = t->commits;
		last = t->stop;
		pthread_mutex_unlock(&t->lock);
		working = index_pass(t);
	}
	return NULL;
}

int
index_thread_start(const char *location, struct store *s, struct index_thread **out,
		   struct err *e)
{
	struct index_thread *t = xcalloc(1, sizeof(*t));
	sigset_t all, old;
	int rc;

	*out = NULL;
	if (store_open(location, 0, &t->s, e) < 0 || search_index_attach(t->s, e) < 0 ||
	    store_set_commit_checkpoints(s, false, e) < 0) {
		store_close(&t->s);
		free(t);
		return -1;
	}
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->wake, NULL);
	/* Signals (the parser's alarm, a stop) stay the fetch's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->thread, NULL, index_loop, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		struct err ignored = ERR_INIT;

		store_set_commit_checkpoints(s, true, &ignored);
		pthread_cond_destroy(&t->wake);
		pthread_mutex_destroy(&t->lock);
		store_close(&t->s);
		free(t);
		return err_set(e, EXIT_TEMPFAIL, "cannot start the index thread: %s", strerror(rc));
	}
	*out = t;
	return 0;
}

void
index_thread_poke(struct index_thread *t)
{
	pthread_mutex_lock(&t->lock);
	t->commits++;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
}

double
index_thread_finish(struct index_thread *t, struct store *s)
{
	struct err ignored = ERR_INIT;
	double start = clock_mono();

	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	store_close(&t->s);
	free(t);
	/* Commits checkpoint again; a failure here changes nothing stored. */
	store_set_commit_checkpoints(s, true, &ignored);
	return clock_mono() - start;
}
