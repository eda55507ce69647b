/* outbound_int.h - what the files of src/outbound/ share (private):
 *   outbound.c  the handle, and what ingest and staff ask for
 *   autolimit.c the RFC 3834 decision's counts, rate limits and the breaker
 *   compose.c   one mail from a template: context, MIME, recorded and queued
 *   notice.c    acknowledgements, partner notices and their hourly digests;
 *               those whose template is broken: fallback, held, released
 *   reply.c     staff replies and what a mail may quote
 *   attribution.c  the line above a reply's quote, per language
 *   deliver.c   the delivery loop over a transport (send*.c) */
#ifndef SECDESK_OUTBOUND_INT_H
#define SECDESK_OUTBOUND_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "autoreply.h"
#include "buf.h"
#include "mimeout.h"
#include "outbound.h"
#include "outbox.h"
#include "tmpl.h"

/* The longest line of a reply's text (RFC 3676 suggests at most 78). */
#define REPLY_WIDTH 72

/* How much of an inquiry a partner notification quotes. */
#define NOTICE_BODY_MAX (64 * 1024)

/* The variables of outbound_template_vars[], in its order: a template's
 * needs are a mask of them, so that only what it shows is computed. */
enum {
	V_ID, V_TAG, V_REF, V_SUBJECT, V_REQUESTER, V_REQUESTER_NAME, V_REQUESTER_ADDRESS,
	V_QUEUE, V_QUEUE_NAME, V_LANGUAGE, V_CATEGORY, V_PRIORITY, V_STATUS, V_DESK_NAME,
	V_DESK_ADDRESS, V_RECEIVED, V_BODY, V_QUOTED, V_TEXT, V_STAFF, V_FOLLOWUP,
	V_MESSAGE_SUBJECT, V_ATTRIBUTION, V_QUOTE_BELOW, V_ATTACHMENTS, V_ROUTED_FROM,
	V_ANSWERED, V_STAFF_NAME, V_STAFF_SIGNATURE, V_COUNT
};
#define NEED(v) (1u << (v))
#define NEED_CACHE 64
/* Queues whose partner notice is planned (notice_plan_find). */
#define PLAN_MAX 64

/* Who a queue's partner notice goes to, which template it uses and what
 * that shows: the same for every ticket of the queue, so made once per
 * queue and run. nto is 0 when the queue has no one to tell. */
struct notice_plan {
	char *queue; /* the ticket's queue, as the ticket names it */
	const char *queue_id;
	struct mime_addr *to;
	size_t nto;
	const struct tmpl *t;
	const struct tmpl *broken; /* the queue's own template, passed by */
	unsigned need;
};

/* A set of mail addresses, compared as ASCII without case (SQLite's
 * NOCASE), held in lower case. Open addressing; cap is a power of two. */
struct addrset {
	char **v;
	size_t n, cap;
};

/* What compose_build makes of a struct compose, for compose_record. Its
 * buffers are kept from one mail to the next (built_reset). */
struct built {
	struct buf msg;  /* the mail; by_ref: its text around the quote, unencoded */
	struct buf refs; /* References */
	struct buf subject;
	struct buf body; /* the ticket's copy of the text */
	/* The recipients as the messages row lists them, as the outbox row
	 * does, and the names the search index finds the mail by. */
	struct buf to, cc, rcpts, names;
	char msgid[256];
	bool by_ref;
	size_t quote_at;
};

struct outbound {
	const struct config *cfg;
	const struct ruleset *rules;
	struct tmpl_set *set;
	/* compose_queue's buffers: the rendered template, the message. */
	struct buf rendered;
	struct built built;
	char *domain;
	/* The needs of the templates rendered so far in this run. */
	struct {
		const struct tmpl *t;
		unsigned need;
	} needs[NEED_CACHE];
	size_t nneeds;
	struct notice_plan *plans; /* PLAN_MAX of them */
	size_t nplans;
	/* The queues' contacts, for the check of each sender. */
	struct addrset contacts;
	bool contacts_made;
};

/* One mail to compose: what the template renders and who gets it. */
struct compose {
	const char *kind;          /* ack, notice, reply */
	int64_t ticket_id;
	const char *ref;           /* "[TAG #ID]" */
	const struct tmpl *t;
	const struct tmpl_ctx *ctx;
	const struct mime_addr *to;
	size_t nto;
	const struct mime_addr *cc;
	size_t ncc;
	bool automatic;            /* RFC 3834 headers, null envelope sender */
	bool reply_to_desk;
	const char *in_reply_to;   /* without brackets; "" or NULL for none */
	const struct strlist *refs;
	/* The variable of ctx whose text the ticket's copy of the mail
	 * leaves out (a partner notice's quote of the inquiry, which the
	 * ticket holds already); the outbox keeps the whole mail. NULL: keep
	 * everything. */
	const char *elide;
	/* The stored message whose text elide quotes (0: none): the outbox
	 * then keeps the mail without the quote, which delivery puts back
	 * (deliver.c), so the inquiry's text is stored once. */
	int64_t quote_of;
	/* A staff reply: the body goes as format=flowed (RFC 3676); the
	 * variable whose line starts the quote (its attribution), and the
	 * text staff edited that replaces everything above it (NULL: the
	 * template's); the files attached (multipart/mixed). */
	bool flowed;
	const char *split_var;
	const char *above;
	const struct mime_file *files;
	size_t nfiles;
};

