/* mbox:PATH - a Unix mbox file as a mail source, locked as MTAs lock it:
 * a dot-lock (PATH.lock, made with link(2) so that it also works over NFS)
 * and an fcntl write lock on the file, both held from open to close.
 *
 * Messages start with a "From " line at the start of the file or after an
 * empty line; their bodies are mboxrd-unescaped (">From " loses one '>').
 * A message's key is the SHA-256 of its bytes in the file (a second copy of
 * the same bytes gets "/2", and so on): it does not move when other messages
 * are removed. mark_done rewrites the file (a temporary copy, fsync, rename)
 * without the messages done (delete, move: appended first to the mbox FOLDER
 * beside PATH) or with "Status: RO" added (seen; such messages are not
 * listed again). */
#include "compat.h"

#include <signal.h>

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "buf.h"
#include "fdio.h"
#include "source.h"
#include "testhook.h"
#include "xalloc.h"

#define MBOX_MAX_MESSAGE ((size_t)256 * 1024 * 1024)
/* A dot-lock older than this is left from a crash (as procmail assumes). */
#define MBOX_STALE_LOCK 300
#define MBOX_DEFAULT_WAIT 60

struct mb_msg {
	char *key;
	off_t from;  /* the "From " line */
	off_t start; /* the message, after the From line */
	off_t end;   /* its end, without the separating empty line */
	bool seen;
	bool done;   /* marked done in this session */
};

struct source {
	const struct config *cfg;
	char *path;
	char *id;
	char *lock_path;
	int fd;
	struct mb_msg *msgs; /* in file order */
	size_t n;
	unsigned long handed; /* messages given to callbacks (fault injection) */
};

static int
lock_fd(int fd, int wait_s)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	for (int i = 0; i <= wait_s * 10; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EACCES && errno != EAGAIN)
			return -1;
		usleep(100000);
	}
	errno = EAGAIN;
	return -1;
}

/* Whether the dot-lock names a PID of this host that no longer runs. */
static bool
holder_dead(const char *lock_path)
{
	char buf[32];
	ssize_t n;
	long pid;
	char *end;
	int fd = open(lock_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (pid <= 0 || (*end != '\n' && *end != '\0'))
		return false;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* The dot-lock, as liblockfile makes it: a unique file, linked to
 * PATH.lock; the link count says whether it worked. */
static int
dotlock(const char *lock_path, int wait_s, struct err *e)
{
	char host[256] = "localhost";
	char *tmp;
	int fd;

	gethostname(host, sizeof(host) - 1);
	tmp = xasprintf("%s.%s.%ld", lock_path, host, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_set(e, EXIT_UNAVAILABLE, "cannot lock '%s': %s", lock_path, strerror(errno));
		free(tmp);
		return -1;
	}
	{
		/* Our PID in it, as liblockfile does: a lock left by a dead
		 * process is cleared at once instead of after MBOX_STALE_LOCK. */
		char pid[32];
		int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

		if (write(fd, pid, (size_t)len) != len) {
			/* An empty lock is still a lock. */
		}
	}
	close(fd);
	for (int i = 0; i <= wait_s * 10; i++) {
		struct stat st;

		if (link(tmp, lock_path) == 0 || (stat(tmp, &st) == 0 && st.st_nlink == 2)) {
			unlink(tmp);
			free(tmp);
			return 0;
		}
		if (stat(lock_path, &st) == 0 &&
		    (time(NULL) - st.st_mtime > MBOX_STALE_LOCK || holder_dead(lock_path)))
			unlink(lock_path);
		usleep(100000);
	}
	unlink(tmp);
	free(tmp);
	return err_set(e, EXIT_TEMPFAIL, "mbox is locked: '%s' held for %d s", lock_path, wait_s);
}

static void
clear_msgs(struct source *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->msgs[i].key);
	free(s->msgs);
	s->msgs = NULL;
	s->n = 0;
}

static void
mb_close(struct source *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd); /* drops the fcntl lock */
	if (s->lock_path)
		unlink(s->lock_path);
	clear_msgs(s);
	free(s->lock_path);
	free(s->path);
	free(s->id);
	free(s);
}

