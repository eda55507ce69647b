/* ingest.h - one raw message into the store: parse, thread, rules, ticket,
 * outbound mail, all inside the caller's transaction.
 *
 * struct ingest holds what a run loads once (rules, templates, limits). */
#ifndef SECDESK_INGEST_H
#define SECDESK_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "ingest_result.h"
#include "message.h"
#include "store.h"

struct ingest;
struct rule_outcome;

/* Loads rules and templates per cfg; errors are EXIT_CONFIG with file:line.
 * A broken template is no error (it affects only the mail that uses it):
 * it is logged as a warning. cfg must outlive the struct. */
int ingest_open(const struct config *cfg, struct ingest **out, struct err *e);
/* outbound_release_held in a transaction of its own: the mail held for a
 * broken template is queued once a template works for it. */
int ingest_release_held(struct ingest *ing, struct store *s, int *released, int *held,
			struct err *e);
void ingest_free(struct ingest **ing);

/* Mail the desk processed once already and stores again (verify
 * --reingest, after a restore lost it): stored and threaded as usual, with
 * a "reingested" event, but no acknowledgement or partner notice is queued,
 * since they were queued with the mail the first time. */
void ingest_set_replay(struct ingest *ing, bool replay);

/* Stores raw (len bytes) inside the open transaction of s: the raw bytes
 * first, then the parsed message, its ticket, events and outbound mail.
 * Idempotent: the same bytes (SHA-256), or the same Message-ID from the
 * same sender with the same subject, body and attachments (white space
 * aside), give INGEST_DUPLICATE; the same Message-ID and sender with other
 * content is stored, flagged MSG_MSGID_REUSED. Bad mail is stored and
 * flagged, not refused: a step that fails for this message alone
 * (threading, its attachments, a rule's value, its ack or notice) is left
 * out and the ticket flagged with the reason; a message whose rows cannot
 * be written is set aside (its raw bytes in a flagged ticket of its own).
 * -1 only for store errors (e->code EXIT_TEMPFAIL when busy). */
int ingest_message(struct ingest *ing, struct store *s, const char *raw, size_t len,
		   struct ingest_result *res, struct err *e);

/* The lower half, for callers that commit the raw bytes before parsing
 * (fetch.c, the poison-message path). */
/* Stores raw once (by SHA-256); gives its raws.id. */
int ingest_store_raw(struct store *s, const char *raw, size_t len, int64_t *raw_id,
		     struct err *e);
/* The same, with the hash already computed (sha256: 64 hex digits). */
int ingest_store_raw_hashed(struct store *s, const char *raw, size_t len, const char *sha256,
			    int64_t *raw_id, struct err *e);
/* Parses raw into m (message_init'ed here). Touches no store: safe to run in
 * another thread than the one that stores. */
int ingest_parse(struct ingest *ing, const char *raw, size_t len, struct message *m,
		 struct err *e);
/* The rules' verdict on a parsed message, as for a new ticket (ro is
 * rule_outcome_init'ed here; empty without rules or for a poison message).
 * Never fails: when the rules cannot be applied, ro is empty but for its
 * errors, which flag the ticket. Touches no store: runs in the parser
 * thread too. */
int ingest_classify(struct ingest *ing, const struct message *m, struct rule_outcome *ro,
		    struct err *e);
/* Stores a parsed message (m->raw: the bytes of raw_id) and its ticket. ro is
 * what ingest_classify() gave for m, or NULL to classify it here. */
int ingest_parsed(struct ingest *ing, struct store *s, int64_t raw_id, struct message *m,
		  const struct rule_outcome *ro, struct ingest_result *res, struct err *e);
/* Stores raw bytes that could not be parsed (why: the parser's error) as a
 * flagged ticket holding the raw bytes only. */
int ingest_set_aside(struct ingest *ing, struct store *s, int64_t raw_id, const char *raw,
		     size_t len, const char *why, struct ingest_result *res, struct err *e);
/* Processes stored raw bytes. With poison set the message is not parsed:
 * it becomes a flagged ticket holding the raw bytes only. */
int ingest_raw(struct ingest *ing, struct store *s, int64_t raw_id, const char *raw,
	       size_t len, bool poison, struct ingest_result *res, struct err *e);

#endif
