#include "compat.h"

#include <pthread.h>

#include "ingest.h"
#include "source_ahead.h"
#include "xalloc.h"

struct fetched {
	char *key;
	char *raw;
	size_t len;
	char sha256[65];
};

enum request_kind { REQ_FETCH, REQ_MARK };

struct request {
	enum request_kind kind;
	const char *const *keys; /* REQ_FETCH: the caller's */
	char **owned;            /* REQ_MARK: our copies */
	size_t n;
	struct fetched *items;   /* REQ_FETCH: arrived, in order */
	size_t nitems, cap, taken;
	bool abandoned;          /* the caller stopped collecting */
	bool finished;
	int rc;
	struct err err;
	struct request *next;
};

struct source_ahead {
	const struct source_ops *ops;
	struct source *src;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct request *head, *tail; /* queued, oldest first, until the caller takes them */
	struct request *todo;        /* the next one for the thread */
	size_t buffered;             /* bytes of arrived messages not yet taken */
	bool stopping;
};

struct arrival {
	struct source_ahead *sa;
	struct request *r;
};

/* The source's callback, in the thread: keeps a copy, waiting while the
 * buffer is full. */
static int
on_message(void *arg, const char *key, const char *raw, size_t len)
{
	struct arrival *a = arg;
	struct source_ahead *sa = a->sa;
	struct request *r = a->r;
	struct fetched f;

	pthread_mutex_lock(&sa->mu);
	while (sa->buffered > 0 && sa->buffered + len > SOURCE_AHEAD_BYTES && !r->abandoned &&
	       !sa->stopping)
		pthread_cond_wait(&sa->cv, &sa->mu);
	if (r->abandoned || sa->stopping) {
		pthread_mutex_unlock(&sa->mu);
		return 1;
	}
	pthread_mutex_unlock(&sa->mu);
	f.key = xstrdup(key);
	f.raw = xmalloc(len + 1);
	if (len)
		memcpy(f.raw, raw, len);
	f.raw[len] = '\0';
	f.len = len;
	/* Hashed here, beside the transport, not in the storing thread. */
	ingest_sha256(f.raw, len, f.sha256);
	pthread_mutex_lock(&sa->mu);
	if (r->nitems == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->items = xreallocarray(r->items, r->cap, sizeof(*r->items));
	}
	r->items[r->nitems++] = f;
	sa->buffered += len;
	pthread_cond_broadcast(&sa->cv);
	pthread_mutex_unlock(&sa->mu);
	return 0;
}

static void *
serve(void *arg)
{
	struct source_ahead *sa = arg;

	(void)pthread_setname_np(pthread_self(), "secdesk-source");
	pthread_mutex_lock(&sa->mu);
	for (;;) {
		struct request *r;
		struct err e = ERR_INIT;
		int rc;

		while (!sa->todo && !sa->stopping)
			pthread_cond_wait(&sa->cv, &sa->mu);
		if (sa->stopping)
			break; /* what was not started is left to the next run */
		r = sa->todo;
		pthread_mutex_unlock(&sa->mu);
		if (r->kind == REQ_FETCH) {
			struct arrival a = { sa, r };

			rc = sa->ops->fetch(sa->src, r->keys, r->n, on_message, &a, &e);
		} else {
			rc = sa->ops->mark_done(sa->src, (const char *const *)r->owned, r->n, &e);
		}
		pthread_mutex_lock(&sa->mu);
		r->rc = rc;
		r->err = e;
		r->finished = true;
		sa->todo = r->next;
		pthread_cond_broadcast(&sa->cv);
	}
	pthread_mutex_unlock(&sa->mu);
	return NULL;
}

struct source_ahead *
source_ahead_start(const struct source_ops *ops, struct source *src)
{
	struct source_ahead *sa = xcalloc(1, sizeof(*sa));

	sa->ops = ops;
	sa->src = src;
	pthread_mutex_init(&sa->mu, NULL);
	pthread_cond_init(&sa->cv, NULL);
	if (pthread_create(&sa->thread, NULL, serve, sa) != 0) {
		fputs("secdesk: cannot start the source thread\n", stderr);
		abort();
	}
	return sa;
}

static void
enqueue(struct source_ahead *sa, struct request *r)
{
	pthread_mutex_lock(&sa->mu);
	if (sa->tail)
		sa->tail->next = r;
	else
		sa->head = r;
	sa->tail = r;
	if (!sa->todo)
		sa->todo = r;
	pthread_cond_broadcast(&sa->cv);
	pthread_mutex_unlock(&sa->mu);
}