static int
mb_open(const struct config *cfg, struct source **out, struct err *e)
{
	const char *path = cfg->mailbox.conn.url + strlen("mbox:");
	int wait_s = cfg->mailbox.conn.timeout > 0 ? cfg->mailbox.conn.timeout : MBOX_DEFAULT_WAIT;
	struct source *s = xcalloc(1, sizeof(*s));
	struct stat st;

	s->cfg = cfg;
	s->fd = -1;
	s->path = xstrdup(path);
	s->id = xasprintf("mbox:%s", path);
	if (stat(path, &st) < 0) {
		err_set(e, EXIT_UNAVAILABLE, "mbox '%s': %s", path, strerror(errno));
		mb_close(s);
		return SRC_BOX_BAD;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, EXIT_UNAVAILABLE, "mbox '%s': not a regular file", path);
		mb_close(s);
		return SRC_BOX_BAD;
	}
	{
		char *lp = xasprintf("%s.lock", path);

		if (dotlock(lp, wait_s, e) < 0) {
			free(lp);
			mb_close(s);
			return e->code == EXIT_TEMPFAIL ? SRC_CONN_BAD : SRC_BOX_BAD;
		}
		s->lock_path = lp;
	}
	s->fd = open(path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0 || lock_fd(s->fd, wait_s) < 0) {
		err_set(e, errno == EAGAIN ? EXIT_TEMPFAIL : EXIT_UNAVAILABLE,
			"mbox '%s': cannot lock: %s", path, strerror(errno));
		mb_close(s);
		return e->code == EXIT_TEMPFAIL ? SRC_CONN_BAD : SRC_BOX_BAD;
	}
	*out = s;
	return SRC_OK;
}

static const char *
mb_id(struct source *s)
{
	return s->id;
}

