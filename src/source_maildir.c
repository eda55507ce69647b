/* maildir:PATH - a Maildir as a source. A message's key is the unique part
 * of its file name (before ":2,"), which stays when the file moves to cur/. */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "source.h"
#include "xalloc.h"

/* A mail larger than this is left in the Maildir and reported. */
#define MAILDIR_MAX_MESSAGE ((size_t)256 * 1024 * 1024)

/* One per unseen message: a large backlog is many of them, so no more
 * than needed is kept. */
struct md_entry {
	char *key;
	const char *sub; /* "new" or "cur" (static) */
	char *name;      /* the file name in sub, or NULL when it is the key */
};

static const char *
entry_name(const struct md_entry *me)
{
	return me->name ? me->name : me->key;
}

struct source {
	const struct config *cfg;
	char *path;
	char *id;
	struct md_entry *entries; /* sorted by key */
	size_t n, cap;
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct md_entry *)a)->key, ((const struct md_entry *)b)->key);
}

static struct md_entry *
find_entry(struct source *src, const char *key)
{
	struct md_entry k = { .key = (char *)key };

	return bsearch(&k, src->entries, src->n, sizeof(k), entry_cmp);
}

static void
clear_entries(struct source *src)
{
	for (size_t i = 0; i < src->n; i++) {
		free(src->entries[i].key);
		free(src->entries[i].name);
	}
	src->n = 0;
}

static int
md_open(const struct config *cfg, struct source **out, struct err *e)
{
	const char *path = cfg->mailbox.conn.url + strlen("maildir:");
	struct source *src;
	struct stat st;
	static const char *const subs[] = { "new", "cur", "tmp" };

	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		char *p = xasprintf("%s/%s", path, subs[i]);
		int rc = stat(p, &st);

		free(p);
		if (rc < 0 || !S_ISDIR(st.st_mode))
			return err_set(e, EXIT_UNAVAILABLE, "maildir '%s': %s/ %s", path, subs[i],
				       rc < 0 ? strerror(errno) : "is not a folder"),
			       SRC_BOX_BAD;
	}
	src = xcalloc(1, sizeof(*src));
	src->cfg = cfg;
	src->path = xstrdup(path);
	src->id = xasprintf("maildir:%s", path);
	*out = src;
	return SRC_OK;
}

static const char *
md_id(struct source *src)
{
	return src->id;
}

/* Seen in cur/ means done: flags after ":2," contain S. */
static bool
is_seen(const char *name)
{
	const char *info = strstr(name, ":2,");

	return info && strchr(info + 3, 'S');
}

static int
scan(struct source *src, const char *sub, struct err *e)
{
	char *dirpath = xasprintf("%s/%s", src->path, sub);
	DIR *d = opendir(dirpath);
	struct dirent *de;

	if (!d) {
		err_set(e, EXIT_UNAVAILABLE, "maildir '%s': cannot read: %s", dirpath,
			strerror(errno));
		free(dirpath);
		return SRC_BOX_BAD;
	}
	while ((de = readdir(d))) {
		struct md_entry *me;

		if (de->d_name[0] == '.')
			continue;
		if (strcmp(sub, "cur") == 0 && is_seen(de->d_name) &&
		    src->cfg->mailbox.after != AFTER_KEEP)
			continue;
		if (src->n == src->cap) {
			src->cap = src->cap ? src->cap * 2 : 256;
			src->entries = xreallocarray(src->entries, src->cap, sizeof(*src->entries));
		}
		me = &src->entries[src->n++];
		me->key = xstrndup(de->d_name, strcspn(de->d_name, ":"));
		me->sub = strcmp(sub, "cur") == 0 ? "cur" : "new";
		me->name = de->d_name[strlen(me->key)] ? xstrdup(de->d_name) : NULL;
	}
	closedir(d);
	free(dirpath);
	return SRC_OK;
}

static int
md_list(struct source *src, struct strlist *keys, struct err *e)
{
	int rc;

	clear_entries(src);
	if ((rc = scan(src, "new", e)) != SRC_OK || (rc = scan(src, "cur", e)) != SRC_OK)
		return rc;
	if (src->n > 1)
		qsort(src->entries, src->n, sizeof(*src->entries), entry_cmp);
	for (size_t i = 0; i < src->n; i++)
		if (i == 0 || strcmp(src->entries[i].key, src->entries[i - 1].key) != 0)
			strlist_add(keys, src->entries[i].key);
	return SRC_OK;
}

static int
read_file(const char *path, struct buf *b, struct err *e)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(e, EXIT_IOERR, "cannot read '%s': %s", path, strerror(errno));
	buf_reset(b);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (buf_add(b, chunk, (size_t)n) < 0) {
			close(fd);
			return err_set(e, EXIT_DATAERR, "'%s' is larger than %zu bytes: left in "
				       "the maildir", path, b->max);
		}
	}
	close(fd);
	if (n < 0)
		return err_set(e, EXIT_IOERR, "cannot read '%s': %s", path, strerror(errno));
	return 0;
}

