/* The INI configuration, read with libinih and checked against one table of
 * the keys secdesk knows (DESIGN.md, "Configuration"). */
#include "compat.h"

#include <ctype.h>
#include <grp.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ascii.h"
#include "buf.h"
#include "config.h"
#include "deskaddr.h"
#include "xalloc.h"

enum key_type {
	KEY_STRING,
	KEY_PATH,     /* relative to the config file's folder */
	KEY_URL,      /* scheme:PATH forms get their PATH resolved like KEY_PATH */
	KEY_INT,      /* a non-negative integer */
	KEY_SIZE,     /* bytes, with an optional K, M or G suffix */
	KEY_DURATION, /* seconds, with an optional s, m, h or d suffix */
	KEY_BOOL,
	KEY_ADDRESSES, /* mail addresses separated by commas and/or blanks */
	KEY_TLS,      /* "none" or "required" */
	KEY_AFTER,    /* seen | move:FOLDER | delete | keep */
	KEY_AUTHID, /* an Authentication-Results authserv-id (authres.h) */
	KEY_GROUP,    /* a group that exists; its id goes to store.gid */
	KEY_ATTACH,   /* no | yes | under:SIZE, into a size_t (0, SIZE_MAX, SIZE) */
};

struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	bool required;
};

#define O(field) offsetof(struct config, field)

static const struct key_def keys[] = {
	{ "desk", "name", KEY_STRING, O(desk.name), false },
	{ "desk", "address", KEY_STRING, O(desk.address), true },
	{ "desk", "tag", KEY_STRING, O(desk.tag), false },
	{ "desk", "lock_file", KEY_PATH, O(desk.lock_file), false },
	{ "desk", "aliases", KEY_ADDRESSES, O(desk.aliases), false },
	{ "desk", "timezone", KEY_STRING, O(desk.timezone), false },
	/* Optional: a desk fed by an MTA pipe (ingest) has no mailbox. */
	{ "mailbox", "url", KEY_URL, O(mailbox.conn.url), false },
	{ "mailbox", "user", KEY_STRING, O(mailbox.conn.user), false },
	{ "mailbox", "password_file", KEY_PATH, O(mailbox.conn.password_file), false },
	{ "mailbox", "oauth_token_command", KEY_STRING, O(mailbox.conn.oauth_token_command), false },
	{ "mailbox", "tls", KEY_TLS, O(mailbox.conn.tls_none), false },
	{ "mailbox", "ca_file", KEY_PATH, O(mailbox.conn.ca_file), false },
	{ "mailbox", "timeout", KEY_DURATION, O(mailbox.conn.timeout), false },
	{ "mailbox", "after", KEY_AFTER, O(mailbox.after), false },
	{ "mailbox", "batch", KEY_INT, O(mailbox.batch), false },
	{ "mailbox", "trusted_authserv_id", KEY_AUTHID, O(mailbox.trusted_authserv_id),
	  false },
	{ "store", "path", KEY_PATH, O(store.path), false },
	{ "store", "url", KEY_URL, O(store.url), false },
	{ "store", "busy_timeout", KEY_DURATION, O(store.busy_timeout), false },
	{ "store", "group", KEY_GROUP, O(store.group), false },
	{ "store", "index_thread", KEY_BOOL, O(store.index_thread), false },
	{ "store", "password_file", KEY_PATH, O(store.password_file), false },
	{ "store", "ca_file", KEY_PATH, O(store.ca_file), false },
	{ "send", "url", KEY_URL, O(send.conn.url), true },
	{ "send", "user", KEY_STRING, O(send.conn.user), false },
	{ "send", "password_file", KEY_PATH, O(send.conn.password_file), false },
	{ "send", "oauth_token_command", KEY_STRING, O(send.conn.oauth_token_command), false },
	{ "send", "tls", KEY_TLS, O(send.conn.tls_none), false },
	{ "send", "ca_file", KEY_PATH, O(send.conn.ca_file), false },
	{ "send", "timeout", KEY_DURATION, O(send.conn.timeout), false },
	{ "send", "max_attempts", KEY_INT, O(send.max_attempts), false },
	{ "send", "retry_base", KEY_DURATION, O(send.retry_base), false },
	{ "send", "immediate", KEY_BOOL, O(send.immediate), false },
	{ "rules", "dir", KEY_PATH, O(rules.dir), true },
	{ "templates", "dir", KEY_PATH, O(templates.dir), true },
	{ "limits", "max_message_size", KEY_SIZE, O(limits.max_message_size), false },
	{ "ack", "enabled", KEY_BOOL, O(ack.enabled), false },
	{ "ack", "per_sender_limit", KEY_INT, O(ack.per_sender_limit), false },
	{ "ack", "per_sender_window", KEY_DURATION, O(ack.per_sender_window), false },
	{ "ack", "hourly_limit", KEY_INT, O(ack.hourly_limit), false },
	{ "notice", "hourly_limit_per_partner", KEY_INT, O(notice.hourly_limit_per_partner), false },
	{ "notice", "attach", KEY_ATTACH, O(notice.attach_max), false },
	{ "mailbox", "alert_after", KEY_DURATION, O(mailbox.alert_after), false },
	{ "remind", "after", KEY_DURATION, O(remind.after), false },
	{ "remind", "min_interval", KEY_DURATION, O(remind.min_interval), false },
	{ "remind", "statuses", KEY_STRING, O(remind.statuses), false },
	{ "remind", "assignee_domain", KEY_STRING, O(remind.assignee_domain), false },
};

