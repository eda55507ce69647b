#include "compat.h"

#include <pthread.h>

#include "crashguard.h"
#include "parse_ahead.h"
#include "xalloc.h"

struct job {
	int64_t intake_id;
	const char *raw;
	size_t len;
	struct message msg;
	struct rule_outcome ro;
	struct err err;
	int rc;
	bool taken;
};

struct parse_ahead {
	struct ingest *ing;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *jobs;
	size_t cap;
	size_t pushed;  /* jobs queued */
	size_t parsed;  /* jobs done, in order */
	bool closing;
};

void
intake_fault_injection(const char *raw, size_t len)
{
	const char *marker = getenv("SECDESK_FAULT_PARSE_CRASH");

	if (marker && *marker && memmem(raw, len, marker, strlen(marker)))
		abort();
}

static void *
worker(void *arg)
{
	struct parse_ahead *pa = arg;

	/* Named for top -H, perf and the like. */
	(void)pthread_setname_np(pthread_self(), "secdesk-parse");
	pthread_mutex_lock(&pa->mu);
	for (;;) {
		struct job *j;

		while (pa->parsed == pa->pushed && !pa->closing)
			pthread_cond_wait(&pa->cv, &pa->mu);
		if (pa->parsed == pa->pushed)
			break;
		j = &pa->jobs[pa->parsed];
		pthread_mutex_unlock(&pa->mu);
		crashguard_enter(j->intake_id);
		intake_fault_injection(j->raw, j->len);
		err_clear(&j->err);
		rule_outcome_init(&j->ro);
		j->rc = ingest_parse(pa->ing, j->raw, j->len, &j->msg, &j->err);
		if (j->rc == 0 && ingest_classify(pa->ing, &j->msg, &j->ro, &j->err) < 0) {
			message_release(&j->msg);
			rule_outcome_release(&j->ro);
			j->rc = -1;
		}
		crashguard_leave();
		pthread_mutex_lock(&pa->mu);
		pa->parsed++;
		pthread_cond_broadcast(&pa->cv);
	}
	pthread_mutex_unlock(&pa->mu);
	return NULL;
}

struct parse_ahead *
parse_ahead_start(struct ingest *ing, size_t cap)
{
	struct parse_ahead *pa = xcalloc(1, sizeof(*pa));

	pa->ing = ing;
	pa->cap = cap;
	pa->jobs = xcalloc(cap ? cap : 1, sizeof(*pa->jobs));
	pthread_mutex_init(&pa->mu, NULL);
	pthread_cond_init(&pa->cv, NULL);
	if (pthread_create(&pa->thread, NULL, worker, pa) != 0) {
		fputs("secdesk: cannot start the parser thread\n", stderr);
		abort();
	}
	return pa;
}

size_t
parse_ahead_push(struct parse_ahead *pa, const char *raw, size_t len, int64_t intake_id)
{
	size_t i;

	pthread_mutex_lock(&pa->mu);
	if (pa->pushed == pa->cap) {
		pthread_mutex_unlock(&pa->mu);
		fputs("secdesk: parse_ahead_push beyond its capacity\n", stderr);
		abort();
	}
	i = pa->pushed++;
	pa->jobs[i].intake_id = intake_id;
	pa->jobs[i].raw = raw;
	pa->jobs[i].len = len;
	pthread_cond_broadcast(&pa->cv);
	pthread_mutex_unlock(&pa->mu);
	return i;
}

int
parse_ahead_take(struct parse_ahead *pa, size_t i, struct message *m, struct rule_outcome *ro,
		 struct err *e, unsigned timeout_s)
{
	struct timespec deadline;
	struct job *j;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_s;
	pthread_mutex_lock(&pa->mu);
	while (pa->parsed <= i) {
		if (pthread_cond_timedwait(&pa->cv, &pa->mu, &deadline) == ETIMEDOUT &&
		    pa->parsed <= i) {
			int64_t hung = pa->jobs[pa->parsed].intake_id;

			pthread_mutex_unlock(&pa->mu);
			crashguard_record(hung);
			fprintf(stderr, "secdesk: the parser spent more than %u s on one message; "
				"stopping (the next run sets it aside)\n", timeout_s);
			abort();
		}
	}
	j = &pa->jobs[i];
	pthread_mutex_unlock(&pa->mu);
	*m = j->msg;
	*ro = j->ro;
	j->taken = true;
	if (j->rc < 0)
		*e = j->err;
	return j->rc;
}

void
parse_ahead_finish(struct parse_ahead **pap)
{
	struct parse_ahead *pa = *pap;

	if (!pa)
		return;
	pthread_mutex_lock(&pa->mu);
	pa->closing = true;
	pthread_cond_broadcast(&pa->cv);
	pthread_mutex_unlock(&pa->mu);
	pthread_join(pa->thread, NULL);
	for (size_t i = 0; i < pa->parsed; i++)
		if (!pa->jobs[i].taken && pa->jobs[i].rc == 0) {
			message_release(&pa->jobs[i].msg);
			rule_outcome_release(&pa->jobs[i].ro);
		}
	pthread_mutex_destroy(&pa->mu);
	pthread_cond_destroy(&pa->cv);
	free(pa->jobs);
	free(pa);
	*pap = NULL;
}
