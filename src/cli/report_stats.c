/* The desk's figures and the HTML report drawn from them (report.h). */
#include "compat.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "filemode.h"
#include "report.h"
#include "cli.h"
#include "rules.h"
#include "search.h"
#include "store_admin.h"
#include "termsafe.h"
#include "utf8.h"
#include "xalloc.h"

#define WEEK (7 * 86400)

/* Age buckets of waiting tickets, by time since created. */
static const struct {
	const char *name;
	int64_t upto; /* seconds; 0: no bound */
} report_ages[] = {
	{ "under 1 day", 86400 },
	{ "1-3 days", 3 * 86400 },
	{ "3-7 days", 7 * 86400 },
	{ "1-4 weeks", 28 * 86400 },
	{ "over 4 weeks", 0 },
};

static const char *const waiting_statuses[] = { "new", "open", "pending" };

/* ---- the figures ---- */

/* The length of the UTF-8 sequence at s (NUL-terminated), 0 when it is
 * not valid. */
static size_t
utf8_len(const unsigned char *s)
{
	return utf8_decode(s, strnlen((const char *)s, 4), NULL);
}

/* A JSON key from the store: jansson refuses keys that are not UTF-8, and
 * a queue must never drop out of the figures for a bad byte in its name. */
static char *
json_key(const char *s)
{
	struct buf b = BUF_INIT;
	const unsigned char *u = (const unsigned char *)(s ? s : "");

	while (*u) {
		size_t l = utf8_len(u);

		if (l == 0) {
			buf_addstr(&b, "\xef\xbf\xbd");
			u++;
		} else {
			buf_add(&b, u, l);
			u += l;
		}
	}
	return buf_detach(&b, NULL);
}


/* Sets key -> n in the object arg, in the order the store gives them. */
static int
count_set(void *arg, const char *key, int64_t n)
{
	char *k = json_key(key);

	json_object_set_new(arg, k, json_integer(n));
	free(k);
	return 0;
}

static int
queue_status_set(void *arg, const char *queue, const char *status, int64_t n)
{
	char *q = json_key(queue);
	json_t *row = json_object_get(arg, q);

	if (row && status)
		json_object_set_new(row, status, json_integer(n));
	free(q);
	return 0;
}

static int
open_by_queue_status(struct store *s, const json_t *waiting_q, json_t *obj, struct err *e)
{
	const char *k;
	json_t *v;

	/* Every waiting status in every row, so that a chart stacks the same
	 * series for each queue. */
	json_object_foreach((json_t *)waiting_q, k, v) {
		json_t *row = json_object();

		for (size_t i = 0; i < ARRAY_SIZE(waiting_statuses); i++)
			json_object_set_new(row, waiting_statuses[i], json_integer(0));
		json_object_set_new(obj, k, row);
	}
	return store_count_waiting_by_queue_status(s, queue_status_set, obj, e);
}

