/* The table of mail sources, by URL scheme. */
#include "compat.h"

#include "source.h"
#include "xalloc.h"

extern const struct source_ops source_maildir_ops;
extern const struct source_ops source_imaps_ops;
extern const struct source_ops source_imap_ops;
extern const struct source_ops source_pop3s_ops;
extern const struct source_ops source_pop3_ops;
extern const struct source_ops source_mbox_ops;

static const struct source_ops *const sources[] = {
	&source_maildir_ops,
	&source_imaps_ops,
	&source_imap_ops,
	&source_pop3s_ops,
	&source_pop3_ops,
	&source_mbox_ops,
};

const struct source_ops *
source_find(const char *url)
{
	const char *colon = strchr(url, ':');
	size_t n;

	if (!colon)
		return NULL;
	n = (size_t)(colon - url);
	for (size_t i = 0; i < ARRAY_SIZE(sources); i++)
		if (strlen(sources[i]->scheme) == n && strncmp(sources[i]->scheme, url, n) == 0)
			return sources[i];
	return NULL;
}

void
source_refs_add(struct source_refs *r, const char *key, const char *where)
{
	strlist_add(&r->keys, key);
	strlist_add(&r->refs, where ? where : key);
}

void
source_refs_release(struct source_refs *r)
{
	strlist_release(&r->keys);
	strlist_release(&r->refs);
}

struct listed_pair {
	char *key, *ref;
	size_t seq; /* listing order: the first of a key listed twice wins */
};

struct list_all {
	struct listed_pair *pairs;
	size_t n, cap;
};

static int
collect_key(void *arg, const char *key, const char *where)
{
	struct list_all *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->pairs = xreallocarray(l->pairs, l->cap, sizeof(*l->pairs));
	}
	l->pairs[l->n].key = xstrdup(key);
	l->pairs[l->n].ref = xstrdup(where ? where : key);
	l->pairs[l->n].seq = l->n;
	l->n++;
	return 0;
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct listed_pair *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

int
source_list_all(const struct source_ops *ops, struct source *src, struct source_refs *out,
		struct err *e)
{
	struct list_all l = { 0 };
	const char *kept = NULL; /* the last key kept (out owns it) */
	int rc = ops->list(src, collect_key, &l, e);

	if (rc == SRC_OK && ops->by_key && l.n > 1)
		qsort(l.pairs, l.n, sizeof(*l.pairs), pair_cmp);
	for (size_t i = 0; i < l.n; i++) {
		bool twice = ops->by_key && kept && strcmp(l.pairs[i].key, kept) == 0;

		if (rc == SRC_OK && !twice) {
			kept = l.pairs[i].key;
			strlist_add_owned(&out->keys, l.pairs[i].key);
			strlist_add_owned(&out->refs, l.pairs[i].ref);
			continue;
		}
		free(l.pairs[i].key);
		free(l.pairs[i].ref);
	}
	free(l.pairs);
	return rc;
}
