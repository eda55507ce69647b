/* The face of the administration and figures operations (store_admin.h):
 * each handed to the backend that opened the store. */
#include "compat.h"

#include "admin_ops.h"
#include "backend.h"

int
store_backup(struct store *s, const char *path, struct err *e)
{
	return s->ops->admin->backup(s, path, e);
}

int
store_integrity_problems(struct store *s, int (*each)(void *arg, const char *problem),
			 void *arg, struct err *e)
{
	return s->ops->admin->integrity_problems(s, each, arg, e);
}

int
store_dangling_refs(struct store *s, int (*each)(void *arg, const struct store_dangling_ref *ref),
		    void *arg, struct err *e)
{
	return s->ops->admin->dangling_refs(s, each, arg, e);
}

int
store_search_index_check(struct store *s, struct err *e)
{
	return s->ops->admin->search_index_check(s, e);
}

void
store_set_count_period(struct store *s, int64_t since, int64_t until)
{
	s->period_since = since;
	s->period_until = until;
}

int
store_count_by_status(struct store *s, store_count_fn *each, void *arg, struct err *e)
{
	return s->ops->admin->count_by_status(s, each, arg, e);
}

int
store_count_by_queue(struct store *s, bool waiting_only, store_count_fn *each, void *arg,
		     struct err *e)
{
	return s->ops->admin->count_by_queue(s, waiting_only, each, arg, e);
}

int
store_count_waiting_by_queue_status(struct store *s,
				    int (*each)(void *arg, const char *queue, const char *status,
						int64_t n),
				    void *arg, struct err *e)
{
	return s->ops->admin->count_waiting_by_queue_status(s, each, arg, e);
}

int
store_count_waiting_by_age(struct store *s, int64_t now, const int64_t upto[STORE_AGE_BUCKETS - 1],
			   int64_t counts[STORE_AGE_BUCKETS], struct err *e)
{
	return s->ops->admin->count_waiting_by_age(s, now, upto, counts, e);
}

int
store_first_answer_delays(struct store *s,
			  int (*each)(void *arg, const char *queue, int64_t seconds), void *arg,
			  struct err *e)
{
	return s->ops->admin->first_answer_delays(s, each, arg, e);
}

int
store_count_created(struct store *s, int64_t first, int64_t len, size_t n, int64_t *counts,
		    struct err *e)
{
	return s->ops->admin->count_created(s, first, len, n, counts, e);
}