static int
waiting_by_age(struct store *s, int64_t now, json_t *obj, int64_t *waiting, struct err *e)
{
	int64_t upto[STORE_AGE_BUCKETS - 1], counts[STORE_AGE_BUCKETS];

	_Static_assert(ARRAY_SIZE(report_ages) == STORE_AGE_BUCKETS, "one name per bucket");
	*waiting = 0;
	for (size_t i = 0; i < STORE_AGE_BUCKETS - 1; i++)
		upto[i] = report_ages[i].upto;
	if (store_count_waiting_by_age(s, now, upto, counts, e) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(report_ages); i++) {
		json_object_set_new(obj, report_ages[i].name, json_integer(counts[i]));
		*waiting += counts[i];
	}
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of v[0..n-1], sorted; n > 0. */
static int64_t
median(const int64_t *v, size_t n)
{
	if (n % 2)
		return v[n / 2];
	return v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

/* The delays in queue order (each queue's run sorted by the store), and
 * each run's median into by_queue as it ends. */
struct answers {
	json_t *by_queue;
	int64_t *all;
	size_t n, cap, run; /* run: where the current queue's delays begin */
	char *cur;          /* the current queue */
};

static void
answers_end_run(struct answers *a)
{
	json_t *o;

	if (!a->cur)
		return;
	o = json_object();
	json_object_set_new(o, "answered", json_integer((json_int_t)(a->n - a->run)));
	json_object_set_new(o, "median_seconds", json_integer(median(a->all + a->run,
								      a->n - a->run)));
	json_object_set_new(a->by_queue, a->cur, o);
	free(a->cur);
	a->cur = NULL;
	a->run = a->n;
}

static int
answer_add(void *arg, const char *queue, int64_t seconds)
{
	struct answers *a = arg;
	char *q = json_key(queue);

	if (a->cur && strcmp(q, a->cur) != 0)
		answers_end_run(a);
	if (!a->cur)
		a->cur = q;
	else
		free(q);
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 256;
		a->all = xreallocarray(a->all, a->cap, sizeof(*a->all));
	}
	a->all[a->n++] = seconds;
	return 0;
}

static int
first_answer(struct store *s, json_t *doc, struct err *e)
{
	struct answers a = { json_object(), NULL, 0, 0, 0, NULL };
	int rc;

	json_object_set_new(doc, "first_answer_by_queue", a.by_queue);
	rc = store_first_answer_delays(s, answer_add, &a, e);
	answers_end_run(&a);
	if (rc < 0) {
		free(a.all);
		return -1;
	}
	if (a.n) {
		qsort(a.all, a.n, sizeof(*a.all), cmp_i64);
		json_object_set_new(doc, "first_answer_median_seconds",
				    json_integer(median(a.all, a.n)));
	} else {
		json_object_set_new(doc, "first_answer_median_seconds", json_null());
	}
	json_object_set_new(doc, "first_answered", json_integer((json_int_t)a.n));
	free(a.all);
	return 0;
}

/* Monday 00:00 UTC of the ISO week that holds t. */
static int64_t
week_start(int64_t t)
{
	int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);

	/* 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays. */
	return (day - (((day + 3) % 7) + 7) % 7) * 86400;
}

static int
per_week(struct store *s, int64_t now, json_t *arr, struct err *e)
{
	int64_t first = week_start(now) - (int64_t)(REPORT_WEEKS - 1) * WEEK;
	int64_t counts[REPORT_WEEKS];

	if (store_count_created(s, first, WEEK, REPORT_WEEKS, counts, e) < 0)
		return -1;
	for (int i = 0; i < REPORT_WEEKS; i++) {
		time_t t = (time_t)(first + (int64_t)i * WEEK);
		struct tm tm;
		char week[16], start[16];
		json_t *o = json_object();

		gmtime_r(&t, &tm);
		strftime(week, sizeof(week), "%G-W%V", &tm);
		strftime(start, sizeof(start), "%Y-%m-%d", &tm);
		json_object_set_new(o, "week", json_string(week));
		json_object_set_new(o, "start", json_string(start));
		json_object_set_new(o, "tickets", json_integer(counts[i]));
		json_array_append_new(arr, o);
	}
	return 0;
}

static int figures(struct store *s, int64_t now, int64_t last, json_t **out, struct err *e);

int
report_figures(struct store *s, int64_t now, json_t **out, struct err *e)
{
	return report_figures_period(s, now, 0, 0, out, e);
}

/* A time for the JSON: UTC (RFC 3339), null for no bound. */
static json_t *
bound_json(int64_t t)
{
	char buf[32];

	if (!t)
		return json_null();
	fmt_time_utc(t, buf, sizeof(buf));
	return json_string(buf);
}

int
report_figures_period(struct store *s, int64_t now, int64_t since, int64_t until, json_t **out,
		      struct err *e)
{
	int rc;

	store_set_count_period(s, since, until);
	rc = figures(s, now, until ? until - 1 : now, out, e);
	store_set_count_period(s, 0, 0);
	if (rc == 0) {
		json_object_set_new(*out, "since", bound_json(since));
		json_object_set_new(*out, "until", bound_json(until));
	}
	return rc;
}

int
report_parse_period(const char *since, const char *until, int64_t now, int64_t *from,
		    int64_t *to)
{
	int64_t start, end;

	*from = *to = 0;
	if (since && !search_date_period(since, now, from, &end)) {
		cli_error("--since: '%s' is not a date (YYYY-MM-DD, YYYY-MM, YYYY, today, "
			  "yesterday, or 7d, 2w, 3m, 1y ago)",
			  since);
		return -1;
	}
	/* --until names the last day (month, year) counted, or a moment */
	if (until && !search_date_period(until, now, &start, to)) {
		cli_error("--until: '%s' is not a date (YYYY-MM-DD, YYYY-MM, YYYY, today, "
			  "yesterday, or 7d, 2w, 3m, 1y ago)",
			  until);
		return -1;
	}
	if (since && until && *from >= *to) {
		cli_error("--since %s is not before --until %s", since, until);
		return -1;
	}
	return 0;
}

