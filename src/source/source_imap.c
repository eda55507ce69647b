/* imaps://USER@HOST[:PORT]/MAILBOX and imap://... (STARTTLS required unless
 * [mailbox] tls = none) as a mail source.
 *
 * A message's key is "UIDVALIDITY/UID". list is one UID SEARCH (UNSEEN for
 * after = seen, else ALL); fetch asks for the batch's sizes, then takes
 * BODY.PEEK[] (nothing is marked read) in requests of at most
 * IMAP_FETCH_BYTES, so that memory stays bounded whatever the batch;
 * mark_done applies [mailbox] after by UID. A changed
 * UIDVALIDITY gives new keys: the store recognises the messages it holds by
 * their bytes and Message-ID, so nothing is imported twice. */
#include "compat.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include <libetpan/libetpan.h>

#include "auth.h"
#include "mailconn.h"
#include "mailurl.h"
#include "source.h"
#include "source_imap.h"
#include "testhook.h"
#include "tls.h"
#include "xalloc.h"

/* Bytes of message bodies asked for in one UID FETCH (one larger message
 * goes alone). */
#define IMAP_FETCH_BYTES ((size_t)8 * 1024 * 1024)
/* A message larger than this is left on the server and reported. */
#define IMAP_MAX_MESSAGE ((size_t)256 * 1024 * 1024)
#define IMAP_DEFAULT_TIMEOUT 60
/* Bytes of bodies the read-ahead thread may hold. */
#define IMAP_PREFETCH_BYTES ((size_t)16 * 1024 * 1024)

struct imap_msg {
	uint32_t uid;
	uint32_t size;
};

struct imap_conn {
	const struct config *cfg;
	struct mailurl url;
	bool tls;
	mailimap *imap;
	uint32_t uidvalidity;
	bool has_move, has_uidplus, has_idle;
	bool folder_ready;
};

struct source {
	struct imap_conn *c;
	char *id;
	struct imap_msg *msgs; /* sorted by uid */
	size_t n;
	unsigned long handed; /* messages given to callbacks (fault injection) */
	/* Read-ahead: while the caller stores and processes one batch, a
	 * thread fetches the bodies of the next UIDs of the list. The
	 * connection is the thread's until it is joined (pf_join), which
	 * every other use of it does first. */
	pthread_t pf_thread;
	bool pf_running;
	uint32_t *pf_uids; /* sorted */
	size_t pf_n;
	clist **pf_res;    /* UID FETCH results, bodies inside */
	size_t pf_nres;
	int pf_r;          /* libetpan's code of the thread's last request */
};

static const char *
server_said(const mailimap *imap)
{
	const char *r = imap && imap->imap_response ? imap->imap_response : "";

	return *r ? r : "no reason given";
}

static bool
conn_lost(int r)
{
	switch (r) {
	case MAILIMAP_ERROR_STREAM:
	case MAILIMAP_ERROR_PARSE:
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
	case MAILIMAP_ERROR_SSL:
	case MAILIMAP_ERROR_FATAL:
	case MAILIMAP_ERROR_BAD_STATE:
		return true;
	default:
		return false;
	}
}

/* Grades a libetpan error: the connection gone (retry later), or the
 * server refusing what was asked (the mailbox is unusable). */
static int
imap_fail(struct imap_conn *c, int r, const char *what, struct err *e)
{
	if (conn_lost(r)) {
		err_set(e, EXIT_TEMPFAIL, "imap server '%s:%d': connection lost during %s",
			c->url.host, c->url.port, what);
		return SRC_CONN_BAD;
	}
	err_set(e, EXIT_UNAVAILABLE, "imap server '%s': %s failed: %s", c->url.host, what,
		server_said(c->imap));
	return SRC_BOX_BAD;
}

static void
read_capabilities(struct imap_conn *c)
{
	struct mailimap_capability_data *caps = NULL;

	if (mailimap_capability(c->imap, &caps) == MAILIMAP_NO_ERROR && caps)
		mailimap_capability_data_free(caps);
	c->has_move = mailimap_has_extension(c->imap, (char *)"MOVE");
	c->has_uidplus = mailimap_has_extension(c->imap, (char *)"UIDPLUS");
	c->has_idle = mailimap_has_idle(c->imap);
}

