/* The RFC 3834 decision (autoreply.h). Order matters only for the reason
 * given: the first that applies is named. */
#include "compat.h"

#include <strings.h>

#include "ascii.h"
#include "autoreply.h"
#include "bounce.h"
#include "deskaddr.h"

static const char *const reasons[] = {
	[AR_YES] = "yes",
	[AR_DISABLED] = "acknowledgements disabled",
	[AR_UNREADABLE] = "unreadable mail",
	[AR_BOUNCE] = "delivery report",
	[AR_AUTO_SUBMITTED] = "auto-submitted",
	[AR_NULL_SENDER] = "null sender",
	[AR_NO_ADDRESS] = "no sender address",
	[AR_ROBOT_SENDER] = "automatic sender address",
	[AR_LIST] = "list mail",
	[AR_PRECEDENCE] = "bulk, list or junk precedence",
	[AR_SUPPRESSED] = "auto-response suppressed by the sender",
	[AR_DESK] = "from the desk itself",
	[AR_PARTNER] = "from a partner contact",
	[AR_RULES] = "suppressed by the rules",
	[AR_ALREADY] = "already acknowledged",
	[AR_RATE] = "sender over the acknowledgement limit",
	[AR_BREAKER] = "hourly limit of automatic mail reached",
};

const char *
autoreply_reason_str(enum autoreply_reason r)
{
	if ((size_t)r < ARRAY_SIZE(reasons) && reasons[r])
		return reasons[r];
	return "unknown";
}

bool
autoreply_robot_addr(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	size_t n;
	char local[128];
	size_t j = 0;

	if (!at)
		return false;
	if (bounce_mailer_sender(addr, NULL))
		return true;
	n = (size_t)(at - addr);
	if (ascii_eq_ci(addr, n, "listserv") || ascii_eq_ci(addr, n, "majordomo"))
		return true;
	if (n >= 6 && strncasecmp(addr, "owner-", 6) == 0)
		return true;
	if (n >= 8 && strncasecmp(at - 8, "-request", 8) == 0)
		return true;
	/* no-reply, noreply, no_reply, do-not-reply, donotreply */
	for (size_t i = 0; i < n && j + 1 < sizeof(local); i++)
		if (addr[i] != '-' && addr[i] != '_' && addr[i] != '.')
			local[j++] = addr[i];
	local[j] = '\0';
	return strncasecmp(local, "noreply", 7) == 0 || strncasecmp(local, "donotreply", 10) == 0;
}

/* Does the comma/space separated list v hold word (case-insensitive)? */
static bool
has_word(const char *v, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = v; *p;) {
		size_t l;

		while (*p == ',' || *p == ' ' || *p == '\t' || *p == ';')
			p++;
		l = strcspn(p, ", \t;");
		if (l == wl && strncasecmp(p, word, wl) == 0)
			return true;
		p += l;
	}
	return false;
}

/* "no" alone, perhaps with parameters ("no; x=y") or a comment. */
static bool
auto_submitted_no(const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, "no", 2) != 0)
		return false;
	v += 2;
	while (*v == ' ' || *v == '\t')
		v++;
	return *v == '\0' || *v == ';' || *v == '(';
}

/* Mailing-list software that sends no List-* header (ezmlm, fml...). */
static const char *const list_headers[] = {
	"Mailing-List", "X-Mailing-List", "X-ML-Name", "X-MLServer", "X-List",
};

/* A subject that machines write when they answer or return mail, in any
 * of the members' languages (bounce.h). A person forwarding a bounce gets
 * no ack either: staff see the ticket all the same. */
static bool
robot_subject(const char *subject)
{
	bool strong;

	return bounce_subject_kind(subject, &strong) != BOUNCE_SUBJECT_NONE && strong;
}

/* Is the mail from the desk itself: From, Sender or the envelope? */
static bool
from_desk(const struct message *m, const struct autoreply_ctx *c)
{
	return deskaddr_is_desk(m->from.addr, c->desk_address, c->desk_aliases) ||
	       deskaddr_is_desk(m->sender.addr, c->desk_address, c->desk_aliases) ||
	       deskaddr_is_desk(m->return_path, c->desk_address, c->desk_aliases);
}

/* The headers the decision reads: the first of each name, found in one
 * pass over the message's headers (the message module's lookup is not
 * used so that this stays a leaf). */
struct ar_headers {
	const char *auto_submitted, *precedence, *x_autoreply, *x_autorespond, *x_vacation,
		*x_apple_action, *content_type, *suppress;
	bool list;        /* a List-* header */
	bool list_other;  /* one of list_headers[] */
};

static void
hdr_first(const char **slot, const struct header *h)
{
	if (!*slot)
		*slot = h->value ? h->value : "";
}

