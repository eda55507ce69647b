/* bench_send - an SMTP sink for bench/send.sh, as postfix's smtp-sink: it
 * speaks enough ESMTP (EHLO with PIPELINING, MAIL, RCPT, DATA, RSET, NOOP,
 * QUIT) to take mail as fast as a client can give it, counts the messages
 * and their bytes, and keeps nothing. Python's aiosmtpd (the test harness)
 * tops out near its own CPU limit first; this measures secdesk's side.
 *
 * usage: bench_send PORTFILE STATSFILE
 * Listens on 127.0.0.1 (a free port, written to PORTFILE), one client at a
 * time; after each connection writes "MESSAGES BYTES" to STATSFILE. Ends on
 * SIGTERM. */
#include "compat.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

struct sess {
	int fd;
	struct buf out;
	bool in_data;
	long long messages, bytes;
};

static int
flush_out(struct sess *s)
{
	size_t off = 0;

	while (off < s->out.len) {
		ssize_t w = write(s->fd, s->out.data + off, s->out.len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)w;
	}
	buf_reset(&s->out);
	return 0;
}

/* One line (without CRLF). Returns -1 to end the session. */
static int
line(struct sess *s, const char *l, size_t n)
{
	if (s->in_data) {
		if (n == 1 && l[0] == '.') {
			s->in_data = false;
			s->messages++;
			buf_addf(&s->out, "250 2.0.0 queued as %lld\r\n", s->messages);
		} else {
			s->bytes += (long long)n + 2;
		}
		return 0;
	}
	if (n >= 4 && (strncasecmp(l, "EHLO", 4) == 0 || strncasecmp(l, "HELO", 4) == 0))
		buf_addstr(&s->out, "250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
			   "250 SIZE 52428800\r\n");
	else if (n >= 4 && strncasecmp(l, "MAIL", 4) == 0)
		buf_addstr(&s->out, "250 2.1.0 ok\r\n");
	else if (n >= 4 && strncasecmp(l, "RCPT", 4) == 0)
		buf_addstr(&s->out, "250 2.1.5 ok\r\n");
	else if (n == 4 && strncasecmp(l, "DATA", 4) == 0) {
		s->in_data = true;
		buf_addstr(&s->out, "354 go ahead\r\n");
	} else if (n >= 4 && (strncasecmp(l, "RSET", 4) == 0 || strncasecmp(l, "NOOP", 4) == 0))
		buf_addstr(&s->out, "250 2.0.0 ok\r\n");
	else if (n >= 4 && strncasecmp(l, "QUIT", 4) == 0) {
		buf_addstr(&s->out, "221 2.0.0 bye\r\n");
		return -1;
	} else
		buf_addstr(&s->out, "502 5.5.2 not implemented\r\n");
	return 0;
}

static void
serve(int fd, const char *stats)
{
	struct sess s = { .fd = fd };
	char in[65536];
	struct buf pend = BUF_INIT;
	int one = 1;
	FILE *f;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	buf_init(&s.out, 0);
	buf_addstr(&s.out, "220 sink.test ESMTP\r\n");
	flush_out(&s);
	for (;;) {
		ssize_t r = read(fd, in, sizeof(in));
		size_t start = 0;
		bool done = false;

		if (r <= 0)
			break;
		buf_add(&pend, in, (size_t)r);
		for (size_t i = 0; i + 1 < pend.len; i++) {
			if (pend.data[i] == '\r' && pend.data[i + 1] == '\n') {
				if (line(&s, pend.data + start, i - start) < 0) {
					done = true;
					break;
				}
				start = i + 2;
				i++;
			}
		}
		memmove(pend.data, pend.data + start, pend.len - start);
		pend.len -= start;
		/* Replies go out once the client's batch is read (pipelining). */
		if (flush_out(&s) < 0 || done)
			break;
	}
	close(fd);
	buf_release(&pend);
	buf_release(&s.out);
	f = fopen(stats, "w");
	if (f) {
		fprintf(f, "%lld %lld\n", s.messages, s.bytes);
		fclose(f);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int ls, one = 1;
	struct sigaction act;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_send PORTFILE STATSFILE\n");
		return EXIT_USAGE;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_term;
	sigaction(SIGTERM, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 8) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
		perror("bench_send");
		return EXIT_IOERR;
	}
	f = fopen(argv[1], "w");
	if (!f)
		return EXIT_IOERR;
	fprintf(f, "%d\n", ntohs(sa.sin_port));
	fclose(f);
	while (!stop) {
		int fd = accept(ls, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		serve(fd, argv[2]);
	}
	close(ls);
	return 0;
}