struct load_ctx {
	struct config *cfg;
	const char *file;
	FILE *fp;
	int line;           /* the line the reader handed out last */
	bool seen[ARRAY_SIZE(keys)];
	struct err *e;
	bool failed;
};

/* inih is built without line numbers for the handler: count them here. */
static char *
read_line(char *str, int num, void *stream)
{
	struct load_ctx *lc = stream;
	char *r = fgets(str, num, lc->fp);

	if (r && strchr(r, '\n'))
		lc->line++;
	else if (r && feof(lc->fp))
		lc->line++;
	return r;
}

static int
fail_at(struct load_ctx *lc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail_at(struct load_ctx *lc, const char *fmt, ...)
{
	char what[700];
	va_list ap;

	if (lc->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	err_set(lc->e, EXIT_CONFIG, "%s:%d: %s", lc->file, lc->line, what);
	lc->failed = true;
	return 0;
}

static char *
resolve_path(const struct config *cfg, const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	if (p[0] == '~' && p[1] == '/' && getenv("HOME"))
		return xasprintf("%s/%s", getenv("HOME"), p + 2);
	return xasprintf("%s/%s", cfg->dir, p);
}

static int
parse_number(const char *v, long long *out, const char *suffixes, const long long *mult)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || n < 0)
		return -1;
	if (*end) {
		const char *s = strchr(suffixes, *end);

		if (!s || end[1])
			return -1;
		if (n > LLONG_MAX / mult[s - suffixes])
			return -1;
		n *= mult[s - suffixes];
	}
	*out = n;
	return 0;
}

/* A URL: the path of a local scheme (maildir:, mbox:, dir:, sendmail:,
 * sqlite:) resolved like any path. */
static int
set_url(struct load_ctx *lc, const struct key_def *k, char **field, const char *text)
{
	static const char *const local[] = { "maildir:", "mbox:", "dir:", "sendmail:", "sqlite:" };
	const char *colon = strchr(text, ':');

	if (!colon || colon == text)
		return fail_at(lc, "[%s] %s: '%s' is not a URL (expected scheme:...)", k->section,
			       k->name, text);
	free(*field);
	*field = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(local); i++) {
		size_t l = strlen(local[i]);

		if (strncmp(text, local[i], l) == 0 && text[l] != '/' && text[l]) {
			char *abs = resolve_path(lc->cfg, text + l);

			*field = xasprintf("%.*s%s", (int)l, text, abs);
			free(abs);
		} else if (strncmp(text, local[i], l) == 0 && !text[l]) {
			return fail_at(lc, "[%s] %s: '%s' names no path", k->section, k->name, text);
		}
	}
	if (!*field)
		*field = xstrdup(text);
	return 1;
}