static int
imap_timeout(const struct config *cfg)
{
	return cfg->mailbox.conn.timeout > 0 ? cfg->mailbox.conn.timeout : IMAP_DEFAULT_TIMEOUT;
}

static int
connect_tls(struct imap_conn *c, struct err *e)
{
	const struct conn_config *cc = &c->cfg->mailbox.conn;
	int r;

	struct mailconn_target t = {
		.proto = MAILCONN_IMAP, .host = c->url.host, .port = c->url.port,
		.tls = c->tls, .timeout = imap_timeout(c->cfg),
	};
	mailstream *s = mailconn_open(&t, e);

	if (!s)
		return SRC_CONN_BAD;
	r = mailimap_connect(c->imap, s);
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		mailconn_no_greeting(&t, e);
		return SRC_CONN_BAD;
	}
	mailconn_greeted(c->imap->imap_stream, t.timeout);
	if (c->tls) {
		if (tls_verify_stream(c->imap->imap_stream, "imap", c->url.host, cc->ca_file, e) < 0)
			return e->code == EXIT_UNAVAILABLE ? SRC_CONN_BAD : SRC_BOX_BAD;
		read_capabilities(c);
		return SRC_OK;
	}
	read_capabilities(c);
	if (cc->tls_none)
		return SRC_OK;
	/* imap:// means STARTTLS, and no login ever goes out in clear. */
	if (!mailimap_has_extension(c->imap, (char *)"STARTTLS")) {
		err_set(e, EXIT_UNAVAILABLE, "imap server '%s:%d' offers no STARTTLS: not logging "
			"in without encryption (set [mailbox] tls = none to allow it)",
			c->url.host, c->url.port);
		return SRC_CONN_BAD;
	}
	r = mailimap_socket_starttls_with_callback(c->imap, tls_sni_callback, c->url.host);
	if (r != MAILIMAP_NO_ERROR) {
		err_set(e, EXIT_UNAVAILABLE, "imap server '%s:%d': STARTTLS failed: %s",
			c->url.host, c->url.port, server_said(c->imap));
		return SRC_CONN_BAD;
	}
	if (tls_verify_stream(c->imap->imap_stream, "imap", c->url.host, cc->ca_file, e) < 0)
		return e->code == EXIT_UNAVAILABLE ? SRC_CONN_BAD : SRC_BOX_BAD;
	/* What the server said before TLS cannot be trusted: ask again. */
	read_capabilities(c);
	return SRC_OK;
}

static int
login(struct imap_conn *c, struct err *e)
{
	struct auth a;
	int r;

	if (auth_load(&a, &c->cfg->mailbox.conn, &c->url, "SECDESK_MAILBOX_PASSWORD", e) < 0)
		return e->code == EXIT_TEMPFAIL ? SRC_CONN_BAD : SRC_BOX_BAD;
	if (a.oauth_token) {
		r = mailimap_oauth2_authenticate(c->imap, a.user, a.oauth_token);
	} else {
		r = MAILIMAP_ERROR_LOGIN;
		if (mailimap_has_authentication(c->imap, (char *)"PLAIN"))
			r = mailimap_authenticate(c->imap, "PLAIN", c->url.host, NULL, NULL, a.user,
						  a.user, a.password, NULL);
		else if (mailimap_has_authentication(c->imap, (char *)"LOGIN"))
			r = mailimap_authenticate(c->imap, "LOGIN", c->url.host, NULL, NULL, a.user,
						  a.user, a.password, NULL);
		/* Without SASL (no mechanism the server and Cyrus SASL share),
		 * the LOGIN command, on the encrypted connection. */
		if (r != MAILIMAP_NO_ERROR && !conn_lost(r) &&
		    !mailimap_has_extension(c->imap, (char *)"LOGINDISABLED"))
			r = mailimap_login(c->imap, a.user, a.password);
	}
	if (r != MAILIMAP_NO_ERROR) {
		if (conn_lost(r))
			r = imap_fail(c, r, "login", e);
		else {
			err_set(e, EXIT_CONFIG, "imap server '%s': login as '%s' refused: %s",
				c->url.host, a.user, server_said(c->imap));
			r = SRC_BOX_BAD;
		}
		auth_release(&a);
		return r;
	}
	auth_release(&a);
	read_capabilities(c);
	return SRC_OK;
}

