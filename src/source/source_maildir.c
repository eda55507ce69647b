/* maildir:PATH - a Maildir as a source. A message's key is the unique part
 * of its file name (before ":2,"), which stays when the file moves to cur/. */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "source.h"
#include "testhook.h"
#include "xalloc.h"

/* A mail larger than this is left in the Maildir and reported. */
#define MAILDIR_MAX_MESSAGE ((size_t)256 * 1024 * 1024)

struct source {
	const struct config *cfg;
	char *path;
	char *id;
};

/* Where a message is, as md_list handed it out: "new/NAME" or "cur/NAME",
 * or the key alone for the usual new/KEY. Keys hold no '/' (file names
 * cannot), so the two never mix. */
struct md_ref {
	const char *sub; /* "new" or "cur" (static) */
	const char *name;
	size_t keylen; /* the key is name[0..keylen) */
};

static bool
parse_ref(const char *ref, struct md_ref *r)
{
	const char *slash = strchr(ref, '/');

	if (!slash) {
		r->sub = "new";
		r->name = ref;
	} else if (slash - ref == 3 && (strncmp(ref, "new", 3) == 0 || strncmp(ref, "cur", 3) == 0)) {
		r->sub = strncmp(ref, "new", 3) == 0 ? "new" : "cur";
		r->name = slash + 1;
	} else {
		return false;
	}
	r->keylen = strcspn(r->name, ":");
	return *r->name && !strchr(r->name, '/');
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

/* What an entry of a Maildir folder is, when not a regular file: a
 * symlink, fifo, folder or device is never a message, and is never followed
 * (its target may be any file of the desk's user). */
static const char *
file_kind(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a fifo";
	if (S_ISDIR(mode))
		return "a folder";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* A regular file, by the listing's type or else lstat; anything else is
 * named in a warning and skipped. */
static bool
listed_regular(DIR *d, const char *dirpath, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_REG)
		return true;
	if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		/* Gone meanwhile: nothing to take. */
		if (errno != ENOENT)
			log_warn("maildir: skipping '%s/%s': %s", dirpath, de->d_name,
				 strerror(errno));
		return false;
	}
	if (S_ISREG(st.st_mode))
		return true;
	log_warn("maildir: skipping '%s/%s': %s, not a message", dirpath, de->d_name,
		 file_kind(st.st_mode));
	return false;
}

/* Hands every unseen message of sub to cb; nothing is kept, so a backlog
 * of any size costs no memory here. */
static int
scan(struct source *src, const char *sub, source_key_cb cb, void *arg, struct err *e)
{
	char *dirpath = xasprintf("%s/%s", src->path, sub);
	bool cur = strcmp(sub, "cur") == 0;
	DIR *d = opendir(dirpath);
	struct dirent *de;
	int rc = SRC_OK;

	if (!d) {
		err_set(e, EXIT_UNAVAILABLE, "maildir '%s': cannot read: %s", dirpath,
			strerror(errno));
		free(dirpath);
		return SRC_BOX_BAD;
	}
	while (rc == SRC_OK && (errno = 0, de = readdir(d))) {
		char key[sizeof(de->d_name)], where[sizeof(de->d_name) + 4];
		size_t keylen = strcspn(de->d_name, ":");

		if (de->d_name[0] == '.')
			continue;
		if (cur && is_seen(de->d_name) && src->cfg->mailbox.after != AFTER_KEEP)
			continue;
		if (!listed_regular(d, dirpath, de))
			continue;
		memcpy(key, de->d_name, keylen);
		key[keylen] = '\0';
		if (!cur && !de->d_name[keylen]) {
			rc = cb(arg, key, NULL);
			continue;
		}
		snprintf(where, sizeof(where), "%s/%s", sub, de->d_name);
		rc = cb(arg, key, where);
	}
	if (rc == SRC_OK && errno) {
		err_set(e, EXIT_UNAVAILABLE, "maildir '%s': cannot read: %s", dirpath,
			strerror(errno));
		rc = SRC_BOX_BAD;
	}
	closedir(d);
	free(dirpath);
	return rc;
}

static int
md_list(struct source *src, source_key_cb cb, void *arg, struct err *e)
{
	int rc = scan(src, "new", cb, arg, e);

	return rc != SRC_OK ? rc : scan(src, "cur", cb, arg, e);
}

/* Reads the regular file at path into b. An entry that became something
 * else since the listing (a symlink, a fifo) is not followed and not read:
 * 1, with a warning. */
static int
read_file(const char *path, struct buf *b, struct err *e)
{
	char chunk[65536];
	ssize_t n;
	struct stat st;
	/* O_NONBLOCK: a fifo must not hang the open; no effect on a file. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0 && errno == ELOOP) {
		log_warn("maildir: skipping '%s': a symbolic link, not a message", path);
		return 1;
	}
	if (fd < 0)
		return err_set(e, EXIT_IOERR, "cannot read '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		err_set(e, EXIT_IOERR, "cannot read '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warn("maildir: skipping '%s': %s, not a message", path, file_kind(st.st_mode));
		close(fd);
		return 1;
	}
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
md_fetch(struct source *src, const char *const *refs, size_t n, source_msg_cb cb, void *arg,
	 struct err *e)
{
	static unsigned long handed; /* messages given to cb, over the run (fault injection) */
	struct buf b;
	int rc = SRC_OK;

	buf_init(&b, MAILDIR_MAX_MESSAGE);
	for (size_t i = 0; i < n; i++) {
		struct md_ref ref;
		char *path, *key;
		int r;

		if (!parse_ref(refs[i], &ref))
			continue;
		path = xasprintf("%s/%s/%s", src->path, ref.sub, ref.name);
		r = read_file(path, &b, e);
		free(path);
		if (r < 0) {
			rc = SRC_MSG_BAD; /* left in place; the others go on */
			continue;
		}
		if (r > 0)
			continue; /* not a message: skipped, named in a warning */
		key = xstrndup(ref.name, ref.keylen);
		r = cb(arg, key, b.data ? b.data : "", b.len);
		free(key);
		if (r != 0) {
			rc = r;
			break;
		}
		testhook_source_stop(&handed);
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
md_mark_done(struct source *src, const char *const *refs, size_t n, struct err *e)
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
		struct md_ref ref;
		char *from, *dir, *name;

		if (!parse_ref(refs[i], &ref))
			continue;
		from = xasprintf("%s/%s/%s", src->path, ref.sub, ref.name);
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
		name = seen_name(ref.name);
		if (strcmp(ref.sub, "cur") != 0 || strcmp(name, ref.name) != 0 ||
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
	.by_key = true,
};