static char *
hex_key(gnutls_hash_hd_t h)
{
	unsigned char d[32];
	char hex[65];

	gnutls_hash_deinit(h, d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return xstrdup(hex);
}

/* Where scan() stands in the file: the message being read and its running
 * hash, empty lines not hashed yet, and whether the last line was empty. */
struct mbox_scan {
	struct mb_msg *cur;
	gnutls_hash_hd_t h;
	size_t cap;
	size_t pending_blank;
	off_t pos;
	bool prev_blank, in_headers;
};

/* Ends the message being read (if any) at the From line at sc->pos and
 * starts the next one, whose text begins after the len bytes of that line. */
static void
scan_from_line(struct source *s, struct mbox_scan *sc, ssize_t len)
{
	if (sc->cur) {
		sc->cur->key = hex_key(sc->h);
		/* The empty line before this From belongs to the separator. */
		sc->cur->end = sc->pos > sc->cur->start ? sc->pos - 1 : sc->cur->start;
	}
	if (s->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 256;
		s->msgs = xreallocarray(s->msgs, sc->cap, sizeof(*s->msgs));
	}
	sc->cur = &s->msgs[s->n++];
	memset(sc->cur, 0, sizeof(*sc->cur));
	sc->cur->from = sc->pos;
	sc->cur->start = sc->pos + len;
	gnutls_hash_init(&sc->h, GNUTLS_DIG_SHA256);
	sc->pending_blank = 0;
	sc->in_headers = true;
}

/* A line of the message being read: into its key, and its Status: header
 * read for the R (seen) flag. */
static void
scan_message_line(struct mbox_scan *sc, const char *line, ssize_t len, bool blank)
{
	if (blank) {
		/* Hashed once a line follows: trailing empty lines (the
		 * separator) are no part of the key. */
		sc->pending_blank++;
	} else {
		for (; sc->pending_blank > 0; sc->pending_blank--)
			gnutls_hash(sc->h, "\n", 1);
		gnutls_hash(sc->h, line, (size_t)len);
	}
	if (sc->in_headers && blank)
		sc->in_headers = false;
	else if (sc->in_headers && strncasecmp(line, "Status:", 7) == 0 && strchr(line + 7, 'R'))
		sc->cur->seen = true;
}

/* Two copies of the same bytes are two messages: the second one's key
 * gets "/2", the third's "/3"... */
static void
number_copies(struct source *s)
{
	for (size_t i = 1; i < s->n; i++) {
		int copy = 1;

		for (size_t j = 0; j < i; j++)
			if (strncmp(s->msgs[j].key, s->msgs[i].key, 64) == 0)
				copy++;
		if (copy > 1) {
			char *k = xasprintf("%.64s/%d", s->msgs[i].key, copy);

			free(s->msgs[i].key);
			s->msgs[i].key = k;
		}
	}
}

/* Scans the file: where each message is, its key, whether it is seen. */
static int
scan(struct source *s, struct err *e)
{
	FILE *fp;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	struct mbox_scan sc = { .prev_blank = true };
	int dupfd = dup(s->fd);

	clear_msgs(s);
	if (dupfd < 0 || lseek(dupfd, 0, SEEK_SET) < 0 || !(fp = fdopen(dupfd, "r"))) {
		if (dupfd >= 0)
			close(dupfd);
		return err_set(e, EXIT_IOERR, "mbox '%s': %s", s->path, strerror(errno)),
		       SRC_BOX_BAD;
	}
	while ((len = getline(&line, &lcap, fp)) > 0) {
		bool blank = len == 1 && line[0] == '\n';

		if (sc.prev_blank && len >= 5 && memcmp(line, "From ", 5) == 0) {
			scan_from_line(s, &sc, len);
			blank = false;
		} else if (sc.cur) {
			scan_message_line(&sc, line, len, blank);
		}
		sc.pos += len;
		sc.prev_blank = blank;
	}
	free(line);
	if (ferror(fp)) {
		fclose(fp);
		if (sc.cur)
			gnutls_hash_deinit(sc.h, NULL);
		return err_set(e, EXIT_IOERR, "mbox '%s': read error", s->path), SRC_BOX_BAD;
	}
	fclose(fp);
	if (sc.cur) {
		sc.cur->key = hex_key(sc.h);
		sc.cur->end = sc.prev_blank && sc.pos > sc.cur->start ? sc.pos - 1 : sc.pos;
	}
	number_copies(s);
	return SRC_OK;
}

static int
mb_list(struct source *s, source_key_cb cb, void *arg, struct err *e)
{
	int rc = scan(s, e);

	if (rc != SRC_OK)
		return rc;
	for (size_t i = 0; i < s->n; i++) {
		if (s->msgs[i].seen && s->cfg->mailbox.after == AFTER_SEEN)
			continue;
		if ((rc = cb(arg, s->msgs[i].key, NULL)) != 0)
			return rc;
	}
	return SRC_OK;
}

static struct mb_msg *
find_msg(struct source *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->msgs[i].key, key) == 0)
			return &s->msgs[i];
	return NULL;
}

static int
read_range(int fd, off_t from, size_t len, struct buf *b)
{
	char chunk[65536];

	buf_reset(b);
	while (len > 0) {
		size_t want = len < sizeof(chunk) ? len : sizeof(chunk);
		ssize_t r = pread(fd, chunk, want, from);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf_add(b, chunk, (size_t)r) < 0)
			return -1;
		from += r;
		len -= (size_t)r;
	}
	return 0;
}

/* mboxrd: a line ">From ", ">>From "... loses one '>'. In place. */
static size_t
unescape(char *p, size_t len)
{
	size_t o = 0;
	bool bol = true;

	for (size_t i = 0; i < len; i++) {
		if (bol && p[i] == '>') {
			size_t j = i;

			while (j < len && p[j] == '>')
				j++;
			if (len - j >= 5 && memcmp(p + j, "From ", 5) == 0)
				i++; /* drop this '>' */
		}
		p[o++] = p[i];
		bol = p[i] == '\n';
	}
	return o;
}

