/* sendmail:PATH - hands each mail to a sendmail-compatible program:
 * PATH -oi -f SENDER -- RCPT..., the message on stdin; fork and exec, no
 * shell, so that no address can become a command. The program's exit
 * status (sysexits.h) grades the result. */
#include "compat.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "send.h"
#include "xalloc.h"

struct sm_state {
	char *path;
	struct buf data;
};

static int
sm_open(const struct config *cfg, const char *url, void **state, struct err *e)
{
	struct sm_state *st;
	struct stat sb;

	(void)cfg;
	if (*url != '/')
		return err_set(e, EXIT_CONFIG, "[send] url 'sendmail:%s': expected an absolute "
			       "path to the program", url);
	if (stat(url, &sb) < 0 || !S_ISREG(sb.st_mode) || access(url, X_OK) < 0)
		return err_set(e, EXIT_CONFIG, "[send] url 'sendmail:%s': not an executable "
			       "program", url);
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(url);
	buf_init(&st->data, 0);
	*state = st;
	return 0;
}

/* The whole message through the socket; MSG_NOSIGNAL so that a program
 * that exits early gives EPIPE, not SIGPIPE. */
static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
read_errors(int fd, char *out, size_t n)
{
	ssize_t r;
	size_t len = 0;

	out[0] = '\0';
	if (lseek(fd, 0, SEEK_SET) < 0)
		return;
	while (len + 1 < n && (r = read(fd, out + len, n - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	while (len && out[len - 1] == ' ')
		out[--len] = '\0';
}

/* sendmail -oi -f FROM -- RCPT...: argv has room for m->nrcpts + 6. */
static void
fill_argv(char **argv, char *path, const struct send_mail *m)
{
	int argc = 0;

	argv[argc++] = path;
	argv[argc++] = (char *)"-oi";
	argv[argc++] = (char *)"-f";
	argv[argc++] = (char *)(*m->env_from ? m->env_from : "<>");
	argv[argc++] = (char *)"--";
	for (size_t i = 0; i < m->nrcpts; i++)
		argv[argc++] = (char *)m->rcpts[i];
	argv[argc] = NULL;
}

/* What the program's wait status says of the mail (errors: what it wrote
 * on stderr). */
static enum send_status
grade_exit(const char *path, int status, const char *errors, struct err *e)
{
	const char *sep = *errors ? ": " : "";

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return SEND_OK;
	if (!WIFEXITED(status)) {
		err_set(e, EXIT_TEMPFAIL, "'%s' killed by signal %d%s%s", path, WTERMSIG(status),
			sep, errors);
		return SEND_DEFER;
	}
	switch (WEXITSTATUS(status)) {
	case 126:
	case 127:
		/* The program cannot run: no mail can go out. */
		err_set(e, EXIT_CONFIG, "cannot run '%s'%s%s", path, sep, errors);
		return SEND_CONN;
	case EXIT_USAGE:
	case EXIT_DATAERR:
	case 67: /* EX_NOUSER */
	case 68: /* EX_NOHOST */
	case 77: /* EX_NOPERM */
		err_set(e, EXIT_DATAERR, "'%s' refused the mail (exit %d)%s%s", path,
			WEXITSTATUS(status), sep, errors);
		return SEND_REJECT;
	default:
		err_set(e, EXIT_TEMPFAIL, "'%s' failed (exit %d)%s%s", path, WEXITSTATUS(status),
			sep, errors);
		return SEND_DEFER;
	}
}

static enum send_status
sm_deliver(void *state, const struct send_mail *m, struct err *e)
{
	struct sm_state *st = state;
	char **argv = xcalloc(m->nrcpts + 6, sizeof(*argv));
	char errors[512], tmpl[] = "/tmp/secdesk-sendmail.XXXXXX";
	int sv[2] = { -1, -1 }, errfd, status;
	pid_t pid;
	enum send_status rc = SEND_CONN;

	/* Local submission speaks LF. */
	buf_reset(&st->data);
	for (size_t i = 0; i < m->len; i++)
		if (!(m->data[i] == '\r' && i + 1 < m->len && m->data[i + 1] == '\n'))
			buf_addch(&st->data, m->data[i]);
	fill_argv(argv, st->path, m);

	errfd = mkostemp(tmpl, O_CLOEXEC);
	if (errfd >= 0)
		unlink(tmpl);
	if (errfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		err_set(e, EXIT_TEMPFAIL, "sendmail: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err_set(e, EXIT_TEMPFAIL, "sendmail: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(errfd, STDERR_FILENO) < 0 ||
		    (devnull >= 0 && dup2(devnull, STDOUT_FILENO) < 0))
			_exit(EXIT_TEMPFAIL);
		signal(SIGPIPE, SIG_DFL);
		execv(st->path, argv);
		_exit(126);
	}
	close(sv[1]);
	sv[1] = -1;
	shutdown(sv[0], SHUT_RD);
	if (send_all(sv[0], st->data.data ? st->data.data : "", st->data.len) < 0 &&
	    errno != EPIPE && errno != ECONNRESET)
		err_set(e, EXIT_TEMPFAIL, "sendmail: write: %s", strerror(errno));
	close(sv[0]);
	sv[0] = -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			err_set(e, EXIT_TEMPFAIL, "sendmail: wait: %s", strerror(errno));
			goto out;
		}
	read_errors(errfd, errors, sizeof(errors));
	rc = grade_exit(st->path, status, errors, e);
out:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (errfd >= 0)
		close(errfd);
	free(argv);
	return rc;
}

static void
sm_close(void *state)
{
	struct sm_state *st = state;

	if (!st)
		return;
	buf_release(&st->data);
	free(st->path);
	free(st);
}

const struct transport_ops send_sendmail_ops = {
	.prefix = "sendmail:",
	.open = sm_open,
	.deliver = sm_deliver,
	.close = sm_close,
};
