/* The connection to a mail server, with reasons (see mailconn.h). */
#include "compat.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "mailconn.h"
#include "testhook.h"
#include "tls.h"

/* What the messages say about each protocol. */
static const struct proto_words {
	const char *service;     /* "imap": the prefix of messages */
	const char *name;        /* "IMAP" */
	const char *plain_url;   /* "imap://" */
	const char *tls_url;     /* "imaps://" */
	const char *starttls;    /* how plain + STARTTLS is configured */
	int plain_port, tls_port;
} words[] = {
	[MAILCONN_IMAP] = { "imap", "IMAP", "imap://", "imaps://",
			    " with tls = required (STARTTLS)", 143, 993 },
	[MAILCONN_POP3] = { "pop3", "POP3", "pop3://", "pop3s://",
			    " with tls = required (STLS)", 110, 995 },
	[MAILCONN_SMTP] = { "smtp", "SMTP", "smtp://", "smtps://", " (STARTTLS)", 587, 465 },
};

int
mailconn_greeting_timeout(void)
{
	size_t s = testhook_size("SECDESK_TEST_GREETING_TIMEOUT", MAILCONN_GREETING_TIMEOUT);

	return s > 0 && s < 3600 ? (int)s : MAILCONN_GREETING_TIMEOUT;
}

/* "SERVICE server 'HOST:PORT': WHAT", a temporary failure. */
static int
fail(const struct mailconn_target *t, struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(const struct mailconn_target *t, struct err *e, const char *fmt, ...)
{
	char what[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(e, EXIT_TEMPFAIL, "%s server '%s:%d': %s", words[t->proto].service,
		       t->host, t->port, what);
}

/* connect(2) with a timeout; returns 0 or an errno value. */
static int
connect_within(int fd, const struct sockaddr *sa, socklen_t len, int timeout)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int flags = fcntl(fd, F_GETFL), soerr = 0, r;
	socklen_t sl = sizeof(soerr);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return errno;
	if (connect(fd, sa, len) < 0) {
		if (errno != EINPROGRESS)
			return errno;
		do
			r = poll(&p, 1, timeout * 1000);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return errno;
		if (r == 0)
			return ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			return errno;
		if (soerr)
			return soerr;
	}
	return fcntl(fd, F_SETFL, flags) < 0 ? errno : 0;
}

static const char *
connect_hint(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return "connection refused (is the server running? is the port right?)";
	case EHOSTUNREACH:
		return "host unreachable (check the host name and the network)";
	case ENETUNREACH:
		return "network unreachable (check the network)";
	default:
		return NULL;
	}
}

/* A connected socket, or -1 with e set. */
static int
tcp_connect(const struct mailconn_target *t, struct err *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	char port[16], why[200];
	int fd = -1, last = 0, r;

	snprintf(port, sizeof(port), "%d", t->port);
	r = getaddrinfo(t->host, port, &hints, &res);
	if (r != 0) {
		fail(t, e, "cannot resolve the host name: %s (check the host in the url)",
		     r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		last = connect_within(fd, ai->ai_addr, ai->ai_addrlen, t->timeout);
		if (last) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
	if (last == ETIMEDOUT)
		snprintf(why, sizeof(why), "timed out after %d s (is a firewall dropping it?)",
			 t->timeout);
	else
		snprintf(why, sizeof(why), "%s", connect_hint(last) ? connect_hint(last)
								 : strerror(last));
	fail(t, e, "cannot connect: %s", why);
	return -1;
}

/* A TLS handshake of our own, only to learn why libetpan's failed (it
 * gives no reason) or whether a silent server speaks TLS. Keeps the first
 * bytes the server sent. */
struct probe {
	int fd;
	unsigned char first[16];
	size_t nfirst;
};

static ssize_t
probe_pull(gnutls_transport_ptr_t ptr, void *buf, size_t n)
{
	struct probe *p = ptr;
	ssize_t r = recv(p->fd, buf, n, 0);

	if (r > 0 && p->nfirst < sizeof(p->first)) {
		size_t k = (size_t)r < sizeof(p->first) - p->nfirst ? (size_t)r
								    : sizeof(p->first) - p->nfirst;

		memcpy(p->first + p->nfirst, buf, k);
		p->nfirst += k;
	}
	return r;
}

static ssize_t
probe_push(gnutls_transport_ptr_t ptr, const void *buf, size_t n)
{
	return send(((struct probe *)ptr)->fd, buf, n, MSG_NOSIGNAL);
}

static int
probe_wait(gnutls_transport_ptr_t ptr, unsigned ms)
{
	struct pollfd pfd = { .fd = ((struct probe *)ptr)->fd, .events = POLLIN };

	return poll(&pfd, 1, (int)ms);
}

/* GnuTLS's code of the handshake (0: it worked); alert names the alert
 * the server sent, if any. */
static int
tls_probe(struct probe *p, const char *host, int timeout, const char **alert)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	unsigned char addr[16];
	int r;

	*alert = NULL;
	if ((r = gnutls_certificate_allocate_credentials(&cred)) < 0)
		return r;
	if ((r = gnutls_init(&s, GNUTLS_CLIENT)) < 0)
		goto out;
	if ((r = gnutls_set_default_priority(s)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred)) < 0)
		goto out;
	if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
		gnutls_server_name_set(s, GNUTLS_NAME_DNS, host, strlen(host));
	gnutls_transport_set_ptr(s, p);
	gnutls_transport_set_pull_function(s, probe_pull);
	gnutls_transport_set_push_function(s, probe_push);
	gnutls_transport_set_pull_timeout_function(s, probe_wait);
	gnutls_handshake_set_timeout(s, (unsigned)timeout * 1000);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		*alert = gnutls_alert_get_name(gnutls_alert_get(s));
out:
	if (s)
		gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	return r;
}