static int
mb_fetch(struct source *s, const char *const *keys, size_t n, source_msg_cb cb, void *arg,
	 struct err *e)
{
	struct buf b;
	int rc = SRC_OK;

	buf_init(&b, MBOX_MAX_MESSAGE);
	for (size_t i = 0; i < n; i++) {
		struct mb_msg *m = find_msg(s, keys[i]);
		size_t len;
		int r;

		if (!m)
			continue;
		if ((size_t)(m->end - m->start) > MBOX_MAX_MESSAGE ||
		    read_range(s->fd, m->start, (size_t)(m->end - m->start), &b) < 0) {
			err_set(e, EXIT_DATAERR, "mbox '%s': message at byte %lld cannot be read "
				"(larger than %zu bytes?): left in the mbox", s->path,
				(long long)m->from, MBOX_MAX_MESSAGE);
			rc = SRC_MSG_BAD;
			continue;
		}
		len = b.len ? unescape(b.data, b.len) : 0;
		r = cb(arg, m->key, b.data ? b.data : "", len);
		if (r != 0) {
			rc = r;
			break;
		}
		testhook_source_stop(&s->handed);
	}
	buf_release(&b);
	return rc;
}

/* Copies [from, to) of the mbox to out. */
static int
copy_range(int in, off_t from, off_t to, int out)
{
	char chunk[65536];

	while (from < to) {
		size_t want = (size_t)(to - from) < sizeof(chunk) ? (size_t)(to - from) : sizeof(chunk);
		ssize_t r = pread(in, chunk, want, from);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || fd_write_all(out, chunk, (size_t)r) < 0)
			return -1;
		from += r;
	}
	return 0;
}