static int
set_bool(struct load_ctx *lc, const struct key_def *k, bool *field, const char *text)
{
	if (!strcmp(text, "yes") || !strcmp(text, "true") || !strcmp(text, "on") ||
	    !strcmp(text, "1"))
		*field = true;
	else if (!strcmp(text, "no") || !strcmp(text, "false") || !strcmp(text, "off") ||
		 !strcmp(text, "0"))
		*field = false;
	else
		return fail_at(lc, "[%s] %s: '%s' is not yes or no", k->section, k->name, text);
	return 1;
}

/* A group of this system: its name kept, its id in cfg->store.gid. */
static int
set_group(struct load_ctx *lc, const struct key_def *k, char **field, const char *text)
{
	struct group *g = *text ? getgrnam(text) : NULL;

	if (!g)
		return fail_at(lc, "[%s] %s: no group '%s' on this system", k->section, k->name,
			       text);
	free(*field);
	*field = xstrdup(text);
	lc->cfg->store.gid = g->gr_gid;
	return 1;
}

/* [mailbox] after: seen, delete, keep or move:FOLDER. */
static int
set_after(struct load_ctx *lc, const char *text)
{
	struct config *cfg = lc->cfg;

	free(cfg->mailbox.after_folder);
	cfg->mailbox.after_folder = NULL;
	if (!strcmp(text, "seen"))
		cfg->mailbox.after = AFTER_SEEN;
	else if (!strcmp(text, "delete"))
		cfg->mailbox.after = AFTER_DELETE;
	else if (!strcmp(text, "keep"))
		cfg->mailbox.after = AFTER_KEEP;
	else if (!strncmp(text, "move:", 5) && text[5]) {
		cfg->mailbox.after = AFTER_MOVE;
		cfg->mailbox.after_folder = xstrdup(text + 5);
	} else
		return fail_at(lc, "[mailbox] after: '%s' is not seen, move:FOLDER, delete or keep",
			       text);
	return 1;
}

/* Sets the field of key k from its text; 1, or -1 after fail_at(). */
static int
set_key(struct load_ctx *lc, const struct key_def *k, const char *value)
{
	static const long long size_mult[] = { 1024LL, 1024LL * 1024, 1024LL * 1024 * 1024,
					       1024LL, 1024LL * 1024, 1024LL * 1024 * 1024 };
	static const long long dur_mult[] = { 1, 60, 3600, 86400 };
	struct config *cfg = lc->cfg;
	char *field = (char *)cfg + k->offset;
	long long n;

	switch (k->type) {
	case KEY_STRING:
		if (!*value)
			return fail_at(lc, "[%s] %s: empty value", k->section, k->name);
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 1;
	case KEY_PATH:
		if (!*value)
			return fail_at(lc, "[%s] %s: empty path", k->section, k->name);
		free(*(char **)field);
		*(char **)field = resolve_path(cfg, value);
		return 1;
	case KEY_URL:
		return set_url(lc, k, (char **)field, value);
	case KEY_INT:
		if (parse_number(value, &n, "", NULL) < 0 || n > INT_MAX)
			return fail_at(lc, "[%s] %s: '%s' is not a number", k->section, k->name,
				       value);
		*(int *)field = (int)n;
		return 1;
	case KEY_SIZE:
		if (parse_number(value, &n, "KMGkmg", size_mult) < 0)
			return fail_at(lc, "[%s] %s: '%s' is not a size (like 25M)", k->section,
				       k->name, value);
		*(size_t *)field = (size_t)n;
		return 1;
	case KEY_ATTACH:
		if (!strcmp(value, "no"))
			n = 0;
		else if (!strcmp(value, "yes"))
			n = -1;
		else if (strncmp(value, "under:", 6) != 0 ||
			 parse_number(value + 6, &n, "KMGkmg", size_mult) < 0 || n == 0)
			return fail_at(lc, "[%s] %s: '%s' is not no, yes or under:SIZE (like "
					   "under:10M)", k->section, k->name, value);
		*(size_t *)field = n < 0 ? SIZE_MAX : (size_t)n;
		return 1;
	case KEY_DURATION:
		if (parse_number(value, &n, "smhd", dur_mult) < 0 || n > INT_MAX)
			return fail_at(lc, "[%s] %s: '%s' is not a duration (like 30s, 10m, 1h)",
				       k->section, k->name, value);
		*(int *)field = (int)n;
		return 1;
	case KEY_BOOL:
		return set_bool(lc, k, (bool *)field, value);
	case KEY_ADDRESSES: {
		const char *bad;
		size_t bad_len;

		if (deskaddr_parse_list(value, (struct strlist *)field, &bad, &bad_len) < 0)
			return fail_at(lc, "[%s] %s: '%.*s' is not a mail address (expected "
				       "addresses separated by commas)", k->section, k->name,
				       (int)bad_len, bad);
		return 1;
	}
	case KEY_TLS:
		if (!strcmp(value, "none"))
			*(bool *)field = true;
		else if (!strcmp(value, "required"))
			*(bool *)field = false;
		else
			return fail_at(lc, "[%s] %s: '%s' is not 'none' or 'required'",
				       k->section, k->name, value);
		return 1;
	case KEY_GROUP:
		return set_group(lc, k, (char **)field, value);
	case KEY_AFTER:
		return set_after(lc, value);
	case KEY_AUTHID:
		if (!ascii_is_token(value, CONFIG_AUTHSERV_ID_MAX))
			return fail_at(lc, "[%s] %s: '%s' is not an authserv-id (a host name "
					   "such as mx.example.org, as your MX writes it)",
				       k->section, k->name, value);
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 1;
	}
	return fail_at(lc, "internal error");
}

