/* report.h - the desk's figures (`secdesk stats`) and the self-contained
 * HTML page drawn from them (`secdesk report --html FILE`).
 *
 * One function computes the figures, so that the text, the JSON and the
 * HTML page can never disagree. Merged stubs never count. "Waiting" means
 * the statuses new, open and pending; a "human answer" is a staff reply
 * (an outgoing message of kind 'reply'), never an acknowledgement, a
 * partner notification or a reminder. */
#ifndef SECDESK_REPORT_H
#define SECDESK_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "store.h"

struct ruleset;

#define REPORT_WEEKS 12                     /* weeks in tickets_per_week */
#define REPORT_HTML_MAX (16 * 1024 * 1024)  /* bytes of one HTML page */

/* Computes the figures at time now into *out (a new JSON object, the
 * caller's reference):
 *   total, waiting                      counts
 *   by_status                           every status, zero or not
 *   by_queue, waiting_by_queue          queue -> count, largest first
 *   open_by_queue_status                queue -> {new, open, pending}
 *   waiting_by_age                      age bucket -> count (since created)
 *   first_answer_median_seconds         all queues; null when none answered
 *   first_answer_by_queue               queue -> {answered, median_seconds}
 *   tickets_per_week                    [{week, start, tickets}], the last
 *                                       REPORT_WEEKS ISO weeks (UTC), oldest
 *                                       first, the current one included
 *   generated                           now, RFC 3339 UTC
 * Store errors as store_error() gives them. */
int report_figures(struct store *s, int64_t now, json_t **out, struct err *e);
/* As report_figures(), counting only the tickets created in [since, until)
 * (0: no bound), the weeks up to until's; adds since and until (UTC, null
 * for none). */
int report_figures_period(struct store *s, int64_t now, int64_t since, int64_t until,
			  json_t **out, struct err *e);
/* --since and --until (NULL: not given) as a creation window: dates of the
 * search language (YYYY-MM-DD ... in local time, or 7d ago); --until's day
 * counts. -1 (said) when one is no date or the window is empty. */
int report_parse_period(const char *since, const char *until, int64_t now, int64_t *from,
			int64_t *to);

/* A duration for people: "3d 4h", "5h 12m", "12m", "40s". */
void report_duration(int64_t secs, char *out, size_t n);

struct report_html_opts {
	const char *title;           /* the desk's name */
	const char *generated;       /* when, for people ("2026-11-28 20:30") */
	const struct ruleset *rules; /* for queue display names; may be NULL */
};

/* Renders fig (from report_figures) as one HTML page into out: inline CSS
 * and SVG charts, no script, no external reference; every text escaped.
 * EXIT_SOFTWARE when the page would exceed REPORT_HTML_MAX. */
int report_html(const json_t *fig, const struct report_html_opts *o, struct buf *out,
		struct err *e);

/* Writes data to path atomically: a temporary file beside it (O_EXCL),
 * written, fsynced, then renamed over path (the desk's mode, filemode.h:
 * the page names queues and counts that staff alone should see).
 * EXIT_CANTCREAT when the file cannot be created there, EXIT_IOERR when a
 * write fails; nothing is left behind on failure. */
int report_write_file(const char *path, const char *data, size_t len, struct err *e);

#endif