int
imap_conn_open(const struct config *cfg, struct imap_conn **out, struct err *e)
{
	const char *url = cfg->mailbox.conn.url;
	struct imap_conn *c = xcalloc(1, sizeof(*c));
	bool tls = strncmp(url, "imaps:", 6) == 0;
	int rc, r;

	*out = NULL;
	c->cfg = cfg;
	c->tls = tls;
	if (mailurl_parse(&c->url, url, tls ? 993 : 143, e) < 0) {
		free(c);
		return config_prefix_err(cfg, "mailbox", "url", e), SRC_BOX_BAD;
	}
	if (tls && cfg->mailbox.conn.tls_none) {
		mailurl_release(&c->url);
		free(c);
		err_set(e, EXIT_CONFIG, "[mailbox] tls = none contradicts url '%s'", url);
		return config_prefix_err(cfg, "mailbox", "tls", e), SRC_BOX_BAD;
	}
	if (!*c->url.path) {
		free(c->url.path);
		c->url.path = xstrdup("INBOX");
	}
	c->imap = mailimap_new(0, NULL);
	mailimap_set_timeout(c->imap, imap_timeout(cfg));
	if ((rc = connect_tls(c, e)) != SRC_OK || (rc = login(c, e)) != SRC_OK)
		goto fail;
	/* after = keep (and verify) changes nothing: the mailbox is opened
	 * read-only. */
	if (cfg->mailbox.after == AFTER_KEEP)
		r = mailimap_examine(c->imap, c->url.path);
	else
		r = mailimap_select(c->imap, c->url.path);
	if (r != MAILIMAP_NO_ERROR) {
		rc = conn_lost(r) ? imap_fail(c, r, "select", e) : SRC_BOX_BAD;
		if (rc == SRC_BOX_BAD)
			err_set(e, EXIT_UNAVAILABLE, "imap server '%s': mailbox '%s': %s",
				c->url.host, c->url.path, server_said(c->imap));
		goto fail;
	}
	c->uidvalidity = c->imap->imap_selection_info ? c->imap->imap_selection_info->sel_uidvalidity
						       : 0;
	if (!c->uidvalidity) {
		err_set(e, EXIT_UNAVAILABLE, "imap server '%s': mailbox '%s' has no UIDVALIDITY",
			c->url.host, c->url.path);
		rc = SRC_BOX_BAD;
		goto fail;
	}
	*out = c;
	return SRC_OK;
fail:
	imap_conn_free(&c);
	return rc;
}

void
imap_conn_free(struct imap_conn **cp)
{
	struct imap_conn *c = *cp;

	if (!c)
		return;
	if (c->imap) {
		if (c->imap->imap_stream)
			mailimap_logout(c->imap);
		mailimap_free(c->imap);
	}
	mailurl_release(&c->url);
	free(c);
	*cp = NULL;
}

uint32_t
imap_conn_uidvalidity(const struct imap_conn *c)
{
	return c->uidvalidity;
}

/* UID, RFC822.SIZE and whether \Seen, from one FETCH response item list. */
static void
read_att(struct mailimap_msg_att *att, uint32_t *uid, uint32_t *size, bool *seen,
	 struct mailimap_msg_att_body_section **body)
{
	for (clistiter *it = clist_begin(att->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);

		if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC) {
			struct mailimap_msg_att_static *st = item->att_data.att_static;

			if (st->att_type == MAILIMAP_MSG_ATT_UID)
				*uid = st->att_data.att_uid;
			else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE && size)
				*size = st->att_data.att_rfc822_size;
			else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && body)
				*body = st->att_data.att_body_section;
		} else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC && seen) {
			clist *fl = item->att_data.att_dyn->att_list;

			for (clistiter *f = fl ? clist_begin(fl) : NULL; f; f = clist_next(f)) {
				struct mailimap_flag_fetch *ff = clist_content(f);

				if (ff->fl_type == MAILIMAP_FLAG_FETCH_OTHER && ff->fl_flag &&
				    ff->fl_flag->fl_type == MAILIMAP_FLAG_SEEN)
					*seen = true;
			}
		}
	}
}

