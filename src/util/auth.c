/* Credentials for mail servers (see auth.h). */
#include "compat.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "xalloc.h"

extern char **environ;

static void
wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

char *
auth_run_token_command(const char *command, struct err *e)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)command, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl;
	struct buf out;
	char chunk[4096];
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;
	bool too_long = false;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		err_set(e, EXIT_TEMPFAIL, "oauth_token_command: %s", strerror(errno));
		return NULL;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	/* main ignores SIGPIPE; the command gets the default back. */
	posix_spawnattr_init(&attr);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	if (posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ) != 0) {
		posix_spawnattr_destroy(&attr);
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		err_set(e, EXIT_TEMPFAIL, "oauth_token_command: cannot run /bin/sh");
		return NULL;
	}
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	buf_init(&out, AUTH_MAX_SECRET);
	while ((n = read(pipefd[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!too_long && buf_add(&out, chunk, (size_t)n) < 0)
			too_long = true;
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	explicit_bzero(chunk, sizeof(chunk));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (out.data)
			explicit_bzero(out.data, out.len);
		buf_release(&out);
		err_set(e, EXIT_TEMPFAIL, "oauth_token_command '%s' failed (%s %d)", command,
			WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return NULL;
	}
	if (too_long || !out.len || out.data[0] == '\n' || out.data[0] == '\r') {
		if (out.data)
			explicit_bzero(out.data, out.len);
		buf_release(&out);
		err_set(e, EXIT_CONFIG, "oauth_token_command '%s' printed %s", command,
			too_long ? "too much" : "no token");
		return NULL;
	}
	out.data[strcspn(out.data, "\r\n")] = '\0';
	return buf_detach(&out, NULL);
}

int
auth_load(struct auth *a, const struct conn_config *conn, const struct mailurl *u,
	  const char *env, struct err *e)
{
	memset(a, 0, sizeof(*a));
	if (conn->user)
		a->user = xstrdup(conn->user);
	else if (u && u->user)
		a->user = xstrdup(u->user);
	else
		return err_set(e, EXIT_CONFIG, "no user name: set user or put it in the url "
			       "(SCHEME://USER@HOST)");
	if (conn->oauth_token_command) {
		a->oauth_token = auth_run_token_command(conn->oauth_token_command, e);
		if (!a->oauth_token)
			goto fail;
		return 0;
	}
	a->password = config_read_secret(conn->password_file, env, e);
	if (!a->password)
		goto fail;
	return 0;
fail:
	auth_release(a);
	return -1;
}

void
auth_release(struct auth *a)
{
	free(a->user);
	wipe_free(a->password);
	wipe_free(a->oauth_token);
	memset(a, 0, sizeof(*a));
}
