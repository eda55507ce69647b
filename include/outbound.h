/* outbound.h - mail that goes out: acknowledgements (RFC 3834), partner
 * notifications and staff replies, rendered from templates/ into the outbox
 * table, and delivered by a transport (dir:, sendmail:, smtp://, smtps://).
 * src/outbound/: outbound.c (this face), autolimit.c (the RFC 3834 counts,
 * rate limits and breaker), compose.c, notice.c (acks, notices, digests),
 * reply.c (staff replies), deliver.c (the delivery loop), send*.c (the
 * transports); the queue itself is the store's (outbox.h). */
#ifndef SECDESK_OUTBOUND_H
#define SECDESK_OUTBOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "ingest_result.h"
#include "message.h"
#include "mimeout.h"
#include "rules.h"
#include "store.h"

struct outbound;

struct send_stats {
	int sent;
	int deferred;  /* temporary failure, retried later */
	int failed;    /* permanent failure, flagged on the ticket */
	/* Of the mails sent: recipients refused for good (recorded on the
	 * outbox row and the ticket) and recipients to retry alone. */
	int rcpts_rejected;
	int rcpts_deferred;
};

/* Loads and checks the templates (EXIT_CONFIG with file:line). rules may be
 * NULL (no queues known); both must outlive the struct. */
int outbound_open(const struct config *cfg, const struct ruleset *rules,
		  struct outbound **out, struct err *e);
void outbound_free(struct outbound **ob);

/* Called by ingest inside its transaction once an inbound message is stored
 * (res filled by ingest). Decides whether to acknowledge (RFC 3834, rate
 * limits, rules' no_ack) and queues the acknowledgement and, for a newly
 * routed ticket, the partner notifications; updates the counts in res. t is
 * the ticket res->ticket_id as stored, or NULL to read it from the store. */
int outbound_after_ingest(struct outbound *ob, struct store *s, const struct message *m,
			  const struct ticket *t, struct ingest_result *res, struct err *e);

/* Queues the acknowledgements and notices held in the outbox because no
 * template worked for them (outbox_hold), for which one works now: each
 * rendered as when it was new, recorded on its ticket ('template-released'
 * in its history) and due at once. *released counts them, *held those
 * still held. Inside the caller's transaction; -1 on store errors. */
int outbound_release_held(struct outbound *ob, struct store *s, int *released, int *held,
			  struct err *e);

/* Queues the partner notifications after a re-route by staff from
 * old_queue (NULL or "": none): to the new queue's contacts where it came
 * from and whether staff answered, to old_queue's that it moved. */
int outbound_on_route(struct outbound *ob, struct store *s, int64_t ticket_id,
		      const char *old_queue, struct err *e);

/* What staff put in a reply (outbound_reply_with). */
struct reply_opts {
	const char *tmpl_kind;  /* "reply" when NULL */
	/* The template's {{text}} (-m); NULL: none. A template without
	 * {{text}} refuses one, and one with it needs one (or above), both
	 * EXIT_USAGE. */
	const char *text;
	/* What staff wrote above the quote in an editor, instead of the
	 * template's greeting, text and signature; NULL: the template's. */
	const char *above;
	const char *who;
	/* The To addresses instead of the requester's (or the Reply-To of the
	 * mail answered); NULL: those. Further Cc addresses beside the
	 * ticket's watchers. Checked: EXIT_USAGE for one that is not an
	 * address. */
	const struct strlist *to;
	const struct strlist *cc;
	const struct mime_file *files; /* attached (mimeout.h) */
	size_t nfiles;
	/* Not NULL: the mail is built into it and nothing is stored. */
	struct buf *dry_run;
};

/* A staff reply to the requester of ticket_id, or to the Reply-To of the
 * requester's mail it answers (RFC 5322 3.6.2), Cc its watchers: the
 * template rendered with o's text, its body sent as format=flowed, staff's
 * text then the signature then the attribution ("Am 30.11.2026 um 09:15
 * schrieb ...:", in the reply's language and [desk] timezone) and the
 * quote; queued from the desk's address, recorded on the ticket (kind
 * 'reply'), the ticket set to pending by o->who. Runs inside the caller's
 * transaction. */
int outbound_reply_with(struct outbound *ob, struct store *s, int64_t ticket_id,
			const struct reply_opts *o, int64_t *outbox_id, struct err *e);
/* outbound_reply_with with the template tmpl_kind and text only. */
int outbound_reply(struct outbound *ob, struct store *s, int64_t ticket_id,
		   const char *tmpl_kind, const char *text, const char *who, int64_t *outbox_id,
		   struct err *e);
/* The editor's draft of that reply: the template rendered without text,
 * what stands above the quote into above, the attribution and the quote
 * into quote ("" when none). EXIT_USAGE as outbound_reply_with for -m. */
int outbound_reply_draft(struct outbound *ob, struct store *s, int64_t ticket_id,
			 const struct reply_opts *o, struct buf *above, struct buf *quote,
			 struct err *e);

/* The problems of the templates (tmpl_set_problems): a line each, "" when
 * none; *count how many. */
const char *outbound_template_problems(const struct outbound *ob, int *count);

/* The variables templates may use (NULL-terminated), for linting. */
extern const char *const outbound_template_vars[];

/* For automatic mail made outside ingest (reminders): 1 when one more
 * mail to addr is within [ack] hourly_limit, and it is counted as one; 0
 * when the limit is reached (the breaker opens, as for acknowledgements
 * and notices); -1 on store errors. Inside the caller's transaction. */
int outbound_auto_take(const struct config *cfg, struct store *s, const char *addr,
		       struct err *e);

/* When the hourly breaker last stopped automatic mail (0: not in the last
 * hour), for the commands to tell staff. */
int64_t outbound_breaker_since(struct store *s);

/* Delivers the outbox: what is due, or everything pending when all is true.
 * -1 with EXIT_TEMPFAIL when the transport cannot be reached (all stays
 * queued); per-mail failures are counted in st, not returned. */
int outbound_send(const struct config *cfg, struct store *s, bool all, struct send_stats *st,
		  struct err *e);

#endif