static int
msg_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct imap_msg *)a)->uid, y = ((const struct imap_msg *)b)->uid;

	return x < y ? -1 : x > y;
}

/* All messages: UID, size, \Seen. */
static int
fetch_index(struct imap_conn *c, struct imap_msg **msgs, unsigned char **seenp, size_t *np,
	    struct err *e)
{
	struct mailimap_set *set = mailimap_set_new_interval(1, 0);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	clist *result = NULL;
	size_t n = 0, cap;
	int r;

	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	r = mailimap_uid_fetch(c->imap, set, ft, &result);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(c, r, "listing the messages", e);
	cap = (size_t)clist_count(result) + 1;
	*msgs = xcalloc(cap, sizeof(**msgs));
	*seenp = xcalloc(cap, 1);
	for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
		uint32_t uid = 0, size = 0;
		bool seen = false;

		read_att(clist_content(it), &uid, &size, &seen, NULL);
		if (!uid)
			continue;
		(*msgs)[n].uid = uid;
		(*msgs)[n].size = size;
		(*seenp)[n] = seen;
		n++;
	}
	mailimap_fetch_list_free(result);
	*np = n;
	return SRC_OK;
}

int
imap_conn_uids(struct imap_conn *c, uint32_t **uids, unsigned char **seen, size_t *n,
	       struct err *e)
{
	struct imap_msg *msgs = NULL;
	int rc = fetch_index(c, &msgs, seen, n, e);

	if (rc != SRC_OK)
		return rc;
	*uids = xcalloc(*n + 1, sizeof(**uids));
	for (size_t i = 0; i < *n; i++)
		(*uids)[i] = msgs[i].uid;
	free(msgs);
	return SRC_OK;
}

int
imap_conn_idle(struct imap_conn *c, int max_seconds, struct err *e)
{
	struct pollfd pfd;
	uint32_t before;
	int r, fd;

	if (!c->has_idle) {
		for (int left = max_seconds; left > 0; left -= 30) {
			before = c->imap->imap_selection_info->sel_exists;
			r = mailimap_noop(c->imap);
			if (r != MAILIMAP_NO_ERROR)
				return imap_fail(c, r, "noop", e);
			if (c->imap->imap_selection_info->sel_exists != before)
				return 1;
			sleep((unsigned)(left < 30 ? left : 30));
		}
		return 0;
	}
	before = c->imap->imap_selection_info->sel_exists;
	r = mailimap_idle(c->imap);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(c, r, "idle", e);
	/* Mail that came since the last command is announced with the
	 * answer to IDLE itself, which libetpan has read already. */
	if (c->imap->imap_selection_info->sel_exists != before) {
		r = mailimap_idle_done(c->imap);
		return r == MAILIMAP_NO_ERROR ? 1 : imap_fail(c, r, "idle", e);
	}
	fd = mailimap_idle_get_fd(c->imap);
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	/* A signal ends the wait early (secdesk watch stops on SIGTERM). */
	r = poll(&pfd, 1, max_seconds * 1000);
	if (r < 0)
		r = 0;
	{
		int d = mailimap_idle_done(c->imap);

		if (d != MAILIMAP_NO_ERROR)
			return imap_fail(c, d, "idle", e);
	}
	return r > 0 ? 1 : 0;
}

/* The source interface. */

static int
im_open(const struct config *cfg, struct source **out, struct err *e)
{
	struct imap_conn *c;
	int rc = imap_conn_open(cfg, &c, e);
	struct source *src;

	if (rc != SRC_OK)
		return rc;
	src = xcalloc(1, sizeof(*src));
	src->c = c;
	src->id = mailurl_format(&c->url, c->tls ? 993 : 143);
	*out = src;
	return SRC_OK;
}

static const char *
im_id(struct source *src)
{
	return src->id;
}

/* UIDs one UID SEARCH answers at most, about: libetpan holds an answer as
 * a list of some 56 bytes a UID, beside its text, so a mailbox of a million
 * messages would cost 60 MB at once. A larger mailbox is searched in spans
 * of UIDs that each hold about this many. */
#define IMAP_SEARCH_AT_ONCE 50000