/* A staff user name: what a Unix login may be. */
static bool
staff_user_ok(const char *u, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)u[i]) || strchr("._-", u[i])))
			return false;
	return true;
}

/* "\n" in a one-line signature value: a line end. */
static char *
unescape_lines(const char *v)
{
	char *out = xstrdup(v), *o = out;

	for (const char *p = v; *p; p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			*o++ = '\n';
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* A key of [staff "USER"]: name, signature, signature_file. */
static int
handle_staff(struct load_ctx *lc, const char *section, const char *name, const char *value)
{
	struct config *cfg = lc->cfg;
	const char *u = section + 7;
	size_t len = strlen(u);
	struct config_staff *st = NULL;
	char **field;

	if (len < 1 || u[len - 1] != '"' || !staff_user_ok(u, len - 1))
		return fail_at(lc, "[%s]: expected [staff \"USER\"], USER a login name", section);
	for (size_t i = 0; i < cfg->nstaff && !st; i++)
		if (strlen(cfg->staff[i].user) == len - 1 && !strncmp(cfg->staff[i].user, u, len - 1))
			st = &cfg->staff[i];
	if (!st) {
		cfg->staff = xreallocarray(cfg->staff, cfg->nstaff + 1, sizeof(*cfg->staff));
		st = &cfg->staff[cfg->nstaff++];
		memset(st, 0, sizeof(*st));
		st->user = xstrndup(u, len - 1);
	}
	if (!strcmp(name, "name"))
		field = &st->name;
	else if (!strcmp(name, "signature"))
		field = &st->signature;
	else if (!strcmp(name, "signature_file"))
		field = &st->signature_file;
	else
		return fail_at(lc, "unknown key '%s' in [%s] (name, signature, signature_file)",
			       name, section);
	if (*field)
		return fail_at(lc, "[%s] %s: given twice", section, name);
	if (!*value)
		return fail_at(lc, "[%s] %s: empty value", section, name);
	*field = field == &st->signature_file ? resolve_path(cfg, value)
	       : field == &st->signature      ? unescape_lines(value)
					      : xstrdup(value);
	if (st->signature && st->signature_file)
		return fail_at(lc, "[%s]: signature and signature_file: give one", section);
	return 1;
}

const struct config_staff *
config_staff_find(const struct config *cfg, const char *user)
{
	for (size_t i = 0; user && i < cfg->nstaff; i++)
		if (strcmp(cfg->staff[i].user, user) == 0)
			return &cfg->staff[i];
	return NULL;
}

static int
on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	bool known_section = false;

	if (lc->failed)
		return 0;
	if (strncmp(section, "staff \"", 7) == 0)
		return handle_staff(lc, section, name, value);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		known_section = true;
		if (strcmp(keys[i].name, name) != 0)
			continue;
		if (lc->seen[i])
			return fail_at(lc, "[%s] %s: given twice", section, name);
		lc->seen[i] = true;
		lc->cfg->key_lines[i] = lc->line;
		return set_key(lc, &keys[i], value);
	}
	if (!known_section)
		return fail_at(lc, "unknown section [%s]", section);
	return fail_at(lc, "unknown key '%s' in [%s]", name, section);
}