void
source_ahead_fetch(struct source_ahead *sa, const char *const *keys, size_t n)
{
	struct request *r = xcalloc(1, sizeof(*r));

	r->kind = REQ_FETCH;
	r->keys = keys;
	r->n = n;
	enqueue(sa, r);
}

void
source_ahead_mark_done(struct source_ahead *sa, const char *const *keys, size_t n)
{
	struct request *r = xcalloc(1, sizeof(*r));

	r->kind = REQ_MARK;
	r->n = n;
	r->owned = xcalloc(n ? n : 1, sizeof(*r->owned));
	for (size_t i = 0; i < n; i++)
		r->owned[i] = xstrdup(keys[i]);
	enqueue(sa, r);
}

/* Frees r's untaken messages; the lock is held. */
static void
drop_items(struct source_ahead *sa, struct request *r)
{
	for (size_t i = r->taken; i < r->nitems; i++) {
		sa->buffered -= r->items[i].len;
		free(r->items[i].key);
		free(r->items[i].raw);
	}
	r->taken = r->nitems;
}

static void
request_free(struct request *r)
{
	for (size_t i = 0; r->owned && i < r->n; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->items);
	free(r);
}

/* Takes the oldest request off the queue once finished; the lock is held. */
static struct request *
pop_finished(struct source_ahead *sa)
{
	struct request *r = sa->head;

	while (!r->finished)
		pthread_cond_wait(&sa->cv, &sa->mu);
	sa->head = r->next;
	if (!sa->head)
		sa->tail = NULL;
	return r;
}

int
source_ahead_collect(struct source_ahead *sa, source_ahead_cb cb, void *arg, struct err *e)
{
	struct request *r;
	int rc = 0;

	pthread_mutex_lock(&sa->mu);
	r = sa->head;
	if (!r || r->kind != REQ_FETCH) {
		pthread_mutex_unlock(&sa->mu);
		fputs("secdesk: source_ahead_collect without a queued fetch\n", stderr);
		abort();
	}
	for (;;) {
		struct fetched f;

		while (r->taken == r->nitems && !r->finished)
			pthread_cond_wait(&sa->cv, &sa->mu);
		if (r->taken == r->nitems)
			break;
		struct source_item it;

		f = r->items[r->taken++];
		pthread_mutex_unlock(&sa->mu);
		it = (struct source_item){ f.key, f.raw, f.len, f.sha256 };
		rc = cb(arg, &it);
		free(f.key);
		free(it.raw);
		pthread_mutex_lock(&sa->mu);
		sa->buffered -= f.len;
		pthread_cond_broadcast(&sa->cv);
		if (rc != 0) {
			r->abandoned = true;
			pthread_cond_broadcast(&sa->cv);
			break;
		}
	}
	r = pop_finished(sa);
	drop_items(sa, r);
	pthread_cond_broadcast(&sa->cv);
	pthread_mutex_unlock(&sa->mu);
	if (rc == 0) {
		rc = r->rc;
		if (rc != 0)
			*e = r->err;
	}
	request_free(r);
	return rc;
}

int
source_ahead_marked(struct source_ahead *sa, struct err *e)
{
	struct request *r;
	int rc;

	pthread_mutex_lock(&sa->mu);
	if (!sa->head || sa->head->kind != REQ_MARK) {
		pthread_mutex_unlock(&sa->mu);
		fputs("secdesk: source_ahead_marked without a queued mark_done\n", stderr);
		abort();
	}
	r = pop_finished(sa);
	pthread_mutex_unlock(&sa->mu);
	rc = r->rc;
	if (rc != SRC_OK)
		*e = r->err;
	request_free(r);
	return rc;
}

void
source_ahead_stop(struct source_ahead **sap)
{
	struct source_ahead *sa = *sap;

	if (!sa)
		return;
	pthread_mutex_lock(&sa->mu);
	sa->stopping = true;
	pthread_cond_broadcast(&sa->cv);
	pthread_mutex_unlock(&sa->mu);
	pthread_join(sa->thread, NULL);
	while (sa->head) {
		struct request *r = sa->head;

		sa->head = r->next;
		drop_items(sa, r);
		request_free(r);
	}
	pthread_mutex_destroy(&sa->mu);
	pthread_cond_destroy(&sa->cv);
	free(sa);
	*sap = NULL;
}
