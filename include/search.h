/* search.h - searching the messages: the query language and the store's
 * full-text query.
 *
 * The language (secdesk(1), SEARCH LANGUAGE) is notmuch's in small: words
 * are ANDed; OR, AND, NOT (upper case) and parentheses combine them; -word
 * is NOT word; "a phrase"; prefix*; field:value for the text fields from,
 * to, subject, body and the ticket's queue, status, tag, category,
 * assignee, id; date:A..B, after:A and before:B over when a message came
 * in. search_parse() makes a tree of it that each backend turns into its
 * own query; nothing of a backend shows here.
 *
 * Results are tickets, best rank first, each with a snippet of its best
 * message; a merged ticket's messages count for the ticket it went into.
 * Words found in thousands of messages are ranked among the newest
 * matches only (each backend's window), so a common word finds the recent
 * tickets fast. */
#ifndef SECDESK_SEARCH_H
#define SECDESK_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

enum search_kind {
	SEARCH_AND,   /* left and right */
	SEARCH_OR,    /* left or right */
	SEARCH_NOT,   /* not left */
	SEARCH_TEXT,  /* words in a text field */
	SEARCH_FIELD, /* a ticket's attribute has a value */
	SEARCH_DATE,  /* the message came in within [from, until) */
};

/* Where the words of a SEARCH_TEXT are looked for. */
enum search_text_in {
	SEARCH_IN_ANY, /* subject, body, names and addresses */
	SEARCH_IN_FROM,
	SEARCH_IN_TO, /* To and Cc */
	SEARCH_IN_SUBJECT,
	SEARCH_IN_BODY,
};

/* The ticket's attribute of a SEARCH_FIELD; names ignore case. */
enum search_attr {
	SEARCH_QUEUE,
	SEARCH_STATUS,
	SEARCH_TAG,
	SEARCH_CATEGORY,
	SEARCH_ASSIGNEE,
	SEARCH_ID,
};

struct search_node {
	enum search_kind kind;
	struct search_node *left, *right; /* AND, OR: both; NOT: left */
	enum search_text_in in;           /* TEXT */
	bool phrase;                      /* TEXT: value is a phrase */
	bool prefix;                      /* TEXT: value's last word is a prefix */
	enum search_attr attr;            /* FIELD */
	char *value;                      /* TEXT: the words; FIELD: the value */
	int64_t from, until;              /* DATE: seconds; 0 when open */
};

/* Parses query (the words of the command line joined by blanks); now is
 * the time relative dates count back from, in the local time zone. A
 * malformed query is EXIT_USAGE with a message that names the column and
 * shows the spot. *out is the caller's: search_node_free(). */
int search_parse(const char *query, int64_t now, struct search_node **out, struct err *e);

/* The period [*start, *end) that date s names as the search language's
 * date: takes it (YYYY, YYYY-MM, YYYY-MM-DD, today, yesterday, in local
 * time; or Nd, Nw, Nm, Ny ago, a moment: *start == *end); false when s is
 * none of those. */
bool search_date_period(const char *s, int64_t now, int64_t *start, int64_t *end);
void search_node_free(struct search_node *n);

/* The query as the parser understood it, fully parenthesised: for tests
 * and for `search --explain`. The caller frees it. */
char *search_node_str(const struct search_node *n);

struct search_hit {
	int64_t ticket_id;
	int64_t message_id; /* its best message */
	double rank;        /* lower is better */
	char *snippet;      /* matches in [brackets]; "" when none */
};

/* Owned by the caller: search_hits_release() frees them. */
struct search_hits {
	struct search_hit *v;
	size_t n, cap;
};

/* Appends at most limit tickets that match q to out, best first. */
int store_search(struct store *s, const struct search_node *q, size_t limit,
		 struct search_hits *out, struct err *e);

void search_hits_release(struct search_hits *h);

#endif