static void
set_defaults(struct config *cfg)
{
	cfg->mailbox.after = AFTER_SEEN;
	cfg->mailbox.batch = 100;
	cfg->store.busy_timeout = 30;
	cfg->mailbox.conn.timeout = 60;
	cfg->send.conn.timeout = 60;
	cfg->send.max_attempts = 10;
	cfg->send.retry_base = 300;
	cfg->ack.enabled = true;
	cfg->ack.per_sender_limit = 3;
	cfg->ack.per_sender_window = 3600;
	cfg->ack.hourly_limit = 500;
	cfg->notice.hourly_limit_per_partner = 20;
	cfg->remind.after = 3 * 86400;
	cfg->remind.min_interval = 20 * 3600;
	cfg->mailbox.alert_after = 3600;
	cfg->key_lines = xcalloc(ARRAY_SIZE(keys), sizeof(*cfg->key_lines));
}

static int
key_index(const char *section, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, key))
			return (int)i;
	return -1;
}

void
config_prefix_err(const struct config *cfg, const char *section, const char *key,
		  struct err *e)
{
	int i = key_index(section, key);

	if (i >= 0 && cfg->key_lines && cfg->key_lines[i] > 0)
		err_prefix(e, "%s:%d", cfg->path, cfg->key_lines[i]);
	else
		err_prefix(e, "%s", cfg->path);
}

