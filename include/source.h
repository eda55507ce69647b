/* source.h - where mail comes from: one backend per URL scheme
 * (isync's struct driver, OpenSMTPD's table backends).
 *
 * The fetch loop (fetch.c) drives a source like this:
 *   open -> list (keys of the messages present, one callback each) -> for
 *   batches of keys the store does not hold yet: fetch (callback per
 *   message) -> commit to the store (durable) -> mark_done applies
 *   [mailbox] after -> close.
 * A key is the backend's stable name for one message (a Maildir file's unique
 * part, "UIDVALIDITY/UID" for IMAP, the UIDL for POP3, "offset/sha" for
 * mbox). Keys already in the store are handed to mark_done without being
 * fetched again, so a crash between commit and mark_done heals on the next run.
 *
 * list streams its keys rather than returning them, so that a backlog of any
 * size need not be held: the fetch loop keeps them on disk (a temporary
 * table) and works through them a window at a time. What a backend needs to
 * find a message beyond its key (a Maildir file's folder and flags) it hands
 * out with the key, as where, and gets it back as the message's ref.
 *
 * Every function returns SRC_OK or a graded failure, and fills e. */
#ifndef SECDESK_SOURCE_H
#define SECDESK_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "strlist.h"

enum src_rc {
	SRC_OK = 0,
	SRC_MSG_BAD = -1,  /* this one message cannot be read: skip it, go on */
	SRC_BOX_BAD = -2,  /* the mailbox is unusable (missing, not permitted) */
	SRC_CONN_BAD = -3, /* the connection is gone or refused: retry later */
};

struct source;

/* Called once per fetched message; raw is valid only during the call.
 * A non-zero return stops the fetch and is returned by fetch(). */
typedef int (*source_msg_cb)(void *arg, const char *key, const char *raw, size_t len);

/* Called by list once per message present: its key and, when the key alone
 * does not tell the backend where the message is, where (else NULL); both
 * valid only during the call. A non-zero return stops the listing and is
 * returned by list(). */
typedef int (*source_key_cb)(void *arg, const char *key, const char *where);

struct source_ops {
	const char *scheme; /* "maildir", "imaps", ... as in the URL */
	int (*open)(const struct config *cfg, struct source **out, struct err *e);
	/* A stable identity for intake state, e.g. "imaps://u@h/INBOX;UIDVALIDITY=7". */
	const char *(*id)(struct source *src);
	int (*list)(struct source *src, source_key_cb cb, void *arg, struct err *e);
	/* refs[i] names a message as list gave it: its where, else its key. */
	int (*fetch)(struct source *src, const char *const *refs, size_t n,
		     source_msg_cb cb, void *arg, struct err *e);
	int (*mark_done)(struct source *src, const char *const *refs, size_t n, struct err *e);
	void (*close)(struct source *src);
	/* The order list gives means nothing (a Maildir's directory order):
	 * take the keys in the order of their text instead, which for a
	 * Maildir is the order of delivery. */
	bool by_key;
};

/* Messages named as list gave them: keys.items[i] and refs.items[i], its
 * where or else the key again (what fetch and mark_done take). */
struct source_refs {
	struct strlist keys, refs;
};

#define SOURCE_REFS_INIT { STRLIST_INIT, STRLIST_INIT }

/* Appends copies of key and of where (NULL: of key). */
void source_refs_add(struct source_refs *r, const char *key, const char *where);
void source_refs_release(struct source_refs *r);

/* Everything list gives, collected into out. Holds the whole listing: for
 * tools and checks, not for fetch. A key listed twice is kept once. */
int source_list_all(const struct source_ops *ops, struct source *src, struct source_refs *out,
		    struct err *e);

/* Finds the backend for a URL by its scheme; NULL when unknown. */
const struct source_ops *source_find(const char *url);

#endif