static void
sync_parent(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Appends the messages done to the mbox FOLDER (locked the same way),
 * durably, before they leave this one. */
static int
append_moved(struct source *s, struct err *e)
{
	const char *folder = s->cfg->mailbox.after_folder;
	char *copy = xstrdup(s->path);
	char *dest = folder[0] == '/' ? xstrdup(folder) : xasprintf("%s/%s", dirname(copy), folder);
	char *lp = xasprintf("%s.lock", dest);
	int fd = -1, rc = SRC_BOX_BAD;
	off_t size;

	free(copy);
	if (dotlock(lp, MBOX_DEFAULT_WAIT, e) < 0) {
		free(lp);
		free(dest);
		return SRC_BOX_BAD;
	}
	fd = open(dest, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || lock_fd(fd, MBOX_DEFAULT_WAIT) < 0)
		goto fail;
	size = lseek(fd, 0, SEEK_END);
	/* A message in an mbox is preceded by an empty line unless first. */
	if (size > 0) {
		char last[2] = { 0, 0 };

		if (pread(fd, last, size >= 2 ? 2 : 1, size >= 2 ? size - 2 : 0) < 0)
			goto fail;
		if ((size >= 2 ? last[1] : last[0]) != '\n' && fd_write_all(fd, "\n", 1) < 0)
			goto fail;
		if (size >= 2 && !(last[0] == '\n' && last[1] == '\n') && fd_write_all(fd, "\n", 1) < 0)
			goto fail;
	}
	for (size_t i = 0, first = 1; i < s->n; i++) {
		if (!s->msgs[i].done)
			continue;
		if (!first && fd_write_all(fd, "\n", 1) < 0)
			goto fail;
		if (copy_range(s->fd, s->msgs[i].from, s->msgs[i].end, fd) < 0)
			goto fail;
		first = 0;
	}
	if (fd_write_all(fd, "\n", 1) < 0 || fsync(fd) < 0)
		goto fail;
	rc = SRC_OK;
fail:
	if (rc != SRC_OK)
		err_set(e, EXIT_IOERR, "mbox '%s': cannot append: %s", dest, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(lp);
	free(lp);
	free(dest);
	return rc;
}

/* Writes the mbox anew: messages done left out (delete, move) or given
 * "Status: RO" (seen); renamed over the old file once synced. */
static int
rewrite(struct source *s, struct err *e)
{
	enum after_mode after = s->cfg->mailbox.after;
	char *tmp = xasprintf("%s.secdesk-new", s->path);
	struct stat st;
	int out, newfd;

	if (fstat(s->fd, &st) < 0)
		goto fail_msg;
	unlink(tmp); /* left by a crash, under our dot-lock */
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0)
		goto fail_msg;
	if (fchown(out, st.st_uid, st.st_gid) < 0) {
		/* Not root: the new file is ours, as the old one was. */
	}
	{
		bool first = true;

		for (size_t i = 0; i < s->n; i++) {
			struct mb_msg *m = &s->msgs[i];

			if (m->done && after != AFTER_SEEN)
				continue;
			if (!first && fd_write_all(out, "\n", 1) < 0)
				goto fail_out;
			first = false;
			if (m->done && !m->seen) {
				/* From line, then Status: RO, then the message. */
				if (copy_range(s->fd, m->from, m->start, out) < 0 ||
				    fd_write_all(out, "Status: RO\n", 11) < 0 ||
				    copy_range(s->fd, m->start, m->end, out) < 0)
					goto fail_out;
			} else if (copy_range(s->fd, m->from, m->end, out) < 0) {
				goto fail_out;
			}
		}
		if (!first && fd_write_all(out, "\n", 1) < 0)
			goto fail_out;
	}
	if (fsync(out) < 0)
		goto fail_out;
	close(out);
	newfd = open(tmp, O_RDWR | O_CLOEXEC);
	if (newfd < 0 || lock_fd(newfd, MBOX_DEFAULT_WAIT) < 0 || rename(tmp, s->path) < 0) {
		if (newfd >= 0)
			close(newfd);
		goto fail_msg;
	}
	sync_parent(s->path);
	close(s->fd);
	s->fd = newfd;
	free(tmp);
	return SRC_OK;
fail_out:
	close(out);
fail_msg:
	err_set(e, EXIT_IOERR, "mbox '%s': cannot rewrite: %s", s->path, strerror(errno));
	unlink(tmp);
	free(tmp);
	return SRC_BOX_BAD;
}

static int
mb_mark_done(struct source *s, const char *const *keys, size_t n, struct err *e)
{
	enum after_mode after = s->cfg->mailbox.after;
	size_t marked = 0;
	int rc;

	if (after == AFTER_KEEP || n == 0)
		return SRC_OK;
	for (size_t i = 0; i < n; i++) {
		struct mb_msg *m = find_msg(s, keys[i]);

		if (m && !m->done) {
			m->done = true;
			marked++;
		}
	}
	if (!marked)
		return SRC_OK;
	if (after == AFTER_MOVE && (rc = append_moved(s, e)) != SRC_OK)
		return rc;
	if ((rc = rewrite(s, e)) != SRC_OK)
		return rc;
	/* The offsets changed; the keys of what is left did not. */
	{
		struct strlist done = STRLIST_INIT;

		for (size_t i = 0; i < s->n; i++)
			if (s->msgs[i].done)
				strlist_add(&done, s->msgs[i].key);
		rc = scan(s, e);
		for (size_t i = 0; rc == SRC_OK && i < done.n; i++) {
			struct mb_msg *m = find_msg(s, done.items[i]);

			if (m)
				m->done = true; /* seen: still there, now with Status */
		}
		strlist_release(&done);
	}
	return rc;
}

const struct source_ops source_mbox_ops = {
	.scheme = "mbox",
	.open = mb_open,
	.id = mb_id,
	.list = mb_list,
	.fetch = mb_fetch,
	.mark_done = mb_mark_done,
	.close = mb_close,
};