static int
md_fetch(struct source *src, const char *const *keys, size_t n, source_msg_cb cb, void *arg,
	 struct err *e)
{
	struct buf b;
	int rc = SRC_OK;

	buf_init(&b, MAILDIR_MAX_MESSAGE);
	for (size_t i = 0; i < n; i++) {
		struct md_entry *me = find_entry(src, keys[i]);
		char *path;
		int r;

		if (!me)
			continue;
		path = xasprintf("%s/%s/%s", src->path, me->sub, entry_name(me));
		r = read_file(path, &b, e);
		free(path);
		if (r < 0) {
			rc = SRC_MSG_BAD; /* left in place; the others go on */
			continue;
		}
		r = cb(arg, me->key, b.data ? b.data : "", b.len);
		if (r != 0) {
			rc = r;
			break;
		}
	}
	buf_release(&b);
	return rc;
}

static int
move_file(const char *from, const char *to_dir, const char *to_name, struct err *e)
{
	char *to = xasprintf("%s/%s", to_dir, to_name);
	int rc = rename(from, to);

	if (rc < 0)
		err_set(e, EXIT_IOERR, "cannot move '%s' to '%s': %s", from, to, strerror(errno));
	free(to);
	return rc;
}

/* One sync per folder and batch makes the moves durable; a move lost in a
 * crash only makes the next run mark the message done again. */
static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static char *
seen_name(const char *name)
{
	const char *info = strstr(name, ":2,");
	size_t base = info ? (size_t)(info - name) : strcspn(name, ":");

	if (info && strchr(info + 3, 'S'))
		return xstrdup(name);
	/* Maildir flags stay in ASCII order: S sorts after D, F, P, R. */
	{
		struct buf b = BUF_INIT;
		const char *flags = info ? info + 3 : "";
		bool put = false;

		buf_add(&b, name, base);
		buf_addstr(&b, ":2,");
		for (const char *f = flags; *f; f++) {
			if (!put && *f > 'S') {
				buf_addch(&b, 'S');
				put = true;
			}
			buf_addch(&b, *f);
		}
		if (!put)
			buf_addch(&b, 'S');
		return buf_detach(&b, NULL);
	}
}

static int
md_mark_done(struct source *src, const char *const *keys, size_t n, struct err *e)
{
	enum after_mode after = src->cfg->mailbox.after;
	char *dest = NULL;
	int rc = SRC_OK;

	if (after == AFTER_KEEP)
		return SRC_OK;
	if (after == AFTER_MOVE) {
		/* Maildir++: a subfolder is .NAME inside the maildir. */
		static const char *const subs[] = { "", "/new", "/cur", "/tmp" };

		dest = xasprintf("%s/.%s", src->path, src->cfg->mailbox.after_folder);
		for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
			char *p = xasprintf("%s%s", dest, subs[i]);

			if (mkdir(p, 0700) < 0 && errno != EEXIST) {
				err_set(e, EXIT_IOERR, "cannot create '%s': %s", p, strerror(errno));
				free(p);
				free(dest);
				return SRC_BOX_BAD;
			}
			free(p);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct md_entry *me = find_entry(src, keys[i]);
		char *from, *dir, *name;

		if (!me)
			continue;
		from = xasprintf("%s/%s/%s", src->path, me->sub, entry_name(me));
		if (after == AFTER_DELETE) {
			if (unlink(from) < 0 && errno != ENOENT) {
				err_set(e, EXIT_IOERR, "cannot delete '%s': %s", from, strerror(errno));
				rc = SRC_BOX_BAD;
			}
			free(from);
			continue;
		}
		dir = after == AFTER_MOVE ? xasprintf("%s/cur", dest)
					  : xasprintf("%s/cur", src->path);
		name = seen_name(entry_name(me));
		if (strcmp(me->sub, "cur") != 0 || strcmp(name, entry_name(me)) != 0 ||
		    after == AFTER_MOVE)
			if (move_file(from, dir, name, e) < 0 && errno != ENOENT)
				rc = SRC_BOX_BAD;
		free(from);
		free(dir);
		free(name);
	}
	if (n) {
		char *dir = xasprintf("%s/cur", after == AFTER_MOVE ? dest : src->path);
		char *newdir = xasprintf("%s/new", src->path);

		sync_dir(dir);
		sync_dir(newdir);
		free(dir);
		free(newdir);
	}
	free(dest);
	return rc;
}

static void
md_close(struct source *src)
{
	if (!src)
		return;
	clear_entries(src);
	free(src->entries);
	free(src->path);
	free(src->id);
	free(src);
}

const struct source_ops source_maildir_ops = {
	.scheme = "maildir",
	.open = md_open,
	.id = md_id,
	.list = md_list,
	.fetch = md_fetch,
	.mark_done = md_mark_done,
	.close = md_close,
};
