/* Server URLs (see mailurl.h). */
#include "compat.h"

#include <ctype.h>

#include "ascii.h"
#include "buf.h"
#include "mailurl.h"
#include "xalloc.h"

/* %-decodes s[0..n); NULL for a bad escape or an encoded NUL or control. */
static char *
decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h, l;

			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			h = ascii_hexval((unsigned char)s[i + 1]);
			l = ascii_hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0 || (h * 16 + l) < 0x20) {
				free(out);
				return NULL;
			}
			*o++ = (char)(h * 16 + l);
			i += 2;
		} else if ((unsigned char)s[i] < 0x20) {
			free(out);
			return NULL;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

int
mailurl_parse(struct mailurl *u, const char *url, int default_port, struct err *e)
{
	const char *p = strstr(url, "://"), *auth, *at, *hp, *slash, *hend, *colon = NULL;

	memset(u, 0, sizeof(*u));
	if (!p || p == url)
		return err_set(e, EXIT_CONFIG, "url '%s': expected SCHEME://HOST", url);
	u->scheme = xstrndup(url, (size_t)(p - url));
	for (char *c = u->scheme; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	auth = p + 3;
	slash = strchr(auth, '/');
	if (!slash)
		slash = auth + strlen(auth);
	/* The last '@' before the path: a user name may hold an encoded one. */
	at = NULL;
	for (const char *c = auth; c < slash; c++)
		if (*c == '@')
			at = c;
	if (at) {
		if (memchr(auth, ':', (size_t)(at - auth))) {
			mailurl_release(u);
			return err_set(e, EXIT_CONFIG, "url '%s': a password does not belong in the "
				       "url; use password_file or the environment", url);
		}
		u->user = decode(auth, (size_t)(at - auth));
		if (!u->user || !*u->user) {
			mailurl_release(u);
			return err_set(e, EXIT_CONFIG, "url '%s': bad user name", url);
		}
		hp = at + 1;
	} else {
		hp = auth;
	}
	if (*hp == '[') {
		hend = memchr(hp, ']', (size_t)(slash - hp));
		if (!hend) {
			mailurl_release(u);
			return err_set(e, EXIT_CONFIG, "url '%s': unclosed '[' in the host", url);
		}
		u->host = xstrndup(hp + 1, (size_t)(hend - hp - 1));
		if (hend + 1 < slash) {
			if (hend[1] != ':') {
				mailurl_release(u);
				return err_set(e, EXIT_CONFIG, "url '%s': bad host", url);
			}
			colon = hend + 1;
		}
	} else {
		colon = memchr(hp, ':', (size_t)(slash - hp));
		u->host = xstrndup(hp, (size_t)((colon ? colon : slash) - hp));
	}
	if (!*u->host) {
		mailurl_release(u);
		return err_set(e, EXIT_CONFIG, "url '%s': no host", url);
	}
	for (const char *c = u->host; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(".-_:", *c)) {
			mailurl_release(u);
			return err_set(e, EXIT_CONFIG, "url '%s': bad character in the host", url);
		}
	u->port = default_port;
	if (colon) {
		char *end;
		long port;

		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (end != slash || end == colon + 1 || errno || port < 1 || port > 65535) {
			mailurl_release(u);
			return err_set(e, EXIT_CONFIG, "url '%s': bad port", url);
		}
		u->port = (int)port;
	}
	if (u->port <= 0) {
		mailurl_release(u);
		return err_set(e, EXIT_CONFIG, "url '%s': no port", url);
	}
	u->path = decode(*slash ? slash + 1 : slash, strlen(*slash ? slash + 1 : slash));
	if (!u->path) {
		mailurl_release(u);
		return err_set(e, EXIT_CONFIG, "url '%s': bad %%-escape in the path", url);
	}
	return 0;
}

void
mailurl_release(struct mailurl *u)
{
	free(u->scheme);
	free(u->user);
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

char *
mailurl_format(const struct mailurl *u, int default_port)
{
	struct buf b = BUF_INIT;
	bool v6 = strchr(u->host, ':') != NULL;

	buf_addf(&b, "%s://", u->scheme);
	if (u->user)
		buf_addf(&b, "%s@", u->user);
	buf_addf(&b, v6 ? "[%s]" : "%s", u->host);
	if (u->port != default_port)
		buf_addf(&b, ":%d", u->port);
	if (u->path && *u->path)
		buf_addf(&b, "/%s", u->path);
	return buf_detach(&b, NULL);
}