static void
scan_headers(const struct message *m, struct ar_headers *h)
{
	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < m->nheaders; i++) {
		const struct header *mh = &m->headers[i];
		const char *n = mh->name;

		/* The first letter picks the few names worth comparing. */
		switch (*n | 0x20) {
		case 'a':
			if (strcasecmp(n, "Auto-Submitted") == 0)
				hdr_first(&h->auto_submitted, mh);
			break;
		case 'c':
			if (strcasecmp(n, "Content-Type") == 0)
				hdr_first(&h->content_type, mh);
			break;
		case 'l':
			if (strncasecmp(n, "List-", 5) == 0)
				h->list = true;
			break;
		case 'm':
			if (strcasecmp(n, "Mailing-List") == 0)
				h->list_other = true;
			break;
		case 'p':
			if (strcasecmp(n, "Precedence") == 0)
				hdr_first(&h->precedence, mh);
			break;
		case 'x':
			if (strcasecmp(n, "X-Autoreply") == 0)
				hdr_first(&h->x_autoreply, mh);
			else if (strcasecmp(n, "X-Autorespond") == 0)
				hdr_first(&h->x_autorespond, mh);
			else if (strcasecmp(n, "X-Vacation") == 0)
				hdr_first(&h->x_vacation, mh);
			else if (strcasecmp(n, "X-Apple-Action") == 0)
				hdr_first(&h->x_apple_action, mh);
			else if (strcasecmp(n, "X-Auto-Response-Suppress") == 0)
				hdr_first(&h->suppress, mh);
			else /* list_headers[0] is Mailing-List, above */
				for (size_t j = 1; j < ARRAY_SIZE(list_headers); j++)
					if (strcasecmp(n, list_headers[j]) == 0)
						h->list_other = true;
			break;
		default:
			break;
		}
	}
}

enum autoreply_reason
autoreply_decide(const struct message *m, const struct autoreply_ctx *c)
{
	struct ar_headers h;
	const char *v;

	if (!c->enabled)
		return AR_DISABLED;
	if (m->flags & (MSG_POISON | MSG_PARSE_ERROR))
		return AR_UNREADABLE;
	if (m->flags & MSG_BOUNCE)
		return AR_BOUNCE;
	scan_headers(m, &h);
	if ((v = h.auto_submitted) && !auto_submitted_no(v))
		return AR_AUTO_SUBMITTED;
	if (m->return_path && !*m->return_path)
		return AR_NULL_SENDER;
	if (!m->from.addr || !strchr(m->from.addr, '@'))
		return AR_NO_ADDRESS;
	if (autoreply_robot_addr(m->from.addr) || bounce_mailer_sender(NULL, m->from.name) ||
	    (m->return_path && autoreply_robot_addr(m->return_path)))
		return AR_ROBOT_SENDER;
	if (h.list)
		return AR_LIST;
	if ((v = h.precedence) &&
	    (has_word(v, "bulk") || has_word(v, "list") || has_word(v, "junk")))
		return AR_PRECEDENCE;
	/* Older vacation programs and list servers mark themselves so. */
	if (h.x_autoreply || h.x_autorespond || h.x_vacation ||
	    ((v = h.x_apple_action) && strcasestr(v, "vacation")) ||
	    ((v = h.precedence) && has_word(v, "auto_reply")))
		return AR_AUTO_SUBMITTED;
	if (h.list_other)
		return AR_LIST;
	if ((v = h.content_type) && strcasestr(v, "multipart/report"))
		return AR_BOUNCE;
	if (robot_subject(m->subject))
		return AR_AUTO_SUBMITTED;
	if ((v = h.suppress) &&
	    (has_word(v, "All") || has_word(v, "OOF") || has_word(v, "AutoReply")))
		return AR_SUPPRESSED;
	/* Vacation and list markers the parser found without the headers
	 * above (X-Autoreply, X-Autorespond, X-Auto-Reply-From...). */
	if (m->flags & MSG_AUTOREPLY)
		return AR_AUTO_SUBMITTED;
	if (m->flags & MSG_LIST)
		return AR_LIST;
	if (from_desk(m, c))
		return AR_DESK;
	if (c->from_partner)
		return AR_PARTNER;
	if (c->rules_no_ack)
		return AR_RULES;
	return autoreply_decide_counts(c);
}

enum autoreply_reason
autoreply_decide_counts(const struct autoreply_ctx *c)
{
	if (c->already_acked)
		return AR_ALREADY;
	if (c->per_sender_limit > 0 && c->sender_recent >= c->per_sender_limit)
		return AR_RATE;
	if (c->hourly_limit > 0 && c->hourly_recent >= c->hourly_limit)
		return AR_BREAKER;
	return AR_YES;
}