/* UID SEARCH for the UIDs first..last (last 0: "*"), UNSEEN for after =
 * seen (a seen message is done, as for a Maildir), appended to src->msgs.
 * "first:*" also matches the last message when its UID is below first:
 * only UIDs in the span are kept. */
static int
search_span(struct source *src, uint32_t first, uint32_t last, size_t *cap, struct err *e)
{
	struct imap_conn *c = src->c;
	struct mailimap_search_key *key = mailimap_search_key_new_multiple_empty();
	clist *result = NULL;
	int r;

	mailimap_search_key_multiple_add(key, mailimap_search_key_new_uid(
						      mailimap_set_new_interval(first, last)));
	if (c->cfg->mailbox.after == AFTER_SEEN)
		mailimap_search_key_multiple_add(key, mailimap_search_key_new(
			MAILIMAP_SEARCH_KEY_UNSEEN, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
			NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL,
			NULL, NULL, 0, NULL, NULL, NULL));
	r = mailimap_uid_search(c->imap, NULL, key, &result);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(c, r, "listing the messages", e);
	for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
		uint32_t *uid = clist_content(it);

		if (!uid || *uid < first || (last && *uid > last))
			continue;
		if (src->n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			src->msgs = xreallocarray(src->msgs, *cap, sizeof(*src->msgs));
		}
		src->msgs[src->n++] = (struct imap_msg){ .uid = *uid };
	}
	mailimap_search_result_free(result);
	return SRC_OK;
}

/* The UIDs, cheap even for a large mailbox: sizes are asked for only when
 * a batch is fetched. A mailbox of more than IMAP_SEARCH_AT_ONCE messages
 * is searched in spans up to UIDNEXT, then from UIDNEXT on (what arrived
 * since the SELECT). */
static int
im_list(struct source *src, source_key_cb cb, void *arg, struct err *e)
{
	struct imap_conn *c = src->c;
	struct mailimap_selection_info *sel = c->imap->imap_selection_info;
	uint32_t next = sel ? sel->sel_uidnext : 0, exists = sel ? sel->sel_exists : 0;
	size_t at_once = testhook_size("SECDESK_TEST_IMAP_SEARCH", IMAP_SEARCH_AT_ONCE), cap = 0;
	int r;

	free(src->msgs);
	src->msgs = NULL;
	src->n = 0;
	if (next > 1 && exists > at_once) {
		/* Spans that each hold about at_once of the messages, if their
		 * UIDs are spread evenly below UIDNEXT. */
		uint64_t width = ((uint64_t)(next - 1) * at_once + exists - 1) / exists;

		for (uint64_t first = 1; first < next; first += width) {
			uint64_t last = first + width - 1 < next - 1 ? first + width - 1 : next - 1;

			if ((r = search_span(src, (uint32_t)first, (uint32_t)last, &cap, e)) != SRC_OK)
				return r;
		}
		r = search_span(src, next, 0, &cap, e);
	} else {
		r = search_span(src, 1, 0, &cap, e);
	}
	if (r != SRC_OK)
		return r;
	if (src->n > 1)
		qsort(src->msgs, src->n, sizeof(*src->msgs), msg_cmp);
	for (size_t i = 0; i < src->n; i++) {
		char uidkey[32];

		snprintf(uidkey, sizeof(uidkey), "%u/%u", c->uidvalidity, src->msgs[i].uid);
		if ((r = cb(arg, uidkey, NULL)) != 0)
			return r;
	}
	return SRC_OK;
}

/* The UID of a key of this UIDVALIDITY; 0 for another one. */
static uint32_t
key_uid(struct source *src, const char *key)
{
	unsigned long v, u;
	char *end;

	errno = 0;
	v = strtoul(key, &end, 10);
	if (*end != '/' || errno || v != src->c->uidvalidity)
		return 0;
	u = strtoul(end + 1, &end, 10);
	if (*end || errno || u == 0 || u > UINT32_MAX)
		return 0;
	return (uint32_t)u;
}