/* ---- compose.c ---- */
void built_init(struct built *b);
void built_reset(struct built *b);
void built_release(struct built *b);
/* The variables template t uses (a mask of NEED()), cached per run. */
unsigned template_needs(struct outbound *ob, const struct tmpl *t);
/* The values of ticket t and message m (may be NULL) that need shows. */
struct tmpl_ctx *ticket_ctx(const struct outbound *ob, const struct ticket *t,
			    const struct message *m, unsigned need);
/* body quoted with "> ", at most max bytes of it (allocated; *len_r). */
char *quote_text(const char *body, size_t max, size_t *len_r);
/* A display name from mail with control characters made spaces. */
char *clean_name(const char *name);
/* Renders c and builds the MIME message into b (no store). EXIT_DATAERR
 * when the mail cannot be built from this data. */
int compose_build(struct outbound *ob, const struct compose *c, struct built *b,
		  struct err *e);
/* Records the mail b built from c on the ticket and queues it. */
int compose_record(const struct outbound *ob, struct store *s, const struct compose *c,
		   const struct built *b, int64_t *outbox_id, struct err *e);
/* Renders c into the part of its body above c->split_var's line (above)
 * and the rest (below, "" when the variable is not shown): an editor's
 * draft. */
int compose_split(struct outbound *ob, const struct compose *c, struct buf *above,
		  struct buf *below, struct err *e);
/* compose_build and compose_record in one: EXIT_DATAERR when the mail
 * cannot be built (nothing is stored then). */
int compose_queue(struct outbound *ob, struct store *s, const struct compose *c,
		  int64_t *outbox_id, struct err *e);

/* ---- attribution.c ---- */
/* "Am 30.11.2026 um 09:15 schrieb AUTHOR:": the line above a reply's quote
 * in language lang (English when it has none), date (UTC seconds) told in
 * zone tz (NULL: the system's). Allocated. */
char *attribution_line(const char *lang, int64_t date, const char *author, const char *tz);

/* ---- autolimit.c ---- */

/* The automatic mails of one inbound message (its ack, its notices) are
 * logged together at its end. An entry is a recipient, or a counter key
 * ("notice:QUEUE", a partner's notices, in the same log under that name)
 * that is no mail of the hourly count. The addresses must live until the
 * flush. */
#define AUTOLOG_MAX 4
struct autolog {
	const char *addr[AUTOLOG_MAX];
	bool key[AUTOLOG_MAX];
	size_t n;
};
/* One automatic mail to addr (or, with key, one count under the key addr),
 * logged at the next flush. */
int autolog_add(const struct config *cfg, struct store *s, struct autolog *l, const char *addr,
		bool key, struct err *e);
int autolog_flush(const struct config *cfg, struct store *s, struct autolog *l, struct err *e);
/* Counts what the RFC 3834 decision on m needs and asks it. */
int autolimit_decide_ack(struct outbound *ob, struct store *s, const struct message *m,
			 const struct ingest_result *res, enum autoreply_reason *why,
			 struct err *e);
/* 1 when a notice to pl's partner must wait for the digest: over [notice]
 * hourly_limit_per_partner, or over the hourly limit (the breaker then
 * opens); 0 when it goes. acked: an ack of this inquiry is queued. */
int autolimit_notice_over(struct outbound *ob, struct store *s, const struct notice_plan *pl,
			  bool acked, struct err *e);
/* Opens the hourly breaker unless open: acks and notices stop. */
int autolimit_trip_breaker(struct store *s, struct err *e);
void addrset_release(struct addrset *set);

/* ---- staffsig.c ---- */
/* Binds staff_name and staff_signature from [staff "who"] (its
 * signature_file read now); nothing when who has no such section.
 * EXIT_CONFIG when the file cannot be read. */
int staff_vars(const struct config *cfg, const char *who, struct tmpl_ctx *ctx, struct err *e);

/* ---- notice.c ---- */
void notice_plans_release(struct outbound *ob);
/* The acknowledgement of m, stored as message_id, on t: with the English
 * template when its own is broken, held in the outbox when none works. */
int notice_queue_ack(struct outbound *ob, struct store *s, const struct ticket *t,
		     const struct message *m, int64_t message_id, bool followup,
		     struct ingest_result *tally, struct autolog *log, struct err *e);
/* The partner notice of t, quoting stored message quote_of (its text m). */
int notice_queue(struct outbound *ob, struct store *s, const struct ticket *t,
		 const struct message *m, int64_t quote_of, struct ingest_result *tally,
		 struct autolog *log, struct err *e);
/* After staff moved t from queue old_queue: the notice to t's (new) queue,
 * saying where it came from and whether staff answered already (template
 * "reroute", else "partner"), and a short one to old_queue's contacts
 * that it moved (template "moved"; none when old_queue has no one to tell
 * or no such template is shipped). */
int notice_queue_route(struct outbound *ob, struct store *s, const struct ticket *t,
		       const struct message *m, int64_t quote_of, const char *old_queue,
		       struct ingest_result *tally, struct autolog *log, struct err *e);
/* Holds the notice of new ticket t for its partner's digest when over a
 * limit: 1 held, 0 it goes, -1 on store errors. */
int notice_maybe_hold(struct outbound *ob, struct store *s, const struct ticket *t, bool acked,
		      struct autolog *log, struct err *e);

#endif
