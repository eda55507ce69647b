/* The store's face: picks the backend by location and hands each
 * operation to it; the transaction hooks are the same for every backend. */
#include "compat.h"

#include "backend.h"
#include "pg_core.h"
#include "store.h"
#include "xalloc.h"

static int busy_timeout_ms = 30000;

void
store_set_busy_timeout(int ms)
{
	busy_timeout_ms = ms;
}

/* The backend for location, and the part of it the backend reads. */
static const struct store_ops *
backend_for(const char *location, const char **rest, struct err *e)
{
	if (strncmp(location, "sqlite:", 7) == 0) {
		*rest = location + 7;
		if (!**rest) {
			err_set(e, EXIT_CONFIG, "store 'sqlite:': no file named");
			return NULL;
		}
		return &sqlite_store_ops;
	}
	if (strncmp(location, "postgresql://", 13) == 0 ||
	    strncmp(location, "postgres://", 11) == 0) {
		/* The whole URL: libpq reads it. */
		*rest = location;
		return &pg_store_ops;
	}
	if (strstr(location, "://")) {
		err_set(e, EXIT_CONFIG, "store '%s': no backend for this URL (known: sqlite:PATH, "
			"postgresql://USER@HOST/DB)", location);
		return NULL;
	}
	*rest = location;
	return &sqlite_store_ops;
}

int
store_open(const char *location, unsigned flags, struct store **out, struct err *e)
{
	const struct store_ops *ops;
	const char *rest;

	*out = NULL;
	if (!(ops = backend_for(location, &rest, e)))
		return -1;
	if (ops->open(rest, flags, busy_timeout_ms, out, e) < 0)
		return -1;
	(*out)->ops = ops;
	(*out)->location = xstrdup(rest);
	return 0;
}

void
store_files(const char *location, struct strlist *files)
{
	struct err ignored = ERR_INIT;
	const char *rest;
	const struct store_ops *ops = backend_for(location, &rest, &ignored);

	if (ops && ops->files)
		ops->files(rest, files);
}

void
store_close(struct store **sp)
{
	struct store *s = *sp;
	char *location;

	if (!s)
		return;
	if (s->in_txn)
		store_rollback(s);
	location = s->location;
	s->ops->close(s);
	free(location);
	*sp = NULL;
}

const char *
store_path(const struct store *s)
{
	return s->location;
}

const char *
store_backend(const struct store *s)
{
	return s->ops->name;
}

bool
store_lost(struct store *s)
{
	return s->ops->lost && s->ops->lost(s);
}

int
store_begin(struct store *s, struct err *e)
{
	if (s->ops->begin(s, e) < 0)
		return -1;
	s->in_txn = true;
	return 0;
}

int
store_commit(struct store *s, struct err *e)
{
	if (s->before_commit && s->before_commit(s->hook_arg, e) < 0) {
		store_rollback(s);
		return -1;
	}
	if (s->ops->commit(s, e) < 0) {
		store_rollback(s);
		return -1;
	}
	s->in_txn = false;
	return 0;
}

void
store_rollback(struct store *s)
{
	s->ops->rollback(s);
	s->in_txn = false;
	if (s->on_rollback)
		s->on_rollback(s->hook_arg);
}

void
store_set_txn_hooks(struct store *s, int (*before_commit)(void *arg, struct err *e),
		    void (*on_rollback)(void *arg), void *arg)
{
	s->before_commit = before_commit;
	s->on_rollback = on_rollback;
	s->hook_arg = arg;
}

int
store_schema_version(const struct store *s)
{
	return s->ops->schema_version();
}

int
store_file_version(struct store *s)
{
	return s->ops->file_version(s);
}

int
store_check(struct store *s, struct err *e)
{
	return s->ops->check(s, e);
}

int
store_event(struct store *s, int64_t ticket_id, const char *who, const char *what,
	    const char *old_value, const char *new_value, struct err *e)
{
	return s->ops->event(s, ticket_id, who, what, old_value, new_value, e);
}

int
store_checkpoint(struct store *s, struct err *e)
{
	return s->ops->checkpoint ? s->ops->checkpoint(s, e) : 0;
}

int
store_set_commit_checkpoints(struct store *s, bool on, struct err *e)
{
	return s->ops->commit_checkpoints ? s->ops->commit_checkpoints(s, on, e) : 0;
}