static struct imap_msg *
find_msg(struct source *src, uint32_t uid)
{
	struct imap_msg k = { .uid = uid };

	if (!src->n)
		return NULL;
	return bsearch(&k, src->msgs, src->n, sizeof(k), msg_cmp);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* UID FETCH uids (UID RFC822.SIZE): sizes[i] for uids[i] (uids sorted).
 * Touches nothing but the connection: the read-ahead thread uses it. */
static int
request_sizes(mailimap *imap, const uint32_t *uids, size_t n, uint32_t *sizes)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	clist *result = NULL;
	int r;

	for (size_t i = 0; i < n; i++)
		mailimap_set_add_single(set, uids[i]);
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	r = mailimap_uid_fetch(imap, set, ft, &result);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
		uint32_t uid = 0, size = 0, *at;

		read_att(clist_content(it), &uid, &size, NULL, NULL);
		at = uid ? bsearch(&uid, uids, n, sizeof(*uids), u32_cmp) : NULL;
		if (at)
			sizes[at - uids] = size;
	}
	mailimap_fetch_list_free(result);
	return MAILIMAP_NO_ERROR;
}

/* UID FETCH uids (UID BODY.PEEK[]): the result, bodies inside. */
static int
request_bodies(mailimap *imap, const uint32_t *uids, size_t n, clist **result)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	int r;

	*result = NULL;
	for (size_t i = 0; i < n; i++)
		mailimap_set_add_single(set, uids[i]);
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(
		ft, mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	r = mailimap_uid_fetch(imap, set, ft, result);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	return r;
}

/* Hands the bodies in result whose UID is in want (sorted) and not yet in
 * got to cb. Returns 0 or cb's non-zero value. */
static int
deliver(struct source *src, clist *result, const uint32_t *want, unsigned char *got, size_t n,
	source_msg_cb cb, void *arg)
{
	for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
		struct mailimap_msg_att_body_section *body = NULL;
		uint32_t uid = 0, *at;
		char key[32];
		int r;

		read_att(clist_content(it), &uid, NULL, NULL, &body);
		/* Untagged FETCH for flag changes carry no body: not ours. */
		if (!uid || !body || !body->sec_body_part)
			continue;
		at = bsearch(&uid, want, n, sizeof(*want), u32_cmp);
		if (!at || got[at - want])
			continue;
		got[at - want] = 1;
		snprintf(key, sizeof(key), "%u/%u", src->c->uidvalidity, uid);
		r = cb(arg, key, body->sec_body_part, body->sec_length);
		if (r != 0)
			return r;
		testhook_source_stop(&src->handed);
	}
	return 0;
}

static void *
pf_main(void *arg)
{
	struct source *src = arg;
	mailimap *imap = src->c->imap;
	uint32_t *sizes = xcalloc(src->pf_n + 1, sizeof(*sizes));
	uint32_t *group = xcalloc(src->pf_n + 1, sizeof(*group));
	size_t i = 0, total = 0;
	int r = request_sizes(imap, src->pf_uids, src->pf_n, sizes);

	while (r == MAILIMAP_NO_ERROR && i < src->pf_n && total < IMAP_PREFETCH_BYTES) {
		size_t k = 0, bytes = 0;
		clist *res;

		for (; i < src->pf_n; i++) {
			/* Too large ones are left to the caller, which reports them. */
			if (sizes[i] > IMAP_MAX_MESSAGE)
				continue;
			if (k && bytes + sizes[i] > IMAP_FETCH_BYTES)
				break;
			group[k++] = src->pf_uids[i];
			bytes += sizes[i];
		}
		if (!k)
			break;
		r = request_bodies(imap, group, k, &res);
		if (r != MAILIMAP_NO_ERROR)
			break;
		src->pf_res = xreallocarray(src->pf_res, src->pf_nres + 1, sizeof(*src->pf_res));
		src->pf_res[src->pf_nres++] = res;
		total += bytes;
	}
	src->pf_r = r;
	free(sizes);
	free(group);
	return NULL;
}

static void
pf_join(struct source *src)
{
	if (src->pf_running) {
		pthread_join(src->pf_thread, NULL);
		src->pf_running = false;
	}
}

static void
pf_discard(struct source *src)
{
	pf_join(src);
	for (size_t i = 0; i < src->pf_nres; i++)
		mailimap_fetch_list_free(src->pf_res[i]);
	free(src->pf_res);
	free(src->pf_uids);
	src->pf_res = NULL;
	src->pf_nres = 0;
	src->pf_uids = NULL;
	src->pf_n = 0;
}