/* The first bytes of a TLS record: handshake or alert, version 3.x. */
static bool
looks_like_tls(const unsigned char *b, size_t n)
{
	return n >= 2 && (b[0] == 0x16 || b[0] == 0x15) && b[1] == 0x03;
}

static int
say_tls_answered(const struct mailconn_target *t, struct err *e)
{
	const struct proto_words *w = &words[t->proto];

	return fail(t, e, "the server answered with TLS: use %s or port %d", w->tls_url,
		    w->plain_port);
}

/* Waits for a plain server's first bytes and keeps them in t->said. */
static int
await_plain_greeting(struct mailconn_target *t, int fd, struct err *e)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int g = mailconn_greeting_timeout(), r;
	unsigned char buf[sizeof(t->said)];
	ssize_t n;
	size_t k = 0;

	do
		r = poll(&p, 1, g * 1000);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		/* A TLS port waits for the client's hello: say hello. */
		struct probe pr = { .fd = fd };
		const char *alert;

		if (tls_probe(&pr, t->host, g, &alert) == 0 || looks_like_tls(pr.first, pr.nfirst))
			return say_tls_answered(t, e);
		return fail(t, e, "no greeting within %d s: the server accepted the connection "
			    "but said nothing (is this its %s port?)", g, words[t->proto].name);
	}
	n = r < 0 ? -1 : recv(fd, buf, sizeof(buf) - 1, MSG_PEEK);
	if (n < 0)
		return fail(t, e, "cannot read the greeting: %s", strerror(errno));
	if (n == 0)
		return fail(t, e, "the server closed the connection without a greeting "
			    "(is it overloaded, or refusing this client?)");
	if (looks_like_tls(buf, (size_t)n))
		return say_tls_answered(t, e);
	for (ssize_t i = 0; i < n && buf[i] != '\r' && buf[i] != '\n'; i++)
		t->said[k++] = buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '?';
	t->said[k] = '\0';
	return 0;
}

/* libetpan's handshake failed on a first connection: a second one, with a
 * handshake of our own, says why. */
static void
explain_tls_failure(const struct mailconn_target *t, struct err *e)
{
	const struct proto_words *w = &words[t->proto];
	struct probe pr = { .fd = -1 };
	const char *alert = NULL;
	int r;

	pr.fd = tcp_connect(t, e);
	if (pr.fd < 0)
		return;
	r = tls_probe(&pr, t->host, mailconn_greeting_timeout(), &alert);
	close(pr.fd);
	if (pr.nfirst && !looks_like_tls(pr.first, pr.nfirst)) {
		fail(t, e, "the server speaks plain %s here: use %s%s or port %d", w->name,
		     w->plain_url, w->starttls, w->tls_port);
	} else if (r == GNUTLS_E_TIMEDOUT || r == GNUTLS_E_PULL_ERROR) {
		fail(t, e, "TLS handshake failed: no answer to the TLS hello within %d s (is this "
		     "its %s port with TLS?)", mailconn_greeting_timeout(), w->name);
	} else if (alert) {
		fail(t, e, "TLS handshake failed: the server sent the alert '%s' (does it allow "
		     "this TLS version?)", alert);
	} else {
		fail(t, e, "TLS handshake failed: %s", r ? gnutls_strerror(r) : "unknown reason");
	}
}

/* libetpan's handshake, whose answer to the server's hello counts as the
 * greeting. libetpan prints "GnuTLS error: ..." to stderr when it fails:
 * stderr points at /dev/null meanwhile, since the caller says it better and
 * a cron job must be able to stay quiet. */
static mailstream *
open_tls_quietly(int fd, int timeout, const char *host)
{
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	mailstream *s;

	fflush(stderr);
	if (saved >= 0 && null >= 0)
		dup2(null, STDERR_FILENO);
	s = mailstream_ssl_open_with_callback_timeout(fd, timeout, tls_sni_callback,
						      (void *)host);
	if (saved >= 0 && null >= 0)
		dup2(saved, STDERR_FILENO);
	if (saved >= 0)
		close(saved);
	if (null >= 0)
		close(null);
	return s;
}

mailstream *
mailconn_open(struct mailconn_target *t, struct err *e)
{
	int g = mailconn_greeting_timeout();
	mailstream *s;
	int fd;

	t->said[0] = '\0';
	fd = tcp_connect(t, e);
	if (fd < 0)
		return NULL;
	if (!t->tls) {
		if (await_plain_greeting(t, fd, e) < 0) {
			close(fd);
			return NULL;
		}
		s = mailstream_socket_open_timeout(fd, g);
		if (!s) {
			close(fd);
			fail(t, e, "out of memory");
		}
		return s;
	}
	s = open_tls_quietly(fd, g, t->host);
	if (!s) {
		close(fd);
		explain_tls_failure(t, e);
		return NULL;
	}
	mailstream_low_set_timeout(mailstream_get_low(s), g);
	return s;
}

void
mailconn_greeted(mailstream *s, int timeout)
{
	if (s)
		mailstream_low_set_timeout(mailstream_get_low(s), timeout);
}

void
mailconn_no_greeting(const struct mailconn_target *t, struct err *e)
{
	if (!strncmp(t->said, "* BYE", 5) || !strncmp(t->said, "-ERR", 4))
		fail(t, e, "refused the session: '%s'", t->said);
	else if (t->said[0])
		fail(t, e, "did not greet in %s: it said '%s'", words[t->proto].name, t->said);
	else
		fail(t, e, "no greeting within %d s after the TLS handshake",
		     mailconn_greeting_timeout());
}