/* The figures at now, the weeks up to the week of last. */
static int
figures(struct store *s, int64_t now, int64_t last, json_t **out, struct err *e)
{
	json_t *doc = json_object(), *by_status = json_object(), *by_queue = json_object();
	json_t *waiting_q = json_object(), *open_qs = json_object(), *by_age = json_object();
	json_t *weeks = json_array();
	int64_t total = 0, waiting = 0;
	char gen[32];
	time_t tt = (time_t)now;
	struct tm tm;
	const char *k;
	json_t *v;

	*out = NULL;
	gmtime_r(&tt, &tm);
	strftime(gen, sizeof(gen), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(doc, "generated", json_string(gen));
	json_object_set_new(doc, "by_status", by_status);
	json_object_set_new(doc, "by_queue", by_queue);
	json_object_set_new(doc, "waiting_by_queue", waiting_q);
	json_object_set_new(doc, "open_by_queue_status", open_qs);
	json_object_set_new(doc, "waiting_by_age", by_age);
	json_object_set_new(doc, "tickets_per_week", weeks);
	/* Every status appears, zero or not, so scripts can rely on the keys. */
	if (store_count_by_status(s, count_set, by_status, e) < 0 ||
	    store_count_by_queue(s, false, count_set, by_queue, e) < 0 ||
	    store_count_by_queue(s, true, count_set, waiting_q, e) < 0 ||
	    open_by_queue_status(s, waiting_q, open_qs, e) < 0 ||
	    waiting_by_age(s, now, by_age, &waiting, e) < 0 || first_answer(s, doc, e) < 0 ||
	    per_week(s, last, weeks, e) < 0) {
		json_decref(doc);
		return -1;
	}
	json_object_foreach(by_status, k, v)
		total += json_integer_value(v);
	json_object_set_new(doc, "total", json_integer(total));
	json_object_set_new(doc, "waiting", json_integer(waiting));
	*out = doc;
	return 0;
}

void
report_duration(int64_t secs, char *out, size_t n)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		snprintf(out, n, "%lldd %lldh", (long long)(secs / 86400),
			 (long long)(secs % 86400 / 3600));
	else if (secs >= 3600)
		snprintf(out, n, "%lldh %lldm", (long long)(secs / 3600),
			 (long long)(secs % 3600 / 60));
	else if (secs >= 60)
		snprintf(out, n, "%lldm", (long long)(secs / 60));
	else
		snprintf(out, n, "%llds", (long long)secs);
}

/* ---- the HTML page ---- */

struct page {
	struct buf *b;
	bool full; /* the cap was hit */
	const struct ruleset *rules;
};

static void
put(struct page *p, const char *s)
{
	if (buf_addstr(p->b, s) < 0)
		p->full = true;
}

static void putf(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
putf(struct page *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vaddf(p->b, fmt, ap) < 0)
		p->full = true;
	va_end(ap);
}

/* Text or an attribute value from the store: what could steer a reader
 * (controls, bidi overrides, invalid UTF-8) shown as termsafe.h escapes, as
 * the terminal shows them, then markup characters escaped; at most max
 * characters (0: all), an ellipsis when cut. */
static void
esc(struct page *p, const char *s, size_t max)
{
	struct buf safe = BUF_INIT;
	const unsigned char *u;
	size_t chars = 0;

	if (termsafe_escape(&safe, s ? s : "", s ? strlen(s) : 0, 0) < 0)
		p->full = true;
	for (u = (const unsigned char *)buf_cstr(&safe); *u;) {
		size_t l = utf8_len(u);

		if (max && chars == max) {
			put(p, "\xe2\x80\xa6");
			break;
		}
		chars++;
		switch (*u) {
		case '&': put(p, "&amp;"); break;
		case '<': put(p, "&lt;"); break;
		case '>': put(p, "&gt;"); break;
		case '"': put(p, "&quot;"); break;
		case '\'': put(p, "&#39;"); break;
		default:
			/* Valid UTF-8 after termsafe_escape: l is never 0. */
			if (buf_add(p->b, u, l) < 0)
				p->full = true;
			u += l;
			continue;
		}
		u++;
	}
	buf_release(&safe);
}

