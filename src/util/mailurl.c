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

/* The user name before the last '@' of auth..slash (a user name may hold
 * an encoded one), if any; *hp gets where the host begins. */
static int
parse_user(struct mailurl *u, const char *url, const char *auth, const char *slash,
	   const char **hp, struct err *e)
{
	const char *at = NULL;

	for (const char *c = auth; c < slash; c++)
		if (*c == '@')
			at = c;
	*hp = at ? at + 1 : auth;
	if (!at)
		return 0;
	if (memchr(auth, ':', (size_t)(at - auth)))
		return err_set(e, EXIT_CONFIG, "url '%s': a password does not belong in the "
			       "url; use password_file or the environment", url);
	u->user = decode(auth, (size_t)(at - auth));
	if (!u->user || !*u->user)
		return err_set(e, EXIT_CONFIG, "url '%s': bad user name", url);
	return 0;
}

/* The host at hp (a name, an address or an [IPv6] literal) up to slash;
 * *colon gets the ':' before a port, NULL when there is none. */
static int
parse_host(struct mailurl *u, const char *url, const char *hp, const char *slash,
	   const char **colon, struct err *e)
{
	*colon = NULL;
	if (*hp == '[') {
		const char *hend = memchr(hp, ']', (size_t)(slash - hp));

		if (!hend)
			return err_set(e, EXIT_CONFIG, "url '%s': unclosed '[' in the host", url);
		u->host = xstrndup(hp + 1, (size_t)(hend - hp - 1));
		if (hend + 1 < slash) {
			if (hend[1] != ':')
				return err_set(e, EXIT_CONFIG, "url '%s': bad host", url);
			*colon = hend + 1;
		}
	} else {
		*colon = memchr(hp, ':', (size_t)(slash - hp));
		u->host = xstrndup(hp, (size_t)((*colon ? *colon : slash) - hp));
	}
	if (!*u->host)
		return err_set(e, EXIT_CONFIG, "url '%s': no host", url);
	for (const char *c = u->host; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(".-_:", *c))
			return err_set(e, EXIT_CONFIG, "url '%s': bad character in the host", url);
	return 0;
}

/* The port after colon (up to slash), else default_port. */
static int
parse_port(struct mailurl *u, const char *url, const char *colon, const char *slash,
	   int default_port, struct err *e)
{
	u->port = default_port;
	if (colon) {
		char *end;
		long port;

		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (end != slash || end == colon + 1 || errno || port < 1 || port > 65535)
			return err_set(e, EXIT_CONFIG, "url '%s': bad port", url);
		u->port = (int)port;
	}
	if (u->port <= 0)
		return err_set(e, EXIT_CONFIG, "url '%s': no port", url);
	return 0;
}

int
mailurl_parse(struct mailurl *u, const char *url, int default_port, struct err *e)
{
	const char *p = strstr(url, "://"), *auth, *hp, *slash, *colon;

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
	if (parse_user(u, url, auth, slash, &hp, e) < 0 ||
	    parse_host(u, url, hp, slash, &colon, e) < 0 ||
	    parse_port(u, url, colon, slash, default_port, e) < 0)
		goto fail;
	u->path = decode(*slash ? slash + 1 : slash, strlen(*slash ? slash + 1 : slash));
	if (!u->path) {
		err_set(e, EXIT_CONFIG, "url '%s': bad %%-escape in the path", url);
		goto fail;
	}
	return 0;
fail:
	mailurl_release(u);
	return -1;
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