/* Starts reading ahead the n listed UIDs after the UID after. */
static void
pf_start(struct source *src, uint32_t after, size_t n)
{
	sigset_t all, old;
	size_t k = 0;

	pf_discard(src);
	src->pf_uids = xcalloc(n + 1, sizeof(*src->pf_uids));
	for (size_t i = 0; i < src->n && k < n; i++)
		if (src->msgs[i].uid > after)
			src->pf_uids[k++] = src->msgs[i].uid;
	src->pf_n = k;
	src->pf_r = MAILIMAP_NO_ERROR;
	if (!k)
		return;
	/* Signals are for the main thread (watch's SIGTERM, the parser's
	 * alarm): the reader runs with all of them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	src->pf_running = pthread_create(&src->pf_thread, NULL, pf_main, src) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int
im_fetch(struct source *src, const char *const *keys, size_t n, source_msg_cb cb, void *arg,
	 struct err *e)
{
	struct imap_conn *c = src->c;
	uint32_t *want = xcalloc(n + 1, sizeof(*want)), *left, *sizes, *group;
	unsigned char *got;
	size_t nw = 0, nl = 0, k = 0, bytes = 0;
	int rc = SRC_OK, r, skipped = 0;
	struct err skip_err = ERR_INIT;

	for (size_t i = 0; i < n; i++) {
		uint32_t uid = key_uid(src, keys[i]);

		if (uid && find_msg(src, uid))
			want[nw++] = uid;
	}
	qsort(want, nw, sizeof(*want), u32_cmp);
	got = xcalloc(nw + 1, 1);
	/* What the read-ahead brought first; a failure there is met again,
	 * and graded, on the normal path. */
	pf_join(src);
	for (size_t i = 0; i < src->pf_nres && rc == SRC_OK; i++)
		rc = deliver(src, src->pf_res[i], want, got, nw, cb, arg);
	pf_discard(src);
	if (rc != SRC_OK)
		goto out_free;
	left = xcalloc(nw + 1, sizeof(*left));
	for (size_t i = 0; i < nw; i++)
		if (!got[i])
			left[nl++] = want[i];
	sizes = xcalloc(nl + 1, sizeof(*sizes));
	group = xcalloc(nl + 1, sizeof(*group));
	r = nl ? request_sizes(c->imap, left, nl, sizes) : MAILIMAP_NO_ERROR;
	if (r != MAILIMAP_NO_ERROR)
		rc = imap_fail(c, r, "asking for message sizes", e);
	for (size_t i = 0; rc == SRC_OK && i <= nl; i++) {
		clist *res;

		if (i < nl && sizes[i] > IMAP_MAX_MESSAGE) {
			err_set(&skip_err, EXIT_DATAERR, "imap message %u/%u is %u bytes, more "
				"than %zu: left on the server", c->uidvalidity, left[i], sizes[i],
				IMAP_MAX_MESSAGE);
			skipped++;
			continue;
		}
		if (k && (i == nl || bytes + sizes[i] > IMAP_FETCH_BYTES)) {
			r = request_bodies(c->imap, group, k, &res);
			if (r != MAILIMAP_NO_ERROR) {
				rc = imap_fail(c, r, "fetching messages", e);
				break;
			}
			rc = deliver(src, res, want, got, nw, cb, arg);
			mailimap_fetch_list_free(res);
			k = 0;
			bytes = 0;
		}
		if (i < nl) {
			group[k++] = left[i];
			bytes += sizes[i];
		}
	}
	free(left);
	free(sizes);
	free(group);
	if (rc == SRC_OK && nw)
		pf_start(src, want[nw - 1], n);
out_free:
	free(want);
	free(got);
	if (rc == SRC_OK && skipped) {
		*e = skip_err;
		return SRC_MSG_BAD;
	}
	return rc;
}