/* A queue's display name from the rules, or NULL when it has none other
 * than its id. */
static const char *
queue_name(const struct page *p, const char *id)
{
	const struct queue *q = p->rules ? rules_queue(p->rules, id) : NULL;

	if (!q || !q->name || !*q->name || strcmp(q->name, id) == 0)
		return NULL;
	return q->name;
}

static const char *const series_colors[] = { "#4c78a8", "#f58518", "#54a24b", "#b279a2" };

/* One bar of a chart: up to 3 stacked values, a label, the text beside. */
struct bar {
	const char *label;
	int64_t v[3];
	char text[64];
};

#define CHART_W 720
#define LABEL_W 200
#define TEXT_W 110
#define ROW_H 24

static void
svg_open(struct page *p, const char *id, const char *title, int h)
{
	putf(p, "<svg id=\"svg-%s\" width=\"%d\" height=\"%d\""
	     " viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", id, CHART_W, h, CHART_W, h);
	esc(p, title, 0);
	put(p, "\"><title>");
	esc(p, title, 0);
	put(p, "</title>\n");
}

static void
svg_legend(struct page *p, const char *const *series, size_t ns)
{
	int x = LABEL_W;

	for (size_t i = 0; i < ns; i++) {
		putf(p, "<rect x=\"%d\" y=\"4\" width=\"12\" height=\"12\" fill=\"%s\"/>"
		     "<text x=\"%d\" y=\"14\">", x, series_colors[i], x + 16);
		esc(p, series[i], 0);
		put(p, "</text>\n");
		x += 16 + 8 * (int)strlen(series[i]) + 24;
	}
}

/* Horizontal bars, one row per bar, stacked when ns > 1. */
static void
svg_hbars(struct page *p, const char *id, const char *title, const char *const *series,
	  size_t ns, const struct bar *bars, size_t n)
{
	int top = ns > 1 ? 24 : 4, h = top + (int)(n ? n : 1) * ROW_H + 4;
	int64_t max = 0;
	double scale;

	for (size_t i = 0; i < n; i++) {
		int64_t t = 0;

		for (size_t j = 0; j < ns; j++)
			t += bars[i].v[j];
		if (t > max)
			max = t;
	}
	scale = max ? (double)(CHART_W - LABEL_W - TEXT_W) / (double)max : 0;
	svg_open(p, id, title, h);
	if (ns > 1)
		svg_legend(p, series, ns);
	if (!n)
		putf(p, "<text x=\"%d\" y=\"%d\">no data</text>\n", LABEL_W, top + 16);
	for (size_t i = 0; i < n; i++) {
		int y = top + (int)i * ROW_H;
		double x = LABEL_W;

		putf(p, "<g><title>");
		esc(p, bars[i].label, 0);
		putf(p, ": ");
		esc(p, bars[i].text, 0);
		putf(p, "</title><text class=\"l\" x=\"%d\" y=\"%d\">", LABEL_W - 8, y + 16);
		esc(p, bars[i].label, 24);
		put(p, "</text>");
		for (size_t j = 0; j < ns; j++) {
			double w = (double)bars[i].v[j] * scale;

			if (bars[i].v[j] <= 0)
				continue;
			if (w < 1)
				w = 1;
			putf(p, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>",
			     x, y + 3, w, ROW_H - 6, series_colors[j]);
			x += w;
		}
		putf(p, "<text x=\"%.1f\" y=\"%d\">", x + 6, y + 16);
		esc(p, bars[i].text, 0);
		put(p, "</text></g>\n");
	}
	put(p, "</svg>\n");
}

