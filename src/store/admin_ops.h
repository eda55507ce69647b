/* admin_ops.h - what a backend provides for administration and the
 * figures (private to src/store/); each operation is described at its
 * face in store_admin.h, which admin.c hands on unchanged. */
#ifndef SECDESK_ADMIN_OPS_H
#define SECDESK_ADMIN_OPS_H

#include "store_admin.h"

struct store_admin_ops {
	int (*backup)(struct store *s, const char *path, struct err *e);
	int (*integrity_problems)(struct store *s, int (*each)(void *arg, const char *problem),
				  void *arg, struct err *e);
	int (*dangling_refs)(struct store *s,
			     int (*each)(void *arg, const struct store_dangling_ref *ref),
			     void *arg, struct err *e);
	int (*search_index_check)(struct store *s, struct err *e);
	int (*count_by_status)(struct store *s, store_count_fn *each, void *arg, struct err *e);
	int (*count_by_queue)(struct store *s, bool waiting_only, store_count_fn *each,
			      void *arg, struct err *e);
	int (*count_waiting_by_queue_status)(struct store *s,
					     int (*each)(void *arg, const char *queue,
							 const char *status, int64_t n),
					     void *arg, struct err *e);
	int (*count_waiting_by_age)(struct store *s, int64_t now,
				    const int64_t upto[STORE_AGE_BUCKETS - 1],
				    int64_t counts[STORE_AGE_BUCKETS], struct err *e);
	int (*first_answer_delays)(struct store *s,
				   int (*each)(void *arg, const char *queue, int64_t seconds),
				   void *arg, struct err *e);
	int (*count_created)(struct store *s, int64_t first, int64_t len, size_t n,
			     int64_t *counts, struct err *e);
};

#endif