/* Makes sure the folder for after = move:FOLDER exists. */
static int
ensure_folder(struct imap_conn *c, const char *folder, struct err *e)
{
	clist *list = NULL;
	int r;

	if (c->folder_ready)
		return SRC_OK;
	r = mailimap_list(c->imap, "", folder, &list);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(c, r, "looking for the folder", e);
	if (clist_count(list) == 0) {
		r = mailimap_create(c->imap, folder);
		if (r != MAILIMAP_NO_ERROR) {
			mailimap_list_result_free(list);
			if (conn_lost(r))
				return imap_fail(c, r, "creating the folder", e);
			err_set(e, EXIT_UNAVAILABLE, "imap server '%s': cannot create folder '%s' "
				"for after = move: %s", c->url.host, folder, server_said(c->imap));
			return SRC_BOX_BAD;
		}
	}
	mailimap_list_result_free(list);
	c->folder_ready = true;
	return SRC_OK;
}

static int
store_flag(struct imap_conn *c, struct mailimap_set *set, struct mailimap_flag *flag,
	   struct err *e)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	struct mailimap_store_att_flags *sf;
	int r;

	mailimap_flag_list_add(fl, flag);
	sf = mailimap_store_att_flags_new_add_flags_silent(fl);
	r = mailimap_uid_store(c->imap, set, sf);
	mailimap_store_att_flags_free(sf);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(c, r, "marking messages", e);
	return SRC_OK;
}

static int
expunge(struct imap_conn *c, struct mailimap_set *set, struct err *e)
{
	/* Without UIDPLUS, EXPUNGE also removes what others flagged \Deleted,
	 * as any mail client would. */
	int r = c->has_uidplus ? mailimap_uid_expunge(c->imap, set) : mailimap_expunge(c->imap);

	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(c, r, "expunging", e);
	return SRC_OK;
}

static int
im_mark_done(struct source *src, const char *const *keys, size_t n, struct err *e)
{
	struct imap_conn *c = src->c;
	enum after_mode after = c->cfg->mailbox.after;
	struct mailimap_set *set;
	size_t k = 0;
	int rc = SRC_OK, r;

	if (after == AFTER_KEEP || n == 0)
		return SRC_OK;
	pf_join(src); /* the connection is ours again; what was read ahead stays */
	set = mailimap_set_new_empty();
	for (size_t i = 0; i < n; i++) {
		uint32_t uid = key_uid(src, keys[i]);

		if (uid) {
			mailimap_set_add_single(set, uid);
			k++;
		}
	}
	if (k == 0)
		goto out;
	switch (after) {
	case AFTER_SEEN:
		rc = store_flag(c, set, mailimap_flag_new_seen(), e);
		break;
	case AFTER_DELETE:
		rc = store_flag(c, set, mailimap_flag_new_deleted(), e);
		if (rc == SRC_OK)
			rc = expunge(c, set, e);
		break;
	case AFTER_MOVE:
		rc = ensure_folder(c, c->cfg->mailbox.after_folder, e);
		if (rc != SRC_OK)
			break;
		if (c->has_move) {
			r = mailimap_uid_move(c->imap, set, c->cfg->mailbox.after_folder);
			if (r != MAILIMAP_NO_ERROR)
				rc = imap_fail(c, r, "moving messages", e);
			break;
		}
		r = mailimap_uid_copy(c->imap, set, c->cfg->mailbox.after_folder);
		if (r != MAILIMAP_NO_ERROR) {
			rc = imap_fail(c, r, "copying messages", e);
			break;
		}
		rc = store_flag(c, set, mailimap_flag_new_deleted(), e);
		if (rc == SRC_OK)
			rc = expunge(c, set, e);
		break;
	case AFTER_KEEP:
		break;
	}
out:
	mailimap_set_free(set);
	return rc;
}

static void
im_close(struct source *src)
{
	if (!src)
		return;
	pf_discard(src);
	imap_conn_free(&src->c);
	free(src->msgs);
	free(src->id);
	free(src);
}

const struct source_ops source_imaps_ops = {
	.scheme = "imaps",
	.open = im_open,
	.id = im_id,
	.list = im_list,
	.fetch = im_fetch,
	.mark_done = im_mark_done,
	.close = im_close,
};

const struct source_ops source_imap_ops = {
	.scheme = "imap",
	.open = im_open,
	.id = im_id,
	.list = im_list,
	.fetch = im_fetch,
	.mark_done = im_mark_done,
	.close = im_close,
};