/* Vertical bars (columns), a label under each, the value above. */
static void
svg_columns(struct page *p, const char *id, const char *title, const struct bar *bars, size_t n)
{
	const int h = 220, base = 180, top = 20;
	double colw = n ? (double)(CHART_W - 20) / (double)n : 0;
	int64_t max = 0;

	for (size_t i = 0; i < n; i++)
		if (bars[i].v[0] > max)
			max = bars[i].v[0];
	svg_open(p, id, title, h);
	putf(p, "<line x1=\"10\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", base,
	     CHART_W - 10, base);
	for (size_t i = 0; i < n; i++) {
		double bh = max ? (double)bars[i].v[0] * (base - top) / (double)max : 0;
		double x = 10 + colw * (double)i, cx = x + colw / 2;

		put(p, "<g><title>");
		esc(p, bars[i].label, 0);
		put(p, ": ");
		esc(p, bars[i].text, 0);
		put(p, "</title>");
		if (bars[i].v[0] > 0)
			putf(p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
			     " fill=\"%s\"/>", x + colw * 0.15, base - (bh < 1 ? 1 : bh), colw * 0.7,
			     bh < 1 ? 1 : bh, series_colors[0]);
		putf(p, "<text class=\"c\" x=\"%.1f\" y=\"%.1f\">", cx,
		     base - (bh < 1 ? 1 : bh) - 4);
		esc(p, bars[i].text, 0);
		putf(p, "</text><text class=\"c\" x=\"%.1f\" y=\"%d\">", cx, base + 16);
		esc(p, bars[i].label, 12);
		put(p, "</text></g>\n");
	}
	put(p, "</svg>\n");
}

static void
section_open(struct page *p, const char *id, const char *title, const char *note)
{
	putf(p, "<section id=\"%s\">\n<h2>", id);
	esc(p, title, 0);
	put(p, "</h2>\n");
	if (note) {
		put(p, "<p class=\"note\">");
		esc(p, note, 0);
		put(p, "</p>\n");
	}
}

/* A row header: the key, with the queue's display name when it has one. */
static void
row_head(struct page *p, const char *key, bool is_queue)
{
	const char *name = is_queue ? queue_name(p, key) : NULL;

	put(p, "<tr><th scope=\"row\" data-key=\"");
	esc(p, key, 0);
	put(p, "\">");
	esc(p, key, 0);
	if (name) {
		put(p, " <span class=\"name\">");
		esc(p, name, 0);
		put(p, "</span>");
	}
	put(p, "</th>");
}

static void
cell(struct page *p, int64_t v, const char *text)
{
	putf(p, "<td data-value=\"%lld\">", (long long)v);
	if (text)
		esc(p, text, 0);
	else
		putf(p, "%lld", (long long)v);
	put(p, "</td>");
}

/* A chart of one {key: count} object, with its table. */
static void
count_section(struct page *p, const char *id, const char *title, const char *note,
	      const json_t *obj, bool is_queue, bool columns)
{
	size_t n = json_object_size(obj), i = 0;
	struct bar *bars = xcalloc(n ? n : 1, sizeof(*bars));
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v) {
		bars[i].label = k;
		bars[i].v[0] = json_integer_value(v);
		snprintf(bars[i].text, sizeof(bars[i].text), "%lld", (long long)bars[i].v[0]);
		i++;
	}
	section_open(p, id, title, note);
	if (columns)
		svg_columns(p, id, title, bars, n);
	else
		svg_hbars(p, id, title, NULL, 1, bars, n);
	putf(p, "<table class=\"data\" id=\"t-%s\">\n<thead><tr><th scope=\"col\">%s</th>"
	     "<th scope=\"col\">tickets</th></tr></thead>\n<tbody>\n", id,
	     is_queue ? "queue" : "");
	json_object_foreach((json_t *)obj, k, v) {
		row_head(p, k, is_queue);
		cell(p, json_integer_value(v), NULL);
		put(p, "</tr>\n");
	}
	put(p, "</tbody></table>\n</section>\n");
	free(bars);
}

static void
open_section(struct page *p, const json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	struct bar *bars = xcalloc(n ? n : 1, sizeof(*bars));
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v) {
		int64_t t = 0;

		bars[i].label = k;
		for (size_t j = 0; j < ARRAY_SIZE(waiting_statuses); j++) {
			bars[i].v[j] = json_integer_value(json_object_get(v, waiting_statuses[j]));
			t += bars[i].v[j];
		}
		snprintf(bars[i].text, sizeof(bars[i].text), "%lld", (long long)t);
		i++;
	}
	section_open(p, "open-by-queue-status", "Open tickets by queue and status",
		     "Tickets waiting (new, open or pending), per queue.");
	svg_hbars(p, "open-by-queue-status", "Open tickets by queue and status",
		  waiting_statuses, ARRAY_SIZE(waiting_statuses), bars, n);
	put(p, "<table class=\"data\" id=\"t-open-by-queue-status\">\n<thead><tr>"
	    "<th scope=\"col\">queue</th>");
	for (size_t j = 0; j < ARRAY_SIZE(waiting_statuses); j++)
		putf(p, "<th scope=\"col\">%s</th>", waiting_statuses[j]);
	put(p, "<th scope=\"col\">total</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < n; i++) {
		row_head(p, bars[i].label, true);
		for (size_t j = 0; j < ARRAY_SIZE(waiting_statuses); j++)
			cell(p, bars[i].v[j], NULL);
		putf(p, "<td>%s</td></tr>\n", bars[i].text);
	}
	put(p, "</tbody></table>\n</section>\n");
	free(bars);
}

