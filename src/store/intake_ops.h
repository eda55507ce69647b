/* intake_ops.h - the intake area of a store backend (private to src/store/):
 * what include/store_intake.h promises, one function per operation. */
#ifndef SECDESK_INTAKE_OPS_H
#define SECDESK_INTAKE_OPS_H

#include "store_intake.h"

struct store_intake_ops {
	int (*listing_begin)(struct store *s, struct err *e);
	int (*listing_add)(struct store *s, const char *key, const char *where, struct err *e);
	int (*listing_end)(struct store *s, struct err *e);
	int (*listing_read)(struct store *s, const char *source_id, bool by_key,
			    const char *after_key, int64_t after_seq, size_t limit,
			    store_listed_fn each, void *arg, size_t *read, struct err *e);
	int (*listing_fresh)(struct store *s, const char *source_id, size_t *n, struct err *e);
	int (*settle_unlisted)(struct store *s, const char *source_id, struct err *e);
	int (*stage)(struct store *s, const char *source_id, const char *key, int64_t raw_id,
		     int64_t *intake_id, struct err *e);
	/* Optional (NULL: the message area's put_raw, then stage): the raw
	 * bytes and the intake row in one step. */
	int (*stage_raw)(struct store *s, const char *source_id, const char *key,
			 const char *raw, size_t len, const char *sha256, int64_t *raw_id,
			 int64_t *intake_id, struct err *e);
	int (*stored)(struct store *s, int64_t intake_id, int64_t message_id, bool poison,
		      struct err *e);
	int (*done)(struct store *s, const char *source_id, const char *key, struct err *e);
	/* Optional (NULL: done for each key in turn): done for n keys in
	 * one step. */
	int (*done_keys)(struct store *s, const char *source_id, const char *const *keys,
			 size_t n, struct err *e);
	int (*crashed)(struct store *s, int64_t intake_id, struct err *e);
	int (*pending)(struct store *s, const char *source_id, int64_t older_than,
		       struct intake_pending **rows, size_t *n, struct err *e);
	int (*raw)(struct store *s, int64_t raw_id, char **raw, size_t *len, struct err *e);
	int (*pending_raw)(struct store *s, int64_t intake_id, int64_t *raw_id, char **raw,
			   size_t *len, struct err *e);
	/* The mailbox for one host at a time (take, or release when !take); NULL
	 * for a store only one host uses, where the local lock file does it. */
	int (*mailbox_lock)(struct store *s, bool take, struct err *e);
};

#endif