/* For the checks after parsing: "FILE:LINE: [section] key: WHAT". */
static int
fail_key(const struct config *cfg, const char *section, const char *key, struct err *e,
	 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Is name a zone of the tz database (a file under $TZDIR, else
 * /usr/share/zoneinfo)? glibc takes an unknown name for UTC without a
 * word: a typo must not shift every date a reply states. */
static bool
timezone_known(const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[4096];
	struct stat st;

	if (strcmp(name, "UTC") == 0)
		return true;
	if (!*name || name[0] == '/' || strstr(name, "..") || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789/_+-") != strlen(name))
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int
fail_key(const struct config *cfg, const char *section, const char *key, struct err *e,
	 const char *fmt, ...)
{
	char what[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	err_set(e, EXIT_CONFIG, "[%s] %s: %s", section, key, what);
	config_prefix_err(cfg, section, key, e);
	return -1;
}

/* Appends "&KEY=VALUE" (the first: "?") to the URL in b, VALUE
 * percent-encoded as a URL's query wants it. */
static void
url_add_param(struct buf *b, const char *key, const char *value)
{
	buf_addf(b, "%c%s=", strchr(buf_cstr(b), '?') ? '&' : '?', key);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (isalnum(*p) || strchr("-._~/", *p))
			buf_addch(b, *p);
		else
			buf_addf(b, "%%%02X", *p);
	}
}

/* url = postgresql://...: the location is the URL with the password file
 * and the CA file as parameters (pg_core.h); the "path" names the URL in
 * messages, and the run lock, which has no store file to sit beside,
 * defaults to the config's folder. */
static int
store_location_pg(struct config *cfg)
{
	struct buf b;

	buf_init(&b, 0);
	buf_addstr(&b, cfg->store.url);
	if (cfg->store.password_file)
		url_add_param(&b, "password_file", cfg->store.password_file);
	if (cfg->store.ca_file)
		url_add_param(&b, "sslrootcert", cfg->store.ca_file);
	cfg->store.location = buf_detach(&b, NULL);
	cfg->store.path = xstrdup(cfg->store.url);
	cfg->store.local_base = xasprintf("%s/secdesk", cfg->dir);
	if (!cfg->desk.lock_file)
		cfg->desk.lock_file = xasprintf("%s/secdesk.lock", cfg->dir);
	return 0;
}

static bool
is_pg_url(const char *url)
{
	return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

/* [store] path = FILE, url = sqlite:FILE or url = postgresql://...: one
 * of them, and the location store_open() takes. */
static int
store_location(struct config *cfg, const char *path, struct err *e)
{
	if (cfg->store.path && cfg->store.url)
		return fail_key(cfg, "store", "url", e, "path and url both given; keep one");
	if (!cfg->store.path && !cfg->store.url)
		return err_set(e, EXIT_CONFIG, "%s: missing required key 'path' (or 'url') in "
			       "[store]", path);
	if (cfg->store.url && is_pg_url(cfg->store.url))
		return store_location_pg(cfg);
	if (cfg->store.password_file || cfg->store.ca_file)
		return fail_key(cfg, "store", cfg->store.password_file ? "password_file" : "ca_file",
				e, "only for a postgresql:// url");
	if (cfg->store.url && strncmp(cfg->store.url, "sqlite:", 7) != 0)
		return fail_key(cfg, "store", "url", e, "'%s': this secdesk knows sqlite:PATH and "
				"postgresql://USER@HOST[:PORT]/DB", cfg->store.url);
	if (cfg->store.url)
		cfg->store.path = xstrdup(cfg->store.url + 7);
	cfg->store.location = xstrdup(cfg->store.url ? cfg->store.url : cfg->store.path);
	cfg->store.local_base = xstrdup(cfg->store.path);
	return 0;
}

int
config_load(struct config *cfg, const char *path, struct err *e)
{
	struct load_ctx lc = { .cfg = cfg, .file = path, .e = e };
	char resolved[PATH_MAX], *dircopy;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	set_defaults(cfg);
	if (!realpath(path, resolved))
		return err_set(e, EXIT_CONFIG, "cannot read config '%s': %s", path,
			       strerror(errno));
	cfg->path = xstrdup(resolved);
	dircopy = xstrdup(resolved);
	cfg->dir = xstrdup(dirname(dircopy));
	free(dircopy);
	lc.fp = fopen(cfg->path, "r");
	if (!lc.fp)
		return err_set(e, EXIT_CONFIG, "cannot read config '%s': %s", path,
			       strerror(errno));
	rc = ini_parse_stream(read_line, &lc, on_ini_entry, &lc);
	fclose(lc.fp);
	if (lc.failed)
		return -1;
	if (rc > 0)
		return err_set(e, EXIT_CONFIG, "%s:%d: syntax error (expected [section] or "
			       "key = value)", path, rc);
	if (rc < 0)
		return err_set(e, EXIT_CONFIG, "cannot read config '%s'", path);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].required && !lc.seen[i])
			return err_set(e, EXIT_CONFIG, "%s: missing required key '%s' in [%s]",
				       path, keys[i].name, keys[i].section);
	if (!strchr(cfg->desk.address, '@'))
		return fail_key(cfg, "desk", "address", e, "'%s' is not a mail address (expected "
				"user@domain)", cfg->desk.address);
	if (cfg->desk.timezone && !timezone_known(cfg->desk.timezone))
		return fail_key(cfg, "desk", "timezone", e, "unknown time zone '%s' (expected a "
				"name of the tz database, e.g. Europe/Berlin, or UTC)",
				cfg->desk.timezone);
	if (cfg->mailbox.batch < 1 || cfg->mailbox.batch > 10000)
		return fail_key(cfg, "mailbox", "batch", e, "must be 1 to 10000");
	if (cfg->mailbox.alert_after < 0)
		return fail_key(cfg, "mailbox", "alert_after", e, "must not be negative");
	if (!cfg->desk.name)
		cfg->desk.name = xstrdup("Secretariat");
	if (!cfg->desk.tag)
		cfg->desk.tag = xstrdup("Desk");
	if (store_location(cfg, path, e) < 0)
		return -1;
	if (!cfg->desk.lock_file)
		cfg->desk.lock_file = xasprintf("%s.lock", cfg->store.path);
	return 0;
}

int
config_need_mailbox(const struct config *cfg, struct err *e)
{
	if (cfg->mailbox.conn.url)
		return 0;
	return err_set(e, EXIT_CONFIG, "%s: no [mailbox] url: this desk takes its mail from "
		       "an MTA pipe (secdesk ingest); use 'secdesk send' for the outbox", cfg->path);
}

static void
conn_release(struct conn_config *c)
{
	free(c->url);
	free(c->user);
	free(c->password_file);
	free(c->oauth_token_command);
	free(c->ca_file);
}

void
config_release(struct config *cfg)
{
	free(cfg->path);
	free(cfg->dir);
	free(cfg->desk.name);
	free(cfg->desk.address);
	free(cfg->desk.tag);
	free(cfg->desk.lock_file);
	free(cfg->desk.timezone);
	strlist_release(&cfg->desk.aliases);
	conn_release(&cfg->mailbox.conn);
	free(cfg->mailbox.after_folder);
	free(cfg->mailbox.trusted_authserv_id);
	free(cfg->store.path);
	free(cfg->store.url);
	free(cfg->store.local_base);
	free(cfg->store.location);
	free(cfg->store.group);
	free(cfg->store.password_file);
	free(cfg->store.ca_file);
	conn_release(&cfg->send.conn);
	free(cfg->rules.dir);
	free(cfg->templates.dir);
	free(cfg->remind.statuses);
	free(cfg->remind.assignee_domain);
	free(cfg->key_lines);
	for (size_t i = 0; i < cfg->nstaff; i++) {
		free(cfg->staff[i].user);
		free(cfg->staff[i].name);
		free(cfg->staff[i].signature);
		free(cfg->staff[i].signature_file);
	}
	free(cfg->staff);
	memset(cfg, 0, sizeof(*cfg));
}

char *
config_find(const char *explicit_path, struct err *e)
{
	const char *env = getenv("SECDESK_CONFIG");

	if (explicit_path) {
		if (access(explicit_path, R_OK) != 0) {
			err_set(e, EXIT_CONFIG, "cannot read config '%s': %s", explicit_path,
				strerror(errno));
			return NULL;
		}
		return xstrdup(explicit_path);
	}
	if (env && *env) {
		if (access(env, R_OK) != 0) {
			err_set(e, EXIT_CONFIG, "cannot read config '%s' ($SECDESK_CONFIG): %s",
				env, strerror(errno));
			return NULL;
		}
		return xstrdup(env);
	}
	if (access("secdesk.conf", R_OK) == 0)
		return xstrdup("secdesk.conf");
	if (access("/etc/secdesk/secdesk.conf", R_OK) == 0)
		return xstrdup("/etc/secdesk/secdesk.conf");
	err_set(e, EXIT_CONFIG, "no config: give -c FILE or $SECDESK_CONFIG, or create "
		"./secdesk.conf or /etc/secdesk/secdesk.conf");
	return NULL;
}

char *
config_read_secret(const char *file, const char *env, struct err *e)
{
	struct buf b;
	struct stat st;
	char chunk[512];
	size_t n;
	FILE *fp;

	if (!file) {
		const char *v = env ? getenv(env) : NULL;

		if (!v || !*v) {
			err_set(e, EXIT_CONFIG, "no password: set password_file or $%s",
				env ? env : "?");
			return NULL;
		}
		return xstrdup(v);
	}
	fp = fopen(file, "r");
	if (!fp) {
		err_set(e, EXIT_CONFIG, "cannot read password file '%s': %s", file,
			strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		err_set(e, EXIT_CONFIG, "password file '%s' is not a regular file", file);
		return NULL;
	}
	if (st.st_mode & 0077) {
		fclose(fp);
		err_set(e, EXIT_CONFIG, "password file '%s' has mode %04o: it must be 0600 or "
			"stricter (chmod 600 '%s')", file, (unsigned)(st.st_mode & 07777), file);
		return NULL;
	}
	buf_init(&b, 64 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (buf_add(&b, chunk, n) < 0) {
			fclose(fp);
			buf_release(&b);
			err_set(e, EXIT_CONFIG, "password file '%s' is too large", file);
			return NULL;
		}
	}
	fclose(fp);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	return buf_detach(&b, NULL);
}

bool
config_is_desk(const struct config *cfg, const char *addr)
{
	return deskaddr_is_desk(addr, cfg->desk.address, &cfg->desk.aliases);
}