static void
answer_section(struct page *p, const json_t *fig)
{
	const json_t *obj = json_object_get(fig, "first_answer_by_queue");
	const json_t *all = json_object_get(fig, "first_answer_median_seconds");
	size_t n = json_object_size(obj), i = 0;
	struct bar *bars = xcalloc(n ? n : 1, sizeof(*bars));
	char note[160], d[32];
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v) {
		bars[i].label = k;
		bars[i].v[0] = json_integer_value(json_object_get(v, "median_seconds"));
		report_duration(bars[i].v[0], d, sizeof(d));
		snprintf(bars[i].text, sizeof(bars[i].text), "%s (%lld)", d,
			 (long long)json_integer_value(json_object_get(v, "answered")));
		i++;
	}
	if (json_is_integer(all)) {
		report_duration(json_integer_value(all), d, sizeof(d));
		snprintf(note, sizeof(note), "From a ticket's creation to the first reply by staff; "
			 "all queues: %s over %lld answered tickets. In brackets: tickets answered.",
			 d, (long long)json_integer_value(json_object_get(fig, "first_answered")));
	} else {
		snprintf(note, sizeof(note), "From a ticket's creation to the first reply by staff: "
			 "no ticket has been answered yet.");
	}
	section_open(p, "first-answer", "Median time to the first answer, by queue", note);
	svg_hbars(p, "first-answer", "Median time to the first answer, by queue", NULL, 1, bars,
		  n);
	put(p, "<table class=\"data\" id=\"t-first-answer\">\n<thead><tr><th scope=\"col\">queue"
	    "</th><th scope=\"col\">median</th><th scope=\"col\">answered</th></tr></thead>\n"
	    "<tbody>\n");
	i = 0;
	json_object_foreach((json_t *)obj, k, v) {
		row_head(p, k, true);
		report_duration(bars[i].v[0], d, sizeof(d));
		cell(p, bars[i].v[0], d);
		put(p, "<td>");
		putf(p, "%lld", (long long)json_integer_value(json_object_get(v, "answered")));
		put(p, "</td></tr>\n");
		i++;
	}
	put(p, "</tbody></table>\n</section>\n");
	free(bars);
}

static void
week_section(struct page *p, const json_t *arr)
{
	size_t n = json_array_size(arr);
	struct bar *bars = xcalloc(n ? n : 1, sizeof(*bars));
	json_t *v;
	size_t i;

	json_array_foreach((json_t *)arr, i, v) {
		const char *w = json_string_value(json_object_get(v, "week"));

		/* "2026-W48" is labelled "W48": the year is in the table. */
		bars[i].label = w && strchr(w, 'W') ? strchr(w, 'W') : (w ? w : "");
		bars[i].v[0] = json_integer_value(json_object_get(v, "tickets"));
		snprintf(bars[i].text, sizeof(bars[i].text), "%lld", (long long)bars[i].v[0]);
	}
	section_open(p, "per-week", "New tickets per week",
		     "ISO weeks in UTC, the current week so far included.");
	svg_columns(p, "per-week", "New tickets per week", bars, n);
	put(p, "<table class=\"data\" id=\"t-per-week\">\n<thead><tr><th scope=\"col\">week</th>"
	    "<th scope=\"col\">from</th><th scope=\"col\">tickets</th></tr></thead>\n<tbody>\n");
	json_array_foreach((json_t *)arr, i, v) {
		row_head(p, json_string_value(json_object_get(v, "week")), false);
		put(p, "<td>");
		esc(p, json_string_value(json_object_get(v, "start")), 0);
		put(p, "</td>");
		cell(p, bars[i].v[0], NULL);
		put(p, "</tr>\n");
	}
	put(p, "</tbody></table>\n</section>\n");
	free(bars);
}

static const char page_css[] =
	"body{font-family:sans-serif;margin:2em auto;max-width:760px;color:#222}"
	"h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em}"
	"p.gen,p.note{color:#555}svg{display:block;margin:.5em 0;max-width:100%;height:auto}"
	"svg text{font:12px sans-serif;fill:#222}svg text.l{text-anchor:end}"
	"svg text.c{text-anchor:middle}"
	"table.data{border-collapse:collapse;margin:.5em 0}"
	"table.data th,table.data td{border:1px solid #ccc;padding:2px 8px;text-align:right}"
	"table.data th[scope=row]{text-align:left;font-weight:normal}"
	"span.name{color:#555}"
	"@media print{section{break-inside:avoid}}";

int
report_html(const json_t *fig, const struct report_html_opts *o, struct buf *out,
	    struct err *e)
{
	struct page p = { out, false, o->rules };
	const json_t *all = json_object_get(fig, "first_answer_median_seconds");
	char d[32];

	if (!out->max || out->max > REPORT_HTML_MAX)
		out->max = REPORT_HTML_MAX;
	put(&p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	    "<meta name=\"generator\" content=\"secdesk " SECDESK_VERSION "\"/>\n<title>");
	esc(&p, o->title, 0);
	put(&p, ": tickets report</title>\n<style>");
	put(&p, page_css);
	put(&p, "</style>\n</head>\n<body>\n<h1>");
	esc(&p, o->title, 0);
	put(&p, ": tickets report</h1>\n<p class=\"gen\">Generated <time datetime=\"");
	esc(&p, json_string_value(json_object_get(fig, "generated")), 0);
	put(&p, "\">");
	esc(&p, o->generated, 0);
	put(&p, "</time>.</p>\n<p class=\"summary\" id=\"summary\">");
	putf(&p, "<span id=\"total\" data-value=\"%lld\">%lld</span> tickets, "
	     "<span id=\"waiting\" data-value=\"%lld\">%lld</span> waiting",
	     (long long)json_integer_value(json_object_get(fig, "total")),
	     (long long)json_integer_value(json_object_get(fig, "total")),
	     (long long)json_integer_value(json_object_get(fig, "waiting")),
	     (long long)json_integer_value(json_object_get(fig, "waiting")));
	if (json_is_integer(all)) {
		report_duration(json_integer_value(all), d, sizeof(d));
		putf(&p, "; median time to the first answer <span id=\"first-answer-median\""
		     " data-value=\"%lld\">%s</span>", (long long)json_integer_value(all), d);
	}
	put(&p, ".</p>\n");
	open_section(&p, json_object_get(fig, "open_by_queue_status"));
	count_section(&p, "by-status", "All tickets by status", NULL,
		      json_object_get(fig, "by_status"), false, false);
	count_section(&p, "by-queue", "All tickets by queue", NULL,
		      json_object_get(fig, "by_queue"), true, false);
	count_section(&p, "waiting-by-age", "Waiting tickets by age",
		      "Time since the ticket was opened.", json_object_get(fig, "waiting_by_age"),
		      false, true);
	answer_section(&p, fig);
	week_section(&p, json_object_get(fig, "tickets_per_week"));
	put(&p, "</body>\n</html>\n");
	if (p.full)
		return err_set(e, EXIT_SOFTWARE, "the report would be larger than %d bytes",
			       REPORT_HTML_MAX);
	return 0;
}

/* ---- writing it ---- */

int
report_write_file(const char *path, const char *data, size_t len, struct err *e)
{
	char *copy = xstrdup(path), *tmp;
	const char *dir;
	int fd, rc = -1;

	dir = dirname(copy);
	/* Hidden, beside the target: rename() never crosses a file system. */
	tmp = xasprintf("%s/.secdesk-report.%ld.XXXXXX", dir, (long)getpid());
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err_set(e, EXIT_CANTCREAT, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	if (fd_write_all(fd, data, len) < 0 || filemode_fix_fd(fd) < 0 || fsync(fd) < 0) {
		err_set(e, EXIT_IOERR, "cannot write '%s': %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		err_set(e, EXIT_IOERR, "cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		err_set(e, EXIT_CANTCREAT, "cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(copy);
	return rc;
}
